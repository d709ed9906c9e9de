//! The `ensemble-sim` command.

use clap::{Parser, Subcommand};
use ensemble_sim::scenario::{run_config, run_seed_with};
use ensemble_sim::{run_replicas, ReplicaRunConfig, Scenario, Verdict};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "ensemble-sim", about = "Seeded, deterministic runs of the ensemble engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Feed one seeded transaction stream to several replicas, restarting some
    /// from snapshots mid-stream, and check that all end bit-identical.
    Replicas {
        /// First seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of consecutive seeds to run.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Requests per seed.
        #[arg(long, default_value_t = 10_000)]
        requests: usize,
        /// Replicas besides the leader.
        #[arg(long, default_value_t = 2)]
        replicas: usize,
    },
    /// Run many seeds, each with its own fault probabilities, and list the failing ones.
    Swarm {
        /// Number of seeds.
        #[arg(long, default_value_t = 100)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Fix the number of voters instead of drawing it per seed (a replay then needs the same flag).
        #[arg(long)]
        voters: Option<u64>,
    },
    /// Run one swarm seed and print its trace hash and verdict.
    Replay {
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// The fixed number of voters, if the swarm run used one.
        #[arg(long)]
        voters: Option<u64>,
    },
    /// Run a scenario file and compare with its expected verdict.
    Run {
        /// Path to a scenario TOML file.
        path: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Replicas { seed, seeds, requests, replicas } => {
            let mut failed = 0;
            for seed in seed..seed + seeds {
                let config = ReplicaRunConfig { seed, requests, replicas, restart_probability: 0.02, lose_write_on_replica: None };
                match run_replicas(&config) {
                    Ok(run) => println!(
                        "seed {seed}: ok  trace {:016x}  digest {:016x}  nodes {}  error-txns {}  restarts {}",
                        run.trace_hash, run.digest, run.nodes, run.error_txns, run.restarts
                    ),
                    Err(e) => {
                        failed += 1;
                        println!("seed {seed}: FAILED: {e}");
                    }
                }
            }
            exit(failed == 0)
        }
        Command::Swarm { seeds, first, voters } => {
            let bar = ProgressBar::new(seeds);
            bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg} [{elapsed}]").expect("template"));
            let started = Instant::now();
            let mut failing = Vec::new();
            let mut virtual_ms = 0u64;
            for seed in first..first + seeds {
                let v = run_seed_with(seed, voters);
                virtual_ms += v.virtual_ms;
                if !v.passed() {
                    failing.push((seed, v.failures[0].clone()));
                }
                bar.set_message(format!("{} failing", failing.len()));
                bar.inc(1);
            }
            bar.finish();
            let wall = started.elapsed().as_secs_f64();
            println!(
                "{seeds} seeds in {wall:.1} s: {:.0} seeds/min, {:.0} simulated s per wall s",
                seeds as f64 * 60.0 / wall,
                virtual_ms as f64 / 1000.0 / wall
            );
            for (seed, failure) in &failing {
                println!("seed {seed} FAILED: {failure}\n  replay: ensemble-sim replay --seed {seed}{}", voters.map_or(String::new(), |v| format!(" --voters {v}")));
            }
            exit(failing.is_empty())
        }
        Command::Replay { seed, voters } => {
            let v = run_seed_with(seed, voters);
            report(&v, &format!("ensemble-sim replay --seed {seed}{}", voters.map_or(String::new(), |v| format!(" --voters {v}"))));
            exit(v.passed())
        }
        Command::Run { path } => {
            let scenario = match std::fs::read_to_string(&path).map_err(|e| e.to_string()).and_then(|t| Scenario::parse(&t)) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{path}: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let v = run_config(scenario.config());
            report(&v, &format!("ensemble-sim run {path}"));
            println!("expected: {}", scenario.expect);
            exit(scenario.matches(&v))
        }
    }
}

fn report(v: &Verdict, command: &str) {
    println!(
        "trace {:016x}  {}  virtual {} ms  steps {}  ops ok {} error {} unknown {}",
        v.trace_hash,
        if v.passed() { "PASS" } else { "FAIL" },
        v.virtual_ms,
        v.steps,
        v.ok_ops,
        v.error_ops,
        v.unknown_ops
    );
    println!("  delivered: {}", v.delivered.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", "));
    for f in &v.fired {
        println!("  fired: {f}");
    }
    for f in &v.failures {
        println!("  {f}");
    }
    if !v.passed() {
        println!("last trace lines:");
        for line in &v.trace_tail {
            println!("  {line}");
        }
        println!("replay: {command}");
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
