//! Proves ZAB's synchronization and broadcast building blocks together, as
//! property tests over random histories.
//!
//! Sync: a leader holds a random history (several epochs, some never seen by
//! it), retains part of it, and may have proposals of the new epoch in flight;
//! a learner holds a random prefix of that history, possibly followed by
//! transactions the leader never committed (in an old epoch, or in an epoch the
//! leader never saw), with a snapshot somewhere in its committed part. The
//! leader chooses DIFF, TRUNC or SNAP with the real `choose_sync`, the learner
//! takes the messages with the real `LearnerSync`, and a model host executes
//! its writes on a model disk with a random durability schedule. The checkers
//! then demand that the learner's disk holds exactly the leader's history, zxid
//! for zxid, that the trees rebuilt from disk and held in memory have the
//! leader's digest, and that the learner kept DESIGN.md's order: synced history
//! durable, then currentEpoch, then the ACK of NEWLEADER, with nothing applied
//! or advertised that is not durable.
//!
//! Interrupted sync: the same exchange is cut off anywhere (right after
//! NEWLEADER on purpose, often), the learner crashes keeping what it reported
//! durable plus any prefix of its unreported log writes and any of its
//! unreported epoch writes (separate files), restarts from that disk and syncs
//! again, with the same leader or the next; a disk that records the new epoch
//! must hold the whole history, and the second sync must end as above.
//!
//! Broadcast: random ack orders, duplicates, observers, strangers and stale
//! zxids against the real `ProposalTracker`; commits must leave in zxid order,
//! each only after a strict majority of voters acked it, and as soon as one has.
//!
//! The last tests inject bugs (a sync that forgets TRUNC, a DIFF over a purged
//! range, a tracker that commits on a minority) and show that the same
//! properties fail on them.
//! A failing property prints its minimal input; every run is a pure function
//! of that input, so pasting it into `check_sync` or `check_acks` replays it.

use ensemble::acl;
use ensemble::election::{ElectionRules, ZooKeeperRules};
use ensemble::zab::{
    choose_sync, sync_messages, LeaderHistory, LearnerConfig, LearnerDisk, LearnerOutput, LearnerRole, LearnerSync, Persist, ProposalTracker,
    QuorumMessage, QuorumVerifier, SnapReason, SyncPlan,
};
use ensemble::{prep, CreateMode, DataTree, Epoch, PrepConfig, PrepContext, ServerId, SessionId, Txn, WriteOp, Zxid};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

// ---------------------------------------------------------------- histories

/// The shape of a sync scenario; transaction contents come from `content_seed`.
#[derive(Clone, Debug)]
struct Shape {
    /// The leader's history, epoch by epoch: (gap to the previous epoch, transactions in it).
    epochs: Vec<(u32, u32)>,
    /// How much of the history the learner holds, in thousandths.
    learner_prefix: u16,
    /// What the learner logged after that prefix that the leader never committed.
    junk: Vec<Junk>,
    /// Where the learner's snapshot sits within its prefix, in thousandths.
    learner_snapshot: u16,
    /// Where the leader's retained history starts, in thousandths.
    leader_base: u16,
    /// The leader's bound on a DIFF.
    max_diff_txns: usize,
    /// Proposals of the new epoch the leader has in flight (followers only).
    outstanding: usize,
    observer: bool,
    /// A slow disk reports few writes durable until the learner waits for them.
    slow_disk: bool,
    content_seed: u64,
    durability_seed: u64,
}

/// One uncommitted transaction on the learner.
#[derive(Clone, Copy, Debug)]
enum Junk {
    /// The next zxid in the epoch of the previous one.
    SameEpoch,
    /// The first zxid of a later epoch, this many epochs on.
    LaterEpoch(u32),
}

/// An index in `0..n` from a fraction in thousandths, so that shapes shrink toward the start.
fn pick(thousandths: u16, n: usize) -> usize {
    usize::from(thousandths.min(1000)) * n / 1001
}

