//! The headers in front of every request and reply.

use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::zxid::Zxid;

/// Bytes in an encoded `RequestHeader`.
pub const REQUEST_HEADER_LEN: usize = 8;
/// Bytes in an encoded `ReplyHeader`: a bare error reply is exactly this.
pub const REPLY_HEADER_LEN: usize = 16;

/// `RequestHeader`: the client's request number and the request type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RequestHeader {
    /// The client's request number, echoed in the reply.
    pub xid: i32,
    /// The raw opcode (see `OpCode::from_code`).
    pub opcode: i32,
}

impl Record for RequestHeader {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.xid);
        w.int(self.opcode);
    }

    fn read(r: &mut Reader<'_>) -> Result<RequestHeader, DecodeError> {
        Ok(RequestHeader { xid: r.int("RequestHeader.xid")?, opcode: r.int("RequestHeader.type")? })
    }
}

/// `ReplyHeader`: which request this answers, the zxid it reflects, and the result code.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The request's xid, or a reserved one (−1 notification, −2 ping).
    pub xid: i32,
    /// The zxid the reply reflects; −1 for notifications up to 3.8.
    pub zxid: Zxid,
    /// The result code (`ErrorCode::code`); 0 is success.
    pub err: i32,
}

impl Record for ReplyHeader {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.xid);
        w.long(self.zxid.to_i64());
        w.int(self.err);
    }

    fn read(r: &mut Reader<'_>) -> Result<ReplyHeader, DecodeError> {
        Ok(ReplyHeader {
            xid: r.int("ReplyHeader.xid")?,
            zxid: Zxid::from_i64(r.long("ReplyHeader.zxid")?),
            err: r.int("ReplyHeader.err")?,
        })
    }
}

/// `MultiHeader`: precedes each op (and each result) of a multi; `done` ends the list.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MultiHeader {
    /// The op's opcode, −1 for an error result or the terminator.
    pub opcode: i32,
    /// True only on the terminator.
    pub done: bool,
    /// −1 in requests; the result code in results.
    pub err: i32,
}

impl MultiHeader {
    /// The header that ends a multi request or response.
    pub const DONE: MultiHeader = MultiHeader { opcode: -1, done: true, err: -1 };
}

impl Record for MultiHeader {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.opcode);
        w.bool(self.done);
        w.int(self.err);
    }

    fn read(r: &mut Reader<'_>) -> Result<MultiHeader, DecodeError> {
        Ok(MultiHeader { opcode: r.int("MultiHeader.type")?, done: r.bool("MultiHeader.done")?, err: r.int("MultiHeader.err")? })
    }
}
