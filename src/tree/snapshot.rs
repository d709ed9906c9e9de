//! Serializing the tree (serde + bincode). The image stores each distinct ACL
//! list once and the digest; loading rebuilds the indexes, recomputes the
//! digest and refuses an image whose digest or structure does not add up.

use super::{path, AclList, DataTree, NodeKind, Znode};
use crate::acl::Acl;
use crate::zxid::{SessionId, Zxid};
use im::{OrdMap, OrdSet};
use serde::de::Error as _;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

const FORMAT_VERSION: u32 = 1;

/// Why a snapshot image could not be loaded.
#[derive(Debug)]
pub enum SnapshotError {
    /// The bytes are not a snapshot image.
    Decode(bincode::Error),
    /// The image decodes but is inconsistent: corrupted or from a buggy writer.
    Corrupt(String),
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Decode(e) => write!(f, "snapshot does not decode: {e}"),
            SnapshotError::Corrupt(why) => write!(f, "snapshot is corrupt: {why}"),
        }
    }
}

impl std::error::Error for SnapshotError {}

impl DataTree {
    /// Serializes the tree with bincode. Call it on a clone to keep serving.
    pub fn to_snapshot_bytes(&self) -> Vec<u8> {
        bincode::serialize(self).expect("serializing to memory cannot fail")
    }

    /// Loads a tree from `to_snapshot_bytes` output, verifying it.
    pub fn from_snapshot_bytes(bytes: &[u8]) -> Result<DataTree, SnapshotError> {
        let image: Image = bincode::deserialize(bytes).map_err(SnapshotError::Decode)?;
        DataTree::from_image(image).map_err(SnapshotError::Corrupt)
    }

    fn from_image(image: Image) -> Result<DataTree, String> {
        if image.format != FORMAT_VERSION {
            return Err(format!("unknown format version {}", image.format));
        }
        let mut tree = DataTree {
            nodes: OrdMap::new(),
            ephemerals: OrdSet::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: OrdMap::new(),
            acl_cache: OrdMap::new(),
            last_zxid: image.last_zxid,
            digest: 0,
        };
        let acls: Vec<AclList> = image.acls.iter().map(|a| tree.intern_acl(a)).collect();
        let mut nodes = Vec::with_capacity(image.nodes.len());
        let mut last_key: Option<String> = None;
        for n in image.nodes {
            if last_key.as_ref().is_some_and(|k| *k >= n.key) {
                return Err(format!("node keys out of order at {:?}", path::key_path(&n.key)));
            }
            let acl = acls.get(n.acl as usize).ok_or_else(|| format!("node {:?} names ACL {} of {}", path::key_path(&n.key), n.acl, acls.len()))?;
            // Only indexed kinds need the path spelled out.
            match n.kind {
                NodeKind::Ephemeral { owner } => {
                    tree.ephemerals.insert((owner, path::key_path(&n.key)));
                }
                NodeKind::Container => {
                    tree.containers.insert(path::key_path(&n.key));
                }
                NodeKind::Ttl { .. } => {
                    tree.ttls.insert(path::key_path(&n.key));
                }
                NodeKind::Persistent => {}
            }
            let node = Znode {
                data: n.data,
                acl: acl.clone(),
                kind: n.kind,
                czxid: n.czxid,
                mzxid: n.mzxid,
                pzxid: n.pzxid,
                ctime_ms: n.ctime_ms,
                mtime_ms: n.mtime_ms,
                version: n.version,
                cversion: n.cversion,
                aversion: n.aversion,
                num_children: n.num_children,
            };
            tree.digest = tree.digest.wrapping_add(super::digest::node_hash(&n.key, &node));
            last_key = Some(n.key.clone());
            nodes.push((n.key, node));
        }
        // im builds the map by inserting one entry at a time; most of the load time goes here.
        tree.nodes = nodes.into_iter().collect();
        for (session, timeout) in image.sessions {
            tree.sessions.insert(session, timeout);
            tree.digest = tree.digest.wrapping_add(super::digest::session_hash(session, timeout));
        }
        if tree.digest != image.digest {
            return Err(format!("digest {:016x} recorded, {:016x} computed", image.digest, tree.digest));
        }
        if !tree.nodes.contains_key("") {
            return Err("no root node".into());
        }
        let mut counted: BTreeMap<&str, i32> = BTreeMap::new();
        for key in tree.nodes.keys() {
            if let Some((parent, _)) = key.split_once('\0') {
                *counted.entry(parent).or_default() += 1;
            }
        }
        for (key, node) in tree.nodes.iter() {
            let p = path::key_path(key);
            let n = counted.remove(p.as_str()).unwrap_or(0);
            if n != node.num_children {
                return Err(format!("{p} records {} children, holds {n}", node.num_children));
            }
        }
        if let Some((orphan_parent, _)) = counted.into_iter().next() {
            return Err(format!("children of missing node {orphan_parent}"));
        }
        Ok(tree)
    }
}

#[derive(Deserialize)]
struct Image {
    format: u32,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(SessionId, i32)>,
    acls: Vec<Vec<Acl>>,
    nodes: Vec<NodeImage>,
}

#[derive(Serialize, Deserialize)]
struct NodeImage<K = String, D = super::Data> {
    key: K,
    data: D,
    acl: u32,
    kind: NodeKind,
    czxid: Zxid,
    mzxid: Zxid,
    pzxid: Zxid,
    ctime_ms: i64,
    mtime_ms: i64,
    version: i32,
    cversion: i32,
    aversion: i32,
    num_children: i32,
}

#[derive(Serialize)]
struct ImageRef<'a> {
    format: u32,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(SessionId, i32)>,
    acls: Vec<&'a [Acl]>,
    nodes: NodesRef<'a>,
}

struct NodesRef<'a> {
    tree: &'a DataTree,
    acl_index: BTreeMap<&'a [Acl], u32>,
}

impl Serialize for NodesRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.tree.nodes.len()))?;
        for (key, n) in self.tree.nodes.iter() {
            seq.serialize_element(&NodeImage {
                key: key.as_str(),
                data: &n.data,
                acl: self.acl_index[&*n.acl],
                kind: n.kind,
                czxid: n.czxid,
                mzxid: n.mzxid,
                pzxid: n.pzxid,
                ctime_ms: n.ctime_ms,
                mtime_ms: n.mtime_ms,
                version: n.version,
                cversion: n.cversion,
                aversion: n.aversion,
                num_children: n.num_children,
            })?;
        }
        seq.end()
    }
}

impl Serialize for DataTree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Number the ACL lists in use by first appearance in key order: deterministic.
        let mut acl_index: BTreeMap<&[Acl], u32> = BTreeMap::new();
        let mut acls: Vec<&[Acl]> = Vec::new();
        for n in self.nodes.values() {
            let next = acls.len() as u32;
            acl_index.entry(&n.acl).or_insert_with(|| {
                acls.push(&n.acl);
                next
            });
        }
        ImageRef {
            format: FORMAT_VERSION,
            last_zxid: self.last_zxid,
            digest: self.digest,
            sessions: self.sessions.iter().map(|(k, v)| (*k, *v)).collect(),
            acls,
            nodes: NodesRef { tree: self, acl_index },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for DataTree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DataTree, D::Error> {
        let image = Image::deserialize(d)?;
        DataTree::from_image(image).map_err(D::Error::custom)
    }
}