fn shape() -> impl Strategy<Value = Shape> {
    let junk = prop_oneof![Just(Junk::SameEpoch), (1u32..=2).prop_map(Junk::LaterEpoch)];
    (
        proptest::collection::vec((1u32..=2, 1u32..=4), 0..=4),
        0u16..=1000,
        proptest::collection::vec(junk, 0..=3),
        0u16..=1000,
        0u16..=1000,
        0usize..=12,
        0usize..=2,
        any::<bool>(),
        any::<bool>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(
            |(
                epochs,
                learner_prefix,
                junk,
                learner_snapshot,
                leader_base,
                max_diff_txns,
                outstanding,
                observer,
                slow_disk,
                content_seed,
                durability_seed,
            )| Shape {
                epochs,
                learner_prefix,
                junk,
                learner_snapshot,
                leader_base,
                max_diff_txns,
                outstanding,
                observer,
                slow_disk,
                content_seed,
                durability_seed,
            },
        )
}

/// A random write over a few paths and sessions; `prep` decides whether it succeeds.
fn random_op(rng: &mut ChaCha8Rng) -> WriteOp {
    const PATHS: [&str; 4] = ["/a", "/b", "/a/x", "/b/y"];
    let path = PATHS[rng.gen_range(0..PATHS.len())].to_string();
    let data: Vec<u8> = (0..rng.gen_range(0..4)).map(|_| rng.gen()).collect();
    match rng.gen_range(0..7) {
        0 | 1 => {
            let mode = [CreateMode::Persistent, CreateMode::Ephemeral, CreateMode::PersistentSequential][rng.gen_range(0..3)];
            WriteOp::Create { path, data: data.into(), acl: acl::open_acl_unsafe(), mode, ttl_ms: None }
        }
        2 | 3 => WriteOp::SetData { path, data: data.into(), version: -1 },
        4 => WriteOp::Delete { path, version: -1 },
        5 => WriteOp::CreateSession { timeout_ms: 6_000 },
        _ => WriteOp::CloseSession,
    }
}

/// Prepares a random write at `zxid` against `tree` and applies it there.
fn next_txn(rng: &mut ChaCha8Rng, tree: &mut DataTree, zxid: Zxid) -> Txn {
    let config = PrepConfig::default();
    let session = SessionId(rng.gen_range(1..=3));
    let ctx = PrepContext { zxid, session, cxid: zxid.counter as i32, time_ms: 1_000 + zxid.to_u64() as i64, auth: &[], config: &config };
    let txn = prep(tree, &ctx, &random_op(rng));
    tree.apply(&txn);
    txn
}

fn apply_all(mut tree: DataTree, txns: &[Txn]) -> DataTree {
    for t in txns {
        tree.apply(t);
    }
    tree
}

/// A concrete scenario built from a `Shape`.
struct Scenario {
    /// Everything the leader will make everyone hold.
    history: Vec<Txn>,
    leader_base: usize,
    leader_tree: DataTree,
    outstanding: Vec<Txn>,
    new_epoch: Epoch,
    learner_disk: Disk,
    learner_state: LearnerDisk,
    role: LearnerRole,
}

impl Scenario {
    fn build(shape: &Shape) -> Scenario {
        let mut rng = ChaCha8Rng::seed_from_u64(shape.content_seed);
        let mut zxids = Vec::new();
        let mut epoch = 0;
        for &(gap, count) in &shape.epochs {
            epoch += gap;
            zxids.extend((1..=count).map(|c| Zxid::new(epoch, c)));
        }
        let mut leader_tree = DataTree::new();
        let history: Vec<Txn> = zxids.iter().map(|&z| next_txn(&mut rng, &mut leader_tree, z)).collect();

        // The learner: a prefix, then zxids strictly between the prefix's end and
        // the leader's next zxid, which ZAB's prefix property demands of junk.
        let prefix = pick(shape.learner_prefix, history.len() + 1);
        let low = if prefix == 0 { Zxid::ZERO } else { zxids[prefix - 1] };
        let high = zxids.get(prefix).copied();
        let mut learner_tree = apply_all(DataTree::new(), &history[..prefix]);
        let mut junk = Vec::new();
        let mut last = low;
        for step in &shape.junk {
            let candidate = match step {
                Junk::SameEpoch if last.epoch.0 > 0 => last.next(),
                Junk::SameEpoch => continue,
                Junk::LaterEpoch(gap) => Zxid::new(last.epoch.0 + gap, 1),
            };
            if high.is_some_and(|h| candidate >= h) {
                continue;
            }
            junk.push(next_txn(&mut rng, &mut learner_tree, candidate));
            last = candidate;
        }
        let snapshot = pick(shape.learner_snapshot, prefix + 1);
        let learner_disk = Disk {
            snapshot_tree: apply_all(DataTree::new(), &history[..snapshot]),
            snapshot_zxids: zxids[..snapshot].to_vec(),
            log: history[snapshot..prefix].iter().chain(&junk).cloned().collect(),
            accepted_epoch: last.epoch,
            current_epoch: last.epoch,
        };
        let top_epoch = zxids.iter().chain(junk.iter().map(|t| &t.zxid)).map(|z| z.epoch.0).max().unwrap_or(0);
        let new_epoch = Epoch(top_epoch + 1);
        let role = if shape.observer { LearnerRole::Observer } else { LearnerRole::Follower };
        let outstanding_count = if shape.observer { 0 } else { shape.outstanding };
        let mut proposed = leader_tree.clone();
        let outstanding = (1..=outstanding_count as u32).map(|c| next_txn(&mut rng, &mut proposed, Zxid { epoch: new_epoch, counter: c })).collect();
        let learner_state = LearnerDisk {
            accepted_epoch: learner_disk.accepted_epoch,
            current_epoch: learner_disk.current_epoch,
            last_zxid: learner_disk.last_zxid(),
            snapshot_zxid: learner_disk.snapshot_tree.last_zxid(),
        };
        Scenario {
            history,
            leader_base: pick(shape.leader_base, zxids.len() + 1),
            leader_tree,
            outstanding,
            new_epoch,
            learner_disk,
            learner_state,
            role,
        }
    }

    fn leader_history(&self) -> LeaderHistory<'_> {
        let base = if self.leader_base == 0 { Zxid::ZERO } else { self.history[self.leader_base - 1].zxid };
        LeaderHistory::new(base, &self.history[self.leader_base..])
    }

    fn history_zxids(&self) -> Vec<Zxid> {
        self.history.iter().map(|t| t.zxid).collect()
    }
}

// ---------------------------------------------------------------- the model host

/// A learner's disk: a snapshot (with the zxids it covers) and a log.
#[derive(Clone)]
struct Disk {
    snapshot_tree: DataTree,
    snapshot_zxids: Vec<Zxid>,
    log: Vec<Txn>,
    accepted_epoch: Epoch,
    current_epoch: Epoch,
}

impl Disk {
    fn last_zxid(&self) -> Zxid {
        self.log.last().map_or(self.snapshot_tree.last_zxid(), |t| t.zxid)
    }

    fn zxids(&self) -> Vec<Zxid> {
        self.snapshot_zxids.iter().copied().chain(self.log.iter().map(|t| t.zxid)).collect()
    }

    /// What recovery loads: the snapshot, then the log replayed up to `upto`.
    fn rebuild(&self, upto: Zxid) -> DataTree {
        let upto: Vec<Txn> = self.log.iter().filter(|t| t.zxid <= upto).cloned().collect();
        apply_all(self.snapshot_tree.clone(), &upto)
    }

