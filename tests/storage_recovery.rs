//! Proves that what the storage layer reports durable comes back after a
//! restart, and nothing else: the log round-trips across files, a torn or
//! damaged tail is cut while damage in the middle is refused, snapshot + log
//! recovery rebuilds the same tree, a damaged snapshot falls back to an older
//! one, the disk thread's group commit batches fsyncs and reports in order,
//! purge keeps what recovery needs, TRUNC is durable, and the epoch files are
//! exact.

#![cfg(feature = "runtime")]

use ensemble::acl;
use ensemble::peer::Persist;
use ensemble::runtime::disk::{Disk, DiskEvent};
use ensemble::runtime::storage::{
    delete_snapshots_after, list_log_files, list_snapshots, load_newest_valid, purge, read_epoch, recover, spawn_snapshot, write_epoch, write_snapshot,
    StorageError, TxnLog, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE,
};
use ensemble::zab::{self, WriteId};
use ensemble::{prep, CreateMode, DataTree, Epoch, PrepConfig, PrepContext, SessionId, Txn, TxnOp, WriteOp, Zxid};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ensemble-storage-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Prepares writes as a leader would, so that the txns are real and apply cleanly.
struct Leader {
    tree: DataTree,
    zxid: Zxid,
    config: PrepConfig,
}

impl Leader {
    fn new(epoch: u32) -> Leader {
        Leader { tree: DataTree::new(), zxid: Zxid::new(epoch, 0), config: PrepConfig { extended_types_enabled: true } }
    }

    fn write(&mut self, session: i64, op: WriteOp) -> Txn {
        self.zxid = self.zxid.next();
        let ctx =
            PrepContext { zxid: self.zxid, session: SessionId(session), cxid: 0, time_ms: 1_000 + self.zxid.counter as i64, auth: &[], config: &self.config };
        let txn = prep(&self.tree, &ctx, &op);
        self.tree.apply(&txn);
        txn
    }
}

fn create(path: &str, data: &[u8], mode: CreateMode) -> WriteOp {
    WriteOp::Create { path: path.into(), data: data.into(), acl: acl::open_acl_unsafe(), mode, ttl_ms: None }
}

/// `n` transactions of varied kinds and sizes: sessions, creates of several
/// modes, set data, deletes, multis and failed requests.
fn workload(n: usize) -> Vec<Txn> {
    let mut leader = Leader::new(1);
    let mut txns = vec![leader.write(1, WriteOp::CreateSession { timeout_ms: 30_000 }), leader.write(2, WriteOp::CreateSession { timeout_ms: 10_000 })];
    let mut i = 0;
    while txns.len() < n {
        let data = vec![(i % 251) as u8; i % 64];
        let op = match i % 6 {
            0 => create(&format!("/n{i}"), &data, CreateMode::Persistent),
            1 => create(&format!("/n{}/c-", i - 1), &data, CreateMode::PersistentSequential),
            2 => WriteOp::SetData { path: format!("/n{}", i - 2), data: data.as_slice().into(), version: -1 },
            3 => create(&format!("/e{i}"), b"", CreateMode::Ephemeral),
            4 => WriteOp::Delete { path: format!("/n{}/c-0000000000", i - 4), version: -1 },
            _ if i % 12 == 5 => WriteOp::Delete { path: "/missing".into(), version: -1 },
            _ => WriteOp::Multi(vec![
                create(&format!("/m{i}"), b"", CreateMode::Persistent),
                WriteOp::SetData { path: format!("/m{i}"), data: data.as_slice().into(), version: 0 },
            ]),
        };
        txns.push(leader.write(1 + (i % 2) as i64, op));
        i += 1;
    }
    txns
}

fn tree_after(txns: &[Txn]) -> DataTree {
    let mut tree = DataTree::new();
    for txn in txns {
        tree.apply(txn);
    }
    tree
}

