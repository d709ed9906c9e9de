//! `Election`: ZooKeeper's FastLeaderElection (`lookForLeader` together with
//! the reply rules of its `WorkerReceiver`) as a sans-IO state machine.
//!
//! # Driving an election
//! Create it with `Election::new`, call `start(now)` once, then in a loop:
//! `handle(now, from, notification)` for each notification a peer sent,
//! `tick(now)` once `now` reaches `poll_timeout()`, and after each call drain
//! `poll_output()`, sending every `Send` to its peer. `now` (milliseconds)
//! must never go backwards. `handle` first fires any timer already due, so a
//! late `tick` cannot let a message that arrived after the deadline change
//! the outcome. A `Decided` output ends the election; the
//! election then keeps answering looking peers with the decided vote until
//! the host calls `restart` because it lost its leader.
//!
//! # Where this differs from ZooKeeper, and why
//! - Re-sends happen `notification_interval` after my last broadcast rather
//!   than after the last message received, so that a steady trickle of
//!   unhelpful messages cannot postpone them.
//! - My own vote is recorded directly instead of looping a message back to
//!   myself; the tally is the same, without a self-addressed message.
//! - Only the newest queued message per destination is kept, as ZooKeeper's
//!   per-peer send queue of capacity one does; this bounds the output queue
//!   by the number of servers.
//! - An observer never answers anyone: voters ignore what an observer says,
//!   so an answer would carry nothing, and with the voters' rule of answering
//!   every non-voter the two would ping-pong forever.

use super::rules::{ElectionRules, ZooKeeperRules};
use super::tally::{has_quorum, leader_confirmed, Ballot};
use super::vote::{Notification, ServerState, Vote};
use crate::zxid::{Epoch, ServerId, Zxid};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// ZooKeeper's `finalizeWait`: how long a quorum must stand unchallenged.
pub const FINALIZE_WAIT_MS: u64 = 200;

/// ZooKeeper's `maxNotificationInterval`: the ceiling of the re-send backoff.
pub const MAX_NOTIFICATION_INTERVAL_MS: u64 = 60_000;

/// Settings of one server's election.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionConfig {
    /// This server's myid.
    pub server_id: ServerId,
    /// The voting members; a strict majority of them is a quorum.
    pub voters: BTreeSet<ServerId>,
    /// The observers: they learn the leader and never vote.
    pub observers: BTreeSet<ServerId>,
    /// How long a quorum for my proposal must stand before I act on it.
    pub finalize_wait_ms: u64,
    /// The longest wait between re-sends of my vote while looking.
    pub max_notification_interval_ms: u64,
    /// A voter that lost records it may have acked abstains: it neither votes
    /// nor counts itself, tells others a vote for nobody, and follows only a
    /// leader that a quorum of the others already follows.
    pub abstain: bool,
}

/// The leader an abstaining voter names: no server, so no looking peer counts it.
pub const NOBODY: ServerId = ServerId(0);

impl ElectionConfig {
    /// ZooKeeper's timings for server `server_id` of this ensemble.
    pub fn new(server_id: ServerId, voters: BTreeSet<ServerId>, observers: BTreeSet<ServerId>) -> ElectionConfig {
        ElectionConfig {
            server_id,
            voters,
            observers,
            finalize_wait_ms: FINALIZE_WAIT_MS,
            max_notification_interval_ms: MAX_NOTIFICATION_INTERVAL_MS,
            abstain: false,
        }
    }
}

/// An action for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElectionOutput {
    /// Send this notification to a peer; losing it is harmless, as re-sends follow.
    Send {
        /// The receiving peer.
        to: ServerId,
        /// What to send.
        notification: Notification,
    },
    /// The election is over: act on this role towards this leader.
    Decided {
        /// The elected leader's myid.
        leader: ServerId,
        /// The vote that won, with the leader's zxid and epoch.
        vote: Vote,
        /// Leading, Following or Observing.
        role: ServerState,
        /// The round (logical clock) in which it was decided.
        election_round: u64,
    },
}