    /// Performs one write, refusing those a real disk could not honour.
    fn execute(&mut self, persist: &Persist, leader_zxids: &[Zxid]) -> Result<(), String> {
        match persist {
            Persist::AcceptedEpoch(e) => self.accepted_epoch = *e,
            Persist::CurrentEpoch(e) => self.current_epoch = *e,
            Persist::Truncate { zxid } => {
                let snapshot = self.snapshot_tree.last_zxid();
                if *zxid < snapshot {
                    return Err(format!("TRUNC to {zxid} below the snapshot at {snapshot}"));
                }
                if *zxid != snapshot && !self.log.iter().any(|t| t.zxid == *zxid) {
                    return Err(format!("TRUNC to {zxid}, which the learner does not hold"));
                }
                self.log.retain(|t| t.zxid <= *zxid);
            }
            Persist::Snapshot(tree) => {
                let at = tree.last_zxid();
                self.snapshot_zxids = leader_zxids.iter().copied().filter(|z| *z <= at).collect();
                self.snapshot_tree = tree.clone();
                self.log.clear();
            }
            Persist::Txns(txns) => {
                for t in txns {
                    if t.zxid <= self.last_zxid() {
                        return Err(format!("append of {} after {}", t.zxid, self.last_zxid()));
                    }
                    self.log.push(t.clone());
                }
            }
        }
        Ok(())
    }
}

/// Runs a `LearnerSync` against the model disk, checking the learner's ordering
/// rules at every step; durability arrives on a seeded random schedule.
struct Host {
    learner: LearnerSync,
    disk: Disk,
    memory: DataTree,
    unconfirmed: VecDeque<(ensemble::zab::WriteId, Persist)>,
    sent: Vec<QuorumMessage>,
    up_to_date: bool,
    rng: ChaCha8Rng,
    /// How likely a write is reported durable after each message.
    confirm_probability: f64,
    /// Every zxid of the leader's history, for the snapshot model.
    leader_zxids: Vec<Zxid>,
    /// Set when NEWLEADER is delivered: what the disk must hold before currentEpoch is recorded.
    history_before_epoch: Option<Vec<Zxid>>,
    new_epoch: Epoch,
}

impl Host {
    /// A learner restarted from `disk`, its tree rebuilt from it, numbering writes from `first_seq`.
    fn start(scenario: &Scenario, disk: Disk, first_seq: u64, new_epoch: Epoch, shape: &Shape) -> Host {
        let state = LearnerDisk {
            accepted_epoch: disk.accepted_epoch,
            current_epoch: disk.current_epoch,
            last_zxid: disk.last_zxid(),
            snapshot_zxid: disk.snapshot_tree.last_zxid(),
        };
        Host {
            learner: LearnerSync::new(LearnerConfig::new(scenario.role), state, first_seq),
            memory: disk.rebuild(disk.last_zxid()),
            disk,
            unconfirmed: VecDeque::new(),
            sent: Vec::new(),
            up_to_date: false,
            rng: ChaCha8Rng::seed_from_u64(shape.durability_seed ^ first_seq),
            confirm_probability: if shape.slow_disk { 0.1 } else { 0.5 },
            leader_zxids: scenario.history_zxids(),
            history_before_epoch: None,
            new_epoch,
        }
    }

    /// A crash: the writes reported durable survive, and some that were not
    /// reported may have reached the disk too. The log (truncations, appends,
    /// snapshots) keeps a prefix of `log_survivors` of them, in order; the epoch
    /// files are separate, so each epoch write survives or not on its own, by
    /// the bits of `epoch_survivors`.
    fn crash(mut self, log_survivors: usize, epoch_survivors: u8) -> Result<Disk, String> {
        let (mut log_seen, mut epoch_seen) = (0, 0);
        for (_, persist) in &self.unconfirmed {
            let survives = match persist {
                Persist::AcceptedEpoch(_) | Persist::CurrentEpoch(_) => {
                    epoch_seen += 1;
                    epoch_survivors >> ((epoch_seen - 1) % 8) & 1 == 1
                }
                Persist::Truncate { .. } | Persist::Snapshot(_) | Persist::Txns(_) => {
                    log_seen += 1;
                    log_seen <= log_survivors
                }
            };
            if survives {
                self.disk.execute(persist, &self.leader_zxids)?;
            }
        }
        Ok(self.disk)
    }

    fn pump(&mut self) -> Result<(), String> {
        while let Some(out) = self.learner.poll_output() {
            match out {
                LearnerOutput::Send(msg) => {
                    // Each message may only say what the disk already holds.
                    match msg {
                        QuorumMessage::AckEpoch { .. } if self.disk.accepted_epoch != self.new_epoch => {
                            return Err("ACKEPOCH before the accepted epoch was durable".into());
                        }
                        QuorumMessage::Ack { zxid } if zxid.counter == 0 && self.disk.current_epoch != self.new_epoch => {
                            return Err("ACK of NEWLEADER before currentEpoch was durable".into());
                        }
                        QuorumMessage::Ack { zxid } if zxid.counter != 0 && !self.disk.zxids().contains(&zxid) => {
                            return Err(format!("ACK of {zxid} before it was durable"));
                        }
                        _ => {}
                    }
                    self.sent.push(msg);
                }
                LearnerOutput::Persist { write, persist } => self.unconfirmed.push_back((write, persist)),
                LearnerOutput::RebuildTree { zxid } => self.memory = self.disk.rebuild(zxid),
                LearnerOutput::LoadTree(tree) => self.memory = tree,
                LearnerOutput::Apply(txn) => {
                    if txn.zxid <= self.memory.last_zxid() {
                        return Err(format!("Apply {} on a tree at {}", txn.zxid, self.memory.last_zxid()));
                    }
                    if !self.disk.zxids().contains(&txn.zxid) {
                        return Err(format!("Apply {} before it is durable", txn.zxid));
                    }
                    self.memory.apply(&txn);
                }
                LearnerOutput::UpToDate => self.up_to_date = true,
            }
        }
        if let Some(failure) = self.learner.failure() {
            return Err(format!("the learner abandoned the sync: {failure}"));
        }
        self.learner.check_invariants();
        // What the learner advertises is applied, and what it calls durable is on disk.
        if self.learner.last_zxid() != self.memory.last_zxid() {
            return Err(format!("advertises {} with the tree at {}", self.learner.last_zxid(), self.memory.last_zxid()));
        }
        if self.learner.durable_zxid() != self.disk.last_zxid() {
            return Err(format!("calls {} durable with the disk at {}", self.learner.durable_zxid(), self.disk.last_zxid()));
        }
        Ok(())
    }

