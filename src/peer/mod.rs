//! `Peer`: the engine a host drives. It composes the tree, prep, sessions and
//! watches, and runs the write path as a leader whose quorum is itself: a
//! write is prepared, persisted, acknowledged once the host reports it
//! durable, committed, applied, and only then answered. Standalone mode is
//! this ensemble of one; election and ZAB extend the same commit rule to
//! more voters.
//!
//! # Driving a peer
//! A host calls, in a loop: `handle(now, input)` for each event, then
//! `poll_output()` until it returns `None`, executing each output in order,
//! then sleeps until `poll_timeout()` (or the next event) and feeds
//! `Input::Tick`. `now` (ms since the Unix epoch, or virtual time in the
//! simulator) must never go backwards.
//!
//! # Ensembles
//! With more than one member (`PeerConfig::voters`, `PeerConfig::observers`)
//! the peer starts LOOKING and runs FastLeaderElection, then ZAB as leader
//! or learner (see `ensemble.rs`). The host delivers each `Output::Send` to the
//! named peer as `Input::Message` (in order per pair of peers, as TCP does;
//! losing messages is allowed), performs every `Output::Persist` in the order
//! given, and reports durability: `Input::Durable` for `Persist::Txn`,
//! `Input::WriteDurable` for `Persist::Zab`, each report covering every
//! earlier write. With no other member the peer is standalone: it leads at
//! once, in the epoch after the last one it holds, and emits only what it
//! always did.
//!
//! Three peers driven by hand: messages delivered in order, every write
//! durable at once, time moved to the next timeout when nothing else happens.
//!
//! ```
//! use ensemble::peer::{Input, Output, Peer, PeerConfig, Persist, Role};
//! use ensemble::{DataTree, ServerId};
//! use std::collections::{BTreeMap, BTreeSet, VecDeque};
//!
//! let voters: BTreeSet<ServerId> = (1..=3).map(ServerId).collect();
//! let mut now = 1_000;
//! let mut peers: BTreeMap<ServerId, Peer> = voters
//!     .iter()
//!     .map(|&id| {
//!         let mut config = PeerConfig::new(id, 100);
//!         config.voters = voters.clone();
//!         (id, Peer::new(config, DataTree::new(), now))
//!     })
//!     .collect();
//! let mut wire = VecDeque::new();
//! while !peers.values().all(|p| p.serving_epoch().is_some()) {
//!     let mut durable = Vec::new();
//!     for (&id, peer) in peers.iter_mut() {
//!         while let Some(out) = peer.poll_output() {
//!             match out {
//!                 Output::Send { to, msg } => wire.push_back((id, to, msg)),
//!                 // A real host writes and fsyncs first; here every write is durable at once.
//!                 Output::Persist(Persist::Txn(txn)) => durable.push((id, Input::Durable { zxid: txn.zxid })),
//!                 Output::Persist(Persist::Zab { write, .. }) => durable.push((id, Input::WriteDurable { write })),
//!                 _ => {}
//!             }
//!         }
//!     }
//!     for (id, input) in durable {
//!         peers.get_mut(&id).unwrap().handle(now, input);
//!     }
//!     if let Some((from, to, msg)) = wire.pop_front() {
//!         peers.get_mut(&to).unwrap().handle(now, Input::Message { from, msg });
//!     } else {
//!         now = peers.values().filter_map(|p| p.poll_timeout()).min().unwrap().max(now + 1);
//!         for peer in peers.values_mut() {
//!             if peer.poll_timeout().is_some_and(|t| t <= now) {
//!                 peer.handle(now, Input::Tick);
//!             }
//!         }
//!     }
//! }
//! assert_eq!(peers.values().filter(|p| p.role() == Role::Leading).count(), 1);
//! assert!(peers.values().all(|p| p.leader() == Some(ServerId(3))), "the largest myid wins a tie");
//! ```