fn append_synced(log: &mut TxnLog, txns: &[Txn]) {
    log.append(txns).unwrap();
    log.sync().unwrap();
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn last_log_file(dir: &Path) -> PathBuf {
    list_log_files(dir).unwrap().pop().expect("a log file").1
}

/// Copies every file of `from` into a fresh directory.
fn copy_dir(from: &Path, name: &str) -> TempDir {
    let to = TempDir::new(name);
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name().to_str().unwrap())).unwrap();
    }
    to
}

fn expect_corrupt(dir: &Path) -> (PathBuf, u64, String) {
    match TxnLog::open(dir) {
        Err(StorageError::Corrupt { file, offset, reason }) => (file, offset, reason),
        Err(other) => panic!("expected Corrupt, got {other}"),
        Ok((_, txns)) => panic!("expected Corrupt, log opened with {} txns", txns.len()),
    }
}

// Transactions appended in several batches across rolls come back in order from
// one file per roll, and appends continue after a reopen.
#[test]
fn log_round_trips_across_files_and_rolls() {
    let dir = TempDir::new("round-trip");
    let txns = workload(120);
    let (mut log, found) = TxnLog::open(dir.path()).unwrap();
    assert!(found.is_empty());
    assert_eq!(log.last_zxid(), Zxid::ZERO);
    for (i, chunk) in txns[..100].chunks(25).enumerate() {
        for batch in chunk.chunks(7) {
            log.append(batch).unwrap();
        }
        log.sync().unwrap();
        if i % 2 == 1 {
            log.roll().unwrap();
        }
    }
    drop(log);
    let files = list_log_files(dir.path()).unwrap();
    assert_eq!(files.iter().map(|(z, _)| *z).collect::<Vec<_>>(), vec![txns[0].zxid, txns[50].zxid]);
    assert!(files[0].1.file_name().unwrap().to_str().unwrap().ends_with(&format!("{:016x}", txns[0].zxid.to_u64())));

    let (mut log, found) = TxnLog::open(dir.path()).unwrap();
    assert_eq!(found, txns[..100]);
    assert_eq!(log.last_zxid(), txns[99].zxid);
    append_synced(&mut log, &txns[100..]);
    drop(log);
    let (_, found) = TxnLog::open(dir.path()).unwrap();
    assert_eq!(found, txns);
    assert_eq!(list_log_files(dir.path()).unwrap().len(), 3, "a reopened log starts a new file");
}

// Cutting the last file at every byte offset, header included, keeps exactly
// the complete records before the cut (and all earlier files), removes a file
// left with no record, and appending afterwards works.
#[test]
fn torn_tail_is_cut_at_every_offset() {
    let pristine = TempDir::new("torn-pristine");
    let txns = workload(8);
    let (mut log, _) = TxnLog::open(pristine.path()).unwrap();
    append_synced(&mut log, &txns[..5]);
    log.roll().unwrap();
    let last = pristine.join(&format!("log.{:016x}", txns[5].zxid.to_u64()));
    let mut boundaries = Vec::new();
    for txn in &txns[5..] {
        append_synced(&mut log, std::slice::from_ref(txn));
        boundaries.push(file_len(&last));
    }
    drop(log);
    let full = fs::read(&last).unwrap();
    assert_eq!(full.len() as u64, *boundaries.last().unwrap());

    for cut in 0..full.len() {
        let dir = copy_dir(pristine.path(), "torn");
        fs::write(dir.join(last.file_name().unwrap().to_str().unwrap()), &full[..cut]).unwrap();
        let complete = boundaries.iter().filter(|b| **b <= cut as u64).count();
        let (mut log, found) = TxnLog::open(dir.path()).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(found, txns[..5 + complete], "cut at {cut}");
        assert_eq!(log.last_zxid(), txns[4 + complete].zxid);
        let files = list_log_files(dir.path()).unwrap();
        if complete == 0 {
            assert_eq!(files.len(), 1, "cut at {cut}: a last file with no complete record is removed");
        } else {
            assert_eq!(file_len(&files[1].1), boundaries[complete - 1], "cut at {cut}: file ends at the last good record");
        }
        append_synced(&mut log, &txns[5 + complete..]);
        drop(log);
        let (_, found) = TxnLog::open(dir.path()).unwrap();
        assert_eq!(found, txns, "cut at {cut}: appending after the cut");
    }
}

