//! The server: a tokio client port, the quorum transport, the durable log,
//! snapshots and the real clock around one `Peer`. This file translates and
//! carries: bytes to decoded requests, engine outputs to bytes, quorum frames
//! to `Input::Message`, broken quorum links to `Input::PeerLost`, and disk
//! completions to `Input::Durable` / `Input::WriteDurable`. Every decision is
//! the engine's.
//!
//! With no `server.N` lines the server is standalone, as it always was. With
//! them it is a member of an ensemble: it recovers the snapshot, the log and
//! the epoch files into `Peer::recover`, listens on its quorumPort (see
//! `quorum.rs`), and performs every `Persist` output, in order, on one disk
//! thread (see `disk.rs`).

use crate::peer::{Input, Output, Peer, PeerConfig, RecoveredState, Reply, ReplyBody, Role};
use crate::prep::PrepConfig;
use crate::proto::records::{KeeperState, WatcherEvent};
use crate::proto::{self, ClientRequest, Frame, FrameDecoder, OpCode};
use crate::runtime::config::{LearnerType, ServerConfig};
use crate::runtime::disk::{Disk, DiskEvent};
use crate::runtime::quorum::{QuorumEvent, QuorumTransport};
use crate::runtime::four_letter::{self, ConnectionInfo, Report};
use crate::runtime::storage;
use crate::zxid::{ConnId, ServerId};
use crate::ErrorCode;
use rand::RngCore;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Bytes queued for one connection before it is treated as too slow and closed.
const CONNECTION_SEND_QUEUE: usize = 4_096;

