//! Proves FastLeaderElection across whole ensembles, driven by a deterministic
//! in-memory message pump: a seeded ChaCha RNG picks every delay, duplicate
//! and drop, time is virtual, and the same seed replays the same trace.
//!
//! Checkers are plain functions over the decisions a run produced; the last
//! tests run the real state machine with deliberately broken rules to show
//! that each checker fires on the bug it is meant to catch.

use ensemble::election::{Election, ElectionConfig, ElectionOutput, ElectionRules, Notification, ServerState, Vote, ZooKeeperRules, FINALIZE_WAIT_MS};
use ensemble::{Epoch, ServerId, Zxid};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

// ---------------------------------------------------------------- scenario

/// One server of a scenario: what it holds on disk and when it comes up.
#[derive(Clone, Debug)]
struct Server {
    id: ServerId,
    zxid: Zxid,
    epoch: Epoch,
    observer: bool,
    /// `None`: the server is down for the whole run.
    start_ms: Option<u64>,
}

impl Server {
    fn voter(id: u64, zxid: Zxid, epoch: u32) -> Server {
        Server { id: ServerId(id), zxid, epoch: Epoch(epoch), observer: false, start_ms: Some(0) }
    }

    fn observer(id: u64, zxid: Zxid, epoch: u32) -> Server {
        Server { observer: true, ..Server::voter(id, zxid, epoch) }
    }

    fn starting_at(self, start_ms: u64) -> Server {
        Server { start_ms: Some(start_ms), ..self }
    }

    fn down(self) -> Server {
        Server { start_ms: None, ..self }
    }

    fn vote(&self) -> Vote {
        Vote::new(self.id, self.zxid, self.epoch)
    }
}

/// How the network misbehaves; every choice is drawn from the run's seed.
#[derive(Clone, Copy, Debug)]
struct Network {
    min_delay_ms: u64,
    max_delay_ms: u64,
    duplicate_percent: u32,
    drop_percent: u32,
}

impl Network {
    /// Random delays (hence reordering) and duplicates, but every message
    /// arrives well within the finalize wait: the setting in which
    /// FastLeaderElection promises one outcome.
    fn reordering() -> Network {
        Network { min_delay_ms: 1, max_delay_ms: 80, duplicate_percent: 20, drop_percent: 0 }
    }

    /// Losses as well: the election must still finish, relying on re-sends.
    fn lossy() -> Network {
        Network { min_delay_ms: 1, max_delay_ms: 80, duplicate_percent: 10, drop_percent: 25 }
    }
}

/// A random ensemble: votes drawn from small ranges so that epochs, zxids and
/// myids all get to break ties; voters start within 40 ms, observers after them.
fn random_ensemble(rng: &mut ChaCha8Rng, voters: u64, observers: u64) -> Vec<Server> {
    let mut servers = Vec::new();
    for id in 1..=voters + observers {
        let epoch = rng.gen_range(1..=3u32);
        let zxid = Zxid::new(rng.gen_range(0..=epoch), rng.gen_range(0..=4));
        let server = if id <= voters {
            Server::voter(id, zxid, epoch).starting_at(rng.gen_range(0..=40))
        } else {
            Server::observer(id, zxid, epoch).starting_at(rng.gen_range(40..=100))
        };
        servers.push(server);
    }
    servers
}

/// What one server decided, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Decision {
    server: ServerId,
    at_ms: u64,
    leader: ServerId,
    role: ServerState,
    round: u64,
}

// ---------------------------------------------------------------- the pump

/// An ensemble of elections on a simulated network.
struct Cluster<R: ElectionRules> {
    test: &'static str,
    seed: u64,
    rng: ChaCha8Rng,
    network: Network,
    rules: Box<dyn Fn(ServerId) -> R>,
    now_ms: u64,
    servers: BTreeMap<ServerId, Server>,
    /// The elections of servers that are up.
    up: BTreeMap<ServerId, Election<R>>,
    /// Servers that crashed; they never come back in these tests.
    crashed: BTreeSet<ServerId>,
    /// Directed links that lose every message (a partition).
    cut: BTreeSet<(ServerId, ServerId)>,
    /// Messages in flight, by (arrival time, sequence number).
    wire: BTreeMap<(u64, u64), (ServerId, ServerId, Notification)>,
    next_seq: u64,
    decisions: Vec<Decision>,
    trace: Vec<String>,
    sent: u64,
}

