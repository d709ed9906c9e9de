//! ensemble-sim: seeded, deterministic runs of the ensemble engine.
//!
//! Today it drives replicas of the replicated state machine (the znode tree)
//! through a seeded client workload, snapshots taken mid-stream, restores and
//! replays, and checks that every replica ends bit-identical. The cluster
//! simulator (network, crashes, partitions) grows here on top of it.

pub mod replicas;
pub mod workload;

pub use replicas::{run_replicas, ReplicaRun, ReplicaRunConfig};
pub use workload::Workload;
