//! Simulated clients: each holds a session on a random server and performs
//! creates, compare-and-set setData, deletes and reads (some after a sync),
//! one at a time. On connection loss it moves to another server. Every
//! invocation and its completion (ok, error, or unknown after a timeout or a
//! lost connection) goes into the history the checkers judge.

use crate::world::{Event, World};
use ensemble::peer::{Input, Output, ReplyBody};
use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{ClientRequest, ReadReply, WriteReply};
use ensemble::{acl, ConnId, CreateMode, ErrorCode, OpResult, ReadOp, ReadResult, ServerId, SessionId, WriteOp, Zxid};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// How long a client waits for an answer before it gives up on the server.
const REQUEST_TIMEOUT_MS: u64 = 4_000;
/// The session timeout clients ask for.
const SESSION_TIMEOUT_MS: i32 = 10_000;
/// Shared keys that creates, setData and deletes race on.
const KEYS: u32 = 3;

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Create a node no one ever deletes: once acknowledged it must exist forever.
    CreateUnique(String),
    /// Create a shared key.
    Create(String),
    /// setData with an expected version (-1 for any).
    SetData(String, i32),
    /// Delete a shared key.
    Delete(String),
    /// getData, optionally after a sync.
    Read(String, bool),
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not yet answered.
    Pending,
    /// Succeeded at this zxid (the reply header's).
    Ok(Zxid),
    /// Failed with a ZooKeeper error code: definitely did not happen.
    Error(ErrorCode),
    /// Timed out or lost its connection: may or may not have happened.
    Unknown,
}

/// One operation of one client.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Which client.
    pub client: usize,
    /// The operation.
    pub op: Op,
    /// When it was invoked (virtual ms).
    pub invoked_ms: u64,
    /// When it completed.
    pub completed_ms: Option<u64>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Every operation of every client, in invocation order.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The entries.
    pub entries: Vec<Entry>,
}

impl History {
    /// Operations that completed ok.
    pub fn ok_count(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Ok(_)))
    }

    /// Operations whose outcome satisfies `f`.
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.entries.iter().filter(|e| f(&e.outcome)).count()
    }
}

/// One simulated client.
pub struct Client {
    id: usize,
    rng: ChaCha8Rng,
    ops_left: usize,
    session: Option<(SessionId, Vec<u8>)>,
    conn: Option<(ConnId, ServerId, u64)>,
    handshake_done: bool,
    /// (index in the history, xid that completes it)
    pending: Option<(usize, i32)>,
    next_xid: i32,
    uniques: usize,
    last_zxid_seen: Zxid,
    last_version: i32,
}

impl Client {
    /// A client with its own RNG stream.
    pub fn new(id: usize, rng: ChaCha8Rng, ops: usize) -> Client {
        Client { id, rng, ops_left: ops, session: None, conn: None, handshake_done: false, pending: None, next_xid: 1, uniques: 0, last_zxid_seen: Zxid::ZERO, last_version: -1 }
    }

    /// Whether the client finished its workload.
    pub fn done(&self) -> bool {
        self.ops_left == 0 && self.pending.is_none()
    }
}

/// The client's periodic wake-up: connect, time out, or invoke the next operation.
pub(crate) fn on_wake(w: &mut World, c: usize) {
    let now = w.now;
    if w.clients[c].done() {
        return;
    }
    match w.clients[c].conn {
        None => connect(w, c),
        Some((conn, server, since)) => {
            let waiting = !w.clients[c].handshake_done || w.clients[c].pending.is_some();
            if waiting && now.saturating_sub(since) >= REQUEST_TIMEOUT_MS {
                w.trace_line(format!("client {c} timeout"));
                drop_conn(w, c, conn, server);
            } else if w.clients[c].handshake_done && w.clients[c].pending.is_none() && w.clients[c].ops_left > 0 {
                invoke(w, c, conn, server);
            }
        }
    }
    let delay = w.clients[c].rng.gen_range(20..80);
    w.schedule(delay, Event::ClientWake { client: c });
}

fn connect(w: &mut World, c: usize) {
    let servers: Vec<ServerId> = w.nodes.keys().copied().collect();
    let server = servers[w.clients[c].rng.gen_range(0..servers.len())];
    let conn = w.open_conn(c, server);
    let client = &mut w.clients[c];
    client.conn = Some((conn, server, w.now));
    client.handshake_done = false;
    let (session_id, passwd) = client.session.clone().unwrap_or((SessionId(0), vec![0; 16]));
    let request = ConnectRequest { protocol_version: 0, last_zxid_seen: client.last_zxid_seen, timeout_ms: SESSION_TIMEOUT_MS, session_id, passwd, read_only: Some(false) };
    w.send_to_server(server, conn, Input::Connected { conn, remote_ip: format!("10.1.0.{c}") });
    w.send_to_server(server, conn, Input::Connect { conn, request });
}

/// Gives up on a connection: a pending operation becomes unknown.
fn drop_conn(w: &mut World, c: usize, conn: ConnId, server: ServerId) {
    w.conns.remove(&conn);
    w.send_to_server(server, conn, Input::Disconnected { conn });
    lose(w, c);
}

