//! Encoding replies from the engine's results. Every function appends one
//! complete frame (length prefix included) to `out`, ready to be written to
//! the socket; several replies can be batched into one buffer.
//!
//! A reply whose err is not 0 is the bare 16-byte header, with no body; multi
//! is the exception, since a failed multi answers err 0 and carries the
//! per-op codes in its results. A result that does not fit the request's
//! reply kind is a bug in the engine and panics.

use crate::acl::Id;
use crate::error::ErrorCode;
use crate::proto::frame::write_frame;
use crate::proto::jute::{Record, Writer};
use crate::proto::opcode::{OpCode, NOTIFICATION_XID, PING_XID};
use crate::proto::records::{write_acl_list, ClientInfo, ConnectResponse, MultiHeader, ReplyHeader, WatcherEvent};
use crate::request::{ReadResult, WriteOp};
use crate::tree::Stat;
use crate::txn::OpResult;
use crate::zxid::Zxid;

/// The zxid −1, which notifications (up to 3.8) and unknown-opcode replies carry.
pub const NO_ZXID: Zxid = Zxid::from_i64(-1);

/// How a write's success is encoded: fixed when the request is decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteReply {
    /// `CreateResponse{path}`: create (op 1); in a multi, result type 1.
    Create,
    /// `Create2Response{path, Stat}`: create2, createContainer, createTTL; in
    /// a multi, result type 15 (containers and TTL nodes).
    Create2,
    /// No body.
    Delete,
    /// `SetDataResponse{Stat}`.
    SetData,
    /// `SetACLResponse{Stat}`.
    SetAcl,
    /// Standalone: `SetDataResponse{Stat}`; in a multi, no body.
    Check,
    /// A `MultiResponse`, with one reply kind per op.
    Multi(Vec<WriteReply>),
}

impl WriteReply {
    /// The reply kind for a write sent with `opcode`, or `None` if the opcode
    /// is not a write. In a multi a create's result type follows the node's
    /// mode, not the op's header (ZooKeeper rebuilds the op from its flags):
    /// type 15 for containers and TTL nodes, type 1 otherwise.
    pub fn for_op(opcode: OpCode, op: &WriteOp) -> Option<WriteReply> {
        Some(match (opcode, op) {
            (OpCode::Create, _) => WriteReply::Create,
            (OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl, _) => WriteReply::Create2,
            (OpCode::Delete, _) => WriteReply::Delete,
            (OpCode::SetData, _) => WriteReply::SetData,
            (OpCode::SetAcl, _) => WriteReply::SetAcl,
            (OpCode::Check, _) => WriteReply::Check,
            (OpCode::Multi, WriteOp::Multi(ops)) => WriteReply::Multi(ops.iter().map(WriteReply::in_multi).collect()),
            _ => return None,
        })
    }

    /// The result kind of one op inside a multi.
    fn in_multi(op: &WriteOp) -> WriteReply {
        match op {
            WriteOp::Create { mode, .. } if mode.is_container() || mode.is_ttl() => WriteReply::Create2,
            WriteOp::Delete { .. } => WriteReply::Delete,
            WriteOp::SetData { .. } => WriteReply::SetData,
            WriteOp::Check { .. } => WriteReply::Check,
            // Other ops make prep fail the whole multi, so every result is an
            // error and the kind is never used.
            _ => WriteReply::Create,
        }
    }
}

/// How a read's success is encoded: fixed when the request is decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadReply {
    /// `ExistsResponse{Stat}`.
    Exists,
    /// `GetDataResponse{data, Stat}`.
    GetData,
    /// `GetChildrenResponse{children}`: names only.
    GetChildren,
    /// `GetChildren2Response{children, Stat}`.
    GetChildren2,
    /// `GetACLResponse{acl, Stat}`.
    GetAcl,
    /// `GetAllChildrenNumberResponse{totalNumber}`.
    GetAllChildrenNumber,
    /// `GetEphemeralsResponse{ephemerals}`.
    GetEphemerals,
    /// A `MultiResponse` of getData (type 4), getChildren (type 8) and error (type −1) results.
    MultiRead,
}