/// One server's FastLeaderElection. See the module documentation for the calling contract.
#[derive(Clone, Debug)]
pub struct Election<R: ElectionRules = ZooKeeperRules> {
    config: ElectionConfig,
    rules: R,
    is_observer: bool,
    /// My own candidacy, (me, last logged zxid, current epoch); ZooKeeper's getInitId & co.
    own_vote: Vote,
    /// ZooKeeper's logicalclock.
    round: u64,
    state: ServerState,
    started: bool,
    /// My proposal while looking; the decided vote otherwise.
    vote: Vote,
    /// ZooKeeper's recvset: the latest ballot of each voter in my round.
    received: BTreeMap<ServerId, Ballot>,
    /// ZooKeeper's outofelection: settled ballots of any round.
    out_of_election: BTreeMap<ServerId, Ballot>,
    /// Set while a quorum agrees with my proposal: when to decide if nothing better arrives.
    finalize_at_ms: Option<u64>,
    /// When to re-send my vote if the election is still going.
    resend_at_ms: Option<u64>,
    notification_interval_ms: u64,
    outputs: VecDeque<ElectionOutput>,
    now_ms: u64,
}

impl Election<ZooKeeperRules> {
    /// A server's election, which has logged up to `last_zxid` and is in `current_epoch`.
    pub fn new(config: ElectionConfig, last_zxid: Zxid, current_epoch: Epoch) -> Election {
        Election::with_rules(config, last_zxid, current_epoch, ZooKeeperRules)
    }
}

impl<R: ElectionRules> Election<R> {
    /// Like `new`, with other rules; only tests that prove their checkers use this.
    ///
    /// # Panics
    /// When the membership is inconsistent: this server must be exactly one
    /// of a voter or an observer, and nobody may be both.
    pub fn with_rules(config: ElectionConfig, last_zxid: Zxid, current_epoch: Epoch, rules: R) -> Election<R> {
        let me = config.server_id;
        assert!(config.voters.contains(&me) != config.observers.contains(&me), "server {me:?} must be exactly one of voter or observer");
        assert!(config.voters.is_disjoint(&config.observers), "a server is both voter and observer");
        assert!(config.finalize_wait_ms > 0, "finalize wait must be positive");
        assert!(config.max_notification_interval_ms >= config.finalize_wait_ms, "max notification interval below the finalize wait");
        let own_vote = Vote::new(me, last_zxid, current_epoch);
        Election {
            is_observer: config.observers.contains(&me) || config.abstain,
            notification_interval_ms: config.finalize_wait_ms,
            config,
            rules,
            own_vote,
            round: 0,
            state: ServerState::Looking,
            started: false,
            vote: own_vote,
            received: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            finalize_at_ms: None,
            resend_at_ms: None,
            outputs: VecDeque::new(),
            now_ms: 0,
        }
    }

    /// Begins the first election: a new round, a vote for myself, sent to every voter.
    pub fn start(&mut self, now_ms: u64) {
        assert!(!self.started, "election started twice; use restart");
        self.started = true;
        self.now_ms = now_ms;
        self.look_for_leader(now_ms);
    }

    /// Begins a new election after losing the leader, with what I now hold on disk.
    pub fn restart(&mut self, now_ms: u64, last_zxid: Zxid, current_epoch: Epoch) {
        assert!(self.started, "restart before start");
        self.advance(now_ms);
        self.own_vote = Vote::new(self.config.server_id, last_zxid, current_epoch);
        self.look_for_leader(now_ms);
    }

    /// Feeds a notification that peer `from` sent.
    pub fn handle(&mut self, now_ms: u64, from: ServerId, notification: Notification) {
        assert!(self.started, "notification before start");
        self.advance(now_ms);
        // The transport vouches for `from`; a message claiming another sender,
        // or my own, is corrupt or misrouted, and dropping it is always safe.
        if from == self.config.server_id || notification.sender != from {
            return;
        }
        if !self.is_voter(from) {
            // WorkerReceiver: a non-voter only learns from us, so tell it what
            // we believe; its own vote never counts.
            if !self.is_observer {
                self.reply(from);
            }
            return;
        }
        if self.state != ServerState::Looking {
            // A settled server tells a looking one whom it follows, which is
            // how late joiners find an established leader.
            if notification.state == ServerState::Looking && !self.is_observer {
                self.reply(from);
            }
            return;
        }
        // WorkerReceiver: a looking peer in an older round is told my round,
        // so that it catches up instead of waiting for its next re-send.
        if notification.state == ServerState::Looking && notification.election_round < self.round && !self.is_observer {
            self.reply(from);
        }
        self.receive(now_ms, from, notification);
    }

    /// Lets time pass: decides once the finalize wait is over, re-sends when due.
    pub fn tick(&mut self, now_ms: u64) {
        assert!(self.started, "tick before start");
        self.advance(now_ms);
    }

    /// The next action for the host, in order.
    pub fn poll_output(&mut self) -> Option<ElectionOutput> {
        self.outputs.pop_front()
    }

