//! Framing: every client/server message is a 4-byte big-endian signed length
//! followed by that many bytes of jute. The first 4 bytes of a new connection
//! may instead spell a four-letter word (`ruok`, `srvr`, ...).

use std::fmt;

/// ZooKeeper's default `jute.maxbuffer`: the longest frame a server accepts.
pub const DEFAULT_MAX_FRAME_LEN: usize = 0xfffff;

/// Bytes in the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Why a byte stream cannot be split into frames; the connection must close.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The length prefix is negative.
    NegativeLength(i32),
    /// The length prefix exceeds the configured maximum (`jute.maxbuffer`).
    TooLong {
        /// The declared length.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NegativeLength(len) => write!(f, "frame length {len} is negative"),
            FrameError::TooLong { len, max } => write!(f, "frame length {len} exceeds jute.maxbuffer {max}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// A four-letter-word admin command (`FourLetterCommands`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum FourLetterWord {
    Ruok,
    Srvr,
    Stat,
    Mntr,
    Conf,
    Cons,
    Wchs,
    Envi,
    Isro,
    Dump,
    Crst,
    Dirs,
    Gtmk,
    Stmk,
    Srst,
    Wchc,
    Wchp,
    Hash,
}

impl FourLetterWord {
    /// Every command ZooKeeper 3.8 knows.
    pub const ALL: [FourLetterWord; 18] = [
        FourLetterWord::Ruok,
        FourLetterWord::Srvr,
        FourLetterWord::Stat,
        FourLetterWord::Mntr,
        FourLetterWord::Conf,
        FourLetterWord::Cons,
        FourLetterWord::Wchs,
        FourLetterWord::Envi,
        FourLetterWord::Isro,
        FourLetterWord::Dump,
        FourLetterWord::Crst,
        FourLetterWord::Dirs,
        FourLetterWord::Gtmk,
        FourLetterWord::Stmk,
        FourLetterWord::Srst,
        FourLetterWord::Wchc,
        FourLetterWord::Wchp,
        FourLetterWord::Hash,
    ];

    /// The four ASCII letters.
    pub fn as_str(self) -> &'static str {
        match self {
            FourLetterWord::Ruok => "ruok",
            FourLetterWord::Srvr => "srvr",
            FourLetterWord::Stat => "stat",
            FourLetterWord::Mntr => "mntr",
            FourLetterWord::Conf => "conf",
            FourLetterWord::Cons => "cons",
            FourLetterWord::Wchs => "wchs",
            FourLetterWord::Envi => "envi",
            FourLetterWord::Isro => "isro",
            FourLetterWord::Dump => "dump",
            FourLetterWord::Crst => "crst",
            FourLetterWord::Dirs => "dirs",
            FourLetterWord::Gtmk => "gtmk",
            FourLetterWord::Stmk => "stmk",
            FourLetterWord::Srst => "srst",
            FourLetterWord::Wchc => "wchc",
            FourLetterWord::Wchp => "wchp",
            FourLetterWord::Hash => "hash",
        }
    }

    /// The command whose letters are `bytes`, if any (case-sensitive, as in ZooKeeper).
    pub fn from_bytes(bytes: [u8; 4]) -> Option<FourLetterWord> {
        FourLetterWord::ALL.iter().copied().find(|w| w.as_str().as_bytes() == bytes)
    }
}

impl fmt::Display for FourLetterWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the next frame in a buffer stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FrameStatus {
    /// A whole frame is buffered: its body is `buf[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + body_len]`.
    Complete {
        /// Length of the body after the prefix.
        body_len: usize,
    },
    /// At least this many more bytes are needed.
    Incomplete {
        /// Bytes missing before the frame is whole.
        missing: usize,
    },
}

/// Validates a length prefix against `max_len`.
pub fn parse_length(prefix: [u8; 4], max_len: usize) -> Result<usize, FrameError> {
    let len = i32::from_be_bytes(prefix);
    if len < 0 {
        return Err(FrameError::NegativeLength(len));
    }
    let len = len as usize;
    if len > max_len {
        return Err(FrameError::TooLong { len, max: max_len });
    }
    Ok(len)
}

