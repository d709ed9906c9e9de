//! Splits arbitrary bytes into frames, as a client connection would deliver
//! them, and decodes every frame both as a ConnectRequest and as a request
//! (header and body). Nothing may panic; a ConnectRequest that decodes must
//! decode again, identically, from its own encoding.
//!
//! Run with `cargo fuzz run frame_decoder` from `fuzz/` (nightly).

#![no_main]

use ensemble::proto::{self, Frame, FrameDecoder, Record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the read size, so frames straddle reads in every way.
    let Some((first, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(*first % 64) + 1;
    // A small maximum as well as the default, so that the limit itself is exercised.
    let max_len = if first & 0x80 == 0 { proto::DEFAULT_MAX_FRAME_LEN } else { 64 };
    let mut decoder = FrameDecoder::new(max_len);
    for piece in stream.chunks(chunk) {
        decoder.feed(piece);
        loop {
            match decoder.next_frame() {
                Ok(Some(Frame::Packet(body))) => {
                    assert!(body.len() <= max_len, "the splitter enforces the maximum");
                    decode(&body);
                }
                Ok(Some(Frame::FourLetterWord { .. })) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
    // The raw input as one body too, so bodies are reached without a valid prefix.
    decode(stream);
});

fn decode(body: &[u8]) {
    if let Ok(connect) = proto::decode_connect_request(body) {
        let again = proto::decode_connect_request(&connect.to_bytes()).expect("an encoded ConnectRequest decodes");
        assert_eq!(again, connect);
    }
    if let Ok(request) = proto::decode_request(body) {
        // Touch the result so that the decoding cannot be optimised away.
        std::hint::black_box(&request);
    }
}
