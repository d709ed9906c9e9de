//! Response bodies, which follow a `ReplyHeader` whose err is 0.
//! Records that share a layout share a struct; the jute names are aliases.

use crate::acl::Acl;
use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::proto::records::data::{read_acl_list, write_acl_list, ClientInfo};
use crate::tree::Stat;

/// A lone path: `CreateResponse` (op 1) and `SyncResponse` (op 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathResponse {
    /// The created node's actual path, or the synced path.
    pub path: String,
}

/// `CreateResponse`.
pub type CreateResponse = PathResponse;
/// `SyncResponse`.
pub type SyncResponse = PathResponse;

impl Record for PathResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
    }

    fn read(r: &mut Reader<'_>) -> Result<PathResponse, DecodeError> {
        Ok(PathResponse { path: r.string("PathResponse.path")? })
    }
}

/// `Create2Response` (ops 15, 19, 21).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Create2Response {
    /// The created node's actual path.
    pub path: String,
    /// Its Stat.
    pub stat: Stat,
}

impl Record for Create2Response {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.record(&self.stat);
    }

    fn read(r: &mut Reader<'_>) -> Result<Create2Response, DecodeError> {
        Ok(Create2Response { path: r.string("Create2Response.path")?, stat: r.record()? })
    }
}

/// A lone Stat: `ExistsResponse` (3), `SetDataResponse` (5, and 13 standalone), `SetACLResponse` (7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatResponse {
    /// The node's Stat.
    pub stat: Stat,
}

/// `ExistsResponse`.
pub type ExistsResponse = StatResponse;
/// `SetDataResponse`.
pub type SetDataResponse = StatResponse;
/// `SetACLResponse`.
pub type SetAclResponse = StatResponse;

impl Record for StatResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.record(&self.stat);
    }

    fn read(r: &mut Reader<'_>) -> Result<StatResponse, DecodeError> {
        Ok(StatResponse { stat: r.record()? })
    }
}

/// `GetDataResponse` (op 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetDataResponse {
    /// The node's data; `None` is a null buffer.
    pub data: Option<Vec<u8>>,
    /// The node's Stat.
    pub stat: Stat,
}

impl Record for GetDataResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.buffer(self.data.as_deref());
        w.record(&self.stat);
    }

    fn read(r: &mut Reader<'_>) -> Result<GetDataResponse, DecodeError> {
        Ok(GetDataResponse { data: r.buffer("GetDataResponse.data")?, stat: r.record()? })
    }
}

/// `GetACLResponse` (op 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetAclResponse {
    /// The ACL.
    pub acl: Vec<Acl>,
    /// The node's Stat.
    pub stat: Stat,
}

impl Record for GetAclResponse {
    fn write(&self, w: &mut Writer<'_>) {
        write_acl_list(w, &self.acl);
        w.record(&self.stat);
    }

    fn read(r: &mut Reader<'_>) -> Result<GetAclResponse, DecodeError> {
        Ok(GetAclResponse { acl: read_acl_list(r, "GetACLResponse.acl")?, stat: r.record()? })
    }
}

/// A list of names or paths: `GetChildrenResponse` (op 8) and `GetEphemeralsResponse` (op 103).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathsResponse {
    /// Child names, or ephemeral paths.
    pub paths: Vec<String>,
}

/// `GetChildrenResponse`.
pub type GetChildrenResponse = PathsResponse;
/// `GetEphemeralsResponse`.
pub type GetEphemeralsResponse = PathsResponse;

impl Record for PathsResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.string_vector(&self.paths);
    }

    fn read(r: &mut Reader<'_>) -> Result<PathsResponse, DecodeError> {
        Ok(PathsResponse { paths: r.string_vector("PathsResponse.paths")?.unwrap_or_default() })
    }
}

/// `GetChildren2Response` (op 12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetChildren2Response {
    /// Child names.
    pub children: Vec<String>,
    /// The parent's Stat.
    pub stat: Stat,
}

impl Record for GetChildren2Response {
    fn write(&self, w: &mut Writer<'_>) {
        w.string_vector(&self.children);
        w.record(&self.stat);
    }

    fn read(r: &mut Reader<'_>) -> Result<GetChildren2Response, DecodeError> {
        Ok(GetChildren2Response { children: r.string_vector("GetChildren2Response.children")?.unwrap_or_default(), stat: r.record()? })
    }
}

/// `GetAllChildrenNumberResponse` (op 104).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GetAllChildrenNumberResponse {
    /// Number of descendants.
    pub total_number: i32,
}

impl Record for GetAllChildrenNumberResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.total_number);
    }

    fn read(r: &mut Reader<'_>) -> Result<GetAllChildrenNumberResponse, DecodeError> {
        Ok(GetAllChildrenNumberResponse { total_number: r.int("GetAllChildrenNumberResponse.totalNumber")? })
    }
}

/// `ErrorResponse`: a result code as a body (multi error results, addWatch).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    /// The result code.
    pub err: i32,
}

impl Record for ErrorResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.err);
    }

    fn read(r: &mut Reader<'_>) -> Result<ErrorResponse, DecodeError> {
        Ok(ErrorResponse { err: r.int("ErrorResponse.err")? })
    }
}

/// `WhoAmIResponse` (op 107).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhoAmIResponse {
    /// One entry per authenticated id of the session.
    pub client_info: Vec<ClientInfo>,
}

impl Record for WhoAmIResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.vector(Some(&self.client_info), |w, c| w.record(c));
    }

    fn read(r: &mut Reader<'_>) -> Result<WhoAmIResponse, DecodeError> {
        Ok(WhoAmIResponse { client_info: r.vector("WhoAmIResponse.clientInfo", 8, |r| r.record())?.unwrap_or_default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::records::STAT_LEN;

    // A GetData response is the data buffer followed by a 68-byte Stat.
    #[test]
    fn get_data_response_layout() {
        let bytes = GetDataResponse { data: Some(b"xyz".to_vec()), stat: Stat::default() }.to_bytes();
        assert_eq!(bytes.len(), 4 + 3 + STAT_LEN);
        assert_eq!(&bytes[..7], &[0, 0, 0, 3, b'x', b'y', b'z']);
    }
}
