//! Jute, ZooKeeper's serialization: big-endian ints and longs, one-byte
//! booleans, length-prefixed strings, buffers and vectors where a length of
//! −1 means null. Records are their fields in order, with no tags or padding.
//!
//! The reader never panics, and what it allocates is bounded by a small
//! multiple of the input it was given: a length or count is checked against
//! the bytes that remain before anything is reserved, so a hostile length
//! costs nothing. (The multiple comes from in-memory sizes: a 12-byte ACL on
//! the wire is a larger struct, and an invalid UTF-8 byte becomes 3-byte U+FFFD.)

use std::fmt;

/// A jute record: a fixed sequence of fields that can be written and read back.
pub trait Record: Sized {
    /// Appends the record's fields to `w`.
    fn write(&self, w: &mut Writer<'_>);

    /// Reads the record's fields from `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Encodes the record alone, without a frame length.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(&mut Writer::new(&mut out));
        out
    }

    /// Decodes the record from the start of `bytes`; trailing bytes are
    /// ignored, as ZooKeeper's `BinaryInputArchive` ignores them.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::read(&mut Reader::new(bytes))
    }
}

/// Why a jute value could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The field being read, as `Record.field`.
    pub field: &'static str,
    /// Byte offset of the field's first byte within the decoded buffer.
    pub offset: usize,
    /// What was wrong with it.
    pub kind: DecodeErrorKind,
}

/// What was wrong with a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// A fixed-size value ran past the end of the input.
    Truncated {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A length or count below −1 (−1 itself means null).
    NegativeLength(i32),
    /// A length or count that the remaining bytes cannot hold.
    LengthExceedsInput {
        /// Bytes the declared length or count needs at least.
        needed: u64,
        /// Bytes that were left after the prefix.
        remaining: usize,
    },
    /// Null (−1) where the record needs a value, such as a path.
    UnexpectedNull,
    /// An integer outside the values the field allows (an unknown watcher type, say).
    InvalidValue(i64),
    /// A multi mixed read ops (getData, getChildren) with write ops, or its
    /// ops do not suit its opcode (reads in multi, writes in multiRead).
    MixedMultiOps,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: ", self.field, self.offset)?;
        match &self.kind {
            DecodeErrorKind::Truncated { needed, remaining } => write!(f, "needs {needed} bytes, {remaining} left"),
            DecodeErrorKind::NegativeLength(len) => write!(f, "negative length {len}"),
            DecodeErrorKind::LengthExceedsInput { needed, remaining } => {
                write!(f, "declared length needs {needed} bytes, {remaining} left")
            }
            DecodeErrorKind::UnexpectedNull => write!(f, "null where a value is required"),
            DecodeErrorKind::InvalidValue(v) => write!(f, "invalid value {v}"),
            DecodeErrorKind::MixedMultiOps => write!(f, "read and write ops mixed, or the wrong kind for the opcode"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Reads jute values from a byte slice, tracking the offset for error reports.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An error about the field starting at `offset`.
    pub fn error(&self, field: &'static str, offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { field, offset, kind }
    }

    /// A 4-byte big-endian int.
    pub fn int(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.take_array::<4>(field).map(i32::from_be_bytes)
    }

    /// An 8-byte big-endian long.
    pub fn long(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.take_array::<8>(field).map(i64::from_be_bytes)
    }

    /// A one-byte boolean; any non-zero byte is true, as Java's `readBoolean`.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        self.take_array::<1>(field).map(|[b]| b != 0)
    }

    /// A `ustring` that may be null.
    ///
    /// Invalid UTF-8 becomes U+FFFD rather than an error, because ZooKeeper
    /// decodes with Java's `new String(bytes, UTF_8)`, which does the same:
    /// a C client's Latin-1 path is accepted (mangled) there, so it is here.
    pub fn ustring(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        Ok(self.length_prefixed(field)?.map(|bytes| String::from_utf8_lossy(bytes).into_owned()))
    }

    /// A `ustring` that must not be null (a path, a scheme).
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let offset = self.pos;
        self.ustring(field)?.ok_or_else(|| self.error(field, offset, DecodeErrorKind::UnexpectedNull))
    }

    /// A `buffer` that may be null.
    pub fn buffer(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        Ok(self.length_prefixed(field)?.map(<[u8]>::to_vec))
    }

    /// A `vector<T>` that may be null; `min_element_len` is the fewest bytes one
    /// element can take, so that a count the input cannot hold is refused
    /// before any allocation.
    pub fn vector<T>(
        &mut self,
        field: &'static str,
        min_element_len: usize,
        mut element: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        assert!(min_element_len > 0, "every jute element takes at least one byte");
        let offset = self.pos;
        let count = self.int(field)?;
        if count == -1 {
            return Ok(None);
        }
        let count = self.checked_length(field, offset, count, min_element_len)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(element(self)?);
        }
        Ok(Some(items))
    }

    /// A vector of `ustring`s; null elements are refused.
    pub fn string_vector(&mut self, field: &'static str) -> Result<Option<Vec<String>>, DecodeError> {
        self.vector(field, 4, |r| r.string(field))
    }

    /// A nested record.
    pub fn record<R: Record>(&mut self) -> Result<R, DecodeError> {
        R::read(self)
    }

    /// The bytes of a length-prefixed value, or `None` for −1.
    fn length_prefixed(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        let offset = self.pos;
        let len = self.int(field)?;
        if len == -1 {
            return Ok(None);
        }
        let len = self.checked_length(field, offset, len, 1)?;
        let bytes = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(Some(bytes))
    }

    /// Checks a non-null length or count against the bytes left after its prefix.
    fn checked_length(&self, field: &'static str, offset: usize, len: i32, unit: usize) -> Result<usize, DecodeError> {
        if len < 0 {
            return Err(self.error(field, offset, DecodeErrorKind::NegativeLength(len)));
        }
        let needed = len as u64 * unit as u64;
        if needed > self.remaining() as u64 {
            return Err(self.error(field, offset, DecodeErrorKind::LengthExceedsInput { needed, remaining: self.remaining() }));
        }
        Ok(len as usize)
    }

    fn take_array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let remaining = self.remaining();
        if remaining < N {
            return Err(self.error(field, self.pos, DecodeErrorKind::Truncated { needed: N, remaining }));
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }
}

