//! The disk model: what a node's disk holds (snapshot, checksummed log
//! records, epochs) and the writes the engine asks for, which land only at the
//! next sync.
//!
//! Log records carry a checksum over their encoding, written with them, as in
//! `src/runtime/storage/txn_log.rs`. Recovery checks every record and keeps
//! only the valid prefix: a record torn by a crash, or one whose bytes were
//! damaged later, is detected and cut together with everything after it, so a
//! restarted peer never replays bytes that are not what the engine wrote.
//!
//! Where the model departs from the real storage, and why: the real log refuses
//! to start on a bad record that valid ones follow (it would drop acknowledged
//! transactions silently). The model cuts there too and restarts, so that the
//! simulator can show the peer then recovers what it lost from the leader.

use ensemble::peer::RecoveredState;
use ensemble::zab::{self, WriteId};
use ensemble::{DataTree, Epoch, Txn, Zxid};
use xxhash_rust::xxh3::xxh3_64;

/// A write the disk model was asked for.
#[derive(Clone, Debug)]
pub(crate) enum Write {
    Txn(Txn),
    Zab(WriteId, zab::Persist),
}

impl Write {
    /// Whether landing this write appends log records (so a crash can tear it).
    pub(crate) fn appends_records(&self) -> bool {
        match self {
            Write::Txn(_) => true,
            Write::Zab(_, zab::Persist::Txns(txns)) => !txns.is_empty(),
            Write::Zab(..) => false,
        }
    }
}

/// One logged transaction as the disk holds it: its encoding and the checksum written with it.
#[derive(Clone, Debug)]
pub struct Record {
    /// The zxid the record was written for (the log's index, used to truncate).
    pub zxid: Zxid,
    /// `Txn::encode()` of the transaction, possibly damaged since.
    pub bytes: Vec<u8>,
    /// The checksum of the bytes as written.
    pub checksum: u64,
}

impl Record {
    /// A record of `txn`, checksummed as written.
    pub fn new(txn: &Txn) -> Record {
        let bytes = txn.encode();
        Record { zxid: txn.zxid, checksum: xxh3_64(&bytes), bytes }
    }

    /// The transaction, if the checksum matches and the bytes decode.
    pub fn read(&self) -> Result<Txn, String> {
        if xxh3_64(&self.bytes) != self.checksum {
            return Err("checksum mismatch".into());
        }
        Txn::decode(&self.bytes).map_err(|e| format!("checksum matches but the record does not decode: {e}"))
    }
}

/// What a node's disk holds.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The newest snapshot.
    pub snapshot: DataTree,
    /// Records of the txns after it, in zxid order.
    pub log: Vec<Record>,
    /// acceptedEpoch.
    pub accepted_epoch: Epoch,
    /// currentEpoch.
    pub current_epoch: Epoch,
    /// The mark a recovery leaves after cutting durable records (a corrupt
    /// record mid-log): the peer abstains from elections until it reports
    /// `Persist::RecordsRestored`. A torn tail was never durable and leaves none.
    pub lost_records: bool,
}

impl Disk {
    /// Lands one write.
    pub(crate) fn execute(&mut self, write: &Write) {
        match write {
            Write::Txn(t) => self.log.push(Record::new(t)),
            Write::Zab(_, p) => match p {
                zab::Persist::AcceptedEpoch(e) => self.accepted_epoch = *e,
                zab::Persist::CurrentEpoch(e) => self.current_epoch = *e,
                zab::Persist::Truncate { zxid } => self.log.retain(|r| r.zxid <= *zxid),
                zab::Persist::Snapshot(tree) => {
                    self.snapshot = tree.clone();
                    self.log.clear();
                }
                zab::Persist::Txns(txns) => self.log.extend(txns.iter().map(Record::new)),
            },
        }
    }

