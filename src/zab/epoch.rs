//! Discovery on the leader: choosing the new epoch and establishing it.
//!
//! ZooKeeper's `Leader.lead` waits three times for a quorum of voters, itself
//! included: for FOLLOWERINFO (`getEpochToPropose`), to decide the new epoch as
//! one more than the largest epoch anybody accepted; for ACKEPOCH
//! (`waitForEpochAck`), which also reveals a voter more up to date than the
//! leader, in which case this server must not lead; and for the ACK of
//! NEWLEADER (`waitForNewLeaderAck`), after which the epoch is established.
//! `EpochTally` is those three waits as a pure tally; timeouts (initLimit) and
//! persisting the leader's own epochs are its caller's.
//!
//! `QuorumVerifier` holds the membership and is the one place ZAB asks
//! "is this set a quorum?"; its arithmetic is the election's `ElectionRules`,
//! so election and broadcast can never disagree on what a quorum is.

use crate::election::{ElectionRules, ZooKeeperRules};
use crate::zxid::{Epoch, ServerId, Zxid};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The ensemble's membership and its quorum rule: a strict majority of voters; observers never count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumVerifier<R: ElectionRules = ZooKeeperRules> {
    voters: BTreeSet<ServerId>,
    observers: BTreeSet<ServerId>,
    rules: R,
}

/// Why a membership is unusable; it comes from configuration, so it is an error, not a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MembershipError {
    /// Nobody votes, so nothing can ever be a quorum.
    NoVoters,
    /// This server is listed both as a voter and as an observer.
    VoterAndObserver(ServerId),
}

impl fmt::Display for MembershipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipError::NoVoters => write!(f, "the ensemble has no voting member"),
            MembershipError::VoterAndObserver(id) => write!(f, "server {} is both a voter and an observer", id.0),
        }
    }
}

impl std::error::Error for MembershipError {}

impl QuorumVerifier<ZooKeeperRules> {
    /// ZooKeeper's majority verifier over these voters and observers.
    pub fn new(voters: BTreeSet<ServerId>, observers: BTreeSet<ServerId>) -> Result<QuorumVerifier, MembershipError> {
        QuorumVerifier::with_rules(voters, observers, ZooKeeperRules)
    }
}

impl<R: ElectionRules> QuorumVerifier<R> {
    /// Like `new`, with another quorum rule; only tests that prove their checkers use this.
    pub fn with_rules(voters: BTreeSet<ServerId>, observers: BTreeSet<ServerId>, rules: R) -> Result<QuorumVerifier<R>, MembershipError> {
        if voters.is_empty() {
            return Err(MembershipError::NoVoters);
        }
        if let Some(id) = voters.intersection(&observers).next() {
            return Err(MembershipError::VoterAndObserver(*id));
        }
        Ok(QuorumVerifier { voters, observers, rules })
    }

    /// Whether the voters among `ids` form a quorum; observers and strangers in `ids` are not counted.
    pub fn is_quorum(&self, ids: &BTreeSet<ServerId>) -> bool {
        let voting = ids.intersection(&self.voters).count();
        self.rules.is_quorum(voting, self.voters.len())
    }

    /// Whether `id` votes.
    pub fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether `id` is an observer.
    pub fn is_observer(&self, id: ServerId) -> bool {
        self.observers.contains(&id)
    }

    /// Whether `id` belongs to the ensemble at all.
    pub fn is_member(&self, id: ServerId) -> bool {
        self.is_voter(id) || self.is_observer(id)
    }

    /// The voting members.
    pub fn voters(&self) -> &BTreeSet<ServerId> {
        &self.voters
    }

    /// The observers.
    pub fn observers(&self) -> &BTreeSet<ServerId> {
        &self.observers
    }
}

/// Where a server stands, as ACKEPOCH reports it: ZooKeeper's `StateSummary`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StateSummary {
    /// The epoch of the last leader it completed a sync with.
    pub current_epoch: Epoch,
    /// The last zxid in its durable log.
    pub last_zxid: Zxid,
}

impl StateSummary {
    /// ZooKeeper's `isMoreRecentThan`: a later current epoch, or the same one with a longer log.
    pub fn is_more_recent_than(&self, other: &StateSummary) -> bool {
        (self.current_epoch, self.last_zxid) > (other.current_epoch, other.last_zxid)
    }
}

/// A voter that is more up to date than the would-be leader.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FollowerAhead {
    /// The voter.
    pub server: ServerId,
    /// What it reported.
    pub theirs: StateSummary,
    /// What the leader holds.
    pub mine: StateSummary,
}

