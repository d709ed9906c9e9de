//! Cluster-wide checkers, one file per property. `observe` runs after every
//! step of every node and feeds the checkers that watch the run as it goes;
//! the others judge the end state. (The engine's own `check_invariants()`
//! runs after every step in `World::drain`.)

pub mod ephemerals;
pub mod fifo;
pub mod linearizable;
pub mod liveness;
pub mod multi_atomic;
pub mod never_lost;
pub mod one_leader;
pub mod prefix;
pub mod watches;

use crate::world::World;
use ensemble::{DataTree, Epoch, ServerId, Zxid};
use std::collections::{BTreeMap, BTreeSet};

/// Failures kept per run: the first few say enough.
const FAILURES_MAX: usize = 8;

/// What the checkers saw during a run.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    /// Every (epoch, leader) seen serving.
    pub leaders: BTreeMap<Epoch, BTreeSet<ServerId>>,
    /// The hash of the txn at each zxid, from the histories of serving nodes.
    pub committed: BTreeMap<Zxid, (u64, ServerId)>,
    /// The tree digest at each zxid, from serving nodes, with the tree (an O(1) clone) to explain a mismatch.
    pub digests: BTreeMap<Zxid, (u64, ServerId, DataTree)>,
    /// Per node, the newest zxid already sampled while it served.
    pub sampled: BTreeMap<ServerId, Zxid>,
    /// What went wrong, with where.
    pub failures: Vec<String>,
}

impl Checks {
    /// Records a failure, keeping only the first few.
    pub fn fail(&mut self, failure: String) {
        if self.failures.len() < FAILURES_MAX {
            self.failures.push(failure);
        }
    }
}

/// Samples node `id` after a step.
pub fn observe(w: &mut World, id: ServerId) {
    let now = w.now;
    let Some(peer) = w.nodes.get(&id).and_then(|n| n.peer.as_ref()) else { return };
    one_leader::observe(&mut w.checks, id, peer);
    prefix::observe(&mut w.checks, id, peer, now);
}
