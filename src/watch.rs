//! Watches: one-shot data/exist/child watches, persistent and
//! persistent-recursive watches, triggered by the tree's changes
//! (ZooKeeper's `WatchManager` as of 3.6+).
//!
//! Watches belong to a connection, as in ZooKeeper: when a client reconnects
//! it re-registers them with setWatches, and the server reports what changed
//! while it was away.

use crate::tree::{DataTree, TreeChange};
use crate::zxid::{ConnId, Zxid};
use std::collections::{BTreeMap, BTreeSet};

/// A watch event type (`Watcher.Event.EventType`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// −1: a state change, not about a node.
    None,
    /// 1.
    NodeCreated,
    /// 2.
    NodeDeleted,
    /// 3.
    NodeDataChanged,
    /// 4.
    NodeChildrenChanged,
    /// 5.
    DataWatchRemoved,
    /// 6.
    ChildWatchRemoved,
    /// 7.
    PersistentWatchRemoved,
}

impl EventType {
    /// The number sent on the wire.
    pub fn code(self) -> i32 {
        match self {
            EventType::None => -1,
            EventType::NodeCreated => 1,
            EventType::NodeDeleted => 2,
            EventType::NodeDataChanged => 3,
            EventType::NodeChildrenChanged => 4,
            EventType::DataWatchRemoved => 5,
            EventType::ChildWatchRemoved => 6,
            EventType::PersistentWatchRemoved => 7,
        }
    }
}

/// A triggered watch: who to tell, what happened, where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WatchEvent {
    /// The connection that set the watch.
    pub conn: ConnId,
    /// What happened.
    pub event_type: EventType,
    /// The node it happened to.
    pub path: String,
}

/// How long a watch lives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WatchMode {
    /// Fires once, then is gone.
    Standard,
    /// Stays; fires for the node itself (data, deletion, creation, children).
    Persistent,
    /// Stays; fires for the node and every descendant, never for children changes.
    PersistentRecursive,
}

/// Which watches checkWatches/removeWatches address (`WatcherType`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum WatcherType {
    /// 1: child watches.
    Children,
    /// 2: data and exist watches.
    Data,
    /// 3: both.
    Any,
    /// 4: persistent watches.
    Persistent,
    /// 5: persistent recursive watches.
    PersistentRecursive,
}

impl WatcherType {
    /// The type for a wire number.
    pub fn from_code(code: i32) -> Option<WatcherType> {
        Some(match code {
            1 => WatcherType::Children,
            2 => WatcherType::Data,
            3 => WatcherType::Any,
            4 => WatcherType::Persistent,
            5 => WatcherType::PersistentRecursive,
            _ => return None,
        })
    }
}

/// Watches a connection re-registers after reconnecting (setWatches / setWatches2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WatchSet {
    /// Data watches (from getData).
    pub data: Vec<String>,
    /// Exist watches (from exists).
    pub exist: Vec<String>,
    /// Child watches (from getChildren).
    pub child: Vec<String>,
    /// Persistent watches (from addWatch mode 0).
    pub persistent: Vec<String>,
    /// Persistent recursive watches (from addWatch mode 1).
    pub persistent_recursive: Vec<String>,
}

/// Every registered watch, indexed by path and by connection.
///
/// ZooKeeper keeps two tables: data watches (getData, exists, persistent,
/// recursive) and child watches (getChildren, persistent). Ordered maps keep
/// the order of fired events independent of hashing.
#[derive(Clone, Debug, Default)]
pub struct WatchManager {
    data: BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
    child: BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
    by_conn: BTreeMap<ConnId, BTreeSet<String>>,
    recursive_count: usize,
}

impl WatchManager {
    /// An empty manager.
    pub fn new() -> WatchManager {
        WatchManager::default()
    }

    /// Registers a one-shot data (getData) or exist (exists) watch.
    pub fn add_data_watch(&mut self, conn: ConnId, path: &str) {
        Self::add(&mut self.data, &mut self.by_conn, &mut self.recursive_count, conn, path, WatchMode::Standard);
    }

    /// Registers a one-shot child watch (getChildren).
    pub fn add_child_watch(&mut self, conn: ConnId, path: &str) {
        Self::add(&mut self.child, &mut self.by_conn, &mut self.recursive_count, conn, path, WatchMode::Standard);
    }