/// How far discovery has come.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DiscoveryPhase {
    /// Collecting FOLLOWERINFO until a quorum of voters, the leader included, reported.
    CollectingEpochs,
    /// The epoch is decided: the leader persists it as its accepted epoch, answers
    /// LEADERINFO to every learner, and collects ACKEPOCH.
    CollectingAckEpochs {
        /// The epoch to lead.
        new_epoch: Epoch,
    },
    /// A quorum acknowledged the epoch: the leader syncs learners, sends NEWLEADER, and collects its ACKs.
    CollectingNewLeaderAcks {
        /// The epoch to lead.
        new_epoch: Epoch,
    },
    /// A quorum acknowledged NEWLEADER: the initial history is committed; send UPTODATE.
    Established {
        /// The epoch now led.
        new_epoch: Epoch,
    },
    /// A voter is more up to date: this server must stop leading and elect again.
    GaveUp(FollowerAhead),
}

/// Why a discovery message changed nothing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ignored {
    /// The sender is not a member of the ensemble.
    Stranger,
    /// The message does not belong to the current phase (late, early or repeated).
    OutOfPhase,
    /// A NEWLEADER ack for another epoch.
    WrongEpoch,
    /// An accepted epoch so large that no later epoch exists: corrupt, and not to be believed.
    EpochExhausted,
}

/// The leader's discovery tally. Create it when the election makes this server
/// leader; feed it what learners say; act on the phase it enters.
///
/// The leader counts itself like any voter, and only once its own state allows:
/// its FOLLOWERINFO is its accepted epoch on disk (recorded by `new`), its
/// ACKEPOCH is given by calling `ack_epoch(me, ..)` once the new accepted epoch
/// is durable, and its NEWLEADER ack by calling `new_leader_ack(me, ..)` once
/// its history and current epoch are durable.
#[derive(Clone, Debug)]
pub struct EpochTally<R: ElectionRules = ZooKeeperRules> {
    quorum: QuorumVerifier<R>,
    me: ServerId,
    mine: StateSummary,
    phase: DiscoveryPhase,
    /// One more than the largest accepted epoch reported so far, by anybody.
    proposed_epoch: Epoch,
    /// Voters whose FOLLOWERINFO arrived (ZooKeeper's connectingFollowers).
    connecting: BTreeSet<ServerId>,
    /// Voters whose ACKEPOCH arrived (electingFollowers), with what they reported.
    electing: BTreeMap<ServerId, StateSummary>,
    /// Voters that acked NEWLEADER.
    new_leader_acks: BTreeSet<ServerId>,
}

impl<R: ElectionRules> EpochTally<R> {
    /// Discovery for leader `me`, which accepted `accepted_epoch` and holds `mine`.
    ///
    /// # Panics
    /// If `me` is not a voter: only voters lead.
    pub fn new(quorum: QuorumVerifier<R>, me: ServerId, accepted_epoch: Epoch, mine: StateSummary) -> EpochTally<R> {
        assert!(quorum.is_voter(me), "server {} leads without being a voter", me.0);
        assert!(mine.current_epoch <= accepted_epoch, "current epoch {:?} beyond accepted epoch {:?}", mine.current_epoch, accepted_epoch);
        let mut tally = EpochTally {
            quorum,
            me,
            mine,
            phase: DiscoveryPhase::CollectingEpochs,
            proposed_epoch: Epoch(0),
            connecting: BTreeSet::new(),
            electing: BTreeMap::new(),
            new_leader_acks: BTreeSet::new(),
        };
        // A leader of one has its quorum at once: standalone runs the same code.
        let _ = tally.follower_info(me, accepted_epoch);
        tally
    }

    /// The current phase.
    pub fn phase(&self) -> DiscoveryPhase {
        self.phase
    }

    /// The decided epoch, once there is one; learners that report late are answered with it.
    pub fn new_epoch(&self) -> Option<Epoch> {
        match self.phase {
            DiscoveryPhase::CollectingEpochs | DiscoveryPhase::GaveUp(_) => None,
            DiscoveryPhase::CollectingAckEpochs { new_epoch }
            | DiscoveryPhase::CollectingNewLeaderAcks { new_epoch }
            | DiscoveryPhase::Established { new_epoch } => Some(new_epoch),
        }
    }

    /// The membership this tally counts with.
    pub fn quorum(&self) -> &QuorumVerifier<R> {
        &self.quorum
    }

