//! Decoding a client's frame into a typed request: an engine `WriteOp` or
//! `ReadOp`, or a session-level request, together with what the reply must
//! look like (which the opcode fixes: create answers a path, create2 a path
//! and a Stat, and so on).

use crate::acl::Acl;
use crate::error::ErrorCode;
use crate::proto::jute::{DecodeError, DecodeErrorKind, Reader, Record};
use crate::proto::multi::{MultiOp, MultiRequest};
use crate::proto::opcode::OpCode;
use crate::proto::records::{
    AddWatchMode, AddWatchRequest, AuthPacket, ConnectRequest, CreateRequest, CreateTtlRequest, GetEphemeralsRequest, PathRequest,
    PathVersionRequest, PathWatchRequest, ReconfigRequest, RequestHeader, SaslToken, SetAclRequest, SetDataRequest, SetWatches,
    SetWatches2, WatcherType, WatchesRequest,
};
use crate::proto::reply::{ReadReply, WriteReply};
use crate::request::{CreateMode, ReadOp, WriteOp};
use crate::tree::Data;
use crate::zxid::Zxid;

/// A request frame split into its header and its typed body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedRequest {
    /// The header; its xid goes back in the reply.
    pub header: RequestHeader,
    /// The body, or why it could not be read.
    ///
    /// ZooKeeper answers an unreadable body with MarshallingError and keeps
    /// the connection; for a transaction opcode (`OpCode::is_txn`) it first
    /// logs an error txn, so the reply carries a fresh zxid. For auth and
    /// sasl it closes the connection instead.
    pub body: Result<ClientRequest, DecodeError>,
}

/// What a client asked for, in the engine's terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientRequest {
    /// A change to the tree, prepared by `prep` into a transaction.
    Write {
        /// The operation.
        op: WriteOp,
        /// How its result is encoded.
        reply: WriteReply,
    },
    /// A write that ZooKeeper refuses before looking at the tree: a create
    /// with an unknown mode flag (BadArguments). ZooKeeper still logs it as
    /// an error txn, so it takes a zxid; the reply is a bare error header.
    Rejected {
        /// The code to answer.
        error: ErrorCode,
    },
    /// A read answered from the local tree.
    Read {
        /// The operation.
        op: ReadOp,
        /// Whether to leave a one-shot watch (exists, getData, getChildren[2]).
        watch: bool,
        /// How its result is encoded.
        reply: ReadReply,
    },
    /// ping (xid −2): answered with a bare header, xid −2.
    Ping,
    /// sync: answered with `SyncResponse{path}` once the server has caught up.
    Sync {
        /// The path, echoed back.
        path: String,
    },
    /// auth (`addauth`): answered with a bare header, zxid 0.
    Auth {
        /// The scheme (`digest`, ...).
        scheme: String,
        /// The credentials; `None` for a null buffer, which ZooKeeper's digest
        /// provider fails with AuthFailed.
        auth: Option<Vec<u8>>,
    },
    /// setWatches (101) or setWatches2 (105), sent on reconnect: re-arm watches, firing those already stale.
    SetWatches {
        /// The last zxid the client saw.
        relative_zxid: Zxid,
        /// Paths with a data watch.
        data: Vec<String>,
        /// Paths with an exist watch.
        exist: Vec<String>,
        /// Paths with a child watch.
        child: Vec<String>,
        /// Paths with a persistent watch (setWatches2 only).
        persistent: Vec<String>,
        /// Paths with a persistent recursive watch (setWatches2 only).
        persistent_recursive: Vec<String>,
    },
    /// addWatch: a persistent or persistent recursive watch; answered with `ErrorResponse{0}`.
    AddWatch {
        /// The watched node.
        path: String,
        /// Which kind.
        mode: AddWatchMode,
    },
    /// checkWatches: NoWatcher unless the session holds such a watch.
    CheckWatches {
        /// The watched node.
        path: String,
        /// Which watches.
        watcher_type: WatcherType,
    },
    /// removeWatches: NoWatcher unless one was removed.
    RemoveWatches {
        /// The watched node.
        path: String,
        /// Which watches.
        watcher_type: WatcherType,
    },
    /// whoAmI: the session's authenticated ids.
    WhoAmI,
    /// closeSession: becomes `WriteOp::CloseSession`; a bare header, then the connection closes.
    CloseSession,
    /// reconfig: decoded but not offered (answer ReconfigDisabled, as
    /// ZooKeeper does without `reconfigEnabled`).
    Reconfig(ReconfigRequest),
    /// sasl: decoded but not offered.
    Sasl {
        /// The client's token.
        token: Option<Vec<u8>>,
    },
    /// An opcode clients may not send (unknown, or internal such as
    /// deleteContainer and createSession): ZooKeeper answers Unimplemented
    /// with zxid −1 (`encode_error_reply(out, xid, NO_ZXID, Unimplemented)`)
    /// and closes the connection.
    Unknown {
        /// The raw opcode.
        opcode: i32,
    },
}

