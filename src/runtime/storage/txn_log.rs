//! The transaction log: append-only `log.<first zxid>` files of checksummed records.
//!
//! A file is a header (magic, format version, first zxid, salt, header crc32c)
//! followed by records: `length: u32 LE`, `crc32c(salt ++ payload): u32 LE`,
//! `payload = Txn::encode()`. Only the last file can have a torn tail, because
//! a file is synced before the next one is created; so damage anywhere else is
//! refused rather than cut.
//!
//! The salt is random per file. Telling a torn tail from damage in the middle
//! means looking for valid records after a bad one, and without the salt two
//! kinds of bytes could pass for records: records of a deleted log file left in
//! reused disk blocks, and znode data a client crafted to look like a record.
//! Seeding each checksum with the file's salt means only records written into
//! this very file can validate.

use super::files::{ensure_dir, list_zxid_files, sync_dir, zxid_file_name};
use super::StorageError;
use crate::txn::Txn;
use crate::zxid::Zxid;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The largest payload a record may hold. Far above any transaction a client
/// can cause (ZooKeeper's jute.maxbuffer is 1 MiB), and low enough that a
/// corrupted length field is recognised as implausible instead of trusted.
pub const MAX_RECORD_BYTES: usize = 64 << 20;

const LOG_PREFIX: &str = "log";
const MAGIC: [u8; 8] = *b"ENSEMLOG";
const FORMAT_VERSION: u32 = 1;
/// Magic, version, first zxid: the part of the header that is predictable.
const FILE_HEADER_FIXED_LEN: usize = 8 + 4 + 8;
/// The fixed part, the salt, and a checksum of both.
const FILE_HEADER_LEN: usize = FILE_HEADER_FIXED_LEN + 8 + 4;
/// Length and checksum in front of every payload.
const RECORD_HEADER_LEN: usize = 4 + 4;
/// Large enough that a busy batch becomes a few big writes.
const WRITE_BUFFER_BYTES: usize = 256 << 10;

/// Counters that tell how well group commit batches: fsyncs against transactions.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Data fsyncs issued (one per sync that had something to write).
    pub syncs: u64,
    /// Transactions appended.
    pub txns: u64,
}

impl LogStats {
    /// Average transactions made durable per fsync; zero before the first sync.
    pub fn txns_per_sync(&self) -> f64 {
        if self.syncs == 0 {
            0.0
        } else {
            self.txns as f64 / self.syncs as f64
        }
    }
}

/// An open transaction log directory, appending to its newest file.
///
/// Synchronous and `std::fs` based: drive it from one dedicated thread (see
/// [`crate::runtime::disk`]) or from `spawn_blocking`. After an I/O error the log
/// refuses further writes: a failed fsync leaves the file's state unknown, so
/// the only safe continuation is to reopen it (recovery decides what survived).
pub struct TxnLog {
    dir: PathBuf,
    /// The file appends go to; `None` until the next append creates one, so
    /// that every file is named by the zxid of its first record.
    current: Option<CurrentFile>,
    /// The highest zxid appended, durable or not.
    last_zxid: Option<Zxid>,
    /// Appends since the last fsync of `current`.
    unsynced: bool,
    /// A file was created since the directory was last fsynced.
    dir_unsynced: bool,
    stats: LogStats,
    /// The first error while writing, after which the log refuses to continue:
    /// what reached the disk is then unknown until a reopen reads it back.
    broken: Option<StorageError>,
}

struct CurrentFile {
    path: PathBuf,
    out: BufWriter<File>,
    /// `crc32c(salt)`, the starting value of every record checksum in the file.
    seed: u32,
}

impl std::fmt::Debug for TxnLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnLog")
            .field("dir", &self.dir)
            .field("current", &self.current.as_ref().map(|c| &c.path))
            .field("last_zxid", &self.last_zxid)
            .field("stats", &self.stats)
            .field("broken", &self.broken)
            .finish()
    }
}

