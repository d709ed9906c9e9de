//! Durable state on local disk: the transaction log, snapshots, the ZAB epoch
//! files, recovery and purge.
//!
//! This is the only place that touches files. It stores what the engine hands
//! it and reports what it found; it never decides which transactions are
//! committed, which snapshot a peer should have, or what an epoch means.
//!
//! The layout follows ZooKeeper's: `dataLogDir` holds `log.<zxid>` files, each
//! named by the zxid of its first record; `dataDir` holds `snapshot.<zxid>`
//! files, each named by the last zxid it contains, and the `acceptedEpoch` and
//! `currentEpoch` files. Zxids in names are 16 lowercase hex digits so that a
//! directory listing sorts in zxid order.
//!
//! Every fsync the server relies on happens here:
//! - [`TxnLog::sync`] (driven by [`crate::runtime::disk`], one per batch of
//!   appends) makes appended transactions durable, plus the directory entry of
//!   a newly created log file;
//! - [`write_snapshot`] fsyncs the temporary file, renames it and fsyncs the
//!   directory, so a snapshot is either absent or complete;
//! - [`write_epoch`] does the same for the epoch files;
//! - [`TxnLog::truncate_after`] and [`delete_snapshots_after`] make a TRUNC durable.

mod epoch;
mod error;
mod files;
mod purge;
mod recovery;
mod snapshot;
mod txn_log;

pub use epoch::{read_epoch, write_epoch, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
pub use error::StorageError;
pub use purge::{purge, PurgeReport, MIN_SNAP_RETAIN_COUNT};
pub use recovery::{recover, Recovered};
pub use snapshot::{delete_snapshots_after, list_snapshots, load_newest_valid, spawn_snapshot, write_snapshot, SnapshotJob};
pub use txn_log::{list_log_files, LogStats, TxnLog, MAX_RECORD_BYTES};
