//! Guarantee: writes and synced reads are linearizable, per znode. Each
//! znode the clients race on is a register with ZooKeeper's semantics
//! (create fails with NodeExists if present; setData with an expected version
//! fails with BadVersion; delete and setData fail with NoNode if absent;
//! getData returns the data and version, or NoNode). There must be one order
//! of the operations that respects real time (an operation that completed
//! before another was invoked comes first) and in which every outcome the
//! clients saw is what that register would have answered.
//!
//! The search is Wing and Gong's, with Lowe's memoization: operations are
//! linearized one at a time, each only while no unlinearized operation
//! completed before it was invoked, and a (set of linearized operations,
//! register state) pair already explored is never explored again.
//!
//! What counts:
//! - An operation that timed out or lost its connection (`Unknown`, or still
//!   `Pending` at the end) may have taken effect at any point after its
//!   invocation, or never: it is optional, and when placed it must succeed.
//! - An error code the register can produce (NodeExists, BadVersion, NoNode)
//!   is a definite outcome: the leader judged the operation at its place in
//!   the order. Any other code (connection or session trouble, timeouts) says
//!   nothing definite: a write with such a code is optional, a read is ignored.
//! - Reads are checked only after a sync (`Op::Read(_, true)`): ZooKeeper
//!   reads are sequentially consistent, not linearizable, without one.

use crate::client::{Entry, History, Observed, Op, Outcome};
use ensemble::ErrorCode;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Search steps allowed per znode before the checker gives up and says so.
const STEPS_MAX: u64 = 2_000_000;

/// Judges every znode's operations in `history`; one message per znode that fails.
pub fn check(history: &History) -> Vec<String> {
    let mut by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, e) in history.entries.iter().enumerate() {
        let checked = matches!(e.op, Op::Create(_) | Op::CreateUnique(_) | Op::SetData(..) | Op::Delete(_) | Op::Read(_, true));
        if let (true, Some(path)) = (checked, e.op.path()) {
            by_path.entry(path).or_default().push(i);
        }
    }
    let mut failures = Vec::new();
    for (path, indices) in by_path {
        if let Err(why) = check_znode(&history.entries, &indices) {
            failures.push(format!("linearizable: {path}: {why}"));
        }
    }
    failures
}

/// The register: absent, or present with (who wrote the data, version).
type State = Option<(u32, i32)>;

/// Data no write in the history wrote: never equal to a state's data.
const FOREIGN_DATA: u32 = u32::MAX;

/// What an operation does to the register.
#[derive(Clone, Copy, Debug)]
enum Action {
    Create { data: u32 },
    SetData { expected: i32, data: u32 },
    Delete,
    Read,
}

/// What the client saw, as the register must reproduce it.
#[derive(Clone, Copy, Debug)]
enum Seen {
    /// Succeeded; for setData the new version, for a read the data and version.
    Ok { data: u32, version: i32 },
    /// Failed with a code the register produces.
    Failed(ErrorCode),
    /// May have happened (successfully) or not.
    Maybe,
}

/// One operation of the search.
#[derive(Clone, Copy, Debug)]
struct Call {
    entry: usize,
    invoked_ms: u64,
    /// `u64::MAX` for optional operations: nothing has to follow them.
    completed_ms: u64,
    action: Action,
    seen: Seen,
}

impl Call {
    fn optional(&self) -> bool {
        matches!(self.seen, Seen::Maybe)
    }

    /// The register after this operation at `state`, or `None` if it could not have answered what the client saw.
    fn step(&self, state: State) -> Option<State> {
        use Seen::{Failed, Maybe, Ok};
        match (self.action, self.seen, state) {
            (Action::Create { data }, Ok { .. } | Maybe, None) => Some(Some((data, 0))),
            (Action::Create { .. }, Failed(ErrorCode::NodeExists), Some(_)) => Some(state),
            (Action::SetData { expected, data }, Ok { version, .. }, Some((_, current))) if (expected == -1 || expected == current) && version == current.wrapping_add(1) => {
                Some(Some((data, version)))
            }
            (Action::SetData { expected, data }, Maybe, Some((_, current))) if expected == -1 || expected == current => Some(Some((data, current.wrapping_add(1)))),
            (Action::SetData { expected, .. }, Failed(ErrorCode::BadVersion), Some((_, current))) if expected != -1 && expected != current => Some(state),
            (Action::SetData { .. } | Action::Delete, Failed(ErrorCode::NoNode), None) => Some(state),
            (Action::Delete, Ok { .. } | Maybe, Some(_)) => Some(None),
            (Action::Read, Ok { data, version }, Some((d, v))) if data == d && version == v => Some(state),
            (Action::Read, Failed(ErrorCode::NoNode), None) => Some(state),
            _ => None,
        }
    }
}

