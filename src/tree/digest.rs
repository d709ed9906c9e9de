//! The tree digest: a wrapping sum of per-node and per-session hashes, so that
//! each apply updates it in O(changed nodes) and replicas that applied the same
//! transactions hold equal digests. xxh3 with a fixed seed keeps it stable
//! across builds and machines.

use super::Znode;
use crate::zxid::SessionId;
use xxhash_rust::xxh3::Xxh3;

pub(super) fn node_hash(key: &str, node: &Znode) -> u64 {
    let mut h = Xxh3::new();
    h.update(&(key.len() as u64).to_le_bytes());
    h.update(key.as_bytes());
    h.update(&[node.data.is_null() as u8]);
    h.update(&(node.data.len() as u64).to_le_bytes());
    h.update(&node.data);
    h.update(&(node.acl.len() as u64).to_le_bytes());
    for a in node.acl.iter() {
        h.update(&a.perms.to_le_bytes());
        for s in [&a.id.scheme, &a.id.id] {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    }
    h.update(&node.kind.stored_ephemeral_owner().to_le_bytes());
    // The kind's tag separates a TTL node from an ephemeral whose owner id happens to match.
    let tag: u8 = match node.kind {
        super::NodeKind::Persistent => 0,
        super::NodeKind::Ephemeral { .. } => 1,
        super::NodeKind::Container => 2,
        super::NodeKind::Ttl { .. } => 3,
    };
    h.update(&[tag]);
    for z in [node.czxid, node.mzxid, node.pzxid] {
        h.update(&z.to_u64().to_le_bytes());
    }
    for t in [node.ctime_ms, node.mtime_ms] {
        h.update(&t.to_le_bytes());
    }
    for v in [node.version, node.cversion, node.aversion, node.num_children] {
        h.update(&v.to_le_bytes());
    }
    h.digest()
}

pub(super) fn session_hash(session: SessionId, timeout_ms: i32) -> u64 {
    let mut h = Xxh3::new();
    h.update(b"session");
    h.update(&session.0.to_le_bytes());
    h.update(&timeout_ms.to_le_bytes());
    h.digest()
}
