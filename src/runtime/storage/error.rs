//! `StorageError`: what can go wrong with the files, naming the file and where.

use crate::zxid::Zxid;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a storage operation failed. Every variant names the file involved, so
/// an operator can find it; none of them is ever a panic.
#[derive(Clone, Debug)]
pub enum StorageError {
    /// The operating system refused an operation on a path.
    Io {
        /// What we were doing ("open", "fsync", "rename", ...).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error; shared so that the error can be cloned into
        /// both the writer's failure report and its join result.
        source: Arc<io::Error>,
    },
    /// A file holds bytes that cannot be what we wrote, in a place where
    /// dropping them could lose acknowledged data.
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A small text file (an epoch file) does not hold what it should.
    Malformed {
        /// The file.
        file: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The caller appended a transaction whose zxid does not follow the log's last one.
    OutOfOrder {
        /// The log's last zxid.
        last: Zxid,
        /// The zxid offered.
        got: Zxid,
    },
    /// A transaction encodes to more bytes than a record may hold.
    RecordTooLarge {
        /// The transaction's zxid.
        zxid: Zxid,
        /// Its encoded size.
        bytes: usize,
    },
    /// The log writer thread has stopped (after a failure or a shutdown).
    WriterStopped,
}

impl StorageError {
    /// Builds a mapper from `io::Error` for `op` on `path`, for use with `map_err`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> StorageError {
        let path = path.into();
        move |source| StorageError::Io { op, path, source: Arc::new(source) }
    }

    /// Builds a `Corrupt` error.
    pub(crate) fn corrupt(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { file: file.into(), offset, reason: reason.into() }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io { op, path, source } => write!(f, "{op} {}: {source}", path.display()),
            StorageError::Corrupt { file, offset, reason } => write!(f, "{} is corrupt at offset {offset}: {reason}", file.display()),
            StorageError::Malformed { file, reason } => write!(f, "{} is malformed: {reason}", file.display()),
            StorageError::OutOfOrder { last, got } => write!(f, "transaction {got} appended after {last}: zxids must strictly increase"),
            StorageError::RecordTooLarge { zxid, bytes } => write!(f, "transaction {zxid} encodes to {bytes} bytes, more than a log record may hold"),
            StorageError::WriterStopped => write!(f, "the log writer has stopped"),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