// Flipping any byte of the last record (length, checksum or payload) is
// detected and that record alone is cut.
#[test]
fn flipped_byte_in_last_record_is_cut() {
    let pristine = TempDir::new("flip-last-pristine");
    let txns = workload(6);
    let (mut log, _) = TxnLog::open(pristine.path()).unwrap();
    append_synced(&mut log, &txns[..5]);
    let path = last_log_file(pristine.path());
    let good_end = file_len(&path);
    append_synced(&mut log, &txns[5..]);
    drop(log);
    let full = fs::read(&path).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap().to_string();

    for at in good_end as usize..full.len() {
        let dir = copy_dir(pristine.path(), "flip-last");
        let mut bad = full.clone();
        bad[at] ^= 0x5a;
        fs::write(dir.join(&name), &bad).unwrap();
        let (_, found) = TxnLog::open(dir.path()).unwrap_or_else(|e| panic!("flip at {at}: {e}"));
        assert_eq!(found, txns[..5], "flip at {at}");
        assert_eq!(file_len(&dir.join(&name)), good_end, "flip at {at}");
    }
}

// A damaged record with valid records after it, or damage in a file that later
// files follow, is a hard Corrupt error naming the file and offset, and the
// files are left untouched.
#[test]
fn damage_before_valid_records_is_corrupt() {
    let dir = TempDir::new("flip-middle");
    let txns = workload(12);
    let (mut log, _) = TxnLog::open(dir.path()).unwrap();
    append_synced(&mut log, &txns[..3]);
    let first_file = last_log_file(dir.path());
    let first_file_end = file_len(&first_file);
    log.roll().unwrap();
    append_synced(&mut log, &txns[3..6]);
    let second = last_log_file(dir.path());
    let middle_offset = file_len(&second);
    append_synced(&mut log, &txns[6..7]);
    append_synced(&mut log, &txns[7..]);
    drop(log);

    // A payload byte of a middle record of the last file.
    let original = fs::read(&second).unwrap();
    let mut bad = original.clone();
    bad[middle_offset as usize + 8 + 3] ^= 0x01;
    fs::write(&second, &bad).unwrap();
    let (file, offset, reason) = expect_corrupt(dir.path());
    assert_eq!((file.as_path(), offset), (second.as_path(), middle_offset));
    assert!(reason.contains("checksum"), "{reason}");
    let message = StorageError::Corrupt { file: file.clone(), offset, reason }.to_string();
    assert!(message.contains(second.to_str().unwrap()) && message.contains(&middle_offset.to_string()), "{message}");
    assert_eq!(fs::read(&second).unwrap(), bad, "a refused log is not modified");

    // The length field of a middle record: the next record can no longer be
    // located by length, but it is still found and the damage refused.
    let mut bad = original.clone();
    bad[middle_offset as usize] ^= 0x10;
    fs::write(&second, &bad).unwrap();
    assert_eq!(expect_corrupt(dir.path()).1, middle_offset);
    fs::write(&second, &original).unwrap();

    // The tail of a file that a later file follows.
    let first_bytes = fs::read(&first_file).unwrap();
    fs::write(&first_file, &first_bytes[..first_file_end as usize - 1]).unwrap();
    let (file, _, _) = expect_corrupt(dir.path());
    assert_eq!(file, first_file);
    fs::write(&first_file, &first_bytes).unwrap();
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns);
}

