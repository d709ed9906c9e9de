//! Property tests: every record encodes and decodes back to itself, consuming
//! exactly the bytes it wrote, for arbitrary strings (nulls where the record
//! keeps them), byte buffers, ACL lists and Stat values.

use crate::acl::{Acl, Id};
use crate::proto::jute::{Reader, Record};
use crate::proto::multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
use crate::proto::opcode::OpCode;
use crate::proto::records::*;
use crate::tree::Stat;
use crate::zxid::{SessionId, Zxid};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use std::fmt::Debug;

fn round_trip<R: Record + PartialEq + Debug>(record: &R) -> Result<(), TestCaseError> {
    let bytes = record.to_bytes();
    let mut r = Reader::new(&bytes);
    let back = R::read(&mut r).map_err(|e| TestCaseError::fail(format!("{e} decoding {record:?}")))?;
    prop_assert_eq!(&back, record);
    prop_assert_eq!(r.remaining(), 0, "decoding consumed every byte written");
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "/[a-z0-9/]{0,12}", Just(String::new())]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..48)
}

fn zxid() -> impl Strategy<Value = Zxid> {
    any::<i64>().prop_map(Zxid::from_i64)
}

fn stat() -> impl Strategy<Value = Stat> {
    (zxid(), zxid(), any::<i64>(), any::<i64>(), any::<[i32; 3]>(), any::<i64>(), any::<[i32; 2]>(), zxid()).prop_map(
        |(czxid, mzxid, ctime_ms, mtime_ms, [version, cversion, aversion], ephemeral_owner, [data_length, num_children], pzxid)| Stat {
            czxid,
            mzxid,
            ctime_ms,
            mtime_ms,
            version,
            cversion,
            aversion,
            ephemeral_owner,
            data_length,
            num_children,
            pzxid,
        },
    )
}

fn id() -> impl Strategy<Value = Id> {
    (text(), text()).prop_map(|(scheme, id)| Id { scheme, id })
}

fn acl() -> impl Strategy<Value = Vec<Acl>> {
    vec((any::<i32>(), id()).prop_map(|(perms, id)| Acl { perms, id }), 0..4)
}

fn names() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..5)
}

fn create_request() -> impl Strategy<Value = CreateRequest> {
    (text(), option::of(bytes()), acl(), any::<i32>()).prop_map(|(path, data, acl, flags)| CreateRequest { path, data, acl, flags })
}

fn create_ttl_request() -> impl Strategy<Value = CreateTtlRequest> {
    (text(), option::of(bytes()), acl(), any::<i32>(), any::<i64>()).prop_map(|(path, data, acl, flags, ttl_ms)| CreateTtlRequest {
        path,
        data,
        acl,
        flags,
        ttl_ms,
    })
}

fn path_version() -> impl Strategy<Value = PathVersionRequest> {
    (text(), any::<i32>()).prop_map(|(path, version)| PathVersionRequest { path, version })
}

fn path_watch() -> impl Strategy<Value = PathWatchRequest> {
    (text(), any::<bool>()).prop_map(|(path, watch)| PathWatchRequest { path, watch })
}

fn set_data_request() -> impl Strategy<Value = SetDataRequest> {
    (text(), option::of(bytes()), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest { path, data, version })
}

fn write_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        (prop_oneof![Just(OpCode::Create), Just(OpCode::Create2), Just(OpCode::CreateContainer)], create_request())
            .prop_map(|(opcode, request)| MultiOp::Create { opcode, request }),
        create_ttl_request().prop_map(MultiOp::CreateTtl),
        path_version().prop_map(MultiOp::Delete),
        set_data_request().prop_map(MultiOp::SetData),
        path_version().prop_map(MultiOp::Check),
    ]
}

fn read_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![path_watch().prop_map(MultiOp::GetData), path_watch().prop_map(MultiOp::GetChildren)]
}

fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        text().prop_map(|path| MultiResult::Create(CreateResponse { path })),
        (text(), stat()).prop_map(|(path, stat)| MultiResult::Create2(Create2Response { path, stat })),
        Just(MultiResult::Delete),
        stat().prop_map(|stat| MultiResult::SetData(StatResponse { stat })),
        Just(MultiResult::Check),
        (option::of(bytes()), stat()).prop_map(|(data, stat)| MultiResult::GetData(GetDataResponse { data, stat })),
        names().prop_map(|paths| MultiResult::GetChildren(PathsResponse { paths })),
        any::<i32>().prop_map(MultiResult::Error),
    ]
}

