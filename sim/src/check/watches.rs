//! Guarantee: one-shot watches fire at most once, and before the client can
//! see the change that fired them (ZooKeeper: "a client will see a watch
//! event for a znode it is watching before seeing the new data").
//!
//! Per connection, in the order the client received things: a getData reply
//! with a watch (on an existing node) or an exists reply with a watch (either
//! way) arms a data watch on its path; the next data event on that path
//! disarms it. So:
//! - an event on a path with no armed watch is a watch that fired twice (or
//!   one never set), and its type must fit what the watch saw (NodeCreated
//!   only for a node that was absent, NodeDataChanged or NodeDeleted for one
//!   that existed);
//! - while armed, a read on that path must show the node as the watch saw it
//!   (same czxid and mzxid, or still absent), and the client's own successful
//!   write to it must not be answered: either would mean the change reached
//!   the client before the event;
//! - while armed, no reply may carry a header zxid at or after the zxid of
//!   the event that then arrives: that reply already reflected the change.
//!
//! Watches belong to a connection: the simulated client forgets them when it
//! moves to another server and does not re-register them, so nothing carries
//! over from one connection to the next.

use crate::client::{History, Message, Observed, Op, Outcome};
use ensemble::watch::EventType;
use ensemble::{ConnId, ErrorCode, Zxid};
use std::collections::BTreeMap;

/// Failures reported per run at most.
const FAILURES_MAX: usize = 8;

/// A znode as a watch or a read saw it: absent, or (czxid, mzxid).
type Seen = Option<(Zxid, Zxid)>;

/// An armed data watch.
struct Armed {
    /// The node when the watch was set.
    seen: Seen,
    /// The history entry that set it.
    entry: usize,
    /// The newest reply header zxid received on the connection since (the setting reply included).
    newest_reply: Zxid,
}

/// Judges every reply and watch event the clients received.
pub fn check(history: &History) -> Vec<String> {
    let mut failures = Vec::new();
    let mut armed: BTreeMap<(ConnId, String), Armed> = BTreeMap::new();
    for r in &history.received {
        if failures.len() >= FAILURES_MAX {
            break;
        }
        let who = format!("client {} on {:?} at {} ms", r.client, r.conn, r.at_ms);
        match &r.message {
            Message::Reply { zxid, entry, .. } => {
                for ((conn, _), a) in armed.iter_mut() {
                    if *conn == r.conn {
                        a.newest_reply = a.newest_reply.max(*zxid);
                    }
                }
                let Some(i) = *entry else { continue };
                let e = &history.entries[i];
                let Some(path) = e.op.path() else { continue };
                let key = (r.conn, path.to_string());
                if let (Some(seen), Some(a)) = (read_state(&e.op, &e.outcome, &e.observed), armed.get(&key)) {
                    if seen != a.seen {
                        failures.push(format!("watches: {who}: op {i} read {path} as {seen:?} while the watch op {} set at {:?} had not fired: the change came before its event", a.entry, a.seen));
                    }
                }
                if let (true, Outcome::Ok(_), Some(a)) = (e.op.is_write(), &e.outcome, armed.get(&key)) {
                    failures.push(format!("watches: {who}: op {i} ({:?}) was acknowledged before the event of the watch op {} set on {path}", e.op, a.entry));
                }
                let arms = matches!((&e.op, &e.outcome), (Op::WatchRead(_), Outcome::Ok(_)) | (Op::Exists(_), Outcome::Ok(_) | Outcome::Error(ErrorCode::NoNode)));
                if arms && !armed.contains_key(&key) {
                    let seen = read_state(&e.op, &e.outcome, &e.observed).expect("a watching read that succeeded saw the node");
                    armed.insert(key, Armed { seen, entry: i, newest_reply: *zxid });
                }
            }
            Message::Notify { event_type, path, zxid } => {
                let Some(a) = armed.remove(&(r.conn, path.clone())) else {
                    failures.push(format!("watches: {who}: {event_type:?} on {path} at zxid {zxid} with no watch armed: a one-shot watch fired twice, or one no one set"));
                    continue;
                };
                let fits = matches!((event_type, a.seen), (EventType::NodeCreated, None) | (EventType::NodeDataChanged | EventType::NodeDeleted, Some(_)));
                if !fits {
                    failures.push(format!("watches: {who}: {event_type:?} on {path} at zxid {zxid} for the watch op {} set when the node was {:?}", a.entry, a.seen));
                }
                if a.newest_reply >= *zxid {
                    failures.push(format!("watches: {who}: {event_type:?} on {path} at zxid {zxid} arrived after a reply at zxid {} that already reflected it", a.newest_reply));
                }
            }
        }
    }
    failures
}

/// What a read of the node showed, if the operation is a read that says.
fn read_state(op: &Op, outcome: &Outcome, observed: &Observed) -> Option<Seen> {
    if op.is_write() {
        return None;
    }
    match (outcome, observed) {
        (Outcome::Ok(_), Observed::Data { stat, .. } | Observed::Stat(stat)) => Some(Some((stat.czxid, stat.mzxid))),
        (Outcome::Error(ErrorCode::NoNode), _) => Some(None),
        _ => None,
    }
}
