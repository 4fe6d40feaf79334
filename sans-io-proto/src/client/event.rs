//! What the [`super::Client`] tells the application.

use crate::frame::{ErrorCode, RoomName};
use crate::handshake::{HandshakeError, Role};
use crate::identity::{KeyVisual, PublicIdentity, SafetyNumber};
use crate::session::DecryptError;

/// Everything the user must see once a session is secure.
#[derive(Debug, Clone)]
pub struct SecureInfo {
    /// The peer's identity, authenticated by the handshake (compare it out of band!).
    pub peer: PublicIdentity,
    /// The safety number of both identities.
    pub safety_number: SafetyNumber,
    /// This session's key picture.
    pub key_visual: KeyVisual,
    /// Our side of the exchange.
    pub role: Role,
}

/// An event for the application (str0m's `Output::Event`).
#[derive(Debug, Clone)]
pub enum Event {
    /// The relay gave us a seat.
    Joined {
        /// The room we are in (after any redirect).
        room: RoomName,
        /// Our seat, 0 or 1.
        seat: u8,
    },
    /// The room we asked for was full; we are in another one (tell the peer!).
    Redirected {
        /// The room we asked for.
        from: RoomName,
        /// The room we are in now.
        to: RoomName,
    },
    /// Alone in the room: `Waiting for peer...`.
    WaitingForPeer,
    /// A peer took the other seat: the key exchange started.
    KeyExchangeStarted,
    /// The key exchange completed: messages can be sent. Verify the safety number.
    Secure(Box<SecureInfo>),
    /// The key exchange failed; the client retries by rejoining unless told to stop.
    KeyExchangeFailed {
        /// Why.
        error: HandshakeError,
    },
    /// A chat message from the peer.
    Message {
        /// The peer's sequence number of it.
        seq: u64,
        /// The peer's clock when sending (ms since the Unix epoch; 0 if unknown).
        sent_at_ms: u64,
        /// The text.
        text: String,
    },
    /// The peer confirmed receipt of our message `seq`.
    Delivered {
        /// Our sequence number.
        seq: u64,
    },
    /// The peer told us its display name (authenticated, but chosen by the peer).
    PeerName {
        /// The name.
        name: String,
    },
    /// The peer left or its connection died; the session is gone.
    PeerLeft,
    /// A payload was refused (forged, corrupted, duplicate, ...); the session goes on.
    Rejected {
        /// Why.
        error: DecryptError,
    },
    /// The relay reported an error.
    RelayError {
        /// Its code.
        code: ErrorCode,
        /// Its text (untrusted: display as plain text).
        message: String,
    },
    /// The relay sent bytes that are not valid frames: the connection must be closed.
    RelayProtocolViolation {
        /// What was wrong.
        reason: String,
    },
}

/// Output of [`super::Client::poll_output`].
#[derive(Debug, Clone)]
pub enum Output {
    /// Bytes to write to the relay stream, in order.
    Transmit(Vec<u8>),
    /// An event for the application.
    Event(Event),
}