impl Cluster<ZooKeeperRules> {
    fn new(test: &'static str, seed: u64, servers: &[Server], network: Network) -> Cluster<ZooKeeperRules> {
        Cluster::with_rules(test, seed, servers, network, |_| ZooKeeperRules)
    }
}

impl<R: ElectionRules> Cluster<R> {
    /// A cluster whose server `id` runs with `rules(id)`.
    fn with_rules(test: &'static str, seed: u64, servers: &[Server], network: Network, rules: impl Fn(ServerId) -> R + 'static) -> Cluster<R> {
        Cluster {
            test,
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            network,
            rules: Box::new(rules),
            now_ms: 0,
            servers: servers.iter().map(|s| (s.id, s.clone())).collect(),
            up: BTreeMap::new(),
            crashed: BTreeSet::new(),
            cut: BTreeSet::new(),
            wire: BTreeMap::new(),
            next_seq: 0,
            decisions: Vec::new(),
            trace: Vec::new(),
            sent: 0,
        }
    }

    /// Runs events in time order until none is left before `end_ms`.
    fn run_until(&mut self, end_ms: u64) {
        while let Some(at) = self.next_event_ms() {
            if at > end_ms {
                break;
            }
            self.step(at);
        }
        self.now_ms = self.now_ms.max(end_ms);
    }

    fn next_event_ms(&self) -> Option<u64> {
        let start = self.servers.values().filter(|s| self.pending_start(s)).filter_map(|s| s.start_ms).min();
        let timer = self.up.values().filter_map(|e| e.poll_timeout()).min();
        let delivery = self.wire.keys().next().map(|(at, _)| *at);
        [start, timer, delivery].into_iter().flatten().min()
    }

    fn pending_start(&self, s: &Server) -> bool {
        s.start_ms.is_some() && !self.up.contains_key(&s.id) && !self.crashed.contains(&s.id)
    }

    /// One event at `at`: a start, else a due timer, else the next delivery.
    fn step(&mut self, at: u64) {
        assert!(at >= self.now_ms, "the pump went back in time");
        self.now_ms = at;
        let starting = self.servers.values().find(|s| self.pending_start(s) && s.start_ms == Some(at)).cloned();
        if let Some(server) = starting {
            let voters = self.servers.values().filter(|s| !s.observer).map(|s| s.id).collect();
            let observers = self.servers.values().filter(|s| s.observer).map(|s| s.id).collect();
            let config = ElectionConfig::new(server.id, voters, observers);
            let mut election = Election::with_rules(config, server.zxid, server.epoch, (self.rules)(server.id));
            election.start(at);
            self.trace.push(format!("{at:>7} {} starts with {:?}", server.id.0, server.vote()));
            self.up.insert(server.id, election);
            self.drain(server.id);
            return;
        }
        let due = self.up.iter().find(|(_, e)| e.poll_timeout().is_some_and(|t| t <= at)).map(|(id, _)| *id);
        if let Some(id) = due {
            self.up.get_mut(&id).expect("up").tick(at);
            self.drain(id);
            return;
        }
        let (key, (from, to, notification)) = self.wire.pop_first().expect("an event is due");
        assert_eq!(key.0, at);
        if self.cut.contains(&(from, to)) || !self.up.contains_key(&to) {
            self.trace.push(format!("{at:>7} {}->{} lost", from.0, to.0));
            return;
        }
        self.trace.push(format!("{at:>7} {}->{} {}", from.0, to.0, describe(&notification)));
        self.up.get_mut(&to).expect("up").handle(at, from, notification);
        self.drain(to);
    }

    /// Carries out everything `id` asked for, then checks its invariants.
    fn drain(&mut self, id: ServerId) {
        let mut outputs = Vec::new();
        let election = self.up.get_mut(&id).expect("up");
        while let Some(out) = election.poll_output() {
            outputs.push(out);
        }
        election.check_invariants();
        for out in outputs {
            match out {
                ElectionOutput::Send { to, notification } => self.send(id, to, notification),
                ElectionOutput::Decided { leader, role, election_round, .. } => {
                    self.trace.push(format!("{:>7} {} decides {role:?} leader {} round {election_round}", self.now_ms, id.0, leader.0));
                    self.decisions.push(Decision { server: id, at_ms: self.now_ms, leader, role, round: election_round });
                }
            }
        }
    }

