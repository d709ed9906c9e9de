//! Proves that the client-history checkers (linearizable, fifo, watches,
//! ephemerals) are not vacuous: hand-built histories that break each
//! guarantee are reported, valid concurrent histories pass, and a real
//! world's history exercises every checker, passes, and fails once a bug is
//! injected into it.

use ensemble::watch::EventType;
use ensemble::{acl, ConnId, DataTree, NodeKind, ServerId, SessionId, Stat, Txn, TxnOp, Zxid};
use ensemble_sim::check::{ephemerals, fifo, linearizable, multi_atomic, watches};
use ensemble_sim::client::{Entry, History, Message, Observed, Op, Outcome, Received};
use ensemble_sim::{swarm_config_for, World};

/// A hand-built history: entries and what each client received, in order.
#[derive(Default)]
struct Builder {
    history: History,
}

fn z(counter: u32) -> Zxid {
    Zxid::new(1, counter)
}

fn stat(czxid: u32, mzxid: u32, version: i32) -> Stat {
    Stat { czxid: z(czxid), mzxid: z(mzxid), version, ..Stat::default() }
}

impl Builder {
    /// Client `c` (on connection `c`, session `c`) ran `op` from `from` to `to` ms.
    fn op(&mut self, c: usize, op: Op, from: u64, to: u64, outcome: Outcome, observed: Observed) -> usize {
        let mut e = Entry::new(c, op, from, SessionId(c as i64 + 100), ConnId(c as u64));
        e.completed_ms = Some(to);
        e.outcome = outcome;
        e.observed = observed;
        self.history.entries.push(e);
        self.history.entries.len() - 1
    }

    /// A write of unique data `data`, invoked and completed at `span`, that ended as `outcome` showing `version`.
    fn write(&mut self, c: usize, op: Op, span: (u64, u64), outcome: Outcome, version: i32, data: &str) -> usize {
        let i = self.op(c, op, span.0, span.1, outcome, Observed::Stat(stat(0, 0, version)));
        self.history.entries[i].data = Some(data.as_bytes().to_vec());
        i
    }

    fn synced_read(&mut self, c: usize, path: &str, from: u64, to: u64, data: &str, version: i32) -> usize {
        self.op(c, Op::Read(path.into(), true), from, to, Outcome::Ok(z(0)), Observed::Data { data: data.as_bytes().to_vec(), stat: stat(0, 0, version) })
    }

    /// Client `c` received a reply on connection `conn`.
    fn reply(&mut self, c: usize, conn: u64, xid: i32, zxid: u32, entry: Option<usize>) {
        self.received(c, conn, Message::Reply { xid, zxid: z(zxid), entry });
    }

    fn notify(&mut self, c: usize, conn: u64, event_type: EventType, path: &str, zxid: u32) {
        self.received(c, conn, Message::Notify { event_type, path: path.into(), zxid: z(zxid) });
    }

    fn received(&mut self, c: usize, conn: u64, message: Message) {
        let at_ms = self.history.received.len() as u64;
        self.history.received.push(Received { client: c, conn: ConnId(conn), session: SessionId(c as i64 + 100), at_ms, message });
    }
}

fn ok(counter: u32) -> Outcome {
    Outcome::Ok(z(counter))
}

/// Two clients race on /k: a create, two CAS from version 0 (one wins, one
/// gets BadVersion), a delete that timed out, and synced reads in between.
fn valid_race() -> Builder {
    let mut b = Builder::default();
    b.write(0, Op::Create("/k".into()), (0, 10), ok(1), 0, "c0x1");
    b.write(0, Op::SetData("/k".into(), 0), (20, 40), ok(3), 1, "c0x3");
    b.write(1, Op::SetData("/k".into(), 0), (21, 41), Outcome::Error(ensemble::ErrorCode::BadVersion), 0, "c1x1");
    // Concurrent with both CAS: it may see either the create or the winning CAS.
    b.synced_read(2, "/k", 22, 30, "c0x1", 0);
    b.synced_read(2, "/k", 50, 60, "c0x3", 1);
    b.write(1, Op::Delete("/k".into()), (70, 80), Outcome::Unknown, 0, "");
    b.op(2, Op::Read("/k".into(), true), 200, 210, Outcome::Error(ensemble::ErrorCode::NoNode), Observed::Nothing);
    b
}

// A valid concurrent history with a lost CAS, a timed-out delete that did
// happen, and synced reads overlapping the writes passes.
#[test]
fn a_valid_concurrent_history_passes() {
    assert_eq!(linearizable::check(&valid_race().history), Vec::<String>::new());
}

// A synced read returning data older than a write that completed before the read began is caught.
#[test]
fn a_stale_read_after_sync_is_caught() {
    let mut b = valid_race();
    b.synced_read(2, "/k", 90, 95, "c0x1", 0);
    let failures = linearizable::check(&b.history);
    assert!(failures.iter().any(|f| f.starts_with("linearizable: /k")), "{failures:?}");
}

