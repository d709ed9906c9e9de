//! The leader's proposal tracker: ZooKeeper's `outstandingProposals` with
//! `processAck` and `tryToCommit`.
//!
//! A proposal commits once a quorum of voters acknowledged it, the leader's
//! own acknowledgement counting only after its fsync; commits leave strictly in
//! zxid order, so a proposal acked by a quorum waits behind an earlier one that
//! is not. Acks are idempotent and those that cannot matter (an observer's, a
//! stranger's, one for a zxid already committed or never proposed) change
//! nothing. The number of proposals in flight is bounded.

use super::epoch::QuorumVerifier;
use crate::election::{ElectionRules, ZooKeeperRules};
use crate::zxid::{ServerId, Zxid};
use std::collections::{BTreeSet, VecDeque};
use std::fmt;

/// Outstanding proposals of one leader, each with the voters that acked it.
///
/// `T` is whatever the caller wants back on commit (the transaction, who to answer).
#[derive(Clone, Debug)]
pub struct ProposalTracker<T, R: ElectionRules = ZooKeeperRules> {
    quorum: QuorumVerifier<R>,
    me: ServerId,
    /// In zxid order; the front is the next to commit.
    outstanding: VecDeque<Outstanding<T>>,
    last_committed: Zxid,
    last_proposed: Zxid,
    proposals_in_flight_max: usize,
}

#[derive(Clone, Debug)]
struct Outstanding<T> {
    zxid: Zxid,
    acks: BTreeSet<ServerId>,
    payload: T,
}

/// What became of an ACK.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// The ack was recorded.
    Counted,
    /// This voter had already acked this proposal.
    Duplicate,
    /// The sender does not vote (an observer or a stranger).
    NotAVoter,
    /// The proposal is already committed.
    AlreadyCommitted,
    /// No such proposal is outstanding (from another leader, or not proposed yet).
    Unknown,
}

/// Why a proposal was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Too many proposals await their quorum; the caller must hold the request back.
    TooManyInFlight {
        /// The configured bound.
        limit: usize,
    },
}

impl fmt::Display for ProposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProposeError::TooManyInFlight { limit } => write!(f, "{limit} proposals already await a quorum"),
        }
    }
}

impl std::error::Error for ProposeError {}

impl<T, R: ElectionRules> ProposalTracker<T, R> {
    /// A tracker for leader `me`, whose history is committed up to `last_committed`.
    ///
    /// # Panics
    /// If `me` is not a voter or the bound is zero.
    pub fn new(quorum: QuorumVerifier<R>, me: ServerId, last_committed: Zxid, proposals_in_flight_max: usize) -> ProposalTracker<T, R> {
        assert!(quorum.is_voter(me), "server {} leads without being a voter", me.0);
        assert!(proposals_in_flight_max > 0, "a tracker that accepts no proposal");
        ProposalTracker { quorum, me, outstanding: VecDeque::new(), last_committed, last_proposed: last_committed, proposals_in_flight_max }
    }

    /// Records a new proposal; nobody has acked it yet, not even the leader.
    ///
    /// # Panics
    /// If `zxid` does not follow every earlier proposal: zxids come from one counter.
    pub fn propose(&mut self, zxid: Zxid, payload: T) -> Result<(), ProposeError> {
        assert!(zxid > self.last_proposed, "proposal {zxid} after {}", self.last_proposed);
        if self.outstanding.len() >= self.proposals_in_flight_max {
            return Err(ProposeError::TooManyInFlight { limit: self.proposals_in_flight_max });
        }
        self.last_proposed = zxid;
        self.outstanding.push_back(Outstanding { zxid, acks: BTreeSet::new(), payload });
        Ok(())
    }

