//! Three `Peer`s driven by hand, without any IO: they elect a leader, a client
//! connects to a follower and creates a znode, and every replica ends with the
//! same tree. The loop is the whole embedding contract: `handle`, then drain
//! `poll_output`, then sleep until `poll_timeout`.
//!
//! ```sh
//! cargo run --example three_peers
//! ```

use ensemble::acl;
use ensemble::peer::{Input, Output, Peer, PeerConfig, PeerMessage, Persist, Role};
use ensemble::proto::records::ConnectRequest;
use ensemble::proto::{ClientRequest, WriteReply};
use ensemble::{ConnId, CreateMode, DataTree, ServerId, SessionId, WriteOp, Zxid};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A host for several peers: in-order links, disks that sync at once, a virtual clock.
struct Hosts {
    peers: BTreeMap<ServerId, Peer>,
    wire: VecDeque<(ServerId, ServerId, PeerMessage)>,
    now: u64,
    client: Vec<(ServerId, Output)>,
}

impl Hosts {
    fn feed(&mut self, id: ServerId, input: Input) {
        self.peers.get_mut(&id).expect("known peer").handle(self.now, input);
        self.drain(id);
    }

    fn drain(&mut self, id: ServerId) {
        let mut durable = Vec::new();
        let peer = self.peers.get_mut(&id).expect("known peer");
        while let Some(out) = peer.poll_output() {
            match out {
                Output::Send { to, msg } => self.wire.push_back((id, to, msg)),
                // A real host appends and fsyncs, then reports; here every write is durable at once.
                Output::Persist(Persist::Txn(txn)) => durable.push(Input::Durable { zxid: txn.zxid }),
                Output::Persist(Persist::Zab { write, .. }) => durable.push(Input::WriteDurable { write }),
                Output::Persist(Persist::Snapshot(_)) => {}
                other => self.client.push((id, other)),
            }
        }
        for input in durable {
            self.feed(id, input);
        }
    }

    /// Delivers one message, or moves time to the next timeout.
    fn step(&mut self) {
        if let Some((from, to, msg)) = self.wire.pop_front() {
            self.feed(to, Input::Message { from, msg });
            return;
        }
        self.now = self.peers.values().filter_map(|p| p.poll_timeout()).min().unwrap_or(self.now).max(self.now + 1);
        let due: Vec<ServerId> = self.peers.iter().filter(|(_, p)| p.poll_timeout().is_some_and(|t| t <= self.now)).map(|(id, _)| *id).collect();
        for id in due {
            self.feed(id, Input::Tick);
        }
    }

    fn run_until(&mut self, done: impl Fn(&Hosts) -> bool) {
        for _ in 0..100_000 {
            if done(self) {
                return;
            }
            self.step();
        }
        panic!("gave up");
    }
}

fn main() {
    let voters: BTreeSet<ServerId> = (1..=3).map(ServerId).collect();
    let now = 1_000;
    let peers = voters
        .iter()
        .map(|&id| {
            let mut config = PeerConfig::new(id, 100);
            config.voters = voters.clone();
            (id, Peer::new(config, DataTree::new(), now))
        })
        .collect();
    let mut hosts = Hosts { peers, wire: VecDeque::new(), now, client: Vec::new() };
    // A new peer already has outputs (its first votes): drain before anything else.
    for id in voters.iter().copied() {
        hosts.drain(id);
    }
    hosts.run_until(|h| h.peers.values().all(|p| p.serving_epoch().is_some()));
    let leader = hosts.peers.iter().find(|(_, p)| p.role() == Role::Leading).map(|(id, _)| *id).expect("a leader");
    println!("elected server {} in epoch {:?} at t={}ms", leader.0, hosts.peers[&leader].serving_epoch().unwrap(), hosts.now);

    let follower = voters.iter().copied().find(|id| *id != leader).expect("a follower");
    let conn = ConnId(1);
    hosts.feed(follower, Input::Connected { conn, remote_ip: "127.0.0.1".into() });
    let request = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: Zxid::ZERO,
        timeout_ms: 10_000,
        session_id: SessionId(0),
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    hosts.feed(follower, Input::Connect { conn, request });
    hosts.run_until(|h| h.client.iter().any(|(_, o)| matches!(o, Output::Connected { .. })));
    let op = WriteOp::Create {
        path: "/hello".into(),
        data: b"world".as_slice().into(),
        acl: acl::open_acl_unsafe(),
        mode: CreateMode::Persistent,
        ttl_ms: None,
    };
    hosts.feed(follower, Input::Request { conn, xid: 1, request: ClientRequest::Write { op, reply: WriteReply::Create } });
    hosts.run_until(|h| h.client.iter().any(|(_, o)| matches!(o, Output::Reply { reply, .. } if reply.xid == 1)));
    hosts.run_until(|h| h.peers.values().all(|p| p.tree().node("/hello").is_some()));
    for (id, peer) in &hosts.peers {
        println!("server {}: {:?}, last zxid {}, digest {:016x}", id.0, peer.role(), peer.tree().last_zxid(), peer.tree().digest());
    }
}