    /// Performs the first `n` pending writes and reports the last one durable.
    fn confirm(&mut self, n: usize) -> Result<(), String> {
        let mut last = None;
        for _ in 0..n {
            let (write, persist) = self.unconfirmed.pop_front().expect("n <= pending");
            if let (Persist::CurrentEpoch(_), Some(expected)) = (&persist, &self.history_before_epoch) {
                if self.disk.zxids() != *expected {
                    return Err(format!("currentEpoch recorded while the disk holds {:?}, not the synced history {:?}", self.disk.zxids(), expected));
                }
            }
            self.disk.execute(&persist, &self.leader_zxids)?;
            last = Some(write);
        }
        if let Some(write) = last {
            self.learner.durable(write);
            self.pump()?;
        }
        Ok(())
    }

    fn maybe_confirm(&mut self) -> Result<(), String> {
        if !self.unconfirmed.is_empty() && self.rng.gen_bool(self.confirm_probability) {
            let n = self.rng.gen_range(1..=self.unconfirmed.len());
            self.confirm(n)?;
        }
        Ok(())
    }

    fn settle(&mut self) -> Result<(), String> {
        while !self.unconfirmed.is_empty() {
            self.confirm(self.unconfirmed.len())?;
        }
        Ok(())
    }

    fn deliver(&mut self, msg: QuorumMessage) -> Result<(), String> {
        if let Some(back) = self.learner.handle(msg) {
            return Err(format!("the learner handed back {}", back.kind()));
        }
        self.pump()?;
        self.maybe_confirm()
    }

    fn take_sent(&mut self) -> Vec<QuorumMessage> {
        std::mem::take(&mut self.sent)
    }
}