impl TxnLog {
    /// Opens (creating if needed) the log in `dir` and returns every logged
    /// transaction in zxid order.
    ///
    /// Checks every record's checksum and that zxids strictly increase. A torn
    /// or corrupt tail of the last file is cut (with a warning): those records
    /// were never reported durable. Damage in an earlier file, or a bad record
    /// followed by valid ones, is `StorageError::Corrupt`, because cutting there
    /// would silently drop acknowledged transactions.
    pub fn open(dir: impl AsRef<Path>) -> Result<(TxnLog, Vec<Txn>), StorageError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_dir(&dir)?;
        let files = list_log_files(&dir)?;
        let mut txns: Vec<Txn> = Vec::new();
        for (i, (first, path)) in files.iter().enumerate() {
            let is_last = i + 1 == files.len();
            let last_before = txns.last().map(|t| t.zxid);
            let bytes = fs::read(path).map_err(StorageError::io("read", path))?;
            let seed = match check_file_header(&bytes, *first) {
                HeaderCheck::Valid { seed } => seed,
                HeaderCheck::Torn if is_last => {
                    // The crash came between creating the file and syncing its
                    // header: no record in it was ever reported durable.
                    tracing::warn!(file = %path.display(), len = bytes.len(), "removing transaction log file with a torn header");
                    remove_durably(&dir, path)?;
                    continue;
                }
                HeaderCheck::Torn => return Err(StorageError::corrupt(path, bytes.len() as u64, "file ends inside its header, yet later log files exist")),
                HeaderCheck::Bad(reason) => return Err(StorageError::corrupt(path, 0, reason)),
            };
            let scan = scan_records(&bytes, seed, *first, last_before);
            match scan.stop {
                None => {}
                Some(Stop::Hard { offset, reason }) => return Err(StorageError::corrupt(path, offset as u64, reason)),
                Some(Stop::Cuttable { offset, reason }) => {
                    if !is_last {
                        return Err(StorageError::corrupt(path, offset as u64, format!("{reason}, in a log file that later files follow")));
                    }
                    let last_good = scan.records.last().map(|(_, t)| t.zxid).or(last_before);
                    if let Some(valid_at) = find_valid_record_after(&bytes, seed, offset + 1, last_good) {
                        return Err(StorageError::corrupt(path, offset as u64, format!("{reason}, yet a valid record follows at offset {valid_at}")));
                    }
                    tracing::warn!(file = %path.display(), offset, reason = %reason, "cutting torn tail of the transaction log");
                    cut_file(path, offset as u64)?;
                }
            }
            if scan.records.is_empty() {
                if is_last {
                    // Keeping it would make the next append land in a file whose
                    // name is not its first record's zxid.
                    tracing::warn!(file = %path.display(), "removing transaction log file that holds no complete record");
                    remove_durably(&dir, path)?;
                } else {
                    tracing::warn!(file = %path.display(), "transaction log file holds no records");
                }
                continue;
            }
            txns.extend(scan.records.into_iter().map(|(_, t)| t));
        }
        let last_zxid = txns.last().map(|t| t.zxid);
        let log = TxnLog { dir, current: None, last_zxid, unsynced: false, dir_unsynced: false, stats: LogStats::default(), broken: None };
        Ok((log, txns))
    }

    /// Appends `txns` to the write buffer. Nothing is durable until [`TxnLog::sync`]
    /// returns. Zxids must strictly increase across calls; a batch that breaks
    /// that is refused whole, before anything is written.
    pub fn append(&mut self, txns: &[Txn]) -> Result<(), StorageError> {
        self.check_usable()?;
        let mut last = self.last_zxid;
        let mut payloads = Vec::with_capacity(txns.len());
        for txn in txns {
            if let Some(last) = last.filter(|last| txn.zxid <= *last) {
                return Err(StorageError::OutOfOrder { last, got: txn.zxid });
            }
            let payload = txn.encode();
            if payload.len() > MAX_RECORD_BYTES {
                return Err(StorageError::RecordTooLarge { zxid: txn.zxid, bytes: payload.len() });
            }
            last = Some(txn.zxid);
            payloads.push(payload);
        }
        let result = self.write_records(txns, &payloads);
        self.record_failure(result)?;
        self.last_zxid = last;
        self.unsynced |= !txns.is_empty();
        self.stats.txns += txns.len() as u64;
        Ok(())
    }

    /// Flushes the buffer and fsyncs (data only) the current file, and the
    /// directory if a file was created. Only after this returns may appended
    /// transactions be reported durable.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.check_usable()?;
        let result = self.sync_inner();
        self.record_failure(result)
    }

    /// Ends the current file; the next append starts `log.<its zxid>`. Called
    /// after a snapshot so that older files can later be purged whole.
    pub fn roll(&mut self) -> Result<(), StorageError> {
        self.sync()?;
        self.current = None;
        Ok(())
    }

    /// Durably drops every record with a zxid greater than `zxid` (ZAB's TRUNC).
    ///
    /// Whole files are deleted, and the deletion made durable, before the file
    /// that straddles `zxid` is cut: a crash in between leaves a prefix of the
    /// old log, never a log with a hole in it.
    pub fn truncate_after(&mut self, zxid: Zxid) -> Result<(), StorageError> {
        self.sync()?;
        self.current = None;
        if self.last_zxid.is_none_or(|last| last <= zxid) {
            return Ok(());
        }
        let result = self.truncate_files(zxid);
        let new_last = self.record_failure(result)?;
        self.last_zxid = new_last;
        Ok(())
    }

    /// The highest zxid appended (durable only once `sync` returned), or
    /// `Zxid::ZERO` for an empty log.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid.unwrap_or(Zxid::ZERO)
    }

    /// Syncs and appended transactions so far.
    pub fn stats(&self) -> LogStats {
        self.stats
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn check_usable(&self) -> Result<(), StorageError> {
        match &self.broken {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Remembers a failure of a write, sync or truncation (see `broken`).
    fn record_failure<T>(&mut self, result: Result<T, StorageError>) -> Result<T, StorageError> {
        if let Err(e) = &result {
            self.broken = Some(e.clone());
        }
        result
    }

    fn write_records(&mut self, txns: &[Txn], payloads: &[Vec<u8>]) -> Result<(), StorageError> {
        for (txn, payload) in txns.iter().zip(payloads) {
            if self.current.is_none() {
                self.current = Some(self.create_file(txn.zxid)?);
            }
            let current = self.current.as_mut().expect("created above");
            let mut head = [0u8; RECORD_HEADER_LEN];
            head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
            head[4..].copy_from_slice(&crc32c::crc32c_append(current.seed, payload).to_le_bytes());
            current.out.write_all(&head).map_err(StorageError::io("write", &current.path))?;
            current.out.write_all(payload).map_err(StorageError::io("write", &current.path))?;
        }
        Ok(())
    }

    fn create_file(&mut self, first: Zxid) -> Result<CurrentFile, StorageError> {
        let path = self.dir.join(zxid_file_name(LOG_PREFIX, first));
        // `create_new`: an existing file of that name would mean two files claim
        // the same first zxid, and overwriting it could destroy logged data.
        let file = OpenOptions::new().write(true).create_new(true).open(&path).map_err(StorageError::io("create", &path))?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER_BYTES, file);
        let salt: u64 = rand::random();
        out.write_all(&file_header(first, salt)).map_err(StorageError::io("write", &path))?;
        self.dir_unsynced = true;
        Ok(CurrentFile { path, out, seed: salt_seed(salt) })
    }

    fn sync_inner(&mut self) -> Result<(), StorageError> {
        if let Some(current) = self.current.as_mut() {
            if self.unsynced {
                current.out.flush().map_err(StorageError::io("write", &current.path))?;
                // fdatasync also persists the file size, which is all the
                // metadata a reader of the log needs.
                current.out.get_ref().sync_data().map_err(StorageError::io("fsync", &current.path))?;
                self.stats.syncs += 1;
            }
        }
        self.unsynced = false;
        if self.dir_unsynced {
            sync_dir(&self.dir)?;
            self.dir_unsynced = false;
        }
        Ok(())
    }

    /// Deletes and cuts files so that nothing above `zxid` remains; returns
    /// the new last zxid.
    fn truncate_files(&mut self, zxid: Zxid) -> Result<Option<Zxid>, StorageError> {
        let files = list_log_files(&self.dir)?;
        let (keep, drop): (Vec<_>, Vec<_>) = files.into_iter().partition(|(first, _)| *first <= zxid);
        for (_, path) in &drop {
            fs::remove_file(path).map_err(StorageError::io("remove", path))?;
        }
        if !drop.is_empty() {
            sync_dir(&self.dir)?;
        }
        for (first, path) in keep.iter().rev() {
            let bytes = fs::read(path).map_err(StorageError::io("read", path))?;
            let HeaderCheck::Valid { seed } = check_file_header(&bytes, *first) else {
                return Err(StorageError::corrupt(path, 0, "bad header in a log file that was already validated"));
            };
            let scan = scan_records(&bytes, seed, *first, None);
            if let Some(Stop::Hard { offset, reason } | Stop::Cuttable { offset, reason }) = scan.stop {
                // This file was validated by `open` or written and synced since.
                return Err(StorageError::corrupt(path, offset as u64, reason));
            }
            if let Some((cut, _)) = scan.records.iter().find(|(_, t)| t.zxid > zxid) {
                cut_file(path, *cut as u64)?;
            }
            if let Some((_, kept)) = scan.records.iter().rev().find(|(_, t)| t.zxid <= zxid) {
                return Ok(Some(kept.zxid));
            }
            // A file with no records (tolerated by `open`): look further back.
        }
        Ok(None)
    }
}

/// Every `log.<zxid>` file in `dir`, oldest first, with its first zxid.
pub fn list_log_files(dir: impl AsRef<Path>) -> Result<Vec<(Zxid, PathBuf)>, StorageError> {
    list_zxid_files(dir.as_ref(), LOG_PREFIX)
}

fn file_header(first: Zxid, salt: u64) -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..FILE_HEADER_FIXED_LEN].copy_from_slice(&file_header_fixed(first));
    header[20..28].copy_from_slice(&salt.to_le_bytes());
    let crc = crc32c::crc32c(&header[..28]);
    header[28..].copy_from_slice(&crc.to_le_bytes());
    header
}