    /// FOLLOWERINFO or OBSERVERINFO from `from`. Anyone's accepted epoch raises
    /// the epoch to propose, as in ZooKeeper, so that no learner that reports in
    /// time has to refuse it; only voters count toward the quorum.
    pub fn follower_info(&mut self, from: ServerId, accepted_epoch: Epoch) -> Result<DiscoveryPhase, Ignored> {
        if !self.quorum.is_member(from) {
            return Err(Ignored::Stranger);
        }
        if self.phase != DiscoveryPhase::CollectingEpochs {
            // Too late to change the epoch: the caller answers with `new_epoch()`.
            return Err(Ignored::OutOfPhase);
        }
        let Some(next) = accepted_epoch.0.checked_add(1).map(Epoch) else {
            return Err(Ignored::EpochExhausted);
        };
        self.proposed_epoch = self.proposed_epoch.max(next);
        if self.quorum.is_voter(from) {
            self.connecting.insert(from);
        }
        if self.connecting.contains(&self.me) && self.quorum.is_quorum(&self.connecting) {
            self.phase = DiscoveryPhase::CollectingAckEpochs { new_epoch: self.proposed_epoch };
        }
        Ok(self.phase)
    }

    /// ACKEPOCH from `from` (or the leader's own, once its accepted epoch is durable).
    pub fn ack_epoch(&mut self, from: ServerId, theirs: StateSummary) -> Result<DiscoveryPhase, Ignored> {
        if !self.quorum.is_member(from) {
            return Err(Ignored::Stranger);
        }
        let DiscoveryPhase::CollectingAckEpochs { new_epoch } = self.phase else {
            return Err(Ignored::OutOfPhase);
        };
        if !self.quorum.is_voter(from) {
            // An observer ahead of the leader holds nothing committed that the
            // leader lacks (observers only log what a quorum of voters did), and
            // giving up for it would repeat forever, since observers do not vote:
            // it is simply truncated in its sync.
            return Ok(self.phase);
        }
        if from != self.me && theirs.is_more_recent_than(&self.mine) {
            self.phase = DiscoveryPhase::GaveUp(FollowerAhead { server: from, theirs, mine: self.mine });
            return Ok(self.phase);
        }
        self.electing.insert(from, theirs);
        if self.electing.contains_key(&self.me) && self.quorum.is_quorum(&self.electing.keys().copied().collect()) {
            self.phase = DiscoveryPhase::CollectingNewLeaderAcks { new_epoch };
        }
        Ok(self.phase)
    }

    /// The ACK of NEWLEADER `(new_epoch, 0)` from `from` (or the leader's own, once its history and current epoch are durable).
    pub fn new_leader_ack(&mut self, from: ServerId, zxid: Zxid) -> Result<DiscoveryPhase, Ignored> {
        if !self.quorum.is_member(from) {
            return Err(Ignored::Stranger);
        }
        let new_epoch = match self.phase {
            DiscoveryPhase::CollectingNewLeaderAcks { new_epoch } | DiscoveryPhase::Established { new_epoch } => new_epoch,
            _ => return Err(Ignored::OutOfPhase),
        };
        if zxid != (Zxid { epoch: new_epoch, counter: 0 }) {
            return Err(Ignored::WrongEpoch);
        }
        if self.quorum.is_voter(from) {
            self.new_leader_acks.insert(from);
        }
        if self.new_leader_acks.contains(&self.me) && self.quorum.is_quorum(&self.new_leader_acks) {
            self.phase = DiscoveryPhase::Established { new_epoch };
        }
        Ok(self.phase)
    }

