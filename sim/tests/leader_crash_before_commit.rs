//! Proves that the engine keeps ZAB's promises when its leader dies around
//! in-flight commits: a property test draws arbitrary interleavings of client
//! writes, a `leader_acked` trigger (crash the leader after k follower ACKs of
//! a proposal, before any COMMIT), crashes of the leader or a follower,
//! restarts, leader isolation, partitions, heals, pauses and slow disks, runs
//! each in the simulator and judges it with the same checkers as every other
//! run (never-lost, one common prefix, linearizable, one leader per epoch,
//! liveness after healing). Also proves the property is neither vacuous (the
//! trigger really fires) nor blind (an engine that commits on a minority ack,
//! or a disk that loses acknowledged writes, makes it fail, and the failure
//! is written out as a scenario that replays).
//!
//! `PROPTEST_CASES=N` runs N cases instead of the 64 CI runs; the RNG is fixed,
//! so every run of the test draws the same cases.

use ensemble::peer::Sabotage;
use ensemble_sim::scenario::run_config;
use ensemble_sim::{Fault, NetworkConfig, Scenario, TimedFault, Trigger, Verdict, WorldConfig};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Cases per run when `PROPTEST_CASES` is not set.
const CASES_DEFAULT: u32 = 64;

/// The fixed seed of the case generator, so that CI draws the same cases every time.
const GENERATOR_SEED: [u8; 32] = *b"ensemble leader crash pre-commit";

/// One step of a drawn interleaving; node numbers are folded onto the drawn topology.
#[derive(Clone, Debug)]
enum Step {
    /// Arm `leader_acked`: k is folded into 1..=quorum.
    ArmLeaderAcked { acks: usize },
    CrashLeader,
    /// Crash a node (the leader or, more often, a follower).
    Crash { node: u64 },
    Restart { node: u64 },
    RestartAll,
    IsolateLeader,
    /// Cut the nodes whose bit is set off from the others.
    Partition { mask: u8 },
    Heal,
    Pause { node: u64, ms: u64 },
    SlowDisk { node: u64, ms: u64, for_ms: u64 },
}

/// One drawn run: a topology, a workload, and a timeline that always arms `leader_acked` once.
#[derive(Clone, Debug)]
struct Case {
    seed: u64,
    voters: u64,
    observers: u64,
    clients: usize,
    ops_per_client: usize,
    arm_at_ms: u64,
    acks: usize,
    steps: Vec<(u64, Step)>,
}

impl Case {
    /// The majority of the voters, counting the leader.
    fn quorum(&self) -> usize {
        self.voters as usize / 2 + 1
    }

    /// A node number folded onto this topology.
    fn node(&self, raw: u64) -> u64 {
        1 + raw % (self.voters + self.observers)
    }

    /// The world this case describes.
    fn config(&self) -> WorldConfig {
        let fold_acks = |k: usize| 1 + (k.max(1) - 1) % self.quorum();
        let mut faults = vec![TimedFault { at_ms: self.arm_at_ms, fault: Fault::Arm { trigger: Trigger::LeaderAcked { acks: fold_acks(self.acks) } } }];
        for (at_ms, step) in &self.steps {
            let fault = match *step {
                Step::ArmLeaderAcked { acks } => Fault::Arm { trigger: Trigger::LeaderAcked { acks: fold_acks(acks) } },
                Step::CrashLeader => Fault::CrashLeader,
                Step::Crash { node } => Fault::Crash { node: self.node(node) },
                Step::Restart { node } => Fault::Restart { node: self.node(node) },
                Step::RestartAll => Fault::RestartAll,
                Step::IsolateLeader => Fault::IsolateLeader,
                Step::Partition { mask } => {
                    let cut: Vec<u64> = (1..=self.voters + self.observers).filter(|n| mask & (1 << (n - 1)) != 0).collect();
                    Fault::Partition { groups: vec![cut] }
                }
                Step::Heal => Fault::Heal,
                Step::Pause { node, ms } => Fault::Pause { node: self.node(node), ms },
                Step::SlowDisk { node, ms, for_ms } => Fault::SlowDisk { node: self.node(node), ms, for_ms },
            };
            faults.push(TimedFault { at_ms: *at_ms, fault });
        }
        // The world schedules faults by time; equal times keep their drawn order.
        faults.sort_by_key(|f| f.at_ms);
        WorldConfig {
            seed: self.seed,
            voters: self.voters,
            observers: self.observers,
            clients: self.clients,
            ops_per_client: self.ops_per_client,
            network: NetworkConfig::default(),
            faults,
            liveness_bound_ms: 30_000,
            clocks: Vec::new(),
            diff_history_max: None,
            sabotage: Sabotage::default(),
        }
    }
}