impl ReadReply {
    /// The reply kind for a read sent with `opcode`, or `None` if the opcode is not a read.
    pub fn for_opcode(opcode: OpCode) -> Option<ReadReply> {
        Some(match opcode {
            OpCode::Exists => ReadReply::Exists,
            OpCode::GetData => ReadReply::GetData,
            OpCode::GetChildren => ReadReply::GetChildren,
            OpCode::GetChildren2 => ReadReply::GetChildren2,
            OpCode::GetAcl => ReadReply::GetAcl,
            OpCode::GetAllChildrenNumber => ReadReply::GetAllChildrenNumber,
            OpCode::GetEphemerals => ReadReply::GetEphemerals,
            OpCode::MultiRead => ReadReply::MultiRead,
            _ => return None,
        })
    }
}

/// Appends the connect response (no reply header; the first frame of a connection).
pub fn encode_connect_response(out: &mut Vec<u8>, response: &ConnectResponse) {
    write_frame(out, |buf| response.write(&mut Writer::new(buf)));
}

/// Appends a reply header and an optional body record.
pub fn encode_reply<R: Record>(out: &mut Vec<u8>, header: &ReplyHeader, body: Option<&R>) {
    frame(out, *header, |w| {
        if let Some(body) = body {
            w.record(body);
        }
    });
}

/// Appends a failure: the bare 16-byte header carrying `error`.
pub fn encode_error_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid, error: ErrorCode) {
    assert_ne!(error, ErrorCode::Ok, "an error reply needs an error code");
    frame(out, ReplyHeader { xid, zxid, err: error.code() }, |_| {});
}

/// Appends a success with no body: delete, setWatches, checkWatches,
/// removeWatches, closeSession.
pub fn encode_empty_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid) {
    frame(out, ok(xid, zxid), |_| {});
}

/// Appends the reply to a write (including multi) from the engine's result;
/// `zxid` is the transaction's.
pub fn encode_write_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid, reply: &WriteReply, result: &OpResult) {
    if let OpResult::Error(code) = result {
        return encode_error_reply(out, xid, zxid, *code);
    }
    frame(out, ok(xid, zxid), |w| match (reply, result) {
        (WriteReply::Check, OpResult::Checked) => {
            // The engine's check result has no Stat, and ZooKeeper's own
            // standalone check has none to send either (its Stat is null), so
            // the record's layout is kept with zeros.
            w.record(&Stat::default())
        }
        (WriteReply::Multi(replies), OpResult::Multi(results)) => {
            assert_eq!(replies.len(), results.len(), "one multi result per op");
            for (reply, result) in replies.iter().zip(results) {
                write_multi_write_result(w, reply, result);
            }
            w.record(&MultiHeader::DONE);
        }
        _ => write_write_body(w, reply, result),
    });
}

/// Appends the reply to a read (including multiRead); `zxid` is the server's
/// last processed zxid.
pub fn encode_read_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid, reply: ReadReply, result: &Result<ReadResult, ErrorCode>) {
    let result = match result {
        Err(code) => return encode_error_reply(out, xid, zxid, *code),
        Ok(result) => result,
    };
    frame(out, ok(xid, zxid), |w| match (reply, result) {
        (ReadReply::MultiRead, ReadResult::Multi(results)) => {
            for result in results {
                match result {
                    Ok(result @ ReadResult::Data { .. }) => {
                        w.record(&multi_ok(OpCode::GetData));
                        write_read_body(w, ReadReply::GetData, result);
                    }
                    Ok(result @ ReadResult::Children { .. }) => {
                        w.record(&multi_ok(OpCode::GetChildren));
                        write_read_body(w, ReadReply::GetChildren, result);
                    }
                    Ok(other) => panic!("a multiRead op answered {other:?}"),
                    Err(code) => write_multi_error(w, code.code()),
                }
            }
            w.record(&MultiHeader::DONE);
        }
        _ => write_read_body(w, reply, result),
    });
}

/// Appends a ping reply: xid −2 whatever the request carried.
pub fn encode_ping_reply(out: &mut Vec<u8>, zxid: Zxid) {
    frame(out, ok(PING_XID, zxid), |_| {});
}