    fn send(&mut self, from: ServerId, to: ServerId, notification: Notification) {
        self.sent += 1;
        assert!(self.servers.contains_key(&to), "{} sent to unknown server {}", from.0, to.0);
        if self.rng.gen_range(0..100) < self.network.drop_percent {
            self.trace.push(format!("{:>7} {}->{} dropped", self.now_ms, from.0, to.0));
            return;
        }
        let copies = if self.rng.gen_range(0..100) < self.network.duplicate_percent { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.rng.gen_range(self.network.min_delay_ms..=self.network.max_delay_ms);
            self.wire.insert((self.now_ms + delay, self.next_seq), (from, to, notification));
            self.next_seq += 1;
        }
    }

    /// Cuts every link between the two sides, both ways.
    fn partition(&mut self, a: &[u64], b: &[u64]) {
        for &x in a {
            for &y in b {
                self.cut.insert((ServerId(x), ServerId(y)));
                self.cut.insert((ServerId(y), ServerId(x)));
            }
        }
    }

    /// Stops a server for good; what is in flight to it is lost.
    fn crash(&mut self, id: u64) {
        self.up.remove(&ServerId(id));
        self.crashed.insert(ServerId(id));
        self.trace.push(format!("{:>7} {id} crashes", self.now_ms));
    }

    /// What the composing Peer does when it loses its leader: look again with its log.
    fn restart(&mut self, id: u64) {
        let server = self.servers[&ServerId(id)].clone();
        let now = self.now_ms;
        self.up.get_mut(&server.id).expect("up").restart(now, server.zxid, server.epoch);
        self.trace.push(format!("{now:>7} {id} restarts its election"));
        self.drain(server.id);
    }

    /// Started servers, and the best vote among the voters that ever came up.
    fn best_started_voter(&self) -> ServerId {
        let voters = self.servers.values().filter(|s| !s.observer && s.start_ms.is_some() && !self.crashed.contains(&s.id));
        voters.map(Server::vote).max().expect("a voter is up").leader
    }

    fn up_ids(&self) -> BTreeSet<ServerId> {
        self.up.keys().copied().collect()
    }

    /// Panics with what is needed to replay the failure.
    fn assert_ok(&self, check: Result<(), String>) {
        if let Err(why) = check {
            let tail: Vec<&String> = self.trace.iter().rev().take(25).collect::<Vec<_>>().into_iter().rev().collect();
            panic!(
                "{why}\n  seed: {}\n  replay: cargo test --test leader_election {} -- --nocapture\n  last trace lines:\n    {}",
                self.seed,
                self.test,
                tail.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n    ")
            );
        }
    }
}

fn describe(n: &Notification) -> String {
    format!("{:?} r{} votes {} {:?}", n.state, n.election_round, n.vote.leader.0, n.vote.zxid)
}

// ---------------------------------------------------------------- checkers

/// Agreement: no two servers decide different leaders in the same round.
fn check_agreement(decisions: &[Decision]) -> Result<(), String> {
    let mut by_round: BTreeMap<u64, &Decision> = BTreeMap::new();
    for d in decisions {
        let first = *by_round.entry(d.round).or_insert(d);
        if first.leader != d.leader {
            return Err(format!(
                "agreement violated in round {}: server {} chose leader {}, server {} chose leader {}",
                d.round, first.server.0, first.leader.0, d.server.0, d.leader.0
            ));
        }
    }
    Ok(())
}

/// At most one server decides to lead in each round, and it is the leader the others chose.
fn check_single_leader(decisions: &[Decision]) -> Result<(), String> {
    let mut leading: BTreeMap<u64, ServerId> = BTreeMap::new();
    for d in decisions.iter().filter(|d| d.role == ServerState::Leading) {
        if d.leader != d.server {
            return Err(format!("server {} decided to lead on behalf of {}", d.server.0, d.leader.0));
        }
        if let Some(other) = leading.insert(d.round, d.server) {
            return Err(format!("two leaders in round {}: {} and {}", d.round, other.0, d.server.0));
        }
    }
    Ok(())
}