fn file_header_fixed(first: Zxid) -> [u8; FILE_HEADER_FIXED_LEN] {
    let mut fixed = [0u8; FILE_HEADER_FIXED_LEN];
    fixed[..8].copy_from_slice(&MAGIC);
    fixed[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    fixed[12..].copy_from_slice(&first.to_u64().to_le_bytes());
    fixed
}

fn salt_seed(salt: u64) -> u32 {
    crc32c::crc32c(&salt.to_le_bytes())
}

enum HeaderCheck {
    /// A good header; `seed` starts every record checksum.
    Valid {
        seed: u32,
    },
    /// The file is a prefix of a header it could have: a crash while creating it.
    Torn,
    Bad(String),
}

fn check_file_header(bytes: &[u8], named: Zxid) -> HeaderCheck {
    if bytes.len() < FILE_HEADER_LEN {
        // The salt and header checksum are unpredictable; the rest must match.
        let fixed = file_header_fixed(named);
        let known = bytes.len().min(FILE_HEADER_FIXED_LEN);
        return if bytes[..known] == fixed[..known] {
            HeaderCheck::Torn
        } else {
            HeaderCheck::Bad("file is shorter than its header and does not start like one".into())
        };
    }
    if bytes[..8] != MAGIC {
        return HeaderCheck::Bad("not a transaction log file (bad magic)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return HeaderCheck::Bad(format!("unknown log format version {version}"));
    }
    let first = Zxid::from_u64(u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes")));
    if first != named {
        return HeaderCheck::Bad(format!("header says first zxid {first}, file name says {named}"));
    }
    let crc = u32::from_le_bytes(bytes[28..32].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..28]) != crc {
        return HeaderCheck::Bad("header checksum mismatch".into());
    }
    let salt = u64::from_le_bytes(bytes[20..28].try_into().expect("8 bytes"));
    HeaderCheck::Valid { seed: salt_seed(salt) }
}

/// Why reading records stopped before the end of the file.
enum Stop {
    /// Incomplete or checksum-failing bytes, which a crash mid-write explains.
    Cuttable { offset: usize, reason: String },
    /// A record whose checksum holds but which is wrong: no crash explains it.
    Hard { offset: usize, reason: String },
}

struct Scan {
    /// Each good record's offset and transaction.
    records: Vec<(usize, Txn)>,
    stop: Option<Stop>,
}

/// Reads records after the file header until the end or the first bad one.
/// `seed` comes from the file's salt, `named` is the file's first zxid and
/// `before` the last zxid of earlier files.
fn scan_records(bytes: &[u8], seed: u32, named: Zxid, before: Option<Zxid>) -> Scan {
    let mut records: Vec<(usize, Txn)> = Vec::new();
    let mut offset = FILE_HEADER_LEN;
    let mut prev = before;
    let stop = loop {
        let left = bytes.len() - offset;
        if left == 0 {
            break None;
        }
        let cuttable = |reason: String| Some(Stop::Cuttable { offset, reason });
        let hard = |reason: String| Some(Stop::Hard { offset, reason });
        if left < RECORD_HEADER_LEN {
            break cuttable(format!("incomplete record header ({left} bytes)"));
        }
        let (len, crc) = record_header(bytes, offset);
        if len == 0 || len > MAX_RECORD_BYTES {
            break cuttable(format!("implausible record length {len}"));
        }
        if len > left - RECORD_HEADER_LEN {
            break cuttable(format!("record of {len} bytes but only {} bytes left", left - RECORD_HEADER_LEN));
        }
        let payload = &bytes[offset + RECORD_HEADER_LEN..offset + RECORD_HEADER_LEN + len];
        if crc32c::crc32c_append(seed, payload) != crc {
            break cuttable("checksum mismatch".into());
        }
        let txn = match Txn::decode(payload) {
            Ok(txn) => txn,
            Err(e) => break hard(format!("checksum holds but the transaction does not decode: {e}")),
        };
        if records.is_empty() && txn.zxid != named {
            break hard(format!("first record has zxid {}, file name says {named}", txn.zxid));
        }
        if let Some(p) = prev.filter(|p| txn.zxid <= *p) {
            break hard(format!("zxid {} follows {p}: zxids must strictly increase", txn.zxid));
        }
        prev = Some(txn.zxid);
        records.push((offset, txn));
        offset += RECORD_HEADER_LEN + len;
    };
    Scan { records, stop }
}

fn record_header(bytes: &[u8], offset: usize) -> (usize, u32) {
    let len = u32::from_le_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().expect("4 bytes"));
    (len, crc)
}

/// The offset of a complete, checksum-valid, decodable record with a zxid
/// above `last_good` at or after `from`, if any. A damaged length field hides
/// where the next record starts, so every offset is tried; this runs only when
/// a bad record was found, to tell a torn tail from damage in the middle.
fn find_valid_record_after(bytes: &[u8], seed: u32, from: usize, last_good: Option<Zxid>) -> Option<usize> {
    let end = bytes.len().checked_sub(RECORD_HEADER_LEN)?;
    (from..=end).find(|&offset| {
        let (len, crc) = record_header(bytes, offset);
        if len == 0 || len > MAX_RECORD_BYTES || len > bytes.len() - offset - RECORD_HEADER_LEN {
            return false;
        }
        let payload = &bytes[offset + RECORD_HEADER_LEN..offset + RECORD_HEADER_LEN + len];
        crc32c::crc32c_append(seed, payload) == crc && Txn::decode(payload).is_ok_and(|t| last_good.is_none_or(|g| t.zxid > g))
    })
}

/// Truncates `path` to `len` bytes, durably.
fn cut_file(path: &Path, len: u64) -> Result<(), StorageError> {
    let file = OpenOptions::new().write(true).open(path).map_err(StorageError::io("open", path))?;
    file.set_len(len).map_err(StorageError::io("truncate", path))?;
    file.sync_all().map_err(StorageError::io("fsync", path))
}

fn remove_durably(dir: &Path, path: &Path) -> Result<(), StorageError> {
    fs::remove_file(path).map_err(StorageError::io("remove", path))?;
    sync_dir(dir)
}