// Znode data shaped like a valid record (an unsalted checksum and a later zxid)
// inside a torn last record cannot pass for a record, so the tail is still cut
// rather than refused: only records written into that very file validate.
#[test]
fn record_lookalike_in_torn_tail_is_not_mistaken_for_a_record() {
    assert_eq!(crc32c_of(b"123456789"), 0xe306_9283, "the standard CRC-32C check value");
    let dir = TempDir::new("lookalike");
    let txns = workload(3);
    let future = Txn { zxid: Zxid::new(7, 1), session: SessionId(1), cxid: 0, time_ms: 0, op: TxnOp::Delete { path: "/x".into() } };
    let payload = future.encode();
    let mut data = Vec::new();
    data.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    data.extend_from_slice(&crc32c_of(&payload).to_le_bytes());
    data.extend_from_slice(&payload);
    data.extend_from_slice(&[0u8; 32]);
    let carrier =
        Txn { zxid: txns[2].zxid.next(), session: SessionId(1), cxid: 0, time_ms: 0, op: TxnOp::SetData { path: "/n0".into(), data: data.into(), version: 1 } };
    let (mut log, _) = TxnLog::open(dir.path()).unwrap();
    append_synced(&mut log, &txns);
    append_synced(&mut log, std::slice::from_ref(&carrier));
    drop(log);
    let path = last_log_file(dir.path());
    let len = file_len(&path);
    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 8).unwrap();
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns);
}

/// Plain CRC-32C (Castagnoli), as an unsalted writer would compute it.
fn crc32c_of(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= *byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82f6_3b78 } else { crc >> 1 };
        }
    }
    !crc
}

// Appending a zxid that does not follow the log's last one is refused whole
// and leaves the log as it was.
#[test]
fn out_of_order_append_is_refused() {
    let dir = TempDir::new("order");
    let txns = workload(5);
    let (mut log, _) = TxnLog::open(dir.path()).unwrap();
    append_synced(&mut log, &txns[..3]);
    let err = log.append(&[txns[3].clone(), txns[1].clone()]).unwrap_err();
    assert!(matches!(err, StorageError::OutOfOrder { last, got } if last == txns[3].zxid && got == txns[1].zxid), "{err}");
    assert_eq!(log.last_zxid(), txns[2].zxid);
    append_synced(&mut log, &txns[3..]);
    drop(log);
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns);
}

// A snapshot taken from a clone (in the background, while writes go on) plus
// the log after it recovers the same tree as applying every transaction.
#[test]
fn snapshot_and_log_recover_the_same_tree() {
    let data = TempDir::new("recover-data");
    let logs = TempDir::new("recover-log");
    let txns = workload(300);
    let (mut log, _) = TxnLog::open(logs.path()).unwrap();
    let mut tree = DataTree::new();
    let mut background = None;
    for (i, txn) in txns.iter().enumerate() {
        append_synced(&mut log, std::slice::from_ref(txn));
        tree.apply(txn);
        if i == 99 {
            write_snapshot(data.path(), &tree.clone()).unwrap();
            log.roll().unwrap();
        }
        if i == 199 {
            background = Some(spawn_snapshot(data.path(), tree.clone()).unwrap());
        }
    }
    let (zxid, _) = background.unwrap().join().unwrap().unwrap();
    assert_eq!(zxid, txns[199].zxid);
    drop(log);

    let recovered = recover(data.path(), logs.path()).unwrap();
    assert_eq!(recovered.snapshot_zxid, Some(txns[199].zxid));
    assert_eq!(recovered.last_zxid, txns[299].zxid);
    assert_eq!(recovered.tree.digest(), tree_after(&txns).digest());
    assert_eq!(recovered.tree, tree);
    assert_eq!(recovered.log_txns, txns, "the whole log is returned for DIFFs");
    recovered.tree.check_invariants();

    // An empty data dir and log recover to a fresh tree.
    let empty = TempDir::new("recover-empty");
    let fresh = recover(empty.join("data"), empty.join("log")).unwrap();
    assert_eq!((fresh.snapshot_zxid, fresh.last_zxid), (None, Zxid::ZERO));
    assert_eq!(fresh.tree, DataTree::new());
}

