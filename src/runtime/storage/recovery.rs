//! Rebuilding the tree at startup from what is durable: the newest valid
//! snapshot plus the log transactions after it.

use super::{load_newest_valid, StorageError, TxnLog};
use crate::tree::DataTree;
use crate::txn::Txn;
use crate::zxid::Zxid;
use std::path::Path;

/// Everything durable state says, ready to hand to the engine.
#[derive(Debug)]
pub struct Recovered {
    /// The snapshot (or a fresh tree) with every later logged transaction applied.
    pub tree: DataTree,
    /// The zxid of the snapshot used, `None` if none was valid (or none existed).
    pub snapshot_zxid: Option<Zxid>,
    /// The highest zxid in `tree` (the snapshot's or the last replayed transaction's).
    pub last_zxid: Zxid,
    /// Every transaction in the log, including those the snapshot already
    /// held: the engine serves DIFFs to learners from them.
    pub log_txns: Vec<Txn>,
    /// The log, open and ready for appends after `last_zxid`.
    pub txn_log: TxnLog,
}

/// Opens the log in `data_log_dir` (cutting a torn tail), loads the newest
/// valid snapshot in `data_dir` (or starts from `DataTree::new()`), and applies
/// every logged transaction above the snapshot's zxid, in order.
///
/// A snapshot taken from a clone at zxid Z holds exactly the transactions up
/// to Z, so replay starts right after Z; because applying is idempotent a
/// snapshot that also held a little more would still come out right.
pub fn recover(data_dir: impl AsRef<Path>, data_log_dir: impl AsRef<Path>) -> Result<Recovered, StorageError> {
    let (txn_log, log_txns) = TxnLog::open(data_log_dir.as_ref())?;
    let (snapshot_zxid, mut tree) = match load_newest_valid(data_dir.as_ref())? {
        Some((zxid, tree)) => (Some(zxid), tree),
        None => (None, DataTree::new()),
    };
    let replay_from = match snapshot_zxid {
        Some(zxid) => log_txns.partition_point(|t| t.zxid <= zxid),
        None => 0,
    };
    for txn in &log_txns[replay_from..] {
        tree.apply(txn);
    }
    let last_zxid = tree.last_zxid();
    tracing::info!(
        data_dir = %data_dir.as_ref().display(),
        data_log_dir = %data_log_dir.as_ref().display(),
        snapshot_zxid = ?snapshot_zxid,
        replayed = log_txns.len() - replay_from,
        last_zxid = %last_zxid,
        "recovered durable state"
    );
    Ok(Recovered { tree, snapshot_zxid, last_zxid, log_txns, txn_log })
}
