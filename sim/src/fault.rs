//! The faults a run's timeline can hold: crashes, restarts, partitions, pauses
//! and the test-only disk damage, each at a virtual time.

use serde::{Deserialize, Serialize};

/// A fault at a virtual time (ms since the run began).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TimedFault {
    /// When it fires.
    pub at_ms: u64,
    /// What happens.
    #[serde(flatten)]
    pub fault: Fault,
}

/// A fault the world can inject.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Crash a node: everything not yet reported durable is lost.
    Crash {
        /// Which node.
        node: u64,
    },
    /// Crash whoever leads now.
    CrashLeader,
    /// Restart a crashed node from its disk.
    Restart {
        /// Which node.
        node: u64,
    },
    /// Restart every crashed node.
    RestartAll,
    /// Split the nodes into groups that cannot talk across.
    Partition {
        /// The groups; nodes not named form one more group.
        groups: Vec<Vec<u64>>,
    },
    /// `from` can no longer reach `to`; the reverse still works.
    OneWay {
        /// The sender that is cut.
        from: u64,
        /// The receiver it cannot reach.
        to: u64,
    },
    /// Cut the current leader off from everyone.
    IsolateLeader,
    /// Remove every partition.
    Heal,
    /// Stop a node (no ticks, no deliveries) for a while; its messages queue.
    Pause {
        /// Which node.
        node: u64,
        /// For how long.
        ms: u64,
    },
    /// Test-only: crash the node and erase its whole disk, then restart it empty (a lost acknowledged write must be caught).
    WipeDisk {
        /// Which node.
        node: u64,
    },
    /// Test-only: corrupt the last logged txn on the node's disk, then crash and restart it, so that checkers must fire.
    CorruptDisk {
        /// Which node.
        node: u64,
    },
}