/// Every server in `servers` has decided, its last decision names `leader`, and nobody else leads.
fn check_settled_on(decisions: &[Decision], servers: &BTreeSet<ServerId>, leader: ServerId) -> Result<(), String> {
    for id in servers {
        match decisions.iter().rev().find(|d| d.server == *id) {
            None => return Err(format!("server {} never decided", id.0)),
            Some(d) if d.leader != leader => return Err(format!("server {} settled on {} instead of {}", id.0, d.leader.0, leader.0)),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Roles fit the membership: observers observe, voters lead or follow.
fn check_roles(decisions: &[Decision], servers: &BTreeMap<ServerId, Server>) -> Result<(), String> {
    for d in decisions {
        let observer = servers[&d.server].observer;
        if observer != (d.role == ServerState::Observing) {
            return Err(format!("server {} (observer: {observer}) decided {:?}", d.server.0, d.role));
        }
        if servers[&d.leader].observer {
            return Err(format!("observer {} was elected", d.leader.0));
        }
    }
    Ok(())
}

/// Every check a clean run of one election must pass: one leader, the best one, known to all.
fn check_clean_election<R: ElectionRules>(cluster: &Cluster<R>) -> Result<(), String> {
    check_agreement(&cluster.decisions)?;
    check_single_leader(&cluster.decisions)?;
    check_roles(&cluster.decisions, &cluster.servers)?;
    check_settled_on(&cluster.decisions, &cluster.up_ids(), cluster.best_started_voter())
}

// ---------------------------------------------------------------- tests

const BOUND_MS: u64 = 60_000;

// All servers, voters and observer, decide the same leader: the voter with the highest (epoch, zxid, myid).
#[test]
fn everyone_elects_the_voter_with_the_highest_vote() {
    let three = [
        Server::voter(1, Zxid::new(2, 7), 2),
        Server::voter(2, Zxid::new(2, 7), 3),
        Server::voter(3, Zxid::new(2, 9), 2),
        Server::observer(4, Zxid::new(2, 3), 2).starting_at(50),
    ];
    let mut cluster = Cluster::new("everyone_elects_the_voter_with_the_highest_vote", 1, &three, Network::reordering());
    cluster.run_until(BOUND_MS);
    cluster.assert_ok(check_clean_election(&cluster));
    assert_eq!(cluster.best_started_voter(), ServerId(2), "the newer epoch wins over the longer log");

    let five = [
        Server::voter(1, Zxid::new(3, 4), 3),
        Server::voter(2, Zxid::new(3, 4), 3),
        Server::voter(3, Zxid::new(3, 2), 3),
        Server::voter(4, Zxid::new(3, 1), 3),
        Server::voter(5, Zxid::new(3, 3), 3),
        Server::observer(6, Zxid::new(3, 4), 3).starting_at(50),
    ];
    let mut cluster = Cluster::new("everyone_elects_the_voter_with_the_highest_vote", 2, &five, Network::reordering());
    cluster.run_until(BOUND_MS);
    cluster.assert_ok(check_clean_election(&cluster));
    assert_eq!(cluster.best_started_voter(), ServerId(2), "myid breaks the tie between equal logs");
    let leaders: Vec<&Decision> = cluster.decisions.iter().filter(|d| d.role == ServerState::Leading).collect();
    assert_eq!(leaders.len(), 1, "exactly one server decided to lead: {leaders:?}");
}

// Under random delays and duplicates over 200 seeds, 3- and 5-voter ensembles with an observer always agree on the best voter, with exactly one leader.
#[test]
fn agreement_under_reordering_and_duplication_over_200_seeds() {
    for seed in 0..200 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let servers = random_ensemble(&mut rng, voters, 1);
        let mut cluster = Cluster::new("agreement_under_reordering_and_duplication_over_200_seeds", seed, &servers, Network::reordering());
        cluster.run_until(BOUND_MS);
        cluster.assert_ok(check_clean_election(&cluster));
        let leaders = cluster.decisions.iter().filter(|d| d.role == ServerState::Leading).count();
        cluster.assert_ok(if leaders == 1 { Ok(()) } else { Err(format!("{leaders} servers decided to lead")) });
        cluster.assert_ok(if cluster.wire.is_empty() { Ok(()) } else { Err("messages still flowing after everyone decided".into()) });
    }
}

// A server that comes up after the others decided joins their leader, even though its own vote is better.
#[test]
fn late_joiner_follows_the_established_leader() {
    let servers = [
        Server::voter(1, Zxid::new(1, 3), 1),
        Server::voter(2, Zxid::new(1, 5), 1),
        Server::voter(3, Zxid::new(1, 9), 1).starting_at(5_000),
        Server::observer(4, Zxid::new(1, 1), 1).starting_at(6_000),
    ];
    let mut cluster = Cluster::new("late_joiner_follows_the_established_leader", 7, &servers, Network::reordering());
    cluster.run_until(4_000);
    cluster.assert_ok(check_settled_on(&cluster.decisions, &cluster.up_ids(), ServerId(2)));
    cluster.run_until(BOUND_MS);
    cluster.assert_ok(check_agreement(&cluster.decisions));
    cluster.assert_ok(check_single_leader(&cluster.decisions));
    cluster.assert_ok(check_settled_on(&cluster.decisions, &cluster.up_ids(), ServerId(2)));
    let joined = cluster.decisions.iter().find(|d| d.server == ServerId(3)).expect("3 decided");
    assert_eq!((joined.role, joined.round), (ServerState::Following, 1));
    assert!(joined.at_ms < 5_000 + FINALIZE_WAIT_MS, "joining needs no finalize wait, only the others' answers");
}

// A late joiner whose logical clock ran ahead still joins the leader established in an earlier round.
#[test]
fn late_joiner_in_a_later_round_joins_through_the_out_of_election_tally() {
    let servers: Vec<Server> = (1..=5).map(|id| Server::voter(id, Zxid::new(1, id as u32), 1)).collect();
    let mut servers = servers;
    servers[4] = servers[4].clone().starting_at(5_000);
    let mut cluster = Cluster::new("late_joiner_in_a_later_round_joins_through_the_out_of_election_tally", 11, &servers, Network::reordering());
    cluster.run_until(4_999);
    cluster.assert_ok(check_settled_on(&cluster.decisions, &cluster.up_ids(), ServerId(4)));
    cluster.step(5_000);
    cluster.restart(5);
    cluster.restart(5);
    assert_eq!(cluster.up[&ServerId(5)].election_round(), 3);
    cluster.run_until(BOUND_MS);
    let all: BTreeSet<ServerId> = (1..=5).map(ServerId).collect();
    cluster.assert_ok(check_settled_on(&cluster.decisions, &all, ServerId(4)));
    let joined = cluster.decisions.iter().find(|d| d.server == ServerId(5)).expect("5 decided");
    assert_eq!((joined.role, joined.round), (ServerState::Following, 1), "5 adopted the established round");
}

// With a minority of voters down (the best one among them), the majority still elects the best voter that is up.
#[test]
fn majority_elects_with_a_minority_down() {
    for seed in 0..50 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let mut servers = random_ensemble(&mut rng, voters, 1);
        let best = servers.iter().filter(|s| !s.observer).map(Server::vote).max().expect("voters").leader;
        let mut down = vec![best];
        while down.len() < (voters as usize - 1) / 2 {
            let id = ServerId(rng.gen_range(1..=voters));
            if !down.contains(&id) {
                down.push(id);
            }
        }
        for s in servers.iter_mut().filter(|s| down.contains(&s.id)) {
            *s = s.clone().down();
        }
        let mut cluster = Cluster::new("majority_elects_with_a_minority_down", seed, &servers, Network::reordering());
        cluster.run_until(BOUND_MS);
        cluster.assert_ok(check_clean_election(&cluster));
        assert_ne!(cluster.best_started_voter(), best);
    }
}

// With a majority of voters down nobody decides, and re-sends back off so the survivors stay quiet.
#[test]
fn nobody_decides_with_a_majority_down() {
    let servers = [
        Server::voter(1, Zxid::new(1, 1), 1),
        Server::voter(2, Zxid::new(1, 2), 1),
        Server::voter(3, Zxid::new(1, 3), 1).down(),
        Server::voter(4, Zxid::new(1, 4), 1).down(),
        Server::voter(5, Zxid::new(1, 5), 1).down(),
        Server::observer(6, Zxid::new(1, 6), 1),
    ];
    let ten_minutes = 600_000;
    let mut cluster = Cluster::new("nobody_decides_with_a_majority_down", 3, &servers, Network::reordering());
    cluster.run_until(ten_minutes);
    cluster.assert_ok(if cluster.decisions.is_empty() { Ok(()) } else { Err(format!("decided without a quorum: {:?}", cluster.decisions)) });
    // Two voters and an observer each broadcast about 19 times in ten minutes
    // (200 ms doubling up to 60 s), to four voters, plus the voters' answers to
    // the observer: a few hundred messages, not one per finalize wait.
    let unbounded = 3 * 4 * (ten_minutes / FINALIZE_WAIT_MS);
    cluster.assert_ok(if cluster.sent < 300 { Ok(()) } else { Err(format!("{} messages sent; no backoff would send {unbounded}", cluster.sent)) });
    for e in cluster.up.values() {
        let next = e.poll_timeout().expect("still looking");
        assert!(next <= cluster.now_ms + 60_000, "re-sends continue at most a minute apart");
    }
}

// An observer learns the leader but never changes the outcome: even with the best log it is not elected, and removing it changes nothing.
#[test]
fn observer_learns_the_leader_but_never_changes_the_outcome() {
    for seed in 0..50 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let mut servers = random_ensemble(&mut rng, voters, 1);
        let observer = servers.last_mut().expect("an observer");
        observer.epoch = Epoch(9);
        observer.zxid = Zxid::new(9, 99);
        let mut with = Cluster::new("observer_learns_the_leader_but_never_changes_the_outcome", seed, &servers, Network::reordering());
        with.run_until(BOUND_MS);
        with.assert_ok(check_clean_election(&with));
        let observed = with.decisions.iter().find(|d| with.servers[&d.server].observer).expect("the observer decided");
        assert_eq!(observed.role, ServerState::Observing);

        let voters_only: Vec<Server> = servers.iter().filter(|s| !s.observer).cloned().collect();
        let mut without = Cluster::new("observer_learns_the_leader_but_never_changes_the_outcome", seed, &voters_only, Network::reordering());
        without.run_until(BOUND_MS);
        without.assert_ok(check_clean_election(&without));
        assert_eq!(observed.leader, without.best_started_voter(), "seed {seed}: the observer changed the outcome");
    }
}