/// Decodes the first frame of a connection.
pub fn decode_connect_request(frame: &[u8]) -> Result<ConnectRequest, DecodeError> {
    ConnectRequest::from_bytes(frame)
}

/// Decodes a request frame (after the connect handshake).
///
/// An unreadable header is an `Err`: ZooKeeper closes such a connection.
/// Trailing bytes after a body are ignored, as ZooKeeper ignores them.
pub fn decode_request(frame: &[u8]) -> Result<DecodedRequest, DecodeError> {
    let mut r = Reader::new(frame);
    let header: RequestHeader = r.record()?;
    let body = decode_body(header.opcode, &mut r);
    Ok(DecodedRequest { header, body })
}

/// Decodes the body that follows a header naming `opcode`.
pub fn decode_body(opcode: i32, r: &mut Reader<'_>) -> Result<ClientRequest, DecodeError> {
    let Some(op) = OpCode::from_code(opcode) else {
        return Ok(ClientRequest::Unknown { opcode });
    };
    let read = |op: ReadOp, watch: bool, reply: ReadReply| ClientRequest::Read { op, watch, reply };
    Ok(match op {
        OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
            let request: CreateRequest = r.record()?;
            standalone_create(op, request.path, request.data, request.acl, request.flags, None)
        }
        OpCode::CreateTtl => {
            let request: CreateTtlRequest = r.record()?;
            standalone_create(op, request.path, request.data, request.acl, request.flags, Some(request.ttl_ms))
        }
        OpCode::Delete => {
            let PathVersionRequest { path, version } = r.record()?;
            ClientRequest::Write { op: WriteOp::Delete { path, version }, reply: WriteReply::Delete }
        }
        OpCode::SetData => {
            let SetDataRequest { path, data, version } = r.record()?;
            ClientRequest::Write { op: WriteOp::SetData { path, data: data_of(data), version }, reply: WriteReply::SetData }
        }
        OpCode::SetAcl => {
            let SetAclRequest { path, acl, version } = r.record()?;
            ClientRequest::Write { op: WriteOp::SetAcl { path, acl, version }, reply: WriteReply::SetAcl }
        }
        OpCode::Check => {
            let PathVersionRequest { path, version } = r.record()?;
            ClientRequest::Write { op: WriteOp::Check { path, version }, reply: WriteReply::Check }
        }
        OpCode::Multi => decode_multi(r)?,
        OpCode::Exists => {
            let PathWatchRequest { path, watch } = r.record()?;
            read(ReadOp::Exists { path }, watch, ReadReply::Exists)
        }
        OpCode::GetData => {
            let PathWatchRequest { path, watch } = r.record()?;
            read(ReadOp::GetData { path }, watch, ReadReply::GetData)
        }
        OpCode::GetChildren => {
            let PathWatchRequest { path, watch } = r.record()?;
            read(ReadOp::GetChildren { path }, watch, ReadReply::GetChildren)
        }
        OpCode::GetChildren2 => {
            let PathWatchRequest { path, watch } = r.record()?;
            read(ReadOp::GetChildren { path }, watch, ReadReply::GetChildren2)
        }
        OpCode::GetAcl => {
            let PathRequest { path } = r.record()?;
            read(ReadOp::GetAcl { path }, false, ReadReply::GetAcl)
        }
        OpCode::GetAllChildrenNumber => {
            let PathRequest { path } = r.record()?;
            read(ReadOp::GetAllChildrenNumber { path }, false, ReadReply::GetAllChildrenNumber)
        }
        OpCode::GetEphemerals => {
            let GetEphemeralsRequest { prefix_path } = r.record()?;
            // Null means all, like "/" (`FinalRequestProcessor`).
            read(ReadOp::GetEphemerals { prefix: prefix_path.unwrap_or_else(|| "/".into()) }, false, ReadReply::GetEphemerals)
        }
        OpCode::MultiRead => decode_multi_read(r)?,
        OpCode::Sync => {
            let PathRequest { path } = r.record()?;
            ClientRequest::Sync { path }
        }
        OpCode::Ping => ClientRequest::Ping,
        OpCode::Auth => {
            let AuthPacket { scheme, auth, .. } = r.record()?;
            ClientRequest::Auth { scheme, auth }
        }
        OpCode::SetWatches => {
            let SetWatches { relative_zxid, data_watches, exist_watches, child_watches } = r.record()?;
            ClientRequest::SetWatches {
                relative_zxid,
                data: data_watches,
                exist: exist_watches,
                child: child_watches,
                persistent: Vec::new(),
                persistent_recursive: Vec::new(),
            }
        }
        OpCode::SetWatches2 => {
            let w: SetWatches2 = r.record()?;
            ClientRequest::SetWatches {
                relative_zxid: w.relative_zxid,
                data: w.data_watches,
                exist: w.exist_watches,
                child: w.child_watches,
                persistent: w.persistent_watches,
                persistent_recursive: w.persistent_recursive_watches,
            }
        }
        OpCode::AddWatch => {
            let AddWatchRequest { path, mode } = r.record()?;
            ClientRequest::AddWatch { path, mode }
        }
        OpCode::CheckWatches => {
            let WatchesRequest { path, watcher_type } = r.record()?;
            ClientRequest::CheckWatches { path, watcher_type }
        }
        OpCode::RemoveWatches => {
            let WatchesRequest { path, watcher_type } = r.record()?;
            ClientRequest::RemoveWatches { path, watcher_type }
        }
        OpCode::WhoAmI => ClientRequest::WhoAmI,
        OpCode::CloseSession => ClientRequest::CloseSession,
        OpCode::Reconfig => ClientRequest::Reconfig(r.record()?),
        OpCode::Sasl => {
            let SaslToken { token } = r.record()?;
            ClientRequest::Sasl { token }
        }
        OpCode::Notification | OpCode::DeleteContainer | OpCode::CreateSession | OpCode::Error => ClientRequest::Unknown { opcode },
    })
}