// An acknowledged CAS that a later synced read does not see (a lost write) is caught.
#[test]
fn a_lost_acknowledged_cas_is_caught() {
    let mut b = Builder::default();
    b.write(0, Op::Create("/k".into()), (0, 10), ok(1), 0, "c0x1");
    b.write(1, Op::SetData("/k".into(), 0), (20, 30), ok(2), 1, "c1x1");
    b.synced_read(2, "/k", 40, 50, "c0x1", 0);
    assert_eq!(linearizable::check(&b.history).len(), 1);
}

// Two clients both succeeding a CAS from the same version (split brain) is caught,
// even when each wrote a version the register could give it.
#[test]
fn two_winning_cas_from_one_version_are_caught() {
    let mut b = Builder::default();
    b.write(0, Op::Create("/k".into()), (0, 10), ok(1), 0, "c0x1");
    b.write(1, Op::SetData("/k".into(), 0), (20, 40), ok(2), 1, "c1x1");
    b.write(2, Op::SetData("/k".into(), 0), (21, 41), ok(3), 1, "c2x1");
    assert_eq!(linearizable::check(&b.history).len(), 1);
    // And a create acknowledged twice without a delete between.
    let mut b = Builder::default();
    b.write(0, Op::Create("/k".into()), (0, 10), ok(1), 0, "c0x1");
    b.write(1, Op::Create("/k".into()), (20, 30), ok(2), 0, "c1x1");
    assert_eq!(linearizable::check(&b.history).len(), 1);
}

// Replies whose header zxid goes backwards for one client, across a move to another server, are caught;
// and so are replies out of request order on one connection.
#[test]
fn a_zxid_going_backwards_is_caught() {
    let mut b = Builder::default();
    b.reply(0, 1, 1, 5, None);
    b.reply(0, 1, 3, 7, None);
    b.reply(0, 2, 5, 8, None);
    assert_eq!(fifo::check(&b.history), Vec::<String>::new());
    b.reply(0, 3, 7, 6, None);
    let failures = fifo::check(&b.history);
    assert!(failures.iter().any(|f| f.contains("went back in time")), "{failures:?}");

    let mut b = Builder::default();
    b.reply(0, 1, 3, 5, None);
    b.reply(0, 1, 1, 5, None);
    let failures = fifo::check(&b.history);
    assert!(failures.iter().any(|f| f.contains("after the reply to xid 3")), "{failures:?}");
}

/// Client 0 sets a data watch on /k (at czxid 1, mzxid 1) on connection 0.
fn watching() -> Builder {
    let mut b = Builder::default();
    let i = b.op(0, Op::WatchRead("/k".into()), 0, 10, ok(1), Observed::Data { data: b"c9x1".to_vec(), stat: stat(1, 1, 0) });
    b.reply(0, 0, 1, 1, Some(i));
    b
}

// A watch set, fired once by a setData, then read: the valid order passes.
#[test]
fn a_watch_that_fires_once_before_the_new_data_passes() {
    let mut b = watching();
    b.notify(0, 0, EventType::NodeDataChanged, "/k", 2);
    let i = b.op(0, Op::Read("/k".into(), false), 20, 30, ok(2), Observed::Data { data: b"c8x1".to_vec(), stat: stat(1, 2, 1) });
    b.reply(0, 0, 3, 2, Some(i));
    assert_eq!(watches::check(&b.history), Vec::<String>::new());
}

// A one-shot watch firing twice for one registration is caught.
#[test]
fn a_watch_firing_twice_is_caught() {
    let mut b = watching();
    b.notify(0, 0, EventType::NodeDataChanged, "/k", 2);
    b.notify(0, 0, EventType::NodeDeleted, "/k", 3);
    let failures = watches::check(&b.history);
    assert!(failures.iter().any(|f| f.contains("fired twice")), "{failures:?}");
}

// A read showing the new data before the watch's event arrived is caught, and
// so is the event arriving after a reply that already reflected its zxid.
#[test]
fn new_data_before_the_watch_event_is_caught() {
    let mut b = watching();
    let i = b.op(0, Op::Read("/k".into(), false), 20, 30, ok(2), Observed::Data { data: b"c8x1".to_vec(), stat: stat(1, 2, 1) });
    b.reply(0, 0, 3, 2, Some(i));
    b.notify(0, 0, EventType::NodeDataChanged, "/k", 2);
    let failures = watches::check(&b.history);
    assert!(failures.iter().any(|f| f.contains("the change came before its event")), "{failures:?}");
    assert!(failures.iter().any(|f| f.contains("already reflected it")), "{failures:?}");
}

