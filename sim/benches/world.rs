//! Times one standard seed of the simulator (3 voters, the standard workload),
//! with the swarm's faults and without, so that a change to the simulator or
//! the engine shows up as a change in seeds per minute.

use criterion::{criterion_group, criterion_main, Criterion};
use ensemble_sim::bench::{standard_config, FaultMix};
use ensemble_sim::scenario::run_config;

/// One seed of each fault mix.
fn one_seed(c: &mut Criterion) {
    let mut group = c.benchmark_group("world");
    group.sample_size(20);
    group.bench_function("seed 1, 3 voters, swarm faults", |b| b.iter(|| run_config(standard_config(1, 3, FaultMix::Swarm))));
    group.bench_function("seed 1, 3 voters, no faults", |b| b.iter(|| run_config(standard_config(1, 3, FaultMix::None))));
    group.finish();
}

criterion_group!(benches, one_seed);
criterion_main!(benches);