/// Appends an auth reply: a bare header with zxid 0 (AuthFailed is followed by a close).
pub fn encode_auth_reply(out: &mut Vec<u8>, xid: i32, result: Result<(), ErrorCode>) {
    let err = result.err().map_or(0, ErrorCode::code);
    frame(out, ReplyHeader { xid, zxid: Zxid::ZERO, err }, |_| {});
}

/// Appends a sync reply: `SyncResponse{path}`.
pub fn encode_sync_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid, path: &str) {
    frame(out, ok(xid, zxid), |w| w.string(path));
}

/// Appends an addWatch reply: `ErrorResponse{0}` after a success header (observed on 3.8).
pub fn encode_add_watch_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid) {
    frame(out, ok(xid, zxid), |w| w.int(0));
}

/// Appends a whoAmI reply: one `ClientInfo` per authenticated id of the session.
pub fn encode_who_am_i_reply(out: &mut Vec<u8>, xid: i32, zxid: Zxid, auth: &[Id]) {
    let infos: Vec<ClientInfo> = auth.iter().map(ClientInfo::from_id).collect();
    frame(out, ok(xid, zxid), |w| w.vector(Some(&infos), |w, c| w.record(c)));
}

/// Appends a watch notification: xid −1, zxid −1 (as up to 3.8), err 0, then the event.
pub fn encode_notification(out: &mut Vec<u8>, event: &WatcherEvent) {
    frame(out, ok(NOTIFICATION_XID, NO_ZXID), |w| w.record(event));
}

fn ok(xid: i32, zxid: Zxid) -> ReplyHeader {
    ReplyHeader { xid, zxid, err: 0 }
}

