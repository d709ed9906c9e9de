//! Simulated clients: each holds a session on a random server and performs
//! creates (persistent, ephemeral, sequential), compare-and-set setData,
//! deletes, reads (some after a sync, some setting a watch), and closes its
//! session now and then and at the end, one operation at a time. On
//! connection loss it moves to another server and forgets its watches (it
//! does not re-register them). Every invocation and its completion (ok,
//! error, or unknown after a timeout or a lost connection), what each reply
//! showed, and every reply and watch event as it arrived go into the history
//! the checkers judge.

use crate::world::{Event, World};
use ensemble::peer::{Input, Output, ReplyBody};
use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{ClientRequest, ReadReply, WriteReply};
use ensemble::watch::EventType;
use ensemble::{acl, ConnId, CreateMode, ErrorCode, OpResult, ReadOp, ReadResult, ServerId, SessionId, Stat, WriteOp, Zxid};
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
    /// getData setting a data watch.
    WatchRead(String),
    /// exists setting a data watch (armed whether or not the node exists).
    Exists(String),
    /// Create an ephemeral node owned by the session; sequential if the flag is set (the server appends a suffix).
    CreateEphemeral(String, bool),
    /// Close the session: its ephemerals must go with it.
    CloseSession,
    /// Create a persistent sequential node under this prefix (never deleted).
    CreateSequential(String),
    /// A multi: check a shared key's version, and create a unique node; both
    /// happen or neither does.
    MultiCheckCreate {
        /// The shared key whose version is checked.
        key: String,
        /// The version expected (-1 for any, which still needs the key to exist).
        version: i32,
        /// The node created if the check passes; no one deletes it.
        unique: String,
    },
}

impl Op {
    /// The znode the operation names, if any (for a sequential create, the prefix asked for).
    pub fn path(&self) -> Option<&str> {
        match self {
            Op::CreateUnique(p)
            | Op::Create(p)
            | Op::SetData(p, _)
            | Op::Delete(p)
            | Op::Read(p, _)
            | Op::WatchRead(p)
            | Op::Exists(p)
            | Op::CreateEphemeral(p, _)
            | Op::CreateSequential(p) => Some(p),
            // The key is only checked, not written: the created node is what the op writes.
            Op::MultiCheckCreate { unique, .. } => Some(unique),
            Op::CloseSession => None,
        }
    }

    /// Whether the operation asks the leader for a transaction.
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Read(..) | Op::WatchRead(_) | Op::Exists(_))
    }
}

/// What a successful reply showed beyond its header zxid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// Nothing more (delete, sync, closeSession, or no reply yet).
    Nothing,
    /// getData: the data and Stat read.
    Data {
        /// The bytes.
        data: Vec<u8>,
        /// The node's Stat.
        stat: Stat,
    },
    /// exists or setData: the node's Stat.
    Stat(Stat),
    /// create2: the path created (with any sequential suffix) and its Stat.
    Created {
        /// The actual path.
        path: String,
        /// The new node's Stat.
        stat: Stat,
    },
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
    /// The session it ran on.
    pub session: SessionId,
    /// The connection it was sent on.
    pub conn: ConnId,
    /// The data it writes (creates and setData): unique in the run.
    pub data: Option<Vec<u8>>,
    /// What the reply showed, if it succeeded.
    pub observed: Observed,
}

impl Entry {
    /// A pending entry with nothing observed, for hand-built histories.
    pub fn new(client: usize, op: Op, invoked_ms: u64, session: SessionId, conn: ConnId) -> Entry {
        Entry { client, op, invoked_ms, completed_ms: None, outcome: Outcome::Pending, session, conn, data: None, observed: Observed::Nothing }
    }
}

/// Something a client received on a connection, in arrival order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// Which client.
    pub client: usize,
    /// On which connection.
    pub conn: ConnId,
    /// The session the connection carried.
    pub session: SessionId,
    /// When it arrived (virtual ms).
    pub at_ms: u64,
    /// What it was.
    pub message: Message,
}

/// A reply or a watch event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A reply to a request.
    Reply {
        /// The request's xid.
        xid: i32,
        /// The header zxid.
        zxid: Zxid,
        /// The history entry it completed (a sync before a read completes none).
        entry: Option<usize>,
    },
    /// A watch event.
    Notify {
        /// What happened.
        event_type: EventType,
        /// Where.
        path: String,
        /// The transaction that fired it.
        zxid: Zxid,
    },
}

