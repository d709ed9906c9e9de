//! Proves that Apache's C client shell, `cli_mt` (libzookeeper_mt), works
//! against ensemble as against ZooKeeper 3.8: it connects, creates nodes of
//! every mode (`create [+[e|s|c|t=ttl]]`, `create2`), reads (`get`, `ls`,
//! `ls2`), writes (`set`, `delete`, `sync`), gets ZooKeeper's error codes
//! (NodeExists, NotEmpty, NoNode, NoChildrenForEphemerals), receives the
//! watches `get` and `ls` leave (before the reply to the write that fires them),
//! and is shut out by an unknown auth scheme.
//!
//! `cli_mt` runs every command asynchronously, so the driver sends one command
//! followed by `sync /` and reads up to the sync's completion: responses come
//! back in order, so the lines in between belong to that command. Times,
//! zxids and session ids are replaced by placeholders, and `ls` children are
//! sorted (servers list them in any order); the rest must match line for line.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{serial_guard, Interactive, Server, ServerKind, ServerOptions, CLI_MT};

/// The bound on each step (connect, one command and its marker).
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Proves cli_mt prints what ZooKeeper makes it print when it talks to ensemble.
#[test]
fn ensemble_serves_cli_mt() {
    run_cli_mt(ServerKind::Ensemble);
}

/// Proves the expected cli_mt lines are ZooKeeper 3.8's own.
#[test]
fn reference_zookeeper_serves_cli_mt() {
    run_cli_mt(ServerKind::ZooKeeper);
}

/// A stat as cli_mt's dumpStat prints it, after normalization.
const STAT_V0: [&str; 6] = [
    "\tctime = <time>",
    "\tczxid=<zxid>",
    "\tmtime=<time>",
    "\tmzxid=<zxid>",
    "\tversion=0\taversion=0",
    "\tephemeralOwner = 0",
];
const STAT_V1: [&str; 6] = [
    "\tctime = <time>",
    "\tczxid=<zxid>",
    "\tmtime=<time>",
    "\tmzxid=<zxid>",
    "\tversion=1\taversion=0",
    "\tephemeralOwner = 0",
];

fn run_cli_mt(kind: ServerKind) {
    let _serial = serial_guard();
    assert!(
        std::path::Path::new(CLI_MT).exists(),
        "{CLI_MT} is missing: run .ci/install-deps"
    );
    let server = Server::start(kind, ServerOptions::default());
    let mut cli = CliMt::connect(&server);

    let children = [
        "/climt: rc = 0",
        "\tc",
        "\te",
        "\tes-0000000002",
        "\ts-0000000001",
        "\tt",
        "\ttwo",
    ];
    let steps: Vec<(&str, Vec<&str>)> = vec![
        (
            "create /climt",
            vec![
                "Creating [/climt] node (mode: 0)",
                "[/climt]: rc = 0",
                "\tname = /climt",
            ],
        ),
        (
            "create +e /climt/e",
            vec![
                "Creating [/climt/e] node (mode: 1)",
                "[/climt/e]: rc = 0",
                "\tname = /climt/e",
            ],
        ),
        (
            "create +s /climt/s-",
            vec![
                "Creating [/climt/s-] node (mode: 2)",
                "[/climt/s-]: rc = 0",
                "\tname = /climt/s-0000000001",
            ],
        ),
        (
            "create +es /climt/es-",
            vec![
                "Creating [/climt/es-] node (mode: 3)",
                "[/climt/es-]: rc = 0",
                "\tname = /climt/es-0000000002",
            ],
        ),
        (
            "create +c /climt/c",
            vec![
                "Creating [/climt/c] node (mode: 4)",
                "[/climt/c]: rc = 0",
                "\tname = /climt/c",
            ],
        ),
        (
            "create +t=600000 /climt/t",
            vec![
                "Creating [/climt/t] node (mode: 5)",
                "[/climt/t]: rc = 0",
                "\tname = /climt/t",
            ],
        ),
        (
            "create2 /climt/two",
            [
                &[
                    "Creating [/climt/two] node (mode: 0)",
                    "[/climt/two]: rc = 0",
                    "\tname = /climt/two",
                ][..],
                &STAT_V0,
            ]
            .concat(),
        ),
        (
            "get /climt",
            [
                &["/climt: rc = 0", " value_len = 3", "new", "Stat:"][..],
                &STAT_V0,
            ]
            .concat(),
        ),
        ("ls /climt", children.to_vec()),
        ("ls2 /climt", [&children[..], &STAT_V0].concat()),
        (
            "set /climt hello",
            [
                &[
                    "Watcher CHANGED_EVENT state = CONNECTED_STATE for path /climt",
                    "/climt: rc = 0 Stat:",
                ][..],
                &STAT_V1,
            ]
            .concat(),
        ),
        (
            "get /climt",
            [
                &["/climt: rc = 0", " value_len = 5", "hello", "Stat:"][..],
                &STAT_V1,
            ]
            .concat(),
        ),
        (
            "create /climt",
            vec!["Creating [/climt] node (mode: 0)", "[/climt]: rc = -110"],
        ),
        ("delete /climt", vec!["/climt: rc = -111"]),
        (
            "get /missing",
            vec!["/missing: rc = -101", "", "Stat:", "null"],
        ),
        ("ls /missing", vec!["/missing: rc = -101"]),
        ("set /missing x", vec!["/missing: rc = -101 Stat:", "null"]),
        ("delete /missing", vec!["/missing: rc = -101"]),
        (
            "create /climt/e/x",
            vec![
                "Creating [/climt/e/x] node (mode: 0)",
                "[/climt/e/x]: rc = -108",
            ],
        ),
        (
            "delete /climt/two",
            vec![
                "Watcher CHILD_EVENT state = CONNECTED_STATE for path /climt",
                "/climt/two: rc = 0",
            ],
        ),
        ("sync /climt", vec!["[/climt]: rc = 0", "\tname = /climt"]),
    ];
    for (command, expected) in steps {
        let actual = cli.command(command);
        assert_eq!(
            actual,
            expected,
            "cli_mt against {}: `{command}` printed {actual:#?}, expected {expected:#?}\n\
             --- transcript ---\n{}\n--- last lines of the server log ---\n{}",
            kind.name(),
            cli.inner.transcript.join("\n"),
            server.log_tail(20)
        );
    }

    // An unknown auth scheme: the server answers AuthFailed and closes the session.
    cli.inner
        .send_line("addauth nosuchscheme secret")
        .expect("write to cli_mt");
    let block = cli
        .inner
        .read_until(STEP_TIMEOUT, |l| {
            l == "Authentication failure. Shutting down..."
        })
        .unwrap_or_else(|e| panic!("cli_mt against {}: no auth failure: {e}", kind.name()));
    let block: Vec<String> = block.into_iter().filter_map(|l| normalize(&l)).collect();
    assert_eq!(
        block,
        [
            "Watcher SESSION_EVENT state = AUTH_FAILED_STATE",
            "Authentication failure. Shutting down..."
        ],
        "cli_mt against {}: unexpected lines around the auth failure",
        kind.name()
    );
    // cli_mt's own shutdown after an auth failure sometimes hangs (against real
    // ZooKeeper too), so its exit is not asserted; `finish` stops it either way.
    cli.inner.close_stdin();
    let _ = cli.inner.finish(Duration::from_secs(5));
}

