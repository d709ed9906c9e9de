//! `LogWriter`: group commit on a dedicated thread.
//!
//! The host sends commands as the engine emits `Persist` outputs; the thread
//! takes everything queued, appends it, issues one fsync for the lot and then
//! reports how far the log is durable. Under load many transactions share one
//! fsync, and the engine learns about them in zxid order.

use super::{LogStats, StorageError, TxnLog};
use crate::txn::Txn;
use crate::zxid::Zxid;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use tokio::sync::mpsc;

/// How a `LogWriter` is sized.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LogWriterConfig {
    /// Commands that may wait for the writer thread before senders are held
    /// back; this bounds the memory of writes not yet on disk.
    pub queue_capacity: usize,
}

impl Default for LogWriterConfig {
    fn default() -> Self {
        LogWriterConfig { queue_capacity: 1024 }
    }
}

/// What the host asks of the log, executed strictly in the order sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogCommand {
    /// Append these transactions (zxids strictly above everything logged).
    Append {
        /// The transactions, in zxid order.
        txns: Vec<Txn>,
        /// Opaque to the writer and returned in the `Durable` report covering
        /// this append, so the engine can tell which writes a report is about
        /// even when a TRUNC made it write the same zxid twice.
        tag: u64,
    },
    /// Make everything durable and start a new file at the next append (after a snapshot).
    Roll,
    /// Durably drop every record above `zxid` (ZAB's TRUNC).
    TruncateAfter {
        /// The last zxid to keep.
        zxid: Zxid,
        /// Returned in the `Truncated` report.
        tag: u64,
    },
}

/// What the writer thread reports, in the order things happened on disk.
#[derive(Clone, Debug)]
pub enum LogEvent {
    /// Every transaction appended so far, up to and including `upto`, is durable.
    Durable {
        /// The log's last zxid after the fsync.
        upto: Zxid,
        /// The tag of the last `Append` this fsync covered.
        tag: u64,
    },
    /// A `TruncateAfter` is durable; `upto` is the log's last zxid now.
    Truncated {
        /// The log's last zxid after the truncation.
        upto: Zxid,
        /// The tag of the `TruncateAfter`.
        tag: u64,
    },
    /// The writer hit an error and stopped; nothing after the last report is durable.
    Failed(StorageError),
}

/// A handle on the background thread that owns a [`TxnLog`] and group-commits.
///
/// Driving it: send `LogCommand::Append` for each `Persist` of transactions
/// (from async code with [`LogWriter::send`], which waits when the queue is
/// full); feed each `LogEvent::Durable { upto, .. }` back to the engine as
/// `Input::Durable`. `on_event` runs on the writer thread, so it should only
/// hand the event over, e.g. `move |e| { let _ = events_tx.send(e); }` with a
/// `tokio::sync::mpsc::UnboundedSender<LogEvent>`. On `LogEvent::Failed` the
/// server must stop acting on durability and restart from recovery.
pub struct LogWriter {
    commands: Option<mpsc::Sender<LogCommand>>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<Result<TxnLog, StorageError>>>,
}

#[derive(Default)]
struct Counters {
    syncs: AtomicU64,
    txns: AtomicU64,
}

