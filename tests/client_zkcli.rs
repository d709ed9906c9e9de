//! Proves that Apache's Java command-line client, `zkCli.sh`, prints the same
//! thing against ensemble as against ZooKeeper 3.8 for a script
//! (`tests/clients/zkcli_script.txt`) that uses create -s/-e/-c/-t, ls, ls -s,
//! ls -R, get -s, set, stat, delete, deleteall, getAcl, setAcl, addauth,
//! whoami, sync, addWatch (persistent and recursive), get/ls/stat -w,
//! removewatches, getEphemerals and getAllChildrenNumber, and error cases
//! (existing node, non-empty delete, missing node, bad version, ephemeral
//! parent, no permission).
//!
//! The outputs are compared after normalization: the JVM banner, log lines and
//! blank lines go (so an empty value, printed as a blank line, shows up as a
//! missing line); zxids and session ids become numbered placeholders in order
//! of first appearance (so equalities such as cZxid = mZxid still count); dates
//! become `<time>`; lists and `ls -R` lines are sorted (servers return children
//! in any order); and the asynchronous watch event lines, which the client's
//! event thread prints between other lines at no fixed place, are moved to a
//! sorted section at the end. `normalization_is_stable_on_zookeeper` proves these
//! rules hide every run-to-run difference of the reference, and that the
//! reference still prints what `tests/clients/zkcli_expected.txt` records.

mod common;

use std::collections::HashMap;
use std::fs;
use std::process::Command;
use std::time::Duration;

use common::{
    clients_file, line_diff, run_bounded, serial_guard, Server, ServerKind, ServerOptions, ZKCLI,
};

/// One zkCli run takes about 1 s; this bounds a hung one.
const ZKCLI_TIMEOUT: Duration = Duration::from_secs(90);

/// Proves zkCli's normalized output for the script is the same against ensemble as against ZooKeeper.
#[test]
fn ensemble_matches_zookeeper_zkcli() {
    let _serial = serial_guard();
    let expected = {
        let zookeeper = Server::zookeeper(ServerOptions::default());
        run_script(&zookeeper)
    };
    let ensemble = Server::ensemble(ServerOptions::default());
    let actual = run_script(&ensemble);
    if let Some(diff) = line_diff(&expected, &actual) {
        panic!(
            "zkCli prints differently against ensemble (+) than against ZooKeeper 3.8 (-):\n{diff}\n\
             --- last lines of the ensemble log ---\n{}",
            ensemble.log_tail(30)
        );
    }
}

/// Proves the normalization hides every run-to-run difference of the reference, so a
/// mismatch in `ensemble_matches_zookeeper_zkcli` is a real difference.
#[test]
fn normalization_is_stable_on_zookeeper() {
    let _serial = serial_guard();
    let zookeeper = Server::zookeeper(ServerOptions::default());
    // The script deletes everything it creates, so a second run on the same
    // server sees the same tree but new session ids, zxids and times.
    let (first_raw, first) = run_script_raw(&zookeeper);
    let (second_raw, second) = run_script_raw(&zookeeper);
    assert_ne!(
        first_raw, second_raw,
        "two raw runs are identical: the run-to-run differences this test relies on are missing"
    );
    if let Some(diff) = line_diff(&first, &second) {
        panic!("normalized zkCli output differs between two runs on ZooKeeper (first -, second +):\n{diff}");
    }
    for must in [
        "Created /zkcli/es-0000000004",
        "Node already exists: /zkcli/p",
        "Node not empty: /zkcli/p",
        "digest: alice",
    ] {
        assert!(
            first.contains(must),
            "the script did not run as intended: {must:?} is missing from\n{first}"
        );
    }

    let expected_path = clients_file("zkcli_expected.txt");
    if std::env::var_os("ENSEMBLE_BLESS").is_some() {
        fs::write(&expected_path, &first).expect("write zkcli_expected.txt");
    }
    let recorded = fs::read_to_string(&expected_path).unwrap_or_default();
    if let Some(diff) = line_diff(&recorded, &first) {
        panic!(
            "ZooKeeper's normalized zkCli output (+) differs from {} (-); \
             rerun with ENSEMBLE_BLESS=1 to record it if the change is intended:\n{diff}",
            expected_path.display()
        );
    }
}

/// Proves a write zkCli saw acknowledged survives a SIGKILL of ensemble and a
/// restart on the same data directory (and that the harness can do that).
#[test]
fn ensemble_keeps_acknowledged_writes_across_kill_9() {
    crash_restart_keeps_writes(ServerKind::Ensemble);
}

/// Proves the same of ZooKeeper 3.8, the reference for the test above.
#[test]
fn reference_zookeeper_keeps_acknowledged_writes_across_kill_9() {
    crash_restart_keeps_writes(ServerKind::ZooKeeper);
}

/// Writes through zkCli, kills the server with SIGKILL, restarts it on the same
/// port and data directory, and reads the writes back.
fn crash_restart_keeps_writes(kind: ServerKind) {
    let _serial = serial_guard();
    let mut server = Server::start(kind, ServerOptions::default());
    let port = server.port();
    let before = run_commands(
        &server,
        "create /durable \"kept\"\ncreate -s /durable/n- \"n\"\nset /durable \"kept2\"\nquit\n",
    );
    assert!(
        before.contains("Created /durable/n-0000000000"),
        "the writes failed:\n{before}"
    );
    server.kill();
    server.restart();
    assert_eq!(
        server.port(),
        port,
        "the restart moved the server to another port"
    );
    let after = run_commands(
        &server,
        "get -s /durable\nls /durable\ncreate -s /durable/n- \"n\"\nquit\n",
    );
    let after = normalize(&after);
    for must in [
        "kept2",
        "dataVersion = 1",
        "numChildren = 1",
        "[n-0000000000]",
        "Created /durable/n-0000000001",
    ] {
        assert!(
            after.contains(must),
            "after kill -9 and restart, {} lost {must:?}:\n{after}\n--- server log ---\n{}",
            kind.name(),
            server.log_tail(30)
        );
    }
}