// When the leader crashes and the others restart their elections, they elect the best survivor in a later round.
#[test]
fn survivors_elect_a_new_leader_after_the_leader_crashes() {
    for seed in 0..50 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let servers = random_ensemble(&mut rng, 5, 1);
        let mut cluster = Cluster::new("survivors_elect_a_new_leader_after_the_leader_crashes", seed, &servers, Network::reordering());
        cluster.run_until(10_000);
        cluster.assert_ok(check_clean_election(&cluster));
        let old = cluster.best_started_voter();
        cluster.crash(old.0);
        // Followers notice at different times, as their sync timeouts expire.
        let mut survivors: Vec<u64> = cluster.up.keys().map(|id| id.0).collect();
        survivors.sort_by_key(|_| rng.gen_range(0..1_000u32));
        for id in survivors {
            let at = cluster.now_ms + rng.gen_range(0..=30);
            cluster.run_until(at);
            cluster.restart(id);
        }
        let first_round = cluster.decisions.len();
        cluster.run_until(10_000 + BOUND_MS);
        cluster.assert_ok(check_agreement(&cluster.decisions));
        cluster.assert_ok(check_single_leader(&cluster.decisions));
        let new = cluster.best_started_voter();
        assert_ne!(new, old);
        cluster.assert_ok(check_settled_on(&cluster.decisions, &cluster.up_ids(), new));
        assert!(cluster.decisions[first_round..].iter().all(|d| d.round >= 2), "the new election ran in a later round");
    }
}

