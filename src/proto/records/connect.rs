//! The connect handshake: the first frame each way on a connection, without
//! request or reply headers.

use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::zxid::{SessionId, Zxid};

/// Bytes in a `ConnectRequest` from a client that does not send `readOnly`.
pub const CONNECT_REQUEST_LEN_WITHOUT_READ_ONLY: usize = 44;
/// Bytes in a `ConnectResponse` to such a client.
pub const CONNECT_RESPONSE_LEN_WITHOUT_READ_ONLY: usize = 36;
/// Bytes in a session password.
pub const PASSWORD_LEN: usize = 16;

/// `ConnectRequest`, with the `readOnly` byte that clients append after the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// The last zxid the client has seen; a server behind it must refuse.
    pub last_zxid_seen: Zxid,
    /// The session timeout the client asks for.
    pub timeout_ms: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: SessionId,
    /// The session password (16 bytes; a null buffer reads as empty, which
    /// fails the password check just as ZooKeeper's null does).
    pub passwd: Vec<u8>,
    /// `Some` if the client sent the trailing readOnly byte (all 3.4+
    /// clients do); the response carries one back only then.
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.protocol_version);
        w.long(self.last_zxid_seen.to_i64());
        w.int(self.timeout_ms);
        w.long(self.session_id.0);
        w.buffer(Some(&self.passwd));
        if let Some(read_only) = self.read_only {
            w.bool(read_only);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<ConnectRequest, DecodeError> {
        Ok(ConnectRequest {
            protocol_version: r.int("ConnectRequest.protocolVersion")?,
            last_zxid_seen: Zxid::from_i64(r.long("ConnectRequest.lastZxidSeen")?),
            timeout_ms: r.int("ConnectRequest.timeOut")?,
            session_id: SessionId(r.long("ConnectRequest.sessionId")?),
            passwd: r.buffer("ConnectRequest.passwd")?.unwrap_or_default(),
            // ZooKeeper reads the byte in a try/catch: absent means an old client.
            read_only: if r.remaining() > 0 { Some(r.bool("ConnectRequest.readOnly")?) } else { None },
        })
    }
}

/// `ConnectResponse`, with the trailing `readOnly` byte when the request had one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// The negotiated session timeout; 0 refuses the session.
    pub timeout_ms: i32,
    /// The session id; 0 refuses the session.
    pub session_id: SessionId,
    /// The session password.
    pub passwd: Vec<u8>,
    /// Whether this server is read-only; `None` omits the byte, for clients
    /// that did not send one.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// Accepts `request`: the readOnly byte is sent only if the request had one.
    pub fn accept(request: &ConnectRequest, timeout_ms: i32, session_id: SessionId, passwd: Vec<u8>, read_only: bool) -> ConnectResponse {
        ConnectResponse { protocol_version: 0, timeout_ms, session_id, passwd, read_only: request.read_only.map(|_| read_only) }
    }

    /// The answer ZooKeeper gives an expired or unknown session or a wrong
    /// password: timeout 0, session 0, 16 zero bytes; the connection then closes.
    pub fn refusal(request: &ConnectRequest) -> ConnectResponse {
        ConnectResponse {
            protocol_version: 0,
            timeout_ms: 0,
            session_id: SessionId(0),
            passwd: vec![0; PASSWORD_LEN],
            read_only: request.read_only.map(|_| false),
        }
    }
}

impl Record for ConnectResponse {
    fn write(&self, w: &mut Writer<'_>) {
        w.int(self.protocol_version);
        w.int(self.timeout_ms);
        w.long(self.session_id.0);
        w.buffer(Some(&self.passwd));
        if let Some(read_only) = self.read_only {
            w.bool(read_only);
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<ConnectResponse, DecodeError> {
        Ok(ConnectResponse {
            protocol_version: r.int("ConnectResponse.protocolVersion")?,
            timeout_ms: r.int("ConnectResponse.timeOut")?,
            session_id: SessionId(r.long("ConnectResponse.sessionId")?),
            passwd: r.buffer("ConnectResponse.passwd")?.unwrap_or_default(),
            read_only: if r.remaining() > 0 { Some(r.bool("ConnectResponse.readOnly")?) } else { None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(read_only: Option<bool>) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: Zxid::new(0, 5),
            timeout_ms: 30_000,
            session_id: SessionId(0),
            passwd: vec![0; PASSWORD_LEN],
            read_only,
        }
    }

    // A connect request body is 44 bytes without the readOnly byte and 45 with it, and decoding remembers which.
    #[test]
    fn connect_request_44_or_45_bytes() {
        let old = request(None).to_bytes();
        assert_eq!(old.len(), CONNECT_REQUEST_LEN_WITHOUT_READ_ONLY);
        assert_eq!(&old[..4], &[0, 0, 0, 0]);
        assert_eq!(&old[4..12], &[0, 0, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&old[12..16], &30_000i32.to_be_bytes());
        assert_eq!(&old[24..28], &[0, 0, 0, 16]);
        assert_eq!(ConnectRequest::from_bytes(&old), Ok(request(None)));
        let new = request(Some(true)).to_bytes();
        assert_eq!(new.len(), 45);
        assert_eq!(new[44], 1);
        assert_eq!(ConnectRequest::from_bytes(&new), Ok(request(Some(true))));
    }

    // The response is 36 bytes, or 37 when the request carried readOnly; a refusal is all zeros.
    #[test]
    fn connect_response_36_or_37_bytes() {
        let old = ConnectResponse::refusal(&request(None)).to_bytes();
        assert_eq!(old.len(), CONNECT_RESPONSE_LEN_WITHOUT_READ_ONLY);
        assert_eq!(old, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let new = ConnectResponse::refusal(&request(Some(false))).to_bytes();
        assert_eq!(new.len(), 37);
        assert_eq!(new[36], 0);
        let accepted = ConnectResponse::accept(&request(Some(false)), 4000, SessionId(9), vec![1; PASSWORD_LEN], true);
        assert_eq!(accepted.to_bytes()[36], 1);
        assert_eq!(ConnectResponse::accept(&request(None), 4000, SessionId(9), vec![1; PASSWORD_LEN], true).read_only, None);
    }

    // A connect request cut short names the field that is missing.
    #[test]
    fn truncated_connect_request() {
        let bytes = request(None).to_bytes();
        let err = ConnectRequest::from_bytes(&bytes[..30]).unwrap_err();
        assert_eq!(err.field, "ConnectRequest.passwd");
        assert_eq!(err.offset, 24);
    }
}
