//! The world: voters and observers as `Peer`s, a virtual clock, a network, a
//! disk model per node, simulated clients and a fault timeline, all driven by
//! one seed split into independent streams so that adding a client does not
//! reshuffle the network's draws.

use crate::check::{self, Checks};
use crate::client::{Client, History, Outcome};
pub use crate::clock::Clock;
pub use crate::disk::Disk;
use crate::disk::Write;
pub use crate::fault::{Fault, TimedFault};
use crate::trace_log::{Sent, TraceHandle};
use crate::trigger::{Action, SyncHeader, Trigger, Triggers};
use ensemble::peer::{Input, Output, Peer, PeerConfig, PeerMessage, Persist, Role, Sabotage};
use ensemble::{ConnId, ServerId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use xxhash_rust::xxh3::Xxh3;

/// The engine's basic time unit in every simulated peer.
pub const TICK_MS: u64 = 100;

/// One RNG stream of the seed; streams never share draws.
pub fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Stream numbers: the network, the fault timeline, then one per client.
const NETWORK_STREAM: u64 = 1;
const FAULT_STREAM: u64 = 2;
/// The disk model's draws (how much of a torn group commit lands, which record rots).
const DISK_STREAM: u64 = 3;
/// The swarm's draws of the faults added after the first timeline (bridges,
/// torn crashes, corrupt records, slow disks, targeted faults, clocks): a
/// stream of their own, so that every seed keeps the timeline it had before.
const EXTRA_FAULT_STREAM: u64 = 4;
const CLIENT_STREAM_BASE: u64 = 100;

/// How the network behaves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkConfig {
    /// Smallest one-way latency.
    pub latency_min_ms: u64,
    /// Largest one-way latency.
    pub latency_max_ms: u64,
    /// Probability that a peer-to-peer message is lost. The link then breaks as
    /// a TCP connection would: what is in flight on it is lost too and both ends
    /// get `Input::PeerLost` (unless `silent_drop`).
    pub drop: f64,
    /// Lose dropped messages silently, with no link break: outside the TCP-like
    /// contract (a lost COMMIT then leaves a follower behind until the next write).
    pub silent_drop: bool,
    /// Probability that a peer-to-peer message arrives twice (breaks the TCP contract; off by default).
    pub duplicate: f64,
    /// Whether each link delivers in order, as TCP does (the engine's contract).
    pub fifo: bool,
    /// Largest fsync latency.
    pub fsync_max_ms: u64,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig { latency_min_ms: 1, latency_max_ms: 5, drop: 0.0, silent_drop: false, duplicate: 0.0, fifo: true, fsync_max_ms: 3 }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct WorldConfig {
    /// The one seed.
    pub seed: u64,
    /// Voting members.
    pub voters: u64,
    /// Observers.
    pub observers: u64,
    /// Simulated clients.
    pub clients: usize,
    /// Operations each client performs.
    pub ops_per_client: usize,
    /// The network.
    pub network: NetworkConfig,
    /// The fault timeline.
    pub faults: Vec<TimedFault>,
    /// After the last fault everything heals; within this much virtual time a leader must serve and every client finish.
    pub liveness_bound_ms: u64,
    /// Per-node clock skew and drift; nodes not named keep the virtual clock.
    pub clocks: Vec<Clock>,
    /// Committed txns each peer keeps for DIFFs (the engine's default if `None`); learners further behind get a SNAP.
    pub diff_history_max: Option<usize>,
    /// Test-only: protocol rules every peer breaks on purpose (all off normally).
    pub sabotage: Sabotage,
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// The run's fingerprint: every event and completion in order.
    pub trace_hash: u64,
    /// Checker failures, empty if the run passed.
    pub failures: Vec<String>,
    /// Virtual time simulated.
    pub virtual_ms: u64,
    /// Events processed.
    pub steps: u64,
    /// Client operations completed ok.
    pub ok_ops: usize,
    /// Client operations that failed with an error code.
    pub error_ops: usize,
    /// Client operations whose outcome is unknown (timeout or lost connection).
    pub unknown_ops: usize,
    /// The last lines of the trace, for failure reports.
    pub trace_tail: Vec<String>,
    /// Targeted faults that fired and disk damage that recovery detected, in order.
    pub fired: Vec<String>,
    /// How many peer messages of each kind were delivered.
    pub delivered: BTreeMap<String, u64>,
}

impl Verdict {
    /// Whether every checker passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// One server: its peer (when up), disk and unsynced writes.
pub struct Node {
    config: PeerConfig,
    /// The running engine; `None` while crashed.
    pub peer: Option<Peer>,
    /// What survives a crash.
    pub disk: Disk,
    pending: Vec<Write>,
    sync_scheduled: bool,
    /// Bumped on every crash so that events for an old incarnation are dropped.
    incarnation: u64,
    paused_until: u64,
    last_tick: u64,
    /// This node's clock error.
    clock: Clock,
    /// Extra fsync latency, and until when it applies.
    slow_disk: (u64, u64),
}

/// Something scheduled at a virtual time.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    Deliver { from: ServerId, to: ServerId, incarnation: u64, link: u64, msg: PeerMessage },
    PeerLost { node: ServerId, incarnation: u64, peer: ServerId },
    DiskSync { node: ServerId, incarnation: u64 },
    ToServer { node: ServerId, incarnation: u64, input: Input },
    ToClient { client: usize, conn: ConnId, output: Output },
    ConnLost { client: usize, conn: ConnId },
    ClientWake { client: usize },
    Fault(Fault),
}

/// The whole simulated system.
pub struct World {
    /// The run's settings.
    pub config: WorldConfig,
    /// Virtual now, ms.
    pub now: u64,
    /// The servers.
    pub nodes: BTreeMap<ServerId, Node>,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<Event>>,
    seq: u64,
    net: ChaCha8Rng,
    /// Links that cannot carry messages: (from, to).
    pub blocked: BTreeSet<(ServerId, ServerId)>,
    link_last: BTreeMap<(u64, u64), u64>,
    /// Per directed link, how many times it broke: messages sent before a break are lost.
    link_generation: BTreeMap<(ServerId, ServerId), u64>,
    /// Whether `cut` is silent now (see `Fault::SilentPartition`).
    silent_cuts: bool,
    /// Links cut silently: they break when the partition heals.
    silent_links: BTreeSet<(ServerId, ServerId)>,
    /// Per directed link, when it last carried a message and whether that burst was lost.
    last_send: BTreeMap<(ServerId, ServerId), (u64, bool)>,
    /// The clients.
    pub clients: Vec<Client>,
    /// Which client holds which connection on which server.
    pub conns: BTreeMap<ConnId, (usize, ServerId)>,
    next_conn: u64,
    /// Every invocation and completion.
    pub history: History,
    /// The cluster-wide checkers' state.
    pub checks: Checks,
    trace: Xxh3,
    /// The last lines of the trace with their virtual times, formatted only for the verdict.
    trace_tail: std::collections::VecDeque<(u64, String)>,
    steps: u64,
    start: u64,
    /// The structured event log, kept only for traced runs.
    log: Option<TraceHandle>,
    disk_rng: ChaCha8Rng,
    /// The armed targeted faults.
    pub triggers: Triggers,
    delivered: BTreeMap<&'static str, u64>,
}

impl World {
    /// A world with every node started from an empty disk.
    pub fn new(config: WorldConfig) -> World {
        World::build(config, false)
    }

    /// A world that also keeps a structured event log (`trace_log`); the run and its trace hash are the same.
    pub fn new_traced(config: WorldConfig) -> (World, TraceHandle) {
        let w = World::build(config, true);
        let handle = w.log.clone().expect("traced");
        (w, handle)
    }

    fn build(config: WorldConfig, traced: bool) -> World {
        let voters: BTreeSet<ServerId> = (1..=config.voters).map(ServerId).collect();
        let observers: BTreeSet<ServerId> = (config.voters + 1..=config.voters + config.observers).map(ServerId).collect();
        let start = 1_000_000;
        let mut nodes = BTreeMap::new();
        for id in voters.iter().chain(observers.iter()) {
            let mut pc = PeerConfig::new(*id, TICK_MS);
            pc.voters = voters.clone();
            pc.observers = observers.clone();
            pc.max_session_timeout_ms = 30_000;
            pc.password_seed = config.seed;
            // Unanswered votes are re-sent every 2 s at most, so that runs stay short.
            pc.max_notification_interval_ms = 2_000;
            pc.sabotage = config.sabotage;
            if let Some(max) = config.diff_history_max {
                pc.diff_history_max = max;
            }
            let clock = config.clocks.iter().find(|c| c.node == id.0).copied().unwrap_or(Clock { node: id.0, ..Clock::default() });
            nodes.insert(*id, Node { config: pc, peer: None, disk: Disk::default(), pending: Vec::new(), sync_scheduled: false, incarnation: 0, paused_until: 0, last_tick: 0, clock, slow_disk: (0, 0) });
        }
        let clients = (0..config.clients).map(|i| Client::new(i, stream(config.seed, CLIENT_STREAM_BASE + i as u64), config.ops_per_client)).collect();
        let mut w = World {
            net: stream(config.seed, NETWORK_STREAM),
            disk_rng: stream(config.seed, DISK_STREAM),
            triggers: Triggers::default(),
            delivered: BTreeMap::new(),
            config,
            now: start,
            nodes,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            seq: 0,
            blocked: BTreeSet::new(),
            link_last: BTreeMap::new(),
            link_generation: BTreeMap::new(),
            last_send: BTreeMap::new(),
            silent_cuts: false,
            silent_links: BTreeSet::new(),
            clients,
            conns: BTreeMap::new(),
            next_conn: 1,
            history: History::default(),
            checks: Checks::default(),
            trace: Xxh3::new(),
            trace_tail: std::collections::VecDeque::new(),
            steps: 0,
            start,
            log: traced.then(|| TraceHandle::new(start)),
        };
        let ids: Vec<ServerId> = w.nodes.keys().copied().collect();
        for id in ids {
            w.restart(id);
        }
        for fault in w.config.faults.clone() {
            w.schedule_at(start + fault.at_ms, Event::Fault(fault.fault));
        }
        for c in 0..w.clients.len() {
            w.schedule_at(start + 500, Event::ClientWake { client: c });
        }
        if let Some(log) = &w.log {
            log.lock().after_step(&w);
        }
        w
    }

    /// Runs the fault phase, heals, runs the liveness phase, and judges.
    pub fn run(mut self) -> Verdict {
        let last_fault = self.config.faults.iter().map(|f| f.at_ms).max().unwrap_or(0);
        let heal_at = self.start + last_fault + 1_000;
        self.run_until(heal_at);
        self.heal_everything();
        let deadline = heal_at + self.config.liveness_bound_ms;
        while self.now < deadline && !self.quiescent() {
            if !self.step(deadline) {
                break;
            }
        }
        let virtual_ms = self.now - self.start;
        let mut failures = std::mem::take(&mut self.checks.failures);
        if !self.quiescent() {
            failures.push(check::liveness::describe(&self));
        } else {
            failures.extend(check::prefix::final_agreement(&self));
            failures.extend(check::never_lost::check(&self));
            failures.extend(check::ephemerals::check_world(&self));
            let replicas: Vec<(ServerId, &ensemble::DataTree)> = self.nodes.iter().filter_map(|(id, n)| n.peer.as_ref().map(|p| (*id, p.tree()))).collect();
            failures.extend(check::multi_atomic::check(&self.history, &replicas));
        }
        failures.extend(check::one_leader::check(&self.checks));
        failures.extend(check::linearizable::check(&self.history));
        failures.extend(check::fifo::check(&self.history));
        failures.extend(check::watches::check(&self.history));
        Verdict { trace_hash: self.trace.digest(), failures, virtual_ms, steps: self.steps, ok_ops: self.history.ok_count(), error_ops: self.history.count(|o| matches!(o, Outcome::Error(_))), unknown_ops: self.history.count(|o| matches!(o, Outcome::Unknown)),
            trace_tail: self.trace_tail.iter().map(|(at, line)| format!("{} {line}", at - self.start)).collect(),
            fired: self.triggers.fired.clone(),
            delivered: self.delivered.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        }
    }

    /// Processes events until virtual time `until`.
    pub fn run_until(&mut self, until: u64) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    /// Every node is up and serving under one leader, every replica applied the same zxid, and every client finished.
    pub fn quiescent(&self) -> bool {
        check::liveness::settled(self) && self.clients.iter().all(|c| c.done())
    }

    fn heal_everything(&mut self) {
        // Heal first, so that a trigger cannot fire on what healing itself sets off.
        self.triggers.disarm_all();
        self.apply_fault(Fault::Heal);
        self.apply_fault(Fault::RestartAll);
        for node in self.nodes.values_mut() {
            node.paused_until = 0;
            node.slow_disk = (0, 0);
        }
    }

    /// One event or one timer; false when nothing is due before `until`.
    fn step(&mut self, until: u64) -> bool {
        let timer = self
            .nodes
            .iter()
            .filter(|(_, n)| n.peer.is_some() && n.paused_until <= self.now)
            .filter_map(|(id, n)| n.peer.as_ref().and_then(|p| p.poll_timeout()).map(|t| (n.clock.virtual_ms(t, self.start).max(n.last_tick + 1), *id)))
            .min();
        let event_time = self.queue.peek().map(|Reverse((t, _, _))| *t);
        match (timer, event_time) {
            (Some((t, id)), e) if e.is_none_or(|e| t <= e) => {
                if t > until {
                    return false;
                }
                self.now = self.now.max(t);
                self.nodes.get_mut(&id).expect("node").last_tick = self.now;
                self.record(format!("tick {}", id.0));
                self.feed(id, Input::Tick);
            }
            (_, Some(t)) => {
                if t > until {
                    return false;
                }
                let Reverse((t, _, idx)) = self.queue.pop().expect("peeked");
                self.now = self.now.max(t);
                let event = self.events[idx].take().expect("event taken once");
                if let Some(log) = &self.log {
                    log.lock().popped(self.now, idx);
                }
                self.handle_event(event);
            }
            _ => return false,
        }
        if let Some(log) = &self.log {
            log.lock().after_step(self);
        }
        self.steps += 1;
        true
    }

    pub(crate) fn schedule_at(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.events.push(Some(event));
        self.queue.push(Reverse((at, self.seq, self.events.len() - 1)));
    }

    pub(crate) fn schedule(&mut self, delay: u64, event: Event) {
        self.schedule_at(self.now + delay, event);
    }

    /// A latency draw, made FIFO per link when asked for.
    fn link_delay(&mut self, link: (u64, u64), fifo: bool) -> u64 {
        let n = &self.config.network;
        let at = self.now + self.net.gen_range(n.latency_min_ms..=n.latency_max_ms.max(n.latency_min_ms));
        if !fifo {
            return at - self.now;
        }
        let last = self.link_last.entry(link).or_insert(0);
        let at = at.max(*last);
        *last = at;
        at - self.now
    }

    fn record(&mut self, line: String) {
        self.trace.update(&self.now.to_le_bytes());
        self.trace.update(line.as_bytes());
        if let Some(log) = &self.log {
            log.lock().line(self.now, &line);
        }
        if self.trace_tail.len() >= 20 {
            self.trace_tail.pop_front();
        }
        self.trace_tail.push_back((self.now, line));
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, incarnation, link, msg } => {
                if self.paused(to) {
                    let until = self.nodes[&to].paused_until;
                    self.schedule_at(until, Event::Deliver { from, to, incarnation, link, msg });
                    if let Some(log) = &self.log {
                        log.lock().requeued(self.events.len() - 1);
                    }
                } else if self.nodes[&to].incarnation == incarnation
                    && !self.blocked.contains(&(from, to))
                    && self.link_generation.get(&(from, to)).copied().unwrap_or(0) == link
                {
                    let kind = msg_kind(&msg);
                    self.record(format!("deliver {}->{} {kind}", from.0, to.0));
                    if let Some(log) = &self.log {
                        log.lock().delivered(self.now);
                    }
                    *self.delivered.entry(kind).or_insert(0) += 1;
                    if self.triggers.is_armed() {
                        let role = self.role(to);
                        self.triggers.before_deliver(from, to, &msg, role);
                        self.feed(to, Input::Message { from, msg: msg.clone() });
                        let role = self.role(to);
                        if let Some(action) = self.triggers.on_deliver(from, to, &msg, role) {
                            self.act(action);
                        }
                    } else {
                        self.feed(to, Input::Message { from, msg });
                    }
                }
            }
            Event::PeerLost { node, incarnation, peer } => {
                if self.nodes[&node].incarnation == incarnation {
                    self.feed(node, Input::PeerLost { peer });
                }
            }
            Event::DiskSync { node, incarnation } => {
                if self.nodes[&node].incarnation != incarnation {
                    return;
                }
                if self.paused(node) {
                    let until = self.nodes[&node].paused_until;
                    self.schedule_at(until, Event::DiskSync { node, incarnation });
                    return;
                }
                if self.triggers.is_armed() {
                    let appends = self.nodes[&node].pending.iter().any(Write::appends_records);
                    if let Some(action) = self.triggers.on_sync_start(node, appends, self.role(node)) {
                        self.act(action);
                        return;
                    }
                }
                self.record(format!("fsync {}", node.0));
                self.sync_disk(node);
                if self.triggers.is_armed() {
                    let disk = &self.nodes[&node].disk;
                    let (accepted, current) = (disk.accepted_epoch.0, disk.current_epoch.0);
                    if let Some(action) = self.triggers.on_synced(node, accepted, current, self.role(node)) {
                        self.act(action);
                    }
                }
            }
            Event::ToServer { node, incarnation, input } => {
                if self.nodes[&node].incarnation != incarnation {
                    return;
                }
                if self.paused(node) {
                    let until = self.nodes[&node].paused_until;
                    self.schedule_at(until, Event::ToServer { node, incarnation, input });
                    return;
                }
                self.feed(node, input);
            }
            Event::ToClient { client, conn, output } => crate::client::on_output(self, client, conn, output),
            Event::ConnLost { client, conn } => crate::client::on_conn_lost(self, client, conn),
            Event::ClientWake { client } => crate::client::on_wake(self, client),
            Event::Fault(f) => {
                self.record(format!("fault {f:?}"));
                if let Some(log) = &self.log {
                    log.lock().fault(self.now, &f);
                }
                self.apply_fault(f);
            }
        }
    }

    /// A live node's role.
    fn role(&self, id: ServerId) -> Option<Role> {
        self.nodes[&id].peer.as_ref().map(|p| p.role())
    }

    /// Carries out what a targeted fault decided.
    fn act(&mut self, action: Action) {
        self.record(format!("trigger {action:?}"));
        match action {
            Action::Crash(id) => self.crash(id),
            Action::CrashTorn(id) => self.crash_torn(id),
            Action::Isolate(id) => self.isolate(id),
            Action::PowerLoss { restart_after_ms } => {
                self.apply_fault(Fault::CrashAll);
                self.schedule(restart_after_ms, Event::Fault(Fault::RestartAll));
            }
        }
    }

    /// A client was just told its write succeeded: a targeted power loss may fire.
    pub(crate) fn on_write_acked(&mut self, client: usize, index: usize) {
        if !self.triggers.is_armed() {
            return;
        }
        let what = format!("client {client}'s op {index}");
        if let Some(action) = self.triggers.on_write_acked(&what) {
            self.act(action);
        }
    }

    fn paused(&self, id: ServerId) -> bool {
        self.nodes[&id].paused_until > self.now
    }

    /// Feeds one input to a live node, carries out its outputs, and runs the per-step checks.
    pub(crate) fn feed(&mut self, id: ServerId, input: Input) {
        let node = self.nodes.get_mut(&id).expect("node");
        let now = node.clock.peer_ms(self.now, self.start);
        let Some(peer) = node.peer.as_mut() else { return };
        peer.handle(now, input);
        self.drain(id);
    }

    fn drain(&mut self, id: ServerId) {
        let incarnation = self.nodes[&id].incarnation;
        let mut outputs = Vec::new();
        {
            let node = self.nodes.get_mut(&id).expect("node");
            let Some(peer) = node.peer.as_mut() else { return };
            while let Some(out) = peer.poll_output() {
                outputs.push(out);
            }
            // Invariants are code: the engine's own, after every step.
            peer.check_invariants();
        }
        check::observe(self, id);
        for out in outputs {
            // A targeted fault may crash the node halfway through its outputs: the rest never happened.
            if self.nodes[&id].incarnation != incarnation {
                break;
            }
            match out {
                Output::Send { to, msg } => self.send(id, to, msg),
                Output::Persist(Persist::Txn(t)) => self.persist(id, Write::Txn(t)),
                Output::Persist(Persist::Zab { write, persist }) => self.persist(id, Write::Zab(write, persist)),
                // Snapshots are an optimisation: the disk model keeps the whole log instead.
                Output::Persist(Persist::Snapshot(_)) => {}
                // Everything it synced is durable already: the mark can go at once.
                Output::Persist(Persist::RecordsRestored) => self.nodes.get_mut(&id).expect("node").disk.lost_records = false,
                Output::Connected { conn, .. } | Output::Reply { conn, .. } | Output::Notify { conn, .. } | Output::Close { conn, .. } => {
                    if let Some(&(client, server)) = self.conns.get(&conn) {
                        if server == id {
                            let d = self.link_delay((1000 + conn.0, id.0), true);
                            self.schedule(d, Event::ToClient { client, conn, output: out });
                        }
                    }
                }
            }
        }
    }

    fn send(&mut self, from: ServerId, to: ServerId, msg: PeerMessage) {
        if self.triggers.is_armed() {
            if let Some(action) = self.triggers.on_send(from, &msg) {
                self.act(action);
                return;
            }
        }
        if self.blocked.contains(&(from, to)) || !self.nodes.contains_key(&to) {
            self.log_send(from, to, &msg, Sent::Blocked);
            return;
        }
        // A burst of messages written to one link at one instant is one socket
        // write: it breaks, or gets through, as a whole. (Drawing per message
        // would make a long DIFF impossible to deliver over a lossy link, a
        // livelock TCP does not have.)
        let (dropped, first) = match self.last_send.get(&(from, to)) {
            Some(&(at, dropped)) if at == self.now => (dropped, false),
            _ => (self.config.network.drop > 0.0 && self.net.gen_bool(self.config.network.drop), true),
        };
        self.last_send.insert((from, to), (self.now, dropped));
        if dropped {
            self.log_send(from, to, &msg, Sent::Dropped);
            if first && !self.config.network.silent_drop {
                self.break_link(from, to);
            }
            return;
        }
        let incarnation = self.nodes[&to].incarnation;
        let link = self.link_generation.get(&(from, to)).copied().unwrap_or(0);
        let fifo = self.config.network.fifo;
        if self.config.network.duplicate > 0.0 && self.net.gen_bool(self.config.network.duplicate) {
            let d = self.link_delay((from.0, to.0), fifo);
            self.schedule(d, Event::Deliver { from, to, incarnation, link, msg: msg.clone() });
            self.log_send(from, to, &msg, Sent::Scheduled(self.events.len() - 1));
        }
        let d = self.link_delay((from.0, to.0), fifo);
        // `schedule` is about to use the next event index; logging first spares a clone.
        self.log_send(from, to, &msg, Sent::Scheduled(self.events.len()));
        self.schedule(d, Event::Deliver { from, to, incarnation, link, msg });
    }

    /// Tells a traced run's log what became of a message.
    fn log_send(&self, from: ServerId, to: ServerId, msg: &PeerMessage, sent: Sent) {
        if let Some(log) = &self.log {
            log.lock().send(self.now, from, to, msg, sent);
        }
    }

    /// Breaks the connection between two nodes: in-flight messages both ways are lost and both ends are told.
    fn break_link(&mut self, a: ServerId, b: ServerId) {
        for (x, y) in [(a, b), (b, a)] {
            *self.link_generation.entry((x, y)).or_insert(0) += 1;
            if let Some(n) = self.nodes.get(&x) {
                let incarnation = n.incarnation;
                self.schedule(1, Event::PeerLost { node: x, incarnation, peer: y });
            }
        }
    }

    fn persist(&mut self, id: ServerId, write: Write) {
        let fsync_max = self.config.network.fsync_max_ms;
        let mut delay = self.net.gen_range(0..=fsync_max);
        let node = self.nodes.get_mut(&id).expect("node");
        if node.slow_disk.1 > self.now {
            delay += node.slow_disk.0;
        }
        node.pending.push(write);
        if !node.sync_scheduled {
            node.sync_scheduled = true;
            let incarnation = node.incarnation;
            self.schedule(delay, Event::DiskSync { node: id, incarnation });
        }
    }

    /// Group commit: every pending write lands in order, then both durability reports go in.
    fn sync_disk(&mut self, id: ServerId) {
        let node = self.nodes.get_mut(&id).expect("node");
        node.sync_scheduled = false;
        let writes = std::mem::take(&mut node.pending);
        let (mut last_txn, mut last_write) = (None, None);
        for w in &writes {
            node.disk.execute(w);
            match w {
                Write::Txn(t) => last_txn = Some(t.zxid),
                Write::Zab(write, _) => last_write = Some(*write),
            }
        }
        if let Some(zxid) = last_txn {
            self.feed(id, Input::Durable { zxid });
        }
        if let Some(write) = last_write {
            self.feed(id, Input::WriteDurable { write });
        }
    }

    /// Restarts a node from what its disk holds.
    pub fn restart(&mut self, id: ServerId) {
        let now = self.now;
        // A scenario may name a node the topology lacks: nothing to do.
        let Some(node) = self.nodes.get_mut(&id) else { return };
        if node.peer.is_some() {
            return;
        }
        let (state, cut) = node.disk.recover();
        let peer_now = node.clock.peer_ms(now, self.start);
        node.peer = Some(Peer::recover(node.config.clone(), state, peer_now));
        node.last_tick = 0;
        if let Some(cut) = cut {
            let line = format!("recovery of node {}: {cut}", id.0);
            self.record(line.clone());
            self.triggers.fired.push(line);
        }
        self.drain(id);
    }

    /// Crashes a node: unsynced writes, messages to it and its client connections are lost.
    pub fn crash(&mut self, id: ServerId) {
        let Some(node) = self.nodes.get_mut(&id) else { return };
        if node.peer.is_none() {
            return;
        }
        node.peer = None;
        node.pending.clear();
        node.sync_scheduled = false;
        node.incarnation += 1;
        node.paused_until = 0;
        let lost: Vec<(ConnId, usize)> = self.conns.iter().filter(|(_, (_, s))| *s == id).map(|(c, (cl, _))| (*c, *cl)).collect();
        for (conn, client) in lost {
            self.conns.remove(&conn);
            self.schedule(1, Event::ConnLost { client, conn });
        }
        // The others see their TCP connections to it reset.
        let others: Vec<(ServerId, u64)> = self.nodes.iter().filter(|(o, n)| **o != id && n.peer.is_some()).map(|(o, n)| (*o, n.incarnation)).collect();
        for (other, incarnation) in others {
            self.schedule(1, Event::PeerLost { node: other, incarnation, peer: id });
        }
    }

    /// Crashes a node in the middle of its group commit: the writes up to a
    /// drawn log-appending one land, and that one's newest record is torn.
    /// With nothing appending pending, this is a plain crash.
    pub fn crash_torn(&mut self, id: ServerId) {
        let Some(node) = self.nodes.get(&id) else { return };
        if node.peer.is_none() {
            return;
        }
        let appending: Vec<usize> = node.pending.iter().enumerate().filter(|(_, w)| w.appends_records()).map(|(i, _)| i).collect();
        if !appending.is_empty() {
            let last = appending[self.disk_rng.gen_range(0..appending.len())];
            let node = self.nodes.get_mut(&id).expect("node");
            let pending = std::mem::take(&mut node.pending);
            for w in &pending[..=last] {
                node.disk.execute(w);
            }
            let torn = node.disk.tear_last();
            let line = format!("torn crash of node {}: {} of {} pending writes landed, record {} torn", id.0, last + 1, pending.len(), torn.map_or("-".into(), |z| z.to_string()));
            self.record(line.clone());
            self.triggers.fired.push(line);
        }
        self.crash(id);
    }

    /// Cuts a node off from every other, both ways.
    fn isolate(&mut self, id: ServerId) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().filter(|b| *b != id).collect();
        for b in ids {
            self.cut(id, b);
            self.cut(b, id);
        }
    }

    /// The serving leader, if exactly one is up.
    pub fn leader(&self) -> Option<ServerId> {
        let leaders: Vec<ServerId> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.peer.as_ref().is_some_and(|p| p.role() == Role::Leading && p.serving_epoch().is_some()))
            .map(|(id, _)| *id)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// The ids of live nodes.
    pub fn up(&self) -> Vec<ServerId> {
        self.nodes.iter().filter(|(_, n)| n.peer.is_some()).map(|(id, _)| *id).collect()
    }

    /// Opens a client connection to `server` and returns its id.
    pub(crate) fn open_conn(&mut self, client: usize, server: ServerId) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(conn, (client, server));
        conn
    }

    /// Sends a client input to a server after a link delay.
    pub(crate) fn send_to_server(&mut self, server: ServerId, conn: ConnId, input: Input) {
        let incarnation = self.nodes[&server].incarnation;
        if self.nodes[&server].peer.is_none() {
            if let Some((client, _)) = self.conns.remove(&conn) {
                self.schedule(1, Event::ConnLost { client, conn });
            }
            return;
        }
        let d = self.link_delay((conn.0, 1000 + server.0), true);
        self.schedule(d, Event::ToServer { node: server, incarnation, input });
    }

    /// Records a line in the trace hash (clients use it for completions).
    pub(crate) fn trace_line(&mut self, line: String) {
        self.record(line);
    }

    fn cut(&mut self, a: ServerId, b: ServerId) {
        if !self.blocked.insert((a, b)) {
            return;
        }
        if self.silent_cuts {
            // Packets vanish with no reset: the connection breaks only at the heal.
            self.silent_links.insert((a, b));
        } else {
            // A partition breaks the connection: nothing sent before it arrives after a heal.
            self.break_link(a, b);
        }
    }

    /// Applies a fault now.
    pub fn apply_fault(&mut self, fault: Fault) {
        let ids: Vec<ServerId> = self.nodes.keys().copied().collect();
        match fault {
            Fault::Crash { node } => self.crash(ServerId(node)),
            Fault::CrashLeader => {
                if let Some(l) = self.leader() {
                    self.crash(l);
                }
            }
            Fault::Restart { node } => self.restart(ServerId(node)),
            Fault::CrashAll => {
                for id in ids.clone() {
                    self.crash(id);
                }
            }
            Fault::RestartAll => {
                for id in ids {
                    self.restart(id);
                }
            }
            Fault::Partition { groups } => {
                let group_of = |id: ServerId| groups.iter().position(|g| g.contains(&id.0)).unwrap_or(usize::MAX);
                for &a in &ids {
                    for &b in &ids {
                        if a != b && group_of(a) != group_of(b) {
                            self.cut(a, b);
                        }
                    }
                }
            }
            Fault::OneWay { from, to } => {
                if from != to && self.nodes.contains_key(&ServerId(from)) && self.nodes.contains_key(&ServerId(to)) {
                    self.cut(ServerId(from), ServerId(to));
                }
            }
            Fault::IsolateLeader => {
                if let Some(l) = self.leader() {
                    self.isolate(l);
                }
            }
            Fault::Bridge { node } => {
                let others: Vec<ServerId> = ids.iter().copied().filter(|id| id.0 != node).collect();
                let (left, right) = others.split_at(others.len() / 2);
                for &a in left {
                    for &b in right {
                        self.cut(a, b);
                        self.cut(b, a);
                    }
                }
            }
            Fault::CrashTorn { node } => self.crash_torn(ServerId(node)),
            Fault::CorruptRecord { node } => {
                let id = ServerId(node);
                self.crash(id);
                let Some(n) = self.nodes.get_mut(&id) else { return };
                // Any record but the newest (that one is the torn-tail case).
                if n.disk.log.len() >= 2 {
                    let index = self.disk_rng.gen_range(0..n.disk.log.len() - 1);
                    let zxid = n.disk.corrupt_record(index).expect("not the newest");
                    self.record(format!("corrupted record {zxid} on node {node}"));
                }
                self.restart(id);
            }
            Fault::SlowDisk { node, ms, for_ms } => {
                if let Some(n) = self.nodes.get_mut(&ServerId(node)) {
                    n.slow_disk = (ms, self.now + for_ms);
                }
            }
            Fault::Arm { trigger } => self.triggers.arm(trigger),
            Fault::Heal => {
                self.blocked.clear();
                for (a, b) in std::mem::take(&mut self.silent_links) {
                    self.break_link(a, b);
                }
            }
            Fault::SilentPartition { groups } => {
                self.silent_cuts = true;
                self.apply_fault(Fault::Partition { groups });
                self.silent_cuts = false;
            }
            Fault::SilentIsolateLeader => {
                self.silent_cuts = true;
                self.apply_fault(Fault::IsolateLeader);
                self.silent_cuts = false;
            }
            Fault::Pause { node, ms } => {
                if let Some(n) = self.nodes.get_mut(&ServerId(node)) {
                    n.paused_until = self.now + ms;
                    // On waking, the process first reads what queued up on its
                    // sockets, then its timers notice how late it is (as after a
                    // long GC pause): a paused leader may act once more on stale beliefs.
                    n.last_tick = n.last_tick.max(n.paused_until);
                }
            }
            Fault::WipeDisk { node } => {
                let id = ServerId(node);
                self.crash(id);
                let Some(n) = self.nodes.get_mut(&id) else { return };
                n.disk = Disk::default();
                self.restart(id);
            }
            Fault::CorruptDisk { node } => {
                let id = ServerId(node);
                self.crash(id);
                let Some(n) = self.nodes.get_mut(&id) else { return };
                // The recovered tree then differs from every other replica at the same zxid.
                n.disk.corrupt_undetected();
                self.restart(id);
            }
        }
    }
}