    /// Registers a persistent or recursive watch (addWatch).
    pub fn add_persistent_watch(&mut self, conn: ConnId, path: &str, recursive: bool) {
        if recursive {
            Self::add(&mut self.data, &mut self.by_conn, &mut self.recursive_count, conn, path, WatchMode::PersistentRecursive);
        } else {
            Self::add(&mut self.data, &mut self.by_conn, &mut self.recursive_count, conn, path, WatchMode::Persistent);
            Self::add(&mut self.child, &mut self.by_conn, &mut self.recursive_count, conn, path, WatchMode::Persistent);
        }
    }

    fn add(
        table: &mut BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
        by_conn: &mut BTreeMap<ConnId, BTreeSet<String>>,
        recursive_count: &mut usize,
        conn: ConnId,
        path: &str,
        mode: WatchMode,
    ) {
        let watchers = table.entry(path.to_string()).or_default();
        let previous = watchers.get(&conn).copied();
        // A one-shot watch never downgrades a persistent one on the same path.
        if previous.is_some_and(|p| p != WatchMode::Standard) && mode == WatchMode::Standard {
            return;
        }
        watchers.insert(conn, mode);
        if previous == Some(WatchMode::PersistentRecursive) {
            *recursive_count -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            *recursive_count += 1;
        }
        by_conn.entry(conn).or_default().insert(path.to_string());
    }

    /// The events a change fires, in a deterministic order, removing one-shot
    /// watches that fired. Each connection hears about one change at most once.
    pub fn trigger(&mut self, change: &TreeChange) -> Vec<WatchEvent> {
        let mut events = Vec::new();
        let mut told: BTreeSet<ConnId> = BTreeSet::new();
        match change {
            TreeChange::Created(p) => self.fire_data(p, EventType::NodeCreated, &mut told, &mut events),
            TreeChange::DataChanged(p) => self.fire_data(p, EventType::NodeDataChanged, &mut told, &mut events),
            TreeChange::Deleted(p) => {
                self.fire_data(p, EventType::NodeDeleted, &mut told, &mut events);
                Self::fire_exact(&mut self.child, &mut self.by_conn, &self.data, p, EventType::NodeDeleted, &mut told, &mut events);
            }
            TreeChange::ChildrenChanged(p) => {
                Self::fire_exact(&mut self.child, &mut self.by_conn, &self.data, p, EventType::NodeChildrenChanged, &mut told, &mut events)
            }
        }
        events
    }

    /// Data-table watches on `path` itself, plus recursive watches on it and its ancestors.
    fn fire_data(&mut self, path: &str, event_type: EventType, told: &mut BTreeSet<ConnId>, events: &mut Vec<WatchEvent>) {
        Self::fire_exact(&mut self.data, &mut self.by_conn, &self.child, path, event_type, told, events);
        if self.recursive_count > 0 {
            for ancestor in ancestors(path) {
                if let Some(watchers) = self.data.get(ancestor) {
                    for (conn, mode) in watchers {
                        if *mode == WatchMode::PersistentRecursive && told.insert(*conn) {
                            events.push(WatchEvent { conn: *conn, event_type, path: path.to_string() });
                        }
                    }
                }
            }
        }
    }

    /// Non-recursive watches registered on exactly `path` in `table`.
    #[allow(clippy::too_many_arguments)]
    fn fire_exact(
        table: &mut BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
        by_conn: &mut BTreeMap<ConnId, BTreeSet<String>>,
        other: &BTreeMap<String, BTreeMap<ConnId, WatchMode>>,
        path: &str,
        event_type: EventType,
        told: &mut BTreeSet<ConnId>,
        events: &mut Vec<WatchEvent>,
    ) {
        let Some(watchers) = table.get_mut(path) else { return };
        let mut fired_once = Vec::new();
        for (conn, mode) in watchers.iter() {
            match mode {
                WatchMode::PersistentRecursive => {}
                WatchMode::Standard | WatchMode::Persistent => {
                    if told.insert(*conn) {
                        events.push(WatchEvent { conn: *conn, event_type, path: path.to_string() });
                    }
                    if *mode == WatchMode::Standard {
                        fired_once.push(*conn);
                    }
                }
            }
        }
        for conn in fired_once {
            watchers.remove(&conn);
            let still_watching = other.get(path).is_some_and(|w| w.contains_key(&conn));
            if !still_watching {
                if let Some(paths) = by_conn.get_mut(&conn) {
                    paths.remove(path);
                }
            }
        }
        if watchers.is_empty() {
            table.remove(path);
        }
    }

