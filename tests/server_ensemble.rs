//! Proves that three `ensemble serve` processes configured with `server.N`
//! lines form a replicated ensemble: exactly one leads and two follow, a write
//! through one member is read back from the others after a sync, and when the
//! leader is killed with SIGKILL the other two elect a new leader among
//! themselves, still hold the data and still accept writes.

mod common;
#[path = "support/raw_client.rs"]
mod raw_client;

use common::{four_letter, free_port, serial_guard, TempDir};
use ensemble::proto::{self, Writer};
use raw_client::RawClient;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The bound on every wait in this file.
const WAIT: Duration = Duration::from_secs(30);

/// One member: its id, client port, directory and process.
struct Member {
    id: u64,
    client_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Member {
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn mode(&self) -> Option<String> {
        let text = four_letter(self.client_port, "srvr").ok()?;
        text.lines().find_map(|l| l.strip_prefix("Mode: ").map(|m| m.trim().to_string()))
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three members on loopback, each with its own zoo.cfg, myid and data directory.
struct Ensemble {
    members: Vec<Member>,
    _dir: TempDir,
}

impl Ensemble {
    fn start(size: u64) -> Ensemble {
        let dir = TempDir::new("ensemble3");
        let ports: Vec<(u16, u16, u16)> = (0..size).map(|_| (free_port(), free_port(), free_port())).collect();
        let server_lines: String =
            ports.iter().enumerate().map(|(i, (_, quorum, election))| format!("server.{}=127.0.0.1:{quorum}:{election}\n", i + 1)).collect();
        let bin = env!("CARGO_BIN_EXE_ensemble");
        let mut members = Vec::new();
        for (i, (client, _, _)) in ports.iter().enumerate() {
            let id = i as u64 + 1;
            let member_dir = dir.path().join(format!("server{id}"));
            let data = member_dir.join("data");
            fs::create_dir_all(&data).expect("create the data directory");
            fs::write(data.join("myid"), format!("{id}\n")).expect("write myid");
            let cfg = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={client}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{server_lines}",
                data.display()
            );
            fs::write(member_dir.join("zoo.cfg"), cfg).expect("write zoo.cfg");
            let log = File::create(member_dir.join("server.log")).expect("create server.log");
            let child = Command::new(bin)
                .arg("serve")
                .arg("--config")
                .arg(member_dir.join("zoo.cfg"))
                .current_dir(&member_dir)
                .env("RUST_LOG", "info")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log"))
                .stderr(log)
                .spawn()
                .expect("spawn ensemble serve");
            members.push(Member { id, client_port: *client, dir: member_dir, child: Some(child) });
        }
        Ensemble { members, _dir: dir }
    }

    fn logs(&self) -> String {
        self.members.iter().map(|m| format!("--- server.{} ---\n{}\n", m.id, m.log_tail(30))).collect()
    }

    /// Waits until the running members report exactly one leader and the rest followers; returns the leader's index.
    fn wait_for_leader(&self, running: &[usize]) -> usize {
        let deadline = Instant::now() + WAIT;
        loop {
            let modes: Vec<Option<String>> = running.iter().map(|&i| self.members[i].mode()).collect();
            let leaders: Vec<usize> = running.iter().zip(&modes).filter(|(_, m)| m.as_deref() == Some("leader")).map(|(i, _)| *i).collect();
            let followers = modes.iter().filter(|m| m.as_deref() == Some("follower")).count();
            if leaders.len() == 1 && followers == running.len() - 1 {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no single leader within {WAIT:?}: modes {modes:?}\n{}", self.logs());
            thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Connects to `port`, retrying within the bound (a member may still be syncing with its leader).
fn connect(port: u16) -> RawClient {
    let deadline = Instant::now() + WAIT;
    loop {
        match RawClient::connect(port) {
            Ok(client) => return client,
            Err(e) => assert!(Instant::now() < deadline, "could not open a session on port {port}: {e}"),
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Creates `path`, asserting success.
fn create(client: &mut RawClient, xid: i32, path: &str) {
    client.send_create(xid, path, b"data").expect("send create");
    let reply = client.read_reply().expect("create reply");
    assert_eq!((reply.xid, reply.err), (xid, 0), "create {path}");
}

/// Sends a sync of `/` and waits for its reply.
fn sync(client: &mut RawClient, xid: i32) -> io::Result<()> {
    let mut out = Vec::new();
    proto::write_frame(&mut out, |b| {
        let mut w = Writer::new(b);
        w.int(xid);
        w.int(9);
        w.string("/");
    });
    client.stream.write_all(&out)?;
    let reply = client.read_reply()?;
    assert_eq!((reply.xid, reply.err), (xid, 0), "sync");
    Ok(())
}

/// After a sync on a fresh session to `port`, `path` exists.
fn assert_visible(port: u16, path: &str) {
    let mut client = connect(port);
    sync(&mut client, 1).expect("sync");
    assert!(client.exists(2, path).expect("exists"), "{path} is not visible on port {port}");
}

#[test]
fn three_servers_elect_replicate_and_survive_the_leader() {
    let _guard = serial_guard();
    let mut ensemble = Ensemble::start(3);
    let leader = ensemble.wait_for_leader(&[0, 1, 2]);

    // Write through a follower; the write is forwarded to the leader.
    let writer = (leader + 1) % 3;
    let mut client = connect(ensemble.members[writer].client_port);
    create(&mut client, 1, "/replicated");
    drop(client);
    for i in 0..3 {
        assert_visible(ensemble.members[i].client_port, "/replicated");
    }

    ensemble.members[leader].kill();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let new_leader = ensemble.wait_for_leader(&survivors);
    assert_ne!(new_leader, leader);
    eprintln!("server.{} led, then server.{} after the kill", ensemble.members[leader].id, ensemble.members[new_leader].id);
    for &i in &survivors {
        assert_visible(ensemble.members[i].client_port, "/replicated");
    }
    let other = survivors.iter().copied().find(|&i| i != new_leader).expect("two survivors");
    let mut client = connect(ensemble.members[other].client_port);
    create(&mut client, 1, "/after-failover");
    drop(client);
    for &i in &survivors {
        assert_visible(ensemble.members[i].client_port, "/after-failover");
    }
    for member in &mut ensemble.members {
        member.kill();
    }
}
