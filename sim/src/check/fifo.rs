//! Guarantee: FIFO client order. A server answers a connection's requests in
//! the order they were sent; a client never sees an older state after a newer
//! one: the header zxids of the replies it receives never go backwards, even
//! when it moves to another server (ZooKeeper's lastZxidSeen, which a server
//! behind the client must refuse); and on one connection a watch event never
//! arrives after a reply that already reflects a later transaction, nor a
//! reply after an event of a later transaction than it reflects.
//!
//! The simulated client carries its lastZxidSeen into a new session too, so
//! the zxid rule holds per client, not only per session.

use crate::client::{History, Message};
use ensemble::{ConnId, Zxid};
use std::collections::BTreeMap;

/// Failures reported per run at most.
const FAILURES_MAX: usize = 8;

/// Judges every reply and watch event the clients received.
pub fn check(history: &History) -> Vec<String> {
    let mut failures = Vec::new();
    // Per client, the newest reply header zxid, where it came from.
    let mut newest: BTreeMap<usize, (Zxid, ConnId, i32)> = BTreeMap::new();
    // Per connection, the last reply xid and the newest zxid of anything received.
    let mut last_xid: BTreeMap<ConnId, i32> = BTreeMap::new();
    let mut conn_newest: BTreeMap<ConnId, (Zxid, &'static str)> = BTreeMap::new();
    for r in &history.received {
        let (zxid, kind) = match &r.message {
            Message::Reply { xid, zxid, .. } => {
                if let Some(previous) = last_xid.insert(r.conn, *xid) {
                    if *xid <= previous {
                        failures.push(format!("fifo: client {} on {:?} got the reply to xid {xid} after the reply to xid {previous} (at {} ms)", r.client, r.conn, r.at_ms));
                    }
                }
                if let Some(&(seen, conn, seen_xid)) = newest.get(&r.client) {
                    if *zxid < seen {
                        failures.push(format!(
                            "fifo: client {} saw zxid {zxid} (xid {xid} on {:?}, at {} ms) after zxid {seen} (xid {seen_xid} on {conn:?}): it went back in time",
                            r.client, r.conn, r.at_ms
                        ));
                    }
                }
                if newest.get(&r.client).is_none_or(|(seen, _, _)| *zxid >= *seen) {
                    newest.insert(r.client, (*zxid, r.conn, *xid));
                }
                (*zxid, "reply")
            }
            Message::Notify { zxid, .. } => (*zxid, "watch event"),
        };
        if let Some(&(seen, seen_kind)) = conn_newest.get(&r.conn) {
            if zxid < seen {
                failures.push(format!("fifo: client {} on {:?} got a {kind} at zxid {zxid} (at {} ms) after a {seen_kind} at zxid {seen}", r.client, r.conn, r.at_ms));
            }
        }
        if conn_newest.get(&r.conn).is_none_or(|(seen, _)| zxid >= *seen) {
            conn_newest.insert(r.conn, (zxid, kind));
        }
        if failures.len() >= FAILURES_MAX {
            break;
        }
    }
    failures
}
