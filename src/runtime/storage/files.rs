//! File-name conventions and the fsync idioms shared by the log, snapshots and epoch files.

use super::StorageError;
use crate::zxid::Zxid;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `<prefix>.<zxid as 16 hex digits>`: fixed width so names sort in zxid order.
pub(crate) fn zxid_file_name(prefix: &str, zxid: Zxid) -> String {
    format!("{prefix}.{:016x}", zxid.to_u64())
}

/// The zxid in a `<prefix>.<hex>` name, or `None` for any other name
/// (temporary files, other prefixes, editor droppings).
pub(crate) fn parse_zxid_file_name(name: &str, prefix: &str) -> Option<Zxid> {
    let hex = name.strip_prefix(prefix)?.strip_prefix('.')?;
    // Accept ZooKeeper's unpadded names as well as our padded ones.
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(Zxid::from_u64)
}

/// Every `<prefix>.<zxid>` file in `dir`, in ascending zxid order. A missing
/// directory holds no files: a fresh server starts from nothing.
pub(crate) fn list_zxid_files(dir: &Path, prefix: &str) -> Result<Vec<(Zxid, PathBuf)>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("list", dir)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(zxid) = parse_zxid_file_name(name, prefix) {
            found.push((zxid, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Creates `dir` (and its parents) if needed.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), StorageError> {
    fs::create_dir_all(dir).map_err(StorageError::io("create directory", dir))
}

/// Fsyncs a directory so that creations, renames and deletions in it survive
/// a crash; without it a freshly created file can vanish with its contents.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(StorageError::io("fsync directory", dir))?;
    }
    // Other platforms cannot open a directory as a file; their file systems
    // order metadata differently and there is nothing portable to do.
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Writes the concatenation of `parts` as `dir/name` so that after a crash the
/// file is either absent (or the old one) or complete, never a mix: temp file,
/// fsync, rename, fsync dir. Parts avoid copying a large body behind a header.
pub(crate) fn write_atomically(dir: &Path, name: &str, parts: &[&[u8]]) -> Result<PathBuf, StorageError> {
    ensure_dir(dir)?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut file = File::create(&tmp).map_err(StorageError::io("create", &tmp))?;
    for part in parts {
        file.write_all(part).map_err(StorageError::io("write", &tmp))?;
    }
    file.sync_all().map_err(StorageError::io("fsync", &tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(StorageError::io("rename", &tmp))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Reads a whole file; `None` if it does not exist.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::io("read", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Names round-trip, sort in zxid order, and unrelated names are ignored.
    #[test]
    fn names() {
        let z = Zxid::new(3, 0x1f);
        let name = zxid_file_name("log", z);
        assert_eq!(name, "log.000000030000001f");
        assert_eq!(parse_zxid_file_name(&name, "log"), Some(z));
        assert_eq!(parse_zxid_file_name("log.300000001", "log"), Some(Zxid::new(3, 1)));
        assert_eq!(parse_zxid_file_name("log.000000030000001f.tmp", "log"), None);
        assert_eq!(parse_zxid_file_name("snapshot.1", "log"), None);
        assert_eq!(parse_zxid_file_name("log.", "log"), None);
        assert_eq!(parse_zxid_file_name("logx.1", "log"), None);
        assert!(zxid_file_name("log", Zxid::new(0, 0xffff)) < zxid_file_name("log", Zxid::new(1, 0)));
    }
}