/// The op a multi carries in place of one ZooKeeper's prep refuses with
/// BadArguments before looking at the tree (a create with an unknown flag).
///
/// `prep` fails the multi at its position with BadArguments: Ok before it
/// (unless an earlier op failed first), RuntimeInconsistency after it.
pub fn refused_multi_op() -> WriteOp {
    WriteOp::Refused(ErrorCode::BadArguments)
}

/// A create sent on its own: the opcode fixes both the reply and, for
/// createContainer, the node's kind.
fn standalone_create(op: OpCode, path: String, data: Option<Vec<u8>>, acl: Vec<Acl>, flags: i32, ttl_ms: Option<i64>) -> ClientRequest {
    // ZooKeeper's `CreateMode.fromFlag` throws BadArguments for an unknown flag.
    let Ok(mode) = CreateMode::from_flag(flags) else {
        return ClientRequest::Rejected { error: ErrorCode::BadArguments };
    };
    // createContainer logs a CreateContainerTxn whatever the flag says, so the
    // node is a container; TTL flags stay, so prep refuses them as ZooKeeper does.
    let mode = if op == OpCode::CreateContainer && !mode.is_ttl() { CreateMode::Container } else { mode };
    let reply = if op == OpCode::Create { WriteReply::Create } else { WriteReply::Create2 };
    ClientRequest::Write { op: WriteOp::Create { path, data: data_of(data), acl, mode, ttl_ms }, reply }
}

