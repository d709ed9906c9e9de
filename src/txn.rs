//! `Txn`: the replicated log entry, and the results applying one produces.

use crate::acl::Acl;
use crate::error::ErrorCode;
use crate::tree::{Data, NodeKind, Stat};
use crate::zxid::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

/// A transaction as it is proposed, logged and applied (ZooKeeper's TxnHeader + Txn record).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    /// Its position in the total order.
    pub zxid: Zxid,
    /// The session that asked for it.
    pub session: SessionId,
    /// The client's request number within the session.
    pub cxid: i32,
    /// The leader's clock when it was prepared, ms since the epoch; becomes ctime/mtime.
    pub time_ms: i64,
    /// What it does.
    pub op: TxnOp,
}

/// The effect of a transaction. Every value is absolute (a new version, a new
/// cversion), never a delta, so applying it twice is the same as once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnOp {
    /// A session was established with this negotiated timeout.
    CreateSession {
        /// Negotiated session timeout.
        timeout_ms: i32,
    },
    /// The session ended (closed or expired); its ephemerals go with it.
    CloseSession {
        /// The session's ephemerals at prep time, sorted.
        ephemerals: Vec<String>,
    },
    /// Create a node (sequential suffix already applied).
    Create {
        /// Full path of the new node.
        path: String,
        /// Initial data.
        data: Data,
        /// ACL after `auth` resolution.
        acl: Vec<Acl>,
        /// Persistent, ephemeral (with owner), container or TTL.
        kind: NodeKind,
        /// The parent's new (stored) cversion.
        parent_cversion: i32,
    },
    /// Delete a node.
    Delete {
        /// Path of the node.
        path: String,
    },
    /// Replace a node's data.
    SetData {
        /// Path of the node.
        path: String,
        /// New data.
        data: Data,
        /// The node's new version.
        version: i32,
    },
    /// Replace a node's ACL.
    SetAcl {
        /// Path of the node.
        path: String,
        /// New ACL.
        acl: Vec<Acl>,
        /// The node's new aversion.
        aversion: i32,
    },
    /// A version check inside a multi; no effect.
    Check {
        /// Path that was checked.
        path: String,
    },
    /// Several operations under one zxid, all applied or (as `Error`s) none.
    Multi(Vec<TxnOp>),
    /// A request that failed in prep; it still takes a zxid, as in ZooKeeper.
    Error(ErrorCode),
}

/// The result of applying one operation, from which the reply is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// The session exists.
    SessionCreated,
    /// The session is gone.
    SessionClosed,
    /// A node was created at `path`.
    Created {
        /// The actual path (with its sequential suffix).
        path: String,
        /// The new node's Stat.
        stat: Stat,
    },
    /// A node was deleted.
    Deleted,
    /// Data was set.
    DataSet {
        /// The node's Stat afterwards.
        stat: Stat,
    },
    /// The ACL was set.
    AclSet {
        /// The node's Stat afterwards.
        stat: Stat,
    },
    /// A version check passed.
    Checked,
    /// Per-operation results of a multi; a failed multi holds only `Error`s.
    Multi(Vec<OpResult>),
    /// The operation failed with this code (`Ok` for multi ops before the failing one).
    Error(ErrorCode),
}

impl Txn {
    /// Encodes the transaction with bincode.
    pub fn encode(&self) -> Vec<u8> {
        bincode::serialize(self).expect("serializing to memory cannot fail")
    }

    /// Decodes a transaction written by `encode`.
    pub fn decode(bytes: &[u8]) -> Result<Txn, bincode::Error> {
        bincode::deserialize(bytes)
    }
}