/// A message's kind, for the trace.
fn msg_kind(msg: &PeerMessage) -> &'static str {
    match msg {
        PeerMessage::Election(_) => "VOTE",
        PeerMessage::Zab(q) => q.kind(),
    }
}

/// Draws a swarm run: fault probabilities and a fault timeline from the seed's fault stream.
pub fn swarm_config(seed: u64) -> WorldConfig {
    swarm_config_for(seed, None)
}

/// A swarm run with the number of voters fixed (for benchmarks); the other draws stay as the seed makes them.
pub fn swarm_config_for(seed: u64, voters: Option<u64>) -> WorldConfig {
    let mut rng = stream(seed, FAULT_STREAM);
    let drawn = if rng.gen_bool(0.7) { 3 } else { 5 };
    let voters = voters.unwrap_or(drawn);
    let observers = if rng.gen_bool(0.3) { 1 } else { 0 };
    let total = voters + observers;
    let network = NetworkConfig {
        latency_min_ms: rng.gen_range(0..=2),
        latency_max_ms: rng.gen_range(2..=20),
        drop: if rng.gen_bool(0.3) { rng.gen_range(0.0..0.05) } else { 0.0 },
        silent_drop: false,
        duplicate: 0.0,
        fifo: true,
        fsync_max_ms: rng.gen_range(0..=10),
    };
    let crash_p = rng.gen_range(0.0..0.5);
    let partition_p = rng.gen_range(0.0..0.5);
    let pause_p = rng.gen_range(0.0..0.3);
    let mut faults = Vec::new();
    let mut t = 1_000;
    let horizon = 15_000;
    while t < horizon {
        t += rng.gen_range(300..2_500);
        let node = rng.gen_range(1..=total);
        let x: f64 = rng.gen();
        let fault = if x < crash_p * 0.5 {
            if rng.gen_bool(0.5) { Fault::CrashLeader } else { Fault::Crash { node } }
        } else if x < crash_p {
            Fault::Restart { node }
        } else if x < crash_p + partition_p * 0.6 {
            match rng.gen_range(0..3) {
                0 => Fault::IsolateLeader,
                1 => Fault::OneWay { from: node, to: rng.gen_range(1..=total) },
                _ => Fault::Partition { groups: vec![(1..=total).filter(|_| rng.gen_bool(0.5)).collect()] },
            }
        } else if x < crash_p + partition_p {
            Fault::Heal
        } else if x < crash_p + partition_p + pause_p {
            Fault::Pause { node, ms: rng.gen_range(100..3_000) }
        } else {
            continue;
        };
        faults.push(TimedFault { at_ms: t, fault });
    }
    let clients = rng.gen_range(1..=4);
    let mut network = network;
    let clocks = extra_faults(seed, total, horizon, &mut faults, &mut network);
    WorldConfig { seed, voters, observers, clients, ops_per_client: 20, network, faults, liveness_bound_ms: 60_000, clocks, diff_history_max: None, sabotage: Sabotage::default() }
}

