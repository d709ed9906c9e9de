//! Synchronization: how a leader brings a learner's log to its own history
//! (`choose_sync`, `sync_messages`: ZooKeeper's `LearnerHandler.syncFollower`),
//! and how the learner takes it in (`LearnerSync`: `Learner.registerWithLeader`
//! and `syncWithLeader`).
//!
//! # The leader's choice
//! The leader holds its history: every transaction of its log at election
//! (which NEWLEADER commits) followed by what it committed since, of which it
//! still retains those after `base_zxid`. A learner reports the last zxid it
//! logged. A zxid names one transaction across all epochs, since an epoch has
//! one leader, so that zxid alone places the learner:
//! - at the leader's last zxid: an empty DIFF;
//! - on the retained history: a DIFF of what follows;
//! - past the history's end, or between two of its zxids (its tail was never
//!   committed): TRUNC to the last zxid both share, followed by a DIFF of the
//!   rest, but only when that zxid is of the same epoch as the learner's last
//!   one (or the empty start): both logs then hold a prefix of that epoch's
//!   one leader's proposals, so the learner certainly holds the cut point;
//! - otherwise (its tail comes from an epoch this leader never saw, whose
//!   leader may have lacked some of our txns): SNAP, as ZooKeeper 3.8 does;
//! - before the retained history, or more than `max_diff_txns` behind: SNAP.
//!
//! An earlier version cut back across epochs to our last zxid below the
//! learner's; the simulator showed the learner may never have held that zxid.
//! `LearnerSync` refuses a TRUNC below its snapshot rather than trusting the
//! leader's choice.
//!
//! # The learner's order
//! The history the learner receives is made durable before its current epoch
//! is, and the current epoch before it ACKs NEWLEADER: a learner that acked
//! must, after any crash, still hold the history that its ACK helped commit.
//! Nothing reaches the in-memory tree before it is both committed and durable,
//! so the tree never shows what a crash could take back, and the learner never
//! advertises a zxid beyond it. After an interrupted sync (a `SyncError`, a
//! lost connection) the caller drops the `LearnerSync`, throws away its
//! in-memory tree and rebuilds it from disk; every prefix of the writes a
//! `LearnerSync` asks for is a consistent durable state, so whatever a crash
//! kept is a valid place to start again.

use super::message::QuorumMessage;
use crate::tree::DataTree;
use crate::txn::Txn;
use crate::zxid::{Epoch, Zxid};
use std::collections::VecDeque;
use std::fmt;

// ---------------------------------------------------------------- the leader's choice

/// The part of its history the leader can still send as a DIFF.
#[derive(Copy, Clone, Debug)]
pub struct LeaderHistory<'a> {
    base_zxid: Zxid,
    txns: &'a [Txn],
}

impl<'a> LeaderHistory<'a> {
    /// The history after `base_zxid` (the leader's snapshot or purge point): `txns`, in zxid order.
    ///
    /// # Panics
    /// If `txns` are not strictly increasing zxids after `base_zxid`.
    pub fn new(base_zxid: Zxid, txns: &'a [Txn]) -> LeaderHistory<'a> {
        let mut last = base_zxid;
        for t in txns {
            assert!(t.zxid > last, "history out of order: {} after {}", t.zxid, last);
            last = t.zxid;
        }
        LeaderHistory { base_zxid, txns }
    }

    /// The zxid the retained history starts after; the learner must hold it to get a DIFF.
    pub fn base_zxid(&self) -> Zxid {
        self.base_zxid
    }

    /// The retained transactions.
    pub fn txns(&self) -> &'a [Txn] {
        self.txns
    }

    /// The leader's last committed zxid (its snapshot's, with nothing retained after it).
    pub fn last_zxid(&self) -> Zxid {
        self.txns.last().map_or(self.base_zxid, |t| t.zxid)
    }
}

/// How the leader synchronizes one learner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncPlan {
    /// DIFF: send `txns()[send_from..]`, each as PROPOSAL then COMMIT (none if the learner is up to date).
    Diff {
        /// Index in the history of the first transaction to send.
        send_from: usize,
    },
    /// TRUNC to `zxid`, then the DIFF of `txns()[send_from..]` (possibly empty).
    Trunc {
        /// The last zxid the learner and the leader share.
        zxid: Zxid,
        /// Index in the history of the first transaction to send.
        send_from: usize,
    },
    /// SNAP: send the whole committed tree.
    Snap {
        /// Why a diff would not do.
        reason: SnapReason,
    },
}

/// Why the leader sends a snapshot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SnapReason {
    /// The learner is behind and the leader retains no transaction to send.
    NoHistory,
    /// The learner's last zxid precedes the retained history (purged or never loaded).
    BeforeHistory {
        /// Where the retained history starts.
        base_zxid: Zxid,
    },
    /// The learner holds txns of an epoch after our last zxid below them: no cut is known to be safe.
    Diverged {
        /// The learner's last zxid.
        learner_last_zxid: Zxid,
        /// Our last zxid below it, of an earlier epoch.
        shared: Zxid,
    },
    /// The cut point lies below the learner's newest snapshot.
    BelowLearnerSnapshot {
        /// Where a TRUNC would have cut.
        zxid: Zxid,
        /// The learner's newest snapshot.
        snapshot_zxid: Zxid,
    },
    /// A diff would be longer than the configured bound.
    TooFarBehind {
        /// Transactions the diff would carry.
        txns: usize,
        /// The bound.
        limit: usize,
    },
}

impl SyncPlan {
    /// The committed transactions this plan sends after its header.
    pub fn txns_to_send<'h>(&self, history: &LeaderHistory<'h>) -> &'h [Txn] {
        match *self {
            SyncPlan::Diff { send_from } | SyncPlan::Trunc { send_from, .. } => &history.txns[send_from..],
            SyncPlan::Snap { .. } => &[],
        }
    }
}

/// The leader's choice for a learner whose durable log ends at `learner_last_zxid`
/// (what its ACKEPOCH reported); diffs longer than `max_diff_txns` become snapshots.
///
/// A learner whose last zxid the leader does not hold carries a tail that was
/// never committed. Cutting it back is safe only to a zxid the learner
/// certainly holds: one of the same epoch as its last zxid (both logs hold a
/// prefix of that epoch's one leader's proposals), or the empty start. Anything else, for example
/// a learner that went through an epoch this leader never saw, could hold a
/// different history below the cut, so it gets a SNAP, as in ZooKeeper.
pub fn choose_sync(history: &LeaderHistory<'_>, learner_last_zxid: Zxid, max_diff_txns: usize) -> SyncPlan {
    let len = history.txns.len();
    if learner_last_zxid < history.base_zxid {
        let reason = if len == 0 { SnapReason::NoHistory } else { SnapReason::BeforeHistory { base_zxid: history.base_zxid } };
        return SyncPlan::Snap { reason };
    }
    // Everything after the learner's zxid is sent; `shared` is our last zxid at or below it.
    let send_from = history.txns.partition_point(|t| t.zxid <= learner_last_zxid);
    let shared = if send_from == 0 { history.base_zxid } else { history.txns[send_from - 1].zxid };
    let to_send = len - send_from;
    if to_send > max_diff_txns {
        return SyncPlan::Snap { reason: SnapReason::TooFarBehind { txns: to_send, limit: max_diff_txns } };
    }
    if shared == learner_last_zxid {
        SyncPlan::Diff { send_from }
    } else if shared.epoch == learner_last_zxid.epoch || shared == Zxid::ZERO {
        SyncPlan::Trunc { zxid: shared, send_from }
    } else {
        SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid, shared } }
    }
}

