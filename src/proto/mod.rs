//! The ZooKeeper 3.8 client wire protocol (jute): framing, records, opcodes,
//! and the mapping between frames and the engine's requests and results.
//!
//! Pure code: bytes in, values out, and back. A host's connection loop
//! drives it like this:
//!
//! ```
//! use ensemble::proto::{self, ClientRequest, Frame, FrameDecoder};
//! use ensemble::Zxid;
//!
//! # let mut bytes = Vec::new();
//! # proto::write_frame(&mut bytes, |b| b.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 11]));
//! let mut decoder = FrameDecoder::default();   // one per connection
//! decoder.feed(&bytes);                          // whatever the socket gave
//! let mut out = Vec::new();
//! while let Some(frame) = decoder.next_frame().expect("malformed stream: close") {
//!     let Frame::Packet(body) = frame else { break }; // a four-letter word
//!     // The first packet of a connection is `proto::decode_connect_request`.
//!     let request = proto::decode_request(&body).expect("bad header: close");
//!     if let Ok(ClientRequest::Ping) = request.body {
//!         proto::encode_ping_reply(&mut out, Zxid::new(1, 7));
//!     }
//! }
//! assert_eq!(out.len(), 4 + 16);
//! ```

pub mod frame;
pub mod jute;
pub mod multi;
pub mod opcode;
pub mod records;
pub mod reply;
pub mod request;

#[cfg(test)]
mod hostile_input;
#[cfg(test)]
mod round_trip;

pub use frame::{peek_frame, write_frame, FourLetterWord, Frame, FrameDecoder, FrameError, FrameStatus, DEFAULT_MAX_FRAME_LEN};
pub use jute::{DecodeError, DecodeErrorKind, Reader, Record, Writer};
pub use multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use opcode::{OpCode, AUTH_XID, NOTIFICATION_XID, PING_XID, SET_WATCHES_XID};
pub use reply::{
    encode_add_watch_reply, encode_auth_reply, encode_connect_response, encode_empty_reply, encode_error_reply, encode_notification,
    encode_ping_reply, encode_read_reply, encode_reply, encode_sync_reply, encode_who_am_i_reply, encode_write_reply, ReadReply,
    WriteReply, NO_ZXID,
};
pub use request::{decode_body, decode_connect_request, decode_request, refused_multi_op, ClientRequest, DecodedRequest};