// Even when a quarter of all messages are lost, every server that is up decides, thanks to re-sends.
#[test]
fn everyone_decides_despite_message_loss() {
    for seed in 0..100 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let voters = if seed % 2 == 0 { 3 } else { 5 };
        let servers = random_ensemble(&mut rng, voters, 1);
        let mut cluster = Cluster::new("everyone_decides_despite_message_loss", seed, &servers, Network::lossy());
        cluster.run_until(10 * BOUND_MS);
        let undecided: Vec<u64> = cluster.up.iter().filter(|(_, e)| e.state() == ServerState::Looking).map(|(id, _)| id.0).collect();
        cluster.assert_ok(if undecided.is_empty() { Ok(()) } else { Err(format!("still looking: {undecided:?}")) });
        cluster.assert_ok(check_roles(&cluster.decisions, &cluster.servers));
    }
}

// The same seed replays the same run, message for message; another seed does not.
#[test]
fn same_seed_same_trace() {
    let run = |seed: u64| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let servers = random_ensemble(&mut rng, 5, 1);
        let mut cluster = Cluster::new("same_seed_same_trace", seed, &servers, Network::lossy());
        cluster.run_until(BOUND_MS);
        (cluster.trace, cluster.decisions)
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42).0, run(43).0);
}

// ---------------------------------------------------------------- checkers catch injected bugs

/// The off-by-one that counts half the voters as a quorum.
struct HalfIsQuorum;

