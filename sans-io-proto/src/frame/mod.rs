//! The client ↔ relay framing (PROTOCOL.md §3), shared by the relay and the clients: a versioned,
//! length-prefixed binary codec with a hard size limit, and a stream reassembler.
//!
//! ```text
//! version: u8 = 1 | kind: u8 | body_len: u32 (≤ 65 536) | body
//! ```
//!
//! Decoding is total: any byte string yields a frame or a typed [`FrameError`], never a panic.

mod codec;
mod decoder;
mod room;

pub use codec::{ErrorCode, FRAME_VERSION, Frame, FrameError, HEADER_LEN, MAX_FRAME_BODY};
pub use decoder::FrameDecoder;
pub use room::{MAX_ROOM_NAME_LEN, RoomName};

/// What a client shows while alone in a room.
pub const WAITING_TEXT: &str = "Waiting for peer...";