    /// Whether `conn` has a watch of `watcher_type` on `path` (checkWatches).
    ///
    /// As in ZooKeeper 3.8, Children, Data and Any look at the child table, the
    /// data table or both whatever the watch's mode, so Any finds persistent
    /// watches too; Persistent and PersistentRecursive (types 4 and 5, which
    /// 3.8.0 cannot decode) address those modes alone.
    pub fn contains(&self, conn: ConnId, path: &str, watcher_type: WatcherType) -> bool {
        let mode_in = |table: &BTreeMap<String, BTreeMap<ConnId, WatchMode>>| table.get(path).and_then(|w| w.get(&conn)).copied();
        match watcher_type {
            WatcherType::Children => mode_in(&self.child).is_some(),
            WatcherType::Data => mode_in(&self.data).is_some(),
            WatcherType::Any => mode_in(&self.child).is_some() || mode_in(&self.data).is_some(),
            WatcherType::Persistent => mode_in(&self.data) == Some(WatchMode::Persistent),
            WatcherType::PersistentRecursive => mode_in(&self.data) == Some(WatchMode::PersistentRecursive),
        }
    }

    /// Removes `conn`'s watches of `watcher_type` on `path` (removeWatches);
    /// false when there was none (NoWatcher). Data on a persistent watch
    /// removes only its data half, as in ZooKeeper 3.8.
    pub fn remove(&mut self, conn: ConnId, path: &str, watcher_type: WatcherType) -> bool {
        let mut removed = false;
        let mut recursive_removed = false;
        let mut take = |table: &mut BTreeMap<String, BTreeMap<ConnId, WatchMode>>, only: Option<WatchMode>| {
            if let Some(w) = table.get_mut(path) {
                let matches = w.get(&conn).is_some_and(|m| only.is_none_or(|o| o == *m));
                if matches {
                    if w.remove(&conn) == Some(WatchMode::PersistentRecursive) {
                        recursive_removed = true;
                    }
                    removed = true;
                    if w.is_empty() {
                        table.remove(path);
                    }
                }
            }
        };
        match watcher_type {
            WatcherType::Children => take(&mut self.child, None),
            WatcherType::Data => take(&mut self.data, None),
            WatcherType::Any => {
                take(&mut self.child, None);
                take(&mut self.data, None);
            }
            WatcherType::Persistent => {
                take(&mut self.child, Some(WatchMode::Persistent));
                take(&mut self.data, Some(WatchMode::Persistent));
            }
            WatcherType::PersistentRecursive => take(&mut self.data, Some(WatchMode::PersistentRecursive)),
        }
        if recursive_removed {
            self.recursive_count -= 1;
        }
        let in_any = self.data.get(path).is_some_and(|w| w.contains_key(&conn)) || self.child.get(path).is_some_and(|w| w.contains_key(&conn));
        if !in_any {
            if let Some(paths) = self.by_conn.get_mut(&conn) {
                paths.remove(path);
            }
        }
        removed
    }

    /// Drops every watch of a connection that went away.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else { return };
        for path in paths {
            for table in [&mut self.data, &mut self.child] {
                if let Some(w) = table.get_mut(&path) {
                    if w.remove(&conn) == Some(WatchMode::PersistentRecursive) {
                        self.recursive_count -= 1;
                    }
                    if w.is_empty() {
                        table.remove(&path);
                    }
                }
            }
        }
    }

    /// Re-registers watches after a reconnect, returning the events for what
    /// changed since `relative_zxid`, the last zxid the client saw
    /// (`DataTree.setWatches`). Those events must reach the client before the reply.
    pub fn set_watches(&mut self, conn: ConnId, tree: &DataTree, relative_zxid: Zxid, watches: &WatchSet) -> Vec<WatchEvent> {
        let mut events = Vec::new();
        let event = |event_type, path: &String| WatchEvent { conn, event_type, path: path.clone() };
        for path in &watches.data {
            match tree.node(path) {
                None => events.push(event(EventType::NodeDeleted, path)),
                Some(n) if n.mzxid > relative_zxid => events.push(event(EventType::NodeDataChanged, path)),
                Some(_) => self.add_data_watch(conn, path),
            }
        }
        for path in &watches.exist {
            if tree.node(path).is_some() {
                events.push(event(EventType::NodeCreated, path));
            } else {
                self.add_data_watch(conn, path);
            }
        }
        for path in &watches.child {
            match tree.node(path) {
                None => events.push(event(EventType::NodeDeleted, path)),
                Some(n) if n.pzxid > relative_zxid => events.push(event(EventType::NodeChildrenChanged, path)),
                Some(_) => self.add_child_watch(conn, path),
            }
        }
        for path in &watches.persistent {
            self.add_persistent_watch(conn, path, false);
        }
        for path in &watches.persistent_recursive {
            self.add_persistent_watch(conn, path, true);
        }
        events
    }

    /// Number of (connection, path) watch registrations, for `wchs`.
    pub fn watch_count(&self) -> usize {
        self.data.values().map(BTreeMap::len).sum::<usize>() + self.child.values().map(BTreeMap::len).sum::<usize>()
    }

    /// Number of watched paths, for `wchs`.
    pub fn path_count(&self) -> usize {
        self.data.keys().chain(self.child.keys()).collect::<BTreeSet<_>>().len()
    }

    /// Connections with at least one watch, with their watched paths (for `wchc`).
    pub fn by_connection(&self) -> &BTreeMap<ConnId, BTreeSet<String>> {
        &self.by_conn
    }
}

