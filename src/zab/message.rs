//! `QuorumMessage`: what servers say to each other once an election is over,
//! in ZooKeeper's own vocabulary (`Leader.FOLLOWERINFO`, `Leader.DIFF`, ...),
//! and its bincode encoding for the length-prefixed frames of quorum links.
//!
//! The transport vouches for the sender, as it does for election
//! notifications, so no message names its sender.
//!
//! Where the wire form differs from the engine's types, and why:
//! - A transaction travels as `Txn` itself, but decodes through a mirror whose
//!   multi cannot nest. `prep` never nests a multi, and a nested one from the
//!   network would let a small frame recurse deep enough to overflow the
//!   stack; the mirror makes such a frame a `DecodeError` instead.
//! - A forwarded `WriteOp` has no serde form of its own, so it travels as a
//!   mirror. Inside a multi only what `prep` accepts there is kept; any other
//!   member becomes `Refused(BadArguments)`, which `prep` turns into exactly the
//!   transaction the original would have given.

use crate::acl::{Acl, Id};
use crate::error::ErrorCode;
use crate::request::{CreateMode, WriteOp};
use crate::tree::{Data, NodeKind};
use crate::txn::{Txn, TxnOp};
use crate::zxid::{Epoch, SessionId, Zxid};
use bincode::Options as _;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The first byte of every encoded message: a peer running another format is refused, not misread.
pub const FORMAT_VERSION: u8 = 1;

/// One message between a leader and a learner (follower or observer).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuorumMessage {
    /// Follower → leader, first: the epoch it last accepted and the last zxid it logged.
    FollowerInfo {
        /// The newest epoch the follower promised to follow (ZooKeeper's acceptedEpoch).
        accepted_epoch: Epoch,
        /// The last zxid in the follower's durable log.
        last_zxid: Zxid,
    },
    /// Observer → leader, first: as `FollowerInfo`, from a learner that never votes.
    ObserverInfo {
        /// The newest epoch the observer accepted.
        accepted_epoch: Epoch,
        /// The last zxid in the observer's durable log.
        last_zxid: Zxid,
    },
    /// Leader → learner: the epoch this leader proposes to lead.
    LeaderInfo {
        /// One more than the largest accepted epoch a quorum reported.
        new_epoch: Epoch,
    },
    /// Learner → leader: the new epoch is accepted (and durable); here is where I stand.
    AckEpoch {
        /// The epoch of the last leader the learner completed a sync with (ZooKeeper's currentEpoch).
        current_epoch: Epoch,
        /// The last zxid in the learner's durable log.
        last_zxid: Zxid,
        /// The zxid of the learner's newest snapshot: it cannot be TRUNCated below it.
        snapshot_zxid: Zxid,
    },
    /// Sync header: the learner's log is a prefix of the leader's; committed proposals follow.
    Diff {
        /// The leader's last committed zxid, which the learner reaches once the diff is applied.
        zxid: Zxid,
    },
    /// Sync header: cut the log back to `zxid`, dropping what the leader never committed; a diff may follow.
    Trunc {
        /// The last zxid the learner and the leader share.
        zxid: Zxid,
    },
    /// Sync header: replace everything with this tree image.
    Snap {
        /// `DataTree::to_snapshot_bytes` of the leader's committed tree.
        #[serde(with = "serde_bytes")]
        image: Vec<u8>,
        /// The image's last zxid: the leader's last committed zxid.
        zxid: Zxid,
    },
    /// Leader → follower: log this transaction (in sync it is followed by its `Commit`).
    Proposal {
        /// The transaction, zxid included.
        #[serde(with = "wire_txn")]
        txn: Txn,
    },
    /// Leader → follower: the proposal with this zxid is committed; apply it.
    Commit {
        /// The committed proposal.
        zxid: Zxid,
    },
    /// Leader → learner, at the end of the sync: make the history durable, adopt the epoch, then ack.
    NewLeader {
        /// `(new_epoch, 0)`, which names the epoch being established.
        zxid: Zxid,
    },
    /// Follower → leader: this proposal is durable in my log (or, for `(epoch, 0)`, NEWLEADER is).
    Ack {
        /// The proposal acknowledged; its epoch names the leader it was proposed by.
        zxid: Zxid,
    },
    /// Leader → learner: a quorum established the epoch; start serving clients.
    UpToDate,
    /// Leader → observer: a committed transaction, proposal and commit in one.
    Inform {
        /// The committed transaction.
        #[serde(with = "wire_txn")]
        txn: Txn,
    },
    /// Learner → leader heartbeat, carrying the sessions its clients touched since the last one.
    Ping {
        /// Each touched session with its negotiated timeout, so the leader, which decides expiry, keeps it alive.
        touched: Vec<(SessionId, i32)>,
    },
    /// Leader → learner: the answer to `Ping`, proving the leader alive within syncLimit.
    PingReply,
    /// Learner → leader: a client's write to prepare and propose (ZooKeeper's REQUEST).
    Request {
        /// The client's session.
        session: SessionId,
        /// The client's request number (xid) within the session.
        cxid: i32,
        /// The write itself.
        #[serde(with = "wire_write_op")]
        op: WriteOp,
        /// The ids the client authenticated as, against which the leader checks ACLs.
        auth: Vec<Id>,
    },
    /// Learner → leader: may this session move to me (a client reconnected here)?
    Revalidate {
        /// The session.
        session: SessionId,
        /// The timeout the client asked for.
        timeout_ms: i32,
    },
    /// Leader → learner: whether the session is still alive and now owned by the asker.
    RevalidateReply {
        /// The session.
        session: SessionId,
        /// False once the leader has expired or closed it.
        valid: bool,
    },
    /// Leader → voter: are you still following me in this epoch? (learner → leader: a client asked for sync).
    SyncRequest {
        /// The epoch of the leader the round confirms.
        epoch: Epoch,
        /// Tells rounds apart; echoed in the reply.
        id: u64,
    },
    /// The answer to `SyncRequest`: from a voter it confirms the leader of `epoch`; from the
    /// leader it tells the learner to answer its client once it has applied up to `zxid`.
    SyncReply {
        /// The epoch of the leader being confirmed.
        epoch: Epoch,
        /// The `id` of the request answered.
        id: u64,
        /// The sender's last committed zxid when it answered.
        zxid: Zxid,
    },
}

