//! Proves that the same `Peer` runs a replicated ensemble: election, ZAB
//! discovery, synchronization and broadcast, learners forwarding writes, and
//! recovery from leader crashes, all driven by a small deterministic in-memory
//! pump (seeded delivery order, a disk model per peer where writes become
//! durable only when the pump says so, crashes that lose every write not yet
//! durable). Every test ends by checking that all replicas hold equal trees and
//! agreeing committed histories, and `check_invariants` runs after every step.

use ensemble::acl;
use ensemble::peer::{Input, Output, Peer, PeerConfig, PeerMessage, Persist, RecoveredState, ReplyBody, Role};
use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{ClientRequest, ReadReply, WriteReply};
use ensemble::watch::EventType;
use ensemble::zab::{self, QuorumMessage, WriteId};
use ensemble::{ConnId, CreateMode, DataTree, Epoch, OpResult, ReadOp, ServerId, SessionId, Txn, TxnOp, WriteOp, Zxid};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

const TICK_MS: u64 = 100;

/// What a peer's disk holds.
#[derive(Clone, Debug)]
struct Disk {
    snapshot: DataTree,
    log: Vec<Txn>,
    accepted_epoch: Epoch,
    current_epoch: Epoch,
}

impl Disk {
    fn new() -> Disk {
        Disk { snapshot: DataTree::new(), log: Vec::new(), accepted_epoch: Epoch(0), current_epoch: Epoch(0) }
    }

    fn last_zxid(&self) -> Zxid {
        self.log.last().map_or(self.snapshot.last_zxid(), |t| t.zxid)
    }

    fn execute(&mut self, write: &Write) {
        match write {
            Write::Txn(t) => {
                assert!(t.zxid > self.last_zxid(), "append of {} after {}", t.zxid, self.last_zxid());
                self.log.push(t.clone());
            }
            Write::Zab(_, p) => match p {
                zab::Persist::AcceptedEpoch(e) => self.accepted_epoch = *e,
                zab::Persist::CurrentEpoch(e) => self.current_epoch = *e,
                zab::Persist::Truncate { zxid } => self.log.retain(|t| t.zxid <= *zxid),
                zab::Persist::Snapshot(tree) => {
                    self.snapshot = tree.clone();
                    self.log.clear();
                }
                zab::Persist::Txns(txns) => {
                    for t in txns {
                        assert!(t.zxid > self.last_zxid(), "append of {} after {}", t.zxid, self.last_zxid());
                        self.log.push(t.clone());
                    }
                }
            },
        }
    }
}

#[derive(Clone, Debug)]
enum Write {
    Txn(Txn),
    Zab(WriteId, zab::Persist),
}

struct Node {
    config: PeerConfig,
    peer: Option<Peer>,
    disk: Disk,
    pending: Vec<Write>,
    /// Client-facing outputs, per connection.
    client: BTreeMap<ConnId, Vec<Output>>,
}

struct Message {
    from: ServerId,
    to: ServerId,
    msg: PeerMessage,
}

/// What a failure message shows of one server.
type ServerSummary = (ServerId, Role, Option<Epoch>, Zxid, usize, usize, Option<u64>);

/// Decides whether a message may be delivered now: false drops it.
type Filter = Box<dyn Fn(&Message) -> bool>;

struct Cluster {
    nodes: BTreeMap<ServerId, Node>,
    wire: Vec<Message>,
    rng: ChaCha8Rng,
    now: u64,
    /// Servers cut off from everyone outside their own group.
    groups: Option<(BTreeSet<ServerId>, BTreeSet<ServerId>)>,
    filter: Option<Filter>,
    /// Whether the pump may make writes durable on this server.
    disk_frozen: BTreeSet<ServerId>,
    /// Every (epoch, leader) ever seen serving.
    leaders: BTreeMap<Epoch, BTreeSet<ServerId>>,
    seed: u64,
    steps: u64,
    /// Paths whose create a client saw succeed: they must never be lost.
    acked: BTreeSet<String>,
}

impl Cluster {
    fn new(seed: u64, voters: u64, observers: u64) -> Cluster {
        Cluster::with_config(seed, voters, observers, |_| {})
    }

    fn with_config(seed: u64, voters: u64, observers: u64, tweak: impl Fn(&mut PeerConfig)) -> Cluster {
        let voter_ids: BTreeSet<ServerId> = (1..=voters).map(ServerId).collect();
        let observer_ids: BTreeSet<ServerId> = (voters + 1..=voters + observers).map(ServerId).collect();
        let now = 1_000_000;
        let mut nodes = BTreeMap::new();
        for id in voter_ids.iter().chain(observer_ids.iter()) {
            let mut config = PeerConfig::new(*id, TICK_MS);
            config.voters = voter_ids.clone();
            config.observers = observer_ids.clone();
            config.max_session_timeout_ms = 600_000;
            config.password_seed = 42;
            // Unanswered votes are re-sent at least every 5 s instead of 60 s, so that runs stay short.
            config.max_notification_interval_ms = 5_000;
            tweak(&mut config);
            nodes.insert(*id, Node { config, peer: None, disk: Disk::new(), pending: Vec::new(), client: BTreeMap::new() });
        }
        let mut c = Cluster {
            nodes,
            wire: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            now,
            groups: None,
            filter: None,
            disk_frozen: BTreeSet::new(),
            leaders: BTreeMap::new(),
            seed,
            steps: 0,
            acked: BTreeSet::new(),
        };
        let ids: Vec<ServerId> = c.nodes.keys().copied().collect();
        for id in ids {
            c.restart(id);
        }
        c
    }