    /// An ACK of proposal `zxid` from `from` (the leader's own included, see `durable`).
    pub fn ack(&mut self, from: ServerId, zxid: Zxid) -> AckOutcome {
        if !self.quorum.is_voter(from) {
            return AckOutcome::NotAVoter;
        }
        if zxid <= self.last_committed {
            return AckOutcome::AlreadyCommitted;
        }
        // Outstanding zxids are sorted, so a binary search finds the proposal.
        let Ok(i) = self.outstanding.binary_search_by_key(&zxid, |p| p.zxid) else {
            return AckOutcome::Unknown;
        };
        if self.outstanding[i].acks.insert(from) {
            AckOutcome::Counted
        } else {
            AckOutcome::Duplicate
        }
    }

    /// The leader's log is durable up to `upto`: that is its own ACK of every proposal up to it.
    pub fn durable(&mut self, upto: Zxid) {
        let me = self.me;
        for p in self.outstanding.iter_mut().take_while(|p| p.zxid <= upto) {
            p.acks.insert(me);
        }
    }

    /// The next proposal to commit, if a quorum acked it; call until `None`, committing each in turn.
    pub fn pop_committed(&mut self) -> Option<(Zxid, T)> {
        let front = self.outstanding.front()?;
        if !self.quorum.is_quorum(&front.acks) {
            return None;
        }
        let p = self.outstanding.pop_front().expect("front exists");
        assert!(p.zxid > self.last_committed, "commit {} after {}", p.zxid, self.last_committed);
        self.last_committed = p.zxid;
        Some((p.zxid, p.payload))
    }

    /// The last committed zxid.
    pub fn last_committed(&self) -> Zxid {
        self.last_committed
    }

    /// The last proposed zxid.
    pub fn last_proposed(&self) -> Zxid {
        self.last_proposed
    }

    /// How many proposals await their commit.
    pub fn in_flight(&self) -> usize {
        self.outstanding.len()
    }

    /// The voters that acked proposal `zxid`, if it is outstanding.
    pub fn acks(&self, zxid: Zxid) -> Option<&BTreeSet<ServerId>> {
        let i = self.outstanding.binary_search_by_key(&zxid, |p| p.zxid).ok()?;
        Some(&self.outstanding[i].acks)
    }

    /// The outstanding proposals in zxid order, for syncing a learner that joins mid-epoch.
    pub fn outstanding(&self) -> impl Iterator<Item = (Zxid, &T)> {
        self.outstanding.iter().map(|p| (p.zxid, &p.payload))
    }

    /// Checks the tracker's internal consistency.
    ///
    /// # Panics
    /// On a broken invariant: a bug in this module.
    pub fn check_invariants(&self) {
        assert!(self.outstanding.len() <= self.proposals_in_flight_max, "more proposals in flight than allowed");
        let mut last = self.last_committed;
        for p in &self.outstanding {
            assert!(p.zxid > last, "outstanding proposals out of order: {} after {}", p.zxid, last);
            assert!(p.acks.iter().all(|id| self.quorum.is_voter(*id)), "a non-voter acked {}", p.zxid);
            last = p.zxid;
        }
        assert_eq!(last, self.last_proposed, "the last outstanding proposal is not the last proposed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ids: &[u64]) -> BTreeSet<ServerId> {
        ids.iter().copied().map(ServerId).collect()
    }

    fn z(counter: u32) -> Zxid {
        Zxid::new(2, counter)
    }

    /// Leader 1 of voters 1..=5 with observer 6.
    fn tracker() -> ProposalTracker<&'static str> {
        let q = QuorumVerifier::new(ids(&[1, 2, 3, 4, 5]), ids(&[6])).unwrap();
        ProposalTracker::new(q, ServerId(1), z(0), 8)
    }

    fn drain<T>(t: &mut ProposalTracker<T>) -> Vec<Zxid> {
        std::iter::from_fn(|| t.pop_committed()).map(|(zxid, _)| zxid).collect()
    }

