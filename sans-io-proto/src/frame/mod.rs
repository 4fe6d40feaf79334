//! The client ↔ relay framing (PROTOCOL.md §3), shared by the relay and the clients: a versioned,
//! length-prefixed binary codec with a hard size limit, typed by direction ([`ClientFrame`] from
//! a client, [`RelayFrame`] from the relay, as quinn-proto types frames), and a stream
//! reassembler for each direction.
//!
//! ```text
//! version: u8 = 1 | kind: u8 | body_len: u32 (≤ 65 536) | body
//! ```
//!
//! Decoding is total: any byte string yields a frame or a typed [`FrameError`], never a panic. A
//! kind of the other direction is [`FrameError::WrongDirection`].

mod client_frame;
mod decoder;
mod error;
mod relay_frame;
mod room;
mod wire;

pub use client_frame::ClientFrame;
pub use decoder::FrameDecoder;
pub use error::{ErrorCode, FrameError};
pub use relay_frame::RelayFrame;
pub use room::{MAX_ROOM_NAME_LEN, RoomName};
pub use wire::{FRAME_VERSION, HEADER_LEN, MAX_FRAME_BODY, WireFrame};

/// What a client shows while alone in a room.
pub const WAITING_TEXT: &str = "Waiting for peer...";
