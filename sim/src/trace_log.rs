//! The structured event log of a traced run: every message sent (with when
//! and how it ended), role, epoch and zxid changes, crashes and restarts,
//! faults, partitions and client operations, plus every line the trace hash
//! saw. The world keeps one only when asked (`World::new_traced`), so that
//! swarms stay fast; keeping it never changes the run or its trace hash.

use crate::client::{History, Outcome};
use crate::world::{Fault, Node, World};
use ensemble::peer::{PeerMessage, Role};
use ensemble::{Epoch, ServerId, Zxid};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

/// The most characters of a message's contents kept for hover text.
const DETAIL_CHARS_MAX: usize = 240;

/// A shared handle on a world's log: the world writes, the caller takes it after the run
/// (even when the run panicked, which is when a trace matters most).
#[derive(Clone, Debug)]
pub struct TraceHandle(Arc<Mutex<TraceLog>>);

impl TraceHandle {
    /// A handle on an empty log for a world whose clock starts at `start_ms`.
    pub(crate) fn new(start_ms: u64) -> TraceHandle {
        TraceHandle(Arc::new(Mutex::new(TraceLog { start_ms, ..TraceLog::default() })))
    }

    /// The log, for the world's hooks.
    pub(crate) fn lock(&self) -> MutexGuard<'_, TraceLog> {
        // A panic inside the engine poisons nothing we care about: the log is plain data.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes the log out, leaving an empty one.
    pub fn take(&self) -> TraceLog {
        std::mem::take(&mut *self.lock())
    }
}

/// Everything a traced run recorded; times are ms since the run began.
#[derive(Clone, Debug, Default)]
pub struct TraceLog {
    /// Every message a peer sent to another peer, in send order.
    pub messages: Vec<MessageRecord>,
    /// State changes, faults and client operations, in the order they happened.
    pub events: Vec<TraceEvent>,
    /// Every line that went into the trace hash, and the state changes, as text.
    pub lines: Vec<(u64, String)>,
    start_ms: u64,
    /// Scheduled delivery event index -> message index.
    in_flight: BTreeMap<usize, usize>,
    /// The message whose delivery event is being handled.
    current: Option<usize>,
    /// What each node looked like after the previous step.
    last: BTreeMap<ServerId, NodeState>,
    last_cut: BTreeSet<(ServerId, ServerId)>,
    /// History entries already reported as invoked, and those still pending.
    invoked: usize,
    pending: BTreeSet<usize>,
}

/// One peer-to-peer message.
#[derive(Clone, Debug)]
pub struct MessageRecord {
    /// Sender.
    pub from: u64,
    /// Receiver.
    pub to: u64,
    /// ZooKeeper's name for it: VOTE, FOLLOWERINFO, PROPOSAL, ACK, COMMIT, PING, ...
    pub kind: &'static str,
    /// The start of its contents, for hover text.
    pub detail: String,
    /// When it was sent.
    pub sent_ms: u64,
    /// How it ended.
    pub fate: Fate,
}

/// How a message ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Still in flight when the run ended.
    InFlight,
    /// Handed to the receiver at this time.
    Delivered(u64),
    /// Discarded on arrival at this time: the link broke or the receiver restarted meanwhile.
    Lost(u64),
    /// Lost by the network when sent (the link then breaks).
    Dropped,
    /// Never sent: a partition cut the link.
    Blocked,
}

/// How `World::send` disposed of a message.
pub(crate) enum Sent {
    /// Scheduled for delivery as this event index.
    Scheduled(usize),
    /// Lost by the network.
    Dropped,
    /// Cut by a partition.
    Blocked,
}

/// A state change, fault or client operation at a time.
#[derive(Clone, Debug)]
pub struct TraceEvent {
    /// When, in ms since the run began.
    pub at_ms: u64,
    /// What.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug)]
pub enum EventKind {
    /// A node took a role; `epoch` is set once it serves (leader established, learner up to date).
    Role {
        /// Which node.
        node: u64,
        /// The new role.
        role: Role,
        /// The leader it follows or is, once known.
        leader: Option<u64>,
        /// The epoch it serves in.
        epoch: Option<Epoch>,
    },
    /// A node's tree reached a new last zxid (a commit applied, or a sync).
    Applied {
        /// Which node.
        node: u64,
        /// Its new last zxid.
        zxid: Zxid,
    },
    /// A node crashed.
    Crashed {
        /// Which node.
        node: u64,
    },
    /// A node restarted from its disk.
    Restarted {
        /// Which node.
        node: u64,
    },
    /// A fault from the timeline fired.
    Fault(Fault),
    /// The set of cut links changed (a partition or a heal).
    Links {
        /// The directed links that cannot carry messages now.
        cut: Vec<(u64, u64)>,
    },
    /// A client invoked operation `index` of the history.
    Invoked {
        /// Which client.
        client: usize,
        /// Index in the history.
        index: usize,
        /// The operation, as text.
        op: String,
    },
    /// Operation `index` completed.
    Completed {
        /// Which client.
        client: usize,
        /// Index in the history.
        index: usize,
        /// How it ended: ok, an error code, or unknown.
        outcome: Outcome,
    },
}

/// What the log compares after each step to find changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeState {
    Down,
    Up { role: Role, leader: Option<ServerId>, epoch: Option<Epoch>, zxid: Zxid },
}

