//! Proves that the checkers are not vacuous: a world that corrupts one
//! replica's disk (a test-only fault) must fail the prefix and digest
//! checkers, on every seed tried.

use ensemble_sim::scenario::run_config;
use ensemble_sim::{Fault, NetworkConfig, TimedFault, WorldConfig};

// Corrupting the newest logged write of one replica and restarting it is caught.
#[test]
fn corrupted_replica_is_caught() {
    for seed in 1..=4 {
        let config = WorldConfig {
            seed,
            voters: 3,
            observers: 0,
            clients: 2,
            ops_per_client: 30,
            network: NetworkConfig::default(),
            faults: vec![TimedFault { at_ms: 3_000, fault: Fault::CorruptDisk { node: 1 + seed % 3 } }],
            liveness_bound_ms: 30_000,
            clocks: Vec::new(),
            diff_history_max: None,
        sabotage: Default::default(),
        };
        let v = run_config(config);
        assert!(v.failures.iter().any(|f| f.starts_with("prefix") || f.starts_with("digest")), "seed {seed}: corruption went unnoticed: {:?}", v.failures);
    }
}

// The same world without the fault passes, so the failure above is the fault's doing.
#[test]
fn the_same_world_without_corruption_passes() {
    let config = WorldConfig {
        seed: 1,
        voters: 3,
        observers: 0,
        clients: 2,
        ops_per_client: 30,
        network: NetworkConfig::default(),
        faults: Vec::new(),
        liveness_bound_ms: 30_000,
        clocks: Vec::new(),
        diff_history_max: None,
        sabotage: Default::default(),
    };
    let v = run_config(config);
    assert!(v.passed(), "{:?}", v.failures);
    assert!(v.ok_ops > 10, "the workload barely ran: {} ok", v.ok_ops);
}

// Erasing the disks of two of three voters at once (a test-only fault) loses
// acknowledged writes, and the never-lost checker says so.
#[test]
fn wiped_majority_is_caught() {
    let config = WorldConfig {
        seed: 2,
        voters: 3,
        observers: 0,
        clients: 2,
        ops_per_client: 30,
        network: NetworkConfig::default(),
        faults: vec![
            TimedFault { at_ms: 0, fault: Fault::Partition { groups: vec![vec![1, 2]] } },
            TimedFault { at_ms: 3_000, fault: Fault::WipeDisk { node: 1 } },
            TimedFault { at_ms: 3_000, fault: Fault::WipeDisk { node: 2 } },
        ],
        liveness_bound_ms: 30_000,
        clocks: Vec::new(),
        diff_history_max: None,
        sabotage: Default::default(),
    };
    let v = run_config(config);
    assert!(v.failures.iter().any(|f| f.starts_with("never-lost") || f.starts_with("prefix") || f.starts_with("digest")), "lost writes went unnoticed: {:?}", v.failures);
}