/// Looks at the start of `buf` for one frame without consuming anything:
/// the building block of a `tokio_util` codec over a `BytesMut`.
pub fn peek_frame(buf: &[u8], max_len: usize) -> Result<FrameStatus, FrameError> {
    let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(FrameStatus::Incomplete { missing: LENGTH_PREFIX_LEN - buf.len() });
    };
    let body_len = parse_length(*prefix, max_len)?;
    let have = buf.len() - LENGTH_PREFIX_LEN;
    if have >= body_len {
        Ok(FrameStatus::Complete { body_len })
    } else {
        Ok(FrameStatus::Incomplete { missing: body_len - have })
    }
}

/// One unit split from a client's byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A length-prefixed message body (without its prefix).
    Packet(Vec<u8>),
    /// A four-letter word sent as the first bytes of the connection; the
    /// server answers in plain text and closes.
    FourLetterWord {
        /// The command.
        word: FourLetterWord,
        /// `stmk`'s 8-byte trace mask, which follows the word; `None` for the others.
        trace_mask: Option<i64>,
    },
}

/// Splits a connection's byte stream into frames: feed it bytes as they
/// arrive, then take frames until it says it needs more.
///
/// It holds only what it was fed and has not yet returned, so a host that
/// reads in bounded chunks and drains frames after each read keeps it below
/// one chunk plus one maximal frame. After an error, or after a four-letter
/// word (ZooKeeper stops reading such a connection), it yields nothing more.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    max_len: usize,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`; compacted lazily to avoid
    /// shifting the buffer once per frame.
    start: usize,
    state: DecoderState,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum DecoderState {
    /// Nothing has been split yet: the first 4 bytes may be a four-letter word.
    New,
    /// `stmk` was seen; its 8-byte argument is awaited.
    AwaitTraceMask,
    /// Length-prefixed packets follow.
    Packets,
    /// A four-letter word was returned; the connection is done.
    Finished,
    /// The stream was malformed.
    Failed(FrameError),
}