impl TraceLog {
    /// The world recorded a line into the trace hash.
    pub(crate) fn line(&mut self, now: u64, line: &str) {
        let at = self.at(now);
        self.lines.push((at, line.to_string()));
    }

    /// `World::send` disposed of a message.
    pub(crate) fn send(&mut self, now: u64, from: ServerId, to: ServerId, msg: &PeerMessage, sent: Sent) {
        let fate = match sent {
            Sent::Scheduled(event) => {
                self.in_flight.insert(event, self.messages.len());
                Fate::InFlight
            }
            Sent::Dropped => Fate::Dropped,
            Sent::Blocked => Fate::Blocked,
        };
        let record = MessageRecord { from: from.0, to: to.0, kind: kind_of(msg), detail: detail_of(msg), sent_ms: self.at(now), fate };
        self.messages.push(record);
    }

    /// The world took event `event` off its queue.
    pub(crate) fn popped(&mut self, now: u64, event: usize) {
        let at = self.at(now);
        self.current = self.in_flight.remove(&event);
        if let Some(m) = self.current {
            // Lost unless `delivered` or `requeued` says otherwise while the event is handled.
            self.messages[m].fate = Fate::Lost(at);
        }
    }

    /// The message being handled reached its receiver.
    pub(crate) fn delivered(&mut self, now: u64) {
        let at = self.at(now);
        if let Some(m) = self.current {
            self.messages[m].fate = Fate::Delivered(at);
        }
    }

    /// The message being handled waits for its paused receiver as event `event`.
    pub(crate) fn requeued(&mut self, event: usize) {
        if let Some(m) = self.current {
            self.messages[m].fate = Fate::InFlight;
            self.in_flight.insert(event, m);
        }
    }

    /// A fault from the timeline fires now.
    pub(crate) fn fault(&mut self, now: u64, fault: &Fault) {
        self.push(now, EventKind::Fault(fault.clone()), None);
    }

    /// Compares every node, the cut links and the client history with the previous step.
    pub(crate) fn after_step(&mut self, w: &World) {
        for (id, node) in &w.nodes {
            self.observe_node(w.now, *id, node);
        }
        if w.blocked != self.last_cut {
            self.last_cut = w.blocked.clone();
            let cut: Vec<(u64, u64)> = w.blocked.iter().map(|(a, b)| (a.0, b.0)).collect();
            let text = if cut.is_empty() { "links: all healed".to_string() } else { format!("links: cut {}", describe_cut(&cut)) };
            self.push(w.now, EventKind::Links { cut }, Some(text));
        }
        self.observe_history(w.now, &w.history);
    }

    fn observe_node(&mut self, now: u64, id: ServerId, node: &Node) {
        let state = match &node.peer {
            None => NodeState::Down,
            Some(p) => NodeState::Up { role: p.role(), leader: p.leader(), epoch: p.serving_epoch(), zxid: p.tree().last_zxid() },
        };
        let before = self.last.insert(id, state);
        if before == Some(state) {
            return;
        }
        let node = id.0;
        match (before, state) {
            (Some(NodeState::Up { .. }), NodeState::Down) => self.push(now, EventKind::Crashed { node }, Some(format!("peer {node} CRASHED"))),
            (None | Some(NodeState::Down), NodeState::Down) => {}
            (_, NodeState::Up { role, leader, epoch, zxid }) => {
                let was = match before {
                    Some(NodeState::Up { role, leader, epoch, zxid }) => Some((role, leader, epoch, zxid)),
                    Some(NodeState::Down) => {
                        self.push(now, EventKind::Restarted { node }, Some(format!("peer {node} RESTARTED")));
                        None
                    }
                    None => None,
                };
                if was.is_none_or(|(r, l, e, _)| (r, l, e) != (role, leader, epoch)) {
                    let kind = EventKind::Role { node, role, leader: leader.map(|l| l.0), epoch };
                    let text = format!("peer {node} {}", role_label(role, leader.map(|l| l.0), epoch));
                    self.push(now, kind, Some(text));
                }
                if was.is_none_or(|(_, _, _, z)| z != zxid) && zxid != Zxid::ZERO {
                    self.push(now, EventKind::Applied { node, zxid }, Some(format!("peer {node} applied {zxid}")));
                }
            }
        }
    }