// A damaged or truncated newest snapshot is skipped in favour of the previous
// one, and recovery still reaches the same tree by replaying more of the log.
#[test]
fn damaged_newest_snapshot_falls_back_to_previous() {
    let data = TempDir::new("fallback-data");
    let logs = TempDir::new("fallback-log");
    let txns = workload(150);
    let (mut log, _) = TxnLog::open(logs.path()).unwrap();
    append_synced(&mut log, &txns);
    drop(log);
    write_snapshot(data.path(), &tree_after(&txns[..50])).unwrap();
    let (newest_zxid, newest) = write_snapshot(data.path(), &tree_after(&txns[..100])).unwrap();
    assert_eq!(newest_zxid, txns[99].zxid);
    let full = tree_after(&txns);
    let original = fs::read(&newest).unwrap();

    let mut damaged = original.clone();
    let at = damaged.len() / 2;
    damaged[at] ^= 0x08;
    fs::write(&newest, &damaged).unwrap();
    let (zxid, _) = load_newest_valid(data.path()).unwrap().unwrap();
    assert_eq!(zxid, txns[49].zxid);
    let recovered = recover(data.path(), logs.path()).unwrap();
    assert_eq!(recovered.snapshot_zxid, Some(txns[49].zxid));
    assert_eq!(recovered.tree.digest(), full.digest());

    fs::write(&newest, &original[..original.len() - 10]).unwrap();
    assert_eq!(recover(data.path(), logs.path()).unwrap().snapshot_zxid, Some(txns[49].zxid));

    // A half-written temporary file never counts as a snapshot.
    fs::write(data.join(&format!("snapshot.{:016x}.tmp", txns[149].zxid.to_u64())), b"partial").unwrap();
    fs::write(&newest, &original).unwrap();
    let recovered = recover(data.path(), logs.path()).unwrap();
    assert_eq!(recovered.snapshot_zxid, Some(txns[99].zxid));
    assert_eq!(recovered.tree.digest(), full.digest());
}

