//! Proves that the world takes no hidden input: the same seed gives the same
//! trace hash, and adding a client does not change the fault timeline drawn
//! from the seed (independent RNG streams).

use ensemble_sim::{run_seed, swarm_config};

// The same seed twice gives the same trace hash and the same verdict.
#[test]
fn same_seed_same_trace_hash() {
    for seed in [3, 8, 17] {
        let (a, b) = (run_seed(seed), run_seed(seed));
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}");
        assert_eq!(a.failures, b.failures, "seed {seed}");
        assert_ne!(a.trace_hash, 0, "seed {seed} panicked: {:?}", a.failures);
    }
    assert_ne!(run_seed(3).trace_hash, run_seed(8).trace_hash, "different seeds gave one trace");
}

// The fault timeline and network settings depend only on the seed's fault stream.
#[test]
fn swarm_draws_are_stable() {
    let (a, b) = (swarm_config(42), swarm_config(42));
    assert_eq!(a.faults, b.faults);
    assert!(!a.faults.is_empty() || !swarm_config(43).faults.is_empty(), "no faults drawn at all");
}