/// A leader's choice of sync.
type PlanFn = fn(&LeaderHistory<'_>, Zxid, usize) -> SyncPlan;

/// When to cut a sync short.
#[derive(Copy, Clone, Debug)]
enum Stop {
    Never,
    /// After this many messages from the leader.
    After(usize),
    /// Right after NEWLEADER.
    AfterNewLeader,
}

/// Where one run of the handshake ended.
enum Ended {
    /// UPTODATE was taken; the plan the leader chose, and the learner's last zxid it was chosen for.
    Synced(SyncPlan, Zxid),
    /// Cut off after this many messages from the leader.
    Interrupted,
}

/// Runs the whole handshake with a leader of `new_epoch` holding `scenario`'s history and
/// `outstanding` proposals, checking every step; stops after `stop_after` leader messages if given.
fn run_sync(
    host: &mut Host,
    scenario: &Scenario,
    new_epoch: Epoch,
    outstanding: &[Txn],
    plan_fn: PlanFn,
    max_diff_txns: usize,
    stop_after: Stop,
) -> Result<Ended, String> {
    let history = scenario.leader_history();
    let state = host.learner.clone();
    host.pump()?;
    let info = host.take_sent();
    let (accepted_epoch, last_zxid) = (state.accepted_epoch(), state.durable_zxid());
    let expected_info = match scenario.role {
        LearnerRole::Follower => QuorumMessage::FollowerInfo { accepted_epoch, last_zxid },
        LearnerRole::Observer => QuorumMessage::ObserverInfo { accepted_epoch, last_zxid },
    };
    if info != [expected_info] {
        return Err(format!("first message {info:?}"));
    }
    let mut delivered = 0;
    let stop = |delivered: usize, msg: &QuorumMessage| match stop_after {
        Stop::Never => false,
        Stop::After(n) => delivered >= n,
        Stop::AfterNewLeader => matches!(msg, QuorumMessage::NewLeader { .. }),
    };

    let leader_info = QuorumMessage::LeaderInfo { new_epoch };
    host.deliver(leader_info.clone())?;
    delivered += 1;
    if stop(delivered, &leader_info) {
        return Ok(Ended::Interrupted);
    }
    host.settle()?;
    let sent = host.take_sent();
    let [QuorumMessage::AckEpoch { current_epoch, last_zxid: acked_zxid, .. }] = sent[..] else { return Err(format!("expected ACKEPOCH, got {sent:?}")) };
    if (current_epoch, acked_zxid) != (state.current_epoch(), last_zxid) || host.disk.accepted_epoch != new_epoch {
        return Err(format!("ACKEPOCH ({current_epoch:?}, {acked_zxid}) or the accepted epoch {:?} is wrong", host.disk.accepted_epoch));
    }

    let plan = plan_fn(&history, acked_zxid, max_diff_txns);
    let messages = sync_messages(&plan, &history, &scenario.leader_tree, outstanding, new_epoch);
    let mut expected_log = scenario.history_zxids();
    expected_log.extend(outstanding.iter().map(|t| t.zxid));
    for msg in messages {
        if matches!(msg, QuorumMessage::NewLeader { .. }) {
            host.history_before_epoch = Some(expected_log.clone());
        }
        host.deliver(msg.clone())?;
        delivered += 1;
        if stop(delivered, &msg) {
            return Ok(Ended::Interrupted);
        }
        if !host.sent.is_empty() && host.history_before_epoch.is_none() {
            return Err(format!("sent {:?} before NEWLEADER", host.sent));
        }
    }
    host.settle()?;
    let mut expected_acks = vec![QuorumMessage::Ack { zxid: Zxid { epoch: new_epoch, counter: 0 } }];
    expected_acks.extend(outstanding.iter().map(|t| QuorumMessage::Ack { zxid: t.zxid }));
    let acks = host.take_sent();
    if acks != expected_acks {
        return Err(format!("after NEWLEADER sent {acks:?}, expected {expected_acks:?}"));
    }
    host.deliver(QuorumMessage::UpToDate)?;
    if !host.up_to_date {
        return Err("UPTODATE did not make the learner serve".into());
    }
    Ok(Ended::Synced(plan, acked_zxid))
}

/// Checks a learner that took UPTODATE against the leader: the same history
/// zxid for zxid, the same digests on disk and in memory, and broadcast going on.
fn check_synced(host: &mut Host, scenario: &Scenario, new_epoch: Epoch, outstanding: &[Txn], context: String) -> Result<(), String> {
    let mut expected_log = scenario.history_zxids();
    expected_log.extend(outstanding.iter().map(|t| t.zxid));
    if host.disk.zxids() != expected_log {
        return Err(format!("disk holds {:?}, the leader's history is {:?} ({context})", host.disk.zxids(), expected_log));
    }
    if host.disk.current_epoch != new_epoch {
        return Err(format!("current epoch {:?} on disk ({context})", host.disk.current_epoch));
    }
    let committed = scenario.leader_tree.last_zxid();
    for (what, tree) in [("rebuilt from disk", host.disk.rebuild(committed)), ("in memory", host.memory.clone())] {
        if tree.digest() != scenario.leader_tree.digest() || tree.last_zxid() != committed {
            return Err(format!(
                "tree {what} at {} digest {:016x}, the leader's at {} digest {:016x} ({context})",
                tree.last_zxid(),
                tree.digest(),
                committed,
                scenario.leader_tree.digest()
            ));
        }
    }
    // Broadcast goes on: committing the proposals in flight brings memory to the leader's proposed tree.
    for t in outstanding {
        host.deliver(QuorumMessage::Commit { zxid: t.zxid })?;
    }
    host.settle()?;
    let proposed = apply_all(scenario.leader_tree.clone(), outstanding);
    if host.memory.digest() != proposed.digest() || host.learner.last_zxid() != proposed.last_zxid() {
        return Err(format!("after the commits memory is at {}, the leader at {} ({context})", host.memory.last_zxid(), proposed.last_zxid()));
    }
    Ok(())
}

/// Runs one sync scenario end to end and checks its outcome against the leader.
fn check_sync(shape: &Shape, plan_fn: PlanFn) -> Result<(), String> {
    let scenario = Scenario::build(shape);
    let mut host = Host::start(&scenario, scenario.learner_disk.clone(), 1, scenario.new_epoch, shape);
    let Ended::Synced(plan, from) =
        run_sync(&mut host, &scenario, scenario.new_epoch, &scenario.outstanding, plan_fn, shape.max_diff_txns, Stop::Never)?
    else {
        unreachable!("not asked to stop")
    };
    check_synced(&mut host, &scenario, scenario.new_epoch, &scenario.outstanding, format!("plan {plan:?}, learner was at {from}"))
}

/// How an interrupted sync is cut short and resumed.
#[derive(Clone, Debug)]
struct Interruption {
    /// After how many leader messages the connection drops, in thousandths of the whole exchange;
    /// `None` cuts right after NEWLEADER, where the durability order matters most.
    cut: Option<u16>,
    /// How many unreported log writes still reached the disk before the crash.
    log_survivors: usize,
    /// Which unreported epoch writes still reached the disk, bit by bit.
    epoch_survivors: u8,
    /// Whether the learner reconnects to the same leader, or to one of the next epoch
    /// (to which the first leader's proposals in flight were never committed).
    same_epoch: bool,
}

fn interruption() -> impl Strategy<Value = Interruption> {
    (proptest::option::of(0u16..=1000), 0usize..=4, any::<u8>(), any::<bool>())
        .prop_map(|(cut, log_survivors, epoch_survivors, same_epoch)| Interruption { cut, log_survivors, epoch_survivors, same_epoch })
}

/// Interrupts a sync at a random point, crashes the learner, and syncs it again from what its disk kept.
fn check_interrupted_sync(shape: &Shape, interruption: &Interruption) -> Result<(), String> {
    let scenario = Scenario::build(shape);
    let stop_after = match interruption.cut {
        Some(cut) => Stop::After(1 + pick(cut, 3 + 2 * scenario.history.len() + scenario.outstanding.len())),
        None => Stop::AfterNewLeader,
    };
    let mut host = Host::start(&scenario, scenario.learner_disk.clone(), 1, scenario.new_epoch, shape);
    let first = run_sync(&mut host, &scenario, scenario.new_epoch, &scenario.outstanding, choose_sync, shape.max_diff_txns, stop_after)?;
    let stale = host.learner.clone();
    let disk = host.crash(interruption.log_survivors, interruption.epoch_survivors)?;
    // The order DESIGN.md demands, seen from the disk a crash left: a recorded
    // current epoch implies the whole synced history is there.
    if disk.current_epoch == scenario.new_epoch && !disk.zxids().starts_with(&scenario.history_zxids()) {
        return Err(format!("crash left current epoch {:?} with only {:?}", disk.current_epoch, disk.zxids()));
    }
    let (epoch, outstanding) =
        if interruption.same_epoch { (scenario.new_epoch, scenario.outstanding.clone()) } else { (Epoch(scenario.new_epoch.0 + 1), Vec::new()) };
    let mut host = Host::start(&scenario, disk, 1_000, epoch, shape);
    // A durable report of the abandoned sync, arriving late, must confirm nothing.
    if let (Some(e), true) = (stale.new_epoch(), matches!(first, Ended::Interrupted)) {
        host.learner.durable(ensemble::zab::WriteId { epoch: e, seq: 999 });
    }
    let Ended::Synced(plan, from) = run_sync(&mut host, &scenario, epoch, &outstanding, choose_sync, shape.max_diff_txns, Stop::Never)? else {
        unreachable!("not asked to stop")
    };
    check_synced(&mut host, &scenario, epoch, &outstanding, format!("after a cut {stop_after:?}: plan {plan:?}, learner was at {from}"))
}

/// 512 cases per property unless `PROPTEST_CASES` asks for more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    // Whatever the learner holds, the leader's chosen sync leaves on its disk exactly the leader's
    // history (zxid for zxid, equal digests on disk and in memory), in DESIGN.md's durability order.
    #[test]
    fn sync_yields_the_leaders_history(shape in shape()) {
        check_sync(&shape, choose_sync).map_err(TestCaseError::fail)?;
    }

    // A sync cut off anywhere, followed by a crash that keeps any prefix of the writes, leaves a disk
    // that never records the new epoch without its history, and from which a new sync (with the
    // same leader or the next) again yields exactly the leader's history.
    #[test]
    fn interrupted_sync_recovers_from_disk(shape in shape(), interruption in interruption()) {
        check_interrupted_sync(&shape, &interruption).map_err(TestCaseError::fail)?;
    }

    // Random ack orders, duplicates, observers, strangers and stale zxids: commits leave in
    // zxid order, each only after a strict majority of voters acked it, and as soon as one has.
    #[test]
    fn commits_follow_quorums_in_zxid_order(run in ack_run()) {
        check_acks(&run, ZooKeeperRules).map_err(TestCaseError::fail)?;
    }
}