/// What a connection task tells the server loop.
enum ConnEvent {
    Handshake(ConnId, proto::records::ConnectRequest),
    Request(ConnId, i32, ClientRequest),
    FourLetterWord(ConnId, &'static str),
    Closed(ConnId),
}

/// What the server loop tells a connection task.
enum ConnCommand {
    Send(Vec<u8>),
    Close,
}

struct ConnHandle {
    remote: SocketAddr,
    tx: mpsc::Sender<ConnCommand>,
}

/// Runs a server until Ctrl-C (or the shutdown future) completes.
pub async fn run(config: ServerConfig, shutdown: impl std::future::Future<Output = ()>) -> io::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir)?;
    std::fs::create_dir_all(&config.data_log_dir)?;
    let recovered = storage::recover(&config.data_dir, &config.data_log_dir).map_err(|e| io::Error::other(e.to_string()))?;
    info!(last_zxid = %recovered.last_zxid, snapshot = ?recovered.snapshot_zxid, nodes = recovered.tree.node_count(), "recovered");

    let mut peer_config = PeerConfig::new(config.my_id.unwrap_or(ServerId(0)), config.tick_time_ms);
    peer_config.min_session_timeout_ms = config.min_session_timeout_ms;
    peer_config.max_session_timeout_ms = config.max_session_timeout_ms;
    peer_config.prep = PrepConfig { extended_types_enabled: config.extended_types_enabled };
    peer_config.super_digest = config.super_digest.clone();
    peer_config.snap_count = config.snap_count;
    peer_config.password_seed = rand::rngs::OsRng.next_u64();
    peer_config.outstanding_limit = config.global_outstanding_limit as usize;
    peer_config.container_check_interval_ms = config.container_check_interval_ms;
    let ensemble = !config.servers.is_empty();
    let (quorum_tx, mut quorum_rx) = mpsc::channel::<QuorumEvent>(crate::runtime::quorum::SEND_QUEUE_PER_PEER);
    let mut transport: Option<QuorumTransport> = None;
    let mut peer = if !ensemble {
        Peer::new(peer_config, recovered.tree, wall_clock_ms())
    } else {
        let my_id = config.my_id.ok_or_else(|| io::Error::other("server.N lines are present but myid is not known"))?;
        peer_config.voters = config.servers.iter().filter(|s| s.role == LearnerType::Participant).map(|s| s.id).collect();
        peer_config.observers = config.servers.iter().filter(|s| s.role == LearnerType::Observer).map(|s| s.id).collect();
        peer_config.init_limit_ticks = config.init_limit as u64;
        peer_config.sync_limit_ticks = config.sync_limit as u64;
        peer_config.password_seed = ensemble_password_seed(&config);
        let state = recovered_state(&config, &recovered.log_txns, recovered.last_zxid)?;
        let me = config.my_server().ok_or_else(|| io::Error::other(format!("no server.{} line for my id", my_id.0)))?;
        let listener = TcpListener::bind((me.host.as_str(), me.quorum_port)).await?;
        info!(address = %listener.local_addr()?, id = my_id.0, "listening for quorum connections");
        let members = config.servers.iter().map(|s| (s.id, quorum_address(&s.host, s.quorum_port))).collect();
        transport = Some(QuorumTransport::start(my_id, listener, members, quorum_frame_max_bytes(&config), quorum_tx.clone()));
        Peer::recover(peer_config, state, wall_clock_ms())
    };
    // A configuration that lists only this server is an ensemble of one: the engine runs it standalone.
    let standalone = peer.config().is_standalone();
    // The transport holds its own clones; this one only keeps the channel open in standalone mode.
    let _quorum_tx = quorum_tx;

    let (disk_tx, mut disk_rx) = mpsc::unbounded_channel::<DiskEvent>();
    let disk = Disk::spawn(recovered.txn_log, config.data_dir.clone(), DISK_QUEUE, move |event| {
        let _ = disk_tx.send(event);
    })
    .map_err(|e| io::Error::other(e.to_string()))?;

    let bind_ip = config.client_port_address.clone().unwrap_or_else(|| "0.0.0.0".to_string());
    let listener = TcpListener::bind((bind_ip.as_str(), config.client_port)).await?;
    info!(address = %listener.local_addr()?, "serving clients");

    let (event_tx, mut event_rx) = mpsc::channel::<ConnEvent>(CONNECTION_SEND_QUEUE);
    let mut conns: BTreeMap<ConnId, ConnHandle> = BTreeMap::new();
    let mut per_ip: BTreeMap<IpAddr, u32> = BTreeMap::new();
    let mut next_conn = 1u64;
    let mut latency = Latency::default();
    let mut request_started: BTreeMap<(ConnId, i32), Instant> = BTreeMap::new();
    let purge_every = (config.autopurge_purge_interval_hours > 0).then(|| Duration::from_secs(config.autopurge_purge_interval_hours as u64 * 3600));
    let mut next_purge = purge_every.map(|d| Instant::now() + d);
    tokio::pin!(shutdown);

    loop {
        let wake_in = peer.poll_timeout().map(|t| Duration::from_millis(t.saturating_sub(wall_clock_ms()))).unwrap_or(Duration::from_secs(1));
        let input: Option<Input> = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                match accepted {
                    Ok((stream, remote)) => {
                        let count = per_ip.entry(remote.ip()).or_default();
                        if config.max_client_cnxns > 0 && *count >= config.max_client_cnxns {
                            warn!(%remote, limit = config.max_client_cnxns, "too many connections from one address; closing");
                            drop(stream);
                            None
                        } else {
                            *count += 1;
                            let conn = ConnId(next_conn);
                            next_conn += 1;
                            let (tx, rx) = mpsc::channel(CONNECTION_SEND_QUEUE);
                            conns.insert(conn, ConnHandle { remote, tx });
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(connection(conn, stream, rx, event_tx.clone(), config.jute_max_buffer as usize));
                            Some(Input::Connected { conn, remote_ip: remote.ip().to_string() })
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, "accept failed");
                        None
                    }
                }
            }
            Some(event) = event_rx.recv() => match event {
                ConnEvent::Handshake(conn, request) => Some(Input::Connect { conn, request }),
                ConnEvent::Request(conn, xid, request) => {
                    request_started.insert((conn, xid), Instant::now());
                    Some(Input::Request { conn, xid, request })
                }
                ConnEvent::FourLetterWord(conn, word) => {
                    let report = build_report(&peer, standalone, &conns, &latency, started, &config);
                    let text = four_letter::respond(word, &config.four_letter_words, &report);
                    if let Some(handle) = conns.get(&conn) {
                        let _ = handle.tx.try_send(ConnCommand::Send(text.into_bytes()));
                        let _ = handle.tx.try_send(ConnCommand::Close);
                    }
                    None
                }
                ConnEvent::Closed(conn) => {
                    if let Some(handle) = conns.remove(&conn) {
                        if let Some(count) = per_ip.get_mut(&handle.remote.ip()) {
                            *count = count.saturating_sub(1);
                        }
                    }
                    request_started.retain(|(c, _), _| *c != conn);
                    Some(Input::Disconnected { conn })
                }
            },
            Some(event) = disk_rx.recv() => match event {
                DiskEvent::Durable { zxid } => Some(Input::Durable { zxid }),
                DiskEvent::WriteDurable { write } => Some(Input::WriteDurable { write }),
                DiskEvent::Failed(e) => {
                    // Nothing after the last report is durable; answering anything more would lie.
                    tracing::error!(error = %e, "disk writes failed; stopping");
                    return Err(io::Error::other(e.to_string()));
                }
            },
            Some(event) = quorum_rx.recv() => match event {
                QuorumEvent::Message { from, msg } => Some(Input::Message { from, msg }),
                QuorumEvent::Lost { peer } => Some(Input::PeerLost { peer }),
            },
            _ = tokio::time::sleep(wake_in) => Some(Input::Tick),
        };
        let Some(input) = input else { continue };
        peer.handle(wall_clock_ms(), input);
        while let Some(output) = peer.poll_output() {
            match output {
                // Every write goes to the one disk thread, in the order emitted.
                Output::Persist(persist) => disk.send(persist).await.map_err(|e| io::Error::other(e.to_string()))?,
                Output::Send { to, msg } => {
                    if let Some(transport) = &transport {
                        transport.send(to, msg);
                    }
                }
                Output::Connected { conn, response } => {
                    let mut out = Vec::new();
                    proto::encode_connect_response(&mut out, &response);
                    send(&conns, conn, out);
                }
                Output::Reply { conn, reply } => {
                    if let Some(t) = request_started.remove(&(conn, reply.xid)) {
                        latency.record(t.elapsed());
                    }
                    send(&conns, conn, encode_reply(&reply));
                }
                Output::Notify { conn, event_type, path, .. } => {
                    let mut out = Vec::new();
                    proto::encode_notification(&mut out, &WatcherEvent { event_type, state: KeeperState::SyncConnected, path });
                    send(&conns, conn, out);
                }
                Output::Close { conn, reason } => {
                    debug!(conn = conn.0, reason, "closing connection");
                    if let Some(handle) = conns.get(&conn) {
                        let _ = handle.tx.try_send(ConnCommand::Close);
                    }
                }
            }
        }
        if let (Some(at), Some(every)) = (next_purge, purge_every) {
            if Instant::now() >= at {
                next_purge = Some(Instant::now() + every);
                match storage::purge(&config.data_dir, &config.data_log_dir, config.autopurge_snap_retain_count as usize) {
                    Ok(report) => info!(?report, "purged old snapshots and logs"),
                    Err(e) => warn!(error = %e, "purge failed"),
                }
            }
        }
    }
    info!("shutting down");
    tokio::task::spawn_blocking(move || disk.shutdown()).await.map_err(io::Error::other)?.map_err(|e| io::Error::other(e.to_string()))?;
    Ok(())
}