/// A step of the interleaving, weighted towards what happens around a commit.
fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (1usize..=3).prop_map(|acks| Step::ArmLeaderAcked { acks }),
        2 => Just(Step::CrashLeader),
        2 => (0u64..6).prop_map(|node| Step::Crash { node }),
        2 => (0u64..6).prop_map(|node| Step::Restart { node }),
        1 => Just(Step::RestartAll),
        2 => Just(Step::IsolateLeader),
        1 => any::<u8>().prop_map(|mask| Step::Partition { mask }),
        2 => Just(Step::Heal),
        1 => ((0u64..6), (50u64..2_000)).prop_map(|(node, ms)| Step::Pause { node, ms }),
        1 => ((0u64..6), (10u64..300), (200u64..3_000)).prop_map(|(node, ms, for_ms)| Step::SlowDisk { node, ms, for_ms }),
    ]
}

/// Whole cases: 3 or 5 voters, maybe an observer, a small workload, and steps in
/// the window where the clients are writing.
fn case_strategy() -> impl Strategy<Value = Case> {
    (
        0u64..10_000,
        prop_oneof![Just(3u64), Just(5u64)],
        0u64..=1,
        1usize..=3,
        8usize..=20,
        600u64..3_000,
        1usize..=3,
        prop::collection::vec((600u64..4_000, step_strategy()), 0..=6),
    )
        .prop_map(|(seed, voters, observers, clients, ops_per_client, arm_at_ms, acks, steps)| Case { seed, voters, observers, clients, ops_per_client, arm_at_ms, acks, steps })
}

/// Cases for the main property: `PROPTEST_CASES` if set, else `CASES_DEFAULT`.
fn cases_wanted() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(CASES_DEFAULT)
}

/// A runner with a fixed generator seed and `cases` cases.
fn runner(cases: u32) -> TestRunner {
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 200, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &GENERATOR_SEED))
}

/// Runs the property over drawn cases, each world first changed by `alter`;
/// counts the fired `leader_acked` triggers into `fired`. On failure, writes
/// the smallest failing case as a scenario and returns where, with the reason.
fn check_property(cases: u32, alter: fn(&mut WorldConfig), fired: &AtomicUsize) -> Result<(), (String, String)> {
    let mut runner = runner(cases);
    let result = runner.run(&case_strategy(), |case| {
        let mut config = case.config();
        alter(&mut config);
        let v = run_config(config);
        fired.fetch_add(v.fired.iter().filter(|f| f.starts_with("leader_acked")).count(), Ordering::Relaxed);
        if v.passed() {
            Ok(())
        } else {
            Err(TestCaseError::fail(describe(&v)))
        }
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, case)) => {
            let mut config = case.config();
            alter(&mut config);
            let scenario = Scenario::from_config(&config, format!("leader_crash_before_commit proptest failure: {case:?}"), "fail");
            let path = std::env::temp_dir().join(format!("leader_crash_before_commit_{}_{}.toml", case.seed, std::process::id()));
            std::fs::write(&path, scenario.to_toml()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Err((path.display().to_string(), reason.to_string()))
        }
        Err(TestError::Abort(reason)) => panic!("the property test aborted: {reason}"),
    }
}

/// A failed verdict's failures and its last trace lines.
fn describe(v: &Verdict) -> String {
    format!("{:#?}\nfired: {:#?}\nlast trace lines:\n  {}", v.failures, v.fired, v.trace_tail.join("\n  "))
}

/// Leaves the drawn world as it is.
fn unchanged(_: &mut WorldConfig) {}