    // A proposal commits exactly when a majority of voters, the leader's durable ack included, acked it.
    #[test]
    fn commits_on_a_quorum_including_the_leader() {
        let mut t = tracker();
        t.propose(z(1), "a").unwrap();
        assert_eq!(t.ack(ServerId(2), z(1)), AckOutcome::Counted);
        assert_eq!(t.ack(ServerId(3), z(1)), AckOutcome::Counted);
        assert_eq!(drain(&mut t), vec![], "two of five");
        t.durable(z(1));
        assert_eq!(t.pop_committed(), Some((z(1), "a")));
        assert_eq!(t.last_committed(), z(1));
        t.check_invariants();
    }

    // Followers alone can commit: the leader is one voter among others, as in ZooKeeper.
    #[test]
    fn followers_alone_make_a_quorum() {
        let mut t = tracker();
        t.propose(z(1), "a").unwrap();
        for id in [2, 3, 4] {
            t.ack(ServerId(id), z(1));
        }
        assert_eq!(drain(&mut t), vec![z(1)]);
    }

    // A later proposal acked first waits for the earlier one, then both commit in zxid order.
    #[test]
    fn commits_leave_in_zxid_order() {
        let mut t = tracker();
        for (i, p) in ["a", "b", "c"].into_iter().enumerate() {
            t.propose(z(i as u32 + 1), p).unwrap();
        }
        for id in [2, 3, 4] {
            t.ack(ServerId(id), z(3));
            t.ack(ServerId(id), z(2));
        }
        assert_eq!(drain(&mut t), vec![], "z1 has no ack yet");
        for id in [2, 3] {
            t.ack(ServerId(id), z(1));
        }
        t.durable(z(1));
        assert_eq!(drain(&mut t), vec![z(1), z(2), z(3)]);
        t.check_invariants();
    }

    // Observers, strangers, duplicates, committed and unknown zxids change nothing.
    #[test]
    fn irrelevant_acks_are_ignored() {
        let mut t = tracker();
        t.propose(z(1), "a").unwrap();
        assert_eq!(t.ack(ServerId(6), z(1)), AckOutcome::NotAVoter);
        assert_eq!(t.ack(ServerId(9), z(1)), AckOutcome::NotAVoter);
        assert_eq!(t.ack(ServerId(2), z(1)), AckOutcome::Counted);
        assert_eq!(t.ack(ServerId(2), z(1)), AckOutcome::Duplicate);
        assert_eq!(t.ack(ServerId(2), z(7)), AckOutcome::Unknown);
        assert_eq!(t.ack(ServerId(2), Zxid::new(1, 9)), AckOutcome::AlreadyCommitted, "an older epoch's proposal");
        assert_eq!(t.acks(z(1)), Some(&ids(&[2])));
        assert_eq!(drain(&mut t), vec![]);
        t.check_invariants();
    }

    // The in-flight bound refuses with a typed error and frees up as proposals commit.
    #[test]
    fn in_flight_is_bounded() {
        let q = QuorumVerifier::new(ids(&[1]), BTreeSet::new()).unwrap();
        let mut t: ProposalTracker<u32> = ProposalTracker::new(q, ServerId(1), z(0), 2);
        t.propose(z(1), 1).unwrap();
        t.propose(z(2), 2).unwrap();
        assert_eq!(t.propose(z(3), 3), Err(ProposeError::TooManyInFlight { limit: 2 }));
        assert_eq!(t.last_proposed(), z(2), "a refused proposal leaves no trace");
        t.durable(z(1));
        assert_eq!(drain(&mut t), vec![z(1)], "a leader of one commits on its own fsync");
        t.propose(z(3), 3).unwrap();
        assert_eq!(t.in_flight(), 2);
        t.check_invariants();
    }

    // Zxids come from one counter: proposing out of order is a bug and panics.
    #[test]
    #[should_panic(expected = "proposal")]
    fn proposals_must_increase() {
        let mut t = tracker();
        t.propose(z(2), "b").unwrap();
        let _ = t.propose(z(1), "a");
    }
}