/// Writes queued for the disk thread before the server loop waits (bounds memory not yet on disk).
const DISK_QUEUE: usize = 1_024;

/// What the disk held, for `Peer::recover`: the newest valid snapshot, the
/// logged transactions above it, and the epoch files. A missing epoch file
/// reads as the epoch of the last logged zxid, as ZooKeeper reads it.
fn recovered_state(config: &ServerConfig, log_txns: &[crate::txn::Txn], last_zxid: crate::zxid::Zxid) -> io::Result<RecoveredState> {
    let to_io = |e: storage::StorageError| io::Error::other(e.to_string());
    let snapshot = storage::load_newest_valid(&config.data_dir).map_err(to_io)?.map(|(_, tree)| tree).unwrap_or_default();
    let snapshot_zxid = snapshot.last_zxid();
    let log = log_txns.iter().filter(|t| t.zxid > snapshot_zxid).cloned().collect();
    let current_epoch = storage::read_epoch(&config.data_dir, storage::CURRENT_EPOCH_FILE).map_err(to_io)?.unwrap_or(last_zxid.epoch);
    let accepted_epoch = storage::read_epoch(&config.data_dir, storage::ACCEPTED_EPOCH_FILE).map_err(to_io)?.unwrap_or(current_epoch);
    Ok(RecoveredState { snapshot, log, accepted_epoch, current_epoch, lost_records: false })
}

/// The session password seed of an ensemble member. Every member must use the
/// same one, because a session created on one server is revalidated on
/// another; it is derived from the sorted `server.N` lines, so it is the same
/// on every member of one configuration. It is therefore NOT a secret: anyone
/// who can read zoo.cfg can compute it (ZooKeeper's own passwords are derived
/// from the session id and a fixed constant, so this is no weaker).
fn ensemble_password_seed(config: &ServerConfig) -> u64 {
    let mut lines: Vec<String> = config
        .servers
        .iter()
        .map(|s| format!("server.{}={}:{}:{}:{:?}", s.id.0, s.host, s.quorum_port, s.election_port, s.role))
        .collect();
    lines.sort();
    xxhash_rust::xxh3::xxh3_64(lines.join("\n").as_bytes())
}

