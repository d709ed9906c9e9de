//! A load generator that speaks the ZooKeeper wire protocol through ensemble's
//! own codec, so it can drive `ensemble serve` and Apache ZooKeeper alike.
//!
//! ```sh
//! cargo run --release --example load_generator -- 127.0.0.1:2181 --clients 8 --seconds 10 --op create
//! ```
//! Each client keeps `--pipeline` requests in flight on its own session and
//! counts replies; the report gives throughput and latency percentiles.

use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{self, Record, Writer};
use ensemble::{SessionId, Zxid};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let address = args.first().cloned().unwrap_or_else(|| "127.0.0.1:2181".into());
    let flag = |name: &str, default: &str| -> String {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
    };
    let clients: usize = flag("--clients", "8").parse().expect("--clients N");
    let seconds: u64 = flag("--seconds", "10").parse().expect("--seconds N");
    let pipeline: usize = flag("--pipeline", "16").parse().expect("--pipeline N");
    let op = flag("--op", "create");
    let size: usize = flag("--size", "64").parse().expect("--size BYTES");
    let run_id = std::process::id();

    let setup = connect(&address);
    let mut setup = setup;
    send(&mut setup, 1, &op_frame("create", &format!("/load-{run_id}"), 1, size));
    read_frame(&mut setup);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let address = address.clone();
            let op = op.clone();
            std::thread::spawn(move || {
                let mut stream = connect(&address);
                let base = format!("/load-{run_id}");
                if op == "get" || op == "set" {
                    send(&mut stream, 1, &op_frame("create", &format!("{base}/c{c}"), 1, size));
                    read_frame(&mut stream);
                }
                let mut latencies = Vec::new();
                let mut in_flight = std::collections::VecDeque::new();
                let mut xid = 1;
                while Instant::now() < deadline || !in_flight.is_empty() {
                    while in_flight.len() < pipeline && Instant::now() < deadline {
                        xid += 1;
                        let path = if op == "create" { format!("{base}/c{c}-{xid}") } else { format!("{base}/c{c}") };
                        send(&mut stream, xid, &op_frame(&op, &path, xid, size));
                        in_flight.push_back(Instant::now());
                    }
                    let reply = read_frame(&mut stream);
                    let err = i32::from_be_bytes(reply[12..16].try_into().unwrap());
                    assert_eq!(err, 0, "request failed with {err}");
                    latencies.push(in_flight.pop_front().expect("a request in flight").elapsed());
                }
                latencies
            })
        })
        .collect();
    let started = Instant::now();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().expect("client thread")).collect();
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort();
    let pct = |p: f64| all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1))).copied().unwrap_or_default();
    println!(
        "{op}: {} ops in {:.1} s = {:.0} ops/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({clients} clients x {pipeline} in flight, {size} B)",
        all.len(),
        elapsed,
        all.len() as f64 / elapsed,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

fn connect(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).unwrap();
    let request = ConnectRequest { protocol_version: 0, last_zxid_seen: Zxid::ZERO, timeout_ms: 30_000, session_id: SessionId(0), passwd: vec![0; 16], read_only: Some(false) };
    let mut out = Vec::new();
    proto::write_frame(&mut out, |b| request.write(&mut Writer::new(b)));
    stream.write_all(&out).unwrap();
    read_frame(&mut stream);
    stream
}

fn op_frame(op: &str, path: &str, xid: i32, size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    proto::write_frame(&mut out, |b| {
        let mut w = Writer::new(b);
        w.int(xid);
        match op {
            "create" => {
                w.int(1);
                w.string(path);
                w.buffer(Some(&vec![b'x'; size]));
                w.int(1);
                w.int(31);
                w.string("world");
                w.string("anyone");
                w.int(0);
            }
            "set" => {
                w.int(5);
                w.string(path);
                w.buffer(Some(&vec![b'y'; size]));
                w.int(-1);
            }
            "get" => {
                w.int(4);
                w.string(path);
                w.bool(false);
            }
            other => panic!("unknown --op {other}: create, set or get"),
        }
    });
    out
}

fn send(stream: &mut TcpStream, _xid: i32, frame: &[u8]) {
    stream.write_all(frame).expect("send");
}

fn read_frame(stream: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).expect("read length");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).expect("read body");
    body
}
