//! Every place the simulator touches the relay framing (PROTOCOL.md §3), and nowhere else.
//!
//! Frames are typed by direction (`ClientFrame` from a client, `RelayFrame` from the relay); the rest
//! of the simulator only names [`Upstream`] and [`Downstream`] and the helpers below.

use sans_io_proto::frame::{ClientFrame, FrameDecoder, FrameError, RelayFrame};

/// A frame a client sends to the relay (what `RelayCore::handle_frame` takes).
pub type Upstream = ClientFrame;
/// A frame the relay sends to a client (what `RelayCore` outputs and `Client::handle_input` reads).
pub type Downstream = RelayFrame;

/// Cuts a client's byte stream into the frames the relay reads.
#[derive(Default)]
pub struct UpstreamDecoder(FrameDecoder<ClientFrame>);

impl UpstreamDecoder {
    /// Appends bytes and returns every complete frame, or the framing error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Upstream>, FrameError> {
        self.0.push(bytes);
        let mut frames = Vec::new();
        while let Some(frame) = self.0.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }
}

/// The end-to-end envelope a client frame carries, if it is a Payload.
pub fn upstream_payload(frame: &Upstream) -> Option<&[u8]> {
    match frame {
        ClientFrame::Payload(p) => Some(p),
        _ => None,
    }
}

/// The envelope a relay frame carries, if it is a Payload.
pub fn downstream_payload(frame: &Downstream) -> Option<&[u8]> {
    match frame {
        RelayFrame::Payload(p) => Some(p),
        _ => None,
    }
}

/// A relay Payload frame carrying `envelope`.
pub fn downstream_payload_frame(envelope: Vec<u8>) -> Downstream {
    RelayFrame::Payload(envelope)
}

/// The relay's "both seats taken" frame.
pub fn peer_joined() -> Downstream {
    RelayFrame::PeerJoined
}

/// The relay's "the other seat left" frame.
pub fn peer_left() -> Downstream {
    RelayFrame::PeerLeft
}

/// Whether the relay says the peer arrived.
pub fn is_peer_joined(frame: &Downstream) -> bool {
    matches!(frame, RelayFrame::PeerJoined)
}

/// Whether the relay says the peer is gone.
pub fn is_peer_gone(frame: &Downstream) -> bool {
    matches!(frame, RelayFrame::PeerLeft | RelayFrame::Waiting)
}

/// The bytes of a relay frame on the client's stream.
pub fn encode_downstream(frame: &Downstream) -> Vec<u8> {
    frame.to_bytes()
}

/// The envelopes in a client's transmitted bytes (used where the adversary reads a client's
/// output directly: Mallory's clients, the foreign-payload pool). Other frames are skipped.
pub fn payloads_in(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut decoder = UpstreamDecoder::default();
    decoder
        .feed(bytes)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| upstream_payload(&f).map(<[u8]>::to_vec))
        .collect()
}