proptest! {
    // Data records: Stat, Id, ACL, ClientInfo.
    #[test]
    fn data_records(s in stat(), i in id(), a in acl(), scheme in text(), user in text()) {
        round_trip(&s)?;
        round_trip(&i)?;
        for entry in &a {
            round_trip(entry)?;
        }
        round_trip(&ClientInfo { auth_scheme: scheme, user })?;
    }

    // Headers.
    #[test]
    fn headers(xid: i32, opcode: i32, z in zxid(), err: i32, done: bool) {
        round_trip(&RequestHeader { xid, opcode })?;
        round_trip(&ReplyHeader { xid, zxid: z, err })?;
        round_trip(&MultiHeader { opcode, done, err })?;
    }

    // The handshake, with and without the trailing readOnly byte.
    #[test]
    fn connect(pv: i32, z in zxid(), timeout_ms: i32, session: i64, passwd in bytes(), read_only in option::of(any::<bool>())) {
        let request = ConnectRequest { protocol_version: pv, last_zxid_seen: z, timeout_ms, session_id: SessionId(session), passwd: passwd.clone(), read_only };
        round_trip(&request)?;
        round_trip(&ConnectResponse { protocol_version: pv, timeout_ms, session_id: SessionId(session), passwd, read_only })?;
    }

    // Create requests, both layouts.
    #[test]
    fn creates(c in create_request(), t in create_ttl_request()) {
        round_trip(&c)?;
        round_trip(&t)?;
    }

    // The small path-keyed requests.
    #[test]
    fn path_requests(pv in path_version(), pw in path_watch(), path in text(), prefix in option::of(text())) {
        round_trip(&pv)?;
        round_trip(&pw)?;
        round_trip(&PathRequest { path })?;
        round_trip(&GetEphemeralsRequest { prefix_path: prefix })?;
    }

    // setData, setACL, reconfig, auth and sasl requests, nulls included.
    #[test]
    fn other_requests(
        sd in set_data_request(),
        path in text(),
        a in acl(),
        version: i32,
        strings in (option::of(text()), option::of(text()), option::of(text())),
        config_id: i64,
        scheme in text(),
        auth in option::of(bytes()),
        auth_type: i32,
    ) {
        round_trip(&sd)?;
        round_trip(&SetAclRequest { path, acl: a, version })?;
        round_trip(&ReconfigRequest { joining_servers: strings.0, leaving_servers: strings.1, new_members: strings.2, cur_config_id: config_id })?;
        round_trip(&AuthPacket { auth_type, scheme, auth: auth.clone() })?;
        round_trip(&SaslToken { token: auth })?;
    }

    // Every response body.
    #[test]
    fn responses(path in text(), s in stat(), data in option::of(bytes()), a in acl(), children in names(), n: i32, infos in vec((text(), text()), 0..4)) {
        round_trip(&PathResponse { path: path.clone() })?;
        round_trip(&Create2Response { path, stat: s })?;
        round_trip(&StatResponse { stat: s })?;
        round_trip(&GetDataResponse { data, stat: s })?;
        round_trip(&GetAclResponse { acl: a, stat: s })?;
        round_trip(&PathsResponse { paths: children.clone() })?;
        round_trip(&GetChildren2Response { children, stat: s })?;
        round_trip(&GetAllChildrenNumberResponse { total_number: n })?;
        round_trip(&ErrorResponse { err: n })?;
        let client_info = infos.into_iter().map(|(auth_scheme, user)| ClientInfo { auth_scheme, user }).collect();
        round_trip(&WhoAmIResponse { client_info })?;
    }

    // Watch records.
    #[test]
    fn watches(
        path in text(),
        event in 0usize..8,
        state in 0usize..KeeperState::ALL.len(),
        z in zxid(),
        lists in (names(), names(), names(), names(), names()),
        wt in 1i32..=5,
        recursive: bool,
    ) {
        let event_type = event_type_from_code(if event == 0 { -1 } else { event as i32 }).unwrap();
        round_trip(&WatcherEvent { event_type, state: KeeperState::ALL[state], path: path.clone() })?;
        let (data_watches, exist_watches, child_watches, persistent_watches, persistent_recursive_watches) = lists;
        round_trip(&SetWatches { relative_zxid: z, data_watches: data_watches.clone(), exist_watches: exist_watches.clone(), child_watches: child_watches.clone() })?;
        round_trip(&SetWatches2 { relative_zxid: z, data_watches, exist_watches, child_watches, persistent_watches, persistent_recursive_watches })?;
        round_trip(&WatchesRequest { path: path.clone(), watcher_type: WatcherType::from_code(wt).unwrap() })?;
        let mode = if recursive { AddWatchMode::PersistentRecursive } else { AddWatchMode::Persistent };
        round_trip(&AddWatchRequest { path, mode })?;
    }

    // Multi requests (all writes or all reads) and multi responses.
    #[test]
    fn multis(writes in vec(write_op(), 0..5), reads in vec(read_op(), 0..5), results in vec(multi_result(), 0..6)) {
        round_trip(&MultiRequest { ops: writes })?;
        round_trip(&MultiRequest { ops: reads })?;
        round_trip(&MultiResponse { results })?;
    }
}
