//! ensemble: a ZooKeeper-compatible coordination service around a pure,
//! deterministic engine.
//!
//! The engine reads no clock, file, socket or global random source: time and
//! requests come in as arguments, effects go out as values. This release holds
//! the replicated state machine's foundation: the znode tree, transactions,
//! the prep/apply split that keeps replicas identical, ACLs and snapshots.
//!
//! A write is prepared once (all checks, at the leader) and applied on every
//! replica (deterministic, infallible):
//!
//! ```
//! use ensemble::{acl, prep, CreateMode, DataTree, OpResult, PrepConfig, PrepContext, SessionId, WriteOp, Zxid};
//!
//! let mut leader = DataTree::new();
//! let mut follower = DataTree::new();
//! let config = PrepConfig::default();
//! let ctx = PrepContext { zxid: Zxid::new(1, 1), session: SessionId(7), cxid: 1, time_ms: 1_000, auth: &[], config: &config };
//! let op = WriteOp::Create { path: "/app".into(), data: b"v1".as_slice().into(), acl: acl::open_acl_unsafe(), mode: CreateMode::Persistent, ttl_ms: None };
//! let txn = prep(&leader, &ctx, &op);
//! let applied = leader.apply(&txn);
//! follower.apply(&txn);
//! assert!(matches!(applied.result, OpResult::Created { .. }));
//! assert_eq!(leader.digest(), follower.digest());
//! ```
#![warn(missing_docs)]

pub mod acl;
pub mod election;
pub mod error;
pub mod peer;
pub mod prep;
pub mod proto;
pub mod read;
pub mod request;
pub mod session;
pub mod tree;
pub mod txn;
pub mod watch;
pub mod zab;
pub mod zxid;

#[cfg(feature = "runtime")]
pub mod runtime;

pub use error::ErrorCode;
pub use prep::{prep, PrepConfig, PrepContext};
pub use read::read;
pub use request::{CreateMode, ReadOp, ReadResult, WriteOp};
pub use tree::{Applied, DataTree, NodeKind, Stat, TreeChange, Znode};
pub use txn::{OpResult, Txn, TxnOp};
pub use zxid::{ConnId, Epoch, ServerId, SessionId, Zxid};