/// `choose_sync` for a learner that also reported its newest snapshot: a TRUNC
/// below that snapshot cannot be carried out (a learner may hold a snapshot of
/// a leader whose epoch never got a quorum), so such a learner gets a SNAP.
pub fn choose_sync_for(history: &LeaderHistory<'_>, learner_last_zxid: Zxid, learner_snapshot_zxid: Zxid, max_diff_txns: usize) -> SyncPlan {
    match choose_sync(history, learner_last_zxid, max_diff_txns) {
        SyncPlan::Trunc { zxid, .. } if zxid < learner_snapshot_zxid => {
            SyncPlan::Snap { reason: SnapReason::BelowLearnerSnapshot { zxid, snapshot_zxid: learner_snapshot_zxid } }
        }
        plan => plan,
    }
}

/// The messages that carry `plan` to a learner, NEWLEADER last: the header, each
/// committed transaction as PROPOSAL + COMMIT, then the leader's `outstanding`
/// proposals of `new_epoch` (a follower must log and ack them too; pass none for
/// an observer), then NEWLEADER. `committed_tree` is the leader's tree at its
/// last committed zxid, serialized for a SNAP.
///
/// # Panics
/// If the tree is not at the history's last zxid, or an outstanding proposal is
/// not a proposal of `new_epoch` after the history.
pub fn sync_messages(
    plan: &SyncPlan,
    history: &LeaderHistory<'_>,
    committed_tree: &DataTree,
    outstanding: &[Txn],
    new_epoch: Epoch,
) -> Vec<QuorumMessage> {
    let last = history.last_zxid();
    let mut out = Vec::with_capacity(2 + 2 * plan.txns_to_send(history).len() + outstanding.len());
    out.push(match plan {
        SyncPlan::Diff { .. } => QuorumMessage::Diff { zxid: last },
        SyncPlan::Trunc { zxid, .. } => QuorumMessage::Trunc { zxid: *zxid },
        SyncPlan::Snap { .. } => {
            assert_eq!(committed_tree.last_zxid(), last, "a SNAP must carry the tree at the last committed zxid");
            QuorumMessage::Snap { image: committed_tree.to_snapshot_bytes(), zxid: last }
        }
    });
    for txn in plan.txns_to_send(history) {
        out.push(QuorumMessage::Proposal { txn: txn.clone() });
        out.push(QuorumMessage::Commit { zxid: txn.zxid });
    }
    let mut previous = last;
    for txn in outstanding {
        assert!(txn.zxid > previous && txn.zxid.epoch == new_epoch, "outstanding proposal {} after {} in epoch {:?}", txn.zxid, previous, new_epoch);
        previous = txn.zxid;
        out.push(QuorumMessage::Proposal { txn: txn.clone() });
    }
    out.push(QuorumMessage::NewLeader { zxid: Zxid { epoch: new_epoch, counter: 0 } });
    out
}

// ---------------------------------------------------------------- the learner

/// Whether the learner votes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LearnerRole {
    /// A voter: sends FOLLOWERINFO and ACKs proposals.
    Follower,
    /// A non-voter: sends OBSERVERINFO and takes INFORMs, never acking them.
    Observer,
}

/// Settings of a learner's sync.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LearnerConfig {
    /// Follower or observer.
    pub role: LearnerRole,
    /// Transactions logged but not yet applied (or ACKs not yet sent) before the sync is refused.
    pub pending_txns_max: usize,
    /// Test-only sabotage: ACK proposals before they are durable.
    pub ack_before_durable: bool,
}

impl LearnerConfig {
    /// The default bound for this role.
    pub fn new(role: LearnerRole) -> LearnerConfig {
        LearnerConfig { role, pending_txns_max: 100_000, ack_before_durable: false }
    }
}

/// What the learner holds on disk when it connects to a leader (its in-memory
/// tree having been rebuilt from it: the newest snapshot plus every logged txn).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LearnerDisk {
    /// The newest epoch it promised to follow.
    pub accepted_epoch: Epoch,
    /// The epoch of the last leader it completed a sync with.
    pub current_epoch: Epoch,
    /// The last zxid in its log (or its snapshot's, with an empty log).
    pub last_zxid: Zxid,
    /// The zxid of its newest snapshot: no TRUNC may go below it.
    pub snapshot_zxid: Zxid,
}

/// Names one write the learner asked for. The sequence number, which the
/// caller makes unique over the process's life, orders writes; a zxid alone
/// could not, since the same zxid can be written twice (after a SNAP, by a
/// retried sync). The epoch is that of the leader whose sync issued it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteId {
    /// The new epoch of the sync that issued the write.
    pub epoch: Epoch,
    /// Position among all writes of this process.
    pub seq: u64,
}

/// A write the learner asks its host for. The host performs writes in the
/// order given and reports `durable(id)` once that write and all before it are on disk.
#[derive(Clone, Debug)]
pub enum Persist {
    /// Record the accepted epoch.
    AcceptedEpoch(Epoch),
    /// Cut the log after `zxid` and drop any snapshot newer than it.
    Truncate {
        /// The last zxid to keep.
        zxid: Zxid,
    },
    /// Make this tree the whole durable state: write it as the newest snapshot and
    /// atomically drop every logged txn, so none replays on top of it.
    Snapshot(DataTree),
    /// Append these transactions to the log.
    Txns(Vec<Txn>),
    /// Record the current epoch.
    CurrentEpoch(Epoch),
}

/// An action for the caller, in order.
#[derive(Clone, Debug)]
pub enum LearnerOutput {
    /// Send this message to the leader.
    Send(QuorumMessage),
    /// Perform this write; report `durable(write)` when it is on disk.
    Persist {
        /// Its name, for `durable`.
        write: WriteId,
        /// What to write.
        persist: Persist,
    },
    /// A TRUNC is durable: rebuild the in-memory tree (which may hold cut
    /// transactions) from the newest snapshot and the log up to `zxid`. Later
    /// log entries, if already written, arrive as `Apply`.
    RebuildTree {
        /// The truncation point.
        zxid: Zxid,
    },
    /// A SNAP is durable: this is the in-memory tree now.
    LoadTree(DataTree),
    /// Apply this committed, durable transaction to the in-memory tree.
    Apply(Txn),
    /// UPTODATE: the epoch is established and this learner may serve clients.
    UpToDate,
}