use crate::acl::{self, Id};
use crate::election::{Election, Notification};
use crate::error::ErrorCode;
use crate::prep::{prep, PrepConfig, PrepContext};
use crate::proto::records::{AddWatchMode, ConnectRequest, ConnectResponse};
use crate::proto::{ClientRequest, ReadReply, WriteReply};
use crate::read::read;
use crate::request::{ReadOp, ReadResult, WriteOp};
use crate::session::{negotiate_timeout, SessionTracker};
use crate::tree::DataTree;
use crate::txn::{OpResult, Txn, TxnOp};
use crate::watch::{EventType, WatchManager, WatchSet};
use crate::zab::{self, QuorumMessage, QuorumVerifier, WriteId};
use crate::zxid::{ConnId, Epoch, ServerId, SessionId, Zxid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

mod ensemble;
mod sabotage;

use ensemble::RoleState;
pub use ensemble::{RecoveredState, Role};
pub use sabotage::Sabotage;

/// Settings of one peer.
#[derive(Clone, Debug)]
pub struct PeerConfig {
    /// This server's myid.
    pub server_id: ServerId,
    /// The basic time unit.
    pub tick_time_ms: u64,
    /// Lower bound for negotiated session timeouts.
    pub min_session_timeout_ms: i32,
    /// Upper bound for negotiated session timeouts.
    pub max_session_timeout_ms: i32,
    /// How requests are judged.
    pub prep: PrepConfig,
    /// `super:` digest that bypasses ACLs, if configured.
    pub super_digest: Option<String>,
    /// Transactions between snapshots.
    pub snap_count: u64,
    /// Secret from which session passwords derive; the host draws it at startup.
    pub password_seed: u64,
    /// Writes in flight at once before new ones wait (globalOutstandingLimit).
    pub outstanding_limit: usize,
    /// Requests queued on one connection before it is refused and closed.
    pub connection_queue_limit: usize,
    /// How often containers and TTL nodes are checked (`znode.container.checkIntervalMs`).
    pub container_check_interval_ms: u64,
    /// The voting members, this server included if it votes; empty (or just me) and no observers is standalone.
    pub voters: BTreeSet<ServerId>,
    /// The observers: they learn every commit and never vote.
    pub observers: BTreeSet<ServerId>,
    /// Ticks a leader and its learners have to finish discovery and synchronization (initLimit).
    pub init_limit_ticks: u64,
    /// Ticks without hearing from the other side before a learner or leader gives up (syncLimit).
    pub sync_limit_ticks: u64,
    /// Committed transactions kept in memory for DIFFs; learners further behind get a SNAP.
    pub diff_history_max: usize,
    /// The longest wait between re-sends of an unanswered election vote (maxNotificationInterval).
    pub max_notification_interval_ms: u64,
    /// Test-only: protocol rules to break on purpose (all off; the runtime never sets one).
    pub sabotage: Sabotage,
}

impl PeerConfig {
    /// ZooKeeper's defaults for a server with this id and tick.
    pub fn new(server_id: ServerId, tick_time_ms: u64) -> PeerConfig {
        PeerConfig {
            server_id,
            tick_time_ms,
            min_session_timeout_ms: (2 * tick_time_ms) as i32,
            max_session_timeout_ms: (20 * tick_time_ms) as i32,
            prep: PrepConfig::default(),
            super_digest: None,
            snap_count: 100_000,
            password_seed: 0,
            outstanding_limit: 1_000,
            connection_queue_limit: 10_000,
            container_check_interval_ms: 60_000,
            voters: BTreeSet::new(),
            observers: BTreeSet::new(),
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            diff_history_max: 1_000,
            max_notification_interval_ms: crate::election::MAX_NOTIFICATION_INTERVAL_MS,
            sabotage: Sabotage::default(),
        }
    }

    /// Whether this server runs alone: no other voter and no observer.
    pub fn is_standalone(&self) -> bool {
        self.observers.is_empty() && self.voters.iter().all(|id| *id == self.server_id)
    }
}

/// What peers say to each other: election notifications and ZAB messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// FastLeaderElection.
    Election(Notification),
    /// Discovery, synchronization, broadcast and pings.
    Zab(QuorumMessage),
}

/// What a reply carries; the reply kinds come from decoding, so the host
/// encodes each result as the request's opcode demands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyBody {
    /// The result of a write (errors included).
    Write {
        /// How to encode it.
        reply: WriteReply,
        /// The result.
        result: OpResult,
    },
    /// The result of a read.
    Read {
        /// How to encode it.
        reply: ReadReply,
        /// The result.
        result: Result<ReadResult, ErrorCode>,
    },
    /// sync's path.
    Sync(String),
    /// A ping answer (xid −2).
    Ping,
    /// An auth answer (zxid 0).
    Auth(Result<(), ErrorCode>),
    /// addWatch's `ErrorResponse{0}`.
    AddWatch,
    /// whoAmI's authenticated ids.
    WhoAmI(Vec<Id>),
    /// A header-only success.
    Empty,
    /// A header-only error.
    Error(ErrorCode),
}

/// A reply to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The request's xid.
    pub xid: i32,
    /// The zxid the reply header carries.
    pub zxid: Zxid,
    /// The content.
    pub body: ReplyBody,
}

/// What the peer asks its host to persist.
#[derive(Clone, Debug)]
pub enum Persist {
    /// Append this transaction to the log; report `Input::Durable` once synced.
    Txn(Txn),
    /// Write this snapshot (an O(1) clone) in the background; then the log may roll.
    Snapshot(DataTree),
    /// A ZAB write (epochs, truncation, a learner's log and SNAP); report `Input::WriteDurable { write }`.
    Zab {
        /// Its name, for the durability report.
        write: WriteId,
        /// What to write.
        persist: zab::Persist,
    },
    /// This server recovered with `RecoveredState::lost_records` and has since
    /// synced its whole history from an established leader, durably: the host
    /// may drop its lost-records mark (nothing to report back).
    RecordsRestored,
}

