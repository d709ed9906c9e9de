//! Replicas of the state machine fed one transaction stream: the leader
//! prepares each request against its own tree, every replica applies the
//! transactions, and some replicas restart from a snapshot mid-stream and
//! replay the log from a point at or before the snapshot. All must agree.

use crate::workload::Workload;
use ensemble::{prep, DataTree, PrepConfig, PrepContext, Txn, Zxid};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::Xxh3;

/// What to run.
#[derive(Clone, Debug)]
pub struct ReplicaRunConfig {
    /// Seed for the workload and for restart points.
    pub seed: u64,
    /// Number of requests.
    pub requests: usize,
    /// Number of replicas besides the leader.
    pub replicas: usize,
    /// Probability per request that some replica restarts from a snapshot.
    pub restart_probability: f64,
    /// A deliberate fault for testing the checker: replica 0 silently skips
    /// the n-th transaction that changed the tree.
    pub lose_write_on_replica: Option<usize>,
}

/// The outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRun {
    /// Hash over every transaction and every digest in order: the run's fingerprint.
    pub trace_hash: u64,
    /// The final tree digest all replicas share.
    pub digest: u64,
    /// Nodes in the final tree.
    pub nodes: usize,
    /// Restarts from snapshots performed.
    pub restarts: usize,
    /// Transactions that failed in prep (error txns).
    pub error_txns: usize,
}

/// Runs the replicas and checks that they agree; a disagreement is an `Err`
/// that says where, and how to replay it.
pub fn run_replicas(config: &ReplicaRunConfig) -> Result<ReplicaRun, String> {
    let mut workload = Workload::new(config.seed, 3);
    let mut faults = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_fa17);
    let prep_config = PrepConfig { extended_types_enabled: true };
    let mut leader = DataTree::new();
    let mut replicas: Vec<DataTree> = vec![DataTree::new(); config.replicas];
    let mut log: Vec<Txn> = Vec::new();
    let mut snapshots: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut trace = Xxh3::new();
    let mut restarts = 0;
    let mut error_txns = 0;
    let mut changing_txns = 0;
    let mut zxid = Zxid::new(1, 0);
    let replay_hint = format!("replay: ensemble-sim replicas --seed {} --requests {}", config.seed, config.requests);

    for i in 0..config.requests {
        let step = workload.next_step();
        zxid = zxid.next();
        let now_ms = 1_700_000_000_000 + i as i64 * 10;
        let ctx = PrepContext { zxid, session: step.session, cxid: i as i32, time_ms: now_ms, auth: &step.auth, config: &prep_config };
        let txn = prep(&leader, &ctx, &step.op);
        let failed = match &txn.op {
            ensemble::TxnOp::Error(_) => true,
            ensemble::TxnOp::Multi(ops) => ops.iter().any(|op| matches!(op, ensemble::TxnOp::Error(_))),
            _ => false,
        };
        if failed {
            error_txns += 1;
        }
        // Every txn travels encoded, as it would in a log or a PROPOSAL.
        let bytes = txn.encode();
        let txn = Txn::decode(&bytes).map_err(|e| format!("txn {zxid} does not decode: {e}; {replay_hint}"))?;
        trace.update(&bytes);
        let digest_before = leader.digest();
        let expected = leader.apply(&txn);
        let lose_here = leader.digest() != digest_before && config.lose_write_on_replica == Some(changing_txns);
        if leader.digest() != digest_before {
            changing_txns += 1;
        }
        for (r, replica) in replicas.iter_mut().enumerate() {
            if r == 0 && lose_here {
                continue;
            }
            let applied = replica.apply(&txn);
            if applied != expected {
                return Err(format!("replica {r} result differs at {zxid}: {:?} vs {:?}; {replay_hint}", applied, expected));
            }
        }
        log.push(txn);
        if faults.gen_bool(0.05) {
            snapshots.push((log.len(), leader.clone().to_snapshot_bytes()));
        }
        if !snapshots.is_empty() && faults.gen_bool(config.restart_probability) {
            // Restart a replica from some snapshot and replay from a point at or
            // before it: replay over state that already holds txns must converge.
            let r = faults.gen_range(0..replicas.len().max(1));
            let (taken_at, bytes) = &snapshots[faults.gen_range(0..snapshots.len())];
            let replay_from = taken_at.saturating_sub(faults.gen_range(0..3));
            let mut restored = DataTree::from_snapshot_bytes(bytes).map_err(|e| format!("{e}; {replay_hint}"))?;
            for txn in &log[replay_from..] {
                restored.apply(txn);
            }
            if let Some(replica) = replicas.get_mut(r) {
                *replica = restored;
                restarts += 1;
            }
        }
        trace.update(&leader.digest().to_le_bytes());
        for (r, replica) in replicas.iter().enumerate() {
            if replica.digest() != leader.digest() {
                return Err(format!("replica {r} digest {:016x} != leader {:016x} at {zxid}; {replay_hint}", replica.digest(), leader.digest()));
            }
        }
        leader.check_invariants();
    }
    let leader_bytes = leader.to_snapshot_bytes();
    for (r, replica) in replicas.iter().enumerate() {
        replica.check_invariants();
        if replica.to_snapshot_bytes() != leader_bytes {
            return Err(format!("replica {r} serializes differently from the leader; {replay_hint}"));
        }
    }
    Ok(ReplicaRun { trace_hash: trace.digest(), digest: leader.digest(), nodes: leader.node_count(), restarts, error_txns })
}