/// `host:port`, with brackets around an IPv6 address.
fn quorum_address(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The largest quorum frame accepted: a SNAP carries the whole tree, so this is
/// well above `jute.maxbuffer`.
fn quorum_frame_max_bytes(config: &ServerConfig) -> usize {
    (config.jute_max_buffer as usize).saturating_mul(16).max(64 << 20)
}

fn send(conns: &BTreeMap<ConnId, ConnHandle>, conn: ConnId, bytes: Vec<u8>) {
    if let Some(handle) = conns.get(&conn) {
        if handle.tx.try_send(ConnCommand::Send(bytes)).is_err() {
            // A client that does not read its replies must not hold the server's memory.
            warn!(conn = conn.0, remote = %handle.remote, "client is not reading; closing");
            let _ = handle.tx.try_send(ConnCommand::Close);
        }
    }
}

fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    let (xid, zxid) = (reply.xid, reply.zxid);
    match &reply.body {
        ReplyBody::Write { reply: kind, result } => proto::encode_write_reply(&mut out, xid, zxid, kind, result),
        ReplyBody::Read { reply: kind, result } => proto::encode_read_reply(&mut out, xid, zxid, *kind, result),
        ReplyBody::Sync(path) => proto::encode_sync_reply(&mut out, xid, zxid, path),
        ReplyBody::Ping => proto::encode_ping_reply(&mut out, zxid),
        ReplyBody::Auth(result) => proto::encode_auth_reply(&mut out, xid, *result),
        ReplyBody::AddWatch => proto::encode_add_watch_reply(&mut out, xid, zxid),
        ReplyBody::WhoAmI(ids) => proto::encode_who_am_i_reply(&mut out, xid, zxid, ids),
        ReplyBody::Empty => proto::encode_empty_reply(&mut out, xid, zxid),
        ReplyBody::Error(code) => proto::encode_error_reply(&mut out, xid, zxid, *code),
    }
    out
}

/// One client connection: reads frames, decodes them, and writes what the server loop sends.
async fn connection(conn: ConnId, stream: TcpStream, mut commands: mpsc::Receiver<ConnCommand>, events: mpsc::Sender<ConnEvent>, max_frame: usize) {
    let remote = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let (mut reader, mut writer) = stream.into_split();
    let write_task = tokio::spawn(async move {
        while let Some(command) = commands.recv().await {
            match command {
                ConnCommand::Send(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                ConnCommand::Close => break,
            }
        }
        let _ = writer.shutdown().await;
    });
    let mut decoder = FrameDecoder::new(max_frame);
    let mut handshake_done = false;
    let mut buf = vec![0u8; 64 * 1024];
    'read: loop {
        tokio::select! {
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                decoder.feed(&buf[..n]);
                loop {
                    let frame = match decoder.next_frame() {
                        Ok(Some(frame)) => frame,
                        Ok(None) => break,
                        Err(e) => {
                            warn!(%remote, error = %e, "malformed frame; closing the connection");
                            break 'read;
                        }
                    };
                    let event = match frame {
                        Frame::FourLetterWord { word, .. } => ConnEvent::FourLetterWord(conn, word.as_str()),
                        Frame::Packet(body) if !handshake_done => match proto::decode_connect_request(&body) {
                            Ok(request) => {
                                handshake_done = true;
                                ConnEvent::Handshake(conn, request)
                            }
                            Err(e) => {
                                warn!(%remote, error = %e, "malformed connect request; closing the connection");
                                break 'read;
                            }
                        },
                        Frame::Packet(body) => match proto::decode_request(&body) {
                            Ok(decoded) => {
                                let xid = decoded.header.xid;
                                match decoded.body {
                                    Ok(request) => ConnEvent::Request(conn, xid, request),
                                    Err(e) if matches!(OpCode::from_code(decoded.header.opcode), Some(OpCode::Auth | OpCode::Sasl)) => {
                                        warn!(%remote, error = %e, "malformed auth packet; closing the connection");
                                        break 'read;
                                    }
                                    Err(e) => {
                                        // ZooKeeper answers an unreadable body with MarshallingError and keeps the connection.
                                        warn!(%remote, error = %e, "malformed request body");
                                        ConnEvent::Request(conn, xid, ClientRequest::Rejected { error: ErrorCode::MarshallingError })
                                    }
                                }
                            }
                            Err(e) => {
                                warn!(%remote, error = %e, "malformed request header; closing the connection");
                                break 'read;
                            }
                        },
                    };
                    if events.send(event).await.is_err() {
                        break 'read;
                    }
                }
            }
            _ = write_closed(&write_task) => break,
        }
    }
    let _ = events.send(ConnEvent::Closed(conn)).await;
    // The server loop drops its sender once it sees Closed; the writer then drains and shuts down.
    let _ = write_task.await;
}