fn frame(out: &mut Vec<u8>, header: ReplyHeader, body: impl FnOnce(&mut Writer<'_>)) {
    write_frame(out, |buf| {
        let mut w = Writer::new(buf);
        w.record(&header);
        body(&mut w);
    });
}

/// The body of a successful single write, laid out as its response record.
fn write_write_body(w: &mut Writer<'_>, reply: &WriteReply, result: &OpResult) {
    match (reply, result) {
        (WriteReply::Create, OpResult::Created { path, .. }) => w.string(path),
        (WriteReply::Create2, OpResult::Created { path, stat }) => {
            w.string(path);
            w.record(stat);
        }
        (WriteReply::Delete, OpResult::Deleted) => {}
        (WriteReply::SetData, OpResult::DataSet { stat }) | (WriteReply::SetAcl, OpResult::AclSet { stat }) => w.record(stat),
        _ => panic!("result {result:?} does not answer a {reply:?} request"),
    }
}

fn write_multi_write_result(w: &mut Writer<'_>, reply: &WriteReply, result: &OpResult) {
    if let OpResult::Error(code) = result {
        return write_multi_error(w, code.code());
    }
    let opcode = match reply {
        WriteReply::Create => OpCode::Create,
        WriteReply::Create2 => OpCode::Create2,
        WriteReply::Delete => OpCode::Delete,
        WriteReply::SetData => OpCode::SetData,
        WriteReply::Check => OpCode::Check,
        WriteReply::SetAcl | WriteReply::Multi(_) => panic!("{reply:?} cannot be part of a multi"),
    };
    w.record(&multi_ok(opcode));
    match (reply, result) {
        // Inside a multi a check has no body.
        (WriteReply::Check, OpResult::Checked) => {}
        _ => write_write_body(w, reply, result),
    }
}

fn multi_ok(opcode: OpCode) -> MultiHeader {
    MultiHeader { opcode: opcode.code(), done: false, err: 0 }
}

/// A type −1 result: the code in the header and again as `ErrorResponse`.
fn write_multi_error(w: &mut Writer<'_>, err: i32) {
    w.record(&MultiHeader { opcode: OpCode::Error.code(), done: false, err });
    w.int(err);
}

/// The body of a successful single read, laid out as its response record;
/// written field by field so that node data is not copied.
fn write_read_body(w: &mut Writer<'_>, reply: ReadReply, result: &ReadResult) {
    match (reply, result) {
        (ReadReply::Exists, ReadResult::Stat(stat)) => w.record(stat),
        (ReadReply::GetData, ReadResult::Data { data, stat }) => {
            w.buffer(data.as_option());
            w.record(stat);
        }
        (ReadReply::GetChildren, ReadResult::Children { children, .. }) => w.string_vector(children),
        (ReadReply::GetChildren2, ReadResult::Children { children, stat }) => {
            w.string_vector(children);
            w.record(stat);
        }
        (ReadReply::GetAcl, ReadResult::Acl { acl, stat }) => {
            write_acl_list(w, acl);
            w.record(stat);
        }
        (ReadReply::GetAllChildrenNumber, ReadResult::Count(n)) => w.int(*n),
        (ReadReply::GetEphemerals, ReadResult::Paths(paths)) => w.string_vector(paths),
        _ => panic!("result {result:?} does not answer a {reply:?} request"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{self, Acl};
    use crate::proto::jute::Reader;
    use crate::proto::multi::{MultiResponse, MultiResult};
    use crate::proto::records::{
        Create2Response, CreateResponse, EventType, GetAclResponse, GetChildren2Response, GetDataResponse, KeeperState, PathsResponse,
        StatResponse, WhoAmIResponse, REPLY_HEADER_LEN,
    };
    use crate::tree::Data;

    /// Splits one framed reply into its header and body, checking the length prefix.
    fn unframe(out: &[u8]) -> (ReplyHeader, &[u8]) {
        let len = i32::from_be_bytes(out[..4].try_into().unwrap()) as usize;
        assert_eq!(len, out.len() - 4, "the prefix counts the rest of the frame");
        let mut r = Reader::new(&out[4..]);
        let header: ReplyHeader = r.record().unwrap();
        (header, &out[4 + REPLY_HEADER_LEN..])
    }

    fn stat(version: i32) -> Stat {
        Stat { version, czxid: Zxid::new(1, 1), data_length: 3, ..Stat::default() }
    }

    // An error reply is exactly the 16-byte header, with no body.
    #[test]
    fn error_reply_is_16_bytes() {
        let mut out = Vec::new();
        encode_error_reply(&mut out, 9, Zxid::new(0, 0xa), ErrorCode::NodeExists);
        assert_eq!(out, [0, 0, 0, 16, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0xa, 0xff, 0xff, 0xff, 0x92]);
        let mut out = Vec::new();
        encode_write_reply(&mut out, 9, Zxid::new(0, 0xa), &WriteReply::Create2, &OpResult::Error(ErrorCode::NoNode));
        assert_eq!(out.len(), 4 + REPLY_HEADER_LEN);
        let mut out = Vec::new();
        encode_read_reply(&mut out, 9, Zxid::new(0, 0xa), ReadReply::GetData, &Err(ErrorCode::NoAuth));
        assert_eq!(unframe(&out), (ReplyHeader { xid: 9, zxid: Zxid::new(0, 0xa), err: -102 }, &[][..]));
    }

    // A ping reply carries xid -2 and the given zxid; a notification carries xid -1, zxid -1 and the event.
    #[test]
    fn ping_and_notification_golden_bytes() {
        let mut out = Vec::new();
        encode_ping_reply(&mut out, Zxid::new(0, 5));
        assert_eq!(out, [0, 0, 0, 16, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]);
        let mut out = Vec::new();
        encode_notification(
            &mut out,
            &WatcherEvent { event_type: EventType::NodeDeleted, state: KeeperState::SyncConnected, path: "/x".into() },
        );
        assert_eq!(
            out,
            [
                0, 0, 0, 30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0,
                0, 0, 2, b'/', b'x'
            ]
        );
    }

    // Auth replies carry zxid 0 and the code; addWatch carries ErrorResponse{0}; whoAmI lists users.
    #[test]
    fn session_replies() {
        let mut out = Vec::new();
        encode_auth_reply(&mut out, -4, Err(ErrorCode::AuthFailed));
        assert_eq!(unframe(&out), (ReplyHeader { xid: -4, zxid: Zxid::ZERO, err: -115 }, &[][..]));
        let mut out = Vec::new();
        encode_add_watch_reply(&mut out, 3, Zxid::new(0, 1));
        assert_eq!(unframe(&out).1, [0, 0, 0, 0]);
        let mut out = Vec::new();
        encode_who_am_i_reply(&mut out, 4, Zxid::new(0, 1), &[acl::Id::new("ip", "127.0.0.1"), acl::Id::new("digest", "u:hash")]);
        let who = WhoAmIResponse::from_bytes(unframe(&out).1).unwrap();
        let users: Vec<(&str, &str)> = who.client_info.iter().map(|c| (c.auth_scheme.as_str(), c.user.as_str())).collect();
        assert_eq!(users, [("ip", "127.0.0.1"), ("digest", "u")]);
        let mut out = Vec::new();
        encode_sync_reply(&mut out, 5, Zxid::new(0, 1), "/s");
        assert_eq!(CreateResponse::from_bytes(unframe(&out).1).unwrap().path, "/s");
        let mut out = Vec::new();
        encode_connect_response(
            &mut out,
            &ConnectResponse {
                protocol_version: 0,
                timeout_ms: 4000,
                session_id: crate::SessionId(1),
                passwd: vec![7; 16],
                read_only: Some(false),
            },
        );
        assert_eq!(out.len(), 4 + 37);
    }

    // create answers a path, create2 a path and Stat, setData and setACL a Stat, delete nothing.
    #[test]
    fn write_replies() {
        let created = OpResult::Created { path: "/n0000000001".into(), stat: stat(0) };
        let mut out = Vec::new();
        encode_write_reply(&mut out, 1, Zxid::new(1, 2), &WriteReply::Create, &created);
        let (header, body) = unframe(&out);
        assert_eq!(header, ReplyHeader { xid: 1, zxid: Zxid::new(1, 2), err: 0 });
        assert_eq!(CreateResponse::from_bytes(body).unwrap().path, "/n0000000001");
        assert_eq!(body.len(), 4 + 12);
        let mut out = Vec::new();
        encode_write_reply(&mut out, 1, Zxid::new(1, 2), &WriteReply::Create2, &created);
        assert_eq!(Create2Response::from_bytes(unframe(&out).1).unwrap(), Create2Response { path: "/n0000000001".into(), stat: stat(0) });
        let mut out = Vec::new();
        encode_write_reply(&mut out, 1, Zxid::new(1, 2), &WriteReply::SetData, &OpResult::DataSet { stat: stat(4) });
        assert_eq!(StatResponse::from_bytes(unframe(&out).1).unwrap().stat, stat(4));
        let mut out = Vec::new();
        encode_write_reply(&mut out, 1, Zxid::new(1, 2), &WriteReply::Delete, &OpResult::Deleted);
        assert_eq!(unframe(&out).1, &[][..]);
        let mut out = Vec::new();
        encode_write_reply(&mut out, 1, Zxid::new(1, 2), &WriteReply::Check, &OpResult::Checked);
        assert_eq!(unframe(&out).1.len(), 68);
    }

    // A successful multi lists typed results; a failed one answers err 0 with every result of type -1.
    #[test]
    fn multi_replies() {
        let replies =
            WriteReply::Multi(vec![WriteReply::Create, WriteReply::Create2, WriteReply::Check, WriteReply::SetData, WriteReply::Delete]);
        let ok = OpResult::Multi(vec![
            OpResult::Created { path: "/a".into(), stat: stat(0) },
            OpResult::Created { path: "/c".into(), stat: stat(0) },
            OpResult::Checked,
            OpResult::DataSet { stat: stat(1) },
            OpResult::Deleted,
        ]);
        let mut out = Vec::new();
        encode_write_reply(&mut out, 2, Zxid::new(1, 3), &replies, &ok);
        let (header, body) = unframe(&out);
        assert_eq!(header.err, 0);
        assert_eq!(
            MultiResponse::from_bytes(body).unwrap().results,
            vec![
                MultiResult::Create(CreateResponse { path: "/a".into() }),
                MultiResult::Create2(Create2Response { path: "/c".into(), stat: stat(0) }),
                MultiResult::Check,
                MultiResult::SetData(StatResponse { stat: stat(1) }),
                MultiResult::Delete,
            ]
        );
        let failed = OpResult::Multi(vec![
            OpResult::Error(ErrorCode::Ok),
            OpResult::Error(ErrorCode::NoNode),
            OpResult::Error(ErrorCode::RuntimeInconsistency),
            OpResult::Error(ErrorCode::RuntimeInconsistency),
            OpResult::Error(ErrorCode::RuntimeInconsistency),
        ]);
        let mut out = Vec::new();
        encode_write_reply(&mut out, 2, Zxid::new(1, 3), &replies, &failed);
        let (header, body) = unframe(&out);
        assert_eq!(header.err, 0);
        assert_eq!(
            MultiResponse::from_bytes(body).unwrap().results,
            vec![MultiResult::Error(0), MultiResult::Error(-101), MultiResult::Error(-2), MultiResult::Error(-2), MultiResult::Error(-2)]
        );
    }

    // Reads answer their own records; multiRead answers each op on its own, errors included.
    #[test]
    fn read_replies() {
        let data = ReadResult::Data { data: Data::from(&b"xyz"[..]), stat: stat(2) };
        let children = ReadResult::Children { children: vec!["a".into(), "b".into()], stat: stat(3) };
        let mut out = Vec::new();
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::GetData, &Ok(data.clone()));
        assert_eq!(GetDataResponse::from_bytes(unframe(&out).1).unwrap(), GetDataResponse { data: Some(b"xyz".to_vec()), stat: stat(2) });
        let mut out = Vec::new();
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::GetChildren, &Ok(children.clone()));
        let body = unframe(&out).1;
        assert_eq!(PathsResponse::from_bytes(body).unwrap().paths, ["a", "b"]);
        assert_eq!(body.len(), 4 + 5 + 5, "names only, no Stat");
        let mut out = Vec::new();
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::GetChildren2, &Ok(children.clone()));
        assert_eq!(GetChildren2Response::from_bytes(unframe(&out).1).unwrap().stat, stat(3));
        let mut out = Vec::new();
        let acl = vec![Acl::new(acl::perms::READ, "world", "anyone")];
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::GetAcl, &Ok(ReadResult::Acl { acl: acl.clone(), stat: stat(1) }));
        assert_eq!(GetAclResponse::from_bytes(unframe(&out).1).unwrap(), GetAclResponse { acl, stat: stat(1) });
        let mut out = Vec::new();
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::GetAllChildrenNumber, &Ok(ReadResult::Count(12)));
        assert_eq!(unframe(&out).1, 12i32.to_be_bytes());
        let mut out = Vec::new();
        let multi = ReadResult::Multi(vec![Ok(data), Err(ErrorCode::NoNode), Ok(children)]);
        encode_read_reply(&mut out, 1, Zxid::new(1, 1), ReadReply::MultiRead, &Ok(multi));
        let (header, body) = unframe(&out);
        assert_eq!(header.err, 0);
        assert_eq!(
            MultiResponse::from_bytes(body).unwrap().results,
            vec![
                MultiResult::GetData(GetDataResponse { data: Some(b"xyz".to_vec()), stat: stat(2) }),
                MultiResult::Error(-101),
                MultiResult::GetChildren(PathsResponse { paths: vec!["a".into(), "b".into()] }),
            ]
        );
    }

    // The reply kind follows the opcode, and inside a multi the create's mode.
    #[test]
    fn reply_kinds() {
        use crate::request::CreateMode;
        let create = |mode| WriteOp::Create { path: "/a".into(), data: Data::from(&b""[..]), acl: vec![], mode, ttl_ms: None };
        assert_eq!(WriteReply::for_op(OpCode::Create, &create(CreateMode::Container)), Some(WriteReply::Create));
        assert_eq!(WriteReply::for_op(OpCode::CreateTtl, &create(CreateMode::PersistentWithTtl)), Some(WriteReply::Create2));
        let multi = WriteOp::Multi(vec![create(CreateMode::Ephemeral), create(CreateMode::PersistentWithTtl)]);
        assert_eq!(WriteReply::for_op(OpCode::Multi, &multi), Some(WriteReply::Multi(vec![WriteReply::Create, WriteReply::Create2])));
        assert_eq!(WriteReply::for_op(OpCode::GetData, &multi), None);
        assert_eq!(ReadReply::for_opcode(OpCode::GetChildren2), Some(ReadReply::GetChildren2));
        assert_eq!(ReadReply::for_opcode(OpCode::Create), None);
    }
}