    /// When the host should next call `tick`; `None` once decided.
    pub fn poll_timeout(&self) -> Option<u64> {
        if !self.started || self.state != ServerState::Looking {
            return None;
        }
        // ZooKeeper re-sends nothing while it waits to finalize.
        self.finalize_at_ms.or(self.resend_at_ms)
    }

    /// Records a settled vote the host learnt later (e.g. the leader's new epoch), so that answers carry it.
    pub fn set_decided(&mut self, vote: Vote, state: ServerState) {
        assert!(self.started, "set_decided before start");
        assert!(self.is_voter(vote.leader), "decided leader {:?} is not a voter", vote.leader);
        assert_eq!(state, self.role_for(vote.leader), "role does not fit leader {:?}", vote.leader);
        self.settle(vote, state);
    }

    /// Ends abstaining once this voter's log is whole again (it completed a
    /// sync with an established leader): from now on it votes.
    pub fn stop_abstaining(&mut self) {
        if !self.config.abstain {
            return;
        }
        self.config.abstain = false;
        self.is_observer = false;
        self.received.clear();
        if self.state == ServerState::Looking {
            self.propose(self.vote);
        }
    }

    /// Whether this voter abstains (see `ElectionConfig::abstain`).
    pub fn is_abstaining(&self) -> bool {
        self.config.abstain
    }

    /// My role: Looking until decided.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// My proposal while looking, the decided vote afterwards.
    pub fn current_vote(&self) -> Vote {
        self.vote
    }

    /// My logical clock.
    pub fn election_round(&self) -> u64 {
        self.round
    }

    /// Whether this server is an observer.
    pub fn is_observer(&self) -> bool {
        self.is_observer
    }

    /// The settings this election runs with.
    pub fn config(&self) -> &ElectionConfig {
        &self.config
    }

    /// Checks the election's internal consistency.
    ///
    /// # Panics
    /// On a broken invariant: a bug in the election.
    pub fn check_invariants(&self) {
        let me = self.config.server_id;
        assert_eq!(self.is_observer, self.config.observers.contains(&me) || self.config.abstain);
        assert_eq!(self.own_vote.leader, me, "my own vote is not for me");
        let mut destinations = BTreeSet::new();
        for out in &self.outputs {
            if let ElectionOutput::Send { to, notification } = out {
                assert!(destinations.insert(*to), "two queued sends to {to:?}: the queue must keep only the newest");
                assert_eq!(notification.sender, me);
                assert_ne!(*to, me, "a notification to myself");
            }
        }
        if !self.started {
            assert_eq!(self.round, 0);
            assert!(self.outputs.is_empty() && self.received.is_empty());
            return;
        }
        assert!(self.round >= 1, "started without a round");
        if self.state != ServerState::Looking {
            assert!(self.is_voter(self.vote.leader), "decided leader {:?} is not a voter", self.vote.leader);
            assert_eq!(self.state, self.role_for(self.vote.leader), "role does not fit the decided leader");
            assert!(self.received.is_empty() && self.out_of_election.is_empty(), "tallies outlive the election");
            assert!(self.finalize_at_ms.is_none() && self.resend_at_ms.is_none(), "timers outlive the election");
            return;
        }
        assert!(!self.better(&self.own_vote, &self.vote), "proposal {:?} is worse than my own vote {:?}", self.vote, self.own_vote);
        assert!(self.is_voter(self.vote.leader) || self.vote == self.own_vote, "proposal for non-voter {:?}", self.vote.leader);
        assert!(self.resend_at_ms.is_some(), "looking without a re-send timer");
        assert!((self.config.finalize_wait_ms..=self.config.max_notification_interval_ms).contains(&self.notification_interval_ms));
        if self.is_observer {
            assert!(!self.received.contains_key(&me), "an observer recorded its own vote");
        } else {
            assert_eq!(self.received.get(&me), Some(&self.my_ballot()), "my recorded ballot is not my proposal");
        }
        for (id, ballot) in &self.received {
            assert!(self.is_voter(*id), "recorded a ballot from non-voter {id:?}");
            assert_eq!(ballot.round, self.round, "a ballot of round {} in round {}", ballot.round, self.round);
        }
        for (id, ballot) in &self.out_of_election {
            assert!(self.is_voter(*id), "recorded a settled ballot from non-voter {id:?}");
            assert!(matches!(ballot.state, ServerState::Following | ServerState::Leading));
        }
        if self.finalize_at_ms.is_some() {
            assert!(has_quorum(&self.rules, &self.config.voters, &self.received, &self.my_ballot()), "finalizing without a quorum");
        }
    }

