//! Proves that the simulator's checkers catch real protocol bugs: each
//! test-only sabotage switch (`ensemble::peer::Sabotage`) re-creates one
//! classic ZAB mistake, and the simulator must report it within a bounded
//! number of seeds, while the same seed with the engine intact passes.
//!
//! | switch | where it is looked for | bound |
//! |---|---|---|
//! | commit on a minority ack | swarm seeds | 20 |
//! | forget to persist the epoch | swarm seeds | 60 |
//! | ACK before durable | `power_loss_after_ack.toml` under other seeds | 20 |
//! | answer sync without a quorum round | `paused_leader_deposed.toml` under other seeds | 20 |

use ensemble::peer::Sabotage;
use ensemble_sim::scenario::run_config;
use ensemble_sim::{swarm_config, Scenario, WorldConfig};

/// Runs `config(seed)` with the sabotage for seeds 1..=bound until a checker
/// fails, asserts one did, and that the same seed passes without it.
fn caught_within(name: &str, bound: u64, sabotage: Sabotage, config: impl Fn(u64) -> WorldConfig) {
    for seed in 1..=bound {
        let mut broken = config(seed);
        broken.sabotage = sabotage;
        let verdict = run_config(broken);
        if verdict.passed() {
            continue;
        }
        let intact = run_config(config(seed));
        assert!(
            intact.passed(),
            "{name}: seed {seed} fails even without the sabotage, so it proves nothing: {:?}\n  last trace lines: {:#?}",
            intact.failures,
            intact.trace_tail
        );
        eprintln!("{name}: caught at seed {seed} by {}", verdict.failures[0]);
        return;
    }
    panic!("{name}: no checker caught the sabotage within {bound} seeds");
}

/// A committed scenario's world under another seed.
fn scenario(name: &str) -> impl Fn(u64) -> WorldConfig {
    let path = format!("{}/../scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let scenario = Scenario::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    move |seed| {
        let mut config = scenario.config();
        config.seed = seed;
        config
    }
}

// A leader that commits once any one server acked is caught by the swarm.
#[test]
fn commit_on_minority_ack_is_caught() {
    caught_within("commit_on_minority_ack", 20, Sabotage { commit_on_minority_ack: true, ..Sabotage::default() }, swarm_config);
}

// Epochs that never reach the disk let two leaders run the same epoch after restarts.
#[test]
fn forget_epoch_is_caught() {
    caught_within("forget_epoch", 60, Sabotage { forget_epoch: true, ..Sabotage::default() }, swarm_config);
}

// ACKs sent before the write is durable lose acknowledged writes at a power loss.
#[test]
fn ack_before_durable_is_caught() {
    caught_within("ack_before_durable", 20, Sabotage { ack_before_durable: true, ..Sabotage::default() }, scenario("power_loss_after_ack"));
}

// A deposed leader that answers sync on its own serves stale reads after sync.
#[test]
fn sync_without_quorum_is_caught() {
    caught_within("sync_without_quorum", 20, Sabotage { sync_without_quorum: true, ..Sabotage::default() }, scenario("paused_leader_deposed"));
}
