//! Proves that hostile input on the client port costs only the offending
//! connection: random bytes, truncated and oversized frames, a garbled
//! handshake and a connection flood over maxClientCnxns leave the server up,
//! other clients served, and no data lost.

mod common;
#[path = "support/raw_client.rs"]
mod raw_client;

use common::{Server, ServerOptions};
use rand::{Rng, SeedableRng};
use raw_client::RawClient;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `bytes` on a fresh connection and reports whether the server closed it within the timeout.
fn closed_after(port: u16, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(bytes);
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

// Random bytes, truncated frames, oversized frames and garbled handshakes each close only
// their own connection; an established session keeps working and its data stays.
#[test]
fn hostile_frames_close_only_their_connection() {
    let _guard = common::serial_guard();
    let server = Server::ensemble(ServerOptions::default());
    let port = server.port();
    let mut good = RawClient::connect(port).expect("connect");
    good.send_create(1, "/keep", b"v").unwrap();
    assert_eq!(good.read_reply().unwrap().err, 0);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for round in 0..20 {
        let len = rng.gen_range(1..200);
        let mut junk: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Make most of them claim a length the rest cannot satisfy or a huge one.
        if round % 2 == 0 {
            junk[..4.min(len)].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff][..4.min(len)]);
        }
        closed_after(port, &junk);
    }
    // A frame over jute.maxbuffer is refused by its length alone.
    assert!(closed_after(port, &(2 * 1024 * 1024i32).to_be_bytes()), "oversized frame not refused");
    // A negative length.
    assert!(closed_after(port, &(-5i32).to_be_bytes()), "negative length not refused");
    // A handshake whose body is too short to be a ConnectRequest.
    assert!(closed_after(port, &[0, 0, 0, 6, 0, 0, 0, 0, 0, 1]), "garbled handshake not refused");
    // A truncated frame followed by a hang-up must not disturb anything.
    {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&[0, 0, 0, 100, 1, 2, 3]).unwrap();
    }
    // A valid handshake with an unknown protocol version still gets a session, as ZooKeeper gives one.
    {
        let mut bad_version = Vec::new();
        bad_version.extend_from_slice(&45i32.to_be_bytes());
        bad_version.extend_from_slice(&7i32.to_be_bytes());
        bad_version.extend_from_slice(&0i64.to_be_bytes());
        bad_version.extend_from_slice(&10_000i32.to_be_bytes());
        bad_version.extend_from_slice(&0i64.to_be_bytes());
        bad_version.extend_from_slice(&16i32.to_be_bytes());
        bad_version.extend_from_slice(&[0u8; 16]);
        bad_version.push(0);
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&bad_version).unwrap();
        let body = raw_client::read_frame(&mut s).expect("a connect response");
        assert_eq!(body.len(), 37);
    }
    // The established session still works, in order, and its data is intact.
    assert!(good.exists(2, "/keep").unwrap());
    good.send_create(3, "/keep2", b"v").unwrap();
    assert_eq!(good.read_reply().unwrap().err, 0);
    assert_eq!(common::four_letter(port, "ruok").unwrap(), "imok");
    assert!(server.log_tail(400).contains("malformed"), "bad frames are logged:\n{}", server.log_tail(20));
}

// Connections over maxClientCnxns from one address are refused, the established ones keep working,
// and new connections are accepted again once the flood is gone.
#[test]
fn connection_flood_over_limit_is_refused() {
    let _guard = common::serial_guard();
    let server = Server::ensemble(ServerOptions { max_client_cnxns: Some(5), ..ServerOptions::default() });
    let port = server.port();
    let mut good = RawClient::connect(port).expect("connect");
    let mut flood = Vec::new();
    let mut refused = 0;
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut b = [0u8; 1];
        if matches!(s.read(&mut b), Ok(0)) {
            refused += 1;
        } else {
            flood.push(s);
        }
    }
    assert!(refused >= 15, "only {refused} of 20 connections over the limit of 5 were refused");
    assert!(good.exists(1, "/zookeeper").unwrap(), "the established session stopped working during the flood");
    drop(flood);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = RawClient::connect(port).expect("a new connection is accepted once the flood is gone");
    assert!(again.exists(1, "/").unwrap());
}
