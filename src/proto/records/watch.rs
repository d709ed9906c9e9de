//! Watch records: the notification a server pushes, and the requests that
//! re-arm, add, check and remove watches.

use crate::proto::jute::{DecodeError, DecodeErrorKind, Reader, Record, Writer};
pub use crate::watch::{EventType, WatcherType};
use crate::zxid::Zxid;

/// Declares a wire enum with its integer codes, both ways.
macro_rules! wire_enum {
    ($(#[$m:meta])* pub enum $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal,)* }) => {
        $(#[$m])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vm])* $variant,)* }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The integer sent on the wire.
            pub fn code(self) -> i32 {
                match self { $($name::$variant => $code,)* }
            }

            /// The value for a wire integer, if ZooKeeper defines one.
            pub fn from_code(code: i32) -> Option<$name> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }
    };
}

wire_enum! {
    /// `Watcher.Event.KeeperState`.
    pub enum KeeperState {
        /// Deprecated, never sent.
        Unknown = -1,
        /// The client is disconnected.
        Disconnected = 0,
        /// Deprecated, never sent.
        NoSyncConnected = 1,
        /// Connected; every server notification carries this state.
        SyncConnected = 3,
        /// Authentication failed.
        AuthFailed = 4,
        /// Connected to a read-only server.
        ConnectedReadOnly = 5,
        /// SASL authentication succeeded.
        SaslAuthenticated = 6,
        /// The session expired.
        Expired = -112,
        /// The client closed the session.
        Closed = 7,
    }
}

wire_enum! {
    /// `AddWatchMode`: the two kinds of watch addWatch can set.
    pub enum AddWatchMode {
        /// Fires on every change to the node, never removed by firing.
        Persistent = 0,
        /// The same for the node and its whole subtree, without ChildrenChanged.
        PersistentRecursive = 1,
    }
}

/// The engine's event type for a wire code.
pub fn event_type_from_code(code: i32) -> Option<EventType> {
    Some(match code {
        -1 => EventType::None,
        1 => EventType::NodeCreated,
        2 => EventType::NodeDeleted,
        3 => EventType::NodeDataChanged,
        4 => EventType::NodeChildrenChanged,
        5 => EventType::DataWatchRemoved,
        6 => EventType::ChildWatchRemoved,
        7 => EventType::PersistentWatchRemoved,
        _ => return None,
    })
}

/// The wire code of the engine's watcher type.
pub fn watcher_type_code(t: WatcherType) -> i32 {
    match t {
        WatcherType::Children => 1,
        WatcherType::Data => 2,
        WatcherType::Any => 3,
        WatcherType::Persistent => 4,
        WatcherType::PersistentRecursive => 5,
    }
}

/// Reads an int that must be one of the codes `from_code` knows.
fn read_code<T>(r: &mut Reader<'_>, field: &'static str, from_code: impl Fn(i32) -> Option<T>) -> Result<T, DecodeError> {
    let offset = r.position();
    let code = r.int(field)?;
    from_code(code).ok_or_else(|| r.error(field, offset, DecodeErrorKind::InvalidValue(code.into())))
}

/// `WatcherEvent`: the body of a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatcherEvent {
    /// What happened.
    pub event_type: EventType,
    /// The session state (SyncConnected for every node event).
    pub state: KeeperState,
    /// The node it happened to.
    pub path: String,
}

impl Record for WatcherEvent {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.event_type.code());
        w.int(self.state.code());
        w.string(&self.path);
    }

    fn read(r: &mut Reader<'_>) -> Result<WatcherEvent, DecodeError> {
        Ok(WatcherEvent {
            event_type: read_code(r, "WatcherEvent.type", event_type_from_code)?,
            state: read_code(r, "WatcherEvent.state", KeeperState::from_code)?,
            path: r.string("WatcherEvent.path")?,
        })
    }
}

/// `SetWatches` (op 101): the watches a client held, re-armed on reconnect.
///
/// Null lists read as empty: ZooKeeper fails them with MarshallingError, but
/// no client sends them and an empty list means the same.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetWatches {
    /// The last zxid the client saw; changes after it fire at once.
    pub relative_zxid: Zxid,
    /// Paths with a data watch (from getData).
    pub data_watches: Vec<String>,
    /// Paths with an exist watch (from exists on a missing node).
    pub exist_watches: Vec<String>,
    /// Paths with a child watch.
    pub child_watches: Vec<String>,
}

impl Record for SetWatches {
    fn write(&self, w: &mut Writer<'_>) {
        w.long(self.relative_zxid.to_i64());
        w.string_vector(&self.data_watches);
        w.string_vector(&self.exist_watches);
        w.string_vector(&self.child_watches);
    }

