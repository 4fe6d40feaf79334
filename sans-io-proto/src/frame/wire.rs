//! What both directions share (PROTOCOL.md §3): the 6-byte header, the kind bytes and which
//! direction uses each, the `Str8` field, and a body reader that turns every shortfall into a
//! typed error. [`WireFrame`] is implemented by exactly the two direction types.

use super::{FrameError, RoomName};

/// The framing version this crate speaks.
pub const FRAME_VERSION: u8 = 0x01;
/// Bytes before the body: version, kind, body length.
pub const HEADER_LEN: usize = 6;
/// Largest body accepted or sent.
pub const MAX_FRAME_BODY: usize = 65_536;

/// Kind bytes (PROTOCOL.md §3 table).
pub(super) mod kind {
    pub(crate) const JOIN: u8 = 0x01;
    pub(crate) const LEAVE: u8 = 0x02;
    pub(crate) const PAYLOAD: u8 = 0x03;
    pub(crate) const PING: u8 = 0x04;
    pub(crate) const PONG: u8 = 0x05;
    pub(crate) const JOINED: u8 = 0x10;
    pub(crate) const WAITING: u8 = 0x11;
    pub(crate) const REDIRECTED: u8 = 0x12;
    pub(crate) const PEER_JOINED: u8 = 0x13;
    pub(crate) const PEER_LEFT: u8 = 0x14;
    pub(crate) const ERROR: u8 = 0x1f;

    /// Kinds a client sends.
    pub(crate) const CLIENT: [u8; 4] = [JOIN, LEAVE, PAYLOAD, PING];
    /// Kinds the relay sends.
    pub(crate) const RELAY: [u8; 8] = [
        PAYLOAD,
        PONG,
        JOINED,
        WAITING,
        REDIRECTED,
        PEER_JOINED,
        PEER_LEFT,
        ERROR,
    ];
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::super::ClientFrame {}
    impl Sealed for super::super::RelayFrame {}
}

/// A frame of one direction: [`ClientFrame`](super::ClientFrame) (client → relay) or
/// [`RelayFrame`](super::RelayFrame) (relay → client). Sealed: the framing has exactly these two.
pub trait WireFrame: Sized + sealed::Sealed {
    /// The kind bytes this direction uses.
    #[doc(hidden)]
    const KINDS: &'static [u8];
    /// The kind bytes the other direction uses.
    #[doc(hidden)]
    const OTHER_KINDS: &'static [u8];

    /// The frame's kind byte.
    fn kind_byte(&self) -> u8;

    /// Appends the body (without header) to `out`.
    #[doc(hidden)]
    fn encode_body(&self, out: &mut Vec<u8>);

    /// Parses a body of a kind that [`Self::KINDS`] contains.
    #[doc(hidden)]
    fn parse_body(kind: u8, body: &[u8]) -> Result<Self, FrameError>;

    /// Appends the whole encoding (header and body) to `out`. A Payload over
    /// [`MAX_FRAME_BODY`] is the caller's bug: it is encoded as is and every decoder refuses it.
    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[FRAME_VERSION, self.kind_byte(), 0, 0, 0, 0]);
        self.encode_body(out);
        let body_len = (out.len() - start - HEADER_LEN) as u32;
        out[start + 2..start + HEADER_LEN].copy_from_slice(&body_len.to_be_bytes());
    }

    /// The encoding as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one frame from the start of `bytes`; returns it and the bytes it used. A slice
    /// that holds only part of a frame gives [`FrameError::Incomplete`].
    fn decode(bytes: &[u8]) -> Result<(Self, usize), FrameError> {
        let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(FrameError::Incomplete {
                needed: HEADER_LEN - bytes.len(),
            });
        };
        let len = check_header::<Self>(header)?;
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

/// Checks a frame header for direction `F`: version, kind and size. Returns the body length.
pub(super) fn check_header<F: WireFrame>(header: &[u8; HEADER_LEN]) -> Result<usize, FrameError> {
    if header[0] != FRAME_VERSION {
        return Err(FrameError::UnsupportedVersion(header[0]));
    }
    let k = header[1];
    if !F::KINDS.contains(&k) {
        return Err(if F::OTHER_KINDS.contains(&k) {
            FrameError::WrongDirection(k)
        } else {
            FrameError::UnknownKind(k)
        });
    }
    let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
    if len > MAX_FRAME_BODY {
        return Err(FrameError::TooLarge { len });
    }
    Ok(len)
}

/// Appends `len: u8 || bytes`, truncating at a char boundary to fit 255 bytes (only error
/// messages can be that long).
pub(super) fn put_str8(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(255);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A cursor over a body that turns every shortfall into a typed error.
pub(super) struct Reader<'a> {
    kind: &'static str,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(kind: &'static str, body: &'a [u8]) -> Self {
        Reader { kind, rest: body }
    }

    pub(super) fn malformed(&self, reason: &'static str) -> FrameError {
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

    pub(super) fn u8(&mut self) -> Result<u8, FrameError> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u16(&mut self) -> Result<u16, FrameError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(super) fn u64(&mut self) -> Result<u64, FrameError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub(super) fn str8(&mut self) -> Result<&'a str, FrameError> {
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes).map_err(|_| self.malformed("invalid UTF-8"))
    }

    pub(super) fn room(&mut self) -> Result<RoomName, FrameError> {
        RoomName::new(self.str8()?)
    }

    /// The rest of the body as a Payload (1..=65 536 bytes; the length is checked by the header).
    pub(super) fn payload(self) -> Result<Vec<u8>, FrameError> {
        if self.rest.is_empty() {
            return Err(self.malformed("empty payload"));
        }
        Ok(self.rest.to_vec())
    }

    pub(super) fn end(self) -> Result<(), FrameError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed("trailing bytes"))
        }
    }
}
