//! Proves that `ensemble-sim trace` draws a readable timeline without changing
//! the run it draws, and that `ensemble-sim shrink` cuts a deliberately broken
//! run down to the fault that breaks it, writing a scenario that replays the
//! same kind of failure.

use ensemble_sim::scenario::run_config;
use ensemble_sim::shrink::{failure_kind, shrink};
use ensemble_sim::trace::{render_html, render_text, run_traced, TraceOptions};
use ensemble_sim::{swarm_config, Fault, Scenario};

/// A small run with a leader crash: four lanes, elections before and after.
const LEADER_CRASH: &str = r#"
seed = 21
voters = 3
observers = 1
clients = 1
ops_per_client = 10
expect = "pass"

[[faults]]
at_ms = 1500
kind = "crash_leader"

[[faults]]
at_ms = 2500
kind = "pause"
node = 4
ms = 400

[[faults]]
at_ms = 4000
kind = "restart_all"
"#;

/// scenarios/checker_catches_corrupt_replica.toml with a dozen faults around the one that matters.
const CORRUPT_AMONG_NOISE: &str = r#"
seed = 5
voters = 3
clients = 2
ops_per_client = 30
expect = "fail"

[[faults]]
at_ms = 500
kind = "pause"
node = 2
ms = 200

[[faults]]
at_ms = 800
kind = "heal"

[[faults]]
at_ms = 1000
kind = "restart"
node = 3

[[faults]]
at_ms = 1500
kind = "pause"
node = 3
ms = 300

[[faults]]
at_ms = 2000
kind = "one_way"
from = 2
to = 3

[[faults]]
at_ms = 2200
kind = "heal"

[[faults]]
at_ms = 2500
kind = "pause"
node = 2
ms = 100

[[faults]]
at_ms = 3000
kind = "corrupt_disk"
node = 1

[[faults]]
at_ms = 3500
kind = "restart_all"

[[faults]]
at_ms = 4000
kind = "pause"
node = 2
ms = 250

[[faults]]
at_ms = 4200
kind = "heal"

[[faults]]
at_ms = 4500
kind = "restart"
node = 1

[[faults]]
at_ms = 5000
kind = "pause"
node = 3
ms = 200
"#;

// The HTML timeline has a lane for every peer, message arrows, and a leader-election marker.
#[test]
fn trace_draws_lanes_arrows_and_leaders() {
    let scenario = Scenario::parse(LEADER_CRASH).expect("valid scenario");
    let run = run_traced(scenario.config());
    assert!(run.verdict.passed(), "{:?}", run.verdict.failures);
    let html = render_html(&run, &TraceOptions::default());
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script"), "self-contained HTML with inline SVG");
    for peer in 1..=4 {
        assert!(html.contains(&format!(r#"<g class="lane" data-peer="{peer}">"#)), "no lane for peer {peer}");
    }
    assert!(html.contains(r#"<g class="msg k-vote">"#), "no VOTE arrow");
    assert!(html.contains(r#"<g class="msg k-proposal">"#), "no PROPOSAL arrow");
    assert!(html.contains(r#"class="role-mark leading""#) && html.contains("LEADING"), "no leader-election marker");
    assert!(html.contains("CRASH") && html.contains("RESTART") && html.contains(r#"class="pause""#), "faults not marked");
    assert!(!html.contains(r#"<g class="msg k-ping">"#), "pings are hidden by default");
    let with_pings = render_html(&run, &TraceOptions { pings: true, ..TraceOptions::default() });
    assert!(with_pings.contains(r#"<g class="msg k-ping">"#), "--pings shows them");
    let window = render_html(&run, &TraceOptions { from_ms: 1_000, to_ms: 2_000, ..TraceOptions::default() });
    assert!(window.len() < html.len(), "a window draws less");
}

// Keeping the event log changes nothing: the same trace hash and failures as an untraced run, and the text trace ends with the verdict's tail.
#[test]
fn tracing_leaves_the_run_unchanged() {
    let mut configs: Vec<_> = [3, 8, 17].into_iter().map(swarm_config).collect();
    configs.push(Scenario::parse(LEADER_CRASH).expect("valid").config());
    for config in configs {
        let plain = run_config(config.clone());
        let traced = run_traced(config.clone());
        assert_eq!(plain.trace_hash, traced.verdict.trace_hash, "seed {}", config.seed);
        assert_eq!(plain.failures, traced.verdict.failures, "seed {}", config.seed);
        assert!(!traced.log.messages.is_empty() && !traced.log.events.is_empty());
        let text = render_text(&traced, &TraceOptions::default());
        let hashed: Vec<&str> = text.lines().filter(|l| !l.contains("  = ")).collect();
        let tail: Vec<String> = hashed[hashed.len() - plain.trace_tail.len()..].iter().map(|l| l.trim_start().to_string()).collect();
        assert_eq!(tail, plain.trace_tail, "seed {}: the text trace is not the whole trace", config.seed);
    }
}

// Shrinking a corrupt-disk run buried in a dozen irrelevant faults keeps the corruption, drops the noise, and writes a scenario that fails the same way.
#[test]
fn shrink_drops_irrelevant_faults() {
    let noisy = Scenario::parse(CORRUPT_AMONG_NOISE).expect("valid scenario");
    let before = run_config(noisy.config());
    assert!(!before.passed(), "the noisy run must fail to begin with");
    let kind = failure_kind(&before.failures[0]).to_string();

    let mut progress = Vec::new();
    let shrunk = shrink(&noisy, "the noisy corrupt-disk test", &mut |line| progress.push(line.to_string())).expect("it fails");
    assert_eq!(shrunk.kind, kind);
    assert_eq!(shrunk.faults_before, 13);
    assert!(shrunk.scenario.faults.len() <= 3, "still {} faults: {:?}", shrunk.scenario.faults.len(), shrunk.scenario.faults);
    assert!(shrunk.scenario.faults.iter().any(|f| matches!(f.fault, Fault::CorruptDisk { .. })), "the corruption was dropped");
    assert!(progress.len() >= 2, "no progress reported");

    // The written file reads back and replays to the same kind of failure, as `ensemble-sim run` would.
    let text = shrunk.scenario.to_toml();
    let again = Scenario::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.expect, "fail");
    assert_eq!(again.faults, shrunk.scenario.faults);
    let verdict = run_config(again.config());
    assert!(again.matches(&verdict));
    assert!(verdict.failures.iter().any(|f| failure_kind(f) == kind), "{:?}", verdict.failures);
}

// A run that passes has nothing to shrink.
#[test]
fn shrink_refuses_a_passing_run() {
    let passing = Scenario::parse(LEADER_CRASH).expect("valid scenario");
    assert!(shrink(&passing, "a passing run", &mut |_| {}).is_err());
}
