//! Frames and their byte encoding (PROTOCOL.md §3).

use super::RoomName;

/// The framing version this crate speaks.
pub const FRAME_VERSION: u8 = 0x01;
/// Bytes before the body: version, kind, body length.
pub const HEADER_LEN: usize = 6;
/// Largest body accepted or sent.
pub const MAX_FRAME_BODY: usize = 65_536;

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the frame needs (only from [`Frame::decode`] on a partial slice).
    #[error("incomplete frame: {needed} more bytes needed")]
    Incomplete {
        /// Bytes missing.
        needed: usize,
    },
    /// Another framing version.
    #[error("unsupported frame version {0}")]
    UnsupportedVersion(u8),
    /// An unknown kind byte.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A body longer than [`MAX_FRAME_BODY`].
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

/// Relay error codes (PROTOCOL.md §3).
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
    /// Too many joins or payloads per second.
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
            c => ErrorCode::Unknown(c),
        }
    }
}

/// One frame.
#[derive(Clone, PartialEq, Eq)]
pub enum Frame {
    /// C→R: take a seat in a room.
    Join {
        /// The room.
        room: RoomName,
    },
    /// C→R: give up the seat.
    Leave,
    /// Both ways: an opaque end-to-end envelope (1..=65 536 bytes).
    Payload(Vec<u8>),
    /// Both ways: liveness probe.
    Ping(u64),
    /// Both ways: answer to a Ping.
    Pong(u64),
    /// R→C: you hold `seat` in `room`.
    Joined {
        /// The room (after any redirect).
        room: RoomName,
        /// 0 or 1.
        seat: u8,
    },
    /// R→C: alone in the room.
    Waiting,
    /// R→C: `from` was full, you are in `to`.
    Redirected {
        /// The room asked for.
        from: RoomName,
        /// The room given.
        to: RoomName,
    },
    /// R→C: the other seat is taken.
    PeerJoined,
    /// R→C: the other seat left.
    PeerLeft,
    /// R→C: an error.
    Error {
        /// The code.
        code: ErrorCode,
        /// Human-readable text (at most 255 bytes on the wire).
        message: String,
    },
}

impl core::fmt::Debug for Frame {
    // Payload bytes are never printed (logs must not carry ciphertext), only their length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Frame::Join { room } => write!(f, "Join({room})"),
            Frame::Leave => f.write_str("Leave"),
            Frame::Payload(data) => write!(f, "Payload({} bytes)", data.len()),
            Frame::Ping(n) => write!(f, "Ping({n})"),
            Frame::Pong(n) => write!(f, "Pong({n})"),
            Frame::Joined { room, seat } => write!(f, "Joined({room}, seat {seat})"),
            Frame::Waiting => f.write_str("Waiting"),
            Frame::Redirected { from, to } => write!(f, "Redirected({from} -> {to})"),
            Frame::PeerJoined => f.write_str("PeerJoined"),
            Frame::PeerLeft => f.write_str("PeerLeft"),
            Frame::Error { code, message } => write!(f, "Error({code:?}, {message:?})"),
        }
    }
}

mod kind {
    pub(super) const JOIN: u8 = 0x01;
    pub(super) const LEAVE: u8 = 0x02;
    pub(super) const PAYLOAD: u8 = 0x03;
    pub(super) const PING: u8 = 0x04;
    pub(super) const PONG: u8 = 0x05;
    pub(super) const JOINED: u8 = 0x10;
    pub(super) const WAITING: u8 = 0x11;
    pub(super) const REDIRECTED: u8 = 0x12;
    pub(super) const PEER_JOINED: u8 = 0x13;
    pub(super) const PEER_LEFT: u8 = 0x14;
    pub(super) const ERROR: u8 = 0x1f;
}

