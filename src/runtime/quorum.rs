//! The quorum transport: carries `PeerMessage`s between the members of an
//! ensemble over TCP and reports what it saw. It decides nothing.
//!
//! Each server listens on its quorumPort. For every other member it dials
//! that member's quorumPort and uses the connection only to send; what it
//! accepts it uses only to receive. So each pair of servers has two one-way
//! connections. The dialer first sends its server id (8 bytes, big-endian);
//! then every message is a frame: a 4-byte big-endian length and the bincode
//! encoding of the `PeerMessage`. A frame longer than the bound, or one that
//! does not decode, closes that link with a log line.
//!
//! Election notifications and ZAB messages share this one connection per
//! direction; the electionPort of the `server.N` lines is not used.
//!
//! Losing messages is allowed by the engine: while a member's outgoing link
//! is down only the newest message for it is kept (older ones are dropped),
//! and a message for a full queue is dropped. When a link
//! breaks, in either direction, the transport reports `QuorumEvent::Lost`.
//! Outgoing links redial with a capped exponential backoff.

use crate::peer::PeerMessage;
use crate::zxid::ServerId;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Messages queued for one member before further ones are dropped.
pub const SEND_QUEUE_PER_PEER: usize = 4_096;
/// The first and the longest wait between dials of an unreachable member.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// What the transport reports to the server loop.
#[derive(Debug)]
pub enum QuorumEvent {
    /// A message arrived from `from` (the id its dialer announced).
    Message {
        /// The sender.
        from: ServerId,
        /// The message.
        msg: PeerMessage,
    },
    /// A link to or from `peer` broke.
    Lost {
        /// The other end.
        peer: ServerId,
    },
}

/// The sending side: one queue per other member.
pub struct QuorumTransport {
    links: BTreeMap<ServerId, mpsc::Sender<PeerMessage>>,
}

impl QuorumTransport {
    /// Listens on `listener` and dials every member of `members` (id → "host:port") other than `me`.
    pub fn start(
        me: ServerId,
        listener: TcpListener,
        members: BTreeMap<ServerId, String>,
        frame_max_bytes: usize,
        events: mpsc::Sender<QuorumEvent>,
    ) -> QuorumTransport {
        tokio::spawn(accept_loop(listener, members.keys().copied().collect(), frame_max_bytes, events.clone()));
        let mut links = BTreeMap::new();
        for (id, address) in members {
            if id == me {
                continue;
            }
            let (tx, rx) = mpsc::channel(SEND_QUEUE_PER_PEER);
            tokio::spawn(dial_loop(me, id, address, rx, frame_max_bytes, events.clone()));
            links.insert(id, tx);
        }
        QuorumTransport { links }
    }

    /// Queues `msg` for `to`; drops it if `to` is unknown or its queue is full.
    pub fn send(&self, to: ServerId, msg: PeerMessage) {
        match self.links.get(&to) {
            Some(link) => {
                if link.try_send(msg).is_err() {
                    debug!(peer = to.0, "send queue full; dropping a quorum message");
                }
            }
            None => debug!(peer = to.0, "no link to this server; dropping a quorum message"),
        }
    }
}

async fn accept_loop(listener: TcpListener, members: Vec<ServerId>, frame_max_bytes: usize, events: mpsc::Sender<QuorumEvent>) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let members = members.clone();
                let events = events.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    receive(stream, remote.to_string(), members, frame_max_bytes, events).await;
                });
            }
            Err(e) => {
                warn!(error = %e, "quorum accept failed");
                tokio::time::sleep(BACKOFF_MIN).await;
            }
        }
    }
}

/// Reads the dialer's id, then frames, until the link breaks.
async fn receive(mut stream: TcpStream, remote: String, members: Vec<ServerId>, frame_max_bytes: usize, events: mpsc::Sender<QuorumEvent>) {
    let mut id = [0u8; 8];
    if stream.read_exact(&mut id).await.is_err() {
        return;
    }
    let from = ServerId(u64::from_be_bytes(id));
    if !members.contains(&from) {
        warn!(%remote, id = from.0, "quorum connection from a server not in the configuration; closing");
        return;
    }
    info!(%remote, peer = from.0, "quorum link from peer up");
    loop {
        match read_frame(&mut stream, frame_max_bytes).await {
            Ok(Some(msg)) => {
                if events.send(QuorumEvent::Message { from, msg }).await.is_err() {
                    return;
                }
            }
            Ok(None) => break,
            Err(reason) => {
                warn!(%remote, peer = from.0, %reason, "malformed quorum frame; closing the link");
                break;
            }
        }
    }
    info!(%remote, peer = from.0, "quorum link from peer down");
    let _ = events.send(QuorumEvent::Lost { peer: from }).await;
}

/// One frame: `Ok(None)` on a clean or broken close, `Err` for a frame that breaks the rules.
async fn read_frame(stream: &mut TcpStream, frame_max_bytes: usize) -> Result<Option<PeerMessage>, String> {
    let mut len = [0u8; 4];
    if stream.read_exact(&mut len).await.is_err() {
        return Ok(None);
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > frame_max_bytes {
        return Err(format!("frame of {len} bytes exceeds the limit of {frame_max_bytes}"));
    }
    let mut body = vec![0u8; len];
    if stream.read_exact(&mut body).await.is_err() {
        return Ok(None);
    }
    bincode::deserialize(&body).map(Some).map_err(|e| format!("undecodable message: {e}"))
}

/// Keeps one outgoing link to `peer` up, dialing with backoff, and writes what is queued.
async fn dial_loop(
    me: ServerId,
    peer: ServerId,
    address: String,
    mut queue: mpsc::Receiver<PeerMessage>,
    frame_max_bytes: usize,
    events: mpsc::Sender<QuorumEvent>,
) {
    let mut backoff = BACKOFF_MIN;
    // While the link is down only the newest message is kept (as ZooKeeper's
    // QuorumCnxManager does): older ones are lost, as the engine allows, but a
    // member that starts later still hears the latest vote at once.
    let mut newest: Option<PeerMessage> = None;
    loop {
        let mut stream = match TcpStream::connect(&address).await {
            Ok(stream) => stream,
            Err(_) => {
                while let Ok(msg) = queue.try_recv() {
                    newest = Some(msg);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if stream.write_all(&me.0.to_be_bytes()).await.is_err() {
            continue;
        }
        backoff = BACKOFF_MIN;
        info!(peer = peer.0, %address, "quorum link to peer up");
        loop {
            let msg = match newest.take() {
                Some(msg) => msg,
                None => match queue.recv().await {
                    Some(msg) => msg,
                    None => return,
                },
            };
            let body = match bincode::serialize(&msg) {
                Ok(body) if body.len() <= frame_max_bytes => body,
                Ok(body) => {
                    warn!(peer = peer.0, bytes = body.len(), "quorum message too large to send; dropping it");
                    continue;
                }
                Err(e) => {
                    warn!(peer = peer.0, error = %e, "could not encode a quorum message; dropping it");
                    continue;
                }
            };
            let mut frame = Vec::with_capacity(4 + body.len());
            frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
            frame.extend_from_slice(&body);
            if stream.write_all(&frame).await.is_err() {
                break;
            }
        }
        info!(peer = peer.0, "quorum link to peer down");
        if events.send(QuorumEvent::Lost { peer }).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
    }
}
