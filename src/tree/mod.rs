//! The znode `DataTree` on `im` persistent maps: nodes, Stat bookkeeping,
//! applying transactions, the incremental digest and O(1) snapshots.

mod data;
mod digest;
pub mod path;
mod snapshot;
mod stat;

pub use data::Data;
pub use snapshot::SnapshotError;
pub use stat::{NodeKind, Stat, MAX_TTL_MS};

use crate::acl::{self, Acl};
use crate::error::ErrorCode;
use crate::txn::{OpResult, Txn, TxnOp};
use crate::zxid::{SessionId, Zxid};
use im::{OrdMap, OrdSet};
use std::ops::Bound;
use std::sync::Arc;

/// An ACL list, interned so that nodes with equal ACLs share one allocation.
pub type AclList = Arc<[Acl]>;

/// One znode. Its path is its key in the tree; its children are found by range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Znode {
    /// The node's data.
    pub data: Data,
    /// The node's ACL.
    pub acl: AclList,
    /// Persistent, ephemeral, container or TTL.
    pub kind: NodeKind,
    /// Zxid of the create.
    pub czxid: Zxid,
    /// Zxid of the last setData.
    pub mzxid: Zxid,
    /// Zxid of the last child creation or deletion.
    pub pzxid: Zxid,
    /// Creation time.
    pub ctime_ms: i64,
    /// Last setData time.
    pub mtime_ms: i64,
    /// Data version.
    pub version: i32,
    /// Child creations, as ZooKeeper stores it. Sequential suffixes come from
    /// it; clients see `2 * cversion - num_children` (creations plus deletions).
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Number of children.
    pub num_children: i32,
}

impl Znode {
    /// The Stat a client sees (`DataNode.copyStat`).
    pub fn stat(&self) -> Stat {
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime_ms: self.ctime_ms,
            mtime_ms: self.mtime_ms,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(self.num_children),
            aversion: self.aversion,
            ephemeral_owner: self.kind.client_ephemeral_owner(),
            data_length: self.data.len() as i32,
            num_children: self.num_children,
            pzxid: self.pzxid,
        }
    }
}

/// A change to the tree, reported by `apply` so that watches can fire.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TreeChange {
    /// A node was created.
    Created(String),
    /// A node was deleted.
    Deleted(String),
    /// A node's data was set.
    DataChanged(String),
    /// A child was created under or deleted from this node.
    ChildrenChanged(String),
}

/// What applying a transaction produced: the result for the client and the changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The result to reply with.
    pub result: OpResult,
    /// Changes in the order they happened.
    pub changes: Vec<TreeChange>,
}

/// The replicated znode tree.
///
/// Every field is an `im` persistent structure, so `clone()` is O(1) and a
/// clone is a consistent snapshot that can be serialized while the original
/// keeps applying transactions.
#[derive(Clone)]
pub struct DataTree {
    nodes: OrdMap<String, Znode>,
    ephemerals: OrdSet<(SessionId, String)>,
    containers: OrdSet<String>,
    ttls: OrdSet<String>,
    sessions: OrdMap<SessionId, i32>,
    acl_cache: OrdMap<AclList, ()>,
    last_zxid: Zxid,
    digest: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree: "/", "/zookeeper", "/zookeeper/quota" and "/zookeeper/config",
    /// with the Stat values a fresh ZooKeeper 3.8 shows.
    pub fn new() -> DataTree {
        let mut tree = DataTree {
            nodes: OrdMap::new(),
            ephemerals: OrdSet::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
            sessions: OrdMap::new(),
            acl_cache: OrdMap::new(),
            last_zxid: Zxid::ZERO,
            digest: 0,
        };
        let open = tree.intern_acl(&acl::open_acl_unsafe());
        let read_only = tree.intern_acl(&acl::read_acl_unsafe());
        let system = |acl: &AclList, num_children: i32, aversion: i32| Znode {
            data: Data::from(&b""[..]),
            acl: acl.clone(),
            kind: NodeKind::Persistent,
            czxid: Zxid::ZERO,
            mzxid: Zxid::ZERO,
            pzxid: Zxid::ZERO,
            ctime_ms: 0,
            mtime_ms: 0,
            version: 0,
            cversion: 0,
            aversion,
            num_children,
        };
        // These children are added directly, as ZooKeeper does, so they do not
        // count in the parents' cversion (a fresh "/zookeeper" shows cversion -2).
        tree.put(String::new(), system(&open, 1, 0));
        tree.put(path::node_key("/zookeeper").unwrap(), system(&open, 2, 0));
        tree.put(path::node_key("/zookeeper/quota").unwrap(), system(&open, 0, 0));
        tree.put(path::node_key("/zookeeper/config").unwrap(), system(&read_only, 0, -1));
        tree
    }