fn put_str8(out: &mut Vec<u8>, s: &str) {
    // Truncate at a char boundary to fit the u8 length (only error messages can be long).
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A cursor over a body that turns every shortfall into a typed error.
struct Reader<'a> {
    kind: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn malformed(&self, reason: &'static str) -> FrameError {
        FrameError::Malformed {
            kind: self.kind,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(self.malformed("body too short"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, FrameError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn str8(&mut self) -> Result<&'a str, FrameError> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| self.malformed("invalid UTF-8"))
    }

    fn room(&mut self) -> Result<RoomName, FrameError> {
        RoomName::new(self.str8()?)
    }

    fn end(self) -> Result<(), FrameError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes"))
        }
    }
}

impl Frame {
    fn kind_byte(&self) -> u8 {
        match self {
            Frame::Join { .. } => kind::JOIN,
            Frame::Leave => kind::LEAVE,
            Frame::Payload(_) => kind::PAYLOAD,
            Frame::Ping(_) => kind::PING,
            Frame::Pong(_) => kind::PONG,
            Frame::Joined { .. } => kind::JOINED,
            Frame::Waiting => kind::WAITING,
            Frame::Redirected { .. } => kind::REDIRECTED,
            Frame::PeerJoined => kind::PEER_JOINED,
            Frame::PeerLeft => kind::PEER_LEFT,
            Frame::Error { .. } => kind::ERROR,
        }
    }

    /// Appends the encoding to `out`. A Payload over [`MAX_FRAME_BODY`] is the caller's bug; it is
    /// encoded truncated-free but every decoder will refuse it (the client checks sizes first).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[FRAME_VERSION, self.kind_byte(), 0, 0, 0, 0]);
        match self {
            Frame::Join { room } => put_str8(out, room.as_str()),
            Frame::Payload(data) => out.extend_from_slice(data),
            Frame::Ping(n) | Frame::Pong(n) => out.extend_from_slice(&n.to_be_bytes()),
            Frame::Joined { room, seat } => {
                put_str8(out, room.as_str());
                out.push(*seat);
            }
            Frame::Redirected { from, to } => {
                put_str8(out, from.as_str());
                put_str8(out, to.as_str());
            }
            Frame::Error { code, message } => {
                out.extend_from_slice(&code.to_u16().to_be_bytes());
                put_str8(out, message);
            }
            Frame::Leave | Frame::Waiting | Frame::PeerJoined | Frame::PeerLeft => {}
        }
        let body_len = (out.len() - start - HEADER_LEN) as u32;
        out[start + 2..start + HEADER_LEN].copy_from_slice(&body_len.to_be_bytes());
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Checks a frame header: version, kind and size. Returns the body length.
    pub(crate) fn check_header(header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
        if header[0] != FRAME_VERSION {
            return Err(FrameError::UnsupportedVersion(header[0]));
        }
        if !matches!(
            header[1],
            kind::JOIN
                | kind::LEAVE
                | kind::PAYLOAD
                | kind::PING
                | kind::PONG
                | kind::JOINED
                | kind::WAITING
                | kind::REDIRECTED
                | kind::PEER_JOINED
                | kind::PEER_LEFT
                | kind::ERROR
        ) {
            return Err(FrameError::UnknownKind(header[1]));
        }
        let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        if len > MAX_FRAME_BODY {
            return Err(FrameError::TooLarge { len });
        }
        Ok(len)
    }

    /// Parses a body of the given kind (already checked by [`Self::check_header`]).
    pub(crate) fn parse_body(kind_byte: u8, body: &[u8]) -> Result<Frame, FrameError> {
        let name = match kind_byte {
            kind::JOIN => "Join",
            kind::LEAVE => "Leave",
            kind::PAYLOAD => "Payload",
            kind::PING => "Ping",
            kind::PONG => "Pong",
            kind::JOINED => "Joined",
            kind::WAITING => "Waiting",
            kind::REDIRECTED => "Redirected",
            kind::PEER_JOINED => "PeerJoined",
            kind::PEER_LEFT => "PeerLeft",
            kind::ERROR => "Error",
            other => return Err(FrameError::UnknownKind(other)),
        };
        let mut r = Reader {
            kind: name,
            rest: body,
        };
        let frame = match kind_byte {
            kind::JOIN => Frame::Join { room: r.room()? },
            kind::LEAVE => Frame::Leave,
            kind::PAYLOAD => {
                if body.is_empty() {
                    return Err(r.malformed("empty payload"));
                }
                return Ok(Frame::Payload(body.to_vec()));
            }
            kind::PING => Frame::Ping(r.u64()?),
            kind::PONG => Frame::Pong(r.u64()?),
            kind::JOINED => {
                let room = r.room()?;
                let seat = r.u8()?;
                if seat > 1 {
                    return Err(r.malformed("seat must be 0 or 1"));
                }
                Frame::Joined { room, seat }
            }
            kind::WAITING => Frame::Waiting,
            kind::REDIRECTED => Frame::Redirected {
                from: r.room()?,
                to: r.room()?,
            },
            kind::PEER_JOINED => Frame::PeerJoined,
            kind::PEER_LEFT => Frame::PeerLeft,
            _ => {
                let code = ErrorCode::from_u16(r.u16()?);
                Frame::Error {
                    code,
                    message: r.str8()?.to_owned(),
                }
            }
        };
        r.end()?;
        Ok(frame)
    }

    /// Decodes one frame from the start of `bytes`; returns it and the bytes it used. A slice that
    /// holds only part of a frame gives [`FrameError::Incomplete`].
    pub fn decode(bytes: &[u8]) -> Result<(Frame, usize), FrameError> {
        let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Incomplete {
                needed: HEADER_LEN - bytes.len(),
            });
        };
        let len = Self::check_header(header)?;
        let total = HEADER_LEN + len;
        if bytes.len() < total {
            return Err(FrameError::Incomplete {
                needed: total - bytes.len(),
            });
        }
        Ok((
            Self::parse_body(header[1], &bytes[HEADER_LEN..total])?,
            total,
        ))
    }
}
