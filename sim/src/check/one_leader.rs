//! Guarantee: at most one leader is established per epoch (ZAB's primary
//! order rests on it: two leaders in one epoch could propose different txns
//! under the same zxid).

use super::Checks;
use ensemble::peer::{Peer, Role};
use ensemble::ServerId;

/// Notes a serving leader.
pub fn observe(checks: &mut Checks, id: ServerId, peer: &Peer) {
    if peer.role() == Role::Leading {
        if let Some(epoch) = peer.serving_epoch() {
            checks.leaders.entry(epoch).or_default().insert(id);
        }
    }
}

/// Every epoch had at most one leader.
pub fn check(checks: &Checks) -> Vec<String> {
    checks
        .leaders
        .iter()
        .filter(|(_, leaders)| leaders.len() > 1)
        .map(|(epoch, leaders)| format!("one-leader: epoch {epoch:?} had leaders {leaders:?}"))
        .collect()
}
