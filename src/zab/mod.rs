//! ZAB, ZooKeeper's atomic broadcast, as pure building blocks that `Peer`
//! composes once an election has named a leader:
//!
//! - `message`: `QuorumMessage`, everything leader and learners say, and its encoding;
//! - `epoch`: discovery on the leader (`EpochTally`) and the quorum rule (`QuorumVerifier`);
//! - `sync`: the leader's choice of DIFF, TRUNC or SNAP (`choose_sync`) and the
//!   learner's side of discovery and synchronization (`LearnerSync`);
//! - `broadcast`: the leader's PROPOSAL/ACK/COMMIT bookkeeping (`ProposalTracker`).
//!
//! None of them sends, writes or reads a clock: each consumes what happened and
//! says what to do, and anything that must follow a durable write waits for the
//! caller to report it durable.
//!
//! A leader and one follower establishing epoch 3. The follower still holds
//! (1,3), which epoch 1 never committed and the leader of epoch 2 never saw:
//! it is truncated away and the follower receives (2,1).
//!
//! ```
//! use ensemble::zab::{choose_sync, sync_messages, DiscoveryPhase, EpochTally, LeaderHistory, LearnerConfig, LearnerDisk,
//!     LearnerOutput, LearnerRole, LearnerSync, QuorumMessage, QuorumVerifier, StateSummary};
//! use ensemble::{DataTree, Epoch, ServerId, SessionId, Txn, TxnOp, Zxid};
//! use std::collections::BTreeSet;
//!
//! let check = |epoch, counter| Txn { zxid: Zxid::new(epoch, counter), session: SessionId(1), cxid: 0, time_ms: 0, op: TxnOp::Check { path: "/".into() } };
//! let history = vec![check(1, 1), check(1, 2), check(2, 1)];
//! let mut leader_tree = DataTree::new();
//! history.iter().for_each(|t| { leader_tree.apply(t); });
//!
//! let voters: BTreeSet<ServerId> = [ServerId(1), ServerId(2)].into();
//! let quorum = QuorumVerifier::new(voters, BTreeSet::new()).unwrap();
//! let mine = StateSummary { current_epoch: Epoch(2), last_zxid: Zxid::new(2, 1) };
//! let mut tally = EpochTally::new(quorum, ServerId(1), Epoch(2), mine);
//!
//! let disk = LearnerDisk { accepted_epoch: Epoch(1), current_epoch: Epoch(1), last_zxid: Zxid::new(1, 3), snapshot_zxid: Zxid::ZERO };
//! let mut follower = LearnerSync::new(LearnerConfig::new(LearnerRole::Follower), disk, 1);
//! let mut to_leader = Vec::new();
//! let run = |follower: &mut LearnerSync, to_leader: &mut Vec<QuorumMessage>| {
//!     while let Some(out) = follower.poll_output() {
//!         match out {
//!             LearnerOutput::Send(msg) => to_leader.push(msg),
//!             // A real host writes, fsyncs, then reports; here every write is durable at once.
//!             LearnerOutput::Persist { write, .. } => follower.durable(write),
//!             _ => {}
//!         }
//!     }
//! };
//! run(&mut follower, &mut to_leader);
//! let QuorumMessage::FollowerInfo { accepted_epoch, .. } = to_leader.remove(0) else { panic!() };
//! assert_eq!(tally.follower_info(ServerId(2), accepted_epoch), Ok(DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(3) }));
//! tally.ack_epoch(ServerId(1), mine).unwrap(); // the leader's own accepted epoch is durable
//!
//! follower.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(3) });
//! run(&mut follower, &mut to_leader);
//! let QuorumMessage::AckEpoch { current_epoch, last_zxid, .. } = to_leader.remove(0) else { panic!() };
//! let phase = tally.ack_epoch(ServerId(2), StateSummary { current_epoch, last_zxid }).unwrap();
//! assert_eq!(phase, DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(3) });
//!
//! let history = LeaderHistory::new(Zxid::ZERO, &history);
//! let plan = choose_sync(&history, last_zxid, 1_000);
//! for msg in sync_messages(&plan, &history, &leader_tree, &[], Epoch(3)) {
//!     follower.handle(msg);
//!     run(&mut follower, &mut to_leader);
//! }
//! assert_eq!(to_leader, vec![QuorumMessage::Ack { zxid: Zxid::new(3, 0) }]);
//! tally.new_leader_ack(ServerId(1), Zxid::new(3, 0)).unwrap(); // the leader's own history and epoch are durable
//! assert_eq!(tally.new_leader_ack(ServerId(2), Zxid::new(3, 0)), Ok(DiscoveryPhase::Established { new_epoch: Epoch(3) }));
//! assert_eq!(follower.durable_zxid(), Zxid::new(2, 1));
//! assert_eq!(follower.current_epoch(), Epoch(3));
//! ```

mod broadcast;
mod epoch;
mod message;
mod sync;

pub use broadcast::{AckOutcome, ProposalTracker, ProposeError};
pub use epoch::{DiscoveryPhase, EpochTally, FollowerAhead, Ignored, MembershipError, QuorumVerifier, StateSummary};
pub use message::{DecodeError, QuorumMessage, FORMAT_VERSION};
pub use sync::{
    choose_sync, choose_sync_for, sync_messages, LeaderHistory, LearnerConfig, LearnerDisk, LearnerOutput, LearnerRole, LearnerSync, Persist, SnapReason, SyncError,
    SyncPlan, WriteId,
};
