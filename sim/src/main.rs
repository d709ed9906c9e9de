//! The `ensemble-sim` command.

use clap::{Parser, Subcommand};
use ensemble::peer::Sabotage;
use ensemble_sim::bench::{run_bench, FaultMix};
use ensemble_sim::scenario::{parse_sabotage, run_config, run_seed_sabotaged};
use ensemble_sim::shrink::{failure_kind, shrink};
use ensemble_sim::trace::{render_html, render_text, run_traced, TraceOptions};
use ensemble_sim::{run_replicas, swarm_config_for, ReplicaRunConfig, Scenario, Verdict};
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
        /// Test-only: break the engine on purpose (comma-separated: commit_on_minority_ack, ack_before_durable, forget_epoch, sync_without_quorum).
        #[arg(long, default_value = "", value_parser = parse_sabotage)]
        sabotage: Sabotage,
    },
    /// Measure the simulator's speed: seeds/min and simulated s per wall s for a standard workload.
    Bench {
        /// Number of seeds.
        #[arg(long, default_value_t = 200)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        first: u64,
        /// Voters per cluster.
        #[arg(long, default_value_t = 3)]
        voters: u64,
        /// Run without faults instead of with the swarm's fault mix.
        #[arg(long)]
        no_faults: bool,
    },
    /// Run one swarm seed and print its trace hash and verdict.
    Replay {
        /// The seed.
        #[arg(long)]
        seed: u64,
        /// The fixed number of voters, if the swarm run used one.
        #[arg(long)]
        voters: Option<u64>,
        /// The sabotage switches, if the swarm run used some.
        #[arg(long, default_value = "", value_parser = parse_sabotage)]
        sabotage: Sabotage,
    },
    /// Run a scenario file and compare with its expected verdict.
    Run {
        /// Path to a scenario TOML file.
        path: String,
    },
    /// Draw a run (a swarm seed or a scenario file) as an HTML timeline, or print its whole text trace.
    Trace {
        /// A scenario TOML file (instead of --seed).
        path: Option<String>,
        /// A swarm seed.
        #[arg(long)]
        seed: Option<u64>,
        /// The fixed number of voters, if the swarm run used one.
        #[arg(long)]
        voters: Option<u64>,
        /// Where to write the HTML page.
        #[arg(long, default_value = "trace.html")]
        out: String,
        /// First virtual ms to draw.
        #[arg(long, default_value_t = 0)]
        from_ms: u64,
        /// Last virtual ms to draw.
        #[arg(long, default_value_t = u64::MAX)]
        to_ms: u64,
        /// Draw PING and PINGREPLY too.
        #[arg(long)]
        pings: bool,
        /// Print every line of the text trace to stdout instead of writing HTML.
        #[arg(long)]
        text: bool,
        /// The sabotage switches, if the swarm run used some.
        #[arg(long, default_value = "", value_parser = parse_sabotage)]
        sabotage: Sabotage,
    },
    /// Shrink a failing swarm seed or scenario to the fewest faults, clients and nodes that still fail the same way, and write it as a scenario.
    Shrink {
        /// A failing scenario TOML file (instead of --seed).
        path: Option<String>,
        /// A failing swarm seed.
        #[arg(long)]
        seed: Option<u64>,
        /// The fixed number of voters, if the swarm run used one.
        #[arg(long)]
        voters: Option<u64>,
        /// Where to write the scenario (default scenarios/shrunk_SEED.toml, or NAME_shrunk.toml beside the file).
        #[arg(long)]
        out: Option<String>,
        /// The sabotage switches, if the swarm run used some.
        #[arg(long, default_value = "", value_parser = parse_sabotage)]
        sabotage: Sabotage,
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
        Command::Swarm { seeds, first, voters, sabotage } => {
            let bar = ProgressBar::new(seeds);
            bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {msg} [{elapsed}]").expect("template"));
            let started = Instant::now();
            let mut failing = Vec::new();
            let mut virtual_ms = 0u64;
            for seed in first..first + seeds {
                let v = run_seed_sabotaged(seed, voters, sabotage);
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
                println!("seed {seed} FAILED: {failure}\n  replay: ensemble-sim replay --seed {seed}{}", replay_flags(voters, sabotage));
            }
            exit(failing.is_empty())
        }
        Command::Bench { seeds, first, voters, no_faults } => {
            println!("{}", run_bench(first, seeds, voters, if no_faults { FaultMix::None } else { FaultMix::Swarm }));
            ExitCode::SUCCESS
        }
        Command::Replay { seed, voters, sabotage } => {
            let v = run_seed_sabotaged(seed, voters, sabotage);
            report(&v, &format!("ensemble-sim replay --seed {seed}{}", replay_flags(voters, sabotage)));
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
        Command::Trace { path, seed, voters, out, from_ms, to_ms, pings, text, sabotage } => {
            let (scenario, origin) = match load_run(path, seed, voters, sabotage) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let options = TraceOptions { from_ms, to_ms, pings, title: format!("ensemble-sim trace: {origin}") };
            let run = run_traced(scenario.config());
            if text {
                // A closed pipe (`| head`) just ends the listing.
                let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), render_text(&run, &options).as_bytes());
                return exit(run.verdict.passed());
            }
            if let Err(e) = std::fs::write(&out, render_html(&run, &options)) {
                eprintln!("{out}: {e}");
                return ExitCode::FAILURE;
            }
            println!("{origin}: {} · {} messages, {} events · wrote {out}", if run.verdict.passed() { "PASS" } else { "FAIL" }, run.log.messages.len(), run.log.events.len());
            if run.log.messages.len() > 5_000 && (from_ms, to_ms) == (0, u64::MAX) {
                println!("  a long run: --from-ms A --to-ms B draws a window of it; the failures above say when things went wrong");
            }
            ExitCode::SUCCESS
        }
        Command::Shrink { path, seed, voters, out, sabotage } => {
            let out = out.unwrap_or_else(|| match (&path, seed) {
                (Some(p), _) => format!("{}_shrunk.toml", p.trim_end_matches(".toml")),
                (None, s) => format!("scenarios/shrunk_{}.toml", s.unwrap_or(0)),
            });
            let (scenario, origin) = match load_run(path, seed, voters, sabotage) {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            let shrunk = match shrink(&scenario, &origin, &mut |line| println!("{line}")) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = std::fs::write(&out, shrunk.scenario.to_toml()) {
                eprintln!("{out}: {e}");
                return ExitCode::FAILURE;
            }
            // The file must replay to the same kind of failure, read back as `run` reads it.
            let again = Scenario::load(&out).map(|s| run_config(s.config()));
            let replays = again.as_ref().is_ok_and(|v| v.failures.iter().any(|f| failure_kind(f) == shrunk.kind));
            println!(
                "{} faults -> {}, {} clients x {} ops, {} voters, {} observers after {} runs; wrote {out}{}\n  replay: ensemble-sim run {out}",
                shrunk.faults_before,
                shrunk.scenario.faults.len(),
                shrunk.scenario.clients,
                shrunk.scenario.ops_per_client,
                shrunk.scenario.voters,
                shrunk.scenario.observers,
                shrunk.runs,
                if replays { "" } else { " (WARNING: the written file does not replay the failure)" }
            );
            exit(replays)
        }
    }
}

