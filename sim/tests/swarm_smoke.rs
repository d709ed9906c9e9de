//! Proves that the cluster simulator's smoke set of swarm seeds passes every
//! checker, and that every committed scenario in scenarios/ ends with the
//! verdict it expects.

use ensemble_sim::scenario::run_config;
use ensemble_sim::{run_seed, Scenario};

// Twenty swarm seeds, each with its own faults, pass every checker.
#[test]
fn smoke_seeds_pass() {
    let mut failing = Vec::new();
    for seed in 1..=20 {
        let v = run_seed(seed);
        if !v.passed() {
            failing.push(format!("seed {seed}: {:?}\n  last trace lines: {:#?}\n  replay: cargo run --release -p ensemble-sim -- replay --seed {seed}", v.failures, v.trace_tail));
        }
    }
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

// Every scenario file replays to its expected verdict.
#[test]
fn scenarios_meet_their_expected_verdicts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(dir).expect("scenarios/").filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    assert!(paths.len() >= 3, "the scenario corpus is missing");
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("readable");
        let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v = run_config(scenario.config());
        assert!(
            scenario.matches(&v),
            "{} expected {} but got {:?}\n  last trace lines: {:#?}\n  replay: cargo run --release -p ensemble-sim -- run {}",
            path.display(),
            scenario.expect,
            v.failures,
            v.trace_tail,
            path.display()
        );
    }
}
