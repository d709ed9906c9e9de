//! Guarantee: a multi is all or nothing. A multi that checks a shared key's
//! version and creates a unique node (one no one deletes) either happened
//! whole, so its node exists on every replica at the end, created at the zxid
//! the client was told, or, when it failed with an error, did not happen at
//! all, so its node exists on no replica. A multi whose outcome is unknown
//! may have gone either way; the prefix checker keeps the replicas agreeing.

use crate::client::{History, Op, Outcome};
use ensemble::{DataTree, ServerId};

/// Judges every multi of the history against the final replicas' trees.
pub fn check(history: &History, replicas: &[(ServerId, &DataTree)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, e) in history.entries.iter().enumerate() {
        let Op::MultiCheckCreate { unique, .. } = &e.op else { continue };
        for (id, tree) in replicas {
            let node = tree.node(unique);
            let wrong = match (&e.outcome, node) {
                (Outcome::Ok(zxid), Some(n)) => (n.czxid != *zxid).then(|| format!("created at {}, not at {zxid}", n.czxid)),
                (Outcome::Ok(zxid), None) => Some(format!("acked at {zxid} but missing")),
                (Outcome::Error(code), Some(n)) => Some(format!("failed with {code:?} but its create happened at {}", n.czxid)),
                _ => None,
            };
            if let Some(why) = wrong {
                failures.push(format!("multi-atomic: op {i} of client {} ({:?}) on {id:?}: {why}", e.client, e.op));
            }
        }
        if failures.len() >= 8 {
            break;
        }
    }
    failures
}
