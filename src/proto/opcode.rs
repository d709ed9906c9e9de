//! Operation codes (`ZooDefs.OpCode`) and the xids ZooKeeper reserves.

/// The xid of a watch notification (server to client).
pub const NOTIFICATION_XID: i32 = -1;
/// The xid of a ping and of its reply.
pub const PING_XID: i32 = -2;
/// The xid the Java client gives an auth packet.
pub const AUTH_XID: i32 = -4;
/// The xid the Java client gives setWatches on reconnect.
pub const SET_WATCHES_XID: i32 = -8;

/// A request type, numbered as on the wire.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum OpCode {
    Notification,
    Create,
    Delete,
    Exists,
    GetData,
    SetData,
    GetAcl,
    SetAcl,
    GetChildren,
    Sync,
    Ping,
    GetChildren2,
    Check,
    Multi,
    Create2,
    Reconfig,
    CheckWatches,
    RemoveWatches,
    CreateContainer,
    DeleteContainer,
    CreateTtl,
    MultiRead,
    Auth,
    SetWatches,
    Sasl,
    GetEphemerals,
    GetAllChildrenNumber,
    SetWatches2,
    AddWatch,
    WhoAmI,
    CreateSession,
    CloseSession,
    Error,
}

const CODES: &[(OpCode, i32)] = &[
    (OpCode::Notification, 0),
    (OpCode::Create, 1),
    (OpCode::Delete, 2),
    (OpCode::Exists, 3),
    (OpCode::GetData, 4),
    (OpCode::SetData, 5),
    (OpCode::GetAcl, 6),
    (OpCode::SetAcl, 7),
    (OpCode::GetChildren, 8),
    (OpCode::Sync, 9),
    (OpCode::Ping, 11),
    (OpCode::GetChildren2, 12),
    (OpCode::Check, 13),
    (OpCode::Multi, 14),
    (OpCode::Create2, 15),
    (OpCode::Reconfig, 16),
    (OpCode::CheckWatches, 17),
    (OpCode::RemoveWatches, 18),
    (OpCode::CreateContainer, 19),
    (OpCode::DeleteContainer, 20),
    (OpCode::CreateTtl, 21),
    (OpCode::MultiRead, 22),
    (OpCode::Auth, 100),
    (OpCode::SetWatches, 101),
    (OpCode::Sasl, 102),
    (OpCode::GetEphemerals, 103),
    (OpCode::GetAllChildrenNumber, 104),
    (OpCode::SetWatches2, 105),
    (OpCode::AddWatch, 106),
    (OpCode::WhoAmI, 107),
    (OpCode::CreateSession, -10),
    (OpCode::CloseSession, -11),
    (OpCode::Error, -1),
];

impl OpCode {
    /// The integer sent on the wire.
    pub fn code(self) -> i32 {
        CODES.iter().find(|(op, _)| *op == self).map(|(_, c)| *c).expect("every opcode has a code")
    }

    /// The opcode for a wire integer, if ZooKeeper defines one.
    pub fn from_code(code: i32) -> Option<OpCode> {
        CODES.iter().find(|(_, c)| *c == code).map(|(op, _)| *op)
    }

    /// True for requests that become a transaction (and so take a zxid even
    /// when they fail, a malformed body included: ZooKeeper logs an error txn).
    pub fn is_txn(self) -> bool {
        matches!(
            self,
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::Reconfig
                | OpCode::CreateSession
                | OpCode::CloseSession
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Codes are unique and map back to their opcode.
    #[test]
    fn codes_round_trip() {
        for (op, c) in CODES {
            assert_eq!(op.code(), *c);
            assert_eq!(OpCode::from_code(*c), Some(*op));
        }
        assert_eq!(OpCode::from_code(10), None);
    }
}
