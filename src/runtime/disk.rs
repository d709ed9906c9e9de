//! `Disk`: one thread that performs every `Persist` output in the order the
//! engine emitted it, and reports durability only once a write and every
//! write before it are on disk.
//!
//! The thread takes everything queued, performs it in order, and issues one
//! fsync for all consecutive log appends (group commit), so that under load
//! many transactions share one fsync. Anything that is not an append (an epoch file, a TRUNC, a SNAP,
//! a periodic snapshot) first makes the appends before it durable, so a
//! report never covers a write that an earlier, unsynced write precedes.
//!
//! Reports: `Persist::Txn` → `DiskEvent::Durable { zxid }` (the engine's
//! `Input::Durable`), `Persist::Zab { write, .. }` →
//! `DiskEvent::WriteDurable { write }` (`Input::WriteDurable`). The thread
//! decides nothing: it stores what it is handed, in the order handed.

use crate::peer::Persist;
use crate::runtime::storage::{self, StorageError, TxnLog};
use crate::zab::{self, WriteId};
use crate::zxid::Zxid;
use std::path::PathBuf;
use std::thread::JoinHandle;
use tokio::sync::mpsc;

/// What the disk thread reports, in the order things became durable.
#[derive(Clone, Debug)]
pub enum DiskEvent {
    /// Every `Persist::Txn` up to `zxid` (and every earlier write) is durable.
    Durable {
        /// The last durable transaction of `Persist::Txn`.
        zxid: Zxid,
    },
    /// `Persist::Zab` write `write` (and every earlier write) is durable.
    WriteDurable {
        /// The last durable ZAB write.
        write: WriteId,
    },
    /// The thread hit an error and stopped; nothing after the last report is durable.
    Failed(StorageError),
}

/// A handle on the thread that owns the transaction log and the data directory.
pub struct Disk {
    commands: Option<mpsc::Sender<Persist>>,
    thread: Option<JoinHandle<Result<TxnLog, StorageError>>>,
}

impl Disk {
    /// Moves `log` onto a thread named `ensemble-disk`; `on_event` runs on that
    /// thread and should only hand the event over.
    pub fn spawn<F>(log: TxnLog, data_dir: PathBuf, queue_capacity: usize, on_event: F) -> Result<Disk, StorageError>
    where
        F: FnMut(DiskEvent) + Send + 'static,
    {
        let (commands, queue) = mpsc::channel(queue_capacity.max(1));
        let dir = log.dir().to_path_buf();
        let thread = std::thread::Builder::new()
            .name("ensemble-disk".into())
            .spawn(move || run(log, data_dir, queue, on_event))
            .map_err(StorageError::io("spawn the disk thread for", dir))?;
        Ok(Disk { commands: Some(commands), thread: Some(thread) })
    }

    /// Queues one write, waiting while the queue is full (this bounds the memory of writes not yet on disk).
    pub async fn send(&self, persist: Persist) -> Result<(), StorageError> {
        let commands = self.commands.as_ref().ok_or(StorageError::WriterStopped)?;
        commands.send(persist).await.map_err(|_| StorageError::WriterStopped)
    }

    /// Lets the thread finish every queued write and a final sync, and returns
    /// the log (so that a test can read its fsync count, or a host reopen it).
    pub fn shutdown(mut self) -> Result<TxnLog, StorageError> {
        drop(self.commands.take());
        let thread = self.thread.take().expect("the thread is only taken here");
        thread.join().unwrap_or(Err(StorageError::WriterStopped))
    }
}

/// What the current group of appends will report once synced.
#[derive(Default)]
struct Pending {
    zxid: Option<Zxid>,
    write: Option<WriteId>,
}

struct State<F> {
    log: TxnLog,
    data_dir: PathBuf,
    pending: Pending,
    snapshot_jobs: Vec<storage::SnapshotJob>,
    on_event: F,
}