// Many appends sent to the disk thread while an fsync is in progress share
// the next fsync; durability is reported in order and covers every
// transaction, which a reopen then finds.
#[tokio::test]
async fn group_commit_batches_and_reports_in_order() {
    let dir = TempDir::new("group-commit");
    let data = TempDir::new("group-commit-data");
    let txns = workload(2_000);
    let (log, _) = TxnLog::open(dir.path()).unwrap();
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    // The first report waits until every append is queued, as behind a slow
    // disk, so the test does not depend on how fast this machine fsyncs.
    let (all_sent_tx, all_sent) = std::sync::mpsc::channel::<()>();
    let mut first = true;
    let disk = Disk::spawn(log, data.path().to_path_buf(), 4_096, move |event| {
        if std::mem::take(&mut first) {
            let _ = all_sent.recv();
        }
        let _ = events_tx.send(event);
    })
    .unwrap();
    for txn in &txns {
        disk.send(Persist::Txn(txn.clone())).await.unwrap();
    }
    all_sent_tx.send(()).unwrap();

    let mut reports = Vec::new();
    while let Some(event) = events.recv().await {
        match event {
            DiskEvent::Durable { zxid } => {
                reports.push(zxid);
                if zxid == txns.last().unwrap().zxid {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(reports.windows(2).all(|w| w[0] < w[1]), "reports out of order: {reports:?}");
    let log = tokio::task::spawn_blocking(move || disk.shutdown()).await.unwrap().unwrap();
    let stats = log.stats();
    assert_eq!(stats.txns, 2_000);
    assert!(stats.syncs <= 2 && stats.syncs < stats.txns, "{stats:?}");
    assert!(stats.txns_per_sync() >= 1_000.0, "{stats:?}");
    assert_eq!(log.last_zxid(), txns.last().unwrap().zxid);
    drop(log);
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns);
}

// Purging keeps the newest snapshots (never fewer than three) and the log files
// needed to replay from the oldest kept one, so recovery afterwards gives the
// same tree; the newest log file is never touched.
#[test]
fn purge_keeps_what_recovery_needs() {
    let data = TempDir::new("purge-data");
    let logs = TempDir::new("purge-log");
    let txns = workload(400);
    let (mut log, _) = TxnLog::open(logs.path()).unwrap();
    let mut tree = DataTree::new();
    for (i, txn) in txns.iter().enumerate() {
        append_synced(&mut log, std::slice::from_ref(txn));
        tree.apply(txn);
        if i % 50 == 49 {
            write_snapshot(data.path(), &tree).unwrap();
        }
        // Rolls fall between snapshots, so the file a kept snapshot needs
        // starts before it and holds transactions on both sides of it.
        if i % 50 == 24 {
            log.roll().unwrap();
        }
    }
    drop(log);
    assert_eq!(list_snapshots(data.path()).unwrap().len(), 8);
    let logs_before = list_log_files(logs.path()).unwrap();

    let report = purge(data.path(), logs.path(), 1).unwrap();
    let kept = list_snapshots(data.path()).unwrap();
    assert_eq!(kept.iter().map(|(z, _)| *z).collect::<Vec<_>>(), vec![txns[299].zxid, txns[349].zxid, txns[399].zxid], "at least three are kept");
    assert_eq!(report.snapshots_deleted.len(), 5);
    let logs_after = list_log_files(logs.path()).unwrap();
    assert_eq!(logs_after[0].0, txns[275].zxid, "the file holding zxids just before and after the oldest kept snapshot stays");
    assert_eq!(logs_after.last(), logs_before.last());
    assert_eq!(report.logs_deleted.len(), logs_before.len() - logs_after.len());

    let recovered = recover(data.path(), logs.path()).unwrap();
    assert_eq!(recovered.tree.digest(), tree.digest());
    assert_eq!(recovered.tree, tree);

    // Even with the two newest snapshots damaged, the oldest kept one plus the kept log suffice.
    for (_, path) in &kept[1..] {
        fs::write(path, b"damaged").unwrap();
    }
    let recovered = recover(data.path(), logs.path()).unwrap();
    assert_eq!(recovered.snapshot_zxid, Some(txns[299].zxid));
    assert_eq!(recovered.tree, tree);

    // Purging again deletes nothing more.
    assert_eq!(purge(data.path(), logs.path(), 3).unwrap(), Default::default());
}

// TRUNC: truncate_after drops every later record, durably, whether the cut
// falls inside a file or on a file boundary, and the log takes new-epoch
// appends afterwards; through the disk thread it is reported once done, after
// the appends queued before it.
#[tokio::test]
async fn truncate_after_drops_later_records() {
    let dir = TempDir::new("truncate");
    let txns = workload(30);
    let (mut log, _) = TxnLog::open(dir.path()).unwrap();
    for chunk in txns.chunks(10) {
        append_synced(&mut log, chunk);
        log.roll().unwrap();
    }

    // Inside the second file: the third file goes, the second is cut.
    log.truncate_after(txns[14].zxid).unwrap();
    assert_eq!(log.last_zxid(), txns[14].zxid);
    assert_eq!(list_log_files(dir.path()).unwrap().len(), 2);
    let mut new_epoch = Leader::new(2);
    new_epoch.tree = tree_after(&txns[..15]);
    let rewritten: Vec<Txn> = (0..3).map(|i| new_epoch.write(1, create(&format!("/epoch2-{i}"), b"", CreateMode::Persistent))).collect();
    append_synced(&mut log, &rewritten);
    drop(log);
    let (mut log, found) = TxnLog::open(dir.path()).unwrap();
    let expected: Vec<Txn> = txns[..15].iter().chain(&rewritten).cloned().collect();
    assert_eq!(found, expected);

    // On a file boundary: the whole later file goes.
    log.truncate_after(txns[14].zxid).unwrap();
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns[..15]);
    // Truncating at or beyond the end changes nothing.
    log.truncate_after(Zxid::new(9, 0)).unwrap();
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns[..15]);

    // Through the disk thread, after pending appends of both kinds were made durable.
    let data = TempDir::new("truncate-data");
    let (events_tx, events) = std::sync::mpsc::channel();
    let disk = Disk::spawn(log, data.path().to_path_buf(), 16, move |e| events_tx.send(e).unwrap()).unwrap();
    let (appended, truncated) = (WriteId { epoch: Epoch(2), seq: 7 }, WriteId { epoch: Epoch(2), seq: 8 });
    // However the thread batches these, the reports come out the same.
    disk.send(Persist::Txn(txns[15].clone())).await.unwrap();
    disk.send(Persist::Zab { write: appended, persist: zab::Persist::Txns(txns[16..20].to_vec()) }).await.unwrap();
    disk.send(Persist::Zab { write: truncated, persist: zab::Persist::Truncate { zxid: txns[9].zxid } }).await.unwrap();
    let log = disk.shutdown().unwrap();
    let reported: Vec<String> = events.try_iter().map(|e| format!("{e:?}")).collect();
    let expected = [
        format!("{:?}", DiskEvent::Durable { zxid: txns[15].zxid }),
        format!("{:?}", DiskEvent::WriteDurable { write: appended }),
        format!("{:?}", DiskEvent::WriteDurable { write: truncated }),
    ];
    assert_eq!(reported, expected);
    assert_eq!(log.last_zxid(), txns[9].zxid);
    assert_eq!(TxnLog::open(dir.path()).unwrap().1, txns[..10]);

    // Everything.
    let (mut log, _) = TxnLog::open(dir.path()).unwrap();
    log.truncate_after(Zxid::ZERO).unwrap();
    assert_eq!(log.last_zxid(), Zxid::ZERO);
    assert!(list_log_files(dir.path()).unwrap().is_empty());
}

// Snapshots newer than a TRUNC point are deleted with it, so that recovery
// cannot bring back the dropped transactions.
#[test]
fn snapshots_after_truncation_point_are_deleted() {
    let data = TempDir::new("truncate-snapshots");
    let txns = workload(30);
    for end in [10, 20, 30] {
        write_snapshot(data.path(), &tree_after(&txns[..end])).unwrap();
    }
    let deleted = delete_snapshots_after(data.path(), txns[14].zxid).unwrap();
    assert_eq!(deleted.len(), 2);
    assert_eq!(load_newest_valid(data.path()).unwrap().unwrap().0, txns[9].zxid);
}

// Epoch files read back what was written, are absent before the first write,
// and malformed content is an error naming the file.
#[test]
fn epoch_files_round_trip_and_refuse_garbage() {
    let dir = TempDir::new("epoch");
    assert_eq!(read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(), None);
    write_epoch(dir.path(), ACCEPTED_EPOCH_FILE, Epoch(5)).unwrap();
    write_epoch(dir.path(), CURRENT_EPOCH_FILE, Epoch(4)).unwrap();
    write_epoch(dir.path(), ACCEPTED_EPOCH_FILE, Epoch(7)).unwrap();
    assert_eq!(read_epoch(dir.path(), ACCEPTED_EPOCH_FILE).unwrap(), Some(Epoch(7)));
    assert_eq!(read_epoch(dir.path(), CURRENT_EPOCH_FILE).unwrap(), Some(Epoch(4)));
    assert_eq!(fs::read_to_string(dir.join(ACCEPTED_EPOCH_FILE)).unwrap(), "7\n", "readable like ZooKeeper's");

    for garbage in [&b"seven\n"[..], b"", b"-1", b"4294967296", b"\xff\xfe"] {
        fs::write(dir.join(CURRENT_EPOCH_FILE), garbage).unwrap();
        match read_epoch(dir.path(), CURRENT_EPOCH_FILE) {
            Err(e @ StorageError::Malformed { .. }) => assert!(e.to_string().contains(CURRENT_EPOCH_FILE), "{e}"),
            other => panic!("{garbage:?} gave {other:?}"),
        }
    }
}