    /// ZooKeeper's lookForLeader prologue: a new round, my own vote, sent to every voter.
    fn look_for_leader(&mut self, now_ms: u64) {
        self.round += 1;
        self.state = ServerState::Looking;
        self.received.clear();
        self.out_of_election.clear();
        self.finalize_at_ms = None;
        self.notification_interval_ms = self.config.finalize_wait_ms;
        self.propose(self.own_vote);
        self.broadcast(now_ms);
        // ZooKeeper hears its own notification over a loopback queue: a lone
        // voter (with observers only) is a quorum of one on its own vote.
        if has_quorum(&self.rules, &self.config.voters, &self.received, &self.my_ballot()) {
            self.finalize_at_ms = Some(now_ms + self.config.finalize_wait_ms);
        }
    }

    /// Moves time forward and fires whatever timer is due, before any input at that time.
    fn advance(&mut self, now_ms: u64) {
        assert!(now_ms >= self.now_ms, "time went backwards: {now_ms} < {}", self.now_ms);
        self.now_ms = now_ms;
        if self.state != ServerState::Looking {
            return;
        }
        if let Some(at) = self.finalize_at_ms {
            if at <= now_ms {
                assert!(has_quorum(&self.rules, &self.config.voters, &self.received, &self.my_ballot()), "quorum lost while finalizing");
                self.decide(self.vote);
            }
            return;
        }
        if self.resend_at_ms.is_some_and(|at| at <= now_ms) {
            // Nobody answered in time: say it again, waiting twice as long each time.
            self.notification_interval_ms = (self.notification_interval_ms * 2).min(self.config.max_notification_interval_ms);
            self.broadcast(now_ms);
        }
    }

    /// lookForLeader's loop body, for a notification from a voter while I look.
    fn receive(&mut self, now_ms: u64, from: ServerId, n: Notification) {
        // ZooKeeper ignores votes for servers that cannot lead.
        if !self.is_voter(n.vote.leader) {
            return;
        }
        if self.finalize_at_ms.is_some() {
            // While finalizing, ZooKeeper drains the queue and keeps only a
            // notification that beats my proposal; that one cancels the wait.
            if !self.better(&n.vote, &self.vote) {
                return;
            }
            self.finalize_at_ms = None;
        }
        match n.state {
            ServerState::Looking => self.receive_looking(now_ms, from, n),
            ServerState::Following | ServerState::Leading => self.receive_settled(from, n),
            ServerState::Observing => {}
        }
    }

    /// A looking voter's notification: adopt a newer round or a better vote, then count.
    fn receive_looking(&mut self, now_ms: u64, from: ServerId, n: Notification) {
        if self.config.abstain {
            // An abstaining voter adopts no vote: agreeing would be voting.
            return;
        }
        if n.election_round > self.round {
            // A newer round restarts the tally, and my proposal goes back to the
            // better of its vote and my own: whatever I adopted in the old round
            // may have come from servers that have moved on.
            self.round = n.election_round;
            self.received.clear();
            let proposal = if self.better(&n.vote, &self.own_vote) { n.vote } else { self.own_vote };
            self.propose(proposal);
            self.broadcast(now_ms);
        } else if n.election_round < self.round {
            return;
        } else if self.better(&n.vote, &self.vote) {
            self.propose(n.vote);
            self.broadcast(now_ms);
        }
        self.received.insert(from, Ballot::of(&n));
        if has_quorum(&self.rules, &self.config.voters, &self.received, &self.my_ballot()) {
            self.finalize_at_ms = Some(now_ms + self.config.finalize_wait_ms);
        }
    }

    /// ZooKeeper's receivedFollowingNotification: join a leader that a quorum
    /// follows and that itself claims to lead, first within my round, then in any.
    fn receive_settled(&mut self, from: ServerId, n: Notification) {
        if self.config.abstain && n.vote.leader == self.config.server_id {
            // Votes for me were cast before I lost records: I cannot lead on them.
            return;
        }
        let ballot = Ballot::of(&n);
        if n.election_round == self.round {
            self.received.insert(from, ballot);
            if has_quorum(&self.rules, &self.config.voters, &self.received, &ballot) && self.confirmed(&self.received, &n) {
                self.decide(n.vote);
                return;
            }
        }
        // Out-of-election ballots also gather those of my own round (ZOOKEEPER-1732):
        // an ensemble that settled in any round is joined once a quorum vouches for it.
        self.out_of_election.insert(from, ballot);
        if has_quorum(&self.rules, &self.config.voters, &self.out_of_election, &ballot) && self.confirmed(&self.out_of_election, &n) {
            self.round = n.election_round;
            self.decide(n.vote);
        }
    }