/// A running `cli_mt` connected to one server.
struct CliMt {
    inner: Interactive,
}

impl CliMt {
    /// Starts cli_mt and waits for its session.
    fn connect(server: &Server) -> CliMt {
        let mut cmd = Command::new(CLI_MT);
        cmd.arg(server.address());
        let mut inner = Interactive::spawn(cmd).expect("spawn cli_mt");
        inner
            .read_until(STEP_TIMEOUT, |l| l.starts_with("Got a new session id: 0x"))
            .unwrap_or_else(|e| panic!("cli_mt did not connect to {}: {e}", server.kind().name()));
        CliMt { inner }
    }

    /// Runs one command; returns its normalized output lines.
    fn command(&mut self, command: &str) -> Vec<String> {
        self.inner.send_line(command).expect("write to cli_mt");
        self.inner.send_line("sync /").expect("write to cli_mt");
        let mut block = self
            .inner
            .read_until(STEP_TIMEOUT, |l| l == "\tname = /")
            .unwrap_or_else(|e| panic!("`{command}` did not complete: {e}"));
        // The marker: "[/]: rc = 0" then "\tname = /".
        block.pop();
        assert_eq!(
            block.pop().as_deref(),
            Some("[/]: rc = 0"),
            "the sync marker failed after `{command}`"
        );
        let mut lines: Vec<String> = block.iter().filter_map(|l| normalize(l)).collect();
        if command.starts_with("ls") {
            sort_child_lines(&mut lines);
        }
        lines
    }
}

/// Drops timing and log lines; replaces times, zxids and session ids.
fn normalize(line: &str) -> Option<String> {
    if line.starts_with("time = ") || line.contains(":ZOO_") {
        return None;
    }
    let fields = [
        ("\tctime = ", "<time>"),
        ("\tmtime=", "<time>"),
        ("\tczxid=", "<zxid>"),
        ("\tmzxid=", "<zxid>"),
    ];
    for (prefix, placeholder) in fields {
        if line.starts_with(prefix) {
            return Some(format!("{prefix}{placeholder}"));
        }
    }
    if let Some(owner) = line.strip_prefix("\tephemeralOwner = ") {
        if owner != "0" {
            return Some("\tephemeralOwner = <session>".into());
        }
    }
    Some(line.to_string())
}

/// Sorts the child names (tab-indented lines without '=') of an `ls` block.
fn sort_child_lines(lines: &mut [String]) {
    let is_child = |l: &String| l.starts_with('\t') && !l.contains('=');
    let start = match lines.iter().position(is_child) {
        Some(i) => i,
        None => return,
    };
    let end = lines[start..]
        .iter()
        .position(|l| !is_child(l))
        .map_or(lines.len(), |n| start + n);
    lines[start..end].sort();
}