fn decode_multi(r: &mut Reader<'_>) -> Result<ClientRequest, DecodeError> {
    let at = r.position();
    let MultiRequest { ops } = r.record()?;
    let mut write_ops = Vec::with_capacity(ops.len());
    for op in ops {
        write_ops.push(match op {
            MultiOp::Create { request: CreateRequest { path, data, acl, flags }, .. } => multi_create(path, data, acl, flags, None),
            MultiOp::CreateTtl(CreateTtlRequest { path, data, acl, flags, ttl_ms }) => multi_create(path, data, acl, flags, Some(ttl_ms)),
            MultiOp::Delete(PathVersionRequest { path, version }) => WriteOp::Delete { path, version },
            MultiOp::SetData(SetDataRequest { path, data, version }) => WriteOp::SetData { path, data: data_of(data), version },
            MultiOp::Check(PathVersionRequest { path, version }) => WriteOp::Check { path, version },
            // ZooKeeper's prep cannot turn reads into a txn and fails the request (MarshallingError).
            MultiOp::GetData(_) | MultiOp::GetChildren(_) => {
                return Err(r.error("MultiRequest.ops", at, DecodeErrorKind::MixedMultiOps));
            }
        });
    }
    let op = WriteOp::Multi(write_ops);
    let reply = WriteReply::for_op(OpCode::Multi, &op).expect("multi is a write");
    Ok(ClientRequest::Write { op, reply })
}

/// A create inside a multi: ZooKeeper rebuilds the op from its flags alone
/// (`Op.create`), so the header's opcode only selects the record layout.
fn multi_create(path: String, data: Option<Vec<u8>>, acl: Vec<Acl>, flags: i32, ttl_ms: Option<i64>) -> WriteOp {
    match CreateMode::from_flag(flags) {
        Ok(mode) => WriteOp::Create { path, data: data_of(data), acl, mode, ttl_ms },
        Err(_) => refused_multi_op(),
    }
}

fn decode_multi_read(r: &mut Reader<'_>) -> Result<ClientRequest, DecodeError> {
    let at = r.position();
    let MultiRequest { ops } = r.record()?;
    let mut read_ops = Vec::with_capacity(ops.len());
    for op in ops {
        read_ops.push(match op {
            MultiOp::GetData(PathWatchRequest { path, .. }) => ReadOp::GetData { path },
            MultiOp::GetChildren(PathWatchRequest { path, .. }) => ReadOp::GetChildren { path },
            // `FinalRequestProcessor` throws "Invalid type of readOp": MarshallingError.
            _ => return Err(r.error("MultiRequest.ops", at, DecodeErrorKind::MixedMultiOps)),
        });
    }
    Ok(ClientRequest::Read { op: ReadOp::MultiRead(read_ops), watch: false, reply: ReadReply::MultiRead })
}