impl LogWriter {
    /// Moves `log` onto a new thread named `ensemble-log-writer`.
    pub fn spawn<F>(log: TxnLog, config: LogWriterConfig, on_event: F) -> Result<LogWriter, StorageError>
    where
        F: FnMut(LogEvent) + Send + 'static,
    {
        let (commands, queue) = mpsc::channel(config.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let dir = log.dir().to_path_buf();
        let thread_counters = counters.clone();
        let thread = std::thread::Builder::new()
            .name("ensemble-log-writer".into())
            .spawn(move || run(log, queue, thread_counters, on_event))
            .map_err(StorageError::io("spawn log writer for", dir))?;
        Ok(LogWriter { commands: Some(commands), counters, thread: Some(thread) })
    }

    /// Queues a command, waiting while the queue is full.
    pub async fn send(&self, command: LogCommand) -> Result<(), StorageError> {
        self.sender()?.send(command).await.map_err(|_| StorageError::WriterStopped)
    }

    /// Queues a command from a thread outside any tokio runtime, blocking while the queue is full.
    pub fn send_blocking(&self, command: LogCommand) -> Result<(), StorageError> {
        self.sender()?.blocking_send(command).map_err(|_| StorageError::WriterStopped)
    }

    /// Queues a command if there is room, handing it back otherwise.
    pub fn try_send(&self, command: LogCommand) -> Result<(), mpsc::error::TrySendError<LogCommand>> {
        match &self.commands {
            Some(commands) => commands.try_send(command),
            None => Err(mpsc::error::TrySendError::Closed(command)),
        }
    }

    /// Fsyncs issued and transactions appended so far; their ratio is the group-commit factor.
    pub fn stats(&self) -> LogStats {
        LogStats { syncs: self.counters.syncs.load(Ordering::Relaxed), txns: self.counters.txns.load(Ordering::Relaxed) }
    }

    /// Lets the thread finish every queued command and a final sync, and
    /// returns the log (for a clean restart of the writer or for tests).
    pub fn shutdown(mut self) -> Result<TxnLog, StorageError> {
        drop(self.commands.take());
        let thread = self.thread.take().expect("the thread is only taken here");
        thread.join().unwrap_or(Err(StorageError::WriterStopped))
    }

    fn sender(&self) -> Result<&mpsc::Sender<LogCommand>, StorageError> {
        self.commands.as_ref().ok_or(StorageError::WriterStopped)
    }
}

/// The writer thread: one batch per wake-up, one fsync per batch.
fn run<F>(mut log: TxnLog, mut queue: mpsc::Receiver<LogCommand>, counters: Arc<Counters>, mut on_event: F) -> Result<TxnLog, StorageError>
where
    F: FnMut(LogEvent),
{
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        // Everything that queued up during the previous fsync joins this one.
        while let Ok(command) = queue.try_recv() {
            batch.push(command);
        }
        let result = execute(&mut log, batch, &counters, &mut on_event);
        publish(&log, &counters);
        if let Err(e) = result {
            tracing::error!(error = %e, "transaction log writer stopped");
            on_event(LogEvent::Failed(e.clone()));
            return Err(e);
        }
    }
    log.sync()?;
    publish(&log, &counters);
    Ok(log)
}

fn execute<F: FnMut(LogEvent)>(log: &mut TxnLog, batch: Vec<LogCommand>, counters: &Counters, on_event: &mut F) -> Result<(), StorageError> {
    // The tag of the last append not yet covered by an fsync.
    let mut pending: Option<u64> = None;
    for command in batch {
        match command {
            LogCommand::Append { txns, tag } => {
                log.append(&txns)?;
                pending = Some(tag);
            }
            LogCommand::Roll => {
                make_durable(log, &mut pending, counters, on_event)?;
                log.roll()?;
            }
            LogCommand::TruncateAfter { zxid, tag } => {
                make_durable(log, &mut pending, counters, on_event)?;
                log.truncate_after(zxid)?;
                on_event(LogEvent::Truncated { upto: log.last_zxid(), tag });
            }
        }
    }
    make_durable(log, &mut pending, counters, on_event)
}

fn make_durable<F: FnMut(LogEvent)>(log: &mut TxnLog, pending: &mut Option<u64>, counters: &Counters, on_event: &mut F) -> Result<(), StorageError> {
    if let Some(tag) = pending.take() {
        log.sync()?;
        // Counters first, so that whoever reacts to the report sees them include it.
        publish(log, counters);
        on_event(LogEvent::Durable { upto: log.last_zxid(), tag });
    }
    Ok(())
}

fn publish(log: &TxnLog, counters: &Counters) {
    let stats = log.stats();
    counters.syncs.store(stats.syncs, Ordering::Relaxed);
    counters.txns.store(stats.txns, Ordering::Relaxed);
}