impl ElectionRules for HalfIsQuorum {
    fn supersedes(&self, new: &Vote, current: &Vote) -> bool {
        ZooKeeperRules.supersedes(new, current)
    }

    fn is_quorum(&self, agreeing: usize, voters: usize) -> bool {
        agreeing * 2 >= voters
    }
}

// The agreement and single-leader checks catch a quorum of "at least half": two halves of a partitioned 4-voter ensemble both elect.
#[test]
fn checkers_catch_a_half_is_a_quorum_bug() {
    let servers: Vec<Server> = (1..=4).map(|id| Server::voter(id, Zxid::new(1, 1), 1)).collect();
    let mut correct = Cluster::new("checkers_catch_a_half_is_a_quorum_bug", 5, &servers, Network::reordering());
    correct.partition(&[1, 2], &[3, 4]);
    correct.run_until(BOUND_MS);
    assert!(correct.decisions.is_empty(), "strict majority: neither half of a partition elects");

    let mut broken = Cluster::with_rules("checkers_catch_a_half_is_a_quorum_bug", 5, &servers, Network::reordering(), |_| HalfIsQuorum);
    broken.partition(&[1, 2], &[3, 4]);
    broken.run_until(BOUND_MS);
    let agreement = check_agreement(&broken.decisions).expect_err("agreement check must fire");
    assert!(agreement.contains("round 1"), "{agreement}");
    let leaders = check_single_leader(&broken.decisions).expect_err("single-leader check must fire");
    assert!(leaders.contains("two leaders in round 1"), "{leaders}");
}

/// A comparator that ranks zxids backwards: consistent, but loses the longest log.
struct ShortestLogWins;

impl ElectionRules for ShortestLogWins {
    fn supersedes(&self, new: &Vote, current: &Vote) -> bool {
        (new.epoch, std::cmp::Reverse(new.zxid), new.leader) > (current.epoch, std::cmp::Reverse(current.zxid), current.leader)
    }

    fn is_quorum(&self, agreeing: usize, voters: usize) -> bool {
        ZooKeeperRules.is_quorum(agreeing, voters)
    }
}

// The best-leader check catches a backwards comparator, which still agrees, just on the wrong leader.
#[test]
fn best_leader_check_catches_a_backwards_comparator() {
    let servers: Vec<Server> = (1..=5).map(|id| Server::voter(id, Zxid::new(1, id as u32), 1)).collect();
    let mut broken = Cluster::with_rules("best_leader_check_catches_a_backwards_comparator", 9, &servers, Network::reordering(), |_| ShortestLogWins);
    broken.run_until(BOUND_MS);
    check_agreement(&broken.decisions).expect("a consistent order still agrees");
    let why = check_clean_election(&broken).expect_err("best-leader check must fire");
    assert!(why.contains("settled on 1 instead of 5"), "{why}");
}

/// A comparator that depends on who compares: each server ranks candidates by
/// its own scrambled order, as a comparator reading local state would.
struct OwnOpinion {
    me: ServerId,
}

impl ElectionRules for OwnOpinion {
    fn supersedes(&self, new: &Vote, current: &Vote) -> bool {
        let rank = |v: &Vote| (v.leader.0 * 7 + self.me.0 * 3) % 5;
        rank(new) > rank(current)
    }

    fn is_quorum(&self, agreeing: usize, voters: usize) -> bool {
        ZooKeeperRules.is_quorum(agreeing, voters)
    }
}

// The agreement check catches a broken comparator: when servers rank votes differently, some seed splits them between two leaders in one round.
#[test]
fn agreement_check_catches_an_inconsistent_comparator() {
    let servers: Vec<Server> = (1..=5).map(|id| Server::voter(id, Zxid::new(1, 1), 1)).collect();
    let mut caught = None;
    for seed in 0..200 {
        let mut broken = Cluster::with_rules("agreement_check_catches_an_inconsistent_comparator", seed, &servers, Network::reordering(), |me| OwnOpinion { me });
        broken.run_until(BOUND_MS);
        if let Err(why) = check_agreement(&broken.decisions) {
            caught = Some((seed, why));
            break;
        }
    }
    let (seed, why) = caught.expect("no seed in 0..200 exposed the inconsistent comparator");
    eprintln!("seed {seed} exposes the inconsistent comparator: {why}");
    assert!(why.starts_with("agreement violated in round"), "seed {seed}: {why}");
}