    fn observe_history(&mut self, now: u64, history: &History) {
        while self.invoked < history.entries.len() {
            let index = self.invoked;
            let e = &history.entries[index];
            let text = format!("client {} invokes op {index}: {:?}", e.client, e.op);
            self.push(now, EventKind::Invoked { client: e.client, index, op: format!("{:?}", e.op) }, Some(text));
            self.pending.insert(index);
            self.invoked += 1;
        }
        let done: Vec<usize> = self.pending.iter().copied().filter(|i| history.entries[*i].completed_ms.is_some()).collect();
        for index in done {
            self.pending.remove(&index);
            let e = &history.entries[index];
            let text = format!("client {} op {index} completes: {:?}", e.client, e.outcome);
            self.push(now, EventKind::Completed { client: e.client, index, outcome: e.outcome.clone() }, Some(text));
        }
    }

    fn push(&mut self, now: u64, kind: EventKind, text: Option<String>) {
        let at = self.at(now);
        if let Some(text) = text {
            self.lines.push((at, format!("  = {text}")));
        }
        self.events.push(TraceEvent { at_ms: at, kind });
    }

    fn at(&self, now: u64) -> u64 {
        now.saturating_sub(self.start_ms)
    }
}

/// A role as ZooKeeper prints it, with the leader followed and the serving epoch.
pub fn role_label(role: Role, leader: Option<u64>, epoch: Option<Epoch>) -> String {
    let name = match role {
        Role::Looking => "LOOKING",
        Role::Following => "FOLLOWING",
        Role::Leading => "LEADING",
        Role::Observing => "OBSERVING",
    };
    let mut label = name.to_string();
    if let (Some(l), Role::Following | Role::Observing) = (leader, role) {
        let _ = write!(label, " {l}");
    }
    match epoch {
        Some(e) => {
            let _ = write!(label, " e{}", e.0);
        }
        None if role != Role::Looking => label.push_str(" (syncing)"),
        None => {}
    }
    label
}

/// Cut links, with both directions of a symmetric cut written once as `a-b`.
pub fn describe_cut(cut: &[(u64, u64)]) -> String {
    let set: BTreeSet<(u64, u64)> = cut.iter().copied().collect();
    let mut parts = Vec::new();
    for &(a, b) in &set {
        if set.contains(&(b, a)) {
            if a < b {
                parts.push(format!("{a}-{b}"));
            }
        } else {
            parts.push(format!("{a}->{b}"));
        }
    }
    parts.join(" ")
}

/// ZooKeeper's name for a message's kind.
pub fn kind_of(msg: &PeerMessage) -> &'static str {
    match msg {
        PeerMessage::Election(_) => "VOTE",
        PeerMessage::Zab(q) => q.kind(),
    }
}

/// The start of a message's Debug text; formatting stops at the limit, so a SNAP costs no more than a PING.
fn detail_of(msg: &PeerMessage) -> String {
    let mut out = Bounded(String::new());
    let _ = write!(out, "{msg:?}");
    out.0
}

/// A string that refuses to grow past `DETAIL_CHARS_MAX`, which aborts the formatting.
struct Bounded(String);

impl std::fmt::Write for Bounded {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = DETAIL_CHARS_MAX.saturating_sub(self.0.len());
        if s.len() <= room {
            self.0.push_str(s);
            return Ok(());
        }
        let cut = (0..=room).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
        self.0.push_str(&s[..cut]);
        self.0.push('…');
        Err(std::fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A symmetric cut is written once per pair and a one-way cut with its direction.
    #[test]
    fn cuts_are_described_compactly() {
        assert_eq!(describe_cut(&[(1, 2), (2, 1), (3, 1)]), "1-2 3->1");
    }

    // Message details stop at the limit instead of formatting everything.
    #[test]
    fn details_are_bounded() {
        let mut out = Bounded(String::new());
        let long = "x".repeat(1000);
        assert!(write!(out, "{long}").is_err());
        assert!(out.0.chars().count() <= DETAIL_CHARS_MAX + 1);
    }
}
