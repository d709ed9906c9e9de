//! `Stat` as clients see it, and the node kinds behind `ephemeralOwner`.

use crate::zxid::{SessionId, Zxid};
use serde::{Deserialize, Serialize};

/// Largest TTL ZooKeeper accepts: the owner encoding leaves 40 bits for it.
pub const MAX_TTL_MS: i64 = 0xFF_FFFF_FFFF;

/// What a znode is, beyond its data: ZooKeeper folds this into `ephemeralOwner`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeKind {
    /// A plain node that lives until deleted.
    Persistent,
    /// Deleted when its owning session ends; cannot have children.
    Ephemeral {
        /// The session that created it.
        owner: SessionId,
    },
    /// Deleted by the cleanup scan once it had a child and has none left.
    Container,
    /// Deleted by the cleanup scan when childless and unmodified for the TTL.
    Ttl {
        /// Time to live after the last modification.
        ttl_ms: i64,
    },
}

impl NodeKind {
    /// `ephemeralOwner` as ZooKeeper stores it (`EphemeralType`).
    pub fn stored_ephemeral_owner(self) -> i64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral { owner } => owner.0,
            NodeKind::Container => i64::MIN,
            NodeKind::Ttl { ttl_ms } => (0xFFu64 << 56) as i64 | ttl_ms,
        }
    }

    /// `ephemeralOwner` as clients see it: containers and TTL nodes show 0.
    pub fn client_ephemeral_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral { owner } => owner.0,
            _ => 0,
        }
    }
}

/// The jute `Stat` record, field for field.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    /// Zxid of the create.
    pub czxid: Zxid,
    /// Zxid of the last setData (or the create).
    pub mzxid: Zxid,
    /// Creation time, ms since the epoch, from the leader's clock.
    pub ctime_ms: i64,
    /// Time of the last setData.
    pub mtime_ms: i64,
    /// Number of setData calls.
    pub version: i32,
    /// Number of child creations and deletions.
    pub cversion: i32,
    /// Number of setACL calls.
    pub aversion: i32,
    /// Owning session of an ephemeral, else 0.
    pub ephemeral_owner: i64,
    /// Bytes of data.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// Zxid of the last child creation or deletion.
    pub pzxid: Zxid,
}