    fn confirmed(&self, ballots: &BTreeMap<ServerId, Ballot>, n: &Notification) -> bool {
        leader_confirmed(ballots, n.vote.leader, n.election_round, self.config.server_id, self.round)
    }

    /// ZooKeeper's updateProposal, with my own ballot recorded at once.
    fn propose(&mut self, vote: Vote) {
        self.vote = vote;
        if !self.is_observer {
            self.received.insert(self.config.server_id, self.my_ballot());
        }
    }

    /// ZooKeeper's setPeerState and leaveInstance.
    fn decide(&mut self, vote: Vote) {
        assert!(!(self.config.abstain && vote.leader == self.config.server_id), "an abstaining voter decided to lead");
        let role = self.role_for(vote.leader);
        self.settle(vote, role);
        self.outputs.push_back(ElectionOutput::Decided { leader: vote.leader, vote, role, election_round: self.round });
    }

    fn settle(&mut self, vote: Vote, role: ServerState) {
        assert_ne!(role, ServerState::Looking);
        self.state = role;
        self.vote = vote;
        self.received.clear();
        self.out_of_election.clear();
        self.finalize_at_ms = None;
        self.resend_at_ms = None;
    }

    /// ZooKeeper's sendNotifications: to every voter (observers only get answers).
    fn broadcast(&mut self, now_ms: u64) {
        let me = self.config.server_id;
        let voters: Vec<ServerId> = self.config.voters.iter().copied().filter(|id| *id != me).collect();
        for to in voters {
            self.reply(to);
        }
        self.resend_at_ms = Some(now_ms + self.notification_interval_ms);
    }

    /// Queues my current vote for `to`, replacing an older one still queued for it.
    fn reply(&mut self, to: ServerId) {
        let notification = if self.config.abstain {
            // Looking, for nobody: settled peers answer whom they follow, looking ones count nothing.
            Notification { vote: Vote::new(NOBODY, Zxid::ZERO, Epoch(0)), election_round: self.round, state: ServerState::Looking, sender: self.config.server_id }
        } else {
            Notification { vote: self.vote, election_round: self.round, state: self.state, sender: self.config.server_id }
        };
        self.outputs.retain(|out| !matches!(out, ElectionOutput::Send { to: queued, .. } if *queued == to));
        self.outputs.push_back(ElectionOutput::Send { to, notification });
    }

    /// ZooKeeper's totalOrderPredicate, including its membership checks.
    fn better(&self, new: &Vote, current: &Vote) -> bool {
        if !self.is_voter(new.leader) {
            // A vote for a server that cannot vote (weight 0) never wins.
            return false;
        }
        if !self.is_voter(current.leader) {
            // An observer's own vote ranks below every voter's, as ZooKeeper's
            // Long.MIN_VALUE fields for observers do.
            return true;
        }
        self.rules.supersedes(new, current)
    }

    fn role_for(&self, leader: ServerId) -> ServerState {
        if self.config.observers.contains(&self.config.server_id) {
            ServerState::Observing
        } else if leader == self.config.server_id {
            ServerState::Leading
        } else {
            ServerState::Following
        }
    }

    fn my_ballot(&self) -> Ballot {
        Ballot { vote: self.vote, round: self.round, state: ServerState::Looking }
    }

