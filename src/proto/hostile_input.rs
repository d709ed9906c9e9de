//! Property tests: hostile bytes never panic a decoder. Arbitrary input, and
//! valid frames cut short or with a byte changed, go through every record
//! decoder, the request decoder for every opcode, and the frame splitter.

use crate::acl;
use crate::proto::frame::{Frame, FrameDecoder};
use crate::proto::jute::{Reader, Record, Writer};
use crate::proto::multi::{MultiOp, MultiRequest, MultiResponse};
use crate::proto::opcode::OpCode;
use crate::proto::records::*;
use crate::proto::request::{decode_body, decode_connect_request, decode_request};
use proptest::prelude::*;

/// Runs every decoder over `bytes`, ignoring the results: only panics matter.
fn decode_everything(bytes: &[u8]) {
    fn each<R: Record>(bytes: &[u8]) {
        let _ = R::from_bytes(bytes);
    }
    each::<crate::tree::Stat>(bytes);
    each::<acl::Id>(bytes);
    each::<acl::Acl>(bytes);
    each::<ClientInfo>(bytes);
    each::<RequestHeader>(bytes);
    each::<ReplyHeader>(bytes);
    each::<MultiHeader>(bytes);
    each::<ConnectRequest>(bytes);
    each::<ConnectResponse>(bytes);
    each::<CreateRequest>(bytes);
    each::<CreateTtlRequest>(bytes);
    each::<PathVersionRequest>(bytes);
    each::<PathWatchRequest>(bytes);
    each::<PathRequest>(bytes);
    each::<SetDataRequest>(bytes);
    each::<SetAclRequest>(bytes);
    each::<ReconfigRequest>(bytes);
    each::<AuthPacket>(bytes);
    each::<SaslToken>(bytes);
    each::<GetEphemeralsRequest>(bytes);
    each::<PathResponse>(bytes);
    each::<Create2Response>(bytes);
    each::<StatResponse>(bytes);
    each::<GetDataResponse>(bytes);
    each::<GetAclResponse>(bytes);
    each::<PathsResponse>(bytes);
    each::<GetChildren2Response>(bytes);
    each::<GetAllChildrenNumberResponse>(bytes);
    each::<ErrorResponse>(bytes);
    each::<WhoAmIResponse>(bytes);
    each::<WatcherEvent>(bytes);
    each::<SetWatches>(bytes);
    each::<SetWatches2>(bytes);
    each::<WatchesRequest>(bytes);
    each::<AddWatchRequest>(bytes);
    each::<MultiRequest>(bytes);
    each::<MultiResponse>(bytes);
    let _ = decode_connect_request(bytes);
    let _ = decode_request(bytes);
    for opcode in (-12..=22).chain(100..=108) {
        let _ = decode_body(opcode, &mut Reader::new(bytes));
    }
    let mut splitter = FrameDecoder::default();
    splitter.feed(bytes);
    while let Ok(Some(frame)) = splitter.next_frame() {
        if let Frame::Packet(body) = frame {
            let _ = decode_request(&body);
        }
    }
}

/// A few valid request frames (without length prefix) to mutate.
fn valid_frames() -> Vec<Vec<u8>> {
    let frame = |opcode: OpCode, body: &dyn Fn(&mut Writer<'_>)| {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.record(&RequestHeader { xid: 1, opcode: opcode.code() });
        body(&mut w);
        out
    };
    let create = CreateRequest { path: "/a/b".into(), data: Some(b"data".to_vec()), acl: acl::open_acl_unsafe(), flags: 2 };
    let multi = MultiRequest {
        ops: vec![
            MultiOp::Create { opcode: OpCode::Create, request: create.clone() },
            MultiOp::Delete(PathVersionRequest { path: "/x".into(), version: 1 }),
            MultiOp::SetData(SetDataRequest { path: "/y".into(), data: None, version: -1 }),
        ],
    };
    let set_watches = SetWatches2 {
        data_watches: vec!["/d".into()],
        persistent_recursive_watches: vec!["/r".into(), "/s".into()],
        ..SetWatches2::default()
    };
    vec![
        frame(OpCode::Create, &|w| w.record(&create)),
        frame(OpCode::Multi, &|w| w.record(&multi)),
        frame(OpCode::SetWatches2, &|w| w.record(&set_watches)),
        frame(OpCode::Auth, &|w| w.record(&AuthPacket { auth_type: 0, scheme: "digest".into(), auth: Some(b"u:p".to_vec()) })),
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: crate::Zxid::new(1, 1),
            timeout_ms: 1,
            session_id: crate::SessionId(3),
            passwd: vec![1; 16],
            read_only: Some(false),
        }
        .to_bytes(),
    ]
}

proptest! {
    // Arbitrary bytes never panic any decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        decode_everything(&bytes);
    }

    // A known opcode with an arbitrary body never panics, whatever the body says.
    #[test]
    fn arbitrary_bodies_never_panic(opcode in prop::sample::select(vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 100, 101, 102, 103, 104, 105, 106, 107, -11]), body in proptest::collection::vec(any::<u8>(), 0..128)) {
        let mut frame = Vec::new();
        RequestHeader { xid: 1, opcode }.write(&mut Writer::new(&mut frame));
        frame.extend(body);
        let _ = decode_request(&frame);
    }

    // Valid frames cut short or with one byte changed never panic any decoder.
    #[test]
    fn mutated_frames_never_panic(which in 0usize..5, cut in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), value: u8) {
        let frame = &valid_frames()[which];
        decode_everything(&frame[..cut.index(frame.len() + 1)]);
        let mut changed = frame.clone();
        changed[at.index(frame.len())] = value;
        decode_everything(&changed);
    }
}

// Lengths claiming far more than the input holds fail fast instead of allocating.
#[test]
fn huge_declared_lengths_fail_fast() {
    let mut frame = Vec::new();
    let mut w = Writer::new(&mut frame);
    w.record(&RequestHeader { xid: 1, opcode: OpCode::SetWatches.code() });
    w.long(0);
    w.int(i32::MAX);
    let err = decode_request(&frame).unwrap().body.unwrap_err();
    assert_eq!(err.field, "SetWatches.dataWatches");
    assert!(matches!(err.kind, crate::proto::DecodeErrorKind::LengthExceedsInput { .. }));
}