fn lose(w: &mut World, c: usize) {
    let now = w.now;
    let client = &mut w.clients[c];
    client.conn = None;
    client.handshake_done = false;
    if let Some((i, _)) = client.pending.take() {
        w.history.entries[i].outcome = Outcome::Unknown;
        w.history.entries[i].completed_ms = Some(now);
        w.trace_line(format!("client {c} op {i} unknown"));
    }
}

fn invoke(w: &mut World, c: usize, conn: ConnId, server: ServerId) {
    let client = &mut w.clients[c];
    let key = format!("/k{}", client.rng.gen_range(0..KEYS));
    let op = match client.rng.gen_range(0..10) {
        0..=2 => {
            client.uniques += 1;
            Op::CreateUnique(format!("/u{}-{}", client.id, client.uniques))
        }
        3 | 4 => Op::Create(key),
        5 | 6 => Op::SetData(key, if client.rng.gen_bool(0.5) { -1 } else { client.last_version }),
        7 => Op::Delete(key),
        _ => Op::Read(key, client.rng.gen_bool(0.5)),
    };
    client.ops_left -= 1;
    let xid = client.next_xid;
    client.next_xid += 2;
    let data: Vec<u8> = format!("c{}x{}", c, xid).into_bytes();
    let mut requests = Vec::new();
    match &op {
        Op::CreateUnique(path) | Op::Create(path) => requests.push(ClientRequest::Write {
            op: WriteOp::Create { path: path.clone(), data: data.into(), acl: acl::open_acl_unsafe(), mode: CreateMode::Persistent, ttl_ms: None },
            reply: WriteReply::Create2,
        }),
        Op::SetData(path, version) => requests.push(ClientRequest::Write { op: WriteOp::SetData { path: path.clone(), data: data.into(), version: *version }, reply: WriteReply::SetData }),
        Op::Delete(path) => requests.push(ClientRequest::Write { op: WriteOp::Delete { path: path.clone(), version: -1 }, reply: WriteReply::Delete }),
        Op::Read(path, sync) => {
            if *sync {
                requests.push(ClientRequest::Sync { path: path.clone() });
            }
            requests.push(ClientRequest::Read { op: ReadOp::GetData { path: path.clone() }, watch: false, reply: ReadReply::GetData });
        }
    }
    let n = requests.len() as i32;
    let final_xid = xid + n - 1;
    w.history.entries.push(Entry { client: c, op, invoked_ms: w.now, completed_ms: None, outcome: Outcome::Pending });
    let index = w.history.entries.len() - 1;
    w.clients[c].pending = Some((index, final_xid));
    w.clients[c].conn = Some((conn, server, w.now));
    for (k, request) in requests.into_iter().enumerate() {
        w.send_to_server(server, conn, Input::Request { conn, xid: xid + k as i32, request });
    }
}

/// A server's output reached the client.
pub(crate) fn on_output(w: &mut World, c: usize, conn: ConnId, output: Output) {
    let Some((current, server, _)) = w.clients[c].conn else { return };
    if current != conn {
        return;
    }
    match output {
        Output::Connected { response, .. } => {
            if response.session_id.0 == 0 {
                // The session expired or was refused: start a fresh one next time.
                w.clients[c].session = None;
                w.trace_line(format!("client {c} session refused"));
                drop_conn(w, c, conn, server);
            } else {
                let client = &mut w.clients[c];
                client.session = Some((response.session_id, response.passwd.clone()));
                client.handshake_done = true;
                client.conn = Some((conn, server, w.now));
            }
        }
        Output::Reply { reply, .. } => {
            let client = &mut w.clients[c];
            client.last_zxid_seen = client.last_zxid_seen.max(reply.zxid);
            let Some((index, xid)) = client.pending else { return };
            if reply.xid != xid {
                return;
            }
            client.pending = None;
            let outcome = match &reply.body {
                ReplyBody::Write { result: OpResult::Error(code), .. } => Outcome::Error(*code),
                ReplyBody::Write { result, .. } => {
                    if let OpResult::DataSet { stat } = result {
                        client.last_version = stat.version;
                    }
                    Outcome::Ok(reply.zxid)
                }
                ReplyBody::Read { result: Err(code), .. } => Outcome::Error(*code),
                ReplyBody::Read { result: Ok(r), .. } => {
                    if let ReadResult::Data { stat, .. } = r {
                        client.last_version = stat.version;
                    }
                    Outcome::Ok(reply.zxid)
                }
                ReplyBody::Error(code) => Outcome::Error(*code),
                _ => Outcome::Ok(reply.zxid),
            };
            w.trace_line(format!("client {c} op {index} {outcome:?}"));
            w.history.entries[index].outcome = outcome;
            w.history.entries[index].completed_ms = Some(w.now);
        }
        Output::Close { .. } => {
            w.trace_line(format!("client {c} closed by {}", server.0));
            drop_conn(w, c, conn, server);
        }
        Output::Notify { .. } | Output::Send { .. } | Output::Persist(_) => {}
    }
}

/// The server under the connection crashed.
pub(crate) fn on_conn_lost(w: &mut World, c: usize, conn: ConnId) {
    if w.clients[c].conn.is_some_and(|(current, _, _)| current == conn) {
        w.trace_line(format!("client {c} connection lost"));
        lose(w, c);
    }
}