/// Searches for a linearization of the entries `indices` (all on one znode).
fn check_znode(entries: &[Entry], indices: &[usize]) -> Result<(), String> {
    let writers: HashMap<&[u8], u32> = indices.iter().filter_map(|&i| entries[i].data.as_deref().map(|d| (d, i as u32))).collect();
    let mut calls: Vec<Call> = indices.iter().filter_map(|&i| call(&entries[i], i, &writers)).collect();
    calls.sort_by_key(|c| (c.invoked_ms, c.entry));
    let mut search = Search { calls: &calls, linearized: vec![0; calls.len().div_ceil(64)], seen: HashSet::new(), steps: 0, deepest: (0, None, Vec::new()) };
    match search.explore(None, 0) {
        Some(true) => Ok(()),
        Some(false) => Err(search.explain(entries)),
        None => Err(format!("undecided after {STEPS_MAX} search steps over {} operations", calls.len())),
    }
}

/// The search's view of one entry, or `None` if its outcome constrains nothing.
fn call(e: &Entry, entry: usize, writers: &HashMap<&[u8], u32>) -> Option<Call> {
    let data = entry as u32;
    let action = match e.op {
        Op::Create(_) | Op::CreateUnique(_) => Action::Create { data },
        Op::SetData(_, expected) => Action::SetData { expected, data },
        Op::Delete(_) => Action::Delete,
        Op::Read(..) => Action::Read,
        _ => return None,
    };
    let definite = |code: ErrorCode| matches!(code, ErrorCode::NodeExists | ErrorCode::BadVersion | ErrorCode::NoNode);
    let seen = match (&e.outcome, &e.observed) {
        (Outcome::Ok(_), Observed::Data { data, stat }) => Seen::Ok { data: writers.get(&data[..]).copied().unwrap_or(FOREIGN_DATA), version: stat.version },
        (Outcome::Ok(_), Observed::Stat(stat) | Observed::Created { stat, .. }) => Seen::Ok { data, version: stat.version },
        (Outcome::Ok(_), _) => Seen::Ok { data, version: 0 },
        (Outcome::Error(code), _) if definite(*code) => Seen::Failed(*code),
        _ if matches!(action, Action::Read) => return None,
        _ => Seen::Maybe,
    };
    let completed_ms = match seen {
        Seen::Maybe => u64::MAX,
        _ => e.completed_ms.unwrap_or(u64::MAX),
    };
    Some(Call { entry, invoked_ms: e.invoked_ms, completed_ms, action, seen })
}

/// The state of a depth-first search with memoization.
struct Search<'a> {
    /// Sorted by invocation.
    calls: &'a [Call],
    /// Bitset over `calls`.
    linearized: Vec<u64>,
    /// (linearized, state) pairs already explored.
    seen: HashSet<(Vec<u64>, State)>,
    steps: u64,
    /// The longest linearization found: its length, the state it left, and its order (for the failure report).
    deepest: (usize, State, Vec<usize>),
}

