//! ZooKeeper's client-visible error codes (`KeeperException.Code`), one enum.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A client-visible result code, numbered as on ZooKeeper's wire.
///
/// `Ok` exists because multi results carry it for the operations before the
/// one that failed; everywhere else success is `Result::Ok`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[allow(missing_docs)]
pub enum ErrorCode {
    Ok,
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    UnknownSession,
    NewConfigNoQuorum,
    ReconfigInProgress,
    ApiError,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidAcl,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    RequestTimeout,
    ReconfigDisabled,
    SessionClosedRequireSaslAuth,
    QuotaExceeded,
    ThrottledOp,
}

const CODES: &[(ErrorCode, i32)] = &[
    (ErrorCode::Ok, 0),
    (ErrorCode::SystemError, -1),
    (ErrorCode::RuntimeInconsistency, -2),
    (ErrorCode::DataInconsistency, -3),
    (ErrorCode::ConnectionLoss, -4),
    (ErrorCode::MarshallingError, -5),
    (ErrorCode::Unimplemented, -6),
    (ErrorCode::OperationTimeout, -7),
    (ErrorCode::BadArguments, -8),
    (ErrorCode::UnknownSession, -12),
    (ErrorCode::NewConfigNoQuorum, -13),
    (ErrorCode::ReconfigInProgress, -14),
    (ErrorCode::ApiError, -100),
    (ErrorCode::NoNode, -101),
    (ErrorCode::NoAuth, -102),
    (ErrorCode::BadVersion, -103),
    (ErrorCode::NoChildrenForEphemerals, -108),
    (ErrorCode::NodeExists, -110),
    (ErrorCode::NotEmpty, -111),
    (ErrorCode::SessionExpired, -112),
    (ErrorCode::InvalidCallback, -113),
    (ErrorCode::InvalidAcl, -114),
    (ErrorCode::AuthFailed, -115),
    (ErrorCode::SessionMoved, -118),
    (ErrorCode::NotReadOnly, -119),
    (ErrorCode::EphemeralOnLocalSession, -120),
    (ErrorCode::NoWatcher, -121),
    (ErrorCode::RequestTimeout, -122),
    (ErrorCode::ReconfigDisabled, -123),
    (ErrorCode::SessionClosedRequireSaslAuth, -124),
    (ErrorCode::QuotaExceeded, -125),
    (ErrorCode::ThrottledOp, -127),
];

impl ErrorCode {
    /// The integer sent on the wire.
    pub fn code(self) -> i32 {
        CODES.iter().find(|(e, _)| *e == self).map(|(_, c)| *c).expect("every variant has a code")
    }

    /// The variant for a wire integer, if ZooKeeper defines it.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        CODES.iter().find(|(_, c)| *c == code).map(|(e, _)| *e)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} ({})", self, self.code())
    }
}

impl std::error::Error for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    // Every code maps back to its variant, and codes are unique.
    #[test]
    fn codes_round_trip() {
        for (e, c) in CODES {
            assert_eq!(e.code(), *c);
            assert_eq!(ErrorCode::from_code(*c), Some(*e));
        }
        assert_eq!(ErrorCode::from_code(-9999), None);
    }
}
