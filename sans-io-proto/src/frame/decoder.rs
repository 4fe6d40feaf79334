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
#[derive(Debug)]
pub struct FrameDecoder<F> {
    buf: Vec<u8>,
    failed: Option<FrameError>,
    _frames: PhantomData<fn() -> F>,
}

impl<F> Default for FrameDecoder<F> {
    fn default() -> Self {
        FrameDecoder {
            buf: Vec::new(),
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
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes buffered and not yet decoded.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more bytes complete the next frame as far as is known now: the rest of the header,
    /// or of the body once the header is in (at least 1; 0 once the decoder has failed or a whole
    /// frame is buffered). A reader that never reads more than this holds at most one frame.
    pub fn wanted(&self) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return HEADER_LEN - self.buf.len();
        };
        match check_header::<F>(header) {
            Ok(len) => (HEADER_LEN + len).saturating_sub(self.buf.len()),
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
        match self.buf.first_chunk::<HEADER_LEN>() {
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
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let result = check_header::<F>(header).and_then(|len| {
            let total = HEADER_LEN + len;
            if self.buf.len() < total {
                return Ok(None);
            }
            let frame = F::parse_body(self.buf[1], &self.buf[HEADER_LEN..total])?;
            self.buf.drain(..total);
            if self.buf.is_empty() && self.buf.capacity() > RETAINED_CAPACITY {
                // Do not keep a maximal frame's buffer for a connection that sent one once.
                self.buf = Vec::new();
            }
            Ok(Some(frame))
        });
        if let Err(e) = &result {
            self.failed = Some(e.clone());
            self.buf = Vec::new();
        }
        debug_assert!(self.buf.len() <= HEADER_LEN + MAX_FRAME_BODY || result.is_ok());
        result
    }
}