/// `path` and every ancestor up to "/", nearest first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(path);
    std::iter::from_fn(move || {
        let current = next?;
        next = crate::tree::path::split(current).map(|(parent, _)| parent);
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ConnId = ConnId(1);
    const B: ConnId = ConnId(2);

    fn ev(conn: ConnId, event_type: EventType, path: &str) -> WatchEvent {
        WatchEvent { conn, event_type, path: path.into() }
    }

    // One-shot watches fire once: data/exist on create, delete and set; child on children change.
    #[test]
    fn standard_watches_fire_once() {
        let mut w = WatchManager::new();
        w.add_data_watch(A, "/x");
        w.add_child_watch(B, "/");
        assert_eq!(w.trigger(&TreeChange::Created("/x".into())), vec![ev(A, EventType::NodeCreated, "/x")]);
        assert_eq!(w.trigger(&TreeChange::ChildrenChanged("/".into())), vec![ev(B, EventType::NodeChildrenChanged, "/")]);
        assert!(w.trigger(&TreeChange::DataChanged("/x".into())).is_empty());
        assert!(w.trigger(&TreeChange::ChildrenChanged("/".into())).is_empty());
        assert_eq!(w.watch_count(), 0);
        assert!(w.by_connection().values().all(BTreeSet::is_empty));
    }

    // A deletion tells a connection once even if it held both a data and a child watch.
    #[test]
    fn delete_fires_once_per_connection() {
        let mut w = WatchManager::new();
        w.add_data_watch(A, "/x");
        w.add_child_watch(A, "/x");
        w.add_child_watch(B, "/x");
        assert_eq!(w.trigger(&TreeChange::Deleted("/x".into())), vec![ev(A, EventType::NodeDeleted, "/x"), ev(B, EventType::NodeDeleted, "/x")]);
        // As in ZooKeeper, A's child watch was consumed although its event was suppressed.
        assert_eq!(w.watch_count(), 0);
    }

    // Persistent watches stay and see children changes; recursive ones cover descendants but never children changes.
    #[test]
    fn persistent_and_recursive() {
        let mut w = WatchManager::new();
        w.add_persistent_watch(A, "/p", false);
        w.add_persistent_watch(B, "/p", true);
        for _ in 0..2 {
            assert_eq!(w.trigger(&TreeChange::DataChanged("/p".into())), vec![ev(A, EventType::NodeDataChanged, "/p"), ev(B, EventType::NodeDataChanged, "/p")]);
        }
        assert_eq!(w.trigger(&TreeChange::ChildrenChanged("/p".into())), vec![ev(A, EventType::NodeChildrenChanged, "/p")]);
        assert_eq!(w.trigger(&TreeChange::Created("/p/q/r".into())), vec![ev(B, EventType::NodeCreated, "/p/q/r")]);
        assert!(w.trigger(&TreeChange::Created("/px".into())).is_empty());
        assert!(w.contains(B, "/p", WatcherType::PersistentRecursive));
        assert!(w.remove(B, "/p", WatcherType::PersistentRecursive));
        assert!(!w.remove(B, "/p", WatcherType::PersistentRecursive));
        assert!(w.trigger(&TreeChange::Created("/p/z".into())).is_empty());
    }

    // Dropping a connection drops all of its watches and nobody else's.
    #[test]
    fn remove_conn() {
        let mut w = WatchManager::new();
        w.add_data_watch(A, "/x");
        w.add_persistent_watch(A, "/", true);
        w.add_data_watch(B, "/x");
        w.remove_conn(A);
        assert_eq!(w.trigger(&TreeChange::DataChanged("/x".into())), vec![ev(B, EventType::NodeDataChanged, "/x")]);
    }
}
