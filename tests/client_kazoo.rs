//! Proves that kazoo, a widely used Python client, gets ZooKeeper 3.8's behaviour
//! from ensemble: CRUD and error codes, every znode mode (ephemeral, sequential,
//! container, TTL), sequential naming, Stat fields, multi, standard and
//! persistent watches, setWatches after a reconnect, ACLs and auth, session
//! reconnect and expiry, and container/TTL cleanup. The checks live in
//! `tests/clients/kazoo_suite.py`; the same suite runs against a real Apache
//! ZooKeeper 3.8 as a reference, which keeps the suite itself honest.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{
    clients_file, run_bounded, serial_guard, Server, ServerKind, ServerOptions, SUPER_DIGEST_SECRET,
};

/// The suite takes about 11 s against ZooKeeper; this bounds a hung run.
const SUITE_TIMEOUT: Duration = Duration::from_secs(240);

/// The password behind [`SUPER_DIGEST_SECRET`].
const SUPER_CREDENTIALS: &str = "super:secret";

/// Proves ensemble passes every check of the kazoo suite.
#[test]
fn ensemble_passes_kazoo_suite() {
    run_kazoo_suite(ServerKind::Ensemble);
}

/// Proves the kazoo suite is right about ZooKeeper 3.8: the reference passes it too.
#[test]
fn reference_zookeeper_passes_kazoo_suite() {
    run_kazoo_suite(ServerKind::ZooKeeper);
}

/// Starts a server of `kind` and runs every section of the kazoo suite against
/// it (or the comma-separated sections in `ENSEMBLE_KAZOO_ONLY`).
fn run_kazoo_suite(kind: ServerKind) {
    let _serial = serial_guard();
    require_kazoo();
    let opts = ServerOptions {
        super_digest: Some(SUPER_DIGEST_SECRET.into()),
        ..ServerOptions::default()
    };
    let tick_time_ms = opts.tick_time_ms;
    let server = Server::start(kind, opts);

    let script = clients_file("kazoo_suite.py");
    let mut args = vec![
        script.display().to_string(),
        server.address(),
        "--tick-ms".into(),
        tick_time_ms.to_string(),
        "--super".into(),
        SUPER_CREDENTIALS.into(),
        "--deadline".into(),
        (SUITE_TIMEOUT.as_secs() - 20).to_string(),
    ];
    if let Ok(only) = std::env::var("ENSEMBLE_KAZOO_ONLY") {
        args.push("--only".into());
        args.push(only);
    }
    let mut cmd = Command::new("python3");
    cmd.args(&args);
    let run = run_bounded(cmd, b"", SUITE_TIMEOUT).expect("run python3");

    let summary = run
        .output
        .lines()
        .filter(|l| !l.starts_with("ok "))
        .collect::<Vec<_>>()
        .join("\n");
    if !run.success() {
        panic!(
            "the kazoo suite failed against {} (status {:?}, after {:.1?}):\n{}\n\
             --- last lines of the server log ---\n{}\n\
             --- replay: start a server, then: python3 {} 127.0.0.1:PORT --super {} [--only SECTION]",
            kind.name(),
            run.status,
            run.elapsed,
            run.output,
            server.log_tail(30),
            script.display(),
            SUPER_CREDENTIALS,
        );
    }
    eprintln!(
        "kazoo suite against {} passed in {:.1?}:\n{summary}",
        kind.name(),
        run.elapsed
    );
}

/// Fails with a hint when python3 or kazoo is missing.
fn require_kazoo() {
    let probe = Command::new("python3")
        .arg("-c")
        .arg("import kazoo")
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "kazoo is not importable by python3 ({}): run .ci/install-deps",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("python3 cannot be run ({e}): run .ci/install-deps"),
    }
}
