//! Proves, with real `ensemble serve` processes on loopback, that `server.N`
//! lines form a replicated ensemble: one leader, writes through any member
//! read back everywhere after a sync, failover after the leader is killed
//! with SIGKILL, an observer that serves but never votes, a member restarted
//! into a running ensemble catching up by DIFF, a member that lost its quorum
//! refusing to serve, and a real kazoo client moving its session to another
//! member when its server dies.

mod common;
#[path = "support/raw_client.rs"]
mod raw_client;

use common::{clients_file, four_letter, free_port, serial_guard, Interactive, TempDir};
use ensemble::proto::{self, Writer};
use raw_client::RawClient;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The bound on every wait in this file.
const WAIT: Duration = Duration::from_secs(30);

/// One member: its id, client port, role, directory and process.
struct Member {
    id: u64,
    client_port: u16,
    observer: bool,
    dir: PathBuf,
    child: Option<Child>,
}

impl Member {
    /// Starts `ensemble serve` on this member's zoo.cfg, appending to its server.log.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "server.{} is already running", self.id);
        let log = File::options().create(true).append(true).open(self.dir.join("server.log")).expect("open server.log");
        let child = Command::new(env!("CARGO_BIN_EXE_ensemble"))
            .arg("serve")
            .arg("--config")
            .arg(self.dir.join("zoo.cfg"))
            .current_dir(&self.dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .expect("spawn ensemble serve");
        self.child = Some(child);
    }