/// Why a sync was abandoned; the caller disconnects and rebuilds from disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncError {
    /// LEADERINFO proposed an epoch older than the one this learner accepted.
    EpochBehind {
        /// The leader's epoch.
        new_epoch: Epoch,
        /// Ours.
        accepted_epoch: Epoch,
    },
    /// A message that has no place in the current phase.
    Unexpected {
        /// ZooKeeper's name for the message.
        message: &'static str,
        /// Where the sync stood.
        phase: &'static str,
    },
    /// TRUNC to a zxid past the end of the log.
    TruncBeyondLog {
        /// The target.
        zxid: Zxid,
        /// The log's end.
        log_end: Zxid,
    },
    /// TRUNC below the newest snapshot, which cannot be undone from disk.
    TruncBelowSnapshot {
        /// The target.
        zxid: Zxid,
        /// The snapshot's zxid.
        snapshot_zxid: Zxid,
    },
    /// DIFF to a zxid before the end of the log: the leader should have sent TRUNC.
    DiffBehindLog {
        /// The DIFF's zxid.
        zxid: Zxid,
        /// The log's end.
        log_end: Zxid,
    },
    /// A SNAP image that does not load, or is not at the zxid it claims.
    BadSnapshot(String),
    /// A proposal that does not follow the log's end.
    ProposalOutOfOrder {
        /// The proposal.
        zxid: Zxid,
        /// The log's end.
        log_end: Zxid,
    },
    /// A proposal that skips zxids: the leader left out part of its history.
    Gap {
        /// The proposal.
        zxid: Zxid,
        /// The log's end.
        log_end: Zxid,
    },
    /// A commit that is not for the oldest uncommitted proposal.
    CommitOutOfOrder {
        /// The commit.
        zxid: Zxid,
        /// The proposal that should be committed next, if any.
        expected: Option<Zxid>,
    },
    /// NEWLEADER for an epoch other than the one accepted, or not of the form `(epoch, 0)`.
    WrongNewLeader {
        /// What arrived.
        zxid: Zxid,
        /// `(new_epoch, 0)`.
        expected: Zxid,
    },
    /// NEWLEADER before the log reached the zxid the DIFF or SNAP promised.
    IncompleteSync {
        /// The log's end.
        reached: Zxid,
        /// The promised zxid.
        expected: Zxid,
    },
    /// More transactions pending than `pending_txns_max`.
    TooManyPending {
        /// The bound.
        limit: usize,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::EpochBehind { new_epoch, accepted_epoch } => {
                write!(f, "leader's epoch {} is older than accepted epoch {}", new_epoch.0, accepted_epoch.0)
            }
            SyncError::Unexpected { message, phase } => write!(f, "{message} while {phase}"),
            SyncError::TruncBeyondLog { zxid, log_end } => write!(f, "TRUNC to {zxid} past the log's end {log_end}"),
            SyncError::TruncBelowSnapshot { zxid, snapshot_zxid } => write!(f, "TRUNC to {zxid} below the snapshot at {snapshot_zxid}"),
            SyncError::DiffBehindLog { zxid, log_end } => write!(f, "DIFF to {zxid} behind the log's end {log_end}"),
            SyncError::BadSnapshot(why) => write!(f, "bad SNAP: {why}"),
            SyncError::ProposalOutOfOrder { zxid, log_end } => write!(f, "PROPOSAL {zxid} does not follow the log's end {log_end}"),
            SyncError::Gap { zxid, log_end } => write!(f, "PROPOSAL {zxid} skips zxids after the log's end {log_end}"),
            SyncError::CommitOutOfOrder { zxid, expected } => write!(f, "COMMIT {zxid}, expected {expected:?}"),
            SyncError::WrongNewLeader { zxid, expected } => write!(f, "NEWLEADER {zxid}, expected {expected}"),
            SyncError::IncompleteSync { reached, expected } => write!(f, "NEWLEADER with the log at {reached}, promised {expected}"),
            SyncError::TooManyPending { limit } => write!(f, "more than {limit} transactions pending"),
        }
    }
}

impl std::error::Error for SyncError {}

/// Where the learner's handshake stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// FOLLOWERINFO sent; waiting for LEADERINFO.
    AwaitingLeaderInfo,
    /// The new accepted epoch is being written; ACKEPOCH follows once it is durable.
    AcceptingEpoch { write: u64 },
    /// ACKEPOCH sent; waiting for DIFF, TRUNC or SNAP.
    AwaitingHeader,
    /// Header received; proposals and commits until NEWLEADER.
    Syncing,
    /// NEWLEADER received; waiting for every earlier write to be durable.
    HistoryPending { barrier: u64 },
    /// The synced history is durable; waiting for the current epoch to be.
    EpochPending { write: u64 },
    /// NEWLEADER acked; waiting for UPTODATE.
    AwaitingUpToDate,
    /// UPTODATE received: broadcast.
    Broadcast,
    /// Abandoned; see `failure()`.
    Failed,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::AwaitingLeaderInfo => "awaiting LEADERINFO",
            Phase::AcceptingEpoch { .. } => "persisting the accepted epoch",
            Phase::AwaitingHeader => "awaiting DIFF, TRUNC or SNAP",
            Phase::Syncing => "syncing",
            Phase::HistoryPending { .. } => "persisting the synced history",
            Phase::EpochPending { .. } => "persisting the current epoch",
            Phase::AwaitingUpToDate => "awaiting UPTODATE",
            Phase::Broadcast => "broadcasting",
            Phase::Failed => "failed",
        }
    }
}

/// What a write changes once durable.
#[derive(Clone, Debug)]
enum Effect {
    AcceptedEpoch(Epoch),
    Truncate(Zxid),
    Snapshot(DataTree),
    /// Txns appended; the log now ends at this zxid.
    Txns(Zxid),
    CurrentEpoch(Epoch),
}

/// A transaction logged (or being logged) and not yet applied.
#[derive(Clone, Debug)]
struct Pending {
    txn: Txn,
    write: u64,
}

/// A learner's side of discovery, synchronization and broadcast, as a pure reducer.
///
/// # Driving it
/// Create it when the election names a leader; it starts by sending
/// FOLLOWERINFO (or OBSERVERINFO). Then feed every message from the leader to
/// `handle` (it hands back those that are not its business: pings, replies to
/// forwarded requests) and every durable write to `durable`, and after each
/// call execute `poll_output()` until `None`, in order. On `failure()`, drop it
/// (see the module documentation).
#[derive(Clone, Debug)]
pub struct LearnerSync {
    config: LearnerConfig,
    phase: Phase,
    failure: Option<SyncError>,
    new_epoch: Option<Epoch>,
    /// Durable values.
    accepted_epoch: Epoch,
    current_epoch: Epoch,
    snapshot_zxid: Zxid,
    durable_log_end: Zxid,
    /// Where the log ends once every issued write is done.
    log_end: Zxid,
    /// The in-memory tree's last zxid, as the outputs leave it.
    applied: Zxid,
    /// The zxid promised by DIFF or SNAP, checked at NEWLEADER.
    sync_target: Option<Zxid>,
    /// The newest zxid known committed (by COMMIT, INFORM or the sync header).
    committed: Zxid,
    first_seq: u64,
    next_seq: u64,
    /// The last write confirmed durable (`first_seq - 1` before any).
    durable_seq: u64,
    /// Issued, not yet durable, in order.
    writes: VecDeque<(u64, Effect)>,
    /// Logged and not yet applied, in zxid order; the first `committed_count` are committed.
    pending: VecDeque<Pending>,
    committed_count: usize,
    /// Proposals to ACK, with their writes, once durable and after the NEWLEADER ACK.
    acks_due: VecDeque<(Zxid, u64)>,
    outputs: VecDeque<LearnerOutput>,
}

impl LearnerSync {
    /// A learner holding `disk`, about to talk to a newly elected leader. Its
    /// writes are numbered from `first_write_seq`, which must exceed every write
    /// number used before in this process, so that a late `durable` report for
    /// an abandoned sync cannot be mistaken for one of these writes.
    ///
    /// # Panics
    /// If `disk` is inconsistent (current epoch past the accepted one, snapshot past the log).
    pub fn new(config: LearnerConfig, disk: LearnerDisk, first_write_seq: u64) -> LearnerSync {
        assert!(disk.current_epoch <= disk.accepted_epoch, "current epoch {:?} past accepted epoch {:?}", disk.current_epoch, disk.accepted_epoch);
        assert!(disk.snapshot_zxid <= disk.last_zxid, "snapshot {} past the log's end {}", disk.snapshot_zxid, disk.last_zxid);
        assert!(first_write_seq > 0, "write numbers start at 1, so that 0 can mean none yet");
        let info = match config.role {
            LearnerRole::Follower => QuorumMessage::FollowerInfo { accepted_epoch: disk.accepted_epoch, last_zxid: disk.last_zxid },
            LearnerRole::Observer => QuorumMessage::ObserverInfo { accepted_epoch: disk.accepted_epoch, last_zxid: disk.last_zxid },
        };
        LearnerSync {
            config,
            phase: Phase::AwaitingLeaderInfo,
            failure: None,
            new_epoch: None,
            accepted_epoch: disk.accepted_epoch,
            current_epoch: disk.current_epoch,
            snapshot_zxid: disk.snapshot_zxid,
            durable_log_end: disk.last_zxid,
            log_end: disk.last_zxid,
            applied: disk.last_zxid,
            sync_target: None,
            committed: Zxid::ZERO,
            first_seq: first_write_seq,
            next_seq: first_write_seq,
            durable_seq: first_write_seq - 1,
            writes: VecDeque::new(),
            pending: VecDeque::new(),
            committed_count: 0,
            acks_due: VecDeque::new(),
            outputs: VecDeque::from([LearnerOutput::Send(info)]),
        }
    }

