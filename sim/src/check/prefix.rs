//! Guarantee: committed txns form one common prefix on all replicas (never
//! two different txns at one zxid), and replicas at equal zxids hold equal
//! trees (equal digests). Sampled while nodes serve, and checked once more
//! at the end when everything converged.

use super::Checks;
use crate::world::World;
use ensemble::peer::Peer;
use ensemble::{DataTree, ServerId, Zxid};
use std::collections::BTreeSet;

/// Samples a node's committed history and digest while it serves.
pub fn observe(checks: &mut Checks, id: ServerId, peer: &Peer, now: u64) {
    // A node that is not serving may hold logged but uncommitted txns in memory; only a synced node speaks for the committed history.
    if peer.serving_epoch().is_none() {
        checks.sampled.remove(&id);
        return;
    }
    let last = peer.tree().last_zxid();
    let sampled = checks.sampled.get(&id).copied().unwrap_or(Zxid::ZERO);
    if last <= sampled && checks.sampled.contains_key(&id) {
        return;
    }
    let mut fresh: Vec<(Zxid, u64)> = Vec::new();
    for txn in peer.committed_history().collect::<Vec<_>>().into_iter().rev() {
        if txn.zxid <= sampled && checks.sampled.contains_key(&id) {
            break;
        }
        fresh.push((txn.zxid, xxhash_rust::xxh3::xxh3_64(&txn.encode())));
    }
    for (zxid, hash) in fresh {
        match checks.committed.get(&zxid) {
            Some((other, who)) if *other != hash => {
                let who = *who;
                checks.fail(format!("prefix: at {now}ms {id:?} committed a different txn at {zxid} than {who:?}"));
            }
            Some(_) => {}
            None => {
                checks.committed.insert(zxid, (hash, id));
            }
        }
    }
    let digest = peer.tree().digest();
    match checks.digests.get(&last) {
        Some((other, who, tree)) if *other != digest => {
            let (who, why) = (*who, first_difference(tree, peer.tree()));
            checks.fail(format!("digest: at {now}ms {id:?} has digest {digest:016x} at {last}, {who:?} had {other:016x}: {why}"));
        }
        Some(_) => {}
        None => {
            checks.digests.insert(last, (digest, id, peer.tree().clone()));
        }
    }
    checks.sampled.insert(id, last);
}

/// After convergence every replica holds the same zxid and the same tree.
pub fn final_agreement(w: &World) -> Vec<String> {
    let states: BTreeSet<(Zxid, u64)> = w.nodes.values().filter_map(|n| n.peer.as_ref()).map(|p| (p.tree().last_zxid(), p.tree().digest())).collect();
    if states.len() > 1 {
        vec![format!("prefix: replicas ended apart: {states:?}")]
    } else {
        Vec::new()
    }
}

/// Says where two trees differ: their sessions, or the first znode (depth first) that differs.
fn first_difference(a: &DataTree, b: &DataTree) -> String {
    if a.sessions() != b.sessions() {
        return format!("sessions {:?} vs {:?}", a.sessions(), b.sessions());
    }
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        let (x, y) = (a.node(&path), b.node(&path));
        if x != y {
            return format!("znode {path}: {x:?} vs {y:?}");
        }
        for child in a.children(&path).into_iter().chain(b.children(&path)) {
            let full = if path == "/" { format!("/{child}") } else { format!("{path}/{child}") };
            if !stack.contains(&full) {
                stack.push(full);
            }
        }
    }
    "no znode differs (the digest covers something else)".into()
}
