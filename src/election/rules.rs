//! The two judgements an election rests on: which vote is better, and how
//! many agreeing voters make a quorum.
//!
//! They sit behind a small trait so that tests can run the real state machine
//! with a deliberately broken rule and prove that their checkers catch it; the
//! engine itself only ever uses `ZooKeeperRules`.

use super::vote::Vote;

/// How votes are ranked and counted; `ZooKeeperRules` is the only correct one.
pub trait ElectionRules {
    /// Whether `new` should replace `current` as a proposal; both are votes for voters.
    fn supersedes(&self, new: &Vote, current: &Vote) -> bool;

    /// Whether `agreeing` voters out of `voters` voting members form a quorum.
    fn is_quorum(&self, agreeing: usize, voters: usize) -> bool;
}

/// ZooKeeper's rules: `totalOrderPredicate` and a strict majority of voters.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct ZooKeeperRules;

impl ElectionRules for ZooKeeperRules {
    fn supersedes(&self, new: &Vote, current: &Vote) -> bool {
        new > current
    }

    fn is_quorum(&self, agreeing: usize, voters: usize) -> bool {
        // A strict majority: any two quorums share a voter, which is what
        // stops two disjoint halves of an even ensemble from both electing.
        agreeing * 2 > voters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zxid::{Epoch, ServerId, Zxid};

    // A quorum is a strict majority: half of an even ensemble is not enough.
    #[test]
    fn quorum_is_a_strict_majority() {
        let rules = ZooKeeperRules;
        assert!(rules.is_quorum(1, 1));
        assert!(!rules.is_quorum(1, 2) && rules.is_quorum(2, 2));
        assert!(!rules.is_quorum(1, 3) && rules.is_quorum(2, 3));
        assert!(!rules.is_quorum(2, 4) && rules.is_quorum(3, 4));
        assert!(!rules.is_quorum(2, 5) && rules.is_quorum(3, 5));
        assert!(!rules.is_quorum(0, 0), "an empty ensemble has no quorum");
    }

    // A vote supersedes only a strictly worse one, so equal votes never cause a re-broadcast.
    #[test]
    fn supersedes_is_strict() {
        let a = Vote::new(ServerId(1), Zxid::new(1, 4), Epoch(1));
        let b = Vote::new(ServerId(2), Zxid::new(1, 4), Epoch(1));
        assert!(ZooKeeperRules.supersedes(&b, &a));
        assert!(!ZooKeeperRules.supersedes(&a, &b));
        assert!(!ZooKeeperRules.supersedes(&a, &a));
    }
}
