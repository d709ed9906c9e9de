//! Client requests as the engine sees them, decoded from the wire.

use crate::acl::Acl;
use crate::error::ErrorCode;
use crate::tree::{Data, Stat};

/// How a node is created (`CreateMode`), numbered by its wire flag.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CreateMode {
    /// Flag 0.
    Persistent,
    /// Flag 1.
    Ephemeral,
    /// Flag 2.
    PersistentSequential,
    /// Flag 3.
    EphemeralSequential,
    /// Flag 4.
    Container,
    /// Flag 5.
    PersistentWithTtl,
    /// Flag 6.
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// Every mode, in flag order.
    pub const ALL: [CreateMode; 7] = [
        CreateMode::Persistent,
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
        CreateMode::Container,
        CreateMode::PersistentWithTtl,
        CreateMode::PersistentSequentialWithTtl,
    ];

    /// The mode for a wire flag; unknown flags are BadArguments, as in `CreateMode.fromFlag`.
    pub fn from_flag(flag: i32) -> Result<CreateMode, ErrorCode> {
        usize::try_from(flag).ok().and_then(|i| CreateMode::ALL.get(i).copied()).ok_or(ErrorCode::BadArguments)
    }

    /// The wire flag.
    pub fn flag(self) -> i32 {
        CreateMode::ALL.iter().position(|m| *m == self).expect("listed") as i32
    }

    /// Gets a 10-digit suffix from the parent's cversion.
    pub fn is_sequential(self) -> bool {
        matches!(self, CreateMode::PersistentSequential | CreateMode::EphemeralSequential | CreateMode::PersistentSequentialWithTtl)
    }

    /// Owned by the session.
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    /// Has a TTL.
    pub fn is_ttl(self) -> bool {
        matches!(self, CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl)
    }

    /// A container.
    pub fn is_container(self) -> bool {
        self == CreateMode::Container
    }
}

/// A request that changes state: `prep` turns it into a `Txn`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    /// create, create2, createContainer, createTTL.
    Create {
        /// Requested path (before any sequential suffix).
        path: String,
        /// Initial data.
        data: Data,
        /// Requested ACL.
        acl: Vec<Acl>,
        /// Node mode.
        mode: CreateMode,
        /// TTL from a createTTL request; `None` for the other create opcodes.
        ttl_ms: Option<i64>,
    },
    /// delete.
    Delete {
        /// Node to delete.
        path: String,
        /// Expected version, −1 for any.
        version: i32,
    },
    /// setData.
    SetData {
        /// Node to change.
        path: String,
        /// New data.
        data: Data,
        /// Expected version, −1 for any.
        version: i32,
    },
    /// setACL.
    SetAcl {
        /// Node to change.
        path: String,
        /// New ACL.
        acl: Vec<Acl>,
        /// Expected aversion, −1 for any.
        version: i32,
    },
    /// check (inside multi).
    Check {
        /// Node to check.
        path: String,
        /// Expected version, −1 for any.
        version: i32,
    },
    /// multi: all or nothing.
    Multi(Vec<WriteOp>),
    /// The cleanup timer's delete of an empty container or expired TTL node.
    DeleteContainer {
        /// Node to delete.
        path: String,
    },
    /// Establish the requesting session.
    CreateSession {
        /// Negotiated timeout.
        timeout_ms: i32,
    },
    /// End the requesting session (close or expiry).
    CloseSession,
    /// A request refused before it reached the tree (an unknown create flag,
    /// an undecodable body): it still becomes an error txn and takes a zxid,
    /// as in ZooKeeper.
    Refused(ErrorCode),
}

/// A request that only reads: answered from the local tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOp {
    /// getData.
    GetData {
        /// Node to read.
        path: String,
    },
    /// exists.
    Exists {
        /// Node to stat.
        path: String,
    },
    /// getChildren and getChildren2 (the reply encoder drops the Stat for the former).
    GetChildren {
        /// Node to list.
        path: String,
    },
    /// getACL.
    GetAcl {
        /// Node to read.
        path: String,
    },
    /// getAllChildrenNumber.
    GetAllChildrenNumber {
        /// Subtree root.
        path: String,
    },
    /// getEphemerals of the requesting session.
    GetEphemerals {
        /// Only paths starting with this prefix; "/" for all.
        prefix: String,
    },
    /// multiRead: getData and getChildren ops, each answered on its own.
    MultiRead(Vec<ReadOp>),
}

/// The answer to a `ReadOp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadResult {
    /// Data and Stat.
    Data {
        /// The node's data.
        data: Data,
        /// The node's Stat.
        stat: Stat,
    },
    /// A Stat.
    Stat(Stat),
    /// Child names (sorted) and the parent's Stat.
    Children {
        /// Child names.
        children: Vec<String>,
        /// The parent's Stat.
        stat: Stat,
    },
    /// An ACL and Stat.
    Acl {
        /// The ACL, digests masked for callers without ADMIN.
        acl: Vec<Acl>,
        /// The node's Stat.
        stat: Stat,
    },
    /// A count.
    Count(i32),
    /// Paths.
    Paths(Vec<String>),
    /// Per-op results of a multiRead.
    Multi(Vec<Result<ReadResult, ErrorCode>>),
}