    fn read(r: &mut Reader<'_>) -> Result<SetWatches, DecodeError> {
        Ok(SetWatches {
            relative_zxid: Zxid::from_i64(r.long("SetWatches.relativeZxid")?),
            data_watches: r.string_vector("SetWatches.dataWatches")?.unwrap_or_default(),
            exist_watches: r.string_vector("SetWatches.existWatches")?.unwrap_or_default(),
            child_watches: r.string_vector("SetWatches.childWatches")?.unwrap_or_default(),
        })
    }
}

/// `SetWatches2` (op 105): `SetWatches` plus persistent watches (3.6+).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetWatches2 {
    /// The last zxid the client saw.
    pub relative_zxid: Zxid,
    /// Paths with a data watch.
    pub data_watches: Vec<String>,
    /// Paths with an exist watch.
    pub exist_watches: Vec<String>,
    /// Paths with a child watch.
    pub child_watches: Vec<String>,
    /// Paths with a persistent watch.
    pub persistent_watches: Vec<String>,
    /// Paths with a persistent recursive watch.
    pub persistent_recursive_watches: Vec<String>,
}

impl Record for SetWatches2 {
    fn write(&self, w: &mut Writer<'_>) {
        w.long(self.relative_zxid.to_i64());
        w.string_vector(&self.data_watches);
        w.string_vector(&self.exist_watches);
        w.string_vector(&self.child_watches);
        w.string_vector(&self.persistent_watches);
        w.string_vector(&self.persistent_recursive_watches);
    }

    fn read(r: &mut Reader<'_>) -> Result<SetWatches2, DecodeError> {
        Ok(SetWatches2 {
            relative_zxid: Zxid::from_i64(r.long("SetWatches2.relativeZxid")?),
            data_watches: r.string_vector("SetWatches2.dataWatches")?.unwrap_or_default(),
            exist_watches: r.string_vector("SetWatches2.existWatches")?.unwrap_or_default(),
            child_watches: r.string_vector("SetWatches2.childWatches")?.unwrap_or_default(),
            persistent_watches: r.string_vector("SetWatches2.persistentWatches")?.unwrap_or_default(),
            persistent_recursive_watches: r.string_vector("SetWatches2.persistentRecursiveWatches")?.unwrap_or_default(),
        })
    }
}

/// `CheckWatchesRequest` (op 17) and `RemoveWatchesRequest` (op 18), which share a layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchesRequest {
    /// The watched node.
    pub path: String,
    /// Which watches; an unknown type fails decoding, as `WatcherType.fromInt`
    /// throws in ZooKeeper (answered MarshallingError). Types 4 and 5
    /// (persistent) are accepted as in 3.9; 3.8.0 itself knew only 1 to 3.
    pub watcher_type: WatcherType,
}

/// `CheckWatchesRequest`.
pub type CheckWatchesRequest = WatchesRequest;
/// `RemoveWatchesRequest`.
pub type RemoveWatchesRequest = WatchesRequest;

impl Record for WatchesRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.int(watcher_type_code(self.watcher_type));
    }

    fn read(r: &mut Reader<'_>) -> Result<WatchesRequest, DecodeError> {
        Ok(WatchesRequest {
            path: r.string("WatchesRequest.path")?,
            watcher_type: read_code(r, "WatchesRequest.type", WatcherType::from_code)?,
        })
    }
}

/// `AddWatchRequest` (op 106).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddWatchRequest {
    /// The node (and, if recursive, subtree) to watch.
    pub path: String,
    /// Persistent or persistent recursive; other values fail decoding, as in
    /// ZooKeeper (MarshallingError).
    pub mode: AddWatchMode,
}

impl Record for AddWatchRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.int(self.mode.code());
    }

    fn read(r: &mut Reader<'_>) -> Result<AddWatchRequest, DecodeError> {
        Ok(AddWatchRequest {
            path: r.string("AddWatchRequest.path")?,
            mode: read_code(r, "AddWatchRequest.mode", AddWatchMode::from_code)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A NodeCreated event for "/a" is type 1, state 3, then the path.
    #[test]
    fn watcher_event_golden_bytes() {
        let e = WatcherEvent { event_type: EventType::NodeCreated, state: KeeperState::SyncConnected, path: "/a".into() };
        assert_eq!(e.to_bytes(), [0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'a']);
    }

    // Wire enums map both ways and refuse unknown codes with the field and offset.
    #[test]
    fn wire_enums() {
        for code in -1..=7 {
            assert_eq!(event_type_from_code(code).map(EventType::code), (code != 0).then_some(code));
        }
        for s in KeeperState::ALL {
            assert_eq!(KeeperState::from_code(s.code()), Some(*s));
        }
        assert_eq!(KeeperState::Expired.code(), -112);
        let bytes = WatchesRequest { path: "/a".into(), watcher_type: WatcherType::Any }.to_bytes();
        let mut bad = bytes.clone();
        bad[9] = 6;
        let err = WatchesRequest::from_bytes(&bad).unwrap_err();
        assert_eq!((err.field, err.offset, err.kind), ("WatchesRequest.type", 6, DecodeErrorKind::InvalidValue(6)));
    }
}