    fn restart(&mut self, id: ServerId) {
        let now = self.now;
        let node = self.nodes.get_mut(&id).unwrap();
        let state = RecoveredState {
            snapshot: node.disk.snapshot.clone(),
            log: node.disk.log.clone(),
            accepted_epoch: node.disk.accepted_epoch,
            current_epoch: node.disk.current_epoch,
            lost_records: false,
        };
        node.peer = Some(Peer::recover(node.config.clone(), state, now));
        node.pending.clear();
        node.client.clear();
        self.drain(id);
    }

    /// Crashes a server: everything not yet durable is lost, and so are its messages in flight.
    fn crash(&mut self, id: ServerId) {
        let node = self.nodes.get_mut(&id).unwrap();
        node.peer = None;
        node.pending.clear();
        node.client.clear();
        self.wire.retain(|m| m.from != id && m.to != id);
    }

    fn peer(&self, id: ServerId) -> &Peer {
        self.nodes[&id].peer.as_ref().expect("server is up")
    }

    fn up(&self) -> Vec<ServerId> {
        self.nodes.iter().filter(|(_, n)| n.peer.is_some()).map(|(id, _)| *id).collect()
    }

    fn feed(&mut self, id: ServerId, input: Input) {
        let now = self.now;
        let Some(peer) = self.nodes.get_mut(&id).unwrap().peer.as_mut() else { return };
        if std::env::var_os("PUMP_TRACE_TICKS").is_some() && matches!(input, Input::Tick) {
            eprintln!("{now} {id:?} tick timeout {:?} election {:?}", peer.poll_timeout(), peer.election_state());
        }
        if std::env::var_os("PUMP_TRACE").is_some() && !matches!(input, Input::Tick) {
            eprintln!("{now} {id:?} <- {input:?}");
        }
        peer.handle(now, input);
        self.drain(id);
    }

    fn drain(&mut self, id: ServerId) {
        let node = self.nodes.get_mut(&id).unwrap();
        let Some(peer) = node.peer.as_mut() else { return };
        while let Some(out) = peer.poll_output() {
            match out {
                Output::Send { to, msg } => self.wire.push(Message { from: id, to, msg }),
                Output::Persist(Persist::Txn(t)) => node.pending.push(Write::Txn(t)),
                Output::Persist(Persist::Zab { write, persist }) => node.pending.push(Write::Zab(write, persist)),
                Output::Persist(Persist::Snapshot(_) | Persist::RecordsRestored) => {}
                Output::Connected { conn, .. } | Output::Reply { conn, .. } | Output::Notify { conn, .. } | Output::Close { conn, .. } => {
                    if let Output::Reply { reply, .. } = &out {
                        if let ReplyBody::Write { result: OpResult::Created { path, .. }, .. } = &reply.body {
                            self.acked.insert(path.clone());
                        }
                    }
                    node.client.entry(conn).or_default().push(out)
                }
            }
        }
        peer.check_invariants();
        if let Some(epoch) = peer.serving_epoch() {
            if peer.role() == Role::Leading {
                self.leaders.entry(epoch).or_default().insert(id);
            }
        }
    }

    fn connected(&self, a: ServerId, b: ServerId) -> bool {
        match &self.groups {
            None => true,
            Some((x, y)) => !((x.contains(&a) && y.contains(&b)) || (y.contains(&a) && x.contains(&b))),
        }
    }

    /// Makes every pending write of `id` durable and reports it.
    fn flush(&mut self, id: ServerId) {
        self.flush_some(id, usize::MAX);
    }