/// Why bytes are not a `QuorumMessage`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes at all.
    Empty,
    /// The format byte names an encoding this build does not speak.
    UnknownFormat(u8),
    /// The body does not decode: truncated, trailing bytes, an unknown variant, a nested multi, ...
    Malformed(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => write!(f, "empty quorum message"),
            DecodeError::UnknownFormat(v) => write!(f, "quorum message format {v}, expected {FORMAT_VERSION}"),
            DecodeError::Malformed(why) => write!(f, "malformed quorum message: {why}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Fixed-width integers and no trailing bytes: the encoding is canonical, so a
/// frame decodes to one message and that message encodes back to the frame.
fn options() -> impl bincode::Options {
    bincode::DefaultOptions::new().with_fixint_encoding().reject_trailing_bytes()
}

impl QuorumMessage {
    /// The frame body: the format byte, then the bincode encoding.
    ///
    /// # Panics
    /// On a transaction whose multi nests another multi: `prep` never makes one.
    pub fn encode(&self) -> Vec<u8> {
        if let QuorumMessage::Proposal { txn } | QuorumMessage::Inform { txn } = self {
            assert!(!wire_txn::nests_multi(&txn.op), "txn {} nests a multi, which the wire cannot carry", txn.zxid);
        }
        let mut out = vec![FORMAT_VERSION];
        options().serialize_into(&mut out, self).expect("serializing to memory cannot fail");
        out
    }

    /// Decodes a frame body written by `encode`; any other bytes give an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<QuorumMessage, DecodeError> {
        let (&format, body) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if format != FORMAT_VERSION {
            return Err(DecodeError::UnknownFormat(format));
        }
        options().deserialize(body).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    /// ZooKeeper's name for the message kind, for logs and traces.
    pub fn kind(&self) -> &'static str {
        match self {
            QuorumMessage::FollowerInfo { .. } => "FOLLOWERINFO",
            QuorumMessage::ObserverInfo { .. } => "OBSERVERINFO",
            QuorumMessage::LeaderInfo { .. } => "LEADERINFO",
            QuorumMessage::AckEpoch { .. } => "ACKEPOCH",
            QuorumMessage::Diff { .. } => "DIFF",
            QuorumMessage::Trunc { .. } => "TRUNC",
            QuorumMessage::Snap { .. } => "SNAP",
            QuorumMessage::Proposal { .. } => "PROPOSAL",
            QuorumMessage::Commit { .. } => "COMMIT",
            QuorumMessage::NewLeader { .. } => "NEWLEADER",
            QuorumMessage::Ack { .. } => "ACK",
            QuorumMessage::UpToDate => "UPTODATE",
            QuorumMessage::Inform { .. } => "INFORM",
            QuorumMessage::Ping { .. } => "PING",
            QuorumMessage::PingReply => "PINGREPLY",
            QuorumMessage::Request { .. } => "REQUEST",
            QuorumMessage::Revalidate { .. } => "REVALIDATE",
            QuorumMessage::RevalidateReply { .. } => "REVALIDATEREPLY",
            QuorumMessage::SyncRequest { .. } => "SYNCREQUEST",
            QuorumMessage::SyncReply { .. } => "SYNCREPLY",
        }
    }
}

/// `Txn` on the wire: written by its own `Serialize` (no copy), read through a
/// mirror of the same layout whose multi members cannot be multis.
mod wire_txn {
    use super::*;

    pub fn serialize<S: serde::Serializer>(txn: &Txn, s: S) -> Result<S::Ok, S::Error> {
        txn.serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Txn, D::Error> {
        let wire = WireTxn::deserialize(d)?;
        Ok(Txn { zxid: wire.zxid, session: wire.session, cxid: wire.cxid, time_ms: wire.time_ms, op: wire.op.into_op() })
    }

    /// Whether a multi holds a multi: the one shape the wire refuses.
    pub fn nests_multi(op: &TxnOp) -> bool {
        match op {
            TxnOp::Multi(ops) => ops.iter().any(|o| matches!(o, TxnOp::Multi(_))),
            _ => false,
        }
    }

    /// `Txn`, field for field and in the same order, so that bincode lays both out alike.
    #[derive(Serialize, Deserialize)]
    pub(super) struct WireTxn {
        pub zxid: Zxid,
        pub session: SessionId,
        pub cxid: i32,
        pub time_ms: i64,
        pub op: WireOp<WireLeaf>,
    }

    /// `TxnOp`, variant for variant and in the same order; `M` is what a multi holds.
    #[derive(Serialize, Deserialize)]
    pub(super) enum WireOp<M> {
        CreateSession { timeout_ms: i32 },
        CloseSession { ephemerals: Vec<String> },
        Create { path: String, data: Data, acl: Vec<Acl>, kind: NodeKind, parent_cversion: i32 },
        Delete { path: String },
        SetData { path: String, data: Data, version: i32 },
        SetAcl { path: String, acl: Vec<Acl>, aversion: i32 },
        Check { path: String },
        Multi(Vec<M>),
        Error(ErrorCode),
    }

    /// A multi member: `TxnOp` with a multi that can never decode.
    pub(super) type WireLeaf = WireOp<NoNesting>;

    /// Uninhabited: decoding one always fails, which is how a nested multi is refused.
    #[derive(Serialize, Deserialize)]
    pub(super) enum NoNesting {}

    /// Turns a mirrored op into the engine's type.
    pub(super) trait IntoOp {
        fn into_op(self) -> TxnOp;
    }

    impl IntoOp for NoNesting {
        fn into_op(self) -> TxnOp {
            match self {}
        }
    }

    impl<M: IntoOp> WireOp<M> {
        pub fn into_op(self) -> TxnOp {
            match self {
                WireOp::CreateSession { timeout_ms } => TxnOp::CreateSession { timeout_ms },
                WireOp::CloseSession { ephemerals } => TxnOp::CloseSession { ephemerals },
                WireOp::Create { path, data, acl, kind, parent_cversion } => TxnOp::Create { path, data, acl, kind, parent_cversion },
                WireOp::Delete { path } => TxnOp::Delete { path },
                WireOp::SetData { path, data, version } => TxnOp::SetData { path, data, version },
                WireOp::SetAcl { path, acl, aversion } => TxnOp::SetAcl { path, acl, aversion },
                WireOp::Check { path } => TxnOp::Check { path },
                WireOp::Multi(ops) => TxnOp::Multi(ops.into_iter().map(IntoOp::into_op).collect()),
                WireOp::Error(code) => TxnOp::Error(code),
            }
        }
    }

    impl IntoOp for WireOp<NoNesting> {
        fn into_op(self) -> TxnOp {
            WireOp::into_op(self)
        }
    }

    /// The mirror of `op`. Its patterns name every variant and field, so that a
    /// change to `TxnOp` fails to compile the tests rather than silently
    /// desynchronizing the layouts; the tests check both encode to the same bytes.
    #[cfg(test)]
    pub(super) fn mirror(op: &TxnOp) -> WireOp<WireOp<NoNesting>> {
        fn leaf(op: &TxnOp) -> WireOp<NoNesting> {
            match op {
                TxnOp::Multi(_) => panic!("nested multi"),
                other => match mirror(other) {
                    WireOp::CreateSession { timeout_ms } => WireOp::CreateSession { timeout_ms },
                    WireOp::CloseSession { ephemerals } => WireOp::CloseSession { ephemerals },
                    WireOp::Create { path, data, acl, kind, parent_cversion } => WireOp::Create { path, data, acl, kind, parent_cversion },
                    WireOp::Delete { path } => WireOp::Delete { path },
                    WireOp::SetData { path, data, version } => WireOp::SetData { path, data, version },
                    WireOp::SetAcl { path, acl, aversion } => WireOp::SetAcl { path, acl, aversion },
                    WireOp::Check { path } => WireOp::Check { path },
                    WireOp::Multi(_) => unreachable!("excluded above"),
                    WireOp::Error(code) => WireOp::Error(code),
                },
            }
        }
        match op {
            TxnOp::CreateSession { timeout_ms } => WireOp::CreateSession { timeout_ms: *timeout_ms },
            TxnOp::CloseSession { ephemerals } => WireOp::CloseSession { ephemerals: ephemerals.clone() },
            TxnOp::Create { path, data, acl, kind, parent_cversion } => {
                WireOp::Create { path: path.clone(), data: data.clone(), acl: acl.clone(), kind: *kind, parent_cversion: *parent_cversion }
            }
            TxnOp::Delete { path } => WireOp::Delete { path: path.clone() },
            TxnOp::SetData { path, data, version } => WireOp::SetData { path: path.clone(), data: data.clone(), version: *version },
            TxnOp::SetAcl { path, acl, aversion } => WireOp::SetAcl { path: path.clone(), acl: acl.clone(), aversion: *aversion },
            TxnOp::Check { path } => WireOp::Check { path: path.clone() },
            TxnOp::Multi(ops) => WireOp::Multi(ops.iter().map(leaf).collect()),
            TxnOp::Error(code) => WireOp::Error(*code),
        }
    }
}

/// `WriteOp` on the wire, through a mirror; multi members are flat (see the module docs).
mod wire_write_op {
    use super::*;

    pub fn serialize<S: serde::Serializer>(op: &WriteOp, s: S) -> Result<S::Ok, S::Error> {
        WireWrite::from_op(op).serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<WriteOp, D::Error> {
        WireWrite::deserialize(d)?.into_op().map_err(serde::de::Error::custom)
    }

    /// `WriteOp` with the create mode as its wire flag and data as bytes.
    #[derive(Serialize, Deserialize)]
    enum WireWrite {
        Create(WireCreate),
        Delete { path: String, version: i32 },
        SetData { path: String, data: Data, version: i32 },
        SetAcl { path: String, acl: Vec<Acl>, version: i32 },
        Check { path: String, version: i32 },
        Multi(Vec<WireMember>),
        DeleteContainer { path: String },
        CreateSession { timeout_ms: i32 },
        CloseSession,
        Refused(ErrorCode),
    }

    /// What `prep` accepts inside a multi; everything else arrives as `Refused(BadArguments)`.
    #[derive(Serialize, Deserialize)]
    enum WireMember {
        Create(WireCreate),
        Delete { path: String, version: i32 },
        SetData { path: String, data: Data, version: i32 },
        Check { path: String, version: i32 },
        Refused(ErrorCode),
    }

    #[derive(Serialize, Deserialize)]
    struct WireCreate {
        path: String,
        data: Data,
        acl: Vec<Acl>,
        mode_flag: i32,
        ttl_ms: Option<i64>,
    }

    impl WireCreate {
        fn into_op(self) -> Result<WriteOp, String> {
            let mode = CreateMode::from_flag(self.mode_flag).map_err(|_| format!("unknown create mode flag {}", self.mode_flag))?;
            Ok(WriteOp::Create { path: self.path, data: self.data, acl: self.acl, mode, ttl_ms: self.ttl_ms })
        }
    }

    impl WireWrite {
        fn from_op(op: &WriteOp) -> WireWrite {
            match op {
                WriteOp::Create { path, data, acl, mode, ttl_ms } => WireWrite::Create(WireCreate {
                    path: path.clone(),
                    data: data.clone(),
                    acl: acl.clone(),
                    mode_flag: mode.flag(),
                    ttl_ms: *ttl_ms,
                }),
                WriteOp::Delete { path, version } => WireWrite::Delete { path: path.clone(), version: *version },
                WriteOp::SetData { path, data, version } => WireWrite::SetData { path: path.clone(), data: data.clone(), version: *version },
                WriteOp::SetAcl { path, acl, version } => WireWrite::SetAcl { path: path.clone(), acl: acl.clone(), version: *version },
                WriteOp::Check { path, version } => WireWrite::Check { path: path.clone(), version: *version },
                WriteOp::Multi(ops) => WireWrite::Multi(ops.iter().map(WireMember::from_op).collect()),
                WriteOp::DeleteContainer { path } => WireWrite::DeleteContainer { path: path.clone() },
                WriteOp::CreateSession { timeout_ms } => WireWrite::CreateSession { timeout_ms: *timeout_ms },
                WriteOp::CloseSession => WireWrite::CloseSession,
                WriteOp::Refused(code) => WireWrite::Refused(*code),
            }
        }

        fn into_op(self) -> Result<WriteOp, String> {
            Ok(match self {
                WireWrite::Create(c) => c.into_op()?,
                WireWrite::Delete { path, version } => WriteOp::Delete { path, version },
                WireWrite::SetData { path, data, version } => WriteOp::SetData { path, data, version },
                WireWrite::SetAcl { path, acl, version } => WriteOp::SetAcl { path, acl, version },
                WireWrite::Check { path, version } => WriteOp::Check { path, version },
                WireWrite::Multi(ops) => WriteOp::Multi(ops.into_iter().map(WireMember::into_op).collect::<Result<_, _>>()?),
                WireWrite::DeleteContainer { path } => WriteOp::DeleteContainer { path },
                WireWrite::CreateSession { timeout_ms } => WriteOp::CreateSession { timeout_ms },
                WireWrite::CloseSession => WriteOp::CloseSession,
                WireWrite::Refused(code) => WriteOp::Refused(code),
            })
        }
    }

    impl WireMember {
        fn from_op(op: &WriteOp) -> WireMember {
            match WireWrite::from_op(op) {
                WireWrite::Create(c) => WireMember::Create(c),
                WireWrite::Delete { path, version } => WireMember::Delete { path, version },
                WireWrite::SetData { path, data, version } => WireMember::SetData { path, data, version },
                WireWrite::Check { path, version } => WireMember::Check { path, version },
                WireWrite::Refused(code) => WireMember::Refused(code),
                // prep refuses these inside a multi with BadArguments, exactly as it refuses `Refused(BadArguments)`.
                WireWrite::SetAcl { .. }
                | WireWrite::Multi(_)
                | WireWrite::DeleteContainer { .. }
                | WireWrite::CreateSession { .. }
                | WireWrite::CloseSession => WireMember::Refused(ErrorCode::BadArguments),
            }
        }

        fn into_op(self) -> Result<WriteOp, String> {
            Ok(match self {
                WireMember::Create(c) => c.into_op()?,
                WireMember::Delete { path, version } => WriteOp::Delete { path, version },
                WireMember::SetData { path, data, version } => WriteOp::SetData { path, data, version },
                WireMember::Check { path, version } => WriteOp::Check { path, version },
                WireMember::Refused(code) => WriteOp::Refused(code),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{self, perms};
    use crate::prep::{prep, PrepConfig, PrepContext};
    use crate::tree::DataTree;
    use proptest::prelude::*;

    fn txn(counter: u32, op: TxnOp) -> Txn {
        Txn { zxid: Zxid::new(3, counter), session: SessionId(0x1234), cxid: 7, time_ms: 1_700_000_000_000, op }
    }

    /// One transaction of every kind, a multi included.
    fn every_txn_op() -> Vec<TxnOp> {
        let create = TxnOp::Create {
            path: "/a".into(),
            data: b"hello".as_slice().into(),
            acl: acl::open_acl_unsafe(),
            kind: NodeKind::Ephemeral { owner: SessionId(9) },
            parent_cversion: 4,
        };
        vec![
            TxnOp::CreateSession { timeout_ms: 30_000 },
            TxnOp::CloseSession { ephemerals: vec!["/a".into(), "/b".into()] },
            create.clone(),
            TxnOp::Delete { path: "/a".into() },
            TxnOp::SetData { path: "/a".into(), data: b"x".as_slice().into(), version: 3 },
            TxnOp::SetAcl { path: "/a".into(), acl: vec![acl::Acl::new(perms::READ, "digest", "u:h")], aversion: 2 },
            TxnOp::SetData { path: "/null".into(), data: Data::NULL, version: 1 },
            TxnOp::Check { path: "/a".into() },
            TxnOp::Multi(vec![create, TxnOp::Check { path: "/a".into() }, TxnOp::Error(ErrorCode::Ok)]),
            TxnOp::Error(ErrorCode::NodeExists),
        ]
    }

    /// One message of every kind.
    fn every_message() -> Vec<QuorumMessage> {
        let mut msgs = vec![
            QuorumMessage::FollowerInfo { accepted_epoch: Epoch(4), last_zxid: Zxid::new(3, 9) },
            QuorumMessage::ObserverInfo { accepted_epoch: Epoch(4), last_zxid: Zxid::new(3, 9) },
            QuorumMessage::LeaderInfo { new_epoch: Epoch(5) },
            QuorumMessage::AckEpoch { current_epoch: Epoch(3), last_zxid: Zxid::new(3, 9), snapshot_zxid: Zxid::new(2, 4) },
            QuorumMessage::Diff { zxid: Zxid::new(3, 12) },
            QuorumMessage::Trunc { zxid: Zxid::new(3, 8) },
            QuorumMessage::Snap { image: DataTree::new().to_snapshot_bytes(), zxid: Zxid::ZERO },
            QuorumMessage::Commit { zxid: Zxid::new(5, 1) },
            QuorumMessage::NewLeader { zxid: Zxid::new(5, 0) },
            QuorumMessage::Ack { zxid: Zxid::new(5, 1) },
            QuorumMessage::UpToDate,
            QuorumMessage::Ping { touched: vec![(SessionId(1), 4_000), (SessionId(-2), 6_000)] },
            QuorumMessage::PingReply,
            QuorumMessage::Revalidate { session: SessionId(77), timeout_ms: 10_000 },
            QuorumMessage::RevalidateReply { session: SessionId(77), valid: true },
            QuorumMessage::SyncRequest { epoch: Epoch(5), id: 11 },
            QuorumMessage::SyncReply { epoch: Epoch(5), id: 11, zxid: Zxid::new(5, 40) },
        ];
        for (i, op) in every_txn_op().into_iter().enumerate() {
            msgs.push(QuorumMessage::Proposal { txn: txn(i as u32 + 1, op.clone()) });
            msgs.push(QuorumMessage::Inform { txn: txn(i as u32 + 1, op) });
        }
        for op in every_write_op() {
            msgs.push(QuorumMessage::Request { session: SessionId(5), cxid: 3, op, auth: vec![Id::new("ip", "10.0.0.1"), Id::new("digest", "u:h")] });
        }
        msgs
    }

    /// Writes of every kind, with members prep accepts inside a multi.
    fn every_write_op() -> Vec<WriteOp> {
        let create = WriteOp::Create {
            path: "/a".into(),
            data: b"d".as_slice().into(),
            acl: acl::open_acl_unsafe(),
            mode: CreateMode::PersistentSequentialWithTtl,
            ttl_ms: Some(500),
        };
        vec![
            create.clone(),
            WriteOp::Delete { path: "/a".into(), version: -1 },
            WriteOp::SetData { path: "/a".into(), data: b"v".as_slice().into(), version: 2 },
            WriteOp::SetAcl { path: "/a".into(), acl: acl::read_acl_unsafe(), version: 0 },
            WriteOp::Check { path: "/a".into(), version: 1 },
            WriteOp::Multi(vec![create, WriteOp::Check { path: "/a".into(), version: 0 }, WriteOp::Refused(ErrorCode::BadArguments)]),
            WriteOp::Create { path: "/null".into(), data: Data::NULL, acl: acl::open_acl_unsafe(), mode: CreateMode::Container, ttl_ms: None },
            WriteOp::DeleteContainer { path: "/c".into() },
            WriteOp::CreateSession { timeout_ms: 5_000 },
            WriteOp::CloseSession,
            WriteOp::Refused(ErrorCode::Unimplemented),
        ]
    }

    // Every message kind survives encode then decode unchanged.
    #[test]
    fn every_message_round_trips() {
        for msg in every_message() {
            let bytes = msg.encode();
            assert_eq!(bytes[0], FORMAT_VERSION);
            assert_eq!(QuorumMessage::decode(&bytes).as_ref(), Ok(&msg), "{}", msg.kind());
        }
    }

    // The read-side mirror of Txn has Txn's exact layout: both encode every op to the same bytes.
    #[test]
    fn txn_mirror_has_the_layout_of_txn() {
        for op in every_txn_op() {
            let t = txn(1, op);
            let mirrored = wire_txn::WireTxn { zxid: t.zxid, session: t.session, cxid: t.cxid, time_ms: t.time_ms, op: wire_txn::mirror(&t.op) };
            assert_eq!(options().serialize(&t).unwrap(), options().serialize(&mirrored).unwrap(), "{:?}", t.op);
        }
    }

    // A multi nested in a multi is refused by the decoder, so a hostile frame cannot recurse.
    #[test]
    fn nested_multi_does_not_decode() {
        let inner = TxnOp::Multi(vec![TxnOp::Check { path: "/a".into() }]);
        let nested = QuorumMessage::Proposal { txn: txn(1, TxnOp::Multi(vec![inner])) };
        let mut bytes = vec![FORMAT_VERSION];
        options().serialize_into(&mut bytes, &nested).unwrap();
        assert!(matches!(QuorumMessage::decode(&bytes), Err(DecodeError::Malformed(_))));
        let result = std::panic::catch_unwind(|| nested.encode());
        assert!(result.is_err(), "encode asserts that prep never nests a multi");
    }

    // A forwarded write prepares to the same transaction on the leader as the original would,
    // including members prep refuses inside a multi, which travel as Refused(BadArguments).
    #[test]
    fn forwarded_writes_prepare_as_the_originals() {
        let tree = DataTree::new();
        let config = PrepConfig::default();
        let ctx = PrepContext { zxid: Zxid::new(1, 1), session: SessionId(5), cxid: 3, time_ms: 9, auth: &[], config: &config };
        let mut ops = every_write_op();
        ops.push(WriteOp::Multi(vec![
            WriteOp::Create {
                path: "/m".into(),
                data: b"".as_slice().into(),
                acl: acl::open_acl_unsafe(),
                mode: CreateMode::Persistent,
                ttl_ms: None,
            },
            WriteOp::SetAcl { path: "/m".into(), acl: acl::open_acl_unsafe(), version: -1 },
            WriteOp::Multi(vec![]),
        ]));
        for op in ops {
            let msg = QuorumMessage::Request { session: SessionId(5), cxid: 3, op: op.clone(), auth: vec![] };
            let QuorumMessage::Request { op: decoded, .. } = QuorumMessage::decode(&msg.encode()).unwrap() else { panic!("kind changed") };
            assert_eq!(prep(&tree, &ctx, &decoded), prep(&tree, &ctx, &op), "{op:?}");
        }
    }

    // An unknown create mode flag or format byte is an error, not a panic or a guess.
    #[test]
    fn bad_flags_and_formats_are_errors() {
        assert_eq!(QuorumMessage::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(QuorumMessage::decode(&[9, 0, 0, 0, 0]), Err(DecodeError::UnknownFormat(9)));
        let msg = QuorumMessage::Request { session: SessionId(1), cxid: 1, op: every_write_op()[0].clone(), auth: vec![] };
        let mut bytes = msg.encode();
        // The create's mode flag sits just before its ttl option (1 + 8 bytes) at the end, before the empty auth list (8 bytes).
        let at = bytes.len() - 8 - 9 - 4;
        assert_eq!(i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()), CreateMode::PersistentSequentialWithTtl.flag());
        bytes[at..at + 4].copy_from_slice(&42i32.to_le_bytes());
        assert!(matches!(QuorumMessage::decode(&bytes), Err(DecodeError::Malformed(why)) if why.contains("flag 42")));
        let mut trailing = QuorumMessage::UpToDate.encode();
        trailing.push(0);
        assert!(matches!(QuorumMessage::decode(&trailing), Err(DecodeError::Malformed(_))));
    }

    proptest! {
        // Arbitrary bytes decode to an error or to a message that re-encodes to the same bytes; nothing panics.
        #[test]
        fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), kind in 0u32..24) {
            let mut bytes = vec![FORMAT_VERSION];
            bytes.extend_from_slice(&kind.to_le_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(msg) = QuorumMessage::decode(&bytes) {
                prop_assert_eq!(msg.encode(), bytes);
            }
        }

        // Every proper prefix of a valid frame is refused: truncation is always detected.
        #[test]
        fn truncated_frames_are_refused(which in 0usize..64, cut in any::<prop::sample::Index>()) {
            let msgs = every_message();
            let bytes = msgs[which % msgs.len()].encode();
            let cut = cut.index(bytes.len());
            prop_assert!(QuorumMessage::decode(&bytes[..cut]).is_err());
        }
    }
}
