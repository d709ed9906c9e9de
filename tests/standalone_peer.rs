//! Proves the standalone write path and client semantics of `Peer` without any
//! IO: nothing is answered before it is durable, replies keep request order,
//! watch events precede the replies that show their change, and sessions
//! expire with their ephemerals.

use ensemble::acl;
use ensemble::peer::{Input, Output, Peer, PeerConfig, Persist, ReplyBody};
use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{ClientRequest as Request, ReadReply, WriteReply};
use ensemble::watch::EventType;
use ensemble::{ConnId, CreateMode, DataTree, OpResult, ReadOp, ReadResult, ServerId, SessionId, WriteOp, Zxid};

/// A host that records outputs and reports durability only when told.
struct Host {
    peer: Peer,
    now: u64,
    unsynced: Vec<Zxid>,
    seen: Vec<Output>,
}

impl Host {
    fn new() -> Host {
        let mut config = PeerConfig::new(ServerId(1), 2_000);
        config.container_check_interval_ms = 1_000;
        config.prep.extended_types_enabled = true;
        Host { peer: Peer::new(config, DataTree::new(), 1_000_000), now: 1_000_000, unsynced: Vec::new(), seen: Vec::new() }
    }

    fn feed(&mut self, input: Input) -> Vec<Output> {
        self.peer.handle(self.now, input);
        let mut out = Vec::new();
        while let Some(o) = self.peer.poll_output() {
            if let Output::Persist(Persist::Txn(t)) = &o {
                self.unsynced.push(t.zxid);
            }
            out.push(o);
        }
        self.peer.check_invariants();
        self.seen.extend(out.iter().cloned());
        out
    }

    fn sync(&mut self) -> Vec<Output> {
        let Some(last) = self.unsynced.last().copied() else { return Vec::new() };
        self.unsynced.clear();
        self.feed(Input::Durable { zxid: last })
    }

    fn connect(&mut self, conn: u64) -> SessionId {
        self.feed(Input::Connected { conn: ConnId(conn), remote_ip: "127.0.0.1".into() });
        let request = connect_request(SessionId(0), vec![0; 16]);
        let before = self.feed(Input::Connect { conn: ConnId(conn), request });
        assert!(!before.iter().any(|o| matches!(o, Output::Connected { .. })), "session answered before createSession was durable");
        let after = self.sync();
        match after.iter().find(|o| matches!(o, Output::Connected { .. })) {
            Some(Output::Connected { response, .. }) => response.session_id,
            _ => panic!("no connect response: {after:?}"),
        }
    }

    fn send(&mut self, conn: u64, xid: i32, request: Request) -> Vec<Output> {
        self.feed(Input::Request { conn: ConnId(conn), xid, request })
    }
}

fn connect_request(session: SessionId, passwd: Vec<u8>) -> ConnectRequest {
    ConnectRequest { protocol_version: 0, last_zxid_seen: Zxid::ZERO, timeout_ms: 4_000, session_id: session, passwd, read_only: Some(false) }
}

fn write(op: WriteOp) -> Request {
    Request::Write { op, reply: WriteReply::Create2 }
}

fn get_data(path: &str, watch: bool) -> Request {
    Request::Read { op: ReadOp::GetData { path: path.into() }, watch, reply: ReadReply::GetData }
}

fn create(path: &str, mode: CreateMode) -> Request {
    write(WriteOp::Create { path: path.into(), data: b"d".as_slice().into(), acl: acl::open_acl_unsafe(), mode, ttl_ms: mode.is_ttl().then_some(1_000) })
}

fn replies(outputs: &[Output]) -> Vec<(i32, ReplyBody)> {
    outputs.iter().filter_map(|o| if let Output::Reply { reply, .. } = o { Some((reply.xid, reply.body.clone())) } else { None }).collect()
}