impl Default for FrameDecoder {
    fn default() -> FrameDecoder {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder for a new connection, refusing frames longer than `max_len`.
    pub fn new(max_len: usize) -> FrameDecoder {
        FrameDecoder { max_len, buf: Vec::new(), start: 0, state: DecoderState::New }
    }

    /// Appends bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes fed but not yet returned in a frame.
    pub fn buffered_len(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the
    /// error that makes the stream unusable (returned again on every call).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let pending = &self.buf[self.start..];
        match self.state {
            DecoderState::Failed(e) => Err(e),
            DecoderState::Finished => Ok(None),
            DecoderState::New => {
                let Some(prefix) = pending.first_chunk::<LENGTH_PREFIX_LEN>() else {
                    return Ok(None);
                };
                // The word is checked before the length: as an int every
                // four-letter word is far above jute.maxbuffer.
                match FourLetterWord::from_bytes(*prefix) {
                    Some(FourLetterWord::Stmk) => {
                        self.start += LENGTH_PREFIX_LEN;
                        self.state = DecoderState::AwaitTraceMask;
                        self.next_frame()
                    }
                    Some(word) => {
                        self.start += LENGTH_PREFIX_LEN;
                        self.state = DecoderState::Finished;
                        Ok(Some(Frame::FourLetterWord { word, trace_mask: None }))
                    }
                    None => {
                        self.state = DecoderState::Packets;
                        self.next_frame()
                    }
                }
            }
            DecoderState::AwaitTraceMask => {
                let Some(mask) = pending.first_chunk::<8>() else {
                    return Ok(None);
                };
                let trace_mask = i64::from_be_bytes(*mask);
                self.start += 8;
                self.state = DecoderState::Finished;
                Ok(Some(Frame::FourLetterWord { word: FourLetterWord::Stmk, trace_mask: Some(trace_mask) }))
            }
            DecoderState::Packets => match peek_frame(pending, self.max_len) {
                Err(e) => {
                    self.state = DecoderState::Failed(e);
                    Err(e)
                }
                Ok(FrameStatus::Incomplete { .. }) => Ok(None),
                Ok(FrameStatus::Complete { body_len }) => {
                    let body = pending[LENGTH_PREFIX_LEN..LENGTH_PREFIX_LEN + body_len].to_vec();
                    self.start += LENGTH_PREFIX_LEN + body_len;
                    Ok(Some(Frame::Packet(body)))
                }
            },
        }
    }
}

/// Appends one frame to `out`: a placeholder length, whatever `body` writes,
/// then the real length patched in.
pub fn write_frame(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; LENGTH_PREFIX_LEN]);
    body(out);
    let len = i32::try_from(out.len() - at - LENGTH_PREFIX_LEN).expect("a frame fits in an i32 length");
    out[at..at + LENGTH_PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_frame(&mut out, |o| o.extend_from_slice(body));
        out
    }

    // Frames split correctly whatever the chunking of the stream.
    #[test]
    fn splits_across_chunks() {
        let mut stream = framed(b"hello");
        stream.extend(framed(b""));
        stream.extend(framed(b"world!"));
        for chunk in 1..stream.len() {
            let mut d = FrameDecoder::default();
            let mut frames = Vec::new();
            for piece in stream.chunks(chunk) {
                d.feed(piece);
                while let Some(f) = d.next_frame().unwrap() {
                    frames.push(f);
                }
            }
            assert_eq!(frames, vec![Frame::Packet(b"hello".to_vec()), Frame::Packet(vec![]), Frame::Packet(b"world!".to_vec())]);
            assert_eq!(d.buffered_len(), 0);
        }
    }

    // A frame of exactly jute.maxbuffer is accepted; one byte more, or a negative length, is an error that sticks.
    #[test]
    fn length_limits() {
        assert_eq!(
            peek_frame(&(DEFAULT_MAX_FRAME_LEN as i32).to_be_bytes(), DEFAULT_MAX_FRAME_LEN),
            Ok(FrameStatus::Incomplete { missing: DEFAULT_MAX_FRAME_LEN })
        );
        let mut d = FrameDecoder::default();
        d.feed(&(DEFAULT_MAX_FRAME_LEN as i32 + 1).to_be_bytes());
        let err = FrameError::TooLong { len: DEFAULT_MAX_FRAME_LEN + 1, max: DEFAULT_MAX_FRAME_LEN };
        assert_eq!(d.next_frame(), Err(err));
        assert_eq!(d.next_frame(), Err(err));
        let mut d = FrameDecoder::new(10);
        d.feed(&(-1i32).to_be_bytes());
        assert_eq!(d.next_frame(), Err(FrameError::NegativeLength(-1)));
    }

    // Every four-letter word is recognised at the start of a connection, and only there.
    #[test]
    fn four_letter_words() {
        for word in FourLetterWord::ALL {
            if word == FourLetterWord::Stmk {
                continue;
            }
            let mut d = FrameDecoder::default();
            d.feed(word.as_str().as_bytes());
            assert_eq!(d.next_frame(), Ok(Some(Frame::FourLetterWord { word, trace_mask: None })));
            assert_eq!(d.next_frame(), Ok(None));
        }
        // After a first packet "ruok" is just an oversized length.
        let mut d = FrameDecoder::default();
        d.feed(&framed(b"x"));
        d.feed(b"ruok");
        assert_eq!(d.next_frame(), Ok(Some(Frame::Packet(b"x".to_vec()))));
        assert!(matches!(d.next_frame(), Err(FrameError::TooLong { .. })));
        // An unknown word is a length like any other.
        let mut d = FrameDecoder::default();
        d.feed(b"RUOK");
        assert!(matches!(d.next_frame(), Err(FrameError::TooLong { .. })));
    }

    // stmk waits for its 8-byte trace mask.
    #[test]
    fn stmk_reads_its_mask() {
        let mut d = FrameDecoder::default();
        d.feed(b"stmk");
        d.feed(&[0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Ok(None));
        d.feed(&[0, 0, 1, 2]);
        assert_eq!(d.next_frame(), Ok(Some(Frame::FourLetterWord { word: FourLetterWord::Stmk, trace_mask: Some(0x102) })));
    }

    proptest! {
        // Arbitrary bytes in arbitrary chunks never panic the splitter, and the frames it returns tile the input.
        #[test]
        fn splitter_never_panics(bytes: Vec<u8>, chunk in 1usize..64, max in 0usize..2048) {
            let mut d = FrameDecoder::new(max);
            let mut consumed = 0;
            for piece in bytes.chunks(chunk) {
                d.feed(piece);
                while let Ok(Some(frame)) = d.next_frame() {
                    consumed += match frame {
                        Frame::Packet(body) => { prop_assert!(body.len() <= max); 4 + body.len() }
                        Frame::FourLetterWord { trace_mask, .. } => 4 + if trace_mask.is_some() { 8 } else { 0 },
                    };
                }
            }
            prop_assert_eq!(consumed + d.buffered_len(), bytes.len());
        }
    }
}
