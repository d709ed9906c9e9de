//! The `ensemble` command: `ensemble serve` runs a server.

use clap::{Parser, Subcommand};
use ensemble::runtime::config::{load_zoo_cfg, ServerConfig};
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "ensemble", version, about = "A ZooKeeper-compatible coordination service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a server. With no arguments: client port 2181, data in ./data, tickTime 2000.
    Serve {
        /// A ZooKeeper zoo.cfg; flags given as well override its values.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Client port.
        #[arg(long)]
        port: Option<u16>,
        /// Directory for snapshots and (unless dataLogDir is set) the transaction log.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The basic time unit in milliseconds.
        #[arg(long)]
        tick_time_ms: Option<u64>,
    },
}

fn main() -> ExitCode {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, port, data_dir, tick_time_ms } => {
            let mut server = match config {
                Some(path) => match load_zoo_cfg(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("ensemble: {e}");
                        return ExitCode::from(2);
                    }
                },
                None => ServerConfig::default(),
            };
            for warning in &server.warnings {
                tracing::warn!("{warning}");
            }
            if let Some(port) = port {
                server.client_port = port;
            }
            if let Some(dir) = data_dir {
                if server.data_log_dir == server.data_dir {
                    server.data_log_dir = dir.clone();
                }
                server.data_dir = dir;
            }
            if let Some(tick) = tick_time_ms {
                if tick == 0 {
                    eprintln!("ensemble: --tick-time-ms must be positive");
                    return ExitCode::from(2);
                }
                // Session bounds follow the tick unless the config set them.
                if server.min_session_timeout_ms == (2 * server.tick_time_ms) as i32 {
                    server.min_session_timeout_ms = (2 * tick) as i32;
                }
                if server.max_session_timeout_ms == (20 * server.tick_time_ms) as i32 {
                    server.max_session_timeout_ms = (20 * tick) as i32;
                }
                server.tick_time_ms = tick;
            }
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("ensemble: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            match runtime.block_on(ensemble::runtime::server::run(server, shutdown)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ensemble: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