/// Every operation of every client, in invocation order.
#[derive(Clone, Debug, Default)]
pub struct History {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Every reply and watch event, in the order clients received them.
    pub received: Vec<Received>,
    /// Sessions a server refused on reconnect (expired, as far as the client knows), with the client.
    pub refused: Vec<(usize, SessionId)>,
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
    let op = if client.ops_left == 1 {
        // The last operation ends the session, so that its ephemerals must vanish everywhere.
        Op::CloseSession
    } else {
        match client.rng.gen_range(0..23) {
            0..=3 => {
                client.uniques += 1;
                Op::CreateUnique(format!("/u{}-{}", client.id, client.uniques))
            }
            4..=6 => Op::Create(key),
            7..=9 => Op::SetData(key, if client.rng.gen_bool(0.5) { -1 } else { client.last_version }),
            10 | 11 => Op::Delete(key),
            12..=14 => Op::Read(key, client.rng.gen_bool(0.7)),
            15 => Op::WatchRead(key),
            16 => Op::Exists(key),
            17 | 18 => {
                client.uniques += 1;
                if client.rng.gen_bool(0.5) {
                    Op::CreateEphemeral(format!("/s{}-", client.id), true)
                } else {
                    Op::CreateEphemeral(format!("/e{}-{}", client.id, client.uniques), false)
                }
            }
            _ => match client.rng.gen_range(0..8) {
                0 | 1 => Op::CloseSession,
                2 => Op::CreateSequential(format!("/q{}-", client.id)),
                3 | 4 => {
                    client.uniques += 1;
                    let version = if client.rng.gen_bool(0.3) { -1 } else { client.last_version };
                    Op::MultiCheckCreate { key, version, unique: format!("/m{}-{}", client.id, client.uniques) }
                }
                _ => Op::Read(key, true),
            },
        }
    };
    client.ops_left -= 1;
    let session = client.session.as_ref().map_or(SessionId(0), |(s, _)| *s);
    if op == Op::CloseSession {
        // Whatever the answer, the next connection starts a fresh session.
        client.session = None;
    }
    let xid = client.next_xid;
    client.next_xid += 2;
    let data: Vec<u8> = format!("c{}x{}", c, xid).into_bytes();
    let mut requests = Vec::new();
    let mut written = None;
    let create = |path: &String, mode| ClientRequest::Write {
        op: WriteOp::Create { path: path.clone(), data: data.clone().into(), acl: acl::open_acl_unsafe(), mode, ttl_ms: None },
        reply: WriteReply::Create2,
    };
    match &op {
        Op::CreateUnique(path) | Op::Create(path) => {
            requests.push(create(path, CreateMode::Persistent));
            written = Some(data.clone());
        }
        Op::CreateSequential(prefix) => {
            requests.push(create(prefix, CreateMode::PersistentSequential));
            written = Some(data.clone());
        }
        Op::MultiCheckCreate { key, version, unique } => {
            let op = WriteOp::Multi(vec![
                WriteOp::Check { path: key.clone(), version: *version },
                WriteOp::Create { path: unique.clone(), data: data.clone().into(), acl: acl::open_acl_unsafe(), mode: CreateMode::Persistent, ttl_ms: None },
            ]);
            requests.push(ClientRequest::Write { op, reply: WriteReply::Multi(vec![WriteReply::Check, WriteReply::Create2]) });
            written = Some(data.clone());
        }
        Op::CreateEphemeral(path, sequential) => {
            requests.push(create(path, if *sequential { CreateMode::EphemeralSequential } else { CreateMode::Ephemeral }));
            written = Some(data.clone());
        }
        Op::SetData(path, version) => {
            requests.push(ClientRequest::Write { op: WriteOp::SetData { path: path.clone(), data: data.clone().into(), version: *version }, reply: WriteReply::SetData });
            written = Some(data.clone());
        }
        Op::Delete(path) => requests.push(ClientRequest::Write { op: WriteOp::Delete { path: path.clone(), version: -1 }, reply: WriteReply::Delete }),
        Op::Read(path, sync) => {
            if *sync {
                requests.push(ClientRequest::Sync { path: path.clone() });
            }
            requests.push(ClientRequest::Read { op: ReadOp::GetData { path: path.clone() }, watch: false, reply: ReadReply::GetData });
        }
        Op::WatchRead(path) => requests.push(ClientRequest::Read { op: ReadOp::GetData { path: path.clone() }, watch: true, reply: ReadReply::GetData }),
        Op::Exists(path) => requests.push(ClientRequest::Read { op: ReadOp::Exists { path: path.clone() }, watch: true, reply: ReadReply::Exists }),
        Op::CloseSession => requests.push(ClientRequest::CloseSession),
    }
    let n = requests.len() as i32;
    let final_xid = xid + n - 1;
    let mut entry = Entry::new(c, op, w.now, session, conn);
    entry.data = written;
    w.history.entries.push(entry);
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
    let session = w.clients[c].session.as_ref().map_or(SessionId(0), |(s, _)| *s);
    match output {
        Output::Connected { response, .. } => {
            if response.session_id.0 == 0 {
                // The session expired or was refused: start a fresh one next time.
                if let Some((old, _)) = w.clients[c].session.take() {
                    w.history.refused.push((c, old));
                }
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
            let now = w.now;
            let client = &mut w.clients[c];
            client.last_zxid_seen = client.last_zxid_seen.max(reply.zxid);
            let completes = client.pending.filter(|(_, xid)| *xid == reply.xid).map(|(index, _)| index);
            // The session is the one the operation ran on (a closeSession forgets it at once).
            let session = completes.map_or(session, |i| w.history.entries[i].session);
            w.history.received.push(Received { client: c, conn, session, at_ms: now, message: Message::Reply { xid: reply.xid, zxid: reply.zxid, entry: completes } });
            let Some(index) = completes else { return };
            let client = &mut w.clients[c];
            client.pending = None;
            let (outcome, observed) = judge(&reply.body, reply.zxid);
            match &observed {
                Observed::Data { stat, .. } | Observed::Stat(stat) | Observed::Created { stat, .. } => client.last_version = stat.version,
                Observed::Nothing => {}
            }
            w.trace_line(format!("client {c} op {index} {outcome:?}"));
            let entry = &mut w.history.entries[index];
            entry.outcome = outcome;
            entry.observed = observed;
            entry.completed_ms = Some(now);
            let acked_write = entry.op.is_write() && matches!(entry.outcome, Outcome::Ok(_));
            if acked_write {
                w.on_write_acked(c, index);
            }
            let entry = &w.history.entries[index];
            if entry.op == Op::CloseSession {
                // The server closes the connection after this reply; the next operation needs a new session.
                drop_conn(w, c, conn, server);
            }
        }
        Output::Notify { event_type, path, zxid, .. } => {
            w.history.received.push(Received { client: c, conn, session, at_ms: w.now, message: Message::Notify { event_type, path, zxid } });
        }
        Output::Close { .. } => {
            w.trace_line(format!("client {c} closed by {}", server.0));
            drop_conn(w, c, conn, server);
        }
        Output::Send { .. } | Output::Persist(_) => {}
    }
}

/// The outcome of a reply and what it showed.
fn judge(body: &ReplyBody, zxid: Zxid) -> (Outcome, Observed) {
    match body {
        ReplyBody::Write { result: OpResult::Error(code), .. } => (Outcome::Error(*code), Observed::Nothing),
        // A failed multi holds only errors: the first that is not a mere "rolled back" names the cause.
        ReplyBody::Write { result: OpResult::Multi(results), .. } if results.iter().any(|r| matches!(r, OpResult::Error(_))) => {
            let cause = results
                .iter()
                .find_map(|r| match r {
                    OpResult::Error(code) if !matches!(code, ErrorCode::Ok | ErrorCode::RuntimeInconsistency) => Some(*code),
                    _ => None,
                })
                .unwrap_or(ErrorCode::RuntimeInconsistency);
            (Outcome::Error(cause), Observed::Nothing)
        }
        ReplyBody::Write { result: OpResult::Multi(results), .. } => match results.iter().find_map(|r| match r {
            OpResult::Created { path, stat } => Some((path.clone(), *stat)),
            _ => None,
        }) {
            Some((path, stat)) => (Outcome::Ok(zxid), Observed::Created { path, stat }),
            None => (Outcome::Ok(zxid), Observed::Nothing),
        },
        ReplyBody::Write { result: OpResult::DataSet { stat }, .. } => (Outcome::Ok(zxid), Observed::Stat(*stat)),
        ReplyBody::Write { result: OpResult::Created { path, stat }, .. } => (Outcome::Ok(zxid), Observed::Created { path: path.clone(), stat: *stat }),
        ReplyBody::Read { result: Err(code), .. } => (Outcome::Error(*code), Observed::Nothing),
        ReplyBody::Read { result: Ok(ReadResult::Data { data, stat }), .. } => (Outcome::Ok(zxid), Observed::Data { data: data.to_vec(), stat: *stat }),
        ReplyBody::Read { result: Ok(ReadResult::Stat(stat)), .. } => (Outcome::Ok(zxid), Observed::Stat(*stat)),
        ReplyBody::Error(code) => (Outcome::Error(*code), Observed::Nothing),
        _ => (Outcome::Ok(zxid), Observed::Nothing),
    }
}

/// The server under the connection crashed.
pub(crate) fn on_conn_lost(w: &mut World, c: usize, conn: ConnId) {
    if w.clients[c].conn.is_some_and(|(current, _, _)| current == conn) {
        w.trace_line(format!("client {c} connection lost"));
        lose(w, c);
    }
}
