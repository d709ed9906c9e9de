//! The `acceptedEpoch` and `currentEpoch` files ZAB persists before acting on them.
//!
//! As in ZooKeeper, each holds the epoch as decimal text and a newline, so an
//! operator can read it with `cat`; each is replaced atomically.

use super::files::{read_if_exists, write_atomically};
use super::StorageError;
use crate::zxid::Epoch;
use std::path::Path;

/// The epoch a follower accepted in discovery (ZooKeeper's file name).
pub const ACCEPTED_EPOCH_FILE: &str = "acceptedEpoch";
/// The epoch a follower acknowledged NEWLEADER for (ZooKeeper's file name).
pub const CURRENT_EPOCH_FILE: &str = "currentEpoch";

/// Durably records `epoch` in `dir/name`: after this returns, a crash still reads it back.
pub fn write_epoch(dir: impl AsRef<Path>, name: &str, epoch: Epoch) -> Result<(), StorageError> {
    write_atomically(dir.as_ref(), name, &[format!("{}\n", epoch.0).as_bytes()])?;
    Ok(())
}

/// Reads `dir/name`: `None` if it does not exist (a fresh server), an error naming the file if it is malformed.
pub fn read_epoch(dir: impl AsRef<Path>, name: &str) -> Result<Option<Epoch>, StorageError> {
    let path = dir.as_ref().join(name);
    let Some(bytes) = read_if_exists(&path)? else { return Ok(None) };
    let malformed = |reason: String| StorageError::Malformed { file: path.clone(), reason };
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed("not UTF-8 text".into()))?;
    let digits = text.trim();
    digits.parse::<u32>().map(|e| Some(Epoch(e))).map_err(|e| malformed(format!("{digits:?} is not an epoch: {e}")))
}