    /// Reads the disk as a restarting peer does: every record is checked, and
    /// the log is cut (durably) before the first bad one. Returns the state to
    /// recover and, if something was cut, a sentence saying what.
    pub fn recover(&mut self) -> (RecoveredState, Option<String>) {
        let mut txns = Vec::with_capacity(self.log.len());
        let mut cut = None;
        for (i, record) in self.log.iter().enumerate() {
            match record.read() {
                Ok(txn) => txns.push(txn),
                Err(why) => {
                    let tail = if i + 1 == self.log.len() { "torn tail" } else { "corrupt record" };
                    cut = Some(format!("{tail} at {} ({why}): cut {} of {} records", record.zxid, self.log.len() - i, self.log.len()));
                    break;
                }
            }
        }
        self.log.truncate(txns.len());
        if cut.as_deref().is_some_and(|c| c.starts_with("corrupt record")) {
            self.lost_records = true;
        }
        let state = RecoveredState {
            snapshot: self.snapshot.clone(),
            log: txns,
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            lost_records: self.lost_records,
        };
        (state, cut)
    }

    /// Tears the newest record: only a prefix of its bytes reached the platter.
    pub(crate) fn tear_last(&mut self) -> Option<Zxid> {
        let record = self.log.last_mut()?;
        let keep = record.bytes.len() / 2;
        record.bytes.truncate(keep);
        Some(record.zxid)
    }

    /// Flips bytes in the middle of a record that is not the newest; its checksum then no longer matches.
    pub(crate) fn corrupt_record(&mut self, index: usize) -> Option<Zxid> {
        if index + 1 >= self.log.len() {
            return None;
        }
        let record = &mut self.log[index];
        let at = record.bytes.len() / 2;
        for b in record.bytes.iter_mut().skip(at).take(4) {
            *b ^= 0x5a;
        }
        Some(record.zxid)
    }

    /// Test-only damage the checksum cannot see (a bug that wrote wrong data):
    /// rewrites the data of the newest logged create or setData with a fresh
    /// checksum, so recovery loads a tree that differs from every other replica.
    pub(crate) fn corrupt_undetected(&mut self) {
        for record in self.log.iter_mut().rev() {
            let Ok(mut txn) = record.read() else { continue };
            match &mut txn.op {
                ensemble::TxnOp::Create { data, .. } | ensemble::TxnOp::SetData { data, .. } => {
                    *data = b"corrupted by the simulator".to_vec().into();
                    *record = Record::new(&txn);
                    return;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensemble::{ErrorCode, SessionId, TxnOp};

    fn disk_of(counters: &[u32]) -> Disk {
        let mut disk = Disk::default();
        for &c in counters {
            disk.execute(&Write::Txn(Txn { zxid: Zxid::new(1, c), session: SessionId(1), cxid: c as i32, time_ms: 0, op: TxnOp::Error(ErrorCode::NoNode) }));
        }
        disk
    }

    // A torn newest record is cut at recovery and every earlier record is kept.
    #[test]
    fn torn_tail_is_cut() {
        let mut disk = disk_of(&[1, 2, 3]);
        assert_eq!(disk.tear_last(), Some(Zxid::new(1, 3)));
        let (state, cut) = disk.recover();
        assert_eq!(state.log.iter().map(|t| t.zxid).collect::<Vec<_>>(), vec![Zxid::new(1, 1), Zxid::new(1, 2)]);
        assert!(cut.expect("cut").starts_with("torn tail"));
        assert_eq!(disk.log.len(), 2, "the cut is durable");
    }

    // A corrupt record in the middle is detected by its checksum: only the valid prefix before it is recovered.
    #[test]
    fn corrupt_record_cuts_the_rest() {
        let mut disk = disk_of(&[1, 2, 3, 4]);
        assert_eq!(disk.corrupt_record(1), Some(Zxid::new(1, 2)));
        assert_eq!(disk.corrupt_record(3), None, "the newest record is the torn-tail case, not this one");
        let (state, cut) = disk.recover();
        assert_eq!(state.log.len(), 1);
        assert!(cut.expect("cut").starts_with("corrupt record"));
    }

    // An undamaged disk recovers every record and reports nothing cut.
    #[test]
    fn intact_disk_recovers_everything() {
        let (state, cut) = disk_of(&[1, 2]).recover();
        assert_eq!((state.log.len(), cut), (2, None));
    }
}
