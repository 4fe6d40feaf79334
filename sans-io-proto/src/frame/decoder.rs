//! Stream reassembly: bytes arrive in arbitrary pieces from the QUIC stream, frames of one
//! direction come out (`FrameDecoder<ClientFrame>` in the relay, `FrameDecoder<RelayFrame>` in a
//! client).

use core::marker::PhantomData;

use super::FrameError;
use super::wire::{HEADER_LEN, MAX_FRAME_BODY, WireFrame, check_header};

/// Buffer capacity kept between frames; a larger buffer is freed once it is empty.
const RETAINED_CAPACITY: usize = 4096;

/// Buffers stream bytes and yields whole frames of direction `F`. Its buffer never holds more than
/// one maximal frame plus what was pushed since: an oversized length is refused from the 6-byte
/// header alone, before any of its body is buffered.
///
/// Work is linear in the bytes pushed: decoded frames are skipped by a read offset, not removed
/// from the front of the buffer one by one (which would move the rest each time: quadratic for many
/// small frames in one large read, attack finding F6). The consumed prefix is dropped once, at the
/// next `push`, so each buffered byte is moved at most once.
#[derive(Debug)]
pub struct FrameDecoder<F> {
    buf: Vec<u8>,
    /// Bytes of `buf` before this offset belong to frames already returned.
    start: usize,
    failed: Option<FrameError>,
    _frames: PhantomData<fn() -> F>,
}

impl<F> Default for FrameDecoder<F> {
    fn default() -> Self {
        FrameDecoder {
            buf: Vec::new(),
            start: 0,
            failed: None,
            _frames: PhantomData,
        }
    }
}

impl<F: WireFrame> FrameDecoder<F> {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            if self.start > 0 {
                // Drop the frames already returned: what moves is the undecoded rest, which was
                // never moved before (it follows the last frame returned).
                self.buf.drain(..self.start);
                self.start = 0;
            }
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The bytes buffered and not yet decoded.
    fn pending(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.pending().len()
    }

    /// How many more bytes complete the next frame as far as is known now: the rest of the header,
    /// or of the body once the header is in (at least 1; 0 once the decoder has failed or a whole
    /// frame is buffered). A reader that never reads more than this holds at most one frame.
    pub fn wanted(&self) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        let pending = self.pending();
        let Some(header) = pending.first_chunk::<HEADER_LEN>() else {
            return HEADER_LEN - pending.len();
        };
        match check_header::<F>(header) {
            Ok(len) => (HEADER_LEN + len).saturating_sub(pending.len()),
            // The error surfaces from the next `next_frame`.
            Err(_) => 0,
        }
    }

    /// The whole length (header and body) of the next frame once its header is in: `Ok(None)`
    /// while the header is incomplete, the header's error if it is refused. Lets a reader charge
    /// a frame's memory before reading its body.
    pub fn frame_len(&self) -> Result<Option<usize>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.pending().first_chunk::<HEADER_LEN>() {
            Some(header) => check_header::<F>(header).map(|len| Some(HEADER_LEN + len)),
            None => Ok(None),
        }
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the error that makes the
    /// rest of the stream undecodable (sticky: once framing is lost it cannot be regained).
    pub fn next_frame(&mut self) -> Result<Option<F>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let pending = self.pending();
        let Some(header) = pending.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let result = check_header::<F>(header).and_then(|len| {
            let total = HEADER_LEN + len;
            let Some(body) = pending.get(HEADER_LEN..total) else {
                return Ok(None);
            };
            let frame = F::parse_body(header[1], body)?;
            Ok(Some((frame, total)))
        });
        match result {
            Ok(Some((frame, total))) => {
                self.start += total;
                if self.start == self.buf.len() {
                    self.start = 0;
                    self.buf.clear();
                    if self.buf.capacity() > RETAINED_CAPACITY {
                        // Do not keep a maximal frame's buffer for a connection that sent one once.
                        self.buf = Vec::new();
                    }
                }
                Ok(Some(frame))
            }
            Ok(None) => {
                debug_assert!(self.buffered() <= HEADER_LEN + MAX_FRAME_BODY);
                Ok(None)
            }
            Err(e) => {
                self.failed = Some(e.clone());
                self.buf = Vec::new();
                self.start = 0;
                Err(e)
            }
        }
    }
}
