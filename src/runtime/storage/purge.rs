//! Deleting snapshots and log files that recovery no longer needs
//! (ZooKeeper's `PurgeTxnLog` / autopurge).

use super::files::sync_dir;
use super::{list_log_files, list_snapshots, StorageError};
use std::fs;
use std::path::{Path, PathBuf};

/// ZooKeeper refuses to keep fewer snapshots: if the newest is damaged,
/// recovery falls back to an older one, which must still be there.
pub const MIN_SNAP_RETAIN_COUNT: usize = 3;

/// The files a purge deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Snapshot files deleted, oldest first.
    pub snapshots_deleted: Vec<PathBuf>,
    /// Log files deleted, oldest first.
    pub logs_deleted: Vec<PathBuf>,
}

/// Keeps the newest `snap_retain_count` snapshots (at least
/// [`MIN_SNAP_RETAIN_COUNT`]) and the log files needed to replay from the
/// oldest of them, the newest file starting at or before it and all later
/// ones; deletes the rest. With no snapshot at all nothing is deleted.
///
/// Snapshots are deleted (durably) before logs so that a crash can never
/// resurrect an old snapshot whose following log files are already gone.
/// Safe to run while the log writer appends: the file it writes is always kept.
pub fn purge(data_dir: impl AsRef<Path>, data_log_dir: impl AsRef<Path>, snap_retain_count: usize) -> Result<PurgeReport, StorageError> {
    let (data_dir, data_log_dir) = (data_dir.as_ref(), data_log_dir.as_ref());
    let retain = if snap_retain_count < MIN_SNAP_RETAIN_COUNT {
        tracing::warn!(snap_retain_count, min = MIN_SNAP_RETAIN_COUNT, "snapRetainCount too small, keeping the minimum");
        MIN_SNAP_RETAIN_COUNT
    } else {
        snap_retain_count
    };
    let mut report = PurgeReport::default();
    let snapshots = list_snapshots(data_dir)?;
    let keep_from = snapshots.len().saturating_sub(retain);
    let Some((oldest_kept, _)) = snapshots.get(keep_from) else { return Ok(report) };
    for (_, path) in &snapshots[..keep_from] {
        remove(path)?;
        report.snapshots_deleted.push(path.clone());
    }
    if !report.snapshots_deleted.is_empty() {
        sync_dir(data_dir)?;
    }
    let logs = list_log_files(data_log_dir)?;
    // If every log file starts after the snapshot, all of them are needed.
    if let Some(needed_from) = logs.iter().rposition(|(first, _)| first <= oldest_kept) {
        for (_, path) in &logs[..needed_from] {
            remove(path)?;
            report.logs_deleted.push(path.clone());
        }
    }
    if !report.logs_deleted.is_empty() {
        sync_dir(data_log_dir)?;
    }
    tracing::info!(snapshots = report.snapshots_deleted.len(), logs = report.logs_deleted.len(), "purged old snapshots and log files");
    Ok(report)
}

fn remove(path: &Path) -> Result<(), StorageError> {
    fs::remove_file(path).map_err(StorageError::io("remove", path))
}
