//! The simulator's speed benchmark: how many seeds a minute, and how many
//! simulated seconds per wall second, it runs for a cluster under a standard
//! workload. The simulator is only as good as the number of seeds it can
//! afford, so this is the figure to watch (`ensemble-sim bench`, and the
//! criterion bench `sim/benches/world.rs` over one standard seed).

use crate::scenario::run_config;
use crate::world::{swarm_config_for, WorldConfig};
use std::fmt;
use std::time::Instant;

/// Clients in the standard workload.
pub const BENCH_CLIENTS: usize = 3;
/// Operations per client in the standard workload.
pub const BENCH_OPS_PER_CLIENT: usize = 20;

/// Which faults the standard runs carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMix {
    /// The swarm's fault timeline for each seed (crashes, partitions, pauses, targeted faults...).
    Swarm,
    /// No faults, no clock errors, no message loss: the steady state.
    None,
}

/// The standard run for `seed`: `voters` voters, no observer, `BENCH_CLIENTS`
/// clients of `BENCH_OPS_PER_CLIENT` operations, and the fault mix asked for.
pub fn standard_config(seed: u64, voters: u64, mix: FaultMix) -> WorldConfig {
    let mut config = swarm_config_for(seed, Some(voters));
    // Faults that name the dropped observer fall on a node that does not exist and do nothing.
    config.observers = 0;
    config.clients = BENCH_CLIENTS;
    config.ops_per_client = BENCH_OPS_PER_CLIENT;
    if mix == FaultMix::None {
        config.faults.clear();
        config.clocks.clear();
        config.network.drop = 0.0;
    }
    config
}

/// What a benchmark run measured.
#[derive(Clone, Debug)]
pub struct BenchReport {
    /// Seeds run.
    pub seeds: u64,
    /// The fault mix.
    pub mix: FaultMix,
    /// Voters per cluster.
    pub voters: u64,
    /// Wall-clock seconds for all seeds.
    pub wall_s: f64,
    /// Virtual time simulated over all seeds.
    pub virtual_ms: u64,
    /// World steps (events and timers) over all seeds.
    pub steps: u64,
    /// Seeds whose verdict failed (a benchmark still counts them).
    pub failing: u64,
    /// Peak resident memory of the process, if the platform tells.
    pub peak_rss_kb: Option<u64>,
}

impl BenchReport {
    /// Seeds per wall minute.
    pub fn seeds_per_min(&self) -> f64 {
        self.seeds as f64 * 60.0 / self.wall_s
    }

    /// Simulated seconds per wall second.
    pub fn simulated_s_per_wall_s(&self) -> f64 {
        self.virtual_ms as f64 / 1000.0 / self.wall_s
    }

    /// World steps per wall second.
    pub fn steps_per_s(&self) -> f64 {
        self.steps as f64 / self.wall_s
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mix = match self.mix {
            FaultMix::Swarm => "swarm faults",
            FaultMix::None => "no faults",
        };
        writeln!(f, "{} seeds, {} voters, {mix}, {} clients x {} ops: {:.2} s wall", self.seeds, self.voters, BENCH_CLIENTS, BENCH_OPS_PER_CLIENT, self.wall_s)?;
        writeln!(f, "  seeds/min            {:.0}", self.seeds_per_min())?;
        writeln!(f, "  simulated s / wall s {:.0}", self.simulated_s_per_wall_s())?;
        writeln!(f, "  steps / s            {:.0}", self.steps_per_s())?;
        writeln!(f, "  virtual s per seed   {:.1}", self.virtual_ms as f64 / 1000.0 / self.seeds.max(1) as f64)?;
        writeln!(f, "  steps per seed       {:.0}", self.steps as f64 / self.seeds.max(1) as f64)?;
        writeln!(f, "  failing seeds        {}", self.failing)?;
        match self.peak_rss_kb {
            Some(kb) => write!(f, "  peak RSS             {:.1} MiB", kb as f64 / 1024.0),
            None => write!(f, "  peak RSS             unknown"),
        }
    }
}

/// Runs seeds `first..first + seeds` of the standard configuration and measures them.
pub fn run_bench(first: u64, seeds: u64, voters: u64, mix: FaultMix) -> BenchReport {
    let started = Instant::now();
    let (mut virtual_ms, mut steps, mut failing) = (0, 0, 0);
    for seed in first..first + seeds {
        let v = run_config(standard_config(seed, voters, mix));
        virtual_ms += v.virtual_ms;
        steps += v.steps;
        failing += u64::from(!v.passed());
    }
    BenchReport { seeds, mix, voters, wall_s: started.elapsed().as_secs_f64(), virtual_ms, steps, failing, peak_rss_kb: peak_rss_kb() }
}

/// The process's peak resident set (`VmHWM` in /proc/self/status), on Linux.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The standard configuration is the seed's swarm run with the workload fixed, and the fault-free mix has no faults.
    #[test]
    fn standard_config_fixes_the_workload() {
        let swarm = standard_config(7, 3, FaultMix::Swarm);
        assert_eq!((swarm.voters, swarm.observers, swarm.clients, swarm.ops_per_client), (3, 0, BENCH_CLIENTS, BENCH_OPS_PER_CLIENT));
        let quiet = standard_config(7, 3, FaultMix::None);
        assert!(quiet.faults.is_empty() && quiet.clocks.is_empty() && quiet.network.drop == 0.0);
    }

    // A short benchmark runs its seeds and reports positive rates.
    #[test]
    fn a_short_bench_reports_rates() {
        let report = run_bench(1, 2, 3, FaultMix::None);
        assert_eq!(report.seeds, 2);
        assert!(report.steps > 0 && report.virtual_ms > 0 && report.seeds_per_min() > 0.0);
    }
}
