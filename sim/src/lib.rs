//! ensemble-sim: seeded, deterministic runs of the ensemble engine.
//!
//! `world` drives whole clusters of `Peer`s (voters, observers, simulated
//! clients) through a network with latency and loss, partitions, crashes,
//! restarts from a checksummed disk model (torn tails, corrupt records, slow
//! fsync), pauses, per-node clock skew and drift, and targeted faults that fire
//! on a condition (`trigger`), all decided by one seed; `check`
//! holds the cluster-wide checkers; `scenario` loads named fault timelines.
//! `trace_log` is the structured event log a traced run keeps, `trace` draws
//! it as an HTML timeline, and `shrink` minimizes a failing run into a scenario.
//! `replicas` is the older replica-determinism runner over the state machine.

pub mod bench;
pub mod check;
pub mod client;
pub mod clock;
pub mod disk;
pub mod fault;
pub mod replicas;
pub mod scenario;
pub mod shrink;
pub mod trace;
pub mod trace_log;
pub mod trigger;
pub mod workload;
pub mod world;

pub use replicas::{run_replicas, ReplicaRun, ReplicaRunConfig};
pub use scenario::{run_seed, Scenario};
pub use workload::Workload;
pub use trigger::{SyncHeader, Trigger};
pub use world::{swarm_config, swarm_config_for, Clock, Fault, NetworkConfig, TimedFault, Verdict, World, WorldConfig};
