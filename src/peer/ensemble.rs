//! The replicated half of `Peer`: roles LOOKING, LEADING, FOLLOWING and
//! OBSERVING, composed from the pure pieces in `election` and `zab`.
//!
//! - LOOKING runs FastLeaderElection; its decision starts a role.
//! - LEADING runs discovery with `EpochTally` (its own accepted epoch, then
//!   current epoch, persisted before they count), syncs each learner with
//!   `choose_sync`/`sync_messages` once a quorum acked the epoch, sends
//!   UPTODATE once a quorum acked NEWLEADER, then broadcasts: PROPOSAL to
//!   followers, COMMIT to followers and INFORM to observers once a quorum
//!   (its own ack being its `Input::Durable`) acked.
//! - FOLLOWING/OBSERVING run `LearnerSync`, apply commits in zxid order as it
//!   releases them, forward client writes to the leader as REQUEST, and answer
//!   their own clients when the commit of a forwarded write is applied here.
//!
//! Leaving a role (a silent leader, a leader without a quorum, a failed sync,
//! an election that cannot finish within initLimit) closes every client
//! connection, drops what is not on disk and rebuilds the tree from the disk
//! model (`disk_base` + `disk_tail`), then looks for a leader again.
//!
//! Decisions to know about:
//! - The leader counts acks in `Peer::proposals` with the `QuorumVerifier`
//!   rather than through `zab::ProposalTracker`: the standalone write path
//!   already kept that queue (and its outstanding limit), and both follow the
//!   same rule (a quorum of voters, the leader's own ack only after its fsync,
//!   commits in zxid order).
//! - Session touches: learners report the sessions their clients touched in
//!   their PINGs (every half tick); the leader touches them. Only the leader
//!   expires sessions. A reconnect on a learner with the right password is
//!   sent to the leader as REVALIDATE and bound only if the leader still
//!   holds the session. Passwords derive from `PeerConfig::password_seed`,
//!   so every member of an ensemble must be given the same seed.
//! - sync(): the leader answers only after a quorum of voters confirmed, in a
//!   SYNCREQUEST/SYNCREPLY round, that it still leads its epoch; the reply
//!   carries its last proposed zxid, and the server the client is on answers
//!   once its tree reached it. A deposed leader can therefore never answer.
//!   Open rounds are bounded by `outstanding_limit`: past it, a local sync's
//!   connection is closed and a learner that asks is dropped (it registers
//!   again), as a server sheds load it cannot queue.
//! - Votes and FOLLOWERINFO report the end of the disk model, which includes
//!   writes issued but not yet reported durable; the host performs writes in
//!   order, and a crash restarts from what the disk really holds.
//! - Forwarded writes: each learner forwards at most `outstanding_limit`
//!   writes at once (its own pump waits), so the leader holds at most that
//!   many proposals per member; a learner that forwards past that bound is
//!   dropped (it registers again, and its clients see their connections lost).

use super::{Origin, Output, Peer, PeerMessage, Persist};
use crate::election::{Election, ElectionConfig, ElectionOutput, ServerState, Vote};
use crate::tree::DataTree;
use crate::txn::Txn;
use crate::zab::{
    choose_sync_for, sync_messages, DiscoveryPhase, EpochTally, LeaderHistory, LearnerConfig, LearnerDisk, LearnerOutput, LearnerRole, LearnerSync,
    QuorumMessage, QuorumVerifier, StateSummary, WriteId,
};
use crate::zxid::{Epoch, ServerId, SessionId, Zxid};
use std::collections::{BTreeMap, BTreeSet};

/// What a peer's disk held when it started.
#[derive(Clone, Debug)]
pub struct RecoveredState {
    /// The newest snapshot (an empty tree if none).
    pub snapshot: DataTree,
    /// The logged transactions after the snapshot, in zxid order.
    pub log: Vec<Txn>,
    /// The newest epoch this server promised to follow.
    pub accepted_epoch: Epoch,
    /// The epoch of the last leader it completed a sync with.
    pub current_epoch: Epoch,
    /// Whether the host cut records that had been durable (a corrupt record in
    /// the middle of the log): this server may have acked txns it no longer
    /// holds, so it must not vote until a leader elected without it synced it.
    pub lost_records: bool,
}

/// A peer's role, as ZooKeeper's `ServerState` names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Electing.
    Looking,
    /// A voter following the leader.
    Following,
    /// The leader.
    Leading,
    /// A non-voter following the leader.
    Observing,
}

pub(super) enum RoleState {
    Looking,
    Leading(Box<LeaderState>),
    Learning(Box<LearnerState>),
}

/// A client's sync on this server.
pub(super) struct SyncWait {
    conn: crate::zxid::ConnId,
    xid: i32,
    path: String,
    /// Once the leader confirmed it still leads: the zxid the local tree must reach before answering.
    zxid: Option<Zxid>,
}

/// Who asked for a leadership confirmation round.
#[derive(Copy, Clone, Debug)]
enum SyncFor {
    /// A client of the leader itself (its `syncs` id).
    Local(u64),
    /// A learner's client (the learner and its sync id).
    Learner(ServerId, u64),
}

struct SyncRound {
    zxid: Zxid,
    acks: BTreeSet<ServerId>,
    requester: SyncFor,
}

pub(super) struct LeaderState {
    /// Open leadership confirmation rounds, for sync.
    sync_rounds: BTreeMap<u64, SyncRound>,
    tally: EpochTally,
    /// Learners that registered, with what they said.
    learners: BTreeMap<ServerId, LearnerHandle>,
    /// The write of my new accepted epoch, once issued.
    accepted_write: Option<WriteId>,
    accepted_durable: bool,
    /// The write of my new current epoch, once issued.
    current_write: Option<WriteId>,
    current_durable: bool,
    established: Option<Epoch>,
    started_ms: u64,
    last_heard_ms: BTreeMap<ServerId, u64>,
    next_heartbeat_ms: u64,
}

