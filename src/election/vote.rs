//! Votes and notifications: what FastLeaderElection peers tell each other.

use crate::zxid::{Epoch, ServerId, Zxid};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A proposal for who should lead: ZooKeeper's (proposedLeader, proposedZxid, proposedEpoch).
///
/// Votes are ordered as ZooKeeper's `totalOrderPredicate` ranks them: by
/// `epoch`, then `zxid`, then `leader`. The epoch comes first because a
/// server that accepted a newer leader's NEWLEADER may hold no transaction of
/// that epoch yet, and must still outrank one with a longer log from an older
/// epoch; the zxid comes next so that no committed transaction is lost; the
/// myid only breaks ties so that every server ranks votes the same way.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The proposed leader's myid.
    pub leader: ServerId,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The proposed leader's current epoch (ZooKeeper's peerEpoch).
    pub epoch: Epoch,
}

impl Vote {
    /// A vote for `leader`, which holds the log up to `zxid` in `epoch`.
    pub const fn new(leader: ServerId, zxid: Zxid, epoch: Epoch) -> Vote {
        Vote { leader, zxid, epoch }
    }
}

impl Ord for Vote {
    fn cmp(&self, other: &Vote) -> Ordering {
        // Every field takes part, so `Equal` coincides with the derived `Eq`.
        (self.epoch, self.zxid, self.leader).cmp(&(other.epoch, other.zxid, other.leader))
    }
}

impl PartialOrd for Vote {
    fn partial_cmp(&self, other: &Vote) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A server's role, as ZooKeeper's `QuorumPeer.ServerState` names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServerState {
    /// Electing: the server has no leader.
    Looking,
    /// A voter that follows the elected leader.
    Following,
    /// The elected leader.
    Leading,
    /// A non-voting learner that follows the elected leader.
    Observing,
}

/// One election message: ZooKeeper's `FastLeaderElection.Notification`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The sender's proposal while looking, or the leader it settled on.
    pub vote: Vote,
    /// The sender's logical clock (ZooKeeper's electionEpoch).
    pub election_round: u64,
    /// The sender's role when it sent this.
    pub state: ServerState,
    /// The sender's myid.
    pub sender: ServerId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vote(leader: u64, zxid: u64, epoch: u32) -> Vote {
        Vote::new(ServerId(leader), Zxid::from_u64(zxid), Epoch(epoch))
    }

    // The epoch outranks the zxid, the zxid outranks the myid, and the myid breaks ties.
    #[test]
    fn votes_rank_by_epoch_then_zxid_then_myid() {
        assert!(vote(1, 0x1_0000_0000, 2) > vote(9, 0x1_0000_0009, 1), "a newer epoch wins over a longer log");
        assert!(vote(1, 0x1_0000_0009, 1) > vote(9, 0x1_0000_0001, 1), "a longer log wins over a larger myid");
        assert!(vote(2, 7, 1) > vote(1, 7, 1), "the larger myid breaks a tie");
        let mut votes = vec![vote(3, 5, 1), vote(1, 9, 1), vote(2, 5, 1), vote(1, 1, 2)];
        votes.sort();
        assert_eq!(votes, vec![vote(2, 5, 1), vote(3, 5, 1), vote(1, 9, 1), vote(1, 1, 2)]);
    }

    proptest! {
        // The order is total and agrees with equality, as sorting and BTreeMap keys need.
        #[test]
        fn order_is_total_and_agrees_with_eq(a: (u64, u64, u32), b: (u64, u64, u32)) {
            let (va, vb) = (vote(a.0, a.1, a.2), vote(b.0, b.1, b.2));
            prop_assert_eq!(va.cmp(&vb) == Ordering::Equal, va == vb);
            prop_assert_eq!(va.cmp(&vb), vb.cmp(&va).reverse());
            prop_assert_eq!(va.cmp(&vb), (a.2, a.1, a.0).cmp(&(b.2, b.1, b.0)));
        }
    }

    // A notification survives the bincode encoding quorum links use.
    #[test]
    fn notification_round_trips_through_bincode() {
        let n = Notification { vote: vote(3, 0x2_0000_0004, 2), election_round: 7, state: ServerState::Following, sender: ServerId(5) };
        let bytes = bincode::serialize(&n).expect("encodes");
        assert_eq!(bincode::deserialize::<Notification>(&bytes).expect("decodes"), n);
    }
}