/// Resolves when the writer half has finished (the server closed the connection).
async fn write_closed(task: &tokio::task::JoinHandle<()>) {
    while !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Default)]
struct Latency {
    count: u64,
    total_ms: f64,
    min_ms: Option<u64>,
    max_ms: u64,
}

impl Latency {
    fn record(&mut self, elapsed: Duration) {
        let ms = elapsed.as_millis() as u64;
        self.count += 1;
        self.total_ms += elapsed.as_secs_f64() * 1000.0;
        self.min_ms = Some(self.min_ms.map_or(ms, |m| m.min(ms)));
        self.max_ms = self.max_ms.max(ms);
    }

    fn summary(&self) -> (u64, f64, u64) {
        let avg = if self.count == 0 { 0.0 } else { self.total_ms / self.count as f64 };
        (self.min_ms.unwrap_or(0), avg, self.max_ms)
    }
}

/// What `srvr` and `mntr` call this server's mode.
fn mode(peer: &Peer, standalone: bool) -> &'static str {
    if standalone {
        return "standalone";
    }
    match peer.role() {
        Role::Leading => "leader",
        Role::Following => "follower",
        Role::Observing => "observer",
        Role::Looking => "looking",
    }
}

fn build_report(peer: &Peer, standalone: bool, conns: &BTreeMap<ConnId, ConnHandle>, latency: &Latency, started: Instant, config: &ServerConfig) -> Report {
    let engine_conns = peer.connections();
    let connections = conns
        .iter()
        .map(|(id, handle)| {
            let c = engine_conns.get(id);
            ConnectionInfo {
                remote: handle.remote.to_string(),
                queued: 0,
                received: c.map_or(0, |c| c.packets_received),
                sent: c.map_or(0, |c| c.packets_sent),
                session: c.and_then(|c| c.session).map_or(0, |s| s.0),
                timeout_ms: c.and_then(|c| c.session).and_then(|s| peer.sessions().get(s)).map_or(0, |s| s.timeout_ms),
                last_zxid: c.map_or(0, |c| c.last_zxid.to_i64()),
            }
        })
        .collect();
    let ephemerals = peer.sessions().iter().map(|(s, _)| (s.0, peer.tree().ephemerals(*s))).collect();
    let watches_by_session = peer
        .watches()
        .by_connection()
        .iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(conn, paths)| (engine_conns.get(conn).and_then(|c| c.session).map_or(0, |s| s.0), paths.clone()))
        .collect::<Vec<(i64, BTreeSet<String>)>>();
    let conf = vec![
        ("clientPort".to_string(), config.client_port.to_string()),
        ("secureClientPort".to_string(), "-1".to_string()),
        ("dataDir".to_string(), config.data_dir.display().to_string()),
        ("dataDirSize".to_string(), dir_size(&config.data_dir).to_string()),
        ("dataLogDir".to_string(), config.data_log_dir.display().to_string()),
        ("dataLogSize".to_string(), dir_size(&config.data_log_dir).to_string()),
        ("tickTime".to_string(), config.tick_time_ms.to_string()),
        ("maxClientCnxns".to_string(), config.max_client_cnxns.to_string()),
        ("minSessionTimeout".to_string(), config.min_session_timeout_ms.to_string()),
        ("maxSessionTimeout".to_string(), config.max_session_timeout_ms.to_string()),
        ("clientPortListenBacklog".to_string(), "-1".to_string()),
        ("serverId".to_string(), config.my_id.map_or(0, |id| id.0).to_string()),
    ];
    Report {
        stats: peer.stats(),
        mode: mode(peer, standalone).to_string(),
        connections,
        latency_ms: latency.summary(),
        uptime_ms: started.elapsed().as_millis() as u64,
        conf,
        ephemerals,
        watches_by_session,
        not_serving: !standalone && peer.serving_epoch().is_none(),
    }
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir).map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum()).unwrap_or(0)
}

/// Milliseconds since the Unix epoch: ZooKeeper's ctime and mtime are wall-clock times.
fn wall_clock_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