/// Node data for the engine, which has no null: a null buffer becomes empty.
/// (ZooKeeper keeps the null, so there getData later returns null, not empty.)
fn data_of(data: Option<Vec<u8>>) -> Data {
    Data::from(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl;
    use crate::proto::jute::Writer;
    use crate::proto::records::PathVersionRequest;

    fn frame_of(xid: i32, opcode: i32, body: &impl Record) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.record(&RequestHeader { xid, opcode });
        w.record(body);
        out
    }

    fn create(flags: i32) -> CreateRequest {
        CreateRequest { path: "/n".into(), data: Some(b"d".to_vec()), acl: acl::open_acl_unsafe(), flags }
    }

    fn body(frame: &[u8]) -> ClientRequest {
        decode_request(frame).unwrap().body.unwrap()
    }

    fn created(mode: CreateMode, ttl_ms: Option<i64>) -> WriteOp {
        WriteOp::Create { path: "/n".into(), data: Data::from(&b"d"[..]), acl: acl::open_acl_unsafe(), mode, ttl_ms }
    }

    // Each create opcode yields the engine's Create with the flag's mode, and the reply kind its opcode implies.
    #[test]
    fn create_opcodes() {
        assert_eq!(
            body(&frame_of(1, 1, &create(3))),
            ClientRequest::Write { op: created(CreateMode::EphemeralSequential, None), reply: WriteReply::Create }
        );
        assert_eq!(
            body(&frame_of(1, 15, &create(0))),
            ClientRequest::Write { op: created(CreateMode::Persistent, None), reply: WriteReply::Create2 }
        );
        assert_eq!(
            body(&frame_of(1, 19, &create(4))),
            ClientRequest::Write { op: created(CreateMode::Container, None), reply: WriteReply::Create2 }
        );
        // createContainer makes a container whatever the flag, as its txn does in ZooKeeper.
        assert_eq!(
            body(&frame_of(1, 19, &create(0))),
            ClientRequest::Write { op: created(CreateMode::Container, None), reply: WriteReply::Create2 }
        );
        // Flag 4 through plain create is accepted (observed on 3.8).
        assert_eq!(
            body(&frame_of(1, 1, &create(4))),
            ClientRequest::Write { op: created(CreateMode::Container, None), reply: WriteReply::Create }
        );
    }

    // TTL modes carry a TTL only through createTTL; through create they decode without one so prep refuses them as ZooKeeper does.
    #[test]
    fn ttl_creates() {
        let ttl = CreateTtlRequest { path: "/n".into(), data: Some(b"d".to_vec()), acl: acl::open_acl_unsafe(), flags: 5, ttl_ms: 500 };
        assert_eq!(
            body(&frame_of(1, 21, &ttl)),
            ClientRequest::Write { op: created(CreateMode::PersistentWithTtl, Some(500)), reply: WriteReply::Create2 }
        );
        assert_eq!(
            body(&frame_of(1, 1, &create(6))),
            ClientRequest::Write { op: created(CreateMode::PersistentSequentialWithTtl, None), reply: WriteReply::Create }
        );
    }

    // An unknown create flag is refused with BadArguments, standalone and inside a multi.
    #[test]
    fn unknown_create_flag() {
        for flags in [7, -1, i32::MAX] {
            assert_eq!(body(&frame_of(1, 1, &create(flags))), ClientRequest::Rejected { error: ErrorCode::BadArguments });
        }
        let multi = MultiRequest { ops: vec![MultiOp::Create { opcode: OpCode::Create, request: create(9) }] };
        assert_eq!(
            body(&frame_of(1, 14, &multi)),
            ClientRequest::Write { op: WriteOp::Multi(vec![refused_multi_op()]), reply: WriteReply::Multi(vec![WriteReply::Create]) }
        );
    }

    // A multi keeps its ops in order; a create's result kind follows its mode, not its header opcode.
    #[test]
    fn multi_ops() {
        let multi = MultiRequest {
            ops: vec![
                MultiOp::Create { opcode: OpCode::Create2, request: create(0) },
                MultiOp::Create { opcode: OpCode::Create, request: create(4) },
                MultiOp::Delete(PathVersionRequest { path: "/a".into(), version: -1 }),
                MultiOp::SetData(SetDataRequest { path: "/b".into(), data: None, version: 2 }),
                MultiOp::Check(PathVersionRequest { path: "/c".into(), version: 3 }),
            ],
        };
        let want = ClientRequest::Write {
            op: WriteOp::Multi(vec![
                created(CreateMode::Persistent, None),
                created(CreateMode::Container, None),
                WriteOp::Delete { path: "/a".into(), version: -1 },
                WriteOp::SetData { path: "/b".into(), data: Data::NULL, version: 2 },
                WriteOp::Check { path: "/c".into(), version: 3 },
            ]),
            reply: WriteReply::Multi(vec![
                WriteReply::Create,
                WriteReply::Create2,
                WriteReply::Delete,
                WriteReply::SetData,
                WriteReply::Check,
            ]),
        };
        assert_eq!(body(&frame_of(5, 14, &multi)), want);
    }

    // multiRead holds only reads and multi only writes; the other kind is a body error (MarshallingError), not a header error.
    #[test]
    fn multi_kinds_must_match_opcode() {
        let reads = MultiRequest {
            ops: vec![
                MultiOp::GetData(PathWatchRequest { path: "/a".into(), watch: true }),
                MultiOp::GetChildren(PathWatchRequest { path: "/b".into(), watch: false }),
            ],
        };
        assert_eq!(
            body(&frame_of(1, 22, &reads)),
            ClientRequest::Read {
                op: ReadOp::MultiRead(vec![ReadOp::GetData { path: "/a".into() }, ReadOp::GetChildren { path: "/b".into() }]),
                watch: false,
                reply: ReadReply::MultiRead
            }
        );
        let decoded = decode_request(&frame_of(1, 14, &reads)).unwrap();
        assert_eq!(decoded.header, RequestHeader { xid: 1, opcode: 14 });
        assert_eq!(decoded.body.unwrap_err().kind, DecodeErrorKind::MixedMultiOps);
        let writes = MultiRequest { ops: vec![MultiOp::Check(PathVersionRequest { path: "/c".into(), version: 3 })] };
        assert_eq!(decode_request(&frame_of(1, 22, &writes)).unwrap().body.unwrap_err().kind, DecodeErrorKind::MixedMultiOps);
    }

    // Reads keep their watch flag and their reply kind; getChildren and getChildren2 share a ReadOp.
    #[test]
    fn reads() {
        let pw = PathWatchRequest { path: "/a".into(), watch: true };
        let children = ReadOp::GetChildren { path: "/a".into() };
        assert_eq!(body(&frame_of(1, 8, &pw)), ClientRequest::Read { op: children.clone(), watch: true, reply: ReadReply::GetChildren });
        assert_eq!(body(&frame_of(1, 12, &pw)), ClientRequest::Read { op: children, watch: true, reply: ReadReply::GetChildren2 });
        assert_eq!(
            body(&frame_of(1, 3, &pw)),
            ClientRequest::Read { op: ReadOp::Exists { path: "/a".into() }, watch: true, reply: ReadReply::Exists }
        );
        let all = GetEphemeralsRequest { prefix_path: None };
        assert_eq!(
            body(&frame_of(1, 103, &all)),
            ClientRequest::Read { op: ReadOp::GetEphemerals { prefix: "/".into() }, watch: false, reply: ReadReply::GetEphemerals }
        );
    }

    // Session-level requests decode to their own variants; bodiless ones need no bytes after the header.
    #[test]
    fn session_requests() {
        let header_only = |opcode: i32| {
            let mut out = Vec::new();
            RequestHeader { xid: -2, opcode }.write(&mut Writer::new(&mut out));
            body(&out)
        };
        assert_eq!(header_only(11), ClientRequest::Ping);
        assert_eq!(header_only(107), ClientRequest::WhoAmI);
        assert_eq!(header_only(-11), ClientRequest::CloseSession);
        assert_eq!(header_only(10), ClientRequest::Unknown { opcode: 10 });
        assert_eq!(header_only(20), ClientRequest::Unknown { opcode: 20 });
        let auth = AuthPacket { auth_type: 0, scheme: "digest".into(), auth: Some(b"u:p".to_vec()) };
        assert_eq!(body(&frame_of(-4, 100, &auth)), ClientRequest::Auth { scheme: "digest".into(), auth: Some(b"u:p".to_vec()) });
        let sw = SetWatches {
            relative_zxid: Zxid::new(1, 2),
            data_watches: vec!["/d".into()],
            exist_watches: vec![],
            child_watches: vec!["/c".into()],
        };
        assert_eq!(
            body(&frame_of(-8, 101, &sw)),
            ClientRequest::SetWatches {
                relative_zxid: Zxid::new(1, 2),
                data: vec!["/d".into()],
                exist: vec![],
                child: vec!["/c".into()],
                persistent: vec![],
                persistent_recursive: vec![]
            }
        );
        let add = AddWatchRequest { path: "/p".into(), mode: AddWatchMode::PersistentRecursive };
        assert_eq!(body(&frame_of(3, 106, &add)), ClientRequest::AddWatch { path: "/p".into(), mode: AddWatchMode::PersistentRecursive });
        let check = WatchesRequest { path: "/p".into(), watcher_type: WatcherType::Data };
        assert_eq!(body(&frame_of(3, 17, &check)), ClientRequest::CheckWatches { path: "/p".into(), watcher_type: WatcherType::Data });
        assert_eq!(body(&frame_of(3, 18, &check)), ClientRequest::RemoveWatches { path: "/p".into(), watcher_type: WatcherType::Data });
        assert_eq!(body(&frame_of(3, 9, &PathRequest { path: "/s".into() })), ClientRequest::Sync { path: "/s".into() });
        let reconfig = ReconfigRequest { joining_servers: None, leaving_servers: Some("3".into()), new_members: None, cur_config_id: -1 };
        assert_eq!(body(&frame_of(3, 16, &reconfig)), ClientRequest::Reconfig(reconfig));
    }

    // A short header is a connection-level error; a short body is a body error that keeps the header.
    #[test]
    fn header_versus_body_errors() {
        assert_eq!(decode_request(&[0, 0, 0, 1, 0]).unwrap_err().field, "RequestHeader.type");
        let frame = frame_of(7, 4, &PathWatchRequest { path: "/abc".into(), watch: true });
        let decoded = decode_request(&frame[..frame.len() - 1]).unwrap();
        assert_eq!(decoded.header, RequestHeader { xid: 7, opcode: 4 });
        let err = decoded.body.unwrap_err();
        assert_eq!((err.field, err.offset), ("PathWatchRequest.watch", 16));
    }
}