/// The run a `trace` or `shrink` command names: a scenario file, or a swarm seed as a scenario.
fn load_run(path: Option<String>, seed: Option<u64>, voters: Option<u64>, sabotage: Sabotage) -> Result<(Scenario, String), String> {
    match (path, seed) {
        (Some(path), None) => Ok((Scenario::load(&path)?, path)),
        (None, Some(seed)) => {
            let origin = format!("swarm seed {seed}{}", replay_flags(voters, sabotage).replace(" --", ", --"));
            let mut config = swarm_config_for(seed, voters);
            config.sabotage = sabotage;
            Ok((Scenario::from_config(&config, origin.clone(), "fail"), origin))
        }
        _ => Err("name a scenario file or --seed, not both".to_string()),
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

/// The flags a replay of a swarm seed needs besides the seed.
fn replay_flags(voters: Option<u64>, sabotage: Sabotage) -> String {
    let mut flags = voters.map_or(String::new(), |v| format!(" --voters {v}"));
    let names: Vec<&str> = [
        (sabotage.commit_on_minority_ack, "commit_on_minority_ack"),
        (sabotage.ack_before_durable, "ack_before_durable"),
        (sabotage.forget_epoch, "forget_epoch"),
        (sabotage.sync_without_quorum, "sync_without_quorum"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    if !names.is_empty() {
        flags.push_str(&format!(" --sabotage {}", names.join(",")));
    }
    flags
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
