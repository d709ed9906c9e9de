//! Guarantee: a write a client saw acknowledged is never lost. Every acked
//! write's zxid was seen in a serving replica's committed history and is still
//! in every replica's committed history at the end (where that history still
//! reaches back to it), and every acknowledged unique create (a node no one
//! deletes) exists on every replica at the end, created at the zxid the client
//! was told.

use crate::client::{Observed, Op, Outcome};
use crate::world::World;
use ensemble::{ServerId, Zxid};
use std::collections::BTreeSet;

/// Judges the history against the final replicas.
pub fn check(w: &World) -> Vec<String> {
    let mut failures = Vec::new();
    // Per live replica: the zxids its committed history holds, and the first of them.
    let histories: Vec<(ServerId, BTreeSet<Zxid>)> =
        w.nodes.iter().filter_map(|(id, n)| n.peer.as_ref().map(|p| (*id, p.committed_history().map(|t| t.zxid).collect()))).collect();
    for (i, e) in w.history.entries.iter().enumerate() {
        let Outcome::Ok(zxid) = e.outcome else { continue };
        let is_write = e.op.is_write();
        if is_write && !w.checks.committed.contains_key(&zxid) {
            failures.push(format!("never-lost: op {i} of client {} ({:?}) acked at {zxid} but no replica ever committed that zxid", e.client, e.op));
        }
        if is_write && zxid > Zxid::ZERO {
            for (id, held) in &histories {
                let reaches_back = held.first().is_some_and(|first| *first <= zxid);
                if reaches_back && !held.contains(&zxid) {
                    failures.push(format!("never-lost: op {i} of client {} ({:?}) acked at {zxid} is missing from {id:?}'s committed history", e.client, e.op));
                }
            }
        }
        // A sequential create is unique too: the server named it, in the reply.
        let created = match (&e.op, &e.observed) {
            (Op::CreateSequential(_), Observed::Created { path, .. }) => Some(path),
            (Op::CreateUnique(path), _) => Some(path),
            _ => None,
        };
        if let Some(path) = created {
            for (id, node) in &w.nodes {
                let Some(peer) = &node.peer else { continue };
                match peer.tree().node(path) {
                    Some(n) if n.czxid == zxid => {}
                    other => failures.push(format!("never-lost: {path} acked at {zxid} is {:?} on {id:?}", other.map(|n| n.czxid))),
                }
            }
        }
        if failures.len() >= 8 {
            break;
        }
    }
    failures
}