/// An event for the peer.
#[derive(Clone, Debug)]
pub enum Input {
    /// A client connection was accepted from this IP address.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The client's address, for ip ACLs.
        remote_ip: String,
    },
    /// The connection's handshake.
    Connect {
        /// The connection.
        conn: ConnId,
        /// The decoded ConnectRequest.
        request: ConnectRequest,
    },
    /// A request on an established connection.
    Request {
        /// The connection.
        conn: ConnId,
        /// Request xid.
        xid: i32,
        /// The decoded request.
        request: ClientRequest,
    },
    /// The connection closed.
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// Every transaction up to this zxid is durable on the host's disk.
    Durable {
        /// Last durable zxid.
        zxid: Zxid,
    },
    /// Time passed.
    Tick,
    /// A message from another member of the ensemble.
    Message {
        /// The sender, as the transport vouches.
        from: ServerId,
        /// The message.
        msg: PeerMessage,
    },
    /// The transport lost its connection to `peer`: messages to and from it may have been lost.
    PeerLost {
        /// The other end.
        peer: ServerId,
    },
    /// `Persist::Zab` write `write`, and every write issued before it, is durable.
    WriteDurable {
        /// The last durable write.
        write: WriteId,
    },
}

/// An action for the host.
#[derive(Clone, Debug)]
pub enum Output {
    /// Persist something.
    Persist(Persist),
    /// Send the handshake answer.
    Connected {
        /// The connection.
        conn: ConnId,
        /// The answer.
        response: ConnectResponse,
    },
    /// Send a reply.
    Reply {
        /// The connection.
        conn: ConnId,
        /// The reply.
        reply: Reply,
    },
    /// Send a watch notification.
    Notify {
        /// The connection.
        conn: ConnId,
        /// What happened.
        event_type: EventType,
        /// Where.
        path: String,
        /// The triggering transaction.
        zxid: Zxid,
    },
    /// Send a message to another member of the ensemble; losing it is allowed.
    Send {
        /// The receiver.
        to: ServerId,
        /// The message.
        msg: PeerMessage,
    },
    /// Close the connection after sending what came before.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why, for the log.
        reason: &'static str,
    },
}

/// Counters and sizes for the four-letter words.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Number of znodes.
    pub node_count: usize,
    /// Last applied zxid.
    pub last_zxid: Zxid,
    /// Live sessions.
    pub session_count: usize,
    /// Open client connections.
    pub connection_count: usize,
    /// Writes proposed and not yet committed.
    pub outstanding_requests: usize,
    /// Watch registrations.
    pub watch_count: usize,
    /// Watched paths.
    pub watched_paths: usize,
    /// Connections holding watches.
    pub watching_connections: usize,
    /// Ephemeral nodes.
    pub ephemerals_count: usize,
    /// Bytes of znode data and paths.
    pub approximate_data_size: usize,
    /// Requests received.
    pub packets_received: u64,
    /// Replies and notifications sent.
    pub packets_sent: u64,
}

/// One client connection as the peer sees it.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The session bound by the handshake.
    pub session: Option<SessionId>,
    /// Authenticated ids, the ip id first.
    pub auth: Vec<Id>,
    /// Requests received on it.
    pub packets_received: u64,
    /// Replies and notifications sent to it.
    pub packets_sent: u64,
    /// The last zxid it was told about.
    pub last_zxid: Zxid,
    queue: VecDeque<Entry>,
    /// Watch events held behind a queued reply (the xid they follow): a reply
    /// of an earlier txn that waits its turn must reach the client first.
    held_events: VecDeque<(i32, EventType, String, Zxid)>,
}

#[derive(Clone, Debug)]
struct Entry {
    xid: i32,
    request: ClientRequest,
    state: EntryState,
}

/// Whether a request goes through a transaction (and so waits for its commit).
fn is_write(request: &ClientRequest) -> bool {
    matches!(request, ClientRequest::Write { .. } | ClientRequest::Rejected { .. } | ClientRequest::CloseSession)
}

/// Whether the connection closes once the request is answered.
fn closes_connection(request: &ClientRequest) -> Option<&'static str> {
    match request {
        ClientRequest::CloseSession => Some("session closed by client"),
        ClientRequest::Unknown { .. } => Some("unimplemented opcode"),
        _ => None,
    }
}

#[derive(Clone, Debug)]
enum EntryState {
    New,
    InFlight,
    Done(Reply),
}

#[derive(Clone, Debug)]
enum Origin {
    /// A client request, answered on commit.
    Request { conn: ConnId, xid: i32 },
    /// A new session's handshake, answered on commit.
    Connect { conn: ConnId, request: ConnectRequest, timeout_ms: i32 },
    /// The server's own work (expiry, cleanup): nobody to answer.
    Server,
}

#[derive(Clone, Debug)]
struct Proposal {
    txn: Txn,
    origin: Origin,
    acks: BTreeSet<ServerId>,
}