// The client's own acknowledged write to a watched node, answered before the event, is caught.
#[test]
fn an_own_write_acknowledged_before_the_event_is_caught() {
    let mut b = watching();
    let i = b.write(0, Op::SetData("/k".into(), -1), (20, 30), ok(2), 1, "c0x3");
    b.reply(0, 0, 3, 2, Some(i));
    let failures = watches::check(&b.history);
    assert!(failures.iter().any(|f| f.contains("acknowledged before the event")), "{failures:?}");
}

/// One replica's tree: sessions 100 and 101 created, an ephemeral of each.
fn tree_with_ephemerals() -> DataTree {
    let mut tree = DataTree::new();
    let mut zxid = 0;
    let mut apply = |tree: &mut DataTree, session: i64, op: TxnOp| {
        zxid += 1;
        tree.apply(&Txn { zxid: z(zxid), session: SessionId(session), cxid: 0, time_ms: 0, op });
    };
    for s in [100, 101] {
        apply(&mut tree, s, TxnOp::CreateSession { timeout_ms: 10_000 });
        let path = format!("/e{s}");
        apply(&mut tree, s, TxnOp::Create { path, data: b"x".into(), acl: acl::open_acl_unsafe(), kind: NodeKind::Ephemeral { owner: SessionId(s) }, parent_cversion: 1 });
    }
    tree
}

// Ephemerals of live sessions pass; an ephemeral whose session is gone is caught.
#[test]
fn a_leftover_ephemeral_is_caught() {
    let tree = tree_with_ephemerals();
    let history = History::default();
    assert_eq!(ephemerals::check(&history, &[(ServerId(1), &tree)]), Vec::<String>::new());
    // Session 101 ends but its ephemeral is left behind (a replica that skipped the cleanup).
    let mut broken = tree.clone();
    broken.apply(&Txn { zxid: z(10), session: SessionId(101), cxid: 0, time_ms: 0, op: TxnOp::CloseSession { ephemerals: Vec::new() } });
    let failures = ephemerals::check(&history, &[(ServerId(1), &tree), (ServerId(2), &broken)]);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains("/e101 on ServerId(2)"), "{failures:?}");
}

// A session whose close was acknowledged but is still live, and an
// acknowledged ephemeral of a live session that is missing, are caught.
#[test]
fn a_closed_session_still_live_and_a_lost_ephemeral_are_caught() {
    let tree = tree_with_ephemerals();
    let mut b = Builder::default();
    b.op(0, Op::CloseSession, 0, 10, ok(9), Observed::Nothing);
    let failures = ephemerals::check(&b.history, &[(ServerId(1), &tree)]);
    assert!(failures.iter().any(|f| f.contains("is still live")), "{failures:?}");

    let mut b = Builder::default();
    b.op(1, Op::CreateEphemeral("/e101".into(), false), 0, 10, ok(4), Observed::Created { path: "/e101".into(), stat: stat(4, 4, 0) });
    assert_eq!(ephemerals::check(&b.history, &[(ServerId(1), &tree)]), Vec::<String>::new());
    b.op(1, Op::CreateEphemeral("/e101-2".into(), false), 20, 30, ok(5), Observed::Created { path: "/e101-2".into(), stat: stat(5, 5, 0) });
    let failures = ephemerals::check(&b.history, &[(ServerId(1), &tree)]);
    assert!(failures.iter().any(|f| f.contains("/e101-2 created")), "{failures:?}");
}