    /// Kills the process with SIGKILL (a crash) and reaps it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same data directory; `marker` goes into
    /// server.log first, so that [`Member::log_since`] reads only the new run.
    fn restart(&mut self, marker: &str) {
        self.kill();
        let mut log = File::options().append(true).open(self.dir.join("server.log")).expect("open server.log");
        writeln!(log, "{marker}").expect("write the marker");
        self.spawn();
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn log_tail(&self, lines: usize) -> String {
        let text = self.log();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The log written after `marker`.
    fn log_since(&self, marker: &str) -> String {
        let text = self.log();
        text.rfind(marker).map(|at| text[at..].to_string()).unwrap_or_default()
    }

    fn srvr(&self) -> String {
        four_letter(self.client_port, "srvr").unwrap_or_default()
    }

    fn mode(&self) -> Option<String> {
        self.srvr().lines().find_map(|l| l.strip_prefix("Mode: ").map(|m| m.trim().to_string()))
    }

    /// The role this member should report once it serves.
    fn expected_mode(&self) -> &'static str {
        if self.observer {
            "observer"
        } else {
            "follower"
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Voters and observers on loopback, each with its own zoo.cfg, myid and data directory.
struct Ensemble {
    members: Vec<Member>,
    _dir: TempDir,
}

impl Ensemble {
    /// Starts `voters` participants (server.1..) and `observers` observers (the highest ids).
    fn start(voters: u64, observers: u64) -> Ensemble {
        Ensemble::start_with(voters, observers, "")
    }

    /// Like [`Ensemble::start`], with `extra` lines in every zoo.cfg.
    fn start_with(voters: u64, observers: u64, extra: &str) -> Ensemble {
        let dir = TempDir::new("ensemble");
        let size = voters + observers;
        let ports: Vec<(u16, u16, u16)> = (0..size).map(|_| (free_port(), free_port(), free_port())).collect();
        let role = |i: usize| if i as u64 >= voters { ":observer" } else { "" };
        let server_lines: String = ports
            .iter()
            .enumerate()
            .map(|(i, (_, quorum, election))| format!("server.{}=127.0.0.1:{quorum}:{election}{}\n", i + 1, role(i)))
            .collect();
        let mut members = Vec::new();
        for (i, (client, _, _)) in ports.iter().enumerate() {
            let id = i as u64 + 1;
            let observer = id > voters;
            let member_dir = dir.path().join(format!("server{id}"));
            let data = member_dir.join("data");
            fs::create_dir_all(&data).expect("create the data directory");
            fs::write(data.join("myid"), format!("{id}\n")).expect("write myid");
            // ZooKeeper 3.8 wants both: `:observer` on every server line and peerType in the observer's own file.
            let peer_type = if observer { "peerType=observer\n" } else { "" };
            let cfg = format!(
                "tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={client}\nclientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\n{peer_type}{extra}{server_lines}",
                data.display()
            );
            fs::write(member_dir.join("zoo.cfg"), cfg).expect("write zoo.cfg");
            let mut member = Member { id, client_port: *client, observer, dir: member_dir, child: None };
            member.spawn();
            members.push(member);
        }
        Ensemble { members, _dir: dir }
    }

    fn all(&self) -> Vec<usize> {
        (0..self.members.len()).collect()
    }

    fn voters(&self) -> Vec<usize> {
        (0..self.members.len()).filter(|&i| !self.members[i].observer).collect()
    }

    fn logs(&self) -> String {
        self.members.iter().map(|m| format!("--- server.{} ---\n{}\n", m.id, m.log_tail(30))).collect()
    }

    /// Waits until the running members report exactly one leader, the other
    /// voters followers and the observers observers; returns the leader's index.
    fn wait_for_leader(&self, running: &[usize]) -> usize {
        let deadline = Instant::now() + WAIT;
        loop {
            let modes: Vec<Option<String>> = running.iter().map(|&i| self.members[i].mode()).collect();
            let leaders: Vec<usize> = running.iter().zip(&modes).filter(|(_, m)| m.as_deref() == Some("leader")).map(|(i, _)| *i).collect();
            let others_ok = running
                .iter()
                .zip(&modes)
                .all(|(&i, m)| m.as_deref() == Some("leader") || m.as_deref() == Some(self.members[i].expected_mode()));
            if leaders.len() == 1 && others_ok {
                return leaders[0];
            }
            assert!(Instant::now() < deadline, "no single leader within {WAIT:?}: modes {modes:?}\n{}", self.logs());
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until member `i` reports the mode it should have (it may still be syncing).
    fn wait_for_mode(&self, i: usize, mode: &str) {
        let deadline = Instant::now() + WAIT;
        while self.members[i].mode().as_deref() != Some(mode) {
            assert!(Instant::now() < deadline, "server.{} did not become {mode} within {WAIT:?}\n{}", self.members[i].id, self.logs());
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every znode with its data as member `i` holds it after a sync, for comparisons.
    fn tree(&self, i: usize) -> BTreeMap<String, Vec<u8>> {
        let mut client = connect(self.members[i].client_port);
        sync(&mut client, 1).expect("sync");
        let mut tree = BTreeMap::new();
        let mut stack = vec!["/".to_string()];
        let mut xid = 2;
        while let Some(path) = stack.pop() {
            xid += 2;
            let data = client.get_data(xid, &path).expect("getData").unwrap_or_else(|e| panic!("getData {path}: error {e}"));
            let children = client.get_children(xid + 1, &path).expect("getChildren").unwrap_or_else(|e| panic!("getChildren {path}: error {e}"));
            for child in children {
                stack.push(if path == "/" { format!("/{child}") } else { format!("{path}/{child}") });
            }
            tree.insert(path, data);
        }
        tree
    }

    /// Asserts that the running members in `running` hold the same znodes with the same data, and returns it.
    fn assert_same_trees(&self, running: &[usize]) -> BTreeMap<String, Vec<u8>> {
        let first = self.tree(running[0]);
        for &i in &running[1..] {
            let other = self.tree(i);
            if other != first {
                let only_first: Vec<&String> = first.keys().filter(|k| other.get(*k) != first.get(*k)).collect();
                let only_other: Vec<&String> = other.keys().filter(|k| other.get(*k) != first.get(*k)).collect();
                panic!(
                    "server.{} and server.{} differ: {only_first:?} vs {only_other:?}\n{}",
                    self.members[running[0]].id,
                    self.members[i].id,
                    self.logs()
                );
            }
        }
        first
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
    let mut ensemble = Ensemble::start(3, 0);
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

/// Asserts that `path` is visible on every member in `members` after a sync.
fn assert_visible_on(ensemble: &Ensemble, members: &[usize], path: &str) {
    for &i in members {
        assert_visible(ensemble.members[i].client_port, path);
    }
}

/// Creates `path` through a fresh session on `port`.
fn create_through(port: u16, path: &str) {
    let mut client = connect(port);
    create(&mut client, 1, path);
}

/// The value of `key` in a `mntr` answer.
fn mntr_value(port: u16, key: &str) -> Option<String> {
    let text = four_letter(port, "mntr").ok()?;
    text.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('\t').map(str::to_string))
}

#[test]
fn an_observer_serves_reads_and_writes_without_voting() {
    // Proves that a `server.4=...:observer` member with `peerType=observer` reports itself an
    // observer, forwards writes that commit everywhere, reads a leader's write after a sync,
    // can be killed without disturbing the voters, and catches up when restarted.
    let _guard = serial_guard();
    let started = Instant::now();
    let mut ensemble = Ensemble::start(3, 1);
    let leader = ensemble.wait_for_leader(&ensemble.all());
    let observer = 3;
    let observer_port = ensemble.members[observer].client_port;
    assert_eq!(ensemble.members[observer].mode().as_deref(), Some("observer"));
    assert_eq!(mntr_value(observer_port, "zk_server_state").as_deref(), Some("observer"));

    create_through(observer_port, "/through-observer");
    assert_visible_on(&ensemble, &ensemble.all(), "/through-observer");
    create_through(ensemble.members[leader].client_port, "/through-leader");
    assert_visible(observer_port, "/through-leader");

    ensemble.members[observer].kill();
    let voters = ensemble.voters();
    assert_eq!(ensemble.wait_for_leader(&voters), leader, "killing the observer changed the leader");
    let follower = voters.iter().copied().find(|&i| i != leader).expect("a follower");
    create_through(ensemble.members[follower].client_port, "/observer-down");
    assert_visible_on(&ensemble, &voters, "/observer-down");

    ensemble.members[observer].restart("=== restarted by the test ===");
    ensemble.wait_for_mode(observer, "observer");
    assert_visible(observer_port, "/observer-down");
    ensemble.assert_same_trees(&ensemble.all());
    assert_eq!(ensemble.wait_for_leader(&ensemble.all()), leader, "the observer's return changed the leader");
    eprintln!("observer test took {:.1?}", started.elapsed());
}

#[test]
fn a_restarted_member_catches_up_and_a_lost_quorum_stops_writes() {
    // Proves that a follower killed with SIGKILL and restarted on its data directory catches up
    // by DIFF (no SNAP, no TRUNC) to hold exactly the others' znodes, that a leader left without
    // a quorum stops serving (srvr says so, as ZooKeeper does) and takes no write, and that once
    // the other two are back the ensemble serves again with no acknowledged write lost.
    let _guard = serial_guard();
    let started = Instant::now();
    let mut ensemble = Ensemble::start(3, 0);
    let leader = ensemble.wait_for_leader(&ensemble.all());
    let lagging = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    create_through(ensemble.members[lagging].client_port, "/before-crash");
    ensemble.members[lagging].kill();

    const WRITES: usize = 20;
    let mut client_other = connect(ensemble.members[other].client_port);
    let mut client_leader = connect(ensemble.members[leader].client_port);
    for n in 0..WRITES {
        let client = if n % 2 == 0 { &mut client_other } else { &mut client_leader };
        let path = format!("/while-down-{n:02}");
        client.send_create(n as i32 + 1, &path, format!("value {n}").as_bytes()).expect("send create");
        let reply = client.read_reply().expect("create reply");
        assert_eq!(reply.err, 0, "create {path}");
    }
    drop((client_other, client_leader));

    let marker = "=== restarted by the test ===";
    ensemble.members[lagging].restart(marker);
    ensemble.wait_for_mode(lagging, "follower");
    let tree = ensemble.assert_same_trees(&ensemble.all());
    for n in 0..WRITES {
        assert_eq!(tree.get(&format!("/while-down-{n:02}")).map(Vec::as_slice), Some(format!("value {n}").as_bytes()));
    }
    let restarted_log = ensemble.members[lagging].log_since(marker);
    assert!(
        !restarted_log.contains("SNAP from the leader") && !restarted_log.contains("TRUNC from the leader"),
        "the restarted follower should have caught up by DIFF:\n{restarted_log}"
    );
    // A SNAP would have written a snapshot file; a DIFF only appends to the log.
    let snapshots: Vec<String> = fs::read_dir(ensemble.members[lagging].dir.join("data"))
        .expect("read the data directory")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.starts_with("snapshot."))
        .collect();
    assert!(snapshots.is_empty(), "the restarted follower wrote {snapshots:?}: was it sent a SNAP?");
    let zxids: Vec<Option<String>> = ensemble
        .members
        .iter()
        .map(|m| m.srvr().lines().find_map(|l| l.strip_prefix("Zxid: ").map(str::to_string)))
        .collect();
    assert!(zxids.windows(2).all(|w| w[0] == w[1]), "members report different last zxids: {zxids:?}");

    // Quorum lost: the two followers go, the leader stays.
    let mut client = connect(ensemble.members[leader].client_port);
    create(&mut client, 1, "/before-quorum-loss");
    ensemble.members[lagging].kill();
    ensemble.members[other].kill();
    let leader_port = ensemble.members[leader].client_port;
    let deadline = Instant::now() + WAIT;
    while !ensemble.members[leader].srvr().contains("This ZooKeeper instance is not currently serving requests") {
        assert!(Instant::now() < deadline, "the leader kept serving without a quorum: {}", ensemble.members[leader].srvr());
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(four_letter(leader_port, "ruok").expect("ruok"), "imok", "ruok answers imok while not serving, as in ZooKeeper");
    assert_eq!(four_letter(leader_port, "isro").expect("isro"), "null");
    // A write on the session opened before the loss is not acknowledged: the
    // server closes the connection or answers with an error.
    client.stream.set_read_timeout(Some(Duration::from_secs(3))).expect("set a read timeout");
    let unacknowledged = client.send_create(2, "/during-quorum-loss", b"data").and_then(|()| client.read_reply());
    assert!(!matches!(&unacknowledged, Ok(reply) if reply.err == 0), "a write was acknowledged without a quorum: {unacknowledged:?}");
    eprintln!("without a quorum, a write on an open session got {unacknowledged:?}");
    assert!(RawClient::connect(leader_port).is_err(), "a new session was opened without a quorum");
    drop(client);

    ensemble.members[lagging].restart(marker);
    ensemble.members[other].restart(marker);
    ensemble.wait_for_leader(&ensemble.all());
    create_through(ensemble.members[other].client_port, "/after-quorum-returns");
    let tree = ensemble.assert_same_trees(&ensemble.all());
    for path in ["/before-crash", "/before-quorum-loss", "/after-quorum-returns"] {
        assert!(tree.contains_key(path), "{path} was lost");
    }
    assert_eq!((0..WRITES).filter(|n| tree.contains_key(&format!("/while-down-{n:02}"))).count(), WRITES);
    eprintln!("restart and quorum-loss test took {:.1?}", started.elapsed());
}

#[test]
fn kazoo_moves_its_session_when_its_server_dies() {
    // Proves that a real ZooKeeper client (kazoo) given every member's address keeps its session
    // when the member it is connected to is killed with SIGKILL: it reconnects to another member
    // with the same session id, its ephemeral is still there, a watch set before the move (re-sent
    // with setWatches, as ZooKeeper's Java client does on reconnect) fires for a write through a
    // third member, and closing the session removes the ephemeral on every member.
    let _guard = serial_guard();
    require_kazoo();
    let started = Instant::now();
    let mut ensemble = Ensemble::start_with(3, 0, "maxSessionTimeout=20000\n");
    let leader = ensemble.wait_for_leader(&ensemble.all());
    // Followers first, so that the session starts on a follower and moves between followers.
    let order: Vec<usize> = [(leader + 1) % 3, (leader + 2) % 3, leader].into();
    let hosts: Vec<String> = order.iter().map(|&i| format!("127.0.0.1:{}", ensemble.members[i].client_port)).collect();
    let mut cmd = Command::new("python3");
    cmd.arg(clients_file("kazoo_session_move.py")).arg(hosts.join(","));
    let mut script = Interactive::spawn(cmd).expect("run python3");
    let connected = expect_line(&ensemble, &mut script, "connected ");
    let first_port: u16 = connected[1].parse().expect("a port");
    let victim = ensemble.members.iter().position(|m| m.client_port == first_port).expect("a member's port");
    ensemble.members[victim].kill();
    script.send_line("killed").expect("talk to the script");
    let moved = expect_line(&ensemble, &mut script, "moved ");
    assert_eq!(moved[2], connected[2], "the session id changed");
    let survivors: Vec<usize> = (0..3).filter(|&i| i != victim).collect();
    assert_visible_on(&ensemble, &survivors, "/move/eph");

    script.send_line("close").expect("talk to the script");
    expect_line(&ensemble, &mut script, "closed");
    let transcript = script.transcript.join("\n");
    assert_eq!(script.finish(Duration::from_secs(10)).map(|s| s.success()), Some(true), "{transcript}");
    ensemble.members[victim].restart("=== restarted by the test ===");
    ensemble.wait_for_mode(victim, "follower");
    for i in ensemble.all() {
        let mut client = connect(ensemble.members[i].client_port);
        sync(&mut client, 1).expect("sync");
        assert!(!client.exists(2, "/move/eph").expect("exists"), "the closed session's ephemeral is still on server.{}", ensemble.members[i].id);
        assert!(client.exists(3, "/move/watched").expect("exists"));
    }
    eprintln!("kazoo session-move test took {:.1?}:\n{transcript}", started.elapsed());
}

/// Reads the script's output until a line starting with `prefix`, failing on a FAIL line; returns its words.
fn expect_line(ensemble: &Ensemble, script: &mut Interactive, prefix: &str) -> Vec<String> {
    let lines = script
        .read_until(WAIT, |l| l.starts_with(prefix) || l.starts_with("FAIL"))
        .unwrap_or_else(|e| panic!("kazoo_session_move.py: {e}\n{}", ensemble.logs()));
    let last = lines.last().expect("a line").clone();
    assert!(last.starts_with(prefix), "kazoo_session_move.py:\n{}\n{}", script.transcript.join("\n"), ensemble.logs());
    last.split_whitespace().map(str::to_string).collect()
}

/// Fails with a hint when python3 or kazoo is missing.
fn require_kazoo() {
    match Command::new("python3").arg("-c").arg("import kazoo").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("kazoo is not importable by python3 ({}): run .ci/install-deps", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => panic!("python3 cannot be run ({e}): run .ci/install-deps"),
    }
}
