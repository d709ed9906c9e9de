//! Named, committed runs (`scenarios/*.toml`): a seed, a topology, a workload
//! size, a fault timeline and the expected verdict; and the one entry point
//! that runs a seed and turns an engine panic into a failed verdict.

use crate::world::{swarm_config, Clock, NetworkConfig, TimedFault, Verdict, World, WorldConfig};
use ensemble::peer::Sabotage;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows, for people.
    #[serde(default)]
    pub description: String,
    /// The seed for the network and the clients.
    pub seed: u64,
    /// Voting members.
    pub voters: u64,
    /// Observers.
    #[serde(default)]
    pub observers: u64,
    /// Simulated clients.
    pub clients: usize,
    /// Operations per client.
    pub ops_per_client: usize,
    /// Network settings (defaults: 1-5 ms latency, FIFO, no loss).
    #[serde(default)]
    pub network: NetworkConfig,
    /// Bound for the liveness phase after healing.
    #[serde(default = "default_liveness_ms")]
    pub liveness_bound_ms: u64,
    /// "pass" or "fail".
    pub expect: String,
    /// The fault timeline.
    #[serde(default)]
    pub faults: Vec<TimedFault>,
    /// Per-node clock skew and drift (default: every node on the virtual clock).
    #[serde(default)]
    pub clocks: Vec<Clock>,
    /// Committed txns each peer keeps for DIFFs; a small value makes a lagging learner get a SNAP.
    #[serde(default)]
    pub diff_history_max: Option<usize>,
    /// Test-only: protocol rules the engine breaks on purpose, to show a checker catches it.
    #[serde(default, skip_serializing_if = "is_default")]
    pub sabotage: Sabotage,
}

fn is_default(s: &Sabotage) -> bool {
    *s == Sabotage::default()
}

fn default_liveness_ms() -> u64 {
    60_000
}

impl Scenario {
    /// Parses a scenario file's text.
    pub fn parse(text: &str) -> Result<Scenario, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| e.to_string())?;
        if s.expect != "pass" && s.expect != "fail" {
            return Err(format!("expect must be \"pass\" or \"fail\", not {:?}", s.expect));
        }
        Ok(s)
    }

    /// A scenario for a world, e.g. a swarm seed's, so that it can be edited, shrunk and saved.
    pub fn from_config(config: &WorldConfig, description: String, expect: &str) -> Scenario {
        Scenario {
            description,
            seed: config.seed,
            voters: config.voters,
            observers: config.observers,
            clients: config.clients,
            ops_per_client: config.ops_per_client,
            network: config.network.clone(),
            liveness_bound_ms: config.liveness_bound_ms,
            expect: expect.to_string(),
            faults: config.faults.clone(),
            clocks: config.clocks.clone(),
            diff_history_max: config.diff_history_max,
            sabotage: config.sabotage,
        }
    }

    /// Reads and parses a scenario file; the error names the file.
    pub fn load(path: &str) -> Result<Scenario, String> {
        std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| Scenario::parse(&t)).map_err(|e| format!("{path}: {e}"))
    }

    /// The scenario as TOML text that `parse` reads back to the same scenario.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario is plain data")
    }

    /// The world this scenario describes.
    pub fn config(&self) -> WorldConfig {
        WorldConfig {
            seed: self.seed,
            voters: self.voters,
            observers: self.observers,
            clients: self.clients,
            ops_per_client: self.ops_per_client,
            network: self.network.clone(),
            faults: self.faults.clone(),
            liveness_bound_ms: self.liveness_bound_ms,
            clocks: self.clocks.clone(),
            diff_history_max: self.diff_history_max,
            sabotage: self.sabotage,
        }
    }

    /// Whether the verdict is the one the scenario expects.
    pub fn matches(&self, verdict: &Verdict) -> bool {
        verdict.passed() == (self.expect == "pass")
    }
}

/// Runs a world; a panic inside the engine (a broken invariant) becomes a failure, not an abort.
pub fn run_config(config: WorldConfig) -> Verdict {
    run_catching(|| World::new(config).run())
}

/// Runs `run`, turning a panic into a failed verdict whose failure starts with "panic:".
pub fn run_catching(run: impl FnOnce() -> Verdict) -> Verdict {
    match catch_unwind(AssertUnwindSafe(run)) {
        Ok(v) => v,
        Err(panic) => {
            let msg = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
            Verdict { trace_hash: 0, failures: vec![format!("panic: {msg}")], virtual_ms: 0, steps: 0, ok_ops: 0, error_ops: 0, unknown_ops: 0, trace_tail: Vec::new(), fired: Vec::new(), delivered: Default::default() }
        }
    }
}

/// Runs one swarm seed: faults drawn from the seed.
pub fn run_seed(seed: u64) -> Verdict {
    run_config(swarm_config(seed))
}

/// Runs one swarm seed with the number of voters fixed.
pub fn run_seed_with(seed: u64, voters: Option<u64>) -> Verdict {
    run_seed_sabotaged(seed, voters, Sabotage::default())
}

/// Runs one swarm seed with every peer breaking the given protocol rules on purpose.
pub fn run_seed_sabotaged(seed: u64, voters: Option<u64>, sabotage: Sabotage) -> Verdict {
    let mut config = crate::world::swarm_config_for(seed, voters);
    config.sabotage = sabotage;
    run_config(config)
}

/// Parses a comma-separated list of sabotage switches, named as `Sabotage`'s fields.
pub fn parse_sabotage(list: &str) -> Result<Sabotage, String> {
    let mut sabotage = Sabotage::default();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "commit_on_minority_ack" => sabotage.commit_on_minority_ack = true,
            "ack_before_durable" => sabotage.ack_before_durable = true,
            "forget_epoch" => sabotage.forget_epoch = true,
            "sync_without_quorum" => sabotage.sync_without_quorum = true,
            other => {
                return Err(format!(
                    "unknown sabotage {other:?}: expected commit_on_minority_ack, ack_before_durable, forget_epoch or sync_without_quorum"
                ))
            }
        }
    }
    Ok(sabotage)
}
