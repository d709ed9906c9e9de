//! Every jute record of the client protocol, field for field.
//!
//! Where a field may be null on the wire the record keeps an `Option`, except
//! where ZooKeeper treats null exactly as empty (ACL lists, watch lists,
//! passwords), which read as empty. A null path is a decode error.

mod connect;
mod data;
mod header;
mod request;
mod response;
mod watch;

pub use connect::{
    ConnectRequest, ConnectResponse, CONNECT_REQUEST_LEN_WITHOUT_READ_ONLY, CONNECT_RESPONSE_LEN_WITHOUT_READ_ONLY, PASSWORD_LEN,
};
pub use data::{ClientInfo, STAT_LEN};
pub use header::{MultiHeader, ReplyHeader, RequestHeader, REPLY_HEADER_LEN, REQUEST_HEADER_LEN};
pub use request::{
    AuthPacket, CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, ExistsRequest, GetAclRequest,
    GetAllChildrenNumberRequest, GetChildren2Request, GetChildrenRequest, GetDataRequest, GetEphemeralsRequest, GetSaslRequest,
    PathRequest, PathVersionRequest, PathWatchRequest, ReconfigRequest, SaslToken, SetAclRequest, SetDataRequest, SetSaslResponse,
    SyncRequest,
};
pub use response::{
    Create2Response, CreateResponse, ErrorResponse, ExistsResponse, GetAclResponse, GetAllChildrenNumberResponse, GetChildren2Response,
    GetChildrenResponse, GetDataResponse, GetEphemeralsResponse, PathResponse, PathsResponse, SetAclResponse, SetDataResponse,
    StatResponse, SyncResponse, WhoAmIResponse,
};
pub use watch::{
    event_type_from_code, watcher_type_code, AddWatchMode, AddWatchRequest, CheckWatchesRequest, EventType, KeeperState,
    RemoveWatchesRequest, SetWatches, SetWatches2, WatcherEvent, WatcherType, WatchesRequest,
};

pub(crate) use data::write_acl_list;