    /// Feeds a message from the leader. Messages that are not about discovery,
    /// sync or broadcast (pings, replies to forwarded requests) come back for the caller.
    pub fn handle(&mut self, msg: QuorumMessage) -> Option<QuorumMessage> {
        let ours = matches!(
            msg,
            QuorumMessage::LeaderInfo { .. }
                | QuorumMessage::Diff { .. }
                | QuorumMessage::Trunc { .. }
                | QuorumMessage::Snap { .. }
                | QuorumMessage::Proposal { .. }
                | QuorumMessage::Commit { .. }
                | QuorumMessage::Inform { .. }
                | QuorumMessage::NewLeader { .. }
                | QuorumMessage::UpToDate
        );
        if !ours {
            return Some(msg);
        }
        if self.phase == Phase::Failed {
            return None;
        }
        let kind = msg.kind();
        let result = match msg {
            QuorumMessage::LeaderInfo { new_epoch } if self.phase == Phase::AwaitingLeaderInfo => self.leader_info(new_epoch),
            QuorumMessage::Diff { zxid } if self.phase == Phase::AwaitingHeader => self.diff(zxid),
            QuorumMessage::Trunc { zxid } if self.phase == Phase::AwaitingHeader => self.trunc(zxid),
            QuorumMessage::Snap { image, zxid } if self.phase == Phase::AwaitingHeader => self.snap(&image, zxid),
            QuorumMessage::Proposal { txn } if self.takes_proposals() => self.proposal(txn),
            QuorumMessage::Commit { zxid } if self.takes_proposals() => self.commit(zxid),
            QuorumMessage::Inform { txn } if self.takes_informs() => self.inform(txn),
            QuorumMessage::NewLeader { zxid } if self.phase == Phase::Syncing => self.new_leader(zxid),
            QuorumMessage::UpToDate if self.phase == Phase::AwaitingUpToDate => {
                self.phase = Phase::Broadcast;
                self.outputs.push_back(LearnerOutput::UpToDate);
                Ok(())
            }
            // One of ours, out of place.
            _ => Err(SyncError::Unexpected { message: kind, phase: self.phase.name() }),
        };
        match result {
            Ok(()) => self.advance(),
            Err(e) => self.fail(e),
        }
        None
    }

    /// The host reports `write`, and every write before it, durable.
    ///
    /// # Panics
    /// If `write` names a write this sync never issued: the host confused its writes.
    pub fn durable(&mut self, write: WriteId) {
        if self.phase == Phase::Failed || Some(write.epoch) != self.new_epoch || write.seq < self.first_seq || write.seq <= self.durable_seq {
            // Late, repeated, or for an abandoned sync: nothing to learn.
            return;
        }
        assert!(write.seq < self.next_seq, "durable report for write {} which was never issued (next is {})", write.seq, self.next_seq);
        while self.writes.front().is_some_and(|(seq, _)| *seq <= write.seq) {
            let (seq, effect) = self.writes.pop_front().expect("front exists");
            self.durable_seq = seq;
            match effect {
                Effect::AcceptedEpoch(epoch) => {
                    self.accepted_epoch = epoch;
                    if self.phase == (Phase::AcceptingEpoch { write: seq }) {
                        self.send_ack_epoch();
                    }
                }
                Effect::Truncate(zxid) => {
                    self.durable_log_end = zxid;
                    self.applied = zxid;
                    self.outputs.push_back(LearnerOutput::RebuildTree { zxid });
                }
                Effect::Snapshot(tree) => {
                    let zxid = tree.last_zxid();
                    self.durable_log_end = zxid;
                    self.snapshot_zxid = zxid;
                    self.applied = zxid;
                    self.outputs.push_back(LearnerOutput::LoadTree(tree));
                }
                Effect::Txns(zxid) => self.durable_log_end = zxid,
                Effect::CurrentEpoch(epoch) => self.current_epoch = epoch,
            }
            // Applying after each write keeps every Apply behind the tree reload that precedes it.
            self.apply_ready();
        }
        self.advance();
    }

    /// The next action, in order.
    pub fn poll_output(&mut self) -> Option<LearnerOutput> {
        self.outputs.pop_front()
    }

    /// Why the sync was abandoned, if it was.
    pub fn failure(&self) -> Option<&SyncError> {
        self.failure.as_ref()
    }

    /// The first write number a later `LearnerSync` of this process may use.
    pub fn next_write_seq(&self) -> u64 {
        self.next_seq
    }

    /// Whether UPTODATE arrived: the learner serves clients.
    pub fn is_up_to_date(&self) -> bool {
        self.phase == Phase::Broadcast
    }

    /// The epoch of the leader being synced with, once LEADERINFO arrived.
    pub fn new_epoch(&self) -> Option<Epoch> {
        self.new_epoch
    }

    /// The last zxid this learner may advertise (to clients, in replies): applied to the tree and durable.
    pub fn last_zxid(&self) -> Zxid {
        self.applied
    }

    /// The last zxid of the durable log: what a restart would find, and report in its vote.
    pub fn durable_zxid(&self) -> Zxid {
        self.durable_log_end
    }

    /// The durable accepted epoch.
    pub fn accepted_epoch(&self) -> Epoch {
        self.accepted_epoch
    }

    /// The durable current epoch.
    pub fn current_epoch(&self) -> Epoch {
        self.current_epoch
    }

    /// Checks the learner's internal consistency.
    ///
    /// # Panics
    /// On a broken invariant: a bug in this module.
    pub fn check_invariants(&self) {
        assert!(self.current_epoch <= self.accepted_epoch, "current epoch past accepted epoch");
        assert!(self.applied <= self.durable_log_end, "applied {} beyond the durable log {}", self.applied, self.durable_log_end);
        assert!(self.snapshot_zxid <= self.durable_log_end, "snapshot past the durable log");
        assert!(self.committed_count <= self.pending.len());
        assert!(
            self.pending.len() <= self.config.pending_txns_max && self.acks_due.len() <= self.config.pending_txns_max,
            "pending beyond its bound"
        );
        for pair in self.pending.iter().collect::<Vec<_>>().windows(2) {
            assert!(pair[0].txn.zxid < pair[1].txn.zxid && pair[0].write < pair[1].write, "pending txns out of order");
        }
        if let Some(last) = self.pending.back() {
            assert_eq!(last.txn.zxid, self.log_end, "the last pending txn is not the log's end");
        }
        assert!(self.durable_seq < self.next_seq);
        assert!(self.writes.iter().all(|(seq, _)| *seq > self.durable_seq && *seq < self.next_seq), "write bookkeeping");
        if matches!(self.phase, Phase::AwaitingUpToDate | Phase::Broadcast) {
            assert_eq!(Some(self.current_epoch), self.new_epoch, "NEWLEADER acked before the current epoch was durable");
        }
    }