// A write is answered only after the host reports it durable, and a read queued
// behind it waits, so replies come in request order.
#[test]
fn write_waits_for_durability_and_order_holds() {
    let mut h = Host::new();
    h.connect(1);
    let out = h.send(1, 1, create("/a", CreateMode::Persistent));
    assert!(replies(&out).is_empty());
    let out = h.send(1, 2, get_data("/a", false));
    assert!(replies(&out).is_empty(), "read overtook an earlier write of the same session");
    let out = h.sync();
    let r = replies(&out);
    assert_eq!(r.len(), 2);
    assert!(matches!(&r[0], (1, ReplyBody::Write { result: OpResult::Created { path, .. }, .. }) if path == "/a"));
    assert!(matches!(&r[1], (2, ReplyBody::Read { result: Ok(ReadResult::Data { .. }), .. })));
}

// A data watch set by one client fires before that client's next reply, and only once.
#[test]
fn watch_event_precedes_reply() {
    let mut h = Host::new();
    h.connect(1);
    h.connect(2);
    h.send(1, 1, create("/w", CreateMode::Persistent));
    h.sync();
    h.send(2, 1, get_data("/w", true));
    h.send(1, 2, write(WriteOp::SetData { path: "/w".into(), data: b"x".as_slice().into(), version: -1 }));
    h.send(2, 2, get_data("/w", false));
    let out = h.sync();
    let to_2: Vec<&Output> = out.iter().filter(|o| matches!(o, Output::Notify { conn, .. } | Output::Reply { conn, .. } if *conn == ConnId(2))).collect();
    assert!(matches!(to_2.first(), Some(Output::Notify { event_type: EventType::NodeDataChanged, .. })), "{to_2:?}");
    h.send(1, 3, write(WriteOp::SetData { path: "/w".into(), data: b"y".as_slice().into(), version: -1 }));
    let out = h.sync();
    assert!(!out.iter().any(|o| matches!(o, Output::Notify { .. })), "one-shot watch fired twice");
}

// An expired session's ephemerals are deleted by the closeSession txn, and its connection is closed.
#[test]
fn expiry_removes_ephemerals() {
    let mut h = Host::new();
    let session = h.connect(1);
    h.send(1, 1, create("/e", CreateMode::Ephemeral));
    h.sync();
    assert!(h.peer.tree().node("/e").is_some());
    h.now += 10_000;
    h.feed(Input::Tick);
    h.sync();
    assert!(h.peer.tree().node("/e").is_none());
    assert!(h.peer.sessions().get(session).is_none());
    assert!(h.seen.iter().any(|o| matches!(o, Output::Close { conn: ConnId(1), .. })));
}

// A client resuming its session with the right password keeps it; a wrong password gets the expired answer.
#[test]
fn reconnect_checks_password() {
    let mut h = Host::new();
    let session = h.connect(1);
    let password = h.seen.iter().find_map(|o| if let Output::Connected { response, .. } = o { Some(response.passwd.clone()) } else { None }).unwrap();
    h.feed(Input::Connected { conn: ConnId(2), remote_ip: "127.0.0.1".into() });
    let out = h.feed(Input::Connect { conn: ConnId(2), request: connect_request(session, password) });
    assert!(matches!(&out[..], [Output::Close { conn: ConnId(1), .. }, Output::Connected { conn: ConnId(2), response }] if response.session_id == session));
    h.feed(Input::Connected { conn: ConnId(3), remote_ip: "127.0.0.1".into() });
    let out = h.feed(Input::Connect { conn: ConnId(3), request: connect_request(session, vec![1; 16]) });
    assert!(out.iter().any(|o| matches!(o, Output::Connected { response, .. } if response.session_id == SessionId(0) && response.timeout_ms == 0)));
    assert!(out.iter().any(|o| matches!(o, Output::Close { conn: ConnId(3), .. })));
}

// Containers that lose their last child and expired TTL nodes are removed by the cleanup timer.
#[test]
fn container_and_ttl_cleanup() {
    let mut h = Host::new();
    h.connect(1);
    h.send(1, 1, create("/c", CreateMode::Container));
    h.send(1, 2, create("/c/x", CreateMode::Persistent));
    h.send(1, 3, write(WriteOp::Delete { path: "/c/x".into(), version: -1 }));
    h.send(1, 4, create("/t", CreateMode::PersistentWithTtl));
    h.sync();
    h.now += 1_500;
    h.send(1, 5, Request::Ping);
    h.feed(Input::Tick);
    h.sync();
    assert!(h.peer.tree().node("/c").is_none());
    assert!(h.peer.tree().node("/t").is_none());
}
