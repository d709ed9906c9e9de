//! The faults a run's timeline can hold: crashes (clean or tearing the log
//! tail), restarts, partitions (symmetric, one-way, bridge), pauses, slow
//! disks, a record damaged on disk, targeted faults armed to fire on a
//! condition, and the test-only undetected disk damage, each at a virtual time.

use crate::trigger::Trigger;
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
    /// Crash every node at once, as a power loss does.
    CrashAll,
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
    /// Like `Partition`, but silent: packets are dropped with no connection
    /// reset (as when a switch dies), so nobody hears of it until its own
    /// timers say so; the connections break only when it heals.
    SilentPartition {
        /// The groups; nodes not named form one more group.
        groups: Vec<Vec<u64>>,
    },
    /// Like `IsolateLeader`, but silent (see `SilentPartition`): the leader may
    /// believe it leads for a while after the others elected another.
    SilentIsolateLeader,
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
    /// Split the other nodes into two halves that cannot talk to each other, while `node` talks to both.
    Bridge {
        /// The bridge.
        node: u64,
    },
    /// Crash a node in the middle of writing its pending writes: a prefix of
    /// them lands (never reported durable, which is legal), and the newest log
    /// record landed is torn; recovery must cut it.
    CrashTorn {
        /// Which node.
        node: u64,
    },
    /// Crash a node, flip bytes of one logged record that is not the newest,
    /// and restart it: recovery detects the checksum mismatch, keeps only the
    /// valid prefix, and the node must get the rest from the leader.
    CorruptRecord {
        /// Which node.
        node: u64,
    },
    /// Every fsync of a node takes `ms` longer, for `for_ms`.
    SlowDisk {
        /// Which node.
        node: u64,
        /// The extra fsync latency.
        ms: u64,
        /// How long the disk stays slow.
        for_ms: u64,
    },
    /// Arm a targeted fault: it fires once, when its condition is first seen.
    Arm {
        /// The condition and what it does.
        trigger: Trigger,
    },
}
