//! Counting received votes: ZooKeeper's `recvset`/`outofelection` maps, its
//! `Vote.equals`, `SyncedLearnerTracker.hasAllQuorums` and `checkLeader`.

use super::rules::ElectionRules;
use super::vote::{Notification, ServerState, Vote};
use crate::zxid::ServerId;
use std::collections::{BTreeMap, BTreeSet};

/// A vote as recorded from one sender, with the round and state it was cast in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Ballot {
    pub vote: Vote,
    pub round: u64,
    pub state: ServerState,
}

impl Ballot {
    pub fn of(n: &Notification) -> Ballot {
        Ballot { vote: n.vote, round: n.election_round, state: n.state }
    }

    /// ZooKeeper's `Vote.equals`: while either side is still looking, the whole
    /// vote and the round must match; between servers that have settled, only
    /// the leader and its epoch do, because their zxids and rounds drift apart
    /// once the leader runs (ZOOKEEPER-1805) and one epoch has one leader.
    pub fn agrees_with(&self, other: &Ballot) -> bool {
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            self.vote == other.vote && self.round == other.round
        } else {
            self.vote.leader == other.vote.leader && self.vote.epoch == other.vote.epoch
        }
    }
}

/// Whether the voters among `ballots` that agree with `target` form a quorum.
/// Ballots of non-voters never count, whatever they say.
pub(crate) fn has_quorum<R: ElectionRules>(rules: &R, voters: &BTreeSet<ServerId>, ballots: &BTreeMap<ServerId, Ballot>, target: &Ballot) -> bool {
    let agreeing = ballots.iter().filter(|(id, ballot)| voters.contains(id) && ballot.agrees_with(target)).count();
    rules.is_quorum(agreeing, voters.len())
}

/// ZooKeeper's `checkLeader`: a quorum following someone is not enough to
/// join it; that server must itself say it is LEADING, or those followers
/// may be stale. If the leader is me, nobody else can vouch for it, so my
/// round must match the one the quorum decided in.
pub(crate) fn leader_confirmed(ballots: &BTreeMap<ServerId, Ballot>, leader: ServerId, round: u64, me: ServerId, my_round: u64) -> bool {
    if leader == me {
        my_round == round
    } else {
        ballots.get(&leader).is_some_and(|b| b.state == ServerState::Leading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::rules::ZooKeeperRules;
    use crate::zxid::{Epoch, Zxid};

    fn ballot(leader: u64, counter: u32, epoch: u32, round: u64, state: ServerState) -> Ballot {
        Ballot { vote: Vote::new(ServerId(leader), Zxid::new(epoch, counter), Epoch(epoch)), round, state }
    }

    fn ids(ids: &[u64]) -> BTreeSet<ServerId> {
        ids.iter().copied().map(ServerId).collect()
    }

    // Observers' ballots never count, so observers cannot make a quorum for anyone.
    #[test]
    fn observers_never_count_toward_a_quorum() {
        let voters = ids(&[1, 2, 3]);
        let target = ballot(3, 5, 1, 1, ServerState::Looking);
        let mut ballots = BTreeMap::new();
        ballots.insert(ServerId(3), target);
        ballots.insert(ServerId(4), target);
        ballots.insert(ServerId(5), target);
        assert!(!has_quorum(&ZooKeeperRules, &voters, &ballots, &target), "one voter and two observers are not a quorum of three voters");
        ballots.insert(ServerId(1), target);
        assert!(has_quorum(&ZooKeeperRules, &voters, &ballots, &target));
    }

    // Half of an even ensemble is not a quorum; one more voter makes it one.
    #[test]
    fn half_of_four_is_not_a_quorum() {
        let voters = ids(&[1, 2, 3, 4]);
        let target = ballot(4, 5, 1, 1, ServerState::Looking);
        let mut ballots: BTreeMap<ServerId, Ballot> = [(ServerId(1), target), (ServerId(4), target)].into_iter().collect();
        ballots.insert(ServerId(2), ballot(2, 5, 1, 1, ServerState::Looking));
        assert!(!has_quorum(&ZooKeeperRules, &voters, &ballots, &target));
        ballots.insert(ServerId(2), target);
        assert!(has_quorum(&ZooKeeperRules, &voters, &ballots, &target));
    }

    // While looking, votes agree only with the same zxid and round; settled votes agree on (leader, epoch).
    #[test]
    fn agreement_follows_zookeeper_vote_equals() {
        let looking = ballot(3, 5, 1, 2, ServerState::Looking);
        assert!(!looking.agrees_with(&ballot(3, 5, 1, 1, ServerState::Looking)), "another round");
        assert!(!looking.agrees_with(&ballot(3, 6, 1, 2, ServerState::Following)), "another zxid, one side looking");
        assert!(looking.agrees_with(&ballot(3, 5, 1, 2, ServerState::Following)));
        let following = ballot(3, 5, 1, 2, ServerState::Following);
        assert!(following.agrees_with(&ballot(3, 9, 1, 7, ServerState::Leading)), "settled: zxid and round ignored");
        assert!(!following.agrees_with(&ballot(3, 5, 2, 2, ServerState::Leading)), "settled: another epoch");
    }

    // Joining needs the leader's own LEADING ballot, unless the leader is me.
    #[test]
    fn leader_must_claim_leading() {
        let mut ballots = BTreeMap::new();
        ballots.insert(ServerId(1), ballot(3, 5, 1, 1, ServerState::Following));
        ballots.insert(ServerId(2), ballot(3, 5, 1, 1, ServerState::Following));
        assert!(!leader_confirmed(&ballots, ServerId(3), 1, ServerId(4), 1), "no word from the leader");
        ballots.insert(ServerId(3), ballot(3, 5, 1, 1, ServerState::Following));
        assert!(!leader_confirmed(&ballots, ServerId(3), 1, ServerId(4), 1), "the leader does not claim to lead");
        ballots.insert(ServerId(3), ballot(3, 5, 1, 1, ServerState::Leading));
        assert!(leader_confirmed(&ballots, ServerId(3), 1, ServerId(4), 1));
        assert!(leader_confirmed(&ballots, ServerId(4), 1, ServerId(4), 1), "I vouch for myself in my own round");
        assert!(!leader_confirmed(&ballots, ServerId(4), 1, ServerId(4), 2), "but not for a round I have left");
    }
}
