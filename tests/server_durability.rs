//! Proves that `ensemble serve` loses no acknowledged write when it is killed
//! with SIGKILL in the middle of a stream of writes, and that a log with a torn
//! or corrupted tail is detected and cut at restart without losing what came before,
//! and that a session survives a restart, as in ZooKeeper.

mod common;
#[path = "support/raw_client.rs"]
mod raw_client;

use common::{Server, ServerOptions};
use raw_client::RawClient;
use ensemble::SessionId;
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Streams pipelined creates until the connection dies; returns the acknowledged paths.
fn stream_creates(port: u16, prefix: &'static str, started: mpsc::Sender<()>) -> BTreeSet<String> {
    let mut acked = BTreeSet::new();
    let Ok(mut client) = RawClient::connect(port) else { return acked };
    let _ = started.send(());
    let window = 64;
    let mut sent = 0i32;
    let mut received = 0i32;
    loop {
        while sent - received < window {
            sent += 1;
            if client.send_create(sent, &format!("/{prefix}-{sent}"), b"payload").is_err() {
                return acked;
            }
        }
        match client.read_reply() {
            Ok(reply) => {
                received += 1;
                assert_eq!(reply.xid, received, "replies come in request order");
                if reply.err == 0 {
                    acked.insert(format!("/{prefix}-{}", reply.xid));
                }
            }
            Err(_) => return acked,
        }
    }
}

// Every write the server acknowledged before a kill -9 is there after restart, at several kill points.
#[test]
fn kill_9_loses_no_acknowledged_write() {
    let _guard = common::serial_guard();
    let mut server = Server::ensemble(ServerOptions::default());
    let mut all_acked = BTreeSet::new();
    for (round, prefix) in ["a", "b", "c"].into_iter().enumerate() {
        let port = server.port();
        let (started_tx, started_rx) = mpsc::channel();
        let writer = thread::spawn(move || stream_creates(port, prefix, started_tx));
        started_rx.recv_timeout(Duration::from_secs(10)).expect("client connected");
        thread::sleep(Duration::from_millis(150 + 200 * round as u64));
        server.kill();
        let acked = writer.join().expect("writer thread");
        assert!(!acked.is_empty(), "round {round}: no write was acknowledged before the kill");
        all_acked.extend(acked);
        server.restart();
        let mut client = RawClient::connect(server.port()).expect("connect after restart");
        let mut missing = Vec::new();
        for (i, path) in all_acked.iter().enumerate() {
            if !client.exists(i as i32 + 1, path).expect("exists") {
                missing.push(path.clone());
            }
        }
        assert!(missing.is_empty(), "round {round}: acknowledged writes lost after kill -9: {missing:?}\n{}", server.log_tail(30));
    }
}

// Garbage appended to the newest log file (a torn or corrupted tail) is cut with a warning,
// and every earlier write survives.
#[test]
fn torn_log_tail_is_cut_at_restart() {
    let _guard = common::serial_guard();
    let mut server = Server::ensemble(ServerOptions::default());
    let mut client = RawClient::connect(server.port()).expect("connect");
    for i in 1..=20 {
        client.send_create(i, &format!("/t{i}"), b"x").unwrap();
        assert_eq!(client.read_reply().unwrap().err, 0);
    }
    drop(client);
    server.kill();
    let data = server.data_dir();
    let mut logs: Vec<_> = fs::read_dir(&data).unwrap().flatten().map(|e| e.path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("log.")).collect();
    logs.sort();
    let newest = logs.last().expect("a log file exists");
    // A half-written record: a plausible length and checksum, then too few bytes.
    fs::OpenOptions::new().append(true).open(newest).unwrap().write_all(&[0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]).unwrap();
    server.restart();
    let mut client = RawClient::connect(server.port()).expect("connect after restart");
    for i in 1..=20 {
        assert!(client.exists(i, &format!("/t{i}")).unwrap(), "/t{i} lost");
    }
    // And the server keeps accepting writes after the cut.
    client.send_create(100, "/after", b"y").unwrap();
    assert_eq!(client.read_reply().unwrap().err, 0);
    assert!(server.log_tail(200).contains("log.") , "the cut is reported in the log:\n{}", server.log_tail(50));
}

// With a small snapCount the server writes snapshots while it serves, and a restart
// recovers from the newest snapshot plus the log after it.
#[test]
fn snapshots_are_taken_and_used_at_restart() {
    let _guard = common::serial_guard();
    let opts = ServerOptions { extra_config: vec![("snapCount".into(), "20".into())], ..ServerOptions::default() };
    let mut server = Server::ensemble(opts);
    let mut client = RawClient::connect(server.port()).expect("connect");
    for i in 1..=120 {
        client.send_create(i, &format!("/s{i}"), b"x").unwrap();
    }
    for _ in 1..=120 {
        assert_eq!(client.read_reply().unwrap().err, 0);
    }
    drop(client);
    // Snapshots are written in the background; give the last one a moment.
    let data = server.data_dir();
    let snapshots = || fs::read_dir(&data).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with("snapshot.") && !e.file_name().to_string_lossy().ends_with(".tmp")).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while snapshots() < 3 && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert!(snapshots() >= 3, "expected several snapshots with snapCount=20 after 120 writes, found {}", snapshots());
    server.kill();
    server.restart();
    assert!(server.log_tail(100).contains("snapshot_zxid=Some"), "recovery did not start from a snapshot:\n{}", server.log_tail(20));
    let mut client = RawClient::connect(server.port()).expect("connect after restart");
    for i in 1..=120 {
        assert!(client.exists(i, &format!("/s{i}")).unwrap(), "/s{i} lost");
    }
}

// A standalone server killed with -9 and restarted within the session timeout
// takes the session back: the client reconnects with its id and password and
// its ephemeral is still there, as with ZooKeeper 3.8 (the password seed lives
// in dataDir, so the restarted server accepts the password it gave out).
#[test]
fn session_survives_a_standalone_restart() {
    let _guard = common::serial_guard();
    let mut server = Server::ensemble(ServerOptions::default());
    let mut client = RawClient::connect(server.port()).expect("connect");
    client.send_create(1, "/survivor", b"x").unwrap();
    assert_eq!(client.read_reply().unwrap().err, 0);
    let (session, passwd) = (client.session, client.passwd.clone());
    assert_eq!(passwd.len(), 16, "a 16-byte password");
    drop(client);
    server.kill();
    server.restart();
    let mut again = RawClient::resume(server.port(), session, passwd.clone()).expect("the session is taken back after a restart");
    assert_eq!(again.session, session, "same session");
    assert!(again.exists(2, "/survivor").unwrap());
    // A wrong password is still refused.
    let mut wrong = passwd;
    wrong[0] ^= 1;
    assert!(RawClient::resume(server.port(), session, wrong).is_err(), "a wrong password must be refused");
    assert_ne!(session, SessionId(0));
}
