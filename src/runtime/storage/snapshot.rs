//! Snapshot files: `snapshot.<zxid>` = header (magic, version, zxid, body
//! length, crc32c of the body) + `DataTree::to_snapshot_bytes()`.
//!
//! A snapshot is written whole under a temporary name and renamed into place,
//! so a crash leaves either no snapshot or a complete one; the checksum then
//! only has to catch damage at rest, and a damaged snapshot is skipped in
//! favour of an older one (purge keeps several for exactly this).

use super::files::{list_zxid_files, sync_dir, write_atomically, zxid_file_name};
use super::StorageError;
use crate::tree::DataTree;
use crate::zxid::Zxid;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

const SNAPSHOT_PREFIX: &str = "snapshot";
const MAGIC: [u8; 8] = *b"ENSEMSNP";
const FORMAT_VERSION: u32 = 1;
/// Magic, version, zxid, body length, body checksum.
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 4;

/// Durably writes `tree` as `data_dir/snapshot.<tree.last_zxid()>` and returns
/// that zxid and the path. Safe to call on a clone from any thread while the
/// original keeps applying: the clone is an independent, consistent image.
pub fn write_snapshot(data_dir: impl AsRef<Path>, tree: &DataTree) -> Result<(Zxid, PathBuf), StorageError> {
    let zxid = tree.last_zxid();
    let body = tree.to_snapshot_bytes();
    let mut header = [0u8; HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[12..20].copy_from_slice(&zxid.to_u64().to_le_bytes());
    header[20..28].copy_from_slice(&(body.len() as u64).to_le_bytes());
    header[28..32].copy_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    let path = write_atomically(data_dir.as_ref(), &zxid_file_name(SNAPSHOT_PREFIX, zxid), &[&header, &body])?;
    Ok((zxid, path))
}

/// A snapshot being written in the background; joining it gives what `write_snapshot` returns.
pub type SnapshotJob = JoinHandle<Result<(Zxid, PathBuf), StorageError>>;

/// Writes a snapshot of `tree` (normally a fresh clone) on a new thread named
/// `ensemble-snapshot`; join the handle to learn the outcome.
pub fn spawn_snapshot(data_dir: impl Into<PathBuf>, tree: DataTree) -> Result<SnapshotJob, StorageError> {
    let data_dir = data_dir.into();
    let dir = data_dir.clone();
    std::thread::Builder::new()
        .name("ensemble-snapshot".into())
        .spawn(move || write_snapshot(&data_dir, &tree))
        .map_err(StorageError::io("spawn snapshot writer for", dir))
}

/// Loads the newest snapshot in `data_dir` that passes its checks, skipping
/// (with a warning) any whose header, checksum or image is bad. `None` when
/// there is no valid snapshot at all. I/O errors other than a vanished file
/// are returned: an unreadable disk is not a reason to fall back silently.
pub fn load_newest_valid(data_dir: impl AsRef<Path>) -> Result<Option<(Zxid, DataTree)>, StorageError> {
    for (zxid, path) in list_snapshots(data_dir)?.into_iter().rev() {
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            // Purged between listing and reading: an older one will do.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StorageError::io("read", &path)(e)),
        };
        match decode_snapshot(&bytes, zxid) {
            Ok(tree) => return Ok(Some((zxid, tree))),
            Err((offset, reason)) => {
                tracing::warn!(file = %path.display(), offset, reason = %reason, "skipping invalid snapshot");
            }
        }
    }
    Ok(None)
}

/// Every `snapshot.<zxid>` file in `data_dir`, oldest first (temporary files excluded).
pub fn list_snapshots(data_dir: impl AsRef<Path>) -> Result<Vec<(Zxid, PathBuf)>, StorageError> {
    list_zxid_files(data_dir.as_ref(), SNAPSHOT_PREFIX)
}

/// Durably deletes every snapshot newer than `zxid` and returns their paths.
/// A TRUNC must do this before truncating the log, or recovery would load a
/// snapshot holding the very transactions the leader told us to drop.
pub fn delete_snapshots_after(data_dir: impl AsRef<Path>, zxid: Zxid) -> Result<Vec<PathBuf>, StorageError> {
    let data_dir = data_dir.as_ref();
    let mut deleted = Vec::new();
    for (_, path) in list_snapshots(data_dir)?.into_iter().filter(|(z, _)| *z > zxid) {
        fs::remove_file(&path).map_err(StorageError::io("remove", &path))?;
        deleted.push(path);
    }
    if !deleted.is_empty() {
        sync_dir(data_dir)?;
    }
    Ok(deleted)
}

/// Checks and decodes a snapshot file named for `named`; on failure, the
/// offset and reason for the warning.
fn decode_snapshot(bytes: &[u8], named: Zxid) -> Result<DataTree, (u64, String)> {
    if bytes.len() < HEADER_LEN {
        return Err((0, format!("{} bytes, shorter than the header", bytes.len())));
    }
    if bytes[..8] != MAGIC {
        return Err((0, "not a snapshot file (bad magic)".into()));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err((8, format!("unknown snapshot format version {version}")));
    }
    let zxid = Zxid::from_u64(u64_at(12));
    if zxid != named {
        return Err((12, format!("header says zxid {zxid}, file name says {named}")));
    }
    let body = &bytes[HEADER_LEN..];
    let len = u64_at(20);
    if len != body.len() as u64 {
        return Err((20, format!("header says {len} body bytes, file holds {}", body.len())));
    }
    if crc32c::crc32c(body) != u32_at(28) {
        return Err((HEADER_LEN as u64, "checksum mismatch".into()));
    }
    let tree = DataTree::from_snapshot_bytes(body).map_err(|e| (HEADER_LEN as u64, e.to_string()))?;
    // The zxid inside the image is outside the tree's digest; tie it to the header.
    if tree.last_zxid() != zxid {
        return Err((HEADER_LEN as u64, format!("image holds zxid {}, header says {zxid}", tree.last_zxid())));
    }
    Ok(tree)
}
