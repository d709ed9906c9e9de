//! The `ensemble-sim` command.

use clap::{Parser, Subcommand};
use ensemble_sim::{run_replicas, ReplicaRunConfig};
use std::process::ExitCode;

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
            if failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