impl Search<'_> {
    /// Whether the remaining operations can be linearized from `state`; `None` when the step budget ran out.
    fn explore(&mut self, state: State, depth: usize) -> Option<bool> {
        self.steps += 1;
        if self.steps > STEPS_MAX {
            return None;
        }
        if depth > self.deepest.0 {
            self.deepest = (depth, state, self.order());
        }
        // Operations that change nothing and fit now go first: placing them
        // later can never help, and it keeps the search narrow.
        let mut placed = Vec::new();
        loop {
            let deadline = self.deadline();
            let free = (0..self.calls.len()).find(|&i| {
                let c = &self.calls[i];
                !self.is_linearized(i) && c.invoked_ms <= deadline && !c.optional() && c.step(state) == Some(state)
            });
            let Some(i) = free else { break };
            self.set(i, true);
            placed.push(i);
        }
        let result = self.branch(state, depth + placed.len());
        for i in placed {
            self.set(i, false);
        }
        result
    }

    fn branch(&mut self, state: State, depth: usize) -> Option<bool> {
        if (0..self.calls.len()).all(|i| self.is_linearized(i) || self.calls[i].optional()) {
            return Some(true);
        }
        if !self.seen.insert((self.linearized.clone(), state)) {
            return Some(false);
        }
        let deadline = self.deadline();
        for i in 0..self.calls.len() {
            let c = self.calls[i];
            if c.invoked_ms > deadline {
                break;
            }
            if self.is_linearized(i) {
                continue;
            }
            let Some(next) = c.step(state) else { continue };
            self.set(i, true);
            let found = self.explore(next, depth + 1);
            self.set(i, false);
            if found != Some(false) {
                return found;
            }
        }
        Some(false)
    }

    /// The earliest completion among operations not yet linearized: nothing invoked after it may go next.
    fn deadline(&self) -> u64 {
        (0..self.calls.len()).filter(|&i| !self.is_linearized(i)).map(|i| self.calls[i].completed_ms).min().unwrap_or(u64::MAX)
    }

    fn is_linearized(&self, i: usize) -> bool {
        self.linearized[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize, on: bool) {
        if on {
            self.linearized[i / 64] |= 1 << (i % 64);
        } else {
            self.linearized[i / 64] &= !(1 << (i % 64));
        }
    }

    fn order(&self) -> Vec<usize> {
        (0..self.calls.len()).filter(|&i| self.is_linearized(i)).map(|i| self.calls[i].entry).collect()
    }

    /// Says where the longest linearization got stuck, naming the operations it could not place.
    fn explain(&self, entries: &[Entry]) -> String {
        let (depth, state, done) = &self.deepest;
        let describe = |i: usize| {
            let e = &entries[i];
            format!("op {i} (client {}, {:?}, {:?}, {:?}, invoked {} completed {:?})", e.client, e.op, e.outcome, e.observed, e.invoked_ms, e.completed_ms)
        };
        let mut stuck: Vec<&Call> = self.calls.iter().filter(|c| !c.optional() && !done.contains(&c.entry)).collect();
        stuck.sort_by_key(|c| c.completed_ms);
        let stuck: Vec<String> = stuck.iter().take(3).map(|c| describe(c.entry)).collect();
        let state = match state {
            None => "absent".to_string(),
            Some((writer, version)) => format!("data of op {writer} at version {version}"),
        };
        format!(
            "not linearizable: of {} operations at most {depth} can be ordered (leaving the znode {state}); the first that cannot follow: {}",
            self.calls.len(),
            stuck.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensemble::{ConnId, SessionId, Stat, Zxid};

    fn op(client: usize, op: Op, from: u64, to: u64, outcome: Outcome, observed: Observed) -> Entry {
        let mut e = Entry::new(client, op, from, SessionId(client as i64 + 1), ConnId(client as u64 + 1));
        e.completed_ms = Some(to);
        e.outcome = outcome;
        e.observed = observed;
        e
    }

    fn write(client: usize, o: Op, from: u64, to: u64, outcome: Outcome, version: i32, data: &str) -> Entry {
        let mut e = op(client, o, from, to, outcome, Observed::Stat(Stat { version, ..Stat::default() }));
        e.data = Some(data.as_bytes().to_vec());
        e
    }

    fn read(client: usize, from: u64, to: u64, data: &str, version: i32) -> Entry {
        op(client, Op::Read("/k".into(), true), from, to, Outcome::Ok(Zxid::ZERO), Observed::Data { data: data.as_bytes().to_vec(), stat: Stat { version, ..Stat::default() } })
    }

    fn ok() -> Outcome {
        Outcome::Ok(Zxid::ZERO)
    }

    fn judge(entries: Vec<Entry>) -> Vec<String> {
        check(&History { entries, ..History::default() })
    }

    // Three overlapping setData calls and two reads fit only one order: the
    // reads pin b before c, and c's version pins a first; the search finds it
    // although the invocation order (a, c, b) is not it.
    #[test]
    fn finds_the_one_order_that_fits() {
        let entries = vec![
            write(0, Op::Create("/k".into()), 0, 10, ok(), 0, "init"),
            write(1, Op::SetData("/k".into(), -1), 20, 100, ok(), 1, "a"),
            write(2, Op::SetData("/k".into(), -1), 21, 100, ok(), 3, "c"),
            write(3, Op::SetData("/k".into(), -1), 22, 100, ok(), 2, "b"),
            read(4, 30, 100, "b", 2),
            read(5, 101, 110, "c", 3),
        ];
        assert_eq!(judge(entries), Vec::<String>::new());
    }

    // The same history with the last read seeing b (at version 2) after c's
    // write completed at version 3 cannot be linearized.
    #[test]
    fn a_stale_read_after_sync_is_refused() {
        let entries = vec![
            write(0, Op::Create("/k".into()), 0, 10, ok(), 0, "init"),
            write(1, Op::SetData("/k".into(), -1), 20, 100, ok(), 1, "a"),
            write(2, Op::SetData("/k".into(), -1), 21, 100, ok(), 3, "c"),
            write(3, Op::SetData("/k".into(), -1), 22, 100, ok(), 2, "b"),
            read(5, 101, 110, "b", 2),
        ];
        let failures = judge(entries);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("not linearizable"), "{failures:?}");
    }

    // A write that timed out may have happened: a later read of its data is fine,
    // and so is a read that shows it never happened.
    #[test]
    fn an_unknown_write_may_or_may_not_have_happened() {
        let create = write(0, Op::Create("/k".into()), 0, 10, ok(), 0, "init");
        let mut lost = write(1, Op::SetData("/k".into(), 0), 20, 50, Outcome::Unknown, 0, "x");
        lost.observed = Observed::Nothing;
        assert_eq!(judge(vec![create.clone(), lost.clone(), read(2, 200, 210, "x", 1)]), Vec::<String>::new());
        assert_eq!(judge(vec![create.clone(), lost.clone(), read(2, 200, 210, "init", 0)]), Vec::<String>::new());
        // But it cannot have happened before it was invoked.
        assert_eq!(judge(vec![create, lost, read(2, 12, 15, "x", 1)]).len(), 1);
    }
}