/// Runs `commands` through zkCli against `server`; returns the raw output.
fn run_commands(server: &Server, commands: &str) -> String {
    assert!(
        std::path::Path::new(ZKCLI).exists(),
        "{ZKCLI} is missing: run .ci/install-deps"
    );
    let mut cmd = Command::new(ZKCLI);
    cmd.arg("-server").arg(server.address());
    // A small, quickly started client JVM.
    cmd.env(
        "CLIENT_JVMFLAGS",
        "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    );
    let run = run_bounded(cmd, commands.as_bytes(), ZKCLI_TIMEOUT).expect("run zkCli.sh");
    assert!(
        run.success(),
        "zkCli.sh against {} ended with {:?} after {:.1?}:\n{}",
        server.kind().name(),
        run.status,
        run.elapsed,
        run.output
    );
    run.output
}

/// Runs the script against `server` and returns its normalized output.
fn run_script(server: &Server) -> String {
    run_script_raw(server).1
}

/// Runs the script against `server`; returns the raw and the normalized output.
fn run_script_raw(server: &Server) -> (String, String) {
    let script =
        fs::read_to_string(clients_file("zkcli_script.txt")).expect("read zkcli_script.txt");
    let raw = run_commands(server, &script);
    let normalized = normalize(&raw);
    (raw, normalized)
}

/// Makes zkCli output comparable across runs and servers (see the file's doc).
fn normalize(raw: &str) -> String {
    let mut zxids = Placeholders::new("zxid");
    let mut sessions = Placeholders::new("session");
    let mut lines: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    for line in raw.lines() {
        let line = line.trim_end();
        if is_noise(line) {
            continue;
        }
        if line.starts_with("WatchedEvent ") {
            events.push(line.to_string());
            continue;
        }
        let mut out = line.to_string();
        for field in ["cZxid", "mZxid", "pZxid"] {
            if let Some(value) = line
                .strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(" = "))
            {
                out = format!("{field} = {}", zxids.get(value));
            }
        }
        for field in ["ctime", "mtime"] {
            if line.starts_with(field) && line[field.len()..].starts_with(" = ") {
                out = format!("{field} = <time>");
            }
        }
        if let Some(value) = line.strip_prefix("ephemeralOwner = ") {
            if value != "0x0" {
                out = format!("ephemeralOwner = {}", sessions.get(value));
            }
        }
        if out.starts_with('[') && out.ends_with(']') && out.len() > 2 {
            let mut items: Vec<&str> = out[1..out.len() - 1].split(", ").collect();
            items.sort_unstable();
            out = format!("[{}]", items.join(", "));
        }
        lines.push(out);
    }
    sort_runs_of_paths(&mut lines);
    events.sort();
    let mut text = lines.join("\n");
    text += "\n--- watch events, sorted ---\n";
    text += &events.join("\n");
    text.push('\n');
    text
}

/// Lines that depend on the JVM, the logger or the connection banner.
fn is_noise(line: &str) -> bool {
    line.is_empty()
        || line == "WATCHER::"
        || line.starts_with("SLF4J:")
        || line.starts_with("log4j:")
        || line.starts_with("Connecting to ")
        || line == "Welcome to ZooKeeper!"
        || line.starts_with("JLine support is")
        || looks_like_log_line(line)
}

/// `2024-01-02 03:04:05,678 ...`: a log4j line, should a binding be present.
fn looks_like_log_line(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b' ' || b[10] == b'T')
        && b[13] == b':'
}

/// `ls -R` prints one path per line in the order the server listed children;
/// sort each run of such lines.
fn sort_runs_of_paths(lines: &mut [String]) {
    let mut start = 0;
    while start < lines.len() {
        if !lines[start].starts_with('/') {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < lines.len() && lines[end].starts_with('/') {
            end += 1;
        }
        lines[start..end].sort();
        start = end;
    }
}

/// Replaces run-specific values by `<kind#n>`, numbered by first appearance.
struct Placeholders {
    kind: &'static str,
    seen: HashMap<String, usize>,
}

impl Placeholders {
    fn new(kind: &'static str) -> Self {
        Placeholders {
            kind,
            seen: HashMap::new(),
        }
    }

    fn get(&mut self, value: &str) -> String {
        let next = self.seen.len() + 1;
        let n = *self.seen.entry(value.to_string()).or_insert(next);
        format!("<{}#{n}>", self.kind)
    }
}

#[cfg(test)]
mod normalize_tests {
    use super::normalize;

    /// Proves the normalizer keeps zxid equalities, hides values, sorts lists and moves events.
    #[test]
    fn placeholders_keep_equalities_and_events_move_to_the_end() {
        let raw = "SLF4J: x\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n\
                   cZxid = 0x1f\nmZxid = 0x1f\npZxid = 0x20\nctime = Sat Nov 21 23:17:39 UTC 2026\n\
                   ephemeralOwner = 0x0\nephemeralOwner = 0x100000340350007\n[b, a]\n/z\n/y\n";
        let expected = "cZxid = <zxid#1>\nmZxid = <zxid#1>\npZxid = <zxid#2>\nctime = <time>\n\
                        ephemeralOwner = 0x0\nephemeralOwner = <session#1>\n[a, b]\n/y\n/z\n\
                        --- watch events, sorted ---\n\
                        WatchedEvent state:SyncConnected type:None path:null\n";
        assert_eq!(normalize(raw), expected);
    }
}
