//! Identifiers that cross module boundaries: `Zxid`, `Epoch`, `ServerId`, `SessionId`, `ConnId`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A leader epoch: the high 32 bits of a zxid.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Epoch(pub u32);

/// A ZooKeeper transaction id: `epoch << 32 | counter`.
///
/// Field order makes the derived ordering equal to the ordering of the 64-bit
/// encoding, which is how ZooKeeper compares zxids.
#[derive(Copy, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Zxid {
    /// The epoch of the leader that proposed the transaction.
    pub epoch: Epoch,
    /// The position of the transaction within its epoch.
    pub counter: u32,
}

impl Zxid {
    /// The zxid before any transaction.
    pub const ZERO: Zxid = Zxid { epoch: Epoch(0), counter: 0 };

    /// Builds a zxid from its two halves.
    pub const fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid { epoch: Epoch(epoch), counter }
    }

    /// The 64-bit encoding used on the wire and in files.
    pub const fn to_u64(self) -> u64 {
        ((self.epoch.0 as u64) << 32) | self.counter as u64
    }

    /// Decodes the 64-bit encoding.
    pub const fn from_u64(raw: u64) -> Zxid {
        Zxid { epoch: Epoch((raw >> 32) as u32), counter: raw as u32 }
    }

    /// The signed form Java's `long` shows to clients.
    pub const fn to_i64(self) -> i64 {
        self.to_u64() as i64
    }

    /// Decodes the signed form a client sends.
    pub const fn from_i64(raw: i64) -> Zxid {
        Zxid::from_u64(raw as u64)
    }

    /// The next zxid in the same epoch.
    ///
    /// # Panics
    /// When the counter would wrap: ZooKeeper forces a new election before that
    /// happens, and so must the leader here.
    pub fn next(self) -> Zxid {
        let counter = self.counter.checked_add(1).expect("zxid counter exhausted within one epoch");
        Zxid { epoch: self.epoch, counter }
    }
}

impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.to_u64())
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.to_u64())
    }
}

/// A server's `myid`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServerId(pub u64);

/// A client session id, as ZooKeeper's signed 64-bit `long`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SessionId(pub i64);

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// A client connection, numbered by the host that accepted it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnId(pub u64);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // The struct ordering and the 64-bit encoding order agree, and the encoding round-trips.
        #[test]
        fn ordering_matches_encoding(a: u64, b: u64) {
            let (za, zb) = (Zxid::from_u64(a), Zxid::from_u64(b));
            prop_assert_eq!(za.cmp(&zb), a.cmp(&b));
            prop_assert_eq!(za.to_u64(), a);
            prop_assert_eq!(Zxid::from_i64(za.to_i64()), za);
        }
    }

    // A new leader's first zxid is (epoch, 0) and outranks everything of older epochs.
    #[test]
    fn new_epoch_outranks_old() {
        assert!(Zxid::new(2, 0) > Zxid::new(1, u32::MAX));
        assert_eq!(Zxid::new(1, 5).to_u64(), 0x1_0000_0005);
        assert_eq!(Zxid::new(1, 5).next(), Zxid::new(1, 6));
    }
}