    /// The node at `path`, if any. Malformed paths simply find nothing.
    pub fn node(&self, path: &str) -> Option<&Znode> {
        self.nodes.get(&path::node_key(path)?)
    }

    /// The client-visible Stat of the node at `path`.
    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.node(path).map(Znode::stat)
    }

    /// Names of the children of `path`, in byte order.
    pub fn children(&self, path: &str) -> Vec<String> {
        let skip = path.len() + 1;
        self.children_entries(path).map(|(key, _)| key[skip..].to_string()).collect()
    }

    /// Number of descendants of `path` (`getAllChildrenNumber`).
    pub fn descendant_count(&self, path: &str) -> usize {
        if path == "/" {
            return self.nodes.len() - 1;
        }
        let mut count = 0;
        let mut stack = vec![path.to_string()];
        while let Some(p) = stack.pop() {
            for (key, _) in self.children_entries(&p) {
                count += 1;
                stack.push(path::key_path(key));
            }
        }
        count
    }

    /// Paths of the ephemerals `session` owns, sorted.
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        let lo = Bound::Included((session, String::new()));
        let hi = match session.0.checked_add(1) {
            Some(next) => Bound::Excluded((SessionId(next), String::new())),
            None => Bound::Unbounded,
        };
        self.ephemerals.range((lo, hi)).map(|(_, p)| p.clone()).collect()
    }

    /// Sessions the tree knows, with their negotiated timeouts.
    pub fn sessions(&self) -> &OrdMap<SessionId, i32> {
        &self.sessions
    }

    /// The highest zxid applied.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The digest of the whole tree, kept up to date by every apply.
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// Number of znodes, the root included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes of paths and data held, as ZooKeeper's `approximate_data_size` reports.
    pub fn approximate_data_size(&self) -> usize {
        self.nodes.iter().map(|(k, n)| k.len() + n.data.len()).sum()
    }

    /// Paths that the cleanup timer should delete at `now_ms`, sorted: containers
    /// that once had a child and have none, and childless TTL nodes unmodified
    /// for longer than their TTL (`ContainerManager.getCandidates`).
    pub fn cleanup_candidates(&self, now_ms: i64) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.containers.iter() {
            if let Some(n) = self.node(p) {
                if n.num_children == 0 && n.cversion > 0 {
                    out.push(p.clone());
                }
            }
        }
        for p in self.ttls.iter() {
            if let Some(n) = self.node(p) {
                if let NodeKind::Ttl { ttl_ms } = n.kind {
                    if n.num_children == 0 && ttl_ms != 0 && now_ms.saturating_sub(n.mtime_ms) > ttl_ms {
                        out.push(p.clone());
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Applies a committed transaction. Deterministic and infallible: every
    /// check that can fail was made by `prep`. Replaying a transaction whose
    /// effect the tree already holds changes nothing.
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let mut changes = Vec::new();
        let result = self.apply_op(txn.zxid, txn.session, txn.time_ms, &txn.op, &mut changes);
        self.last_zxid = self.last_zxid.max(txn.zxid);
        Applied { result, changes }
    }

    pub(crate) fn apply_op(&mut self, zxid: Zxid, session: SessionId, time_ms: i64, op: &TxnOp, changes: &mut Vec<TreeChange>) -> OpResult {
        match op {
            TxnOp::CreateSession { timeout_ms } => {
                if let Some(old) = self.sessions.insert(session, *timeout_ms) {
                    self.digest = self.digest.wrapping_sub(digest::session_hash(session, old));
                }
                self.digest = self.digest.wrapping_add(digest::session_hash(session, *timeout_ms));
                OpResult::SessionCreated
            }
            TxnOp::CloseSession { ephemerals } => {
                for p in ephemerals {
                    let _ = self.delete_node(p, zxid, changes);
                }
                if let Some(old) = self.sessions.remove(&session) {
                    self.digest = self.digest.wrapping_sub(digest::session_hash(session, old));
                }
                OpResult::SessionClosed
            }
            TxnOp::Create { path, data, acl, kind, parent_cversion } => {
                match self.create_node(path, data, acl, *kind, *parent_cversion, zxid, time_ms, changes) {
                    Ok(stat) => OpResult::Created { path: path.clone(), stat },
                    Err(e) => OpResult::Error(e),
                }
            }
            TxnOp::Delete { path } => match self.delete_node(path, zxid, changes) {
                Ok(()) => OpResult::Deleted,
                Err(e) => OpResult::Error(e),
            },
            TxnOp::SetData { path, data, version } => {
                let Some(key) = path::node_key(path) else { return OpResult::Error(ErrorCode::NoNode) };
                let updated = self.update(&key, |n| {
                    n.data = data.clone();
                    n.mtime_ms = time_ms;
                    n.mzxid = zxid;
                    n.version = *version;
                });
                match updated {
                    Some(stat) => {
                        changes.push(TreeChange::DataChanged(path.clone()));
                        OpResult::DataSet { stat }
                    }
                    None => OpResult::Error(ErrorCode::NoNode),
                }
            }
            TxnOp::SetAcl { path, acl, aversion } => {
                let Some(key) = path::node_key(path) else { return OpResult::Error(ErrorCode::NoNode) };
                let acl = self.intern_acl(acl);
                match self.update(&key, |n| {
                    n.acl = acl;
                    n.aversion = *aversion;
                }) {
                    Some(stat) => OpResult::AclSet { stat },
                    None => OpResult::Error(ErrorCode::NoNode),
                }
            }
            TxnOp::Check { .. } => OpResult::Checked,
            TxnOp::Multi(ops) => {
                OpResult::Multi(ops.iter().map(|op| self.apply_op(zxid, session, time_ms, op, changes)).collect())
            }
            TxnOp::Error(code) => OpResult::Error(*code),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        path: &str,
        data: &Data,
        acl: &[Acl],
        kind: NodeKind,
        parent_cversion: i32,
        zxid: Zxid,
        time_ms: i64,
        changes: &mut Vec<TreeChange>,
    ) -> Result<Stat, ErrorCode> {
        let (parent_path, _) = path::split(path).ok_or(ErrorCode::NodeExists)?;
        let parent_key = path::node_key(parent_path).ok_or(ErrorCode::NoNode)?;
        let key = path::node_key(path).ok_or(ErrorCode::NoNode)?;
        if !self.nodes.contains_key(&parent_key) {
            return Err(ErrorCode::NoNode);
        }
        if self.nodes.contains_key(&key) {
            return Err(ErrorCode::NodeExists);
        }
        self.update(&parent_key, |p| {
            p.num_children += 1;
            // Replays onto a snapshot that already saw later creates must not
            // move cversion or pzxid backwards.
            if parent_cversion > p.cversion {
                p.cversion = parent_cversion;
                p.pzxid = zxid;
            }
        });
        let node = Znode {
            data: data.clone(),
            acl: self.intern_acl(acl),
            kind,
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime_ms: time_ms,
            mtime_ms: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            num_children: 0,
        };
        let stat = node.stat();
        match kind {
            NodeKind::Ephemeral { owner } => {
                self.ephemerals.insert((owner, path.to_string()));
            }
            NodeKind::Container => {
                self.containers.insert(path.to_string());
            }
            NodeKind::Ttl { .. } => {
                self.ttls.insert(path.to_string());
            }
            NodeKind::Persistent => {}
        }
        self.put(key, node);
        changes.push(TreeChange::Created(path.to_string()));
        changes.push(TreeChange::ChildrenChanged(parent_path.to_string()));
        Ok(stat)
    }

    fn delete_node(&mut self, path: &str, zxid: Zxid, changes: &mut Vec<TreeChange>) -> Result<(), ErrorCode> {
        let (parent_path, _) = path::split(path).ok_or(ErrorCode::BadArguments)?;
        let parent_key = path::node_key(parent_path).ok_or(ErrorCode::NoNode)?;
        let key = path::node_key(path).ok_or(ErrorCode::NoNode)?;
        if !self.nodes.contains_key(&key) {
            return Err(ErrorCode::NoNode);
        }
        let node = self.take(&key).expect("checked above");
        self.update(&parent_key, |p| {
            p.num_children -= 1;
            p.pzxid = p.pzxid.max(zxid);
        });
        match node.kind {
            NodeKind::Ephemeral { owner } => {
                self.ephemerals.remove(&(owner, path.to_string()));
            }
            NodeKind::Container => {
                self.containers.remove(path);
            }
            NodeKind::Ttl { .. } => {
                self.ttls.remove(path);
            }
            NodeKind::Persistent => {}
        }
        changes.push(TreeChange::Deleted(path.to_string()));
        changes.push(TreeChange::ChildrenChanged(parent_path.to_string()));
        Ok(())
    }

    fn children_entries(&self, path: &str) -> impl Iterator<Item = (&String, &Znode)> {
        let (lo, hi) = path::children_range(path);
        self.nodes.range(lo..hi)
    }

    /// Returns the shared copy of an ACL list, adding it on first use.
    ///
    /// The cache only grows while the tree lives; a snapshot round-trip keeps
    /// only the lists still in use (ZooKeeper purges its cache the same way).
    fn intern_acl(&mut self, acl: &[Acl]) -> AclList {
        if let Some((shared, _)) = self.acl_cache.get_key_value(acl) {
            return shared.clone();
        }
        let shared: AclList = Arc::from(acl);
        self.acl_cache.insert(shared.clone(), ());
        shared
    }

    fn put(&mut self, key: String, node: Znode) {
        let added = digest::node_hash(&key, &node);
        if let Some(old) = self.nodes.get(&key) {
            self.digest = self.digest.wrapping_sub(digest::node_hash(&key, old));
        }
        self.digest = self.digest.wrapping_add(added);
        self.nodes.insert(key, node);
    }

    fn take(&mut self, key: &str) -> Option<Znode> {
        let node = self.nodes.remove(key)?;
        self.digest = self.digest.wrapping_sub(digest::node_hash(key, &node));
        Some(node)
    }

    /// Changes the node under `key` in place, keeping the digest; returns its new Stat.
    fn update(&mut self, key: &str, change: impl FnOnce(&mut Znode)) -> Option<Stat> {
        let node = self.nodes.get_mut(key)?;
        let before = digest::node_hash(key, node);
        change(node);
        let after = digest::node_hash(key, node);
        let stat = node.stat();
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        Some(stat)
    }

    /// Checks the tree's internal consistency: the incremental digest equals a
    /// full recomputation, child counts match, and the indexes match the nodes.
    ///
    /// # Panics
    /// On any violation: that is a bug in the engine.
    pub fn check_invariants(&self) {
        let mut digest = 0u64;
        let mut counted: std::collections::BTreeMap<&str, i32> = std::collections::BTreeMap::new();
        let mut ephemerals = 0;
        for (key, node) in self.nodes.iter() {
            digest = digest.wrapping_add(digest::node_hash(key, node));
            if let Some((parent, _)) = key.split_once('\0') {
                let parent_key = if parent == "/" { String::new() } else { path::node_key(parent).unwrap() };
                assert!(self.nodes.contains_key(&parent_key), "node {key:?} has no parent");
                *counted.entry(parent).or_default() += 1;
                let p = path::key_path(key);
                match node.kind {
                    NodeKind::Ephemeral { owner } => {
                        ephemerals += 1;
                        assert!(self.ephemerals.contains(&(owner, p)), "ephemeral {key:?} not indexed");
                    }
                    NodeKind::Container => assert!(self.containers.contains(&p)),
                    NodeKind::Ttl { .. } => assert!(self.ttls.contains(&p)),
                    NodeKind::Persistent => {}
                }
            }
        }
        for (session, timeout) in self.sessions.iter() {
            digest = digest.wrapping_add(digest::session_hash(*session, *timeout));
        }
        assert_eq!(digest, self.digest, "incremental digest drifted");
        assert_eq!(ephemerals, self.ephemerals.len(), "stale ephemeral index entries");
        for (key, node) in self.nodes.iter() {
            let p = path::key_path(key);
            let n = counted.get(p.as_str()).copied().unwrap_or(0);
            assert_eq!(node.num_children, n, "numChildren of {p}");
        }
    }
}

impl std::fmt::Debug for DataTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataTree")
            .field("nodes", &self.nodes.len())
            .field("last_zxid", &self.last_zxid)
            .field("digest", &format_args!("{:016x}", self.digest))
            .finish()
    }
}

impl PartialEq for DataTree {
    /// Trees are equal when their contents are; the ACL cache is an implementation detail.
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest
            && self.last_zxid == other.last_zxid
            && self.nodes == other.nodes
            && self.sessions == other.sessions
    }
}
