//! Request bodies (`org.apache.zookeeper.proto`), which follow a `RequestHeader`.
//! Records that share a layout share a struct; the jute names are aliases.

use crate::acl::Acl;
use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::proto::records::data::{read_acl_list, write_acl_list};

/// `CreateRequest` (ops 1, 15, 19).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateRequest {
    /// The requested path, before any sequential suffix.
    pub path: String,
    /// Initial data; `None` is a null buffer.
    pub data: Option<Vec<u8>>,
    /// Requested ACL (null reads as empty: both are InvalidACL).
    pub acl: Vec<Acl>,
    /// The `CreateMode` flag.
    pub flags: i32,
}

impl Record for CreateRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.buffer(self.data.as_deref());
        write_acl_list(w, &self.acl);
        w.int(self.flags);
    }

    fn read(r: &mut Reader<'_>) -> Result<CreateRequest, DecodeError> {
        Ok(CreateRequest {
            path: r.string("CreateRequest.path")?,
            data: r.buffer("CreateRequest.data")?,
            acl: read_acl_list(r, "CreateRequest.acl")?,
            flags: r.int("CreateRequest.flags")?,
        })
    }
}

/// `CreateTTLRequest` (op 21): `CreateRequest` plus a TTL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateTtlRequest {
    /// The requested path.
    pub path: String,
    /// Initial data; `None` is a null buffer.
    pub data: Option<Vec<u8>>,
    /// Requested ACL.
    pub acl: Vec<Acl>,
    /// The `CreateMode` flag.
    pub flags: i32,
    /// Time to live, ms.
    pub ttl_ms: i64,
}

impl Record for CreateTtlRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.buffer(self.data.as_deref());
        write_acl_list(w, &self.acl);
        w.int(self.flags);
        w.long(self.ttl_ms);
    }

    fn read(r: &mut Reader<'_>) -> Result<CreateTtlRequest, DecodeError> {
        Ok(CreateTtlRequest {
            path: r.string("CreateTTLRequest.path")?,
            data: r.buffer("CreateTTLRequest.data")?,
            acl: read_acl_list(r, "CreateTTLRequest.acl")?,
            flags: r.int("CreateTTLRequest.flags")?,
            ttl_ms: r.long("CreateTTLRequest.ttl")?,
        })
    }
}

/// A path and an expected version: `DeleteRequest` (op 2) and `CheckVersionRequest` (op 13).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathVersionRequest {
    /// The node.
    pub path: String,
    /// Expected version, −1 for any.
    pub version: i32,
}

/// `DeleteRequest`.
pub type DeleteRequest = PathVersionRequest;
/// `CheckVersionRequest`.
pub type CheckVersionRequest = PathVersionRequest;

impl Record for PathVersionRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.int(self.version);
    }

    fn read(r: &mut Reader<'_>) -> Result<PathVersionRequest, DecodeError> {
        Ok(PathVersionRequest { path: r.string("PathVersionRequest.path")?, version: r.int("PathVersionRequest.version")? })
    }
}

/// A path and a watch flag: `ExistsRequest` (3), `GetDataRequest` (4),
/// `GetChildrenRequest` (8) and `GetChildren2Request` (12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathWatchRequest {
    /// The node.
    pub path: String,
    /// Whether to leave a one-shot watch.
    pub watch: bool,
}

/// `ExistsRequest`.
pub type ExistsRequest = PathWatchRequest;
/// `GetDataRequest`.
pub type GetDataRequest = PathWatchRequest;
/// `GetChildrenRequest`.
pub type GetChildrenRequest = PathWatchRequest;
/// `GetChildren2Request`.
pub type GetChildren2Request = PathWatchRequest;

impl Record for PathWatchRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.bool(self.watch);
    }

    fn read(r: &mut Reader<'_>) -> Result<PathWatchRequest, DecodeError> {
        Ok(PathWatchRequest { path: r.string("PathWatchRequest.path")?, watch: r.bool("PathWatchRequest.watch")? })
    }
}

/// A lone path: `GetACLRequest` (6), `SyncRequest` (9), `GetAllChildrenNumberRequest` (104).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRequest {
    /// The node.
    pub path: String,
}

/// `GetACLRequest`.
pub type GetAclRequest = PathRequest;
/// `SyncRequest`.
pub type SyncRequest = PathRequest;
/// `GetAllChildrenNumberRequest`.
pub type GetAllChildrenNumberRequest = PathRequest;

impl Record for PathRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
    }

    fn read(r: &mut Reader<'_>) -> Result<PathRequest, DecodeError> {
        Ok(PathRequest { path: r.string("PathRequest.path")? })
    }
}

/// `SetDataRequest` (op 5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetDataRequest {
    /// The node.
    pub path: String,
    /// New data; `None` is a null buffer.
    pub data: Option<Vec<u8>>,
    /// Expected version, −1 for any.
    pub version: i32,
}

impl Record for SetDataRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        w.buffer(self.data.as_deref());
        w.int(self.version);
    }

    fn read(r: &mut Reader<'_>) -> Result<SetDataRequest, DecodeError> {
        Ok(SetDataRequest {
            path: r.string("SetDataRequest.path")?,
            data: r.buffer("SetDataRequest.data")?,
            version: r.int("SetDataRequest.version")?,
        })
    }
}