#[derive(Clone, Debug)]
struct LearnerHandle {
    observer: bool,
    /// The last zxid of its ACKEPOCH.
    /// The learner's last logged zxid and newest snapshot, from its ACKEPOCH.
    ack_epoch_zxid: Option<(Zxid, Zxid)>,
    /// The sync was sent: it now gets proposals and commits (or informs).
    synced: bool,
    acked_new_leader: bool,
}

pub(super) struct LearnerState {
    leader: ServerId,
    observer: bool,
    sync: LearnerSync,
    started_ms: u64,
    last_heard_ms: u64,
    next_ping_ms: u64,
}

impl Peer {
    /// The current role.
    pub fn role(&self) -> Role {
        match &self.role {
            RoleState::Looking => Role::Looking,
            RoleState::Leading(_) => Role::Leading,
            RoleState::Learning(l) if l.observer => Role::Observing,
            RoleState::Learning(_) => Role::Following,
        }
    }

    /// The leader this peer follows or is, once known.
    pub fn leader(&self) -> Option<ServerId> {
        match &self.role {
            RoleState::Looking => None,
            RoleState::Leading(_) => Some(self.config.server_id),
            RoleState::Learning(l) => Some(l.leader),
        }
    }

    /// The epoch this peer serves in, once established (leader) or up to date (learner).
    pub fn serving_epoch(&self) -> Option<Epoch> {
        match &self.role {
            RoleState::Leading(l) => l.established,
            RoleState::Learning(l) if l.sync.is_up_to_date() => l.sync.new_epoch(),
            _ => None,
        }
    }

    /// The election's state and current vote (`None` when standalone), for monitoring and tests.
    pub fn election_state(&self) -> Option<(ServerState, Vote, u64)> {
        self.election.as_ref().map(|e| (e.state(), e.current_vote(), e.election_round()))
    }

    /// The durable accepted epoch.
    pub fn accepted_epoch(&self) -> Epoch {
        self.accepted_epoch
    }