/// Appends jute values to a byte vector.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Writer<'a> {
    /// A writer appending to `buf`.
    pub fn new(buf: &'a mut Vec<u8>) -> Writer<'a> {
        Writer { buf }
    }

    /// A 4-byte big-endian int.
    pub fn int(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// An 8-byte big-endian long.
    pub fn long(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A one-byte boolean (1 or 0).
    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    /// A `ustring`; `None` is written as length −1.
    pub fn ustring(&mut self, v: Option<&str>) {
        self.buffer(v.map(str::as_bytes));
    }

    /// A non-null `ustring`.
    pub fn string(&mut self, v: &str) {
        self.buffer(Some(v.as_bytes()));
    }

    /// A `buffer`; `None` is written as length −1.
    pub fn buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.int(-1),
            Some(bytes) => {
                self.int(wire_len(bytes.len()));
                self.buf.extend_from_slice(bytes);
            }
        }
    }

    /// A `vector<T>`; `None` is written as count −1.
    pub fn vector<T>(&mut self, v: Option<&[T]>, mut element: impl FnMut(&mut Writer<'a>, &T)) {
        match v {
            None => self.int(-1),
            Some(items) => {
                self.int(wire_len(items.len()));
                for item in items {
                    element(self, item);
                }
            }
        }
    }

    /// A non-null vector of `ustring`s.
    pub fn string_vector<S: AsRef<str>>(&mut self, v: &[S]) {
        self.vector(Some(v), |w, s| w.string(s.as_ref()));
    }

    /// A nested record.
    pub fn record<R: Record>(&mut self, r: &R) {
        r.write(self);
    }
}

/// A length as jute's signed int; anything longer is a bug, since no frame
/// we send may exceed `jute.maxbuffer` anyway.
fn wire_len(len: usize) -> i32 {
    i32::try_from(len).expect("a jute length fits in an i32")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Primitives are big-endian and fixed-size, and read back as written.
    #[test]
    fn primitives_golden_bytes() {
        let mut out = Vec::new();
        let mut w = Writer::new(&mut out);
        w.int(-2);
        w.long(0x0102_0304_0506_0708);
        w.bool(true);
        w.ustring(None);
        w.string("é");
        w.buffer(Some(&[]));
        assert_eq!(out, [0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, 0xc3, 0xa9, 0, 0, 0, 0]);
        let mut r = Reader::new(&out);
        assert_eq!(r.int("a"), Ok(-2));
        assert_eq!(r.long("b"), Ok(0x0102_0304_0506_0708));
        assert_eq!(r.bool("c"), Ok(true));
        assert_eq!(r.ustring("d"), Ok(None));
        assert_eq!(r.string("e").as_deref(), Ok("é"));
        assert_eq!(r.buffer("f"), Ok(Some(vec![])));
        assert_eq!(r.remaining(), 0);
    }

    // A length larger than the input is refused before allocating, naming the field and offset.
    #[test]
    fn hostile_lengths_are_refused() {
        let bytes = [0, 0, 0, 7, 0x7f, 0xff, 0xff, 0xff, 1];
        let mut r = Reader::new(&bytes);
        r.int("x").unwrap();
        let err = r.buffer("Rec.data").unwrap_err();
        assert_eq!(err.field, "Rec.data");
        assert_eq!(err.offset, 4);
        assert_eq!(err.kind, DecodeErrorKind::LengthExceedsInput { needed: i32::MAX as u64, remaining: 1 });

        let bytes = [0x7f, 0xff, 0xff, 0xff];
        let err = Reader::new(&bytes).string_vector("Rec.list").unwrap_err();
        assert!(matches!(err.kind, DecodeErrorKind::LengthExceedsInput { .. }));

        let bytes = [0xff, 0xff, 0xff, 0xfe];
        let err = Reader::new(&bytes).buffer("Rec.data").unwrap_err();
        assert_eq!(err.kind, DecodeErrorKind::NegativeLength(-2));
    }

    // Null is −1 for strings, buffers and vectors; a required string refuses it.
    #[test]
    fn null_handling() {
        let bytes = [0xff; 4];
        assert_eq!(Reader::new(&bytes).ustring("s"), Ok(None));
        assert_eq!(Reader::new(&bytes).buffer("b"), Ok(None));
        assert_eq!(Reader::new(&bytes).string_vector("v"), Ok(None));
        assert_eq!(Reader::new(&bytes).string("Rec.path").unwrap_err().kind, DecodeErrorKind::UnexpectedNull);
    }

    // Invalid UTF-8 is replaced, not refused, as Java's String constructor does.
    #[test]
    fn invalid_utf8_is_replaced() {
        let bytes = [0, 0, 0, 2, b'/', 0xe9];
        assert_eq!(Reader::new(&bytes).string("p").as_deref(), Ok("/\u{fffd}"));
    }

    // Truncated fixed-size values report how much was needed.
    #[test]
    fn truncated_fixed_values() {
        let err = Reader::new(&[1, 2, 3]).long("Rec.zxid").unwrap_err();
        assert_eq!(err, DecodeError { field: "Rec.zxid", offset: 0, kind: DecodeErrorKind::Truncated { needed: 8, remaining: 3 } });
    }

    proptest! {
        // Every primitive round-trips, nulls included.
        #[test]
        fn primitives_round_trip(i: i32, l: i64, b: bool, s: Option<String>, buf: Option<Vec<u8>>, v: Option<Vec<String>>) {
            let mut out = Vec::new();
            let mut w = Writer::new(&mut out);
            w.int(i);
            w.long(l);
            w.bool(b);
            w.ustring(s.as_deref());
            w.buffer(buf.as_deref());
            w.vector(v.as_deref(), |w, s| w.string(s));
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.int("i")?, i);
            prop_assert_eq!(r.long("l")?, l);
            prop_assert_eq!(r.bool("b")?, b);
            prop_assert_eq!(r.ustring("s")?, s);
            prop_assert_eq!(r.buffer("buf")?, buf);
            prop_assert_eq!(r.string_vector("v")?, v);
            prop_assert_eq!(r.remaining(), 0);
        }
    }
}
