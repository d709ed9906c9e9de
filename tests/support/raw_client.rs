//! A minimal blocking ZooKeeper client built on ensemble's own wire codec, for
//! black-box tests that need exact control: pipelined writes, raw bytes,
//! hostile frames.

#![allow(dead_code)]

use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{self, Reader, Record, Writer};
use ensemble::{SessionId, Zxid};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A connected session.
pub struct RawClient {
    pub stream: TcpStream,
    pub session: SessionId,
}

/// One reply: xid, zxid, err and the body bytes.
#[derive(Debug)]
pub struct RawReply {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
    pub body: Vec<u8>,
}

impl RawClient {
    /// Connects and completes the handshake for a new session.
    pub fn connect(port: u16) -> io::Result<RawClient> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_nodelay(true)?;
        let request = ConnectRequest { protocol_version: 0, last_zxid_seen: Zxid::ZERO, timeout_ms: 10_000, session_id: SessionId(0), passwd: vec![0; 16], read_only: Some(false) };
        let mut out = Vec::new();
        proto::write_frame(&mut out, |b| request.write(&mut Writer::new(b)));
        stream.write_all(&out)?;
        let body = read_frame(&mut stream)?;
        let session = i64::from_be_bytes(body[8..16].try_into().expect("8 bytes"));
        if session == 0 {
            return Err(io::Error::other("session refused"));
        }
        Ok(RawClient { stream, session: SessionId(session) })
    }

    /// Sends a create request without waiting.
    pub fn send_create(&mut self, xid: i32, path: &str, data: &[u8]) -> io::Result<()> {
        let mut out = Vec::new();
        proto::write_frame(&mut out, |b| {
            let mut w = Writer::new(b);
            w.int(xid);
            w.int(1);
            w.string(path);
            w.buffer(Some(data));
            w.int(1);
            w.int(31);
            w.string("world");
            w.string("anyone");
            w.int(0);
        });
        self.stream.write_all(&out)
    }

    /// Sends an exists request without waiting.
    pub fn send_exists(&mut self, xid: i32, path: &str) -> io::Result<()> {
        let mut out = Vec::new();
        proto::write_frame(&mut out, |b| {
            let mut w = Writer::new(b);
            w.int(xid);
            w.int(3);
            w.string(path);
            w.bool(false);
        });
        self.stream.write_all(&out)
    }

    /// Reads the next reply.
    pub fn read_reply(&mut self) -> io::Result<RawReply> {
        let body = read_frame(&mut self.stream)?;
        if body.len() < 16 {
            return Err(io::Error::other("short reply"));
        }
        Ok(RawReply {
            xid: i32::from_be_bytes(body[0..4].try_into().unwrap()),
            zxid: i64::from_be_bytes(body[4..12].try_into().unwrap()),
            err: i32::from_be_bytes(body[12..16].try_into().unwrap()),
            body: body[16..].to_vec(),
        })
    }

    /// Sends a request with opcode `op` whose body is just `path` and a no-watch flag, and waits for its reply.
    fn path_request(&mut self, xid: i32, op: i32, path: &str) -> io::Result<RawReply> {
        let mut out = Vec::new();
        proto::write_frame(&mut out, |b| {
            let mut w = Writer::new(b);
            w.int(xid);
            w.int(op);
            w.string(path);
            w.bool(false);
        });
        self.stream.write_all(&out)?;
        let reply = self.read_reply()?;
        assert_eq!(reply.xid, xid, "replies come in request order");
        Ok(reply)
    }

    /// The data of `path` (getData, no watch), or the error code.
    pub fn get_data(&mut self, xid: i32, path: &str) -> io::Result<Result<Vec<u8>, i32>> {
        let reply = self.path_request(xid, 4, path)?;
        if reply.err != 0 {
            return Ok(Err(reply.err));
        }
        let mut r = Reader::new(&reply.body);
        let data = r.buffer("data").map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Ok(data.unwrap_or_default()))
    }

    /// The children of `path` (getChildren, no watch), sorted, or the error code.
    pub fn get_children(&mut self, xid: i32, path: &str) -> io::Result<Result<Vec<String>, i32>> {
        let reply = self.path_request(xid, 8, path)?;
        if reply.err != 0 {
            return Ok(Err(reply.err));
        }
        let mut r = Reader::new(&reply.body);
        let mut children = r.string_vector("children").map_err(|e| io::Error::other(e.to_string()))?.unwrap_or_default();
        children.sort();
        Ok(Ok(children))
    }

    /// Whether `path` exists, asked synchronously.
    pub fn exists(&mut self, xid: i32, path: &str) -> io::Result<bool> {
        self.send_exists(xid, path)?;
        let reply = self.read_reply()?;
        assert_eq!(reply.xid, xid, "replies come in request order");
        Ok(reply.err == 0)
    }
}

/// Reads one length-prefixed frame.
pub fn read_frame(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    let len = i32::from_be_bytes(len);
    if !(0..=16 * 1024 * 1024).contains(&len) {
        return Err(io::Error::other(format!("bad frame length {len}")));
    }
    let mut body = vec![0u8; len as usize];
    stream.read_exact(&mut body)?;
    Ok(body)
}
