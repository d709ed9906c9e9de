//! The host side: tokio adapters for the client port, files with fsync for the
//! transaction log and snapshots, zoo.cfg, and the real clock. Adapters
//! translate and carry; every decision about zxids, epochs, sessions or
//! quorums is made by the engine.

pub mod config;

pub mod storage;
pub mod disk;
pub mod quorum;
pub mod four_letter;
pub mod server;
