//! multi (op 14) and multiRead (op 22): a list of ops, each behind a
//! `MultiHeader{type, done=false, err=−1}`, ended by `MultiHeader{−1, true, −1}`;
//! the response is the same shape, one result per op (`MultiOperationRecord`,
//! `MultiResponse`).

use crate::proto::jute::{DecodeError, DecodeErrorKind, Reader, Record, Writer};
use crate::proto::opcode::OpCode;
use crate::proto::records::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest, DeleteRequest, ErrorResponse,
    GetChildrenRequest, GetChildrenResponse, GetDataRequest, GetDataResponse, MultiHeader, SetDataRequest, SetDataResponse,
};

/// One op of a multi or multiRead request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiOp {
    /// create, create2 or createContainer: ZooKeeper reads all three as a
    /// `CreateRequest` and takes the node's mode from the flags alone.
    Create {
        /// Which of the three the header named (`Create`, `Create2` or `CreateContainer`).
        opcode: OpCode,
        /// The request.
        request: CreateRequest,
    },
    /// createTTL.
    CreateTtl(CreateTtlRequest),
    /// delete.
    Delete(DeleteRequest),
    /// setData.
    SetData(SetDataRequest),
    /// check.
    Check(CheckVersionRequest),
    /// getData (multiRead only); its watch flag is ignored, as in ZooKeeper.
    GetData(GetDataRequest),
    /// getChildren (multiRead only); its watch flag is ignored.
    GetChildren(GetChildrenRequest),
}

impl MultiOp {
    /// The opcode in the op's header.
    pub fn opcode(&self) -> OpCode {
        match self {
            MultiOp::Create { opcode, .. } => *opcode,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetData(_) => OpCode::GetData,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
        }
    }

    /// True for the ops only multiRead may hold.
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetData(_) | MultiOp::GetChildren(_))
    }
}

/// The body of a multi or multiRead request.
///
/// Decoding enforces ZooKeeper's rules: only ops 1, 2, 4, 5, 8, 13, 15, 19
/// and 21 may appear, and reads and writes may not be mixed; breaking either
/// is a decode error (ZooKeeper answers MarshallingError). Which kind a
/// request may hold depends on its opcode and is checked by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiRequest {
    /// The ops, in order.
    pub ops: Vec<MultiOp>,
}

impl Record for MultiRequest {
    fn write(&self, w: &mut Writer<'_>) {
        for op in &self.ops {
            w.record(&MultiHeader { opcode: op.opcode().code(), done: false, err: -1 });
            match op {
                MultiOp::Create { opcode, request } => {
                    assert!(
                        matches!(opcode, OpCode::Create | OpCode::Create2 | OpCode::CreateContainer),
                        "a multi create op carries a create opcode, not {opcode:?}"
                    );
                    w.record(request)
                }
                MultiOp::CreateTtl(request) => w.record(request),
                MultiOp::Delete(request) | MultiOp::Check(request) => w.record(request),
                MultiOp::SetData(request) => w.record(request),
                MultiOp::GetData(request) | MultiOp::GetChildren(request) => w.record(request),
            }
        }
        w.record(&MultiHeader::DONE);
    }

    fn read(r: &mut Reader<'_>) -> Result<MultiRequest, DecodeError> {
        let mut ops: Vec<MultiOp> = Vec::new();
        loop {
            let at = r.position();
            let header: MultiHeader = r.record()?;
            if header.done {
                return Ok(MultiRequest { ops });
            }
            let op = match OpCode::from_code(header.opcode) {
                Some(opcode @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)) => {
                    MultiOp::Create { opcode, request: r.record()? }
                }
                Some(OpCode::CreateTtl) => MultiOp::CreateTtl(r.record()?),
                Some(OpCode::Delete) => MultiOp::Delete(r.record()?),
                Some(OpCode::SetData) => MultiOp::SetData(r.record()?),
                Some(OpCode::Check) => MultiOp::Check(r.record()?),
                Some(OpCode::GetData) => MultiOp::GetData(r.record()?),
                Some(OpCode::GetChildren) => MultiOp::GetChildren(r.record()?),
                _ => return Err(r.error("MultiHeader.type", at, DecodeErrorKind::InvalidValue(header.opcode.into()))),
            };
            if ops.first().is_some_and(|first| first.is_read() != op.is_read()) {
                return Err(r.error("MultiHeader.type", at, DecodeErrorKind::MixedMultiOps));
            }
            ops.push(op);
        }
    }
}

/// One result of a multi or multiRead response, typed by its header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MultiResult {
    /// Type 1: a create of a persistent, ephemeral or sequential node.
    Create(CreateResponse),
    /// Type 15: a create of a container or TTL node.
    Create2(Create2Response),
    /// Type 2, no body.
    Delete,
    /// Type 5.
    SetData(SetDataResponse),
    /// Type 13, no body.
    Check,
    /// Type 4 (multiRead).
    GetData(GetDataResponse),
    /// Type 8 (multiRead), names only.
    GetChildren(GetChildrenResponse),
    /// Type −1 with `ErrorResponse{err}`: the op failed, or (0 / −2) it did
    /// not fail but the multi did.
    Error(i32),
}