/// Breaks the engine on purpose: the leader commits a proposal as soon as one
/// server (itself) acked it, so a leader crash can take acknowledged writes along.
fn commit_on_minority_ack(config: &mut WorldConfig) {
    config.sabotage.commit_on_minority_ack = true;
}

/// Erases the disks of a majority of voters late in the run, after the quorum
/// that holds the acknowledged writes was cut off from the rest: a disk
/// that loses what it reported durable is outside ZAB's fault model, and the
/// checkers must notice the writes it takes with it.
fn wipe_majority(config: &mut WorldConfig) {
    let majority: Vec<u64> = (1..=config.voters / 2 + 1).collect();
    let last = config.faults.iter().map(|f| f.at_ms).max().unwrap_or(0).max(5_000);
    config.faults.push(TimedFault { at_ms: last + 1, fault: Fault::Heal });
    config.faults.push(TimedFault { at_ms: last + 1, fault: Fault::RestartAll });
    // Let the clients finish writing through a healthy cluster first.
    config.faults.push(TimedFault { at_ms: last + 4_000, fault: Fault::Partition { groups: vec![majority.clone()] } });
    for node in majority {
        config.faults.push(TimedFault { at_ms: last + 4_001, fault: Fault::WipeDisk { node } });
    }
}

// Every drawn interleaving of writes, leader_acked crashes, crashes, restarts,
// isolation, partitions, pauses and slow disks passes every checker, and the
// trigger fired in a good share of them (the generator is not vacuous).
#[test]
fn leader_crash_before_commit_keeps_acknowledged_writes() {
    let fired = AtomicUsize::new(0);
    let cases = cases_wanted();
    if let Err((path, reason)) = check_property(cases, unchanged, &fired) {
        panic!("a drawn interleaving failed the checkers:\n{reason}\nwrote the smallest failing case to {path}\n  replay: cargo run --release -p ensemble-sim -- run {path}");
    }
    let cases = cases as usize;
    let fired = fired.load(Ordering::Relaxed);
    eprintln!("{cases} cases passed; leader_acked fired {fired} times");
    assert!(fired >= cases / 4, "leader_acked fired only {fired} times in {cases} cases: the generator misses the window it is for");
}

// The same property, on worlds whose disks lose acknowledged writes, fails,
// and the failing case it writes out replays as a failure.
#[test]
fn the_property_fails_when_disks_lose_acknowledged_writes() {
    let fired = AtomicUsize::new(0);
    let (path, reason) = check_property(16, wipe_majority, &fired).expect_err("wiping a majority of disks went unnoticed");
    // Which checker speaks first depends on the case: lost writes, diverged
    // replicas, or two leaders in one epoch (the wiped voters forgot theirs).
    let caught_by = ["never-lost", "prefix", "digest", "linearizable", "one-leader", "liveness"];
    assert!(caught_by.iter().any(|c| reason.contains(c)), "failed for another reason: {reason}");
    let scenario = Scenario::load(&path).expect("the written case parses");
    let v = run_config(scenario.config());
    assert!(!v.passed(), "the written case {path} does not replay the failure");
    assert!(scenario.matches(&v), "{path} expects a failure");
    std::fs::remove_file(&path).ok();
}

// The same property, on an engine sabotaged to commit on a minority ack, fails
// within the 64 drawn cases, and the written case replays the failure
// (the scenario file carries the sabotage switch).
#[test]
fn the_property_fails_when_the_leader_commits_on_a_minority_ack() {
    let fired = AtomicUsize::new(0);
    let (path, reason) = check_property(64, commit_on_minority_ack, &fired).expect_err("committing on a minority ack went unnoticed");
    eprintln!("caught, smallest case {path}:\n{}", reason.lines().take(3).collect::<Vec<_>>().join("\n"));
    let scenario = Scenario::load(&path).expect("the written case parses");
    assert!(scenario.sabotage.commit_on_minority_ack, "{path} lost the sabotage switch");
    let v = run_config(scenario.config());
    assert!(!v.passed(), "the written case {path} does not replay the failure: {reason}");
    std::fs::remove_file(&path).ok();
}
