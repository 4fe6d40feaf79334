//! Why bytes are not a frame, and the relay's error codes (PROTOCOL.md §3).

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the frame needs (only from a one-shot `decode` on a partial slice).
    #[error("incomplete frame: {needed} more bytes needed")]
    Incomplete {
        /// Bytes missing.
        needed: usize,
    },
    /// Another framing version.
    #[error("unsupported frame version {0}")]
    UnsupportedVersion(u8),
    /// A kind byte no direction uses.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A kind byte of the other direction (e.g. a client sending `PeerJoined`).
    #[error("frame kind {0:#04x} is never sent in this direction")]
    WrongDirection(u8),
    /// A body longer than [`super::MAX_FRAME_BODY`].
    #[error("frame body of {len} bytes exceeds the limit")]
    TooLarge {
        /// The announced length.
        len: usize,
    },
    /// A body that does not fit its kind.
    #[error("malformed {kind} frame: {reason}")]
    Malformed {
        /// The frame kind.
        kind: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A room name that breaks the rules.
    #[error("invalid room name (1 to 64 of A-Z a-z 0-9 . _ -)")]
    InvalidRoomName,
}

/// Relay error codes (PROTOCOL.md §3), carried in `Error` frames and as QUIC application close
/// codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Bytes that are not a valid frame.
    MalformedFrame,
    /// A framing version the relay does not speak.
    UnsupportedVersion,
    /// A room name that breaks the rules.
    InvalidRoomName,
    /// A frame over the size limit.
    FrameTooLarge,
    /// Frames faster than the rate limits where nothing slowed them (the relay itself shapes
    /// rates by reading slower and never sends this; kept for drivers without flow control).
    RateLimited,
    /// Too many rooms or connections.
    ServerFull,
    /// A payload while not seated with a peer.
    NotInRoom,
    /// A join while already seated.
    AlreadyInRoom,
    /// Nothing received for the idle timeout.
    IdleTimeout,
    /// The relay is shutting down.
    ShuttingDown,
    /// The client did not read what the relay sent it for too long (only a QUIC close code: a
    /// client that does not read would not see an `Error` frame).
    SlowReader,
    /// The client did not open its stream in time (only a QUIC close code: there is no stream
    /// to carry an `Error` frame).
    StreamTimeout,
    /// A code this version does not know.
    Unknown(u16),
}

impl ErrorCode {
    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            ErrorCode::MalformedFrame => 1,
            ErrorCode::UnsupportedVersion => 2,
            ErrorCode::InvalidRoomName => 3,
            ErrorCode::FrameTooLarge => 4,
            ErrorCode::RateLimited => 5,
            ErrorCode::ServerFull => 6,
            ErrorCode::NotInRoom => 7,
            ErrorCode::AlreadyInRoom => 8,
            ErrorCode::IdleTimeout => 9,
            ErrorCode::ShuttingDown => 10,
            ErrorCode::SlowReader => 11,
            ErrorCode::StreamTimeout => 12,
            ErrorCode::Unknown(c) => c,
        }
    }

    /// Parses a wire value (unknown values are kept as `Unknown`).
    pub fn from_u16(code: u16) -> Self {
        match code {
            1 => ErrorCode::MalformedFrame,
            2 => ErrorCode::UnsupportedVersion,
            3 => ErrorCode::InvalidRoomName,
            4 => ErrorCode::FrameTooLarge,
            5 => ErrorCode::RateLimited,
            6 => ErrorCode::ServerFull,
            7 => ErrorCode::NotInRoom,
            8 => ErrorCode::AlreadyInRoom,
            9 => ErrorCode::IdleTimeout,
            10 => ErrorCode::ShuttingDown,
            11 => ErrorCode::SlowReader,
            12 => ErrorCode::StreamTimeout,
            c => ErrorCode::Unknown(c),
        }
    }
}
