//! Targeted faults: conditions over messages and disk state that the world
//! checks as the run goes, each firing once after it is armed (by
//! `Fault::Arm` at a virtual time). They reach the narrow windows random
//! faults rarely hit: between a quorum of ACKs and the COMMIT, between the
//! two epoch writes, inside a DIFF, TRUNC or SNAP.
//!
//! The world calls the `on_*` hooks at fixed points (a message about to be
//! sent, a message delivered, a disk sync about to land, a sync landed) and
//! carries out the `Action` a hook returns. What fired is kept, in order, for
//! the verdict.

use ensemble::peer::{PeerMessage, Role};
use ensemble::zab::QuorumMessage;
use ensemble::{ServerId, Zxid};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A condition and the fault it sets off.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Crash the leader once ACKs of one proposal from `acks` followers reached
    /// it, before it sends any COMMIT of that proposal. Below a quorum this is
    /// "crash before quorum ack"; at a quorum, "after quorum ack, before commit".
    LeaderAcked {
        /// Followers whose ACK of the proposal the leader received.
        acks: usize,
    },
    /// Cut the leader off from everyone as soon as one of its COMMITs reached a follower.
    CommitReachedFollower,
    /// Crash a follower once its acceptedEpoch is durable while its currentEpoch is still older.
    BetweenEpochs,
    /// Crash a learner after it received the sync header `header` and then
    /// `proposals` of the sync's PROPOSALs, before it ACKs NEWLEADER (at the
    /// latest when NEWLEADER arrives).
    DuringSync {
        /// Which sync: DIFF, TRUNC or SNAP.
        header: SyncHeader,
        /// PROPOSALs of the sync to let through first.
        #[serde(default)]
        proposals: usize,
    },
    /// Crash a node while a group commit with log records is being written:
    /// a prefix of its writes lands, and the newest record landed is torn.
    TornTail {
        /// Only the leader's disk (otherwise any node's).
        #[serde(default)]
        leader: bool,
    },
    /// A power loss the moment a client is told a write succeeded: every node
    /// crashes at once, losing whatever it had not reported durable, and power
    /// comes back `restart_after_ms` later. An acknowledged write must be
    /// durable on a quorum by then.
    PowerLossAfterAck {
        /// How long the power stays off.
        #[serde(default = "default_power_off_ms")]
        restart_after_ms: u64,
    },
}

fn default_power_off_ms() -> u64 {
    300
}

/// The header that opens a learner's synchronization.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SyncHeader {
    /// DIFF: committed proposals follow.
    Diff,
    /// TRUNC: cut the log back, then maybe a diff.
    Trunc,
    /// SNAP: a whole tree image.
    Snap,
}

/// What the world must do when a trigger fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Crash this node (and, from `on_send`, do not send the message).
    Crash(ServerId),
    /// Crash this node in the middle of its pending disk sync.
    CrashTorn(ServerId),
    /// Cut this node off from every other.
    Isolate(ServerId),
    /// Crash every node, and restart them all this many ms later.
    PowerLoss {
        /// How long the power stays off.
        restart_after_ms: u64,
    },
}

/// The armed triggers and what they have seen.
#[derive(Clone, Debug, Default)]
pub struct Triggers {
    armed: Vec<Trigger>,
    /// Per (leader, proposal), the followers whose ACK reached the leader.
    acks: BTreeMap<(ServerId, Zxid), BTreeSet<ServerId>>,
    /// (leader, proposal) pairs the leader sent a COMMIT for.
    committed: BTreeSet<(ServerId, Zxid)>,
    /// Per learner in sync: its header and the PROPOSALs of the sync received since.
    syncing: BTreeMap<ServerId, (SyncHeader, usize)>,
    /// What fired, in order, with where.
    pub fired: Vec<String>,
}

impl Triggers {
    /// Arms a trigger; it fires at most once.
    pub fn arm(&mut self, trigger: Trigger) {
        self.armed.push(trigger);
    }

    /// Disarms every trigger that has not fired: the liveness phase after healing is fault-free.
    pub fn disarm_all(&mut self) {
        self.armed.clear();
    }

    /// Whether any trigger waits to fire (the world skips the hooks otherwise).
    pub fn is_armed(&self) -> bool {
        !self.armed.is_empty()
    }

    /// A message is about to be sent. `Some` means: do not send it, act instead.
    pub fn on_send(&mut self, from: ServerId, msg: &PeerMessage) -> Option<Action> {
        let PeerMessage::Zab(QuorumMessage::Commit { zxid }) = msg else { return None };
        let acked = self.acks.get(&(from, *zxid)).map_or(0, |s| s.len());
        let hit = self.take(|t| matches!(t, Trigger::LeaderAcked { acks } if acked >= *acks && *acks > 0), || format!("leader_acked: crashed leader {} with {acked} follower ACKs of {zxid} before its COMMIT", from.0));
        if hit.is_some() {
            return Some(Action::Crash(from));
        }
        if self.armed.iter().any(|t| matches!(t, Trigger::LeaderAcked { .. })) {
            self.committed.insert((from, *zxid));
        }
        None
    }