    /// The durable current epoch.
    pub fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }

    /// The committed transactions kept in memory (for DIFFs), oldest first.
    pub fn committed_history(&self) -> impl Iterator<Item = &Txn> {
        self.history.iter()
    }

    pub(super) fn is_serving(&self) -> bool {
        self.serving_epoch().is_some()
    }

    pub(super) fn is_active_leader(&self) -> bool {
        matches!(&self.role, RoleState::Leading(l) if l.established.is_some())
    }

    /// Called once by the constructors.
    pub(super) fn start(&mut self, now_ms: u64) {
        let me = self.config.server_id;
        if self.config.is_standalone() {
            self.quorum = QuorumVerifier::new([me].into(), BTreeSet::new()).expect("one voter");
            let epoch = self.last_proposed.epoch;
            // A quorum of one: its epochs are its own and nobody needs a heartbeat.
            let mut leader = self.new_leader_state(now_ms);
            leader.accepted_durable = true;
            leader.current_durable = true;
            leader.established = Some(epoch);
            leader.next_heartbeat_ms = u64::MAX;
            self.role = RoleState::Leading(Box::new(leader));
            return;
        }
        self.quorum = QuorumVerifier::new(self.config.voters.clone(), self.config.observers.clone()).expect("a valid membership");
        assert!(self.quorum.is_member(me), "server {} is not a member of its ensemble", me.0);
        let mut config = ElectionConfig::new(me, self.config.voters.clone(), self.config.observers.clone());
        config.max_notification_interval_ms = self.config.max_notification_interval_ms.max(config.finalize_wait_ms);
        config.abstain = self.lost_records && self.config.voters.contains(&me);
        let mut election = Election::new(config, self.disk_last_zxid(), self.current_epoch);
        election.start(now_ms);
        self.election = Some(election);
        self.drain_election();
    }

    fn summary(&self) -> StateSummary {
        StateSummary { current_epoch: self.current_epoch, last_zxid: self.disk_last_zxid() }
    }

    /// The last zxid the disk will hold once every issued write lands.
    pub(super) fn disk_last_zxid(&self) -> Zxid {
        self.disk_tail.back().map_or(self.disk_base.last_zxid(), |t| t.zxid)
    }

    fn send_to(&mut self, to: ServerId, msg: QuorumMessage) {
        self.outputs.push_back(Output::Send { to, msg: PeerMessage::Zab(msg) });
    }

    fn issue_write(&mut self, epoch: Epoch, persist: crate::zab::Persist) -> WriteId {
        let write = WriteId { epoch, seq: self.next_write_seq };
        self.next_write_seq += 1;
        let persist = self.sabotaged(persist);
        self.outputs.push_back(Output::Persist(Persist::Zab { write, persist }));
        write
    }

    /// Test-only: with `forget_epoch`, an epoch write becomes an empty one that the engine still waits for.
    fn sabotaged(&self, persist: crate::zab::Persist) -> crate::zab::Persist {
        match persist {
            crate::zab::Persist::AcceptedEpoch(_) | crate::zab::Persist::CurrentEpoch(_) if self.config.sabotage.forget_epoch => {
                crate::zab::Persist::Txns(Vec::new())
            }
            other => other,
        }
    }

    pub(super) fn drain_election(&mut self) {
        loop {
            let Some(election) = self.election.as_mut() else { return };
            let Some(out) = election.poll_output() else { return };
            match out {
                ElectionOutput::Send { to, notification } => self.outputs.push_back(Output::Send { to, msg: PeerMessage::Election(notification) }),
                ElectionOutput::Decided { leader, role, .. } => {
                    if !matches!(self.role, RoleState::Looking) {
                        continue;
                    }
                    match role {
                        ServerState::Leading => self.become_leader(),
                        ServerState::Following => self.become_learner(leader, false),
                        ServerState::Observing => self.become_learner(leader, true),
                        ServerState::Looking => unreachable!("a decision is never LOOKING"),
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ role changes

    /// A leader at the start of discovery: nothing written, no learner, no epoch yet.
    fn new_leader_state(&self, now_ms: u64) -> LeaderState {
        let tally = EpochTally::new(self.quorum.clone(), self.config.server_id, self.accepted_epoch, self.summary());
        LeaderState {
            sync_rounds: BTreeMap::new(),
            tally,
            learners: BTreeMap::new(),
            accepted_write: None,
            accepted_durable: false,
            current_write: None,
            current_durable: false,
            established: None,
            started_ms: now_ms,
            last_heard_ms: BTreeMap::new(),
            next_heartbeat_ms: now_ms + self.half_tick(),
        }
    }

    fn become_leader(&mut self) {
        let leader = self.new_leader_state(self.now_ms);
        self.role = RoleState::Leading(Box::new(leader));
        for (from, msg) in std::mem::take(&mut self.pending_infos) {
            self.leader_message(from, msg);
        }
        self.leader_progress();
    }

    fn become_learner(&mut self, leader: ServerId, observer: bool) {
        self.pending_infos.clear();
        let disk = LearnerDisk {
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_zxid: self.disk_last_zxid(),
            snapshot_zxid: self.snapshot_zxid.min(self.disk_last_zxid()),
        };
        let role = if observer { LearnerRole::Observer } else { LearnerRole::Follower };
        let mut learner_config = LearnerConfig::new(role);
        learner_config.ack_before_durable = self.config.sabotage.ack_before_durable;
        let sync = LearnerSync::new(learner_config, disk, self.next_write_seq);
        self.role = RoleState::Learning(Box::new(LearnerState {
            leader,
            observer,
            sync,
            started_ms: self.now_ms,
            last_heard_ms: self.now_ms,
            next_ping_ms: self.now_ms + self.half_tick(),
        }));
        self.drain_learner();
    }

    /// Back to LOOKING: drop every connection and what is not on disk, rebuild the tree from the disk model, elect again.
    pub(super) fn become_looking(&mut self, _why: &'static str) {
        if self.config.is_standalone() {
            return;
        }
        if let RoleState::Learning(l) = &self.role {
            self.next_write_seq = self.next_write_seq.max(l.sync.next_write_seq());
        }
        self.role = RoleState::Looking;
        let conns: Vec<_> = self.connections.keys().copied().collect();
        for conn in conns {
            self.close(conn, "server lost its leader");
            self.watches.remove_conn(conn);
        }
        self.forwarded.clear();
        self.syncs.clear();
        self.revalidating.clear();
        self.touched.clear();
        self.proposals.clear();
        self.rebuild_tree(None);
        let (last, epoch, now) = (self.disk_last_zxid(), self.current_epoch, self.now_ms);
        if let Some(election) = self.election.as_mut() {
            election.restart(now, last, epoch);
        }
    }

    /// The in-memory tree becomes the disk model up to `upto` (everything if `None`).
    fn rebuild_tree(&mut self, upto: Option<Zxid>) {
        let base_zxid = self.disk_base.last_zxid();
        if let Some(upto) = upto {
            assert!(upto >= base_zxid, "rebuild to {upto} below the disk base {base_zxid}");
        }
        let mut tree = self.disk_base.clone();
        // The history keeps what is at or below the base (it must end there), then takes the tail.
        while self.history.back().is_some_and(|t| t.zxid > base_zxid) {
            self.history.pop_back();
        }
        if self.history.back().map_or(self.history_base, |t| t.zxid) != base_zxid {
            self.history.clear();
            self.history_base = base_zxid;
        }
        for t in self.disk_tail.iter().filter(|t| upto.is_none_or(|u| t.zxid <= u)) {
            tree.apply(t);
            self.history.push_back(t.clone());
        }
        self.tree = tree;
        self.proposed_tree = self.tree.clone();
        self.trim_history();
        self.reconcile_sessions();
    }

    /// Makes the session table match the sessions in the tree (after a rebuild or a SNAP).
    fn reconcile_sessions(&mut self) {
        let in_tree: BTreeMap<SessionId, i32> = self.tree.sessions().iter().map(|(s, t)| (*s, *t)).collect();
        let tracked: Vec<SessionId> = self.sessions.iter().map(|(s, _)| *s).collect();
        for s in tracked {
            if !in_tree.contains_key(&s) {
                self.sessions.remove(s);
            }
        }
        for (s, timeout_ms) in in_tree {
            if self.sessions.get(s).is_none() {
                self.sessions.add(s, timeout_ms, self.now_ms);
            }
        }
    }

    /// Drops the oldest committed txns beyond the configured DIFF history.
    pub(super) fn trim_history(&mut self) {
        while self.history.len() > self.config.diff_history_max.max(1) {
            let t = self.history.pop_front().expect("non-empty");
            self.history_base = t.zxid;
        }
    }

    /// Book-keeping after `txn` was applied to the committed tree.
    pub(super) fn record_committed(&mut self, txn: &Txn) {
        self.history.push_back(txn.clone());
        self.trim_history();
        // A learner still synchronizing applies the new leader's initial history
        // before that leader is established: should the epoch never get a quorum,
        // a later leader may TRUNC those txns away, so they stay in the log tail
        // until UPTODATE says a quorum holds them.
        let settled = match &self.role {
            RoleState::Learning(l) => l.sync.is_up_to_date(),
            _ => true,
        };
        if settled {
            self.settle_disk_base();
        }
        if !matches!(self.role, RoleState::Leading(_)) {
            self.proposed_tree = self.tree.clone();
        }
    }

    /// The committed tree becomes the disk model's base: nothing at or below it can be truncated any more.
    fn settle_disk_base(&mut self) {
        let zxid = self.tree.last_zxid();
        self.disk_base = self.tree.clone();
        while self.disk_tail.front().is_some_and(|t| t.zxid <= zxid) {
            self.disk_tail.pop_front();
        }
    }

    fn half_tick(&self) -> u64 {
        (self.config.tick_time_ms / 2).max(1)
    }

    // ------------------------------------------------------------ inputs

    pub(super) fn message(&mut self, from: ServerId, msg: PeerMessage) {
        if !self.quorum.is_member(from) || from == self.config.server_id {
            return;
        }
        match msg {
            PeerMessage::Election(n) => {
                let now = self.now_ms;
                if let Some(e) = self.election.as_mut() {
                    e.handle(now, from, n);
                }
            }
            PeerMessage::Zab(msg) => match &self.role {
                RoleState::Looking => {
                    if matches!(msg, QuorumMessage::FollowerInfo { .. } | QuorumMessage::ObserverInfo { .. }) {
                        self.pending_infos.insert(from, msg);
                    }
                }
                RoleState::Leading(_) => self.leader_message(from, msg),
                RoleState::Learning(l) => {
                    if l.leader == from {
                        self.learner_message(msg);
                    }
                }
            },
        }
    }

    /// A broken link may have lost messages, which ZAB cannot repair in place:
    /// a learner that lost its leader elects again; a leader forgets the
    /// learner, which must register and sync again before it counts.
    pub(super) fn peer_lost(&mut self, peer: ServerId) {
        match &mut self.role {
            RoleState::Learning(l) if l.leader == peer => self.become_looking("lost the connection to the leader"),
            RoleState::Leading(l) => {
                l.learners.remove(&peer);
                l.last_heard_ms.remove(&peer);
            }
            _ => {}
        }
    }

    pub(super) fn write_durable(&mut self, write: WriteId) {
        match &mut self.role {
            RoleState::Learning(l) => {
                l.sync.durable(write);
                self.drain_learner();
            }
            RoleState::Leading(l) => {
                if l.accepted_write.is_some_and(|w| w.seq <= write.seq) && !l.accepted_durable {
                    l.accepted_durable = true;
                    self.accepted_epoch = l.accepted_write.expect("issued").epoch;
                }
                if l.current_write.is_some_and(|w| w.seq <= write.seq) && !l.current_durable {
                    l.current_durable = true;
                    self.current_epoch = l.current_write.expect("issued").epoch;
                }
                self.leader_progress();
            }
            RoleState::Looking => {}
        }
    }

    pub(super) fn ensemble_tick(&mut self) {
        let now = self.now_ms;
        if let Some(e) = self.election.as_mut() {
            e.tick(now);
        }
        let tick = self.config.tick_time_ms;
        let init_ms = self.config.init_limit_ticks * tick;
        let sync_ms = self.config.sync_limit_ticks * tick;
        match &mut self.role {
            RoleState::Looking => {}
            RoleState::Leading(l) => {
                if l.next_heartbeat_ms > now {
                    return;
                }
                l.next_heartbeat_ms = now + (tick / 2).max(1);
                match l.established {
                    None if now >= l.started_ms + init_ms => self.become_looking("discovery did not finish within initLimit"),
                    Some(_) if now >= l.started_ms + sync_ms => {
                        let mut heard: BTreeSet<ServerId> =
                            l.last_heard_ms.iter().filter(|(_, at)| **at + sync_ms > now).map(|(id, _)| *id).collect();
                        heard.insert(self.config.server_id);
                        if !self.quorum.is_quorum(&heard) {
                            self.become_looking("no quorum heard within syncLimit");
                        }
                    }
                    _ => {}
                }
            }
            RoleState::Learning(l) => {
                if now >= l.last_heard_ms + sync_ms || (!l.sync.is_up_to_date() && now >= l.started_ms + init_ms) {
                    self.become_looking("the leader fell silent");
                    return;
                }
                if l.next_ping_ms <= now {
                    l.next_ping_ms = now + (tick / 2).max(1);
                    let leader = l.leader;
                    let touched = std::mem::take(&mut self.touched).into_iter().collect();
                    self.send_to(leader, QuorumMessage::Ping { touched });
                }
            }
        }
    }

    pub(super) fn ensemble_timeout(&self) -> Option<u64> {
        let election = self.election.as_ref().and_then(|e| e.poll_timeout());
        let role = match &self.role {
            RoleState::Looking => None,
            RoleState::Leading(l) => Some(l.next_heartbeat_ms),
            RoleState::Learning(l) => Some(l.next_ping_ms),
        };
        match (election, role) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn note_touch(&mut self, session: SessionId) {
        if matches!(self.role, RoleState::Learning(_)) {
            if let Some(s) = self.sessions.get(session) {
                self.touched.insert(session, s.timeout_ms);
            }
        }
    }

    /// A write from a client here: proposed if I lead, forwarded to the leader otherwise.
    pub(super) fn submit(&mut self, op: crate::request::WriteOp, session: SessionId, cxid: i32, auth: &[crate::acl::Id], origin: Origin) {
        match &self.role {
            RoleState::Learning(l) => {
                let leader = l.leader;
                self.forwarded.insert((session, cxid), origin);
                self.send_to(leader, QuorumMessage::Request { session, cxid, op, auth: auth.to_vec() });
            }
            _ => self.propose(op, session, cxid, auth, origin),
        }
    }

    // ------------------------------------------------------------ leader

    fn leader_message(&mut self, from: ServerId, msg: QuorumMessage) {
        let now = self.now_ms;
        let RoleState::Leading(l) = &mut self.role else { return };
        let registering = matches!(msg, QuorumMessage::FollowerInfo { .. } | QuorumMessage::ObserverInfo { .. });
        if !registering && !l.learners.contains_key(&from) {
            // A learner of an earlier leadership (mine before I restarted or
            // stepped down, or another's): no answer, not even to its pings, so
            // that it notices within syncLimit and registers again; and it does
            // not count toward the quorum I must hear.
            return;
        }
        l.last_heard_ms.insert(from, now);
        match msg {
            QuorumMessage::FollowerInfo { accepted_epoch, .. } | QuorumMessage::ObserverInfo { accepted_epoch, .. } => {
                let observer = self.quorum.is_observer(from);
                if l.tally.new_epoch().is_some_and(|e| accepted_epoch > e) {
                    // It promised a later epoch (to a leader that never got
                    // going) and can never follow mine; ZooKeeper leaves it out
                    // until the next election. Stepping down starts that
                    // election now, and its epoch will be past that promise.
                    self.become_looking("a learner accepted a later epoch than mine");
                    return;
                }
                l.learners.insert(from, LearnerHandle { observer, ack_epoch_zxid: None, synced: false, acked_new_leader: false });
                let _ = l.tally.follower_info(from, accepted_epoch);
                // The epoch goes out once my own accepted epoch is being written (see leader_progress).
                if l.accepted_write.is_some() {
                    if let Some(new_epoch) = l.tally.new_epoch() {
                        self.send_to(from, QuorumMessage::LeaderInfo { new_epoch });
                    }
                }
                self.leader_progress();
            }
            QuorumMessage::AckEpoch { current_epoch, last_zxid, snapshot_zxid } => {
                let Some(h) = l.learners.get_mut(&from) else { return };
                h.ack_epoch_zxid = Some((last_zxid, snapshot_zxid));
                if let Ok(DiscoveryPhase::GaveUp(_)) = l.tally.ack_epoch(from, StateSummary { current_epoch, last_zxid }) {
                    self.become_looking("a follower is ahead of me");
                    return;
                }
                self.leader_progress();
            }
            QuorumMessage::Ack { zxid } if zxid.counter == 0 => {
                let Some(h) = l.learners.get_mut(&from) else { return };
                if !h.synced {
                    return;
                }
                h.acked_new_leader = true;
                let _ = l.tally.new_leader_ack(from, zxid);
                if l.established.is_some() {
                    self.send_to(from, QuorumMessage::UpToDate);
                }
                self.leader_progress();
            }
            QuorumMessage::Ack { zxid } => {
                if l.established.is_none() || !self.quorum.is_voter(from) {
                    return;
                }
                if let Some(p) = self.proposals.iter_mut().find(|p| p.txn.zxid == zxid) {
                    p.acks.insert(from);
                }
                self.commit_ready();
            }
            QuorumMessage::Ping { touched } => {
                for (session, _) in touched {
                    self.sessions.touch(session, now);
                }
                self.send_to(from, QuorumMessage::PingReply);
            }
            QuorumMessage::Revalidate { session, .. } => {
                let valid = self.sessions.get(session).is_some_and(|s| !s.closing);
                if valid {
                    self.sessions.touch(session, now);
                }
                self.send_to(from, QuorumMessage::RevalidateReply { session, valid });
            }
            QuorumMessage::SyncRequest { epoch, id } if l.established == Some(epoch) => {
                if l.sync_rounds.len() >= self.config.outstanding_limit {
                    self.drop_learner(from, "too many syncs in flight");
                    return;
                }
                self.open_sync_round(SyncFor::Learner(from, id));
            }
            QuorumMessage::SyncReply { epoch, id, .. } if l.established == Some(epoch) && self.quorum.is_voter(from) => {
                if let Some(round) = l.sync_rounds.get_mut(&id) {
                    round.acks.insert(from);
                }
                self.close_sync_round(id);
            }
            QuorumMessage::Request { session, cxid, op, auth } if l.established.is_some() => {
                let members = l.learners.len() + 1;
                if self.proposals.len() >= self.config.outstanding_limit.saturating_mul(members) {
                    self.drop_learner(from, "too many forwarded writes in flight");
                    return;
                }
                if matches!(op, crate::request::WriteOp::CloseSession) {
                    self.sessions.set_closing(session);
                }
                self.propose(op, session, cxid, &auth, Origin::Server);
            }
            _ => {}
        }
    }

    /// Stops serving a learner that asked for more than the bounds allow: it
    /// gets no more answers, notices within syncLimit, and registers again.
    fn drop_learner(&mut self, learner: ServerId, _why: &'static str) {
        if let RoleState::Leading(l) = &mut self.role {
            l.learners.remove(&learner);
            l.last_heard_ms.remove(&learner);
        }
    }

    /// Moves discovery on as far as the tally and my own durable writes allow.
    fn leader_progress(&mut self) {
        loop {
            let RoleState::Leading(l) = &mut self.role else { return };
            match l.tally.phase() {
                DiscoveryPhase::CollectingEpochs => return,
                DiscoveryPhase::GaveUp(_) => {
                    self.become_looking("a follower is ahead of me");
                    return;
                }
                DiscoveryPhase::CollectingAckEpochs { new_epoch } => {
                    if l.accepted_write.is_none() {
                        let write = self.issue_write(new_epoch, crate::zab::Persist::AcceptedEpoch(new_epoch));
                        let RoleState::Leading(l) = &mut self.role else { unreachable!() };
                        l.accepted_write = Some(write);
                        let to: Vec<ServerId> = l.learners.keys().copied().collect();
                        for id in to {
                            self.send_to(id, QuorumMessage::LeaderInfo { new_epoch });
                        }
                        continue;
                    }
                    if l.accepted_durable {
                        let mine = StateSummary { current_epoch: self.current_epoch, last_zxid: self.disk_last_zxid() };
                        let RoleState::Leading(l) = &mut self.role else { unreachable!() };
                        if l.tally.ack_epoch(self.config.server_id, mine).is_ok()
                            && l.tally.phase() != (DiscoveryPhase::CollectingAckEpochs { new_epoch })
                        {
                            continue;
                        }
                    }
                    return;
                }
                DiscoveryPhase::CollectingNewLeaderAcks { new_epoch } | DiscoveryPhase::Established { new_epoch } => {
                    if l.current_write.is_none() {
                        let write = self.issue_write(new_epoch, crate::zab::Persist::CurrentEpoch(new_epoch));
                        let RoleState::Leading(l) = &mut self.role else { unreachable!() };
                        l.current_write = Some(write);
                    }
                    self.sync_learners(new_epoch);
                    let me = self.config.server_id;
                    let RoleState::Leading(l) = &mut self.role else { return };
                    if l.current_durable && matches!(l.tally.phase(), DiscoveryPhase::CollectingNewLeaderAcks { .. }) {
                        let _ = l.tally.new_leader_ack(me, Zxid { epoch: new_epoch, counter: 0 });
                    }
                    if matches!(l.tally.phase(), DiscoveryPhase::Established { .. }) && l.established.is_none() {
                        self.establish(new_epoch);
                    }
                    return;
                }
            }
        }
    }

    /// Sends the sync to every learner that acked the epoch and has not had one.
    fn sync_learners(&mut self, new_epoch: Epoch) {
        let RoleState::Leading(l) = &self.role else { return };
        let due: Vec<(ServerId, (Zxid, Zxid), bool)> =
            l.learners.iter().filter(|(_, h)| !h.synced).filter_map(|(id, h)| h.ack_epoch_zxid.map(|z| (*id, z, h.observer))).collect();
        if due.is_empty() {
            return;
        }
        let txns: Vec<Txn> = self.history.iter().cloned().collect();
        let history = LeaderHistory::new(self.history_base, &txns);
        let outstanding: Vec<Txn> = self.proposals.iter().map(|p| p.txn.clone()).collect();
        for (id, (last_zxid, snapshot_zxid), observer) in due {
            let plan = choose_sync_for(&history, last_zxid, snapshot_zxid, self.config.diff_history_max);
            let outstanding: &[Txn] = if observer { &[] } else { &outstanding };
            for msg in sync_messages(&plan, &history, &self.tree, outstanding, new_epoch) {
                self.send_to(id, msg);
            }
            if let RoleState::Leading(l) = &mut self.role {
                l.learners.get_mut(&id).expect("present").synced = true;
            }
        }
    }

    fn establish(&mut self, new_epoch: Epoch) {
        let me = self.config.server_id;
        let RoleState::Leading(l) = &mut self.role else { return };
        l.established = Some(new_epoch);
        l.started_ms = self.now_ms;
        let up_to_date: Vec<ServerId> = l.learners.iter().filter(|(_, h)| h.acked_new_leader).map(|(id, _)| *id).collect();
        self.last_proposed = Zxid { epoch: new_epoch, counter: 0 };
        self.proposed_tree = self.tree.clone();
        // Sessions get a full timeout under the new leader, as ZooKeeper gives them.
        let sessions: Vec<SessionId> = self.sessions.iter().map(|(s, _)| *s).collect();
        for s in sessions {
            self.sessions.touch(s, self.now_ms);
        }
        for id in up_to_date {
            self.send_to(id, QuorumMessage::UpToDate);
        }
        let zxid = self.disk_last_zxid();
        if let Some(e) = self.election.as_mut() {
            e.set_decided(Vote::new(me, zxid, new_epoch), ServerState::Leading);
        }
    }

    /// PROPOSAL to every synced follower.
    pub(super) fn broadcast_proposal(&mut self, txn: &Txn) {
        let RoleState::Leading(l) = &self.role else { return };
        let to: Vec<ServerId> = l.learners.iter().filter(|(_, h)| h.synced && !h.observer).map(|(id, _)| *id).collect();
        for id in to {
            self.send_to(id, QuorumMessage::Proposal { txn: txn.clone() });
        }
    }

    /// COMMIT to every synced follower, INFORM to every synced observer.
    pub(super) fn broadcast_commit(&mut self, txn: &Txn) {
        let RoleState::Leading(l) = &self.role else { return };
        let to: Vec<(ServerId, bool)> = l.learners.iter().filter(|(_, h)| h.synced).map(|(id, h)| (*id, h.observer)).collect();
        for (id, observer) in to {
            let msg = if observer { QuorumMessage::Inform { txn: txn.clone() } } else { QuorumMessage::Commit { zxid: txn.zxid } };
            self.send_to(id, msg);
        }
    }

    // ------------------------------------------------------------ learner

    fn learner_message(&mut self, msg: QuorumMessage) {
        let now = self.now_ms;
        let RoleState::Learning(l) = &mut self.role else { return };
        l.last_heard_ms = now;
        let rest = l.sync.handle(msg);
        let (leader, epoch) = (l.leader, l.sync.new_epoch().filter(|_| l.sync.is_up_to_date()));
        self.drain_learner();
        match rest {
            // The leader asks whether I still follow it in this epoch.
            Some(QuorumMessage::SyncRequest { epoch: asked, id }) if Some(asked) == epoch => {
                let zxid = self.tree.last_zxid();
                self.send_to(leader, QuorumMessage::SyncReply { epoch: asked, id, zxid });
            }
            Some(QuorumMessage::RevalidateReply { session, valid }) => self.revalidated(session, valid),
            // The leader confirmed my client's sync: answer once the tree reaches `zxid`.
            Some(QuorumMessage::SyncReply { epoch: answered, id, zxid }) if Some(answered) == epoch => {
                if let Some(wait) = self.syncs.get_mut(&id) {
                    wait.zxid = Some(zxid);
                }
                self.finish_syncs();
            }
            _ => {}
        }
    }

    /// Executes what the `LearnerSync` asks for, in order.
    fn drain_learner(&mut self) {
        loop {
            let RoleState::Learning(l) = &mut self.role else { return };
            let leader = l.leader;
            let Some(out) = l.sync.poll_output() else {
                let failed = l.sync.failure().is_some();
                self.accepted_epoch = l.sync.accepted_epoch();
                self.current_epoch = l.sync.current_epoch();
                self.next_write_seq = self.next_write_seq.max(l.sync.next_write_seq());
                if failed {
                    self.become_looking("the sync with the leader failed");
                }
                return;
            };
            match out {
                LearnerOutput::Send(msg) => self.send_to(leader, msg),
                LearnerOutput::Persist { write, persist } => {
                    self.next_write_seq = self.next_write_seq.max(write.seq + 1);
                    match &persist {
                        crate::zab::Persist::Truncate { zxid } => self.disk_tail.retain(|t| t.zxid <= *zxid),
                        crate::zab::Persist::Snapshot(tree) => {
                            self.disk_base = tree.clone();
                            self.disk_tail.clear();
                            self.snapshot_zxid = tree.last_zxid();
                        }
                        crate::zab::Persist::Txns(txns) => self.disk_tail.extend(txns.iter().cloned()),
                        crate::zab::Persist::AcceptedEpoch(_) | crate::zab::Persist::CurrentEpoch(_) => {}
                    }
                    let persist = self.sabotaged(persist);
                    self.outputs.push_back(Output::Persist(Persist::Zab { write, persist }));
                }
                LearnerOutput::RebuildTree { zxid } => {
                    if zxid < self.disk_base.last_zxid() {
                        self.become_looking("TRUNC below what this server applied");
                        return;
                    }
                    self.rebuild_tree(Some(zxid));
                }
                LearnerOutput::LoadTree(tree) => {
                    self.history.clear();
                    self.history_base = tree.last_zxid();
                    self.disk_base = tree.clone();
                    self.disk_tail.retain(|t| t.zxid > self.history_base);
                    self.tree = tree;
                    self.proposed_tree = self.tree.clone();
                    self.reconcile_sessions();
                }
                LearnerOutput::Apply(txn) => {
                    let origin = self.forwarded.remove(&(txn.session, txn.cxid)).unwrap_or(Origin::Server);
                    self.commit(txn, origin);
                    self.finish_syncs();
                    let conns: Vec<_> = self.connections.keys().copied().collect();
                    for conn in conns {
                        self.pump(conn);
                    }
                }
                LearnerOutput::UpToDate => {
                    // The leader is established: the history synced so far is committed for good.
                    self.settle_disk_base();
                    if self.lost_records {
                        // A leader elected without my vote gave me its whole history, durably: my log is whole again.
                        self.lost_records = false;
                        if let Some(e) = self.election.as_mut() {
                            e.stop_abstaining();
                        }
                        self.outputs.push_back(Output::Persist(Persist::RecordsRestored));
                    }
                    let zxid = self.disk_last_zxid();
                    let RoleState::Learning(l) = &mut self.role else { return };
                    let state = if l.observer { ServerState::Observing } else { ServerState::Following };
                    if let (Some(epoch), Some(e)) = (l.sync.new_epoch(), self.election.as_mut()) {
                        e.set_decided(Vote::new(leader, zxid, epoch), state);
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ session moves

    /// On a learner, sends a reconnect's session to the leader for revalidation
    /// (ZooKeeper's REVALIDATE) and returns true; elsewhere returns false.
    pub(super) fn revalidate(&mut self, conn: crate::zxid::ConnId, request: &crate::proto::records::ConnectRequest, timeout_ms: i32) -> bool {
        let RoleState::Learning(l) = &self.role else { return false };
        let leader = l.leader;
        let session = request.session_id;
        self.revalidating.insert(conn, (request.clone(), timeout_ms));
        self.send_to(leader, QuorumMessage::Revalidate { session, timeout_ms });
        true
    }

    /// The leader's answer: bind every connection waiting on `session`, or refuse it.
    fn revalidated(&mut self, session: SessionId, valid: bool) {
        let waiting: Vec<crate::zxid::ConnId> = self.revalidating.iter().filter(|(_, (r, _))| r.session_id == session).map(|(c, _)| *c).collect();
        for conn in waiting {
            let (request, timeout_ms) = self.revalidating.remove(&conn).expect("present");
            if self.connections.get(&conn).is_none_or(|c| c.session.is_some()) {
                continue;
            }
            if valid {
                // The leader knows the session; a lagging learner may not have applied its creation yet.
                if self.sessions.get(session).is_none() {
                    self.sessions.add(session, timeout_ms, self.now_ms);
                }
                self.bind(conn, &request, session, timeout_ms);
                self.note_touch(session);
            } else {
                let response = crate::proto::records::ConnectResponse::refusal(&request);
                self.outputs.push_back(Output::Connected { conn, response });
                self.close(conn, "session expired");
            }
        }
    }

    // ------------------------------------------------------------ sync

    /// A client's sync: the leader confirms with a quorum round that it still
    /// leads (so a deposed leader cannot answer), and the reply waits until
    /// this server applied everything the leader had proposed by then.
    pub(super) fn start_sync(&mut self, conn: crate::zxid::ConnId, xid: i32, path: String) {
        let id = self.next_sync_id;
        self.next_sync_id += 1;
        self.syncs.insert(id, SyncWait { conn, xid, path, zxid: None });
        match &self.role {
            RoleState::Learning(l) => {
                if let Some(epoch) = l.sync.new_epoch() {
                    let leader = l.leader;
                    self.send_to(leader, QuorumMessage::SyncRequest { epoch, id });
                }
            }
            RoleState::Leading(l) if l.sync_rounds.len() >= self.config.outstanding_limit => {
                self.syncs.remove(&id);
                self.close(conn, "too many syncs in flight");
            }
            RoleState::Leading(_) => self.open_sync_round(SyncFor::Local(id)),
            RoleState::Looking => {}
        }
    }

    fn open_sync_round(&mut self, requester: SyncFor) {
        let id = self.next_sync_id;
        self.next_sync_id += 1;
        let me = self.config.server_id;
        let zxid = if self.config.sabotage.sync_without_quorum {
            // Sabotage: answer from what is applied here, at once.
            self.tree.last_zxid()
        } else {
            self.last_proposed.max(self.tree.last_zxid())
        };
        let RoleState::Leading(l) = &mut self.role else { return };
        let Some(epoch) = l.established else { return };
        let mut acks: BTreeSet<ServerId> = [me].into();
        if self.config.sabotage.sync_without_quorum {
            acks.extend(self.config.voters.iter().copied());
        }
        l.sync_rounds.insert(id, SyncRound { zxid, acks, requester });
        let voters: Vec<ServerId> = l.learners.iter().filter(|(_, h)| h.synced && !h.observer).map(|(id, _)| *id).collect();
        for to in voters {
            self.send_to(to, QuorumMessage::SyncRequest { epoch, id });
        }
        self.close_sync_round(id);
    }

    fn close_sync_round(&mut self, id: u64) {
        let RoleState::Leading(l) = &mut self.role else { return };
        let Some(epoch) = l.established else { return };
        if !l.sync_rounds.get(&id).is_some_and(|r| self.quorum.is_quorum(&r.acks)) {
            return;
        }
        let round = l.sync_rounds.remove(&id).expect("present");
        match round.requester {
            SyncFor::Local(sync) => {
                if let Some(wait) = self.syncs.get_mut(&sync) {
                    wait.zxid = Some(round.zxid);
                }
                self.finish_syncs();
            }
            SyncFor::Learner(to, their_id) => self.send_to(to, QuorumMessage::SyncReply { epoch, id: their_id, zxid: round.zxid }),
        }
    }

    /// Answers the syncs whose zxid the tree has reached.
    pub(super) fn finish_syncs(&mut self) {
        let last = self.tree.last_zxid();
        let ready: Vec<u64> = self.syncs.iter().filter(|(_, w)| w.zxid.is_some_and(|z| z <= last)).map(|(id, _)| *id).collect();
        for id in ready {
            let wait = self.syncs.remove(&id).expect("present");
            if let Some(connection) = self.connections.get_mut(&wait.conn) {
                // The header names the point the sync reached, not what was applied since:
                // a later write of this connection, still queued, may have a smaller zxid.
                let zxid = wait.zxid.unwrap_or(last).max(connection.last_zxid);
                if let Some(entry) = connection.queue.iter_mut().find(|e| e.xid == wait.xid && matches!(e.state, super::EntryState::InFlight)) {
                    entry.state = super::EntryState::Done(super::Reply { xid: wait.xid, zxid, body: super::ReplyBody::Sync(wait.path) });
                }
            }
            self.pump(wait.conn);
        }
    }

    // ------------------------------------------------------------ invariants

    pub(super) fn check_ensemble_invariants(&self) {
        // A learner's SNAP moves the disk model at once and the tree only once it is durable.
        if !matches!(self.role, RoleState::Learning(_)) {
            assert!(self.disk_base.last_zxid() <= self.tree.last_zxid(), "disk base beyond the tree");
        }
        let mut last = self.disk_base.last_zxid();
        for t in &self.disk_tail {
            assert!(t.zxid > last, "disk tail out of order: {} after {}", t.zxid, last);
            last = t.zxid;
        }
        let mut last = self.history_base;
        for t in &self.history {
            assert!(t.zxid > last, "history out of order: {} after {}", t.zxid, last);
            last = t.zxid;
        }
        assert!(self.history.len() <= self.config.diff_history_max.max(1), "history beyond its bound");
        if !matches!(self.role, RoleState::Looking) {
            assert_eq!(last, self.tree.last_zxid(), "the history does not end at the tree");
        }
        if let Some(e) = &self.election {
            e.check_invariants();
        }
        match &self.role {
            RoleState::Learning(l) => {
                l.sync.check_invariants();
                assert!(self.proposals.is_empty(), "a learner with proposals");
            }
            RoleState::Leading(l) => {
                if l.established.is_none() {
                    assert!(self.proposals.is_empty(), "proposals before the epoch is established");
                }
                assert!(self.forwarded.is_empty(), "a leader with forwarded writes");
            }
            RoleState::Looking => {
                assert!(self.proposals.is_empty() && self.forwarded.is_empty() && self.syncs.is_empty());
            }
        }
    }
}