/// The engine. See the module documentation for the calling contract.
pub struct Peer {
    config: PeerConfig,
    tree: DataTree,
    /// The tree with every proposal applied: prep judges against it.
    proposed_tree: DataTree,
    last_proposed: Zxid,
    proposals: VecDeque<Proposal>,
    sessions: SessionTracker,
    watches: WatchManager,
    connections: BTreeMap<ConnId, Connection>,
    outputs: VecDeque<Output>,
    now_ms: u64,
    next_container_check_ms: u64,
    txns_since_snapshot: u64,
    packets_received: u64,
    packets_sent: u64,
    /// The membership; `{me}` when standalone.
    quorum: QuorumVerifier,
    /// LOOKING, LEADING, FOLLOWING or OBSERVING, with the role's state.
    role: RoleState,
    /// FastLeaderElection; `None` when standalone.
    election: Option<Election>,
    /// The durable accepted epoch (as far as reported).
    accepted_epoch: Epoch,
    /// The durable current epoch (as far as reported).
    current_epoch: Epoch,
    /// What the disk holds once every issued write lands: a tree at some
    /// committed point plus the logged txns after it. Going back to LOOKING
    /// rebuilds the in-memory tree from it.
    disk_base: DataTree,
    disk_tail: VecDeque<Txn>,
    /// The newest snapshot's zxid: no TRUNC may go below it.
    snapshot_zxid: Zxid,
    /// The committed history kept for DIFFs: the txns after `history_base`, ending at the tree's last zxid.
    history: VecDeque<Txn>,
    history_base: Zxid,
    /// The next `WriteId::seq`, unique over this process's life.
    next_write_seq: u64,
    /// Writes a follower forwarded to the leader, answered when their commit is applied here.
    forwarded: BTreeMap<(SessionId, i32), Origin>,
    /// Sessions touched by clients here since the last ping (learners only).
    touched: BTreeMap<SessionId, i32>,
    /// FOLLOWERINFO/OBSERVERINFO that arrived while LOOKING, replayed if I lead.
    pending_infos: BTreeMap<ServerId, QuorumMessage>,
    /// Client syncs waiting for the leader's confirmation, then for the local tree to reach its zxid.
    syncs: BTreeMap<u64, ensemble::SyncWait>,
    /// Numbers sync requests and confirmation rounds.
    next_sync_id: u64,
    /// Reconnects on a learner waiting for the leader's REVALIDATE answer.
    revalidating: BTreeMap<ConnId, (ConnectRequest, i32)>,
    /// The host cut durable records at recovery: abstain from elections until synced (see `RecoveredState::lost_records`).
    lost_records: bool,
    /// The (last zxid, digest) of the tree the last `check_invariants` walked.
    tree_checked: std::cell::Cell<Option<(Zxid, u64)>>,
}

impl Peer {
    /// A peer that recovered `tree` from its disk, starting a new epoch after
    /// the last one it holds.
    pub fn new(config: PeerConfig, tree: DataTree, now_ms: u64) -> Peer {
        let epoch = tree.last_zxid().epoch;
        Peer::recover(config, RecoveredState { snapshot: tree, log: Vec::new(), accepted_epoch: epoch, current_epoch: epoch, lost_records: false }, now_ms)
    }

    /// A peer that recovered `state` from its disk. Standalone, it leads at
    /// once in the epoch after the last one it holds; in an ensemble it starts
    /// LOOKING.
    pub fn recover(config: PeerConfig, state: RecoveredState, now_ms: u64) -> Peer {
        let snapshot_zxid = state.snapshot.last_zxid();
        let mut tree = state.snapshot.clone();
        for t in &state.log {
            tree.apply(t);
        }
        let last_epoch = tree.last_zxid().epoch.max(state.current_epoch);
        let epoch = Epoch(last_epoch.0 + 1);
        let mut sessions = SessionTracker::new(config.server_id, now_ms, config.tick_time_ms, config.password_seed);
        // Recovered sessions get a full timeout from now, as ZooKeeper gives them on load.
        for (session, timeout_ms) in tree.sessions().iter() {
            sessions.add(*session, *timeout_ms, now_ms);
        }
        let mut peer = Peer {
            next_container_check_ms: now_ms + config.container_check_interval_ms,
            config,
            proposed_tree: tree.clone(),
            tree,
            last_proposed: Zxid { epoch, counter: 0 },
            proposals: VecDeque::new(),
            sessions,
            watches: WatchManager::new(),
            connections: BTreeMap::new(),
            outputs: VecDeque::new(),
            now_ms,
            txns_since_snapshot: 0,
            packets_received: 0,
            packets_sent: 0,
            quorum: QuorumVerifier::new([ServerId(0)].into(), BTreeSet::new()).expect("placeholder"),
            role: RoleState::Looking,
            election: None,
            accepted_epoch: state.accepted_epoch.max(state.current_epoch),
            current_epoch: state.current_epoch,
            disk_base: state.snapshot,
            history: state.log.iter().cloned().collect(),
            disk_tail: state.log.into_iter().collect(),
            history_base: snapshot_zxid,
            snapshot_zxid,
            next_write_seq: 1,
            forwarded: BTreeMap::new(),
            touched: BTreeMap::new(),
            pending_infos: BTreeMap::new(),
            syncs: BTreeMap::new(),
            next_sync_id: 1,
            revalidating: BTreeMap::new(),
            lost_records: state.lost_records,
            tree_checked: std::cell::Cell::new(None),
        };
        // A log longer than the DIFF history keeps only its newest part for DIFFs.
        peer.trim_history();
        peer.start(now_ms);
        peer
    }

