//! Frames the relay sends to a client (PROTOCOL.md §3, "R→C" rows).

use super::wire::{Reader, WireFrame, kind, put_str8};
use super::{ErrorCode, FrameError, RoomName};

/// A relay → client frame.
#[derive(Clone, PartialEq, Eq)]
pub enum RelayFrame {
    /// An opaque end-to-end envelope from the other seat (1..=65 536 bytes).
    Payload(Vec<u8>),
    /// The answer to a client's `Ping`, with its nonce.
    Pong(u64),
    /// You hold `seat` in `room`.
    Joined {
        /// The room (after any redirect).
        room: RoomName,
        /// 0 or 1.
        seat: u8,
    },
    /// Alone in the room.
    Waiting,
    /// `from` was full, you are in `to`.
    Redirected {
        /// The room asked for.
        from: RoomName,
        /// The room given.
        to: RoomName,
    },
    /// The other seat is taken.
    PeerJoined,
    /// The other seat left.
    PeerLeft,
    /// An error.
    Error {
        /// The code.
        code: ErrorCode,
        /// Human-readable text (at most 255 bytes on the wire).
        message: String,
    },
}

impl core::fmt::Debug for RelayFrame {
    // Payload bytes are never printed (logs must not carry ciphertext), only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RelayFrame::Payload(data) => write!(f, "Payload({} bytes)", data.len()),
            RelayFrame::Pong(n) => write!(f, "Pong({n})"),
            RelayFrame::Joined { room, seat } => write!(f, "Joined({room}, seat {seat})"),
            RelayFrame::Waiting => f.write_str("Waiting"),
            RelayFrame::Redirected { from, to } => write!(f, "Redirected({from} -> {to})"),
            RelayFrame::PeerJoined => f.write_str("PeerJoined"),
            RelayFrame::PeerLeft => f.write_str("PeerLeft"),
            RelayFrame::Error { code, message } => write!(f, "Error({code:?}, {message:?})"),
        }
    }
}

impl WireFrame for RelayFrame {
    const KINDS: &'static [u8] = &kind::RELAY;
    const OTHER_KINDS: &'static [u8] = &kind::CLIENT;

    fn kind_byte(&self) -> u8 {
        match self {
            RelayFrame::Payload(_) => kind::PAYLOAD,
            RelayFrame::Pong(_) => kind::PONG,
            RelayFrame::Joined { .. } => kind::JOINED,
            RelayFrame::Waiting => kind::WAITING,
            RelayFrame::Redirected { .. } => kind::REDIRECTED,
            RelayFrame::PeerJoined => kind::PEER_JOINED,
            RelayFrame::PeerLeft => kind::PEER_LEFT,
            RelayFrame::Error { .. } => kind::ERROR,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            RelayFrame::Payload(data) => out.extend_from_slice(data),
            RelayFrame::Pong(n) => out.extend_from_slice(&n.to_be_bytes()),
            RelayFrame::Joined { room, seat } => {
                put_str8(out, room.as_str());
                out.push(*seat);
            }
            RelayFrame::Redirected { from, to } => {
                put_str8(out, from.as_str());
                put_str8(out, to.as_str());
            }
            RelayFrame::Error { code, message } => {
                out.extend_from_slice(&code.to_u16().to_be_bytes());
                put_str8(out, message);
            }
            RelayFrame::Waiting | RelayFrame::PeerJoined | RelayFrame::PeerLeft => {}
        }
    }

    fn parse_body(kind_byte: u8, body: &[u8]) -> Result<Self, FrameError> {
        let empty = |name, frame| Reader::new(name, body).end().map(|()| frame);
        match kind_byte {
            kind::PAYLOAD => Ok(RelayFrame::Payload(Reader::new("Payload", body).payload()?)),
            kind::PONG => {
                let mut r = Reader::new("Pong", body);
                let n = r.u64()?;
                r.end()?;
                Ok(RelayFrame::Pong(n))
            }
            kind::JOINED => {
                let mut r = Reader::new("Joined", body);
                let room = r.room()?;
                let seat = r.u8()?;
                if seat > 1 {
                    return Err(r.malformed("seat must be 0 or 1"));
                }
                r.end()?;
                Ok(RelayFrame::Joined { room, seat })
            }
            kind::WAITING => empty("Waiting", RelayFrame::Waiting),
            kind::REDIRECTED => {
                let mut r = Reader::new("Redirected", body);
                let from = r.room()?;
                let to = r.room()?;
                r.end()?;
                Ok(RelayFrame::Redirected { from, to })
            }
            kind::PEER_JOINED => empty("PeerJoined", RelayFrame::PeerJoined),
            kind::PEER_LEFT => empty("PeerLeft", RelayFrame::PeerLeft),
            kind::ERROR => {
                let mut r = Reader::new("Error", body);
                let code = ErrorCode::from_u16(r.u16()?);
                let message = r.str8()?.to_owned();
                r.end()?;
                Ok(RelayFrame::Error { code, message })
            }
            other => Err(FrameError::UnknownKind(other)),
        }
    }
}

impl RelayFrame {
    /// Appends the encoding to `out` (see [`WireFrame::encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        WireFrame::encode(self, out);
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        WireFrame::to_bytes(self)
    }

    /// Decodes one frame from the start of `bytes` (see [`WireFrame::decode`]).
    pub fn decode(bytes: &[u8]) -> Result<(Self, usize), FrameError> {
        <Self as WireFrame>::decode(bytes)
    }

    /// An `Error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        RelayFrame::Error {
            code,
            message: message.into(),
        }
    }
}