    /// Checks the tally's internal consistency.
    ///
    /// # Panics
    /// On a broken invariant: a bug in this module.
    pub fn check_invariants(&self) {
        let voters = self.quorum.voters();
        assert!(self.connecting.is_subset(voters), "a non-voter counted toward the epoch quorum");
        assert!(self.electing.keys().all(|id| voters.contains(id)), "a non-voter counted toward the ACKEPOCH quorum");
        assert!(self.new_leader_acks.is_subset(voters), "a non-voter counted toward the NEWLEADER quorum");
        if let Some(new_epoch) = self.new_epoch() {
            assert!(new_epoch > self.mine.current_epoch, "new epoch {new_epoch:?} does not follow current epoch {:?}", self.mine.current_epoch);
            assert!(self.connecting.contains(&self.me) && self.quorum.is_quorum(&self.connecting), "epoch decided without a quorum");
        }
        for (id, theirs) in &self.electing {
            assert!(*id == self.me || !theirs.is_more_recent_than(&self.mine), "counted voter {} although it is ahead of the leader", id.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[u64]) -> BTreeSet<ServerId> {
        ids.iter().copied().map(ServerId).collect()
    }

    fn summary(epoch: u32, zxid: Zxid) -> StateSummary {
        StateSummary { current_epoch: Epoch(epoch), last_zxid: zxid }
    }

    fn five_with_observers() -> QuorumVerifier {
        QuorumVerifier::new(ids(&[1, 2, 3, 4, 5]), ids(&[6, 7])).unwrap()
    }

    // A quorum is a strict majority of voters; observers and strangers in the set never count.
    #[test]
    fn quorum_counts_voters_only() {
        let q = five_with_observers();
        assert!(!q.is_quorum(&ids(&[1, 2])));
        assert!(!q.is_quorum(&ids(&[1, 2, 6, 7, 99])), "two voters plus observers and a stranger");
        assert!(q.is_quorum(&ids(&[1, 2, 3])));
        let even = QuorumVerifier::new(ids(&[1, 2, 3, 4]), BTreeSet::new()).unwrap();
        assert!(!even.is_quorum(&ids(&[1, 2])), "half of four is not a majority");
        assert!(even.is_quorum(&ids(&[1, 2, 4])));
        assert_eq!(QuorumVerifier::new(BTreeSet::new(), ids(&[1])), Err(MembershipError::NoVoters));
        assert_eq!(QuorumVerifier::new(ids(&[1, 2]), ids(&[2])), Err(MembershipError::VoterAndObserver(ServerId(2))));
    }

    // The new epoch is one more than the largest accepted epoch, decided once a quorum including the leader reported.
    #[test]
    fn epoch_is_max_accepted_plus_one_once_a_quorum_reported() {
        let mut t = EpochTally::new(five_with_observers(), ServerId(1), Epoch(3), summary(3, Zxid::new(3, 7)));
        assert_eq!(t.follower_info(ServerId(2), Epoch(5)), Ok(DiscoveryPhase::CollectingEpochs));
        assert_eq!(
            t.follower_info(ServerId(6), Epoch(8)),
            Ok(DiscoveryPhase::CollectingEpochs),
            "an observer raises the epoch but is no quorum member"
        );
        assert_eq!(t.follower_info(ServerId(3), Epoch(2)), Ok(DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(9) }));
        assert_eq!(t.new_epoch(), Some(Epoch(9)));
        assert_eq!(t.follower_info(ServerId(4), Epoch(20)), Err(Ignored::OutOfPhase), "the epoch does not move once decided");
        assert_eq!(t.follower_info(ServerId(42), Epoch(1)), Err(Ignored::Stranger));
        t.check_invariants();
        let q = QuorumVerifier::new(ids(&[1, 2, 3]), BTreeSet::new()).unwrap();
        let mut t = EpochTally::new(q, ServerId(1), Epoch(3), summary(3, Zxid::new(3, 7)));
        assert_eq!(t.follower_info(ServerId(2), Epoch(u32::MAX)), Err(Ignored::EpochExhausted), "a corrupt report cannot panic the leader");
        assert_eq!(t.phase(), DiscoveryPhase::CollectingEpochs);
    }

    // A standalone leader is a quorum of one: the epoch is decided as soon as the tally exists.
    #[test]
    fn leader_of_one_decides_at_once() {
        let q = QuorumVerifier::new(ids(&[1]), BTreeSet::new()).unwrap();
        let mut t = EpochTally::new(q, ServerId(1), Epoch(4), summary(4, Zxid::new(4, 2)));
        assert_eq!(t.phase(), DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(5) });
        assert_eq!(t.ack_epoch(ServerId(1), summary(4, Zxid::new(4, 2))), Ok(DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(5) }));
        assert_eq!(t.new_leader_ack(ServerId(1), Zxid::new(5, 0)), Ok(DiscoveryPhase::Established { new_epoch: Epoch(5) }));
        t.check_invariants();
    }

    // Without the leader's own ACKEPOCH (its accepted epoch durable), a quorum of followers is not enough.
    #[test]
    fn leader_must_count_itself() {
        let q = QuorumVerifier::new(ids(&[1, 2, 3]), BTreeSet::new()).unwrap();
        let mut t = EpochTally::new(q, ServerId(1), Epoch(1), summary(1, Zxid::new(1, 4)));
        t.follower_info(ServerId(2), Epoch(1)).unwrap();
        assert_eq!(t.follower_info(ServerId(3), Epoch(1)), Err(Ignored::OutOfPhase), "a late reporter is answered with the decided epoch");
        assert_eq!(t.ack_epoch(ServerId(2), summary(1, Zxid::new(1, 4))), Ok(DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(2) }));
        assert_eq!(
            t.ack_epoch(ServerId(3), summary(1, Zxid::new(1, 3))),
            Ok(DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(2) }),
            "two followers without the leader"
        );
        assert_eq!(t.ack_epoch(ServerId(1), summary(1, Zxid::new(1, 4))), Ok(DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(2) }));
        assert_eq!(t.new_leader_ack(ServerId(2), Zxid::new(2, 0)), Ok(DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(2) }));
        assert_eq!(t.new_leader_ack(ServerId(3), Zxid::new(1, 0)), Err(Ignored::WrongEpoch));
        assert_eq!(
            t.new_leader_ack(ServerId(3), Zxid::new(2, 0)),
            Ok(DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(2) }),
            "the leader's own ack is missing"
        );
        assert_eq!(t.new_leader_ack(ServerId(1), Zxid::new(2, 0)), Ok(DiscoveryPhase::Established { new_epoch: Epoch(2) }));
        t.check_invariants();
    }

    // A voter with a later current epoch, or the same epoch and a longer log, makes the leader give up.
    #[test]
    fn follower_ahead_makes_the_leader_give_up() {
        let mine = summary(2, Zxid::new(2, 5));
        for (theirs, ahead) in [
            (summary(3, Zxid::new(2, 1)), true),
            (summary(2, Zxid::new(2, 6)), true),
            (summary(2, Zxid::new(2, 5)), false),
            (summary(1, Zxid::new(1, 99)), false),
        ] {
            let q = QuorumVerifier::new(ids(&[1, 2, 3]), ids(&[4])).unwrap();
            let mut t = EpochTally::new(q, ServerId(1), Epoch(3), mine);
            t.follower_info(ServerId(2), Epoch(3)).unwrap();
            let phase = t.ack_epoch(ServerId(2), theirs).unwrap();
            if ahead {
                assert_eq!(phase, DiscoveryPhase::GaveUp(FollowerAhead { server: ServerId(2), theirs, mine }));
                assert_eq!(t.new_epoch(), None);
                assert_eq!(t.ack_epoch(ServerId(3), mine), Err(Ignored::OutOfPhase), "giving up is final");
            } else {
                assert_eq!(phase, DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(4) });
            }
            t.check_invariants();
        }
    }

    // An observer ahead of the leader is not counted and does not make it give up; it will be truncated instead.
    #[test]
    fn observer_ahead_is_not_a_reason_to_give_up() {
        let q = QuorumVerifier::new(ids(&[1, 2, 3]), ids(&[4])).unwrap();
        let mine = summary(2, Zxid::new(2, 5));
        let mut t = EpochTally::new(q, ServerId(1), Epoch(2), mine);
        t.follower_info(ServerId(4), Epoch(2)).unwrap();
        t.follower_info(ServerId(2), Epoch(2)).unwrap();
        assert_eq!(t.ack_epoch(ServerId(4), summary(3, Zxid::new(3, 1))), Ok(DiscoveryPhase::CollectingAckEpochs { new_epoch: Epoch(3) }));
        t.ack_epoch(ServerId(1), mine).unwrap();
        assert_eq!(t.ack_epoch(ServerId(2), summary(2, Zxid::new(2, 1))), Ok(DiscoveryPhase::CollectingNewLeaderAcks { new_epoch: Epoch(3) }));
        t.check_invariants();
    }

    // Messages of a phase not yet reached are ignored, so a reordered ACKEPOCH cannot skip the epoch decision.
    #[test]
    fn early_messages_are_ignored() {
        let q = QuorumVerifier::new(ids(&[1, 2, 3]), BTreeSet::new()).unwrap();
        let mut t = EpochTally::new(q, ServerId(1), Epoch(1), summary(1, Zxid::new(1, 1)));
        assert_eq!(t.ack_epoch(ServerId(2), summary(1, Zxid::new(1, 1))), Err(Ignored::OutOfPhase));
        assert_eq!(t.new_leader_ack(ServerId(2), Zxid::new(2, 0)), Err(Ignored::OutOfPhase));
        assert_eq!(t.phase(), DiscoveryPhase::CollectingEpochs);
    }
}