    fn takes_proposals(&self) -> bool {
        match self.config.role {
            LearnerRole::Follower => {
                matches!(
                    self.phase,
                    Phase::Syncing | Phase::HistoryPending { .. } | Phase::EpochPending { .. } | Phase::AwaitingUpToDate | Phase::Broadcast
                )
            }
            // Observers get committed proposals in a DIFF, and INFORMs after it.
            LearnerRole::Observer => self.phase == Phase::Syncing,
        }
    }

    fn takes_informs(&self) -> bool {
        self.config.role == LearnerRole::Observer
            && matches!(
                self.phase,
                Phase::Syncing | Phase::HistoryPending { .. } | Phase::EpochPending { .. } | Phase::AwaitingUpToDate | Phase::Broadcast
            )
    }

    fn leader_info(&mut self, new_epoch: Epoch) -> Result<(), SyncError> {
        if new_epoch < self.accepted_epoch {
            return Err(SyncError::EpochBehind { new_epoch, accepted_epoch: self.accepted_epoch });
        }
        self.new_epoch = Some(new_epoch);
        if new_epoch == self.accepted_epoch {
            // Already promised (a reconnect within the epoch): nothing to write.
            self.send_ack_epoch();
        } else {
            let write = self.write(Persist::AcceptedEpoch(new_epoch), Effect::AcceptedEpoch(new_epoch));
            self.phase = Phase::AcceptingEpoch { write };
        }
        Ok(())
    }

    fn send_ack_epoch(&mut self) {
        // The durable log's end, as ZooKeeper's getLastLoggedZxid: the leader's choice of sync rests on it.
        let msg = QuorumMessage::AckEpoch { current_epoch: self.current_epoch, last_zxid: self.durable_log_end, snapshot_zxid: self.snapshot_zxid };
        self.outputs.push_back(LearnerOutput::Send(msg));
        self.phase = Phase::AwaitingHeader;
    }

    fn diff(&mut self, zxid: Zxid) -> Result<(), SyncError> {
        if zxid < self.log_end {
            return Err(SyncError::DiffBehindLog { zxid, log_end: self.log_end });
        }
        self.sync_target = Some(zxid);
        self.phase = Phase::Syncing;
        Ok(())
    }

    fn trunc(&mut self, zxid: Zxid) -> Result<(), SyncError> {
        if zxid > self.log_end {
            return Err(SyncError::TruncBeyondLog { zxid, log_end: self.log_end });
        }
        if zxid < self.snapshot_zxid {
            return Err(SyncError::TruncBelowSnapshot { zxid, snapshot_zxid: self.snapshot_zxid });
        }
        if zxid < self.log_end {
            self.write(Persist::Truncate { zxid }, Effect::Truncate(zxid));
            self.log_end = zxid;
        }
        self.committed = self.committed.max(zxid);
        self.phase = Phase::Syncing;
        Ok(())
    }

    fn snap(&mut self, image: &[u8], zxid: Zxid) -> Result<(), SyncError> {
        let tree = DataTree::from_snapshot_bytes(image).map_err(|e| SyncError::BadSnapshot(e.to_string()))?;
        if tree.last_zxid() != zxid {
            return Err(SyncError::BadSnapshot(format!("image at {} announced as {}", tree.last_zxid(), zxid)));
        }
        self.write(Persist::Snapshot(tree.clone()), Effect::Snapshot(tree));
        self.log_end = zxid;
        self.committed = self.committed.max(zxid);
        self.sync_target = Some(zxid);
        self.phase = Phase::Syncing;
        Ok(())
    }

    fn proposal(&mut self, txn: Txn) -> Result<(), SyncError> {
        let zxid = txn.zxid;
        if zxid <= self.log_end {
            return Err(SyncError::ProposalOutOfOrder { zxid, log_end: self.log_end });
        }
        // A leader numbers its proposals from (epoch, 1) without holes, and a
        // history keeps what was committed of each epoch: a prefix. So the next
        // zxid follows the log's end in its epoch or opens a later one; anything
        // else means the leader skipped transactions (a DIFF over a purged range).
        let next_in_epoch = self.log_end.counter.checked_add(1).map(|counter| Zxid { epoch: self.log_end.epoch, counter });
        if Some(zxid) != next_in_epoch && !(zxid.epoch > self.log_end.epoch && zxid.counter == 1) {
            return Err(SyncError::Gap { zxid, log_end: self.log_end });
        }
        let limit = self.config.pending_txns_max;
        if self.pending.len() >= limit || self.acks_due.len() >= limit {
            return Err(SyncError::TooManyPending { limit });
        }
        let write = self.write(Persist::Txns(vec![txn.clone()]), Effect::Txns(zxid));
        self.log_end = zxid;
        self.pending.push_back(Pending { txn, write });
        if self.config.role == LearnerRole::Follower {
            self.acks_due.push_back((zxid, write));
        }
        Ok(())
    }

    fn commit(&mut self, zxid: Zxid) -> Result<(), SyncError> {
        let expected = self.pending.get(self.committed_count).map(|p| p.txn.zxid);
        if expected != Some(zxid) {
            return Err(SyncError::CommitOutOfOrder { zxid, expected });
        }
        self.committed_count += 1;
        self.committed = zxid;
        self.apply_ready();
        Ok(())
    }

    fn inform(&mut self, txn: Txn) -> Result<(), SyncError> {
        if self.committed_count != self.pending.len() {
            // An INFORM is committed, so nothing before it can still be waiting for its commit.
            return Err(SyncError::CommitOutOfOrder { zxid: txn.zxid, expected: self.pending.get(self.committed_count).map(|p| p.txn.zxid) });
        }
        let zxid = txn.zxid;
        self.proposal(txn)?;
        self.commit(zxid)
    }

    fn new_leader(&mut self, zxid: Zxid) -> Result<(), SyncError> {
        let new_epoch = self.new_epoch.expect("a sync past LEADERINFO has an epoch");
        let expected = Zxid { epoch: new_epoch, counter: 0 };
        if zxid != expected {
            return Err(SyncError::WrongNewLeader { zxid, expected });
        }
        if let Some(target) = self.sync_target {
            if self.log_end < target {
                return Err(SyncError::IncompleteSync { reached: self.log_end, expected: target });
            }
        }
        // Proposals the sync already committed need no ACK; the outstanding ones do.
        let committed = self.committed;
        self.acks_due.retain(|(z, _)| *z > committed);
        self.phase = Phase::HistoryPending { barrier: self.next_seq - 1 };
        Ok(())
    }

    /// Moves the NEWLEADER handshake and the ACKs on as far as durability allows.
    fn advance(&mut self) {
        if let Phase::HistoryPending { barrier } = self.phase {
            if self.durable_seq >= barrier {
                let new_epoch = self.new_epoch.expect("NEWLEADER comes after LEADERINFO");
                if self.current_epoch == new_epoch {
                    self.ack_new_leader();
                } else {
                    let write = self.write(Persist::CurrentEpoch(new_epoch), Effect::CurrentEpoch(new_epoch));
                    self.phase = Phase::EpochPending { write };
                }
            }
        }
        if let Phase::EpochPending { write } = self.phase {
            if self.durable_seq >= write {
                self.ack_new_leader();
            }
        }
        if matches!(self.phase, Phase::AwaitingUpToDate | Phase::Broadcast) {
            while let Some(&(zxid, write)) = self.acks_due.front() {
                if write > self.durable_seq && !self.config.ack_before_durable {
                    break;
                }
                self.acks_due.pop_front();
                self.outputs.push_back(LearnerOutput::Send(QuorumMessage::Ack { zxid }));
            }
        }
    }

