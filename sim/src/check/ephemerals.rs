//! Guarantee: ephemerals live exactly as long as their session. At the end
//! of a run, on every replica:
//! - every ephemeral znode's owner is a session that replica's tree holds as live;
//! - a session whose close a client saw acknowledged is gone and owns nothing;
//! - an acknowledged ephemeral create of a session still live there exists,
//!   owned by that session and created at the zxid the client was told.
//!
//! A session a server refused on reconnect (expired, as far as its client
//! knows) is not required to be gone: its closeSession may have been lost
//! with a crashed leader, and then the next leader expires it again later.
//! While it is live its ephemerals may stay; once gone, the first rule holds.

use crate::client::{History, Observed, Op, Outcome};
use crate::world::World;
use ensemble::{DataTree, NodeKind, ServerId};

/// Failures reported per run at most.
const FAILURES_MAX: usize = 8;

/// Judges the final replicas of a settled world.
pub fn check_world(w: &World) -> Vec<String> {
    let replicas: Vec<(ServerId, &DataTree)> = w.nodes.iter().filter_map(|(id, n)| n.peer.as_ref().map(|p| (*id, p.tree()))).collect();
    check(&w.history, &replicas)
}

/// Judges the history against the final tree of each replica.
pub fn check(history: &History, replicas: &[(ServerId, &DataTree)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (id, tree) in replicas {
        for (path, kind) in walk(tree) {
            if let NodeKind::Ephemeral { owner } = kind {
                if !tree.sessions().contains_key(&owner) {
                    failures.push(format!("ephemerals: {path} on {id:?} belongs to session {owner:?}, which is not live there"));
                }
            }
        }
        for (i, e) in history.entries.iter().enumerate() {
            match (&e.op, &e.outcome, &e.observed) {
                (Op::CloseSession, Outcome::Ok(zxid), _) => {
                    let left = tree.ephemerals(e.session);
                    if tree.sessions().contains_key(&e.session) || !left.is_empty() {
                        failures.push(format!("ephemerals: session {:?} closed at {zxid} (op {i}, client {}) is still live on {id:?}, owning {left:?}", e.session, e.client));
                    }
                }
                (Op::CreateEphemeral(..), Outcome::Ok(zxid), Observed::Created { path, .. }) if tree.sessions().contains_key(&e.session) => {
                    let node = tree.node(path);
                    if !node.is_some_and(|n| n.kind == NodeKind::Ephemeral { owner: e.session } && n.czxid == *zxid) {
                        failures.push(format!(
                            "ephemerals: {path} created at {zxid} by live session {:?} (op {i}, client {}) is {:?} on {id:?}",
                            e.session,
                            e.client,
                            node.map(|n| (n.kind, n.czxid))
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    failures.truncate(FAILURES_MAX);
    failures
}

/// Every znode of the tree with its kind, depth first.
fn walk(tree: &DataTree) -> Vec<(String, NodeKind)> {
    let mut nodes = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(path) = stack.pop() {
        for name in tree.children(&path) {
            let child = if path == "/" { format!("/{name}") } else { format!("{path}/{name}") };
            if let Some(node) = tree.node(&child) {
                nodes.push((child.clone(), node.kind));
            }
            stack.push(child);
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensemble::{Txn, TxnOp, Zxid};

    // The walk finds nested nodes under the root, so no ephemeral can hide from the checker.
    #[test]
    fn walk_finds_every_node() {
        let mut tree = DataTree::new();
        for (i, path) in ["/a", "/a/b", "/c"].iter().enumerate() {
            let op = TxnOp::Create { path: path.to_string(), data: b"x".into(), acl: ensemble::acl::open_acl_unsafe(), kind: NodeKind::Persistent, parent_cversion: 1 };
            tree.apply(&Txn { zxid: Zxid::from_i64(i as i64 + 1), session: ensemble::SessionId(0), cxid: 0, time_ms: 0, op });
        }
        let paths: Vec<String> = walk(&tree).into_iter().map(|(p, _)| p).collect();
        for p in ["/a", "/a/b", "/c", "/zookeeper"] {
            assert!(paths.iter().any(|q| q == p), "{p} missing from {paths:?}");
        }
    }
}
