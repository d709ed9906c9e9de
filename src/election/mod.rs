//! Leader election: ZooKeeper's FastLeaderElection as a pure state machine.
//!
//! Each server votes for the best server it has heard of, ranked by
//! (epoch, zxid, myid), tells every voter whenever its vote changes, and
//! settles once a strict majority of voters agrees with it and nothing better
//! arrives within the finalize wait. Servers that have settled answer looking
//! ones with the leader they follow, so that a late or restarted server joins
//! the established leader instead of starting a new contest. Observers ask
//! voters and learn the leader; their votes never count.
//!
//! The election only picks a candidate. It does not make leadership safe on
//! its own: with messages slower than the finalize wait, two servers can
//! settle on different leaders, and ZAB's epoch agreement is what stops both
//! from leading. The composing `Peer` restarts the election when that happens.
//!
//! Three servers with messages delivered at once elect the one with the
//! longest log:
//!
//! ```
//! use ensemble::election::{Election, ElectionConfig, ElectionOutput, ServerState};
//! use ensemble::{Epoch, ServerId, Zxid};
//! use std::collections::{BTreeMap, BTreeSet, VecDeque};
//!
//! let voters: BTreeSet<ServerId> = (1..=3).map(ServerId).collect();
//! let mut servers: BTreeMap<ServerId, Election> = BTreeMap::new();
//! for &id in &voters {
//!     let config = ElectionConfig::new(id, voters.clone(), BTreeSet::new());
//!     let last_zxid = Zxid::new(1, if id == ServerId(2) { 9 } else { 5 });
//!     servers.insert(id, Election::new(config, last_zxid, Epoch(1)));
//! }
//! let mut now = 0;
//! for election in servers.values_mut() {
//!     election.start(now);
//! }
//! let mut wire = VecDeque::new();
//! loop {
//!     for (&from, election) in servers.iter_mut() {
//!         while let Some(out) = election.poll_output() {
//!             if let ElectionOutput::Send { to, notification } = out {
//!                 wire.push_back((from, to, notification));
//!             }
//!         }
//!     }
//!     if let Some((from, to, notification)) = wire.pop_front() {
//!         servers.get_mut(&to).unwrap().handle(now, from, notification);
//!     } else if let Some(at) = servers.values().filter_map(|e| e.poll_timeout()).min() {
//!         now = at;
//!         servers.values_mut().for_each(|e| e.tick(now));
//!     } else {
//!         break;
//!     }
//! }
//! assert_eq!(servers[&ServerId(2)].state(), ServerState::Leading);
//! assert!(servers.values().all(|e| e.current_vote().leader == ServerId(2)));
//! ```

mod fast_leader_election;
mod rules;
mod tally;
mod vote;

pub use fast_leader_election::{Election, ElectionConfig, ElectionOutput, FINALIZE_WAIT_MS, MAX_NOTIFICATION_INTERVAL_MS};
pub use rules::{ElectionRules, ZooKeeperRules};
pub use vote::{Notification, ServerState, Vote};