    /// Feeds one event.
    pub fn handle(&mut self, now_ms: u64, input: Input) {
        assert!(now_ms >= self.now_ms || self.now_ms == 0, "time went backwards: {now_ms} < {}", self.now_ms);
        self.now_ms = self.now_ms.max(now_ms);
        match input {
            Input::Connected { conn, remote_ip } => {
                let connection = Connection {
                    session: None,
                    auth: vec![Id::new("ip", &remote_ip)],
                    packets_received: 0,
                    packets_sent: 0,
                    last_zxid: Zxid::ZERO,
                    queue: VecDeque::new(),
                    held_events: VecDeque::new(),
                };
                self.connections.insert(conn, connection);
            }
            Input::Connect { conn, request } => self.connect(conn, request),
            Input::Request { conn, xid, request } => self.request(conn, xid, request),
            Input::Disconnected { conn } => {
                self.connections.remove(&conn);
                self.watches.remove_conn(conn);
            }
            Input::Durable { zxid } => self.durable(zxid),
            Input::Tick => {
                if self.is_active_leader() {
                    self.tick();
                }
                self.ensemble_tick();
            }
            Input::Message { from, msg } => self.message(from, msg),
            Input::WriteDurable { write } => self.write_durable(write),
            Input::PeerLost { peer } => self.peer_lost(peer),
        }
        self.drain_election();
    }

    /// The next action for the host, in order.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the host should next feed `Input::Tick`, if anything is scheduled.
    pub fn poll_timeout(&self) -> Option<u64> {
        // Session expiry and container cleanup are the leader's; elsewhere their deadlines mean nothing.
        if !self.is_active_leader() {
            return self.ensemble_timeout();
        }
        let session = self.sessions.next_deadline();
        let local = session.map_or(self.next_container_check_ms, |d| d.min(self.next_container_check_ms));
        Some(self.ensemble_timeout().map_or(local, |t| t.min(local)))
    }

    /// The committed tree.
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// Open connections.
    pub fn connections(&self) -> &BTreeMap<ConnId, Connection> {
        &self.connections
    }

    /// Live sessions.
    pub fn sessions(&self) -> &SessionTracker {
        &self.sessions
    }

    /// Registered watches.
    pub fn watches(&self) -> &WatchManager {
        &self.watches
    }