    /// Makes the first `n` pending writes of `id` durable and reports them, as a disk that synced part of its queue.
    fn flush_some(&mut self, id: ServerId, n: usize) {
        let node = self.nodes.get_mut(&id).unwrap();
        let rest = node.pending.split_off(n.min(node.pending.len()));
        let done = std::mem::replace(&mut node.pending, rest);
        let mut last_txn = None;
        let mut last_write = None;
        for w in &done {
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

    /// One step: time moves on a little, due timers fire, then one message is delivered or one disk syncs.
    fn step(&mut self) {
        self.steps += 1;
        self.now += self.rng.gen_range(0..=2);
        let up = self.up();
        for id in &up {
            if self.peer(*id).poll_timeout().is_some_and(|t| t <= self.now) {
                self.feed(*id, Input::Tick);
            }
        }
        // A filter drops what it refuses, as a link that breaks at the right moment would.
        if let Some(filter) = &self.filter {
            let wire = std::mem::take(&mut self.wire);
            self.wire = wire.into_iter().filter(|m| filter(m)).collect();
        }
        // Links are FIFO, as TCP is: only the oldest message of each (from, to) link can be delivered.
        let mut heads: BTreeSet<(ServerId, ServerId)> = BTreeSet::new();
        let deliverable: Vec<usize> = (0..self.wire.len())
            .filter(|&i| {
                let m = &self.wire[i];
                heads.insert((m.from, m.to)) && self.connected(m.from, m.to)
            })
            .collect();
        let flushable: Vec<ServerId> = up.iter().copied().filter(|id| !self.nodes[id].pending.is_empty() && !self.disk_frozen.contains(id)).collect();
        let choices = deliverable.len() + flushable.len();
        if choices == 0 {
            let next = up.iter().filter_map(|id| self.peer(*id).poll_timeout()).min().unwrap_or(self.now + 1);
            self.now = self.now.max(next);
            return;
        }
        let pick = self.rng.gen_range(0..choices);
        if pick < deliverable.len() {
            let m = self.wire.remove(deliverable[pick]);
            // Messages across a partition are lost, as on a broken link.
            if self.nodes[&m.to].peer.is_some() {
                self.feed(m.to, Input::Message { from: m.from, msg: m.msg });
            }
        } else {
            self.flush(flushable[pick - deliverable.len()]);
        }
        // A partition drops what cannot cross it.
        if self.groups.is_some() {
            let wire = std::mem::take(&mut self.wire);
            self.wire = wire.into_iter().filter(|m| self.connected(m.from, m.to)).collect();
        }
    }

    fn run_until(&mut self, what: &str, max_steps: u64, done: impl Fn(&Cluster) -> bool) {
        for _ in 0..max_steps {
            if done(self) {
                return;
            }
            self.step();
        }
        let mut wire: Vec<String> = self.wire.iter().map(|m| format!("{:?}->{:?} {:?}", m.from, m.to, m.msg)).collect();
        for id in self.up() {
            wire.push(format!("{id:?} election {:?}", self.peer(id).election_state()));
        }
        assert!(
            done(self),
            "seed {}: gave up waiting for {what} after {} steps (now {}); roles {:?}\nwire {wire:#?}",
            self.seed,
            self.steps,
            self.now,
            self.roles()
        );
    }

    /// Per live server: role, serving epoch, last zxid, outstanding writes, pending disk writes, next timeout.
    fn roles(&self) -> Vec<ServerSummary> {
        self.up()
            .into_iter()
            .map(|id| {
                let p = self.peer(id);
                (
                    id,
                    p.role(),
                    p.serving_epoch(),
                    p.tree().last_zxid(),
                    p.stats().outstanding_requests,
                    self.nodes[&id].pending.len(),
                    p.poll_timeout(),
                )
            })
            .collect()
    }

    /// Every live server serves under one leader in one epoch.
    fn settled(&self) -> bool {
        let up = self.up();
        let epochs: BTreeSet<Option<Epoch>> = up.iter().map(|id| self.peer(*id).serving_epoch()).collect();
        let leaders: BTreeSet<Option<ServerId>> = up.iter().map(|id| self.peer(*id).leader()).collect();
        epochs.len() == 1
            && !epochs.contains(&None)
            && leaders.len() == 1
            && leaders.iter().next().copied().flatten().is_some_and(|l| self.nodes[&l].peer.as_ref().is_some_and(|p| p.role() == Role::Leading))
    }

    fn leader(&self) -> ServerId {
        let leaders: Vec<ServerId> =
            self.up().into_iter().filter(|id| self.peer(*id).role() == Role::Leading && self.peer(*id).serving_epoch().is_some()).collect();
        assert_eq!(leaders.len(), 1, "seed {}: leaders {leaders:?}", self.seed);
        leaders[0]
    }

    // ---------------------------------------------------------------- clients

    fn replies(&self, id: ServerId, conn: ConnId) -> &[Output] {
        self.nodes[&id].client.get(&conn).map_or(&[], |v| v.as_slice())
    }

    fn connect(&mut self, id: ServerId, conn: ConnId) -> SessionId {
        self.connect_with_timeout(id, conn, 600_000)
    }

    fn connect_with_timeout(&mut self, id: ServerId, conn: ConnId, timeout_ms: i32) -> SessionId {
        self.feed(id, Input::Connected { conn, remote_ip: "10.0.0.1".into() });
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid::ZERO,
            timeout_ms,
            session_id: SessionId(0),
            passwd: vec![0; 16],
            read_only: Some(false),
        };
        self.feed(id, Input::Connect { conn, request });
        self.run_until("a session", 20_000, |c| c.replies(id, conn).iter().any(|o| matches!(o, Output::Connected { .. } | Output::Close { .. })));
        match self.replies(id, conn).iter().find(|o| matches!(o, Output::Connected { .. })) {
            Some(Output::Connected { response, .. }) if response.session_id.0 != 0 => response.session_id,
            other => panic!("seed {}: no session from {id:?}: {other:?} {:?}", self.seed, self.replies(id, conn)),
        }
    }

    fn send_create(&mut self, id: ServerId, conn: ConnId, xid: i32, path: &str) {
        self.send_create_mode(id, conn, xid, path, CreateMode::Persistent);
    }

    fn send_create_mode(&mut self, id: ServerId, conn: ConnId, xid: i32, path: &str, mode: CreateMode) {
        let op = WriteOp::Create { path: path.into(), data: b"d".as_slice().into(), acl: acl::open_acl_unsafe(), mode, ttl_ms: None };
        self.feed(id, Input::Request { conn, xid, request: ClientRequest::Write { op, reply: WriteReply::Create2 } });
    }

    fn reply_for(&self, id: ServerId, conn: ConnId, xid: i32) -> Option<&ReplyBody> {
        self.replies(id, conn).iter().find_map(|o| match o {
            Output::Reply { reply, .. } if reply.xid == xid => Some(&reply.body),
            _ => None,
        })
    }

    fn create(&mut self, id: ServerId, conn: ConnId, xid: i32, path: &str) {
        self.send_create(id, conn, xid, path);
        self.run_until("a write reply", 20_000, |c| c.reply_for(id, conn, xid).is_some());
        let body = self.reply_for(id, conn, xid).unwrap();
        assert!(matches!(body, ReplyBody::Write { result: OpResult::Created { .. }, .. }), "seed {}: {body:?}", self.seed);
    }

    // ---------------------------------------------------------------- checks

    /// Runs until every server applied everything, then checks agreement.
    fn converge(&mut self) {
        self.run_until("convergence", 50_000, |c| {
            c.settled() && {
                let zxids: BTreeSet<Zxid> = c.up().iter().map(|id| c.peer(*id).tree().last_zxid()).collect();
                zxids.len() == 1
            }
        });
        self.check_agreement();
    }

    /// All replicas hold equal trees, their committed histories never disagree, and each epoch had at most one leader.
    fn check_agreement(&self) {
        let up = self.up();
        let digests: BTreeSet<u64> = up.iter().map(|id| self.peer(*id).tree().digest()).collect();
        assert_eq!(digests.len(), 1, "seed {}: tree digests differ: {:?}", self.seed, self.roles());
        let mut by_zxid: BTreeMap<Zxid, Txn> = BTreeMap::new();
        for id in &up {
            for t in self.peer(*id).committed_history() {
                if let Some(other) = by_zxid.insert(t.zxid, t.clone()) {
                    assert_eq!(&other, t, "seed {}: two committed txns at {}", self.seed, t.zxid);
                }
            }
        }
        for (epoch, leaders) in &self.leaders {
            assert_eq!(leaders.len(), 1, "seed {}: epoch {epoch:?} had leaders {leaders:?}", self.seed);
        }
    }
}

fn is_kind(m: &Message, kind: &str) -> bool {
    matches!(&m.msg, PeerMessage::Zab(q) if q.kind() == kind)
}

// ---------------------------------------------------------------- tests

// Three voters elect exactly one leader, and writes sent to every server (the
// followers forward theirs) commit everywhere in one order.
#[test]
fn three_voters_elect_one_leader_and_replicate_writes() {
    for seed in 1..=3 {
        let mut c = Cluster::new(seed, 3, 0);
        c.run_until("a leader", 20_000, Cluster::settled);
        let ids = c.up();
        for (i, id) in ids.iter().enumerate() {
            let conn = ConnId(i as u64 + 1);
            c.connect(*id, conn);
            for n in 0..3 {
                c.create(*id, conn, n + 1, &format!("/s{}-{}", id.0, n));
            }
        }
        c.converge();
        for id in &ids {
            assert_eq!(c.peer(*id).tree().children("/").len(), 10, "seed {seed}: 9 znodes plus /zookeeper on {id:?}");
        }
    }
}

// Five voters and an observer elect one leader; the observer learns every
// commit through INFORM and forwards its clients' writes.
#[test]
fn five_voters_and_an_observer_replicate_writes() {
    let mut c = Cluster::new(7, 5, 1);
    c.run_until("a leader", 30_000, Cluster::settled);
    assert_eq!(c.peer(ServerId(6)).role(), Role::Observing);
    for (i, id) in [ServerId(6), ServerId(2), c.leader()].into_iter().enumerate() {
        let conn = ConnId(i as u64 + 1);
        c.connect(id, conn);
        c.create(id, conn, 1, &format!("/n{i}"));
    }
    c.converge();
    assert!(c.peer(ServerId(6)).tree().node("/n0").is_some());
}

// The leader crashes after a quorum (itself and one follower) made a proposal
// durable but before any COMMIT left it: the next leader holds the txn, so it
// survives the election and reaches every replica.
#[test]
fn quorum_acked_txn_survives_leader_crash() {
    for seed in 1..=3 {
        let mut c = Cluster::new(seed, 3, 0);
        c.run_until("a leader", 20_000, Cluster::settled);
        let leader = c.leader();
        let conn = ConnId(1);
        c.connect(leader, conn);
        c.filter = Some(Box::new(|m: &Message| !is_kind(m, "COMMIT")));
        c.send_create(leader, conn, 1, "/survivor");
        let followers: Vec<ServerId> = c.up().into_iter().filter(|id| *id != leader).collect();
        let f = followers[0];
        c.run_until("a follower logged the proposal", 20_000, |c| {
            c.nodes[&f].disk.log.iter().any(|t| t.zxid.epoch == c.peer(leader).serving_epoch().unwrap() && t.zxid.counter >= 2)
        });
        c.crash(leader);
        c.filter = None;
        c.run_until("a new leader", 30_000, Cluster::settled);
        c.run_until("the txn applied", 30_000, |c| c.up().iter().all(|id| c.peer(*id).tree().node("/survivor").is_some()));
        c.restart(leader);
        c.converge();
        assert!(c.peer(leader).tree().node("/survivor").is_some(), "seed {seed}");
    }
}

// The leader crashes after only it logged a proposal (no follower received it):
// the txn may vanish, and the restarted old leader is truncated so that all
// replicas agree.
#[test]
fn minority_acked_txn_may_vanish_but_replicas_agree() {
    for seed in 1..=3 {
        let mut c = Cluster::new(seed, 3, 0);
        c.run_until("a leader", 20_000, Cluster::settled);
        let leader = c.leader();
        let conn = ConnId(1);
        c.connect(leader, conn);
        c.filter = Some(Box::new(move |m: &Message| !(m.from == leader && (is_kind(m, "PROPOSAL") || is_kind(m, "COMMIT")))));
        c.send_create(leader, conn, 1, "/ghost");
        c.run_until("the leader logged it", 20_000, |c| c.nodes[&leader].disk.log.len() >= 2);
        c.crash(leader);
        c.filter = None;
        c.run_until("a new leader", 30_000, Cluster::settled);
        let other = c.leader();
        let conn2 = ConnId(2);
        c.connect(other, conn2);
        c.create(other, conn2, 1, "/after");
        c.restart(leader);
        c.converge();
        assert!(c.peer(leader).tree().node("/ghost").is_none(), "seed {seed}: the uncommitted txn survived on the old leader only");
        assert!(c.peer(leader).tree().node("/after").is_some());
    }
}

// An observer synchronized by a leader whose epoch never got a quorum applies
// that leader's uncommitted txn; once that leader is gone, the next leader
// TRUNCs the txn away, and the observer ends equal to the voters (it neither
// keeps the txn nor refuses every later sync). Found by the simulator's swarm.
#[test]
fn observer_synced_by_unestablished_leader_is_truncated() {
    for seed in 1..=3 {
        let mut c = Cluster::new(seed, 3, 1);
        c.run_until("a leader", 30_000, Cluster::settled);
        let x = c.leader();
        let observer = ServerId(4);
        let voters: BTreeSet<ServerId> = (1..=3).map(ServerId).filter(|id| *id != x).collect();
        let conn = ConnId(1);
        c.connect(x, conn);
        c.create(x, conn, 1, "/before");
        c.converge();
        // x logs /ghost, and no one else hears of it.
        c.filter = Some(Box::new(move |m: &Message| !(m.from == x && (is_kind(m, "PROPOSAL") || is_kind(m, "COMMIT") || is_kind(m, "INFORM")))));
        c.send_create(x, conn, 3, "/ghost");
        c.run_until("x logged /ghost", 20_000, |c| c.nodes[&x].disk.log.iter().any(|t| matches!(&t.op, TxnOp::Create { path, .. } if path == "/ghost")));
        // x restarts with another voter down, so the one voter left must
        // follow it; that voter gets its LEADERINFO but none of its
        // synchronization, so the epoch never gets a quorum, while the
        // observer is synced with /ghost.
        let y = *voters.iter().next().unwrap();
        c.crash(x);
        c.crash(y);
        c.restart(x);
        let cut = voters.clone();
        c.filter = Some(Box::new(move |m: &Message| {
            !(m.from == x && cut.contains(&m.to) && ["DIFF", "TRUNC", "SNAP", "PROPOSAL", "COMMIT", "NEWLEADER", "UPTODATE"].iter().any(|k| is_kind(m, k)))
        }));
        c.run_until("the observer applied /ghost", 60_000, |c| c.peer(observer).tree().node("/ghost").is_some());
        assert!(voters.iter().filter(|v| **v != y).all(|v| c.peer(*v).tree().node("/ghost").is_none()), "seed {seed}: a voter got /ghost");
        c.crash(x);
        c.restart(y);
        c.filter = None;
        c.run_until("a leader among the rest", 60_000, Cluster::settled);
        c.converge();
        assert!(c.peer(observer).tree().node("/ghost").is_none(), "seed {seed}: the observer kept a txn no quorum ever held");
        assert!(c.peer(observer).tree().node("/before").is_some());
        c.restart(x);
        c.converge();
    }
}

// A learner that forwards more writes than the bound allows (a misbehaving or
// flooded peer) is dropped by the leader instead of growing its proposals
// without limit; it registers again, and the replicas end in agreement.
#[test]
fn flooding_learner_is_dropped_at_the_bound() {
    let mut c = Cluster::with_config(3, 3, 0, |pc| pc.outstanding_limit = 2);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let follower = c.up().into_iter().find(|id| *id != leader).unwrap();
    let conn = ConnId(1);
    let session = c.connect(follower, conn);
    // Hand the leader far more forwarded writes than 2 per member at once.
    for cxid in 1..=20 {
        let op = WriteOp::Create { path: format!("/flood{cxid}"), data: b"d".as_slice().into(), acl: acl::open_acl_unsafe(), mode: CreateMode::Persistent, ttl_ms: None };
        c.feed(leader, Input::Message { from: follower, msg: PeerMessage::Zab(QuorumMessage::Request { session, cxid, op, auth: Vec::new() }) });
    }
    let in_flight = c.peer(leader).stats().outstanding_requests;
    assert!(in_flight <= 2 * 3, "the leader holds {in_flight} proposals, beyond 2 per member");
    // What was proposed before the bound still commits, and the dropped follower catches up.
    c.run_until("the first forwarded writes committed", 50_000, |c| c.up().iter().all(|id| c.peer(*id).tree().node("/flood1").is_some()));
    c.converge();
}

// A follower cut off while writes commit falls back to LOOKING, and when the
// partition heals it rejoins and catches up with a DIFF.
#[test]
fn lagging_follower_catches_up() {
    let mut c = Cluster::new(11, 3, 0);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let lagging = c.up().into_iter().find(|id| *id != leader).unwrap();
    let rest: BTreeSet<ServerId> = c.up().into_iter().filter(|id| *id != lagging).collect();
    c.groups = Some(([lagging].into(), rest));
    let conn = ConnId(1);
    c.connect(leader, conn);
    for n in 0..5 {
        c.create(leader, conn, n + 1, &format!("/lag{n}"));
    }
    assert!(c.peer(lagging).tree().node("/lag4").is_none());
    // A broken link is noticed within syncLimit: the follower gives up on the leader.
    c.run_until("the lagging follower to give up", 20_000, |c| c.peer(lagging).role() == Role::Looking);
    c.groups = None;
    c.converge();
    assert!(c.peer(lagging).tree().node("/lag4").is_some());
}

// With five voters, a leader cut off with one follower cannot commit a write;
// the majority side elects a new leader and, after healing, the old leader's
// write never appears anywhere.
#[test]
fn minority_partition_cannot_commit() {
    let mut c = Cluster::new(5, 5, 0);
    c.run_until("a leader", 30_000, Cluster::settled);
    let leader = c.leader();
    let conn = ConnId(1);
    c.connect(leader, conn);
    c.connect(leader, ConnId(3));
    let buddy = c.up().into_iter().find(|id| *id != leader).unwrap();
    let minority: BTreeSet<ServerId> = [leader, buddy].into();
    let majority: BTreeSet<ServerId> = c.up().into_iter().filter(|id| !minority.contains(id)).collect();
    c.groups = Some((minority.clone(), majority.clone()));
    c.send_create(leader, conn, 1, "/minority");
    // A deposed leader must not answer sync: it cannot confirm its leadership with a quorum.
    c.feed(leader, Input::Request { conn: ConnId(3), xid: 1, request: ClientRequest::Sync { path: "/".into() } });
    let m = majority.clone();
    c.run_until("a new leader on the majority side", 40_000, |c| {
        m.iter().all(|id| c.peer(*id).serving_epoch().is_some() && c.peer(*id).leader().is_some_and(|l| m.contains(&l)))
    });
    assert!(!matches!(c.reply_for(leader, conn, 1), Some(ReplyBody::Write { result: OpResult::Created { .. }, .. })), "a minority committed a write");
    assert!(c.reply_for(leader, ConnId(3), 1).is_none(), "a leader cut off in a minority answered sync");
    let new_leader = c.leader_among(&majority);
    let conn2 = ConnId(2);
    c.connect(new_leader, conn2);
    c.create(new_leader, conn2, 1, "/majority");
    c.groups = None;
    c.converge();
    for id in c.up() {
        assert!(c.peer(id).tree().node("/minority").is_none(), "{id:?} holds the minority's write");
        assert!(c.peer(id).tree().node("/majority").is_some());
    }
}

impl Cluster {
    fn leader_among(&self, ids: &BTreeSet<ServerId>) -> ServerId {
        *ids.iter().find(|id| self.peer(**id).role() == Role::Leading).expect("a leader on that side")
    }
}

// A single voter still elects itself at once, in the epoch after the last it holds.
#[test]
fn single_voter_is_standalone() {
    let mut c = Cluster::new(1, 1, 0);
    assert_eq!(c.peer(ServerId(1)).role(), Role::Leading);
    assert_eq!(c.peer(ServerId(1)).serving_epoch(), Some(Epoch(1)));
    c.connect(ServerId(1), ConnId(1));
    c.create(ServerId(1), ConnId(1), 1, "/solo");
    assert!(c.wire.is_empty());
    let _ = QuorumMessage::UpToDate;
}

// Random crashes, restarts and isolated servers while clients write to random
// servers: after healing, every replica agrees, each epoch had one leader, and
// every create a client saw succeed is present everywhere (no committed txn is lost).
#[test]
fn random_crashes_lose_no_acknowledged_write() {
    // REPLICATED_SEEDS=n runs n seeds instead of six, for a longer hunt.
    let seeds: u64 = std::env::var("REPLICATED_SEEDS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let first: u64 = std::env::var("REPLICATED_FIRST_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    for seed in first..first + seeds {
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let mut c = Cluster::new(seed, voters, 1);
        let ids: Vec<ServerId> = c.nodes.keys().copied().collect();
        let mut next_conn = 1u64;
        let mut open: BTreeMap<ServerId, (ConnId, i32)> = BTreeMap::new();
        let mut path_no = 0;
        for _round in 0..60 {
            let id = ids[c.rng.gen_range(0..ids.len())];
            match c.rng.gen_range(0..10) {
                0 => {
                    if c.nodes[&id].peer.is_some() {
                        c.crash(id);
                        open.remove(&id);
                    }
                }
                1 => {
                    if c.nodes[&id].peer.is_none() {
                        c.restart(id);
                    }
                }
                2 => {
                    let rest: BTreeSet<ServerId> = ids.iter().copied().filter(|x| *x != id).collect();
                    c.groups = Some(([id].into(), rest));
                }
                // A link breaks: what is in flight on it is lost, and both ends are told.
                3 if c.rng.gen_bool(0.5) => {
                    let other = ids[c.rng.gen_range(0..ids.len())];
                    if other != id {
                        c.wire.retain(|m| !((m.from == id && m.to == other) || (m.from == other && m.to == id)));
                        c.feed(id, Input::PeerLost { peer: other });
                        c.feed(other, Input::PeerLost { peer: id });
                    }
                }
                3 => c.groups = None,
                _ => {
                    if c.nodes[&id].peer.is_some() {
                        let live = open.get(&id).copied().filter(|(conn, _)| {
                            let r = c.replies(id, *conn);
                            r.iter().any(|o| matches!(o, Output::Connected { response, .. } if response.session_id.0 != 0))
                                && !r.iter().any(|o| matches!(o, Output::Close { .. }))
                        });
                        match live {
                            Some((conn, xid)) => {
                                path_no += 1;
                                c.send_create(id, conn, xid, &format!("/p{path_no}"));
                                open.insert(id, (conn, xid + 1));
                            }
                            None => {
                                let conn = ConnId(next_conn);
                                next_conn += 1;
                                c.feed(id, Input::Connected { conn, remote_ip: "10.0.0.2".into() });
                                let request = ConnectRequest {
                                    protocol_version: 0,
                                    last_zxid_seen: Zxid::ZERO,
                                    timeout_ms: 600_000,
                                    session_id: SessionId(0),
                                    passwd: vec![0; 16],
                                    read_only: Some(false),
                                };
                                c.feed(id, Input::Connect { conn, request });
                                open.insert(id, (conn, 1));
                            }
                        }
                    }
                }
            }
            for _ in 0..c.rng.gen_range(50..400) {
                c.step();
            }
        }
        c.groups = None;
        for id in &ids {
            if c.nodes[id].peer.is_none() {
                c.restart(*id);
            }
        }
        c.converge();
        if std::env::var_os("PUMP_TRACE_SUMMARY").is_some() {
            eprintln!("seed {seed}: {} acked writes, epochs {:?}, last zxid {}", c.acked.len(), c.leaders, c.peer(ids[0]).tree().last_zxid());
        }
        for path in &c.acked {
            for id in c.up() {
                assert!(c.peer(id).tree().node(path).is_some(), "seed {seed}: acknowledged {path} lost on {id:?}");
            }
        }
    }
}

/// A fingerprint of a whole run, for the determinism test.
fn run_fingerprint(seed: u64) -> (u64, u64, Vec<u64>, BTreeMap<Epoch, BTreeSet<ServerId>>) {
    let mut c = Cluster::new(seed, 3, 1);
    c.run_until("a leader", 20_000, Cluster::settled);
    let follower = c.up().into_iter().find(|id| c.peer(*id).role() == Role::Following).unwrap();
    c.connect(follower, ConnId(1));
    c.create(follower, ConnId(1), 1, "/d");
    let leader = c.leader();
    c.crash(leader);
    c.run_until("a new leader", 30_000, Cluster::settled);
    c.restart(leader);
    c.converge();
    let digests = c.up().iter().map(|id| c.peer(*id).tree().digest()).collect();
    (c.steps, c.now, digests, c.leaders.clone())
}

// The same seed replays the same run: the engine and the pump take no hidden input.
#[test]
fn same_seed_same_run() {
    assert_eq!(run_fingerprint(21), run_fingerprint(21));
}

// A follower whose missing range is no longer kept for DIFFs gets a SNAP and catches up.
#[test]
fn far_behind_follower_gets_a_snap() {
    let mut c = Cluster::with_config(13, 3, 0, |config| config.diff_history_max = 3);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let lagging = c.up().into_iter().find(|id| *id != leader).unwrap();
    let rest: BTreeSet<ServerId> = c.up().into_iter().filter(|id| *id != lagging).collect();
    c.groups = Some(([lagging].into(), rest));
    c.connect(leader, ConnId(1));
    for n in 0..6 {
        c.create(leader, ConnId(1), n + 1, &format!("/far{n}"));
    }
    c.run_until("the lagging follower to give up", 20_000, |c| c.peer(lagging).role() == Role::Looking);
    c.groups = None;
    c.converge();
    assert!(c.peer(lagging).tree().node("/far5").is_some());
    // Its disk now starts from the leader's image, not from its old log.
    assert!(c.nodes[&lagging].disk.snapshot.last_zxid() > Zxid::ZERO, "no SNAP reached the disk");
}

// A session whose client goes silent is expired by the leader alone, and its
// ephemeral node disappears on every replica, the follower it was created through included.
#[test]
fn expired_session_ephemerals_vanish_everywhere() {
    let mut c = Cluster::new(17, 3, 0);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let follower = c.up().into_iter().find(|id| *id != leader).unwrap();
    c.connect_with_timeout(follower, ConnId(1), 1_000);
    c.send_create_mode(follower, ConnId(1), 1, "/eph", CreateMode::Ephemeral);
    c.run_until("the ephemeral", 20_000, |c| c.reply_for(follower, ConnId(1), 1).is_some());
    c.converge();
    assert!(c.up().iter().all(|id| c.peer(*id).tree().node("/eph").is_some()));
    c.run_until("expiry", 50_000, |c| c.up().iter().all(|id| c.peer(*id).tree().node("/eph").is_none()));
    assert!(c.replies(follower, ConnId(1)).iter().any(|o| matches!(o, Output::Close { .. })), "the expired session's connection stayed open");
    c.converge();
}

// A watch set through one follower fires when a write sent to another server commits.
#[test]
fn watch_on_follower_fires_for_write_elsewhere() {
    let mut c = Cluster::new(19, 3, 0);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let followers: Vec<ServerId> = c.up().into_iter().filter(|id| *id != leader).collect();
    let (watcher, writer) = (followers[0], followers[1]);
    c.connect(watcher, ConnId(1));
    c.connect(writer, ConnId(2));
    let exists = ClientRequest::Read { op: ReadOp::Exists { path: "/watched".into() }, watch: true, reply: ReadReply::Exists };
    c.feed(watcher, Input::Request { conn: ConnId(1), xid: 1, request: exists });
    assert!(c.reply_for(watcher, ConnId(1), 1).is_some(), "a read on a follower is answered locally");
    c.create(writer, ConnId(2), 1, "/watched");
    c.run_until("the watch event", 20_000, |c| {
        c.replies(watcher, ConnId(1))
            .iter()
            .any(|o| matches!(o, Output::Notify { event_type: EventType::NodeCreated, path, .. } if path == "/watched"))
    });
    c.converge();
}

// sync on a follower waits until that follower applied every write the leader
// had when it confirmed its leadership, so a read after sync sees a write
// committed through another server.
#[test]
fn sync_on_follower_waits_for_earlier_commits() {
    let mut c = Cluster::new(23, 3, 0);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let followers: Vec<ServerId> = c.up().into_iter().filter(|id| *id != leader).collect();
    let (slow, writer) = (followers[0], followers[1]);
    c.connect(slow, ConnId(1));
    c.connect(writer, ConnId(2));
    c.disk_frozen.insert(slow);
    c.create(writer, ConnId(2), 1, "/synced");
    assert!(c.peer(slow).tree().node("/synced").is_none());
    c.feed(slow, Input::Request { conn: ConnId(1), xid: 1, request: ClientRequest::Sync { path: "/".into() } });
    let read = ClientRequest::Read { op: ReadOp::Exists { path: "/synced".into() }, watch: false, reply: ReadReply::Exists };
    c.feed(slow, Input::Request { conn: ConnId(1), xid: 2, request: read });
    for _ in 0..200 {
        c.step();
    }
    assert!(c.reply_for(slow, ConnId(1), 1).is_none(), "sync answered before the follower applied the earlier write");
    c.disk_frozen.clear();
    c.run_until("the sync reply", 20_000, |c| c.reply_for(slow, ConnId(1), 2).is_some());
    assert!(matches!(c.reply_for(slow, ConnId(1), 1), Some(ReplyBody::Sync(_))));
    assert!(matches!(c.reply_for(slow, ConnId(1), 2), Some(ReplyBody::Read { result: Ok(_), .. })), "{:?}", c.reply_for(slow, ConnId(1), 2));
    c.converge();
}

// A client that moves its session to another server is accepted once the
// leader revalidates it; a wrong password is refused, and once the leader
// expired the session a reconnect anywhere is refused.
#[test]
fn session_moves_between_servers_with_revalidation() {
    let mut c = Cluster::new(29, 3, 0);
    c.run_until("a leader", 20_000, Cluster::settled);
    let leader = c.leader();
    let followers: Vec<ServerId> = c.up().into_iter().filter(|id| *id != leader).collect();
    let session = c.connect_with_timeout(followers[0], ConnId(1), 1_000);
    let passwd = c
        .replies(followers[0], ConnId(1))
        .iter()
        .find_map(|o| if let Output::Connected { response, .. } = o { Some(response.passwd.clone()) } else { None })
        .unwrap();
    let reconnect = |c: &mut Cluster, id: ServerId, conn: ConnId, passwd: Vec<u8>| -> SessionId {
        c.feed(id, Input::Connected { conn, remote_ip: "10.0.0.1".into() });
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid::ZERO,
            timeout_ms: 1_000,
            session_id: session,
            passwd,
            read_only: Some(false),
        };
        c.feed(id, Input::Connect { conn, request });
        c.run_until("a handshake answer", 20_000, |c| c.replies(id, conn).iter().any(|o| matches!(o, Output::Connected { .. })));
        match c.replies(id, conn).iter().find(|o| matches!(o, Output::Connected { .. })) {
            Some(Output::Connected { response, .. }) => response.session_id,
            _ => unreachable!(),
        }
    };
    assert_eq!(reconnect(&mut c, followers[1], ConnId(2), passwd.clone()), session, "the session did not move");
    c.create(followers[1], ConnId(2), 1, "/moved");
    assert_eq!(reconnect(&mut c, followers[0], ConnId(3), vec![7; 16]), SessionId(0), "a wrong password was accepted");
    c.run_until("expiry", 50_000, |c| c.up().iter().all(|id| c.peer(*id).sessions().get(session).is_none()));
    assert_eq!(reconnect(&mut c, followers[0], ConnId(4), passwd), SessionId(0), "an expired session was revived");
    c.converge();
}

// A follower that crashes at any point of its synchronization (after its
// accepted epoch, within the synced history, before or after its current
// epoch) loses no committed txn: it restarts, syncs again and agrees.
#[test]
fn crash_at_every_point_of_a_sync_loses_nothing() {
    // Five writes make up this sync: accepted epoch, three txns, current epoch.
    for crash_after in 0..6 {
        let mut c = Cluster::new(31, 3, 0);
        c.run_until("a leader", 20_000, Cluster::settled);
        let leader = c.leader();
        let follower = c.up().into_iter().find(|id| *id != leader).unwrap();
        c.connect(leader, ConnId(1));
        c.create(leader, ConnId(1), 1, "/before");
        c.crash(follower);
        for n in 0..3 {
            c.create(leader, ConnId(1), n + 2, &format!("/missed{n}"));
        }
        // A new epoch, so that the follower's sync also writes its accepted and current epochs.
        c.crash(leader);
        c.restart(leader);
        c.run_until("a leader in a new epoch", 30_000, |c| c.settled() && c.peer(c.leader()).serving_epoch() > Some(Epoch(1)));
        c.disk_frozen.insert(follower);
        c.restart(follower);
        // Let the sync run with the follower's disk frozen, syncing one write at a time.
        for _ in 0..crash_after {
            c.run_until("a write to sync", 20_000, |c| !c.nodes[&follower].pending.is_empty() || c.peer(follower).serving_epoch().is_some());
            if c.nodes[&follower].pending.is_empty() {
                break;
            }
            if std::env::var_os("PUMP_TRACE_SUMMARY").is_some() {
                eprintln!("crash_after {crash_after}: syncing {:?}", c.nodes[&follower].pending[0]);
            }
            c.flush_some(follower, 1);
        }
        c.crash(follower);
        c.disk_frozen.clear();
        c.restart(follower);
        c.converge();
        for path in ["/before", "/missed0", "/missed1", "/missed2"] {
            assert!(c.peer(follower).tree().node(path).is_some(), "crash after {crash_after} writes: {path} lost");
        }
    }
}