// ---------------------------------------------------------------- broadcast

/// A random stream of acks against a leader with `proposals` in flight.
#[derive(Clone, Debug)]
struct AckRun {
    voters: u64,
    observers: u64,
    proposals: u32,
    /// (who, which): decoded by `check_acks`.
    events: Vec<(u8, u8)>,
}

fn ack_run() -> impl Strategy<Value = AckRun> {
    (1u64..=7, 0u64..=2, 1u32..=8, proptest::collection::vec(any::<(u8, u8)>(), 0..64)).prop_map(|(voters, observers, proposals, events)| AckRun {
        voters,
        observers,
        proposals,
        events,
    })
}

/// Drives a tracker (leader 1) through `run` and checks every commit against a
/// strict-majority model that does not share the tracker's quorum rule.
fn check_acks<R: ElectionRules>(run: &AckRun, rules: R) -> Result<(), String> {
    let voters: BTreeSet<ServerId> = (1..=run.voters).map(ServerId).collect();
    let observers: BTreeSet<ServerId> = (run.voters + 1..=run.voters + run.observers).map(ServerId).collect();
    let quorum = QuorumVerifier::with_rules(voters.clone(), observers, rules).map_err(|e| e.to_string())?;
    let leader = ServerId(1);
    let mut tracker: ProposalTracker<u32, R> = ProposalTracker::new(quorum, leader, Zxid::new(4, 9), run.proposals as usize);
    let zxid = |i: u32| Zxid::new(5, i + 1);
    for i in 0..run.proposals {
        tracker.propose(zxid(i), i).map_err(|e| e.to_string())?;
    }
    let mut model: BTreeMap<Zxid, BTreeSet<ServerId>> = (0..run.proposals).map(|i| (zxid(i), BTreeSet::new())).collect();
    let mut next_commit = 0u32;
    let step = |tracker: &mut ProposalTracker<u32, R>,
                model: &BTreeMap<Zxid, BTreeSet<ServerId>>,
                next_commit: &mut u32,
                what: &str|
     -> Result<(), String> {
        while let Some((z, payload)) = tracker.pop_committed() {
            if z != zxid(*next_commit) || payload != *next_commit {
                return Err(format!("after {what}: committed {z} (payload {payload}) when {} was next", zxid(*next_commit)));
            }
            let acks = &model[&z];
            if acks.len() * 2 <= voters.len() {
                return Err(format!("after {what}: committed {z} with acks from {acks:?} of {} voters", voters.len()));
            }
            *next_commit += 1;
        }
        if let Some(acks) = model.get(&zxid(*next_commit)) {
            if acks.len() * 2 > voters.len() {
                return Err(format!("after {what}: {} has acks from {acks:?} of {} voters but is not committed", zxid(*next_commit), voters.len()));
            }
        }
        tracker.check_invariants();
        Ok(())
    };
    let servers = run.voters + run.observers + 1;
    for &(who, which) in &run.events {
        let who = u64::from(who) % servers + 1;
        let which = u32::from(which) % (run.proposals + 2);
        let target = match which {
            i if i < run.proposals => zxid(i),
            i if i == run.proposals => Zxid::new(4, 3),
            _ => Zxid::new(5, run.proposals + 7),
        };
        let who = if who == servers { ServerId(99) } else { ServerId(who) };
        if who == leader {
            tracker.durable(target);
            for (z, acks) in model.iter_mut() {
                if *z <= target {
                    acks.insert(leader);
                }
            }
        } else {
            tracker.ack(who, target);
            if voters.contains(&who) {
                if let Some(acks) = model.get_mut(&target) {
                    acks.insert(who);
                }
            }
        }
        step(&mut tracker, &model, &mut next_commit, &format!("ack of {target} by {}", who.0))?;
    }
    // Once every voter acks everything, everything commits.
    for &v in &voters {
        for i in 0..run.proposals {
            tracker.ack(v, zxid(i));
            model.get_mut(&zxid(i)).expect("proposed").insert(v);
        }
    }
    step(&mut tracker, &model, &mut next_commit, "all acks")?;
    if next_commit != run.proposals {
        return Err(format!("only {next_commit} of {} committed with every ack in", run.proposals));
    }
    Ok(())
}