    fn is_voter(&self, id: ServerId) -> bool {
        self.config.voters.contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: ServerId = ServerId(1);
    const OBSERVER: ServerId = ServerId(9);

    fn ids(ids: &[u64]) -> BTreeSet<ServerId> {
        ids.iter().copied().map(ServerId).collect()
    }

    /// Server `me` of voters 1..=`voters` plus observer 9, holding zxid (1, `counter`).
    fn election(me: ServerId, voters: u64, counter: u32) -> Election {
        let config = ElectionConfig::new(me, (1..=voters).map(ServerId).collect(), ids(&[OBSERVER.0]));
        let mut e = Election::new(config, Zxid::new(1, counter), Epoch(1));
        e.start(0);
        e.check_invariants();
        e
    }

    fn vote(leader: u64, counter: u32) -> Vote {
        Vote::new(ServerId(leader), Zxid::new(1, counter), Epoch(1))
    }

    fn note(sender: u64, vote: Vote, round: u64, state: ServerState) -> Notification {
        Notification { vote, election_round: round, state, sender: ServerId(sender) }
    }

    fn drain(e: &mut Election) -> Vec<ElectionOutput> {
        let out = std::iter::from_fn(|| e.poll_output()).collect();
        e.check_invariants();
        out
    }

    fn sends(out: &[ElectionOutput]) -> Vec<(ServerId, Notification)> {
        out.iter()
            .filter_map(|o| match o {
                ElectionOutput::Send { to, notification } => Some((*to, *notification)),
                _ => None,
            })
            .collect()
    }

    fn decided(out: &[ElectionOutput]) -> Option<(ServerId, ServerState, u64)> {
        out.iter().find_map(|o| match o {
            ElectionOutput::Decided { leader, role, election_round, .. } => Some((*leader, *role, *election_round)),
            _ => None,
        })
    }

    fn deliver(e: &mut Election, now: u64, n: Notification) -> Vec<ElectionOutput> {
        e.handle(now, n.sender, n);
        drain(e)
    }

    // Starting opens round 1 with a vote for myself, sent to every other voter but to no observer.
    #[test]
    fn start_votes_for_myself_and_tells_every_voter() {
        let mut e = election(ME, 3, 5);
        let out = drain(&mut e);
        assert_eq!(e.election_round(), 1);
        assert_eq!(e.current_vote(), vote(1, 5));
        let to: Vec<ServerId> = sends(&out).iter().map(|(to, _)| *to).collect();
        assert_eq!(to, vec![ServerId(2), ServerId(3)]);
        assert!(sends(&out).iter().all(|(_, n)| *n == note(1, vote(1, 5), 1, ServerState::Looking)));
        assert_eq!(e.poll_timeout(), Some(FINALIZE_WAIT_MS));
    }

    // A better vote in my round is adopted and re-broadcast; a worse one is only recorded.
    #[test]
    fn better_vote_is_adopted_and_broadcast() {
        let mut e = election(ME, 5, 5);
        drain(&mut e);
        let out = deliver(&mut e, 1, note(2, vote(2, 4), 1, ServerState::Looking));
        assert!(out.is_empty(), "a worse vote changes nothing I say");
        let out = deliver(&mut e, 2, note(3, vote(3, 6), 1, ServerState::Looking));
        assert_eq!(e.current_vote(), vote(3, 6));
        assert_eq!(sends(&out).len(), 4, "the new proposal goes to every other voter");
    }

    // A higher round resets my proposal to the better of its vote and my own, not to what I adopted before.
    #[test]
    fn higher_round_falls_back_to_my_own_vote() {
        let mut e = election(ME, 5, 5);
        deliver(&mut e, 1, note(3, vote(3, 9), 1, ServerState::Looking));
        assert_eq!(e.current_vote(), vote(3, 9));
        let out = deliver(&mut e, 2, note(2, vote(2, 4), 3, ServerState::Looking));
        assert_eq!(e.election_round(), 3);
        assert_eq!(e.current_vote(), vote(1, 5), "vote(3, 9) belonged to the old round");
        assert!(sends(&out).iter().all(|(_, n)| n.election_round == 3 && n.vote == vote(1, 5)));
        assert_eq!(sends(&out).len(), 4);
    }

    // The reply rule: a looking peer in a lower round is answered with my round and vote; others are not.
    #[test]
    fn looking_peer_answers_only_lower_rounds() {
        let mut e = election(ME, 3, 5);
        deliver(&mut e, 1, note(2, vote(2, 1), 2, ServerState::Looking));
        assert_eq!(e.election_round(), 2);
        let out = deliver(&mut e, 2, note(3, vote(3, 1), 1, ServerState::Looking));
        assert_eq!(sends(&out), vec![(ServerId(3), note(1, vote(1, 5), 2, ServerState::Looking))]);
        let out = deliver(&mut e, 3, note(3, vote(3, 1), 2, ServerState::Looking));
        assert!(sends(&out).is_empty(), "same round: no answer");
        let out = deliver(&mut e, 4, note(3, vote(2, 1), 1, ServerState::Following));
        assert!(sends(&out).is_empty(), "a settled sender needs no answer");
    }

    // A settled server answers a looking one with its decided vote, state and round, and ignores settled ones.
    #[test]
    fn settled_peer_answers_looking_peers() {
        let mut e = election(ME, 3, 5);
        e.set_decided(vote(2, 7), ServerState::Following);
        drain(&mut e);
        assert_eq!(e.poll_timeout(), None);
        let out = deliver(&mut e, 10, note(3, vote(3, 9), 4, ServerState::Looking));
        assert_eq!(sends(&out), vec![(ServerId(3), note(1, vote(2, 7), 1, ServerState::Following))]);
        let out = deliver(&mut e, 11, note(3, vote(2, 7), 1, ServerState::Following));
        assert!(out.is_empty());
        let out = deliver(&mut e, 12, note(9, vote(9, 99), 1, ServerState::Looking));
        assert_eq!(sends(&out), vec![(OBSERVER, note(1, vote(2, 7), 1, ServerState::Following))], "observers are answered too");
    }

    // An observer's notification is answered but never counted, and a vote for an observer is never adopted.
    #[test]
    fn observers_are_answered_but_never_counted() {
        let mut e = election(ME, 3, 5);
        drain(&mut e);
        let out = deliver(&mut e, 1, note(9, vote(1, 5), 1, ServerState::Looking));
        assert_eq!(sends(&out), vec![(OBSERVER, note(1, vote(1, 5), 1, ServerState::Looking))]);
        assert_eq!(e.poll_timeout(), Some(FINALIZE_WAIT_MS), "no finalize wait: the observer's agreement does not count");
        deliver(&mut e, 2, note(2, vote(9, 99), 1, ServerState::Looking));
        assert_eq!(e.current_vote(), vote(1, 5), "a vote for an observer is ignored");
    }

    // An observer asks every voter, never answers, adopts voters' votes and decides Observing.
    #[test]
    fn observer_learns_the_leader() {
        let mut e = election(OBSERVER, 3, 99);
        let out = drain(&mut e);
        assert_eq!(sends(&out).iter().map(|(to, _)| *to).collect::<BTreeSet<_>>(), ids(&[1, 2, 3]));
        let out = deliver(&mut e, 1, note(1, vote(2, 5), 0, ServerState::Looking));
        assert!(sends(&out).is_empty(), "an observer never answers, even a lower round");
        assert_eq!(e.current_vote().leader, OBSERVER, "a lower round is not counted");
        deliver(&mut e, 1, note(1, vote(2, 5), 1, ServerState::Looking));
        assert_eq!(e.current_vote(), vote(2, 5), "any voter's vote beats an observer's own");
        let out = deliver(&mut e, 2, note(3, vote(2, 5), 1, ServerState::Following));
        assert!(decided(&out).is_none(), "2 has not said it leads");
        let out = deliver(&mut e, 3, note(2, vote(2, 5), 1, ServerState::Leading));
        assert_eq!(decided(&out), Some((ServerId(2), ServerState::Observing, 1)));
        let out = deliver(&mut e, 4, note(3, vote(3, 5), 2, ServerState::Looking));
        assert!(out.is_empty(), "a settled observer does not answer either");
    }

    // Once a quorum agrees, the decision waits out the finalize wait and then names my role.
    #[test]
    fn quorum_decides_after_the_finalize_wait() {
        let mut e = election(ME, 3, 5);
        drain(&mut e);
        deliver(&mut e, 10, note(2, vote(1, 5), 1, ServerState::Looking));
        assert_eq!(e.poll_timeout(), Some(10 + FINALIZE_WAIT_MS));
        e.tick(10 + FINALIZE_WAIT_MS - 1);
        assert!(drain(&mut e).is_empty());
        e.tick(10 + FINALIZE_WAIT_MS);
        assert_eq!(decided(&drain(&mut e)), Some((ME, ServerState::Leading, 1)));
        assert_eq!(e.state(), ServerState::Leading);
    }

    // A better vote during the finalize wait cancels it; a worse one is discarded, as ZooKeeper does.
    #[test]
    fn finalize_wait_yields_only_to_a_better_vote() {
        let mut e = election(ME, 5, 5);
        deliver(&mut e, 1, note(2, vote(3, 6), 1, ServerState::Looking));
        deliver(&mut e, 2, note(3, vote(3, 6), 1, ServerState::Looking));
        assert_eq!(e.poll_timeout(), Some(2 + FINALIZE_WAIT_MS), "1, 2 and 3 agree on 3");
        deliver(&mut e, 3, note(4, vote(2, 1), 1, ServerState::Looking));
        assert_eq!(e.poll_timeout(), Some(2 + FINALIZE_WAIT_MS), "a worse vote is discarded");
        let out = deliver(&mut e, 4, note(5, vote(5, 6), 1, ServerState::Looking));
        assert_eq!(e.current_vote(), vote(5, 6));
        assert_eq!(sends(&out).len(), 4);
        assert_ne!(e.poll_timeout(), Some(2 + FINALIZE_WAIT_MS), "the wait was cancelled");
        e.tick(300);
        assert!(decided(&drain(&mut e)).is_none());
    }

    // Joining needs a quorum following the leader and the leader's own LEADING notification.
    #[test]
    fn joins_a_leader_only_when_it_claims_to_lead() {
        let mut e = election(ME, 5, 9);
        deliver(&mut e, 1, note(2, vote(3, 5), 1, ServerState::Following));
        deliver(&mut e, 2, note(4, vote(3, 5), 1, ServerState::Following));
        let out = deliver(&mut e, 3, note(5, vote(3, 5), 1, ServerState::Following));
        assert!(decided(&out).is_none(), "three followers, but 3 itself has not said it leads");
        let out = deliver(&mut e, 4, note(3, vote(3, 5), 1, ServerState::Leading));
        assert_eq!(decided(&out), Some((ServerId(3), ServerState::Following, 1)));
        assert_eq!(e.current_vote(), vote(3, 5), "the established leader wins over my better log");
    }

    // A leader settled in another round is joined through the out-of-election tally, adopting its round.
    #[test]
    fn joins_an_established_leader_of_another_round() {
        let mut e = election(ME, 3, 9);
        e.restart(0, Zxid::new(1, 9), Epoch(1));
        e.restart(0, Zxid::new(1, 9), Epoch(1));
        assert_eq!(e.election_round(), 3);
        let out = deliver(&mut e, 1, note(3, vote(3, 5), 1, ServerState::Leading));
        assert!(decided(&out).is_none(), "one voter is not a quorum");
        let out = deliver(&mut e, 2, note(2, vote(3, 7), 1, ServerState::Following));
        assert_eq!(decided(&out), Some((ServerId(3), ServerState::Following, 1)), "settled votes agree on leader and epoch, not zxid");
        assert_eq!(e.election_round(), 1);
    }

    // Unanswered notifications are re-sent with exponential backoff, bounded by the maximum interval.
    #[test]
    fn resends_back_off_up_to_the_maximum() {
        let mut e = election(ME, 3, 5);
        drain(&mut e);
        let mut gaps = Vec::new();
        let mut last = 0;
        while gaps.len() < 12 {
            let at = e.poll_timeout().expect("looking");
            e.tick(at);
            assert_eq!(sends(&drain(&mut e)).len(), 2, "every re-send goes to both other voters");
            gaps.push(at - last);
            last = at;
        }
        assert_eq!(&gaps[..4], &[200, 400, 800, 1_600]);
        assert!(gaps.iter().all(|g| *g <= MAX_NOTIFICATION_INTERVAL_MS));
        assert_eq!(gaps[11], MAX_NOTIFICATION_INTERVAL_MS);
    }

    // The queue keeps only the newest message per peer, so an undrained host cannot make it grow.
    #[test]
    fn output_queue_keeps_one_message_per_peer() {
        let mut e = election(ME, 3, 5);
        for t in 1..50 {
            e.handle(t, ServerId(2), note(2, vote(2, 1), 0, ServerState::Looking));
            e.handle(t, OBSERVER, note(9, vote(9, 1), 0, ServerState::Looking));
        }
        e.check_invariants();
        assert_eq!(drain(&mut e).len(), 3);
    }

    // Restarting after losing the leader opens a new round with my current log and looks again.
    #[test]
    fn restart_looks_again_in_a_new_round() {
        let mut e = election(ME, 3, 5);
        e.set_decided(vote(3, 5), ServerState::Following);
        drain(&mut e);
        e.restart(1_000, Zxid::new(2, 3), Epoch(2));
        let out = drain(&mut e);
        assert_eq!((e.state(), e.election_round()), (ServerState::Looking, 2));
        let expected = Vote::new(ME, Zxid::new(2, 3), Epoch(2));
        assert!(sends(&out).iter().all(|(_, n)| *n == note(1, expected, 2, ServerState::Looking)));
        assert_eq!(e.poll_timeout(), Some(1_000 + FINALIZE_WAIT_MS));
    }

    // Messages that claim another sender, or come from myself, are dropped.
    #[test]
    fn misattributed_notifications_are_dropped() {
        let mut e = election(ME, 3, 5);
        drain(&mut e);
        e.handle(1, ServerId(2), note(3, vote(3, 9), 1, ServerState::Looking));
        e.handle(1, ME, note(1, vote(3, 9), 1, ServerState::Looking));
        assert!(drain(&mut e).is_empty());
        assert_eq!(e.current_vote(), vote(1, 5));
    }
}