    /// A message is about to be handed to its receiver, whose role is `role`
    /// (so that a COMMIT it sends while handling the message is judged with it counted).
    pub fn before_deliver(&mut self, from: ServerId, to: ServerId, msg: &PeerMessage, role: Option<Role>) {
        if let PeerMessage::Zab(QuorumMessage::Ack { zxid }) = msg {
            if zxid.counter != 0 && role == Some(Role::Leading) && self.armed.iter().any(|t| matches!(t, Trigger::LeaderAcked { .. })) {
                self.acks.entry((to, *zxid)).or_default().insert(from);
            }
        }
    }

    /// A message was delivered and handled; `role` is the receiver's role now.
    pub fn on_deliver(&mut self, from: ServerId, to: ServerId, msg: &PeerMessage, role: Option<Role>) -> Option<Action> {
        let PeerMessage::Zab(q) = msg else { return None };
        match q {
            QuorumMessage::Ack { zxid } if zxid.counter != 0 && self.armed.iter().any(|t| matches!(t, Trigger::LeaderAcked { .. })) => {
                let acked = self.acks.get(&(to, *zxid)).map_or(0, |s| s.len());
                if acked == 0 || self.committed.contains(&(to, *zxid)) || role != Some(Role::Leading) {
                    return None;
                }
                self.take(|t| matches!(t, Trigger::LeaderAcked { acks } if acked >= *acks && *acks > 0), || format!("leader_acked: crashed leader {} with {acked} follower ACKs of {zxid}, no COMMIT sent", to.0))
                    .map(|_| Action::Crash(to))
            }
            QuorumMessage::Commit { zxid } if role == Some(Role::Following) => self
                .take(|t| matches!(t, Trigger::CommitReachedFollower), || format!("commit_reached_follower: COMMIT {zxid} reached follower {}; isolated leader {}", to.0, from.0))
                .map(|_| Action::Isolate(from)),
            QuorumMessage::Diff { .. } | QuorumMessage::Trunc { .. } | QuorumMessage::Snap { .. } => {
                let header = match q {
                    QuorumMessage::Diff { .. } => SyncHeader::Diff,
                    QuorumMessage::Trunc { .. } => SyncHeader::Trunc,
                    _ => SyncHeader::Snap,
                };
                self.syncing.insert(to, (header, 0));
                self.during_sync(to, false)
            }
            QuorumMessage::Proposal { .. } => {
                if let Some((_, n)) = self.syncing.get_mut(&to) {
                    *n += 1;
                    return self.during_sync(to, false);
                }
                None
            }
            QuorumMessage::NewLeader { .. } => {
                let action = self.during_sync(to, true);
                self.syncing.remove(&to);
                action
            }
            _ => None,
        }
    }

    /// A client was just told its write succeeded (`what` names it).
    pub fn on_write_acked(&mut self, what: &str) -> Option<Action> {
        let restart_after_ms = self.armed.iter().find_map(|t| match t {
            Trigger::PowerLossAfterAck { restart_after_ms } => Some(*restart_after_ms),
            _ => None,
        })?;
        self.take(|t| matches!(t, Trigger::PowerLossAfterAck { .. }), || format!("power_loss_after_ack: every node lost power when {what} was acknowledged"))
            .map(|_| Action::PowerLoss { restart_after_ms })
    }

    /// A group commit is about to land on `node`. `Some` means: crash it mid-write instead.
    pub fn on_sync_start(&mut self, node: ServerId, appends_records: bool, role: Option<Role>) -> Option<Action> {
        if !appends_records {
            return None;
        }
        let is_leader = role == Some(Role::Leading);
        self.take(|t| matches!(t, Trigger::TornTail { leader } if is_leader || !*leader), || format!("torn_tail: crashed node {} in the middle of a group commit", node.0))
            .map(|_| Action::CrashTorn(node))
    }

    /// A group commit landed on `node` and was reported; its disk now holds these epochs.
    pub fn on_synced(&mut self, node: ServerId, accepted_epoch: u32, current_epoch: u32, role: Option<Role>) -> Option<Action> {
        if role != Some(Role::Following) || accepted_epoch <= current_epoch {
            return None;
        }
        self.take(|t| matches!(t, Trigger::BetweenEpochs), || format!("between_epochs: crashed follower {} with acceptedEpoch {accepted_epoch} durable, currentEpoch {current_epoch}", node.0))
            .map(|_| Action::Crash(node))
    }

    fn during_sync(&mut self, node: ServerId, new_leader: bool) -> Option<Action> {
        let (header, received) = *self.syncing.get(&node)?;
        let at = if new_leader { "at NEWLEADER".to_string() } else { format!("after {received} PROPOSALs") };
        self.take(|t| matches!(t, Trigger::DuringSync { header: h, proposals } if *h == header && (new_leader || received >= *proposals)), || format!("during_sync: crashed learner {} in {header:?} {at}", node.0))
            .map(|_| Action::Crash(node))
    }

    /// Disarms the first armed trigger that `pred` accepts and records it as fired.
    fn take(&mut self, pred: impl Fn(&Trigger) -> bool, what: impl FnOnce() -> String) -> Option<()> {
        let i = self.armed.iter().position(pred)?;
        self.armed.remove(i);
        self.fired.push(what());
        Some(())
    }
}
