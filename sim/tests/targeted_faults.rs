//! Proves that each scenario of the fault corpus exercises the case it is named
//! for: its targeted fault fired, the disk damage was detected at recovery, or
//! the sync it is about (DIFF, TRUNC, SNAP) happened, and the run still passed
//! every checker. Also proves that swarm runs draw the newer faults.

use ensemble_sim::scenario::run_config;
use ensemble_sim::{swarm_config, Fault, Scenario, Verdict};

/// Runs `scenarios/NAME.toml` and asserts it passed.
fn run(name: &str) -> Verdict {
    let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v = run_config(scenario.config());
    assert!(v.passed(), "{name} failed: {:?}\n  last trace lines: {:#?}\n  replay: cargo run --release -p ensemble-sim -- run {path}", v.failures, v.trace_tail);
    v
}

/// Asserts that some fired line contains every one of `parts`.
fn assert_fired(name: &str, v: &Verdict, parts: &[&str]) {
    assert!(v.fired.iter().any(|f| parts.iter().all(|p| f.contains(p))), "{name}: nothing fired matching {parts:?}; fired: {:#?}", v.fired);
}

/// How many messages of `kind` the run delivered.
fn delivered(v: &Verdict, kind: &str) -> u64 {
    v.delivered.get(kind).copied().unwrap_or(0)
}

// Five voters: the leader crashed holding one follower ACK of a proposal, below a quorum, with no COMMIT sent.
#[test]
fn leader_crash_before_quorum_ack() {
    let v = run("leader_crash_before_quorum_ack");
    assert_fired("leader_crash_before_quorum_ack", &v, &["leader_acked", "1 follower ACKs", "no COMMIT sent"]);
}

// Three voters: the leader crashed with a quorum of ACKs for a proposal, as it was about to send the COMMIT.
#[test]
fn leader_crash_after_quorum_ack() {
    let v = run("leader_crash_after_quorum_ack");
    assert_fired("leader_crash_after_quorum_ack", &v, &["leader_acked", "before its COMMIT"]);
}

// A follower crashed with acceptedEpoch durable and currentEpoch still the older one.
#[test]
fn crash_between_epochs() {
    let v = run("crash_between_epochs");
    assert_fired("crash_between_epochs", &v, &["between_epochs", "crashed follower"]);
}

// An old leader with txns only it logged rejoins and is told to TRUNC them.
#[test]
fn learner_with_uncommitted_txns_rejoins() {
    let v = run("learner_with_uncommitted_txns_rejoins");
    assert!(delivered(&v, "TRUNC") >= 1, "no TRUNC: {:?}", v.delivered);
}

// A learner crashed inside a TRUNC sync, then synced again.
#[test]
fn learner_crash_during_trunc() {
    let v = run("learner_crash_during_trunc");
    assert_fired("learner_crash_during_trunc", &v, &["during_sync", "in Trunc"]);
    assert!(delivered(&v, "TRUNC") >= 2, "the learner did not get a second TRUNC after its restart: {:?}", v.delivered);
}

// A learner crashed in the middle of a DIFF's proposals, then synced again.
#[test]
fn learner_crash_during_diff() {
    let v = run("learner_crash_during_diff");
    assert_fired("learner_crash_during_diff", &v, &["during_sync", "in Diff after 1 PROPOSALs"]);
}

// A learner far behind a short DIFF history got a SNAP, crashed on it, and got a SNAP again.
#[test]
fn learner_crash_during_snap() {
    let v = run("learner_crash_during_snap");
    assert_fired("learner_crash_during_snap", &v, &["during_sync", "in Snap"]);
    assert!(delivered(&v, "SNAP") >= 2, "expected a SNAP before and after the crash: {:?}", v.delivered);
}

// A crash in the middle of the leader's group commit tore its newest record, and recovery cut exactly that torn tail.
#[test]
fn torn_log_tail() {
    let v = run("torn_log_tail");
    assert_fired("torn_log_tail", &v, &["torn crash of node", "torn"]);
    assert_fired("torn_log_tail", &v, &["recovery of node", "torn tail", "checksum mismatch"]);
}

// A record damaged in the middle of a follower's log was caught by its checksum at restart, and the follower resynced.
#[test]
fn corrupt_record_detected() {
    let v = run("corrupt_record_detected");
    assert_fired("corrupt_record_detected", &v, &["recovery of node 1", "corrupt record", "checksum mismatch"]);
    assert!(delivered(&v, "DIFF") + delivered(&v, "SNAP") >= 3, "the damaged follower did not resync: {:?}", v.delivered);
}

// An observer cut off from the voters reconnected (a second OBSERVERINFO) and caught up.
#[test]
fn observer_cut_off() {
    let v = run("observer_cut_off");
    assert!(delivered(&v, "OBSERVERINFO") >= 2, "the observer never rejoined: {:?}", v.delivered);
    assert!(delivered(&v, "INFORM") > 0, "the observer learned nothing: {:?}", v.delivered);
}

// Swarm seeds draw every newer fault: bridges, torn crashes, corrupt records, slow disks, targeted faults and clock errors.
#[test]
fn swarm_draws_the_newer_faults() {
    let configs: Vec<_> = (1..=200).map(swarm_config).collect();
    let any = |pred: &dyn Fn(&Fault) -> bool| configs.iter().any(|c| c.faults.iter().any(|f| pred(&f.fault)));
    assert!(any(&|f| matches!(f, Fault::Bridge { .. })), "no bridge");
    assert!(any(&|f| matches!(f, Fault::CrashTorn { .. })), "no torn crash");
    assert!(any(&|f| matches!(f, Fault::CorruptRecord { .. })), "no corrupt record");
    assert!(any(&|f| matches!(f, Fault::SlowDisk { .. })), "no slow disk");
    assert!(any(&|f| matches!(f, Fault::Arm { .. })), "no targeted fault");
    assert!(configs.iter().any(|c| c.clocks.iter().any(|k| k.skew_ms != 0 && k.drift_ppm != 0)), "no clock error");
    for c in &configs {
        assert!(c.faults.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "seed {}: timeline out of order", c.seed);
        assert!(c.faults.iter().filter(|f| matches!(f.fault, Fault::CorruptRecord { .. })).count() <= 1, "seed {}: more than one corrupt record", c.seed);
    }
}