fn run<F: FnMut(DiskEvent)>(log: TxnLog, data_dir: PathBuf, mut queue: mpsc::Receiver<Persist>, on_event: F) -> Result<TxnLog, StorageError> {
    let mut state = State { log, data_dir, pending: Pending::default(), snapshot_jobs: Vec::new(), on_event };
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        // Everything that queued up during the previous fsync joins this one.
        while let Ok(persist) = queue.try_recv() {
            batch.push(persist);
        }
        let result = batch.into_iter().try_for_each(|persist| state.execute(persist)).and_then(|()| state.make_durable());
        state.snapshot_jobs.retain(|job| !job.is_finished());
        if let Err(e) = result {
            tracing::error!(error = %e, "disk thread stopped");
            (state.on_event)(DiskEvent::Failed(e.clone()));
            return Err(e);
        }
    }
    state.join_snapshots();
    state.log.sync()?;
    Ok(state.log)
}

impl<F: FnMut(DiskEvent)> State<F> {
    fn execute(&mut self, persist: Persist) -> Result<(), StorageError> {
        match persist {
            Persist::Txn(txn) => {
                self.log.append(std::slice::from_ref(&txn))?;
                self.pending.zxid = Some(txn.zxid);
            }
            Persist::Snapshot(tree) => {
                // The clone is O(1); serializing it happens on its own thread, as the standalone server always did.
                self.make_durable()?;
                match storage::spawn_snapshot(self.data_dir.clone(), tree) {
                    Ok(job) => self.snapshot_jobs.push(job),
                    Err(e) => tracing::warn!(error = %e, "could not start a snapshot"),
                }
                self.log.roll()?;
            }
            // Recovery refuses a log with a corrupt record in the middle, so this server never starts with lost records.
            Persist::RecordsRestored => {}
            Persist::Zab { write, persist } => match persist {
                zab::Persist::Txns(txns) => {
                    self.log.append(&txns)?;
                    self.pending.write = Some(write);
                }
                zab::Persist::AcceptedEpoch(epoch) => {
                    self.make_durable()?;
                    storage::write_epoch(&self.data_dir, storage::ACCEPTED_EPOCH_FILE, epoch)?;
                    (self.on_event)(DiskEvent::WriteDurable { write });
                }
                zab::Persist::CurrentEpoch(epoch) => {
                    self.make_durable()?;
                    storage::write_epoch(&self.data_dir, storage::CURRENT_EPOCH_FILE, epoch)?;
                    (self.on_event)(DiskEvent::WriteDurable { write });
                }
                zab::Persist::Truncate { zxid } => {
                    // Logged so that an operator (and the process tests) can tell how a learner synced.
                    tracing::info!(%zxid, "TRUNC from the leader: cutting the log back");
                    self.make_durable()?;
                    // A background snapshot still being written must not land after the cut.
                    self.join_snapshots();
                    self.log.truncate_after(zxid)?;
                    storage::delete_snapshots_after(&self.data_dir, zxid)?;
                    (self.on_event)(DiskEvent::WriteDurable { write });
                }
                zab::Persist::Snapshot(tree) => {
                    let zxid = tree.last_zxid();
                    tracing::info!(%zxid, nodes = tree.node_count(), "SNAP from the leader: replacing the local state");
                    self.make_durable()?;
                    self.join_snapshots();
                    // Nothing logged above the snapshot may replay on top of it, and no
                    // newer snapshot may shadow it; older log records are skipped on
                    // recovery because they are at or below its zxid.
                    self.log.truncate_after(zxid)?;
                    storage::delete_snapshots_after(&self.data_dir, zxid)?;
                    storage::write_snapshot(&self.data_dir, &tree)?;
                    self.log.roll()?;
                    (self.on_event)(DiskEvent::WriteDurable { write });
                }
            },
        }
        Ok(())
    }

    /// Fsyncs the appends not yet synced and reports them.
    fn make_durable(&mut self) -> Result<(), StorageError> {
        let pending = std::mem::take(&mut self.pending);
        if pending.zxid.is_none() && pending.write.is_none() {
            return Ok(());
        }
        self.log.sync()?;
        if let Some(zxid) = pending.zxid {
            (self.on_event)(DiskEvent::Durable { zxid });
        }
        if let Some(write) = pending.write {
            (self.on_event)(DiskEvent::WriteDurable { write });
        }
        Ok(())
    }

    fn join_snapshots(&mut self) {
        for job in self.snapshot_jobs.drain(..) {
            let _ = job.join();
        }
    }
}