// ---------------------------------------------------------------- checkers catch injected bugs

/// Runs `property` over `cases` generated inputs with a fixed seed, returning the minimal failure.
fn find_failure<S: Strategy>(strategy: S, cases: u32, property: impl Fn(&S::Value) -> Result<(), String>) -> Option<(S::Value, String)>
where
    S::Value: Clone + std::fmt::Debug,
{
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    match runner.run(&strategy, |value| property(&value).map_err(TestCaseError::fail)) {
        Ok(()) => None,
        Err(TestError::Fail(why, value)) => Some((value, why.to_string())),
        Err(TestError::Abort(why)) => panic!("the property aborted: {why}"),
    }
}

/// A sync that never truncates: it sends the diff a TRUNC would have followed with.
fn forgets_trunc(history: &LeaderHistory<'_>, learner_last_zxid: Zxid, max_diff_txns: usize) -> SyncPlan {
    match choose_sync(history, learner_last_zxid, max_diff_txns) {
        SyncPlan::Trunc { send_from, .. } => SyncPlan::Diff { send_from },
        plan => plan,
    }
}

// The sync property catches a leader that forgets TRUNC: a learner ahead refuses the DIFF, and one
// with an uncommitted tail between the leader's zxids keeps it, which the history comparison reports.
#[test]
fn sync_checker_catches_a_forgotten_trunc() {
    let (shape, why) = find_failure(shape(), 512, |s| check_sync(s, forgets_trunc)).expect("no case exposed the forgotten TRUNC");
    eprintln!("forgotten TRUNC exposed by {shape:?}: {why}");
    check_sync(&shape, choose_sync).expect("the real choice syncs the same case");
    let tail = Shape { learner_prefix: 600, junk: vec![Junk::SameEpoch], ..corner_base() };
    let why = check_sync(&tail, forgets_trunc).expect_err("the kept tail must be caught");
    assert!(why.contains("not the synced history"), "{why}");
    check_sync(&tail, choose_sync).expect("the real choice truncates the tail");
}

/// A sync that sends the diff but skips the snapshot when the learner is before the retained history.
fn diff_instead_of_snap(history: &LeaderHistory<'_>, learner_last_zxid: Zxid, max_diff_txns: usize) -> SyncPlan {
    match choose_sync(history, learner_last_zxid, max_diff_txns) {
        SyncPlan::Snap { .. } => SyncPlan::Diff { send_from: history.txns().partition_point(|t| t.zxid <= learner_last_zxid) },
        plan => plan,
    }
}

// The sync property catches a DIFF sent where a SNAP was needed: the learner misses purged transactions.
#[test]
fn sync_checker_catches_a_diff_over_a_purged_range() {
    let (shape, why) = find_failure(shape(), 512, |s| check_sync(s, diff_instead_of_snap)).expect("no case exposed the missing SNAP");
    eprintln!("missing SNAP exposed by {shape:?}: {why}");
    check_sync(&shape, choose_sync).expect("the real choice syncs the same case");
}

/// The bug of counting any single ack as a quorum.
#[derive(Clone, Copy, Debug)]
struct MinorityCommits;

impl ElectionRules for MinorityCommits {
    fn supersedes(&self, new: &ensemble::election::Vote, current: &ensemble::election::Vote) -> bool {
        ZooKeeperRules.supersedes(new, current)
    }

    fn is_quorum(&self, agreeing: usize, _voters: usize) -> bool {
        agreeing > 0
    }
}

// The commit property catches a tracker that commits on a minority of acks.
#[test]
fn commit_checker_catches_a_minority_commit() {
    let (run, why) = find_failure(ack_run(), 256, |r| check_acks(r, MinorityCommits)).expect("no case exposed the minority commit");
    eprintln!("minority commit exposed by {run:?}: {why}");
    assert!(why.contains("committed") && why.contains("voters"), "{why}");
    check_acks(&run, ZooKeeperRules).expect("the real rule handles the same case");
}

/// Two epochs, (1,1..3) and (3,1..2), a learner holding all of it, one proposal in flight.
fn corner_base() -> Shape {
    Shape {
        epochs: vec![(1, 3), (2, 2)],
        learner_prefix: 1000,
        junk: vec![],
        learner_snapshot: 0,
        leader_base: 0,
        max_diff_txns: 100,
        outstanding: 1,
        observer: false,
        slow_disk: false,
        content_seed: 7,
        durability_seed: 11,
    }
}