/// `SetACLRequest` (op 7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAclRequest {
    /// The node.
    pub path: String,
    /// The new ACL (null reads as empty: both are InvalidACL).
    pub acl: Vec<Acl>,
    /// Expected aversion, −1 for any.
    pub version: i32,
}

impl Record for SetAclRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.string(&self.path);
        write_acl_list(w, &self.acl);
        w.int(self.version);
    }

    fn read(r: &mut Reader<'_>) -> Result<SetAclRequest, DecodeError> {
        Ok(SetAclRequest {
            path: r.string("SetACLRequest.path")?,
            acl: read_acl_list(r, "SetACLRequest.acl")?,
            version: r.int("SetACLRequest.version")?,
        })
    }
}

/// `ReconfigRequest` (op 16); decoded only, since reconfig is not offered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconfigRequest {
    /// Servers to add (incremental reconfig), or null.
    pub joining_servers: Option<String>,
    /// Servers to remove, or null.
    pub leaving_servers: Option<String>,
    /// The whole new membership (non-incremental), or null.
    pub new_members: Option<String>,
    /// The config version the change applies to, −1 for any.
    pub cur_config_id: i64,
}

impl Record for ReconfigRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.ustring(self.joining_servers.as_deref());
        w.ustring(self.leaving_servers.as_deref());
        w.ustring(self.new_members.as_deref());
        w.long(self.cur_config_id);
    }

    fn read(r: &mut Reader<'_>) -> Result<ReconfigRequest, DecodeError> {
        Ok(ReconfigRequest {
            joining_servers: r.ustring("ReconfigRequest.joiningServers")?,
            leaving_servers: r.ustring("ReconfigRequest.leavingServers")?,
            new_members: r.ustring("ReconfigRequest.newMembers")?,
            cur_config_id: r.long("ReconfigRequest.curConfigId")?,
        })
    }
}

/// `AuthPacket` (op 100): `addauth scheme auth`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPacket {
    /// Always 0; ignored.
    pub auth_type: i32,
    /// The scheme (`digest`, ...).
    pub scheme: String,
    /// The credentials (`user:password` for digest); `None` is a null
    /// buffer, which ZooKeeper's digest provider fails with AuthFailed.
    pub auth: Option<Vec<u8>>,
}

impl Record for AuthPacket {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.auth_type);
        w.string(&self.scheme);
        w.buffer(self.auth.as_deref());
    }

    fn read(r: &mut Reader<'_>) -> Result<AuthPacket, DecodeError> {
        Ok(AuthPacket { auth_type: r.int("AuthPacket.type")?, scheme: r.string("AuthPacket.scheme")?, auth: r.buffer("AuthPacket.auth")? })
    }
}

/// A SASL token: `GetSASLRequest` (op 102) and `SetSASLResponse`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaslToken {
    /// The token; `None` is a null buffer.
    pub token: Option<Vec<u8>>,
}

/// `GetSASLRequest`.
pub type GetSaslRequest = SaslToken;
/// `SetSASLResponse`.
pub type SetSaslResponse = SaslToken;

impl Record for SaslToken {
    fn write(&self, w: &mut Writer<'_>) {
        w.buffer(self.token.as_deref());
    }

    fn read(r: &mut Reader<'_>) -> Result<SaslToken, DecodeError> {
        Ok(SaslToken { token: r.buffer("SaslToken.token")? })
    }
}

/// `GetEphemeralsRequest` (op 103).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetEphemeralsRequest {
    /// Only ephemerals under this prefix; null, blank or "/" means all.
    pub prefix_path: Option<String>,
}

impl Record for GetEphemeralsRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.ustring(self.prefix_path.as_deref());
    }

    fn read(r: &mut Reader<'_>) -> Result<GetEphemeralsRequest, DecodeError> {
        Ok(GetEphemeralsRequest { prefix_path: r.ustring("GetEphemeralsRequest.prefixPath")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl;

    // A create request is path, data, ACL vector, flags, in that order.
    #[test]
    fn create_request_golden_bytes() {
        let req = CreateRequest { path: "/a".into(), data: Some(b"v".to_vec()), acl: acl::open_acl_unsafe(), flags: 1 };
        let mut want = vec![0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, b'v', 0, 0, 0, 1, 0, 0, 0, 31];
        want.extend([0, 0, 0, 5]);
        want.extend(b"world");
        want.extend([0, 0, 0, 6]);
        want.extend(b"anyone");
        want.extend([0, 0, 0, 1]);
        assert_eq!(req.to_bytes(), want);
        assert_eq!(CreateRequest::from_bytes(&want), Ok(req));
    }

    // A null path is refused with the field named; null data is kept as null.
    #[test]
    fn nulls_in_requests() {
        let null_path = [0xff, 0xff, 0xff, 0xff, 0];
        assert_eq!(PathWatchRequest::from_bytes(&null_path).unwrap_err().field, "PathWatchRequest.path");
        let req = SetDataRequest { path: "/a".into(), data: None, version: -1 };
        assert_eq!(SetDataRequest::from_bytes(&req.to_bytes()), Ok(req));
    }
}
