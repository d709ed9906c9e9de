//! Test-only ways to break the engine on purpose.
//!
//! The simulator must show that its checkers catch real protocol bugs, so each
//! switch here re-creates one classic ZAB mistake. Every switch is off by
//! default, and the runtime has no way to turn one on: only a host that builds
//! a `PeerConfig` itself (the simulator, a test) can.

use serde::{Deserialize, Serialize};

/// Which protocol rules the engine breaks; all off unless a test says otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sabotage {
    /// The leader commits a proposal once any one server acked it (its own
    /// durable ack is enough), instead of a quorum.
    pub commit_on_minority_ack: bool,
    /// ACKs go out when a proposal is logged, before the host reports it
    /// durable: the leader counts itself at once and followers answer at once.
    pub ack_before_durable: bool,
    /// acceptedEpoch and currentEpoch are never written (an empty write stands
    /// in for each), while the engine believes them durable.
    pub forget_epoch: bool,
    /// The leader answers a sync at once, from what it has applied, without
    /// the quorum round that confirms it still leads.
    pub sync_without_quorum: bool,
}

impl Sabotage {
    /// Whether any rule is broken.
    pub fn any(&self) -> bool {
        self.commit_on_minority_ack || self.ack_before_durable || self.forget_epoch || self.sync_without_quorum
    }
}