// A real world's history (3 voters, 4 clients, no faults) uses every feature
// the checkers judge and passes them; turning one synced read into a stale
// one, duplicating one watch event, or moving one reply's zxid back is caught.
#[test]
fn a_real_history_passes_and_an_injected_bug_is_caught() {
    let mut config = swarm_config_for(7, Some(3));
    config.observers = 0;
    config.clients = 4;
    config.ops_per_client = 60;
    config.faults.clear();
    let mut w = World::new(config);
    w.run_until(1_000_000 + 20_000);
    let h = w.history.clone();
    assert!(h.entries.iter().all(|e| e.outcome != Outcome::Pending), "the workload did not finish");
    let count = |f: &dyn Fn(&Entry) -> bool| h.entries.iter().filter(|e| f(e)).count();
    let synced = count(&|e| matches!(e.op, Op::Read(_, true)) && matches!(e.outcome, Outcome::Ok(_)));
    let cas = count(&|e| matches!(e.op, Op::SetData(_, v) if v >= 0) && e.outcome != Outcome::Unknown);
    let ephemeral = count(&|e| matches!(e.op, Op::CreateEphemeral(..)) && matches!(e.outcome, Outcome::Ok(_)));
    let closed = count(&|e| e.op == Op::CloseSession && matches!(e.outcome, Outcome::Ok(_)));
    let events = h.received.iter().filter(|r| matches!(r.message, Message::Notify { .. })).count();
    assert!(synced >= 5 && cas >= 5 && ephemeral >= 3 && closed >= 4 && events >= 2, "synced {synced} cas {cas} ephemeral {ephemeral} closed {closed} events {events}");
    assert_eq!(linearizable::check(&h), Vec::<String>::new());
    assert_eq!(fifo::check(&h), Vec::<String>::new());
    assert_eq!(watches::check(&h), Vec::<String>::new());
    let replicas: Vec<(ServerId, &DataTree)> = w.nodes.iter().filter_map(|(id, n)| n.peer.as_ref().map(|p| (*id, p.tree()))).collect();
    assert_eq!(ephemerals::check(&h, &replicas), Vec::<String>::new());

    // A synced read made to show the data of a setData that another acknowledged
    // write to the same znode overwrote before the read began (data are unique, so it is stale).
    let mut stale = h.clone();
    let acked_write_on = |e: &Entry, path: &str| e.op.is_write() && e.op.path() == Some(path) && matches!(e.outcome, Outcome::Ok(_));
    let found = (0..stale.entries.len()).find_map(|r| {
        let read = &stale.entries[r];
        let Op::Read(path, true) = &read.op else { return None };
        let Observed::Data { stat, .. } = read.observed else { return None };
        stale.entries.iter().enumerate().find_map(|(o, old)| {
            let overwritten = stale.entries.iter().any(|w2| acked_write_on(w2, path) && old.completed_ms.is_some_and(|t| w2.invoked_ms > t) && w2.completed_ms.is_some_and(|t| t < read.invoked_ms));
            (matches!(old.op, Op::SetData(..)) && acked_write_on(old, path) && overwritten).then_some((r, o, stat))
        })
    });
    let (r, older, stat) = found.expect("a synced read after two acknowledged writes");
    let old_data = stale.entries[older].data.clone().expect("a setData writes data");
    let Observed::Stat(old_stat) = stale.entries[older].observed.clone() else { panic!("setData shows a Stat") };
    stale.entries[r].observed = Observed::Data { data: old_data, stat: Stat { version: old_stat.version, ..stat } };
    assert!(!linearizable::check(&stale).is_empty(), "stale read of op {older}'s data in op {r} not caught");

    // A watch event delivered twice.
    let mut twice = h.clone();
    let n = twice.received.iter().position(|r| matches!(r.message, Message::Notify { .. })).expect("an event");
    let copy = twice.received[n].clone();
    twice.received.insert(n + 1, copy);
    assert!(watches::check(&twice).iter().any(|f| f.contains("fired twice")));

    // One reply's zxid moved back below what its client already saw.
    let mut back = h.clone();
    let n = back.received.iter().rposition(|r| matches!(r.message, Message::Reply { zxid, .. } if zxid > z(3))).expect("a late reply");
    if let Message::Reply { zxid, .. } = &mut back.received[n].message {
        *zxid = z(1);
    }
    assert!(!fifo::check(&back).is_empty());
}


/// One replica's tree holding /m0-1, created at zxid 1.
fn tree_with_multi_node() -> DataTree {
    let mut tree = DataTree::new();
    tree.apply(&Txn {
        zxid: z(1),
        session: SessionId(100),
        cxid: 0,
        time_ms: 0,
        op: TxnOp::Create { path: "/m0-1".into(), data: b"x".into(), acl: acl::open_acl_unsafe(), kind: NodeKind::Persistent, parent_cversion: 1 },
    });
    tree
}

// A multi that succeeded and left its node passes; one that failed but whose
// create happened anyway, or one acknowledged whose create is missing, is caught.
#[test]
fn a_half_applied_multi_is_caught() {
    let tree = tree_with_multi_node();
    let empty = DataTree::new();
    let multi = || Op::MultiCheckCreate { key: "/k0".into(), version: 0, unique: "/m0-1".into() };
    let mut b = Builder::default();
    b.op(0, multi(), 0, 10, ok(1), Observed::Nothing);
    assert_eq!(multi_atomic::check(&b.history, &[(ServerId(1), &tree)]), Vec::<String>::new());
    let missing = multi_atomic::check(&b.history, &[(ServerId(1), &tree), (ServerId(2), &empty)]);
    assert!(missing.iter().any(|f| f.contains("missing") && f.contains("ServerId(2)")), "{missing:?}");
    let mut failed = Builder::default();
    failed.op(0, multi(), 0, 10, Outcome::Error(ensemble::ErrorCode::BadVersion), Observed::Nothing);
    let half = multi_atomic::check(&failed.history, &[(ServerId(1), &tree)]);
    assert!(half.iter().any(|f| f.starts_with("multi-atomic:") && f.contains("BadVersion")), "{half:?}");
    assert_eq!(multi_atomic::check(&failed.history, &[(ServerId(1), &empty)]), Vec::<String>::new());
}
