//! `Data`: a znode's payload, shared between the tree, transactions and
//! replies. ZooKeeper distinguishes null data from empty data (getData
//! returns null for a node created with null), so this can be null too.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::Deref;
use std::sync::Arc;

/// A znode's payload: bytes, or null. Null reads as an empty slice.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Data(Option<Arc<[u8]>>);

impl Data {
    /// Null data, as a client sends with a null buffer.
    pub const NULL: Data = Data(None);

    /// True for null data (distinct from empty).
    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes, or `None` for null: what the wire's buffer field carries.
    pub fn as_option(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl Deref for Data {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl From<&[u8]> for Data {
    fn from(bytes: &[u8]) -> Data {
        Data(Some(Arc::from(bytes)))
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(bytes: &[u8; N]) -> Data {
        Data(Some(Arc::from(&bytes[..])))
    }
}

impl From<Vec<u8>> for Data {
    fn from(bytes: Vec<u8>) -> Data {
        Data(Some(Arc::from(bytes)))
    }
}

impl From<Option<Vec<u8>>> for Data {
    fn from(bytes: Option<Vec<u8>>) -> Data {
        Data(bytes.map(Arc::from))
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => write!(f, "null"),
            Some(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
        }
    }
}

impl Serialize for Data {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_deref().map(serde_bytes::Bytes::new).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        Ok(Data::from(Option::<serde_bytes::ByteBuf>::deserialize(d)?.map(serde_bytes::ByteBuf::into_vec)))
    }
}