// The named corner cases, each one deterministic scenario with the plan it must get, through the same checker.
#[test]
fn named_corner_cases_sync() {
    let base = corner_base();
    let z = Zxid::new;
    let cases = [
        ("exactly up to date", base.clone(), SyncPlan::Diff { send_from: 5 }),
        ("behind on the history", Shape { learner_prefix: 400, ..base.clone() }, SyncPlan::Diff { send_from: 2 }),
        (
            "ahead in the same epoch",
            Shape { junk: vec![Junk::SameEpoch, Junk::SameEpoch], ..base.clone() },
            SyncPlan::Trunc { zxid: z(3, 2), send_from: 5 },
        ),
        (
            "ahead in a later epoch",
            Shape { junk: vec![Junk::LaterEpoch(1)], ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid: z(4, 1), shared: z(3, 2) } },
        ),
        (
            "uncommitted tail of an old epoch",
            Shape { learner_prefix: 600, junk: vec![Junk::SameEpoch], ..base.clone() },
            SyncPlan::Trunc { zxid: z(1, 3), send_from: 3 },
        ),
        (
            "an epoch the leader never saw",
            Shape { learner_prefix: 600, junk: vec![Junk::LaterEpoch(1)], ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid: z(2, 1), shared: z(1, 3) } },
        ),
        (
            "old tail, then an unseen epoch",
            Shape { learner_prefix: 600, junk: vec![Junk::SameEpoch, Junk::LaterEpoch(1), Junk::SameEpoch], ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::Diverged { learner_last_zxid: z(2, 2), shared: z(1, 3) } },
        ),
        ("at the retained history's base", Shape { learner_prefix: 600, leader_base: 600, ..base.clone() }, SyncPlan::Diff { send_from: 0 }),
        (
            "before the retained history",
            Shape { learner_prefix: 100, leader_base: 800, ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::BeforeHistory { base_zxid: z(3, 1) } },
        ),
        (
            "too far behind",
            Shape { learner_prefix: 0, max_diff_txns: 2, ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::TooFarBehind { txns: 5, limit: 2 } },
        ),
        (
            "snapshot over an uncommitted tail",
            Shape { learner_prefix: 600, junk: vec![Junk::SameEpoch], max_diff_txns: 1, ..base.clone() },
            SyncPlan::Snap { reason: SnapReason::TooFarBehind { txns: 2, limit: 1 } },
        ),
        (
            "observer with a snapshot",
            Shape { learner_prefix: 700, learner_snapshot: 600, observer: true, ..base.clone() },
            SyncPlan::Diff { send_from: 4 },
        ),
        ("empty leader, empty learner", Shape { epochs: vec![], ..base.clone() }, SyncPlan::Diff { send_from: 0 }),
        (
            "empty leader, learner ahead",
            Shape { epochs: vec![], junk: vec![Junk::LaterEpoch(2), Junk::SameEpoch], ..base },
            SyncPlan::Trunc { zxid: Zxid::ZERO, send_from: 0 },
        ),
    ];
    for (name, shape, expected) in cases {
        let scenario = Scenario::build(&shape);
        let plan = choose_sync(&scenario.leader_history(), scenario.learner_state.last_zxid, shape.max_diff_txns);
        assert_eq!(plan, expected, "{name}: learner at {}", scenario.learner_state.last_zxid);
        check_sync(&shape, choose_sync).unwrap_or_else(|why| panic!("{name}: {why}"));
    }
}

// The generator is not vacuous: 512 draws reach every kind of plan, SNAPs for diverged learners, observers,
// learner snapshots and proposals in flight.
#[test]
fn generator_reaches_every_plan() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for _ in 0..512 {
        let shape = shape().new_tree(&mut runner).expect("draws").current();
        let scenario = Scenario::build(&shape);
        let last = scenario.learner_state.last_zxid;
        let plan = choose_sync(&scenario.leader_history(), last, shape.max_diff_txns);
        let kind = match plan {
            SyncPlan::Diff { send_from } if send_from == scenario.leader_history().txns().len() => "empty DIFF",
            SyncPlan::Diff { .. } => "DIFF",
            SyncPlan::Trunc { zxid, .. } if zxid.epoch != last.epoch => "TRUNC to nothing",
            SyncPlan::Snap { reason: SnapReason::Diverged { .. } } => "SNAP, diverged",
            SyncPlan::Snap { reason: SnapReason::BelowLearnerSnapshot { .. } } => unreachable!("choose_sync does not know the learner's snapshot"),
            SyncPlan::Trunc { send_from, .. } if send_from < scenario.leader_history().txns().len() => "TRUNC+DIFF",
            SyncPlan::Trunc { .. } => "TRUNC",
            SyncPlan::Snap { reason: SnapReason::NoHistory } => "SNAP, no history",
            SyncPlan::Snap { reason: SnapReason::BeforeHistory { .. } } => "SNAP, before history",
            SyncPlan::Snap { reason: SnapReason::TooFarBehind { .. } } => "SNAP, too far behind",
        };
        *seen.entry(kind).or_default() += 1;
        for (flag, on) in [
            ("observer", shape.observer),
            ("learner snapshot", scenario.learner_state.snapshot_zxid > Zxid::ZERO),
            ("proposals in flight", !scenario.outstanding.is_empty()),
            ("uncommitted learner tail", !scenario.history_zxids().contains(&last) && last > Zxid::ZERO),
        ] {
            if on {
                *seen.entry(flag).or_default() += 1;
            }
        }
    }
    eprintln!("{seen:?}");
    for kind in [
        "empty DIFF",
        "DIFF",
        "TRUNC",
        "TRUNC+DIFF",
        "SNAP, diverged",
        "SNAP, no history",
        "SNAP, before history",
        "SNAP, too far behind",
        "observer",
        "learner snapshot",
        "proposals in flight",
        "uncommitted learner tail",
    ] {
        assert!(seen.get(kind).copied().unwrap_or(0) >= 5, "{kind} drawn {:?} times of 512: {seen:?}", seen.get(kind));
    }
}