impl MultiResult {
    /// The opcode in the result's header.
    pub fn opcode(&self) -> OpCode {
        match self {
            MultiResult::Create(_) => OpCode::Create,
            MultiResult::Create2(_) => OpCode::Create2,
            MultiResult::Delete => OpCode::Delete,
            MultiResult::SetData(_) => OpCode::SetData,
            MultiResult::Check => OpCode::Check,
            MultiResult::GetData(_) => OpCode::GetData,
            MultiResult::GetChildren(_) => OpCode::GetChildren,
            MultiResult::Error(_) => OpCode::Error,
        }
    }
}

/// The body of a multi or multiRead response (its `ReplyHeader` err is 0 even when the multi failed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiResponse {
    /// One result per op, in order.
    pub results: Vec<MultiResult>,
}

impl Record for MultiResponse {
    fn write(&self, w: &mut Writer<'_>) {
        for result in &self.results {
            let err = if let MultiResult::Error(code) = result { *code } else { 0 };
            w.record(&MultiHeader { opcode: result.opcode().code(), done: false, err });
            match result {
                MultiResult::Create(body) => w.record(body),
                MultiResult::Create2(body) => w.record(body),
                MultiResult::Delete | MultiResult::Check => {}
                MultiResult::SetData(body) => w.record(body),
                MultiResult::GetData(body) => w.record(body),
                MultiResult::GetChildren(body) => w.record(body),
                MultiResult::Error(code) => w.record(&ErrorResponse { err: *code }),
            }
        }
        w.record(&MultiHeader::DONE);
    }

    fn read(r: &mut Reader<'_>) -> Result<MultiResponse, DecodeError> {
        let mut results = Vec::new();
        loop {
            let at = r.position();
            let header: MultiHeader = r.record()?;
            if header.done {
                return Ok(MultiResponse { results });
            }
            results.push(match OpCode::from_code(header.opcode) {
                Some(OpCode::Create) => MultiResult::Create(r.record()?),
                Some(OpCode::Create2) => MultiResult::Create2(r.record()?),
                Some(OpCode::Delete) => MultiResult::Delete,
                Some(OpCode::SetData) => MultiResult::SetData(r.record()?),
                Some(OpCode::Check) => MultiResult::Check,
                Some(OpCode::GetData) => MultiResult::GetData(r.record()?),
                Some(OpCode::GetChildren) => MultiResult::GetChildren(r.record()?),
                // The body's code is authoritative, as in ZooKeeper's client.
                Some(OpCode::Error) => MultiResult::Error(r.record::<ErrorResponse>()?.err),
                _ => return Err(r.error("MultiHeader.type", at, DecodeErrorKind::InvalidValue(header.opcode.into()))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::PathVersionRequest;

    // A one-op multi is the op's header and body, then the 9-byte terminator {-1, true, -1}.
    #[test]
    fn multi_request_golden_bytes() {
        let req = MultiRequest { ops: vec![MultiOp::Delete(PathVersionRequest { path: "/a".into(), version: 3 })] };
        let bytes = req.to_bytes();
        assert_eq!(
            bytes,
            [0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 2, b'/', b'a', 0, 0, 0, 3, 0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(MultiRequest::from_bytes(&bytes), Ok(req));
    }

    // A failed multi's results are all type -1 with the code in both the header and an ErrorResponse body.
    #[test]
    fn failed_multi_response_golden_bytes() {
        let resp = MultiResponse { results: vec![MultiResult::Error(0), MultiResult::Error(-101), MultiResult::Error(-2)] };
        let bytes = resp.to_bytes();
        let mut want = Vec::new();
        for code in [0i32, -101, -2] {
            want.extend((-1i32).to_be_bytes());
            want.push(0);
            want.extend(code.to_be_bytes());
            want.extend(code.to_be_bytes());
        }
        want.extend([0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(bytes, want);
        assert_eq!(MultiResponse::from_bytes(&bytes), Ok(resp));
    }

    // Mixing reads and writes, or an op multi does not allow, is refused at that op's header.
    #[test]
    fn refuses_mixed_and_foreign_ops() {
        let mixed = MultiRequest {
            ops: vec![
                MultiOp::Check(PathVersionRequest { path: "/a".into(), version: 1 }),
                MultiOp::GetData(crate::proto::records::PathWatchRequest { path: "/a".into(), watch: false }),
            ],
        };
        let bytes = mixed.to_bytes();
        let err = MultiRequest::from_bytes(&bytes).unwrap_err();
        assert_eq!((err.offset, err.kind), (19, DecodeErrorKind::MixedMultiOps));

        let mut foreign = Vec::new();
        MultiHeader { opcode: 7, done: false, err: -1 }.write(&mut Writer::new(&mut foreign));
        let err = MultiRequest::from_bytes(&foreign).unwrap_err();
        assert_eq!((err.field, err.offset, err.kind), ("MultiHeader.type", 0, DecodeErrorKind::InvalidValue(7)));
    }
}
