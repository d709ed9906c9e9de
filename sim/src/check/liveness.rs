//! Guarantee: after the last fault heals, a leader is elected within a bound
//! and every pending client request completes (the world runs the liveness
//! phase until `settled` holds and every client finished, or the bound passes).

use crate::world::World;
use ensemble::ServerId;
use std::collections::BTreeSet;

/// Every node is up and serving under one leader, and all applied the same zxid.
pub fn settled(w: &World) -> bool {
    let Some(leader) = w.leader() else { return false };
    let mut zxids = BTreeSet::new();
    for node in w.nodes.values() {
        let Some(peer) = &node.peer else { return false };
        if peer.serving_epoch().is_none() || peer.leader() != Some(leader) {
            return false;
        }
        zxids.insert(peer.tree().last_zxid());
    }
    zxids.len() == 1
}

/// Says what was still missing when the bound passed.
pub fn describe(w: &World) -> String {
    let roles: Vec<(ServerId, String)> = w
        .nodes
        .iter()
        .map(|(id, n)| (*id, n.peer.as_ref().map_or("down".into(), |p| format!("{:?} {:?} {}", p.role(), p.serving_epoch(), p.tree().last_zxid()))))
        .collect();
    let unfinished = w.clients.iter().filter(|c| !c.done()).count();
    format!("liveness: not settled {} ms after healing; roles {roles:?}; {unfinished} clients unfinished", w.config.liveness_bound_ms)
}