/// Draws the newer faults of a swarm run into `faults` (kept in time order) and returns the nodes' clocks.
fn extra_faults(seed: u64, total: u64, horizon: u64, faults: &mut Vec<TimedFault>, network: &mut NetworkConfig) -> Vec<Clock> {
    let mut rng = stream(seed, EXTRA_FAULT_STREAM);
    let mut clocks = Vec::new();
    if rng.gen_bool(0.3) {
        for node in 1..=total {
            clocks.push(Clock { node, skew_ms: rng.gen_range(-3_000..=3_000), drift_ppm: rng.gen_range(-10_000..=10_000) });
        }
    }
    // Now and then one machine's clock runs far slow (a starved VM): its
    // timeouts fire late, so it may still believe it leads after the others
    // moved on, which is what a leader's sync quorum round guards against.
    if rng.gen_bool(0.15) {
        let node = rng.gen_range(1..=total);
        let drift_ppm = rng.gen_range(-350_000..=-150_000);
        clocks.retain(|c| c.node != node);
        clocks.push(Clock { node, skew_ms: 0, drift_ppm });
        clocks.sort_by_key(|c| c.node);
    }
    // Now and then the disks are slow to sync, so that a durable write trails its message by a while.
    if rng.gen_bool(0.2) {
        network.fsync_max_ms = rng.gen_range(20..=150);
    }
    if !rng.gen_bool(0.5) {
        return clocks;
    }
    let (bridge_p, torn_p, slow_p, arm_p) = (rng.gen_range(0.0..0.15), rng.gen_range(0.0..0.2), rng.gen_range(0.0..0.2), rng.gen_range(0.0..0.15));
    let power_p = rng.gen_range(0.0..0.1);
    let silent_p = rng.gen_range(0.0..0.15);
    // A node that loses acknowledged records is beyond ZAB's fault model once
    // a quorum without them can form; one such fault per run keeps that rare.
    let mut corrupt_left = u32::from(rng.gen_bool(0.2));
    let mut t = 1_000;
    while t < horizon {
        t += rng.gen_range(300..2_500);
        let node = rng.gen_range(1..=total);
        let x: f64 = rng.gen();
        let fault = if x < bridge_p {
            Fault::Bridge { node }
        } else if x < bridge_p + torn_p {
            Fault::CrashTorn { node }
        } else if x < bridge_p + torn_p + slow_p {
            Fault::SlowDisk { node, ms: rng.gen_range(10..500), for_ms: rng.gen_range(500..5_000) }
        } else if x < bridge_p + torn_p + slow_p + arm_p {
            Fault::Arm { trigger: random_trigger(&mut rng) }
        } else if x < bridge_p + torn_p + slow_p + arm_p + power_p {
            // A power loss: every node crashes at once, and power comes back a little later.
            faults.push(TimedFault { at_ms: t + rng.gen_range(50..1_500), fault: Fault::RestartAll });
            Fault::CrashAll
        } else if x < bridge_p + torn_p + slow_p + arm_p + power_p + silent_p {
            if rng.gen_bool(0.5) {
                Fault::SilentIsolateLeader
            } else {
                Fault::SilentPartition { groups: vec![(1..=total).filter(|_| rng.gen_bool(0.5)).collect()] }
            }
        } else if corrupt_left > 0 && x > 0.97 {
            corrupt_left -= 1;
            Fault::CorruptRecord { node }
        } else {
            continue;
        };
        faults.push(TimedFault { at_ms: t, fault });
    }
    faults.sort_by_key(|f| f.at_ms);
    clocks
}

/// One of the targeted faults, with its parameters drawn.
fn random_trigger(rng: &mut ChaCha8Rng) -> Trigger {
    match rng.gen_range(0..6) {
        5 => Trigger::PowerLossAfterAck { restart_after_ms: rng.gen_range(50..1_000) },
        0 => Trigger::LeaderAcked { acks: rng.gen_range(1..=2) },
        1 => Trigger::CommitReachedFollower,
        2 => Trigger::BetweenEpochs,
        3 => Trigger::DuringSync { header: [SyncHeader::Diff, SyncHeader::Trunc, SyncHeader::Snap][rng.gen_range(0..3)], proposals: rng.gen_range(0..3) },
        _ => Trigger::TornTail { leader: rng.gen_bool(0.5) },
    }
}
