//! Frames a client sends to the relay (PROTOCOL.md §3, "C→R" rows).

use super::wire::{Reader, WireFrame, kind, put_str8};
use super::{FrameError, RoomName};

/// A client → relay frame.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// Take a seat in a room.
    Join {
        /// The room.
        room: RoomName,
    },
    /// Give up the seat.
    Leave,
    /// An opaque end-to-end envelope (1..=65 536 bytes) for the other seat.
    Payload(Vec<u8>),
    /// Liveness probe; the relay answers with `Pong` carrying the same nonce.
    Ping(u64),
}

impl core::fmt::Debug for ClientFrame {
    // Payload bytes are never printed (logs must not carry ciphertext), only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientFrame::Join { room } => write!(f, "Join({room})"),
            ClientFrame::Leave => f.write_str("Leave"),
            ClientFrame::Payload(data) => write!(f, "Payload({} bytes)", data.len()),
            ClientFrame::Ping(n) => write!(f, "Ping({n})"),
        }
    }
}

impl WireFrame for ClientFrame {
    const KINDS: &'static [u8] = &kind::CLIENT;
    const OTHER_KINDS: &'static [u8] = &kind::RELAY;

    fn kind_byte(&self) -> u8 {
        match self {
            ClientFrame::Join { .. } => kind::JOIN,
            ClientFrame::Leave => kind::LEAVE,
            ClientFrame::Payload(_) => kind::PAYLOAD,
            ClientFrame::Ping(_) => kind::PING,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            ClientFrame::Join { room } => put_str8(out, room.as_str()),
            ClientFrame::Leave => {}
            ClientFrame::Payload(data) => out.extend_from_slice(data),
            ClientFrame::Ping(n) => out.extend_from_slice(&n.to_be_bytes()),
        }
    }

    fn parse_body(kind_byte: u8, body: &[u8]) -> Result<Self, FrameError> {
        let frame = match kind_byte {
            kind::JOIN => {
                let mut r = Reader::new("Join", body);
                let room = r.room()?;
                r.end()?;
                ClientFrame::Join { room }
            }
            kind::LEAVE => {
                Reader::new("Leave", body).end()?;
                ClientFrame::Leave
            }
            kind::PAYLOAD => ClientFrame::Payload(Reader::new("Payload", body).payload()?),
            kind::PING => {
                let mut r = Reader::new("Ping", body);
                let n = r.u64()?;
                r.end()?;
                ClientFrame::Ping(n)
            }
            other => return Err(FrameError::UnknownKind(other)),
        };
        Ok(frame)
    }
}

impl ClientFrame {
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
}
