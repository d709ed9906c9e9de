//! The disk model: what a node's disk holds (snapshot, log, epochs) and the
//! writes the engine asks for, which land only at the next sync.

use ensemble::zab::{self, WriteId};
use ensemble::{DataTree, Epoch, Txn};

/// A write the disk model was asked for.
#[derive(Clone, Debug)]
pub(crate) enum Write {
    Txn(Txn),
    Zab(WriteId, zab::Persist),
}

/// What a node's disk holds.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// The newest snapshot.
    pub snapshot: DataTree,
    /// Txns after it.
    pub log: Vec<Txn>,
    /// acceptedEpoch.
    pub accepted_epoch: Epoch,
    /// currentEpoch.
    pub current_epoch: Epoch,
}

impl Disk {
    pub(crate) fn execute(&mut self, write: &Write) {
        match write {
            Write::Txn(t) => self.log.push(t.clone()),
            Write::Zab(_, p) => match p {
                zab::Persist::AcceptedEpoch(e) => self.accepted_epoch = *e,
                zab::Persist::CurrentEpoch(e) => self.current_epoch = *e,
                zab::Persist::Truncate { zxid } => self.log.retain(|t| t.zxid <= *zxid),
                zab::Persist::Snapshot(tree) => {
                    self.snapshot = tree.clone();
                    self.log.clear();
                }
                zab::Persist::Txns(txns) => self.log.extend(txns.iter().cloned()),
            },
        }
    }
}