    fn ack_new_leader(&mut self) {
        let new_epoch = self.new_epoch.expect("NEWLEADER comes after LEADERINFO");
        assert_eq!(self.current_epoch, new_epoch, "ACK of NEWLEADER before the current epoch is durable");
        assert!(self.writes.iter().all(|(_, e)| matches!(e, Effect::Txns(_))), "ACK of NEWLEADER with the synced history not durable");
        self.outputs.push_back(LearnerOutput::Send(QuorumMessage::Ack { zxid: Zxid { epoch: new_epoch, counter: 0 } }));
        self.phase = Phase::AwaitingUpToDate;
    }

    /// Applies, in order, the committed transactions whose writes are durable.
    fn apply_ready(&mut self) {
        while self.committed_count > 0 && self.pending.front().is_some_and(|p| p.write <= self.durable_seq) {
            let p = self.pending.pop_front().expect("front exists");
            self.committed_count -= 1;
            assert!(p.txn.zxid > self.applied, "applying {} after {}", p.txn.zxid, self.applied);
            self.applied = p.txn.zxid;
            self.outputs.push_back(LearnerOutput::Apply(p.txn));
        }
    }

    fn write(&mut self, persist: Persist, effect: Effect) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let epoch = self.new_epoch.expect("writes happen after LEADERINFO");
        self.writes.push_back((seq, effect));
        self.outputs.push_back(LearnerOutput::Persist { write: WriteId { epoch, seq }, persist });
        seq
    }

    fn fail(&mut self, error: SyncError) {
        // Nothing more may leave: the caller rebuilds from disk, which holds a
        // consistent prefix of the writes issued so far.
        self.outputs.clear();
        self.failure = Some(error);
        self.phase = Phase::Failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::TxnOp;
    use crate::zxid::SessionId;

    fn txn(epoch: u32, counter: u32) -> Txn {
        Txn { zxid: Zxid::new(epoch, counter), session: SessionId(1), cxid: counter as i32, time_ms: 0, op: TxnOp::Check { path: "/".into() } }
    }

    fn txns(zxids: &[(u32, u32)]) -> Vec<Txn> {
        zxids.iter().map(|&(e, c)| txn(e, c)).collect()
    }

    /// History (1,1) (1,2) (1,3) (3,1) (3,2): epoch 2 never reached this leader.
    fn history_txns() -> Vec<Txn> {
        txns(&[(1, 1), (1, 2), (1, 3), (3, 1), (3, 2)])
    }

    // The ZooKeeper corner cases of the leader's choice, one by one.
    #[test]
    fn choice_covers_zookeepers_corner_cases() {
        let t = history_txns();
        let h = LeaderHistory::new(Zxid::ZERO, &t);
        let plan = |z: Zxid| choose_sync(&h, z, 100);
        assert_eq!(plan(Zxid::new(3, 2)), SyncPlan::Diff { send_from: 5 }, "exactly up to date: empty DIFF");
        assert_eq!(plan(Zxid::new(1, 2)), SyncPlan::Diff { send_from: 2 }, "on the history: DIFF of the rest");
        assert_eq!(plan(Zxid::ZERO), SyncPlan::Diff { send_from: 0 }, "empty learner, history from the start");
        assert_eq!(plan(Zxid::new(3, 4)), SyncPlan::Trunc { zxid: Zxid::new(3, 2), send_from: 5 }, "ahead in the same epoch: TRUNC");
        assert_eq!(
            plan(Zxid::new(4, 1)),
            SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid: Zxid::new(4, 1), shared: Zxid::new(3, 2) } },
            "ahead in an epoch that never got going: its leader may have lacked our last txns, so SNAP"
        );
        assert_eq!(
            plan(Zxid::new(1, 5)),
            SyncPlan::Trunc { zxid: Zxid::new(1, 3), send_from: 3 },
            "uncommitted tail of an old epoch: TRUNC to our last of that epoch, DIFF the rest"
        );
        assert_eq!(
            plan(Zxid::new(2, 7)),
            SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid: Zxid::new(2, 7), shared: Zxid::new(1, 3) } },
            "an epoch the leader never saw: its leader may have lacked (1,3), so SNAP"
        );
    }

    // A TRUNC that would cut below the learner's newest snapshot becomes a SNAP; above it, it stays a TRUNC.
    #[test]
    fn no_trunc_below_the_learners_snapshot() {
        let t = history_txns();
        let h = LeaderHistory::new(Zxid::ZERO, &t);
        assert_eq!(choose_sync_for(&h, Zxid::new(3, 4), Zxid::ZERO, 100), SyncPlan::Trunc { zxid: Zxid::new(3, 2), send_from: 5 });
        assert_eq!(
            choose_sync_for(&h, Zxid::new(3, 4), Zxid::new(3, 3), 100),
            SyncPlan::Snap { reason: SnapReason::BelowLearnerSnapshot { zxid: Zxid::new(3, 2), snapshot_zxid: Zxid::new(3, 3) } }
        );
        assert_eq!(choose_sync_for(&h, Zxid::new(1, 2), Zxid::new(1, 2), 100), SyncPlan::Diff { send_from: 2 }, "a DIFF is untouched");
    }

    // A learner before the retained history, one too far behind, or any learner behind a leader without history gets a SNAP.
    #[test]
    fn snap_when_a_diff_cannot_do() {
        let t = history_txns();
        let h = LeaderHistory::new(Zxid::new(1, 1), &t[1..]);
        assert_eq!(choose_sync(&h, Zxid::new(1, 1), 100), SyncPlan::Diff { send_from: 0 }, "at the base: everything retained");
        assert_eq!(choose_sync(&h, Zxid::ZERO, 100), SyncPlan::Snap { reason: SnapReason::BeforeHistory { base_zxid: Zxid::new(1, 1) } });
        assert_eq!(choose_sync(&h, Zxid::new(1, 2), 2), SyncPlan::Snap { reason: SnapReason::TooFarBehind { txns: 3, limit: 2 } });
        assert_eq!(choose_sync(&h, Zxid::new(1, 3), 2), SyncPlan::Diff { send_from: 2 }, "exactly at the limit");
        let empty = LeaderHistory::new(Zxid::new(3, 2), &[]);
        assert_eq!(choose_sync(&empty, Zxid::new(1, 2), 100), SyncPlan::Snap { reason: SnapReason::NoHistory });
        assert_eq!(choose_sync(&empty, Zxid::new(3, 2), 100), SyncPlan::Diff { send_from: 0 });
        assert_eq!(choose_sync(&empty, Zxid::new(3, 3), 100), SyncPlan::Trunc { zxid: Zxid::new(3, 2), send_from: 0 });
    }

    // The leader's messages: header, PROPOSAL+COMMIT pairs, outstanding proposals, NEWLEADER last.
    #[test]
    fn messages_follow_zookeepers_order() {
        let t = history_txns();
        let h = LeaderHistory::new(Zxid::ZERO, &t);
        let outstanding = txns(&[(5, 1)]);
        let msgs = sync_messages(&SyncPlan::Trunc { zxid: Zxid::new(1, 3), send_from: 3 }, &h, &DataTree::new(), &outstanding, Epoch(5));
        let kinds: Vec<&str> = msgs.iter().map(QuorumMessage::kind).collect();
        assert_eq!(kinds, ["TRUNC", "PROPOSAL", "COMMIT", "PROPOSAL", "COMMIT", "PROPOSAL", "NEWLEADER"]);
        assert_eq!(msgs[0], QuorumMessage::Trunc { zxid: Zxid::new(1, 3) });
        assert_eq!(msgs[6], QuorumMessage::NewLeader { zxid: Zxid::new(5, 0) });
        let snap =
            sync_messages(&SyncPlan::Snap { reason: SnapReason::NoHistory }, &LeaderHistory::new(Zxid::ZERO, &[]), &DataTree::new(), &[], Epoch(5));
        assert!(matches!(&snap[0], QuorumMessage::Snap { zxid, .. } if *zxid == Zxid::ZERO));
    }

    fn disk(epoch: u32, last: Zxid) -> LearnerDisk {
        LearnerDisk { accepted_epoch: Epoch(epoch), current_epoch: Epoch(epoch), last_zxid: last, snapshot_zxid: Zxid::ZERO }
    }

    fn drain(l: &mut LearnerSync) -> Vec<LearnerOutput> {
        std::iter::from_fn(|| l.poll_output()).collect()
    }

    fn writes(outs: &[LearnerOutput]) -> Vec<(WriteId, Persist)> {
        outs.iter()
            .filter_map(|o| match o {
                LearnerOutput::Persist { write, persist } => Some((*write, persist.clone())),
                _ => None,
            })
            .collect()
    }

    fn sent(outs: &[LearnerOutput]) -> Vec<QuorumMessage> {
        outs.iter()
            .filter_map(|o| match o {
                LearnerOutput::Send(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// A follower at (1,2) that accepted epoch 2, with its sync header received.
    fn synced_to_header(header: QuorumMessage) -> LearnerSync {
        let mut l = LearnerSync::new(LearnerConfig::new(LearnerRole::Follower), disk(1, Zxid::new(1, 2)), 1);
        assert_eq!(sent(&drain(&mut l)), vec![QuorumMessage::FollowerInfo { accepted_epoch: Epoch(1), last_zxid: Zxid::new(1, 2) }]);
        assert_eq!(l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(2) }), None);
        let outs = drain(&mut l);
        assert!(sent(&outs).is_empty(), "no ACKEPOCH before the accepted epoch is durable");
        let [(w, Persist::AcceptedEpoch(Epoch(2)))] = writes(&outs)[..] else { panic!("{outs:?}") };
        l.durable(w);
        assert_eq!(sent(&drain(&mut l)), vec![QuorumMessage::AckEpoch { current_epoch: Epoch(1), last_zxid: Zxid::new(1, 2), snapshot_zxid: Zxid::ZERO }]);
        l.handle(header);
        l.check_invariants();
        l
    }

    // History durable, then the current epoch, then the ACK of NEWLEADER; applies wait for commit and durability.
    #[test]
    fn newleader_ack_waits_for_history_then_epoch() {
        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 4) });
        for t in txns(&[(1, 3), (1, 4)]) {
            let zxid = t.zxid;
            l.handle(QuorumMessage::Proposal { txn: t });
            l.handle(QuorumMessage::Commit { zxid });
        }
        l.handle(QuorumMessage::Proposal { txn: txn(2, 1) });
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0) });
        let outs = drain(&mut l);
        assert!(sent(&outs).is_empty() && !outs.iter().any(|o| matches!(o, LearnerOutput::Apply(_))), "nothing durable yet: {outs:?}");
        let w = writes(&outs);
        assert_eq!(w.len(), 3, "three txns, no current epoch yet: {w:?}");
        l.durable(w[0].0);
        let outs = drain(&mut l);
        assert!(matches!(&outs[..], [LearnerOutput::Apply(t)] if t.zxid == Zxid::new(1, 3)), "{outs:?}");
        assert_eq!(l.last_zxid(), Zxid::new(1, 3));
        l.durable(w[2].0);
        let outs = drain(&mut l);
        let w = writes(&outs);
        assert!(matches!(&w[..], [(_, Persist::CurrentEpoch(Epoch(2)))]), "{outs:?}");
        assert!(sent(&outs).is_empty(), "no ACK before the current epoch is durable");
        assert_eq!(l.last_zxid(), Zxid::new(1, 4), "(2,1) is durable but not committed");
        l.durable(w[0].0);
        assert_eq!(sent(&drain(&mut l)), vec![QuorumMessage::Ack { zxid: Zxid::new(2, 0) }, QuorumMessage::Ack { zxid: Zxid::new(2, 1) }]);
        assert_eq!(l.current_epoch(), Epoch(2));
        assert_eq!(l.handle(QuorumMessage::PingReply), Some(QuorumMessage::PingReply), "pings are the caller's");
        l.handle(QuorumMessage::UpToDate);
        assert!(matches!(&drain(&mut l)[..], [LearnerOutput::UpToDate]));
        l.handle(QuorumMessage::Commit { zxid: Zxid::new(2, 1) });
        assert!(matches!(&drain(&mut l)[..], [LearnerOutput::Apply(t)] if t.zxid == Zxid::new(2, 1)));
        l.check_invariants();
    }

    // After NEWLEADER a proposal is acked once durable, and only after the NEWLEADER ack.
    #[test]
    fn broadcast_proposals_are_acked_when_durable() {
        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 2) });
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0) });
        l.handle(QuorumMessage::Proposal { txn: txn(2, 1) });
        let w = writes(&drain(&mut l));
        assert!(matches!(&w[..], [(_, Persist::CurrentEpoch(_)), (_, Persist::Txns(_))]), "history was already durable: {w:?}");
        l.durable(w[1].0);
        assert_eq!(sent(&drain(&mut l)), vec![QuorumMessage::Ack { zxid: Zxid::new(2, 0) }, QuorumMessage::Ack { zxid: Zxid::new(2, 1) }]);
        l.check_invariants();
    }

    // TRUNC cuts the log, rebuilds the tree once durable, and never goes below the snapshot or past the log.
    #[test]
    fn trunc_is_checked_and_rebuilds() {
        let mut l = synced_to_header(QuorumMessage::Trunc { zxid: Zxid::new(1, 1) });
        let outs = drain(&mut l);
        let w = writes(&outs);
        assert!(matches!(&w[..], [(_, Persist::Truncate { zxid })] if *zxid == Zxid::new(1, 1)));
        assert_eq!(l.last_zxid(), Zxid::new(1, 2), "the tree still holds (1,2) until the cut is durable");
        l.durable(w[0].0);
        assert!(matches!(&drain(&mut l)[..], [LearnerOutput::RebuildTree { zxid }] if *zxid == Zxid::new(1, 1)));
        assert_eq!((l.last_zxid(), l.durable_zxid()), (Zxid::new(1, 1), Zxid::new(1, 1)));

        let mut beyond = synced_to_header(QuorumMessage::Trunc { zxid: Zxid::new(1, 3) });
        assert_eq!(beyond.failure(), Some(&SyncError::TruncBeyondLog { zxid: Zxid::new(1, 3), log_end: Zxid::new(1, 2) }));
        assert!(drain(&mut beyond).is_empty(), "a failed sync emits nothing more");

        let mut l = LearnerSync::new(
            LearnerConfig::new(LearnerRole::Follower),
            LearnerDisk { snapshot_zxid: Zxid::new(1, 2), ..disk(2, Zxid::new(2, 1)) },
            1,
        );
        l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(2) });
        l.handle(QuorumMessage::Trunc { zxid: Zxid::new(1, 1) });
        assert_eq!(l.failure(), Some(&SyncError::TruncBelowSnapshot { zxid: Zxid::new(1, 1), snapshot_zxid: Zxid::new(1, 2) }));
    }

    // A SNAP replaces the durable state and the tree, and must be at the zxid it announces.
    #[test]
    fn snap_loads_once_durable() {
        let mut tree = DataTree::new();
        tree.apply(&txn(1, 5));
        let mut l = synced_to_header(QuorumMessage::Snap { image: tree.to_snapshot_bytes(), zxid: Zxid::new(1, 5) });
        let outs = drain(&mut l);
        let w = writes(&outs);
        assert!(matches!(&w[..], [(_, Persist::Snapshot(t))] if t.last_zxid() == Zxid::new(1, 5)));
        l.durable(w[0].0);
        assert!(matches!(&drain(&mut l)[..], [LearnerOutput::LoadTree(t)] if t.digest() == tree.digest()));
        assert_eq!(l.last_zxid(), Zxid::new(1, 5));
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0) });
        assert!(l.failure().is_none());

        let lying = synced_to_header(QuorumMessage::Snap { image: tree.to_snapshot_bytes(), zxid: Zxid::new(1, 6) });
        assert!(matches!(lying.failure(), Some(SyncError::BadSnapshot(_))));
        let garbage = synced_to_header(QuorumMessage::Snap { image: vec![1, 2, 3], zxid: Zxid::new(1, 6) });
        assert!(matches!(garbage.failure(), Some(SyncError::BadSnapshot(_))));
    }

    // Protocol violations abandon the sync with a precise error.
    #[test]
    fn protocol_violations_fail_the_sync() {
        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 4) });
        l.handle(QuorumMessage::Proposal { txn: txn(1, 3) });
        l.handle(QuorumMessage::Commit { zxid: Zxid::new(1, 4) });
        assert_eq!(l.failure(), Some(&SyncError::CommitOutOfOrder { zxid: Zxid::new(1, 4), expected: Some(Zxid::new(1, 3)) }));

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 4) });
        l.handle(QuorumMessage::Proposal { txn: txn(1, 3) });
        l.handle(QuorumMessage::Commit { zxid: Zxid::new(1, 3) });
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0) });
        assert_eq!(l.failure(), Some(&SyncError::IncompleteSync { reached: Zxid::new(1, 3), expected: Zxid::new(1, 4) }));

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 2) });
        l.handle(QuorumMessage::Proposal { txn: txn(1, 2) });
        assert_eq!(l.failure(), Some(&SyncError::ProposalOutOfOrder { zxid: Zxid::new(1, 2), log_end: Zxid::new(1, 2) }));

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 9) });
        l.handle(QuorumMessage::Proposal { txn: txn(1, 4) });
        assert_eq!(l.failure(), Some(&SyncError::Gap { zxid: Zxid::new(1, 4), log_end: Zxid::new(1, 2) }), "(1,3) is missing");

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(2, 9) });
        l.handle(QuorumMessage::Proposal { txn: txn(2, 2) });
        assert_eq!(l.failure(), Some(&SyncError::Gap { zxid: Zxid::new(2, 2), log_end: Zxid::new(1, 2) }), "(2,1) is missing");

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 2) });
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(3, 0) });
        assert_eq!(l.failure(), Some(&SyncError::WrongNewLeader { zxid: Zxid::new(3, 0), expected: Zxid::new(2, 0) }));

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 1) });
        assert_eq!(l.failure(), Some(&SyncError::DiffBehindLog { zxid: Zxid::new(1, 1), log_end: Zxid::new(1, 2) }));
        l.handle(QuorumMessage::UpToDate);
        assert_eq!(l.failure(), Some(&SyncError::DiffBehindLog { zxid: Zxid::new(1, 1), log_end: Zxid::new(1, 2) }), "the first error sticks");

        let mut l = synced_to_header(QuorumMessage::Diff { zxid: Zxid::new(1, 2) });
        l.handle(QuorumMessage::UpToDate);
        assert_eq!(l.failure(), Some(&SyncError::Unexpected { message: "UPTODATE", phase: "syncing" }));

        let mut l = LearnerSync::new(LearnerConfig::new(LearnerRole::Follower), disk(3, Zxid::new(3, 1)), 1);
        l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(2) });
        assert_eq!(l.failure(), Some(&SyncError::EpochBehind { new_epoch: Epoch(2), accepted_epoch: Epoch(3) }));
    }

    // The pending bound refuses a sync that would hold more transactions than allowed.
    #[test]
    fn pending_is_bounded() {
        let mut l = LearnerSync::new(LearnerConfig { role: LearnerRole::Follower, pending_txns_max: 2, ack_before_durable: false }, disk(1, Zxid::ZERO), 1);
        l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(1) });
        l.handle(QuorumMessage::Diff { zxid: Zxid::new(1, 3) });
        for c in 1..=3 {
            l.handle(QuorumMessage::Proposal { txn: txn(1, c) });
        }
        assert_eq!(l.failure(), Some(&SyncError::TooManyPending { limit: 2 }));
    }

    // Late durable reports of another sync, repeated ones, and ones of another epoch are ignored.
    #[test]
    fn stale_durable_reports_are_ignored() {
        let mut l = LearnerSync::new(LearnerConfig::new(LearnerRole::Follower), disk(1, Zxid::new(1, 2)), 10);
        l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(2) });
        let w = writes(&drain(&mut l))[0].0;
        assert_eq!(w, WriteId { epoch: Epoch(2), seq: 10 });
        l.durable(WriteId { epoch: Epoch(2), seq: 9 });
        l.durable(WriteId { epoch: Epoch(1), seq: 10 });
        assert!(drain(&mut l).is_empty(), "neither report confirms write 10");
        l.durable(w);
        l.durable(w);
        assert_eq!(sent(&drain(&mut l)).len(), 1, "one ACKEPOCH");
        assert_eq!(l.accepted_epoch(), Epoch(2));
    }

    // An observer reports with OBSERVERINFO, acks NEWLEADER, applies INFORMs, and never acks proposals.
    #[test]
    fn observer_takes_informs() {
        let mut l = LearnerSync::new(LearnerConfig::new(LearnerRole::Observer), disk(2, Zxid::new(1, 2)), 1);
        assert!(matches!(&sent(&drain(&mut l))[..], [QuorumMessage::ObserverInfo { .. }]));
        l.handle(QuorumMessage::LeaderInfo { new_epoch: Epoch(2) });
        assert_eq!(
            sent(&drain(&mut l)),
            vec![QuorumMessage::AckEpoch { current_epoch: Epoch(2), last_zxid: Zxid::new(1, 2), snapshot_zxid: Zxid::ZERO }],
            "epoch already accepted: no write"
        );
        l.handle(QuorumMessage::Diff { zxid: Zxid::new(1, 2) });
        l.handle(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0) });
        assert_eq!(sent(&drain(&mut l)), vec![QuorumMessage::Ack { zxid: Zxid::new(2, 0) }], "current epoch already durable: no write");
        l.handle(QuorumMessage::UpToDate);
        l.handle(QuorumMessage::Inform { txn: txn(2, 1) });
        let outs = drain(&mut l);
        let w = writes(&outs);
        l.durable(w[0].0);
        let outs = drain(&mut l);
        assert!(matches!(&outs[..], [LearnerOutput::Apply(t)] if t.zxid == Zxid::new(2, 1)), "applied, not acked: {outs:?}");
        l.handle(QuorumMessage::Proposal { txn: txn(2, 2) });
        assert!(matches!(l.failure(), Some(SyncError::Unexpected { message: "PROPOSAL", .. })));
    }
}