    /// The settings this peer runs with.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> PeerStats {
        let mut ephemerals_count = 0;
        for (session, _) in self.sessions.iter() {
            ephemerals_count += self.tree.ephemerals(*session).len();
        }
        PeerStats {
            node_count: self.tree.node_count(),
            last_zxid: self.tree.last_zxid(),
            session_count: self.sessions.len(),
            connection_count: self.connections.len(),
            outstanding_requests: self.proposals.len(),
            watch_count: self.watches.watch_count(),
            watched_paths: self.watches.path_count(),
            watching_connections: self.watches.by_connection().values().filter(|p| !p.is_empty()).count(),
            ephemerals_count,
            approximate_data_size: self.tree.approximate_data_size(),
            packets_received: self.packets_received,
            packets_sent: self.packets_sent,
        }
    }

    /// Checks the peer's internal consistency.
    ///
    /// # Panics
    /// On a broken invariant: a bug in the engine.
    pub fn check_invariants(&self) {
        // The tree's own check walks every znode; the tree changes only when a
        // txn is applied or an image replaces it, and either changes its last
        // zxid or its digest, so an unchanged tree is not walked again.
        let tree_key = (self.tree.last_zxid(), self.tree.digest());
        if self.tree_checked.get() != Some(tree_key) {
            self.tree.check_invariants();
            self.tree_checked.set(Some(tree_key));
        }
        let mut last = self.tree.last_zxid();
        for p in &self.proposals {
            assert!(p.txn.zxid > last, "proposals out of order: {} after {}", p.txn.zxid, last);
            last = p.txn.zxid;
        }
        assert!(self.last_proposed >= self.tree.last_zxid() || self.proposals.is_empty());
        for (session, _) in self.tree.sessions().iter() {
            assert!(self.sessions.get(*session).is_some(), "session {session} in the tree is not tracked");
        }
        self.check_ensemble_invariants();
    }

    fn connect(&mut self, conn: ConnId, request: ConnectRequest) {
        let Some(connection) = self.connections.get(&conn) else { return };
        if connection.session.is_some() {
            self.close(conn, "second handshake on one connection");
            return;
        }
        if !self.is_serving() {
            self.close(conn, "this server is not serving: no leader yet");
            return;
        }
        // A client that has seen more than we hold must find a more current server.
        if request.last_zxid_seen > self.tree.last_zxid() {
            self.close(conn, "client has seen a zxid this server does not have");
            return;
        }
        let timeout_ms = negotiate_timeout(request.timeout_ms, self.config.min_session_timeout_ms, self.config.max_session_timeout_ms);
        if request.session_id.0 == 0 {
            let session = self.sessions.next_session_id();
            self.submit(WriteOp::CreateSession { timeout_ms }, session, 0, &[], Origin::Connect { conn, request, timeout_ms });
            return;
        }
        let session = request.session_id;
        // As ZooKeeper 3.8 does, a reconnect first closes the session's current
        // connection, even before the password is checked.
        let holders: Vec<ConnId> = self.connections.iter().filter(|(c, k)| **c != conn && k.session == Some(session)).map(|(c, _)| *c).collect();
        for other in holders {
            self.close(other, "session reconnected on another connection");
            self.connections.remove(&other);
            self.watches.remove_conn(other);
        }
        // A learner asks the leader, which owns expiry, whether the session may move here.
        if request.passwd[..] == self.sessions.password(session)[..] && self.revalidate(conn, &request, timeout_ms) {
            return;
        }
        let valid = self.sessions.get(session).is_some_and(|s| !s.closing) && request.passwd[..] == self.sessions.password(session)[..];
        if !valid {
            self.outputs.push_back(Output::Connected { conn, response: ConnectResponse::refusal(&request) });
            self.close(conn, "session expired or wrong password");
            return;
        }
        self.sessions.touch(session, self.now_ms);
        self.bind(conn, &request, session, timeout_ms);
    }

    fn bind(&mut self, conn: ConnId, request: &ConnectRequest, session: SessionId, timeout_ms: i32) {
        let password = self.sessions.password(session).to_vec();
        if let Some(c) = self.connections.get_mut(&conn) {
            c.session = Some(session);
            let response = ConnectResponse::accept(request, timeout_ms, session, password, false);
            self.outputs.push_back(Output::Connected { conn, response });
        }
    }

    fn request(&mut self, conn: ConnId, xid: i32, request: ClientRequest) {
        let Some(connection) = self.connections.get_mut(&conn) else { return };
        let Some(session) = connection.session else {
            self.close(conn, "request before the handshake completed");
            return;
        };
        connection.packets_received += 1;
        self.packets_received += 1;
        if !self.sessions.touch(session, self.now_ms) {
            self.close(conn, "request on an expired session");
            return;
        }
        self.note_touch(session);
        // Auth is answered at once, as ZooKeeper does, outside the request order.
        if let ClientRequest::Auth { scheme, auth } = &request {
            let result = match (scheme.as_str(), auth) {
                ("digest", Some(auth)) => acl::authenticate_digest(auth, self.config.super_digest.as_deref()),
                _ => Err(ErrorCode::AuthFailed),
            };
            match result {
                Ok(ids) => {
                    let connection = self.connections.get_mut(&conn).expect("present");
                    for id in ids {
                        if !connection.auth.contains(&id) {
                            connection.auth.push(id);
                        }
                    }
                    self.send(conn, Reply { xid, zxid: Zxid::ZERO, body: ReplyBody::Auth(Ok(())) });
                }
                Err(code) => {
                    self.send(conn, Reply { xid, zxid: Zxid::ZERO, body: ReplyBody::Auth(Err(code)) });
                    self.close(conn, "authentication failed");
                }
            }
            return;
        }
        let connection = self.connections.get_mut(&conn).expect("present");
        if connection.queue.len() >= self.config.connection_queue_limit {
            self.close(conn, "too many requests queued on one connection");
            return;
        }
        connection.queue.push_back(Entry { xid, request, state: EntryState::New });
        self.pump(conn);
    }

    /// Moves a connection's queue forward: answers finished entries in order,
    /// proposes writes (several may be in flight), and answers anything else
    /// only once every earlier request of the connection is answered.
    fn pump(&mut self, conn: ConnId) {
        loop {
            self.flush_done(conn);
            let Some(connection) = self.connections.get(&conn) else { return };
            let Some(session) = connection.session else { return };
            let mut blocked = false;
            let mut next: Option<usize> = None;
            for (i, entry) in connection.queue.iter().enumerate() {
                match entry.state {
                    EntryState::InFlight | EntryState::Done(_) => blocked = true,
                    EntryState::New => {
                        if is_write(&entry.request) {
                            if self.proposals.len() + self.forwarded.len() < self.config.outstanding_limit {
                                next = Some(i);
                            }
                        } else if !blocked {
                            next = Some(i);
                        }
                        break;
                    }
                }
            }
            let Some(i) = next else { return };
            let connection = self.connections.get_mut(&conn).expect("present");
            let entry = &mut connection.queue[i];
            let (xid, request) = (entry.xid, entry.request.clone());
            if is_write(&request) {
                entry.state = EntryState::InFlight;
                let auth = connection.auth.clone();
                let op = match request {
                    ClientRequest::Write { op, .. } => op,
                    ClientRequest::Rejected { error } => WriteOp::Refused(error),
                    ClientRequest::CloseSession => {
                        self.sessions.set_closing(session);
                        WriteOp::CloseSession
                    }
                    _ => unreachable!("is_write"),
                };
                self.submit(op, session, xid, &auth, Origin::Request { conn, xid });
            } else if let (ClientRequest::Sync { path }, false) = (&request, self.config.is_standalone()) {
                // In an ensemble, sync waits for a quorum to confirm the leader (see ensemble.rs).
                entry.state = EntryState::InFlight;
                let path = path.clone();
                self.start_sync(conn, xid, path);
            } else {
                let reply = self.answer_locally(conn, session, xid, request);
                let connection = self.connections.get_mut(&conn).expect("present");
                connection.queue[i].state = EntryState::Done(reply);
            }
        }
    }

    fn flush_done(&mut self, conn: ConnId) {
        loop {
            let Some(connection) = self.connections.get_mut(&conn) else { return };
            let Some(front) = connection.queue.front() else { return };
            if !matches!(front.state, EntryState::Done(_)) {
                return;
            }
            let entry = connection.queue.pop_front().expect("front");
            let EntryState::Done(reply) = entry.state else { unreachable!() };
            let mut held = Vec::new();
            while connection.held_events.front().is_some_and(|(after, ..)| *after == entry.xid) {
                held.push(connection.held_events.pop_front().expect("front"));
            }
            self.send(conn, reply);
            for (_, event_type, path, zxid) in held {
                self.emit_notify(conn, event_type, path, zxid);
            }
            if let Some(reason) = closes_connection(&entry.request) {
                self.close(conn, reason);
                return;
            }
        }
    }

    fn answer_locally(&mut self, conn: ConnId, session: SessionId, xid: i32, request: ClientRequest) -> Reply {
        let zxid = self.tree.last_zxid();
        let reply = |body| Reply { xid, zxid, body };
        let auth = self.connections.get(&conn).map(|c| c.auth.clone()).unwrap_or_default();
        match request {
            ClientRequest::Read { op, watch, reply: kind } => {
                let result = read(&self.tree, session, &auth, &op);
                if watch {
                    match (&op, &result) {
                        (ReadOp::Exists { path }, Ok(_) | Err(ErrorCode::NoNode)) => self.watches.add_data_watch(conn, path),
                        (ReadOp::GetData { path }, Ok(_)) => self.watches.add_data_watch(conn, path),
                        (ReadOp::GetChildren { path }, Ok(_)) => self.watches.add_child_watch(conn, path),
                        _ => {}
                    }
                }
                reply(ReplyBody::Read { reply: kind, result })
            }
            ClientRequest::Sync { path } => reply(ReplyBody::Sync(path)),
            ClientRequest::Ping => reply(ReplyBody::Ping),
            ClientRequest::SetWatches { relative_zxid, data, exist, child, persistent, persistent_recursive } => {
                let watches = WatchSet { data, exist, child, persistent, persistent_recursive };
                let events = self.watches.set_watches(conn, &self.tree, relative_zxid, &watches);
                for e in events {
                    self.notify(e.conn, e.event_type, e.path, zxid);
                }
                reply(ReplyBody::Empty)
            }
            ClientRequest::AddWatch { path, mode } => {
                self.watches.add_persistent_watch(conn, &path, mode == AddWatchMode::PersistentRecursive);
                reply(ReplyBody::AddWatch)
            }
            ClientRequest::CheckWatches { path, watcher_type } => {
                if self.watches.contains(conn, &path, watcher_type) {
                    reply(ReplyBody::Empty)
                } else {
                    reply(ReplyBody::Error(ErrorCode::NoWatcher))
                }
            }
            ClientRequest::RemoveWatches { path, watcher_type } => {
                if self.watches.remove(conn, &path, watcher_type) {
                    reply(ReplyBody::Empty)
                } else {
                    reply(ReplyBody::Error(ErrorCode::NoWatcher))
                }
            }
            ClientRequest::WhoAmI => reply(ReplyBody::WhoAmI(auth)),
            // Without reconfigEnabled ZooKeeper refuses reconfig; SASL is not offered.
            ClientRequest::Reconfig(_) => reply(ReplyBody::Error(ErrorCode::ReconfigDisabled)),
            ClientRequest::Sasl { .. } => reply(ReplyBody::Error(ErrorCode::AuthFailed)),
            ClientRequest::Unknown { .. } => Reply { xid, zxid: Zxid::from_i64(-1), body: ReplyBody::Error(ErrorCode::Unimplemented) },
            ClientRequest::Write { .. } | ClientRequest::Rejected { .. } | ClientRequest::CloseSession | ClientRequest::Auth { .. } => {
                unreachable!("handled elsewhere")
            }
        }
    }

    fn propose(&mut self, op: WriteOp, session: SessionId, cxid: i32, auth: &[Id], origin: Origin) {
        self.last_proposed = self.last_proposed.next();
        let ctx = PrepContext { zxid: self.last_proposed, session, cxid, time_ms: self.now_ms as i64, auth, config: &self.config.prep };
        let txn = prep(&self.proposed_tree, &ctx, &op);
        self.proposed_tree.apply(&txn);
        self.outputs.push_back(Output::Persist(Persist::Txn(txn.clone())));
        self.disk_tail.push_back(txn.clone());
        self.broadcast_proposal(&txn);
        let mut acks = BTreeSet::new();
        if self.config.sabotage.ack_before_durable {
            acks.insert(self.config.server_id);
        }
        self.proposals.push_back(Proposal { txn, origin, acks });
        if self.config.sabotage.ack_before_durable {
            self.commit_ready();
        }
    }

    /// The host synced the log up to `zxid`: that is this server's ACK.
    fn durable(&mut self, zxid: Zxid) {
        let me = self.config.server_id;
        for p in self.proposals.iter_mut().take_while(|p| p.txn.zxid <= zxid) {
            p.acks.insert(me);
        }
        self.commit_ready();
    }

    /// Commits proposals at the head of the queue that a quorum acknowledged, in zxid order.
    fn commit_ready(&mut self) {
        let minority = self.config.sabotage.commit_on_minority_ack;
        while self.proposals.front().is_some_and(|p| self.quorum.is_quorum(&p.acks) || (minority && !p.acks.is_empty())) {
            let proposal = self.proposals.pop_front().expect("front");
            self.broadcast_commit(&proposal.txn);
            self.commit(proposal.txn, proposal.origin);
        }
        self.finish_syncs();
        let conns: Vec<ConnId> = self.connections.keys().copied().collect();
        for conn in conns {
            self.pump(conn);
        }
    }

    /// Applies a committed transaction to the tree, on a leader or a learner, and answers whoever waits for it.
    fn commit(&mut self, txn: Txn, origin: Origin) {
        let applied = self.tree.apply(&txn);
        self.record_committed(&txn);
        self.txns_since_snapshot += 1;
        // Checked per commit, not per durability report: one fsync may cover
        // many transactions, and snapCount counts transactions.
        self.maybe_snapshot();
        for change in &applied.changes {
            for e in self.watches.trigger(change) {
                self.notify(e.conn, e.event_type, e.path, txn.zxid);
            }
        }
        match &txn.op {
            TxnOp::CreateSession { timeout_ms } => self.sessions.add(txn.session, *timeout_ms, self.now_ms),
            TxnOp::CloseSession { .. } => {
                self.sessions.remove(txn.session);
                let holders: Vec<ConnId> = self
                    .connections
                    .iter()
                    .filter(|(c, k)| k.session == Some(txn.session) && !matches!(origin, Origin::Request { conn, .. } if conn == **c))
                    .map(|(c, _)| *c)
                    .collect();
                for conn in holders {
                    self.close(conn, "session expired");
                }
            }
            _ => {}
        }
        match origin {
            Origin::Request { conn, xid } => {
                if let Some(connection) = self.connections.get_mut(&conn) {
                    if let Some(entry) = connection.queue.iter_mut().find(|e| e.xid == xid && matches!(e.state, EntryState::InFlight)) {
                        let body = match &entry.request {
                            ClientRequest::Write { reply, .. } => ReplyBody::Write { reply: reply.clone(), result: applied.result },
                            ClientRequest::CloseSession => ReplyBody::Empty,
                            // A refused request's result is an error: the reply is a bare header.
                            _ => ReplyBody::Write { reply: WriteReply::Delete, result: applied.result },
                        };
                        entry.state = EntryState::Done(Reply { xid, zxid: txn.zxid, body });
                    }
                }
            }
            Origin::Connect { conn, request, timeout_ms } => self.bind(conn, &request, txn.session, timeout_ms),
            Origin::Server => {}
        }
    }

    fn maybe_snapshot(&mut self) {
        // ZooKeeper snapshots at a point drawn in [snapCount/2 + 1, snapCount] so
        // that servers do not all snapshot at once; the draw here is derived from
        // the server id to stay deterministic.
        let half = self.config.snap_count / 2;
        let threshold = half + 1 + (self.config.server_id.0.wrapping_mul(0x9E37_79B9) % half.max(1));
        if self.txns_since_snapshot >= threshold.min(self.config.snap_count.max(1)) {
            self.txns_since_snapshot = 0;
            self.outputs.push_back(Output::Persist(Persist::Snapshot(self.tree.clone())));
        }
    }

    fn tick(&mut self) {
        for session in self.sessions.expired(self.now_ms) {
            self.sessions.set_closing(session);
            self.propose(WriteOp::CloseSession, session, 0, &[], Origin::Server);
        }
        if self.now_ms >= self.next_container_check_ms {
            self.next_container_check_ms = self.now_ms + self.config.container_check_interval_ms;
            for path in self.proposed_tree.cleanup_candidates(self.now_ms as i64) {
                self.propose(WriteOp::DeleteContainer { path }, SessionId(0), 0, &[], Origin::Server);
            }
        }
    }

    fn send(&mut self, conn: ConnId, reply: Reply) {
        if let Some(c) = self.connections.get_mut(&conn) {
            c.packets_sent += 1;
            c.last_zxid = c.last_zxid.max(reply.zxid);
            self.packets_sent += 1;
            self.outputs.push_back(Output::Reply { conn, reply });
        }
    }

    fn notify(&mut self, conn: ConnId, event_type: EventType, path: String, zxid: Zxid) {
        let Some(c) = self.connections.get_mut(&conn) else { return };
        // A reply of an earlier txn may still be queued behind a pending
        // request (a sync): the event waits behind it, so that what the client
        // hears never goes back in zxid, as ZooKeeper's in-order processing gives.
        if let Some(last_done) = c.queue.iter().rev().find(|e| matches!(e.state, EntryState::Done(_))) {
            let after = last_done.xid;
            c.held_events.push_back((after, event_type, path, zxid));
            return;
        }
        self.emit_notify(conn, event_type, path, zxid);
    }

    fn emit_notify(&mut self, conn: ConnId, event_type: EventType, path: String, zxid: Zxid) {
        let Some(c) = self.connections.get_mut(&conn) else { return };
        c.packets_sent += 1;
        c.last_zxid = c.last_zxid.max(zxid);
        self.packets_sent += 1;
        self.outputs.push_back(Output::Notify { conn, event_type, path, zxid });
    }

    fn close(&mut self, conn: ConnId, reason: &'static str) {
        if let Some(c) = self.connections.get_mut(&conn) {
            // Keep the record until the host reports the disconnect, but stop serving it.
            c.session = None;
            c.queue.clear();
            c.held_events.clear();
            self.outputs.push_back(Output::Close { conn, reason });
        }
    }
}
