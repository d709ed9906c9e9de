//! Feeds arbitrary bytes to the quorum message decoder: it must return an
//! error, never panic, and whatever it accepts must re-encode to a message
//! that decodes to the same value.
#![no_main]

use ensemble::zab::QuorumMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = QuorumMessage::decode(data) {
        let again = QuorumMessage::decode(&message.encode()).expect("a decoded message re-encodes");
        assert_eq!(again, message);
    }
});
