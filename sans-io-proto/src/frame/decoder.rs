//! Stream reassembly: bytes arrive in arbitrary pieces from the QUIC stream, frames come out.

use super::codec::{Frame, FrameError, HEADER_LEN, MAX_FRAME_BODY};

/// Buffers stream bytes and yields whole frames. Its buffer never holds more than one maximal
/// frame plus what was pushed since: an oversized length is refused from the 6-byte header alone,
/// before any of its body is buffered.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    failed: Option<FrameError>,
}

impl FrameDecoder {
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

    /// The next complete frame, `Ok(None)` if more bytes are needed, or the error that makes the
    /// rest of the stream undecodable (sticky: once framing is lost it cannot be regained).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(header) = self.buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let result = Frame::check_header(header).and_then(|len| {
            let total = HEADER_LEN + len;
            if self.buf.len() < total {
                return Ok(None);
            }
            let frame = Frame::parse_body(self.buf[1], &self.buf[HEADER_LEN..total])?;
            self.buf.drain(..total);
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
