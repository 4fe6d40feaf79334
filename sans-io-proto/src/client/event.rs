//! What the [`super::Client`] tells the application.

use crate::delivery::{MessageId, TimerSetting};
use crate::frame::{ErrorCode, RoomName};
use crate::handshake::{HandshakeError, Role};
use crate::identity::{Fingerprint, KeyVisual, PublicIdentity, SafetyNumber, ShortAuthString};
use crate::session::DecryptError;

/// Everything the user must see once a session is secure.
#[derive(Debug, Clone)]
pub struct SecureInfo {
    /// The peer's identity, authenticated by the handshake.
    pub peer: PublicIdentity,
    /// The safety number of both identities (PROTOCOL.md §8.1).
    pub safety_number: SafetyNumber,
    /// This session's short authentication string (§8.2).
    pub sas: ShortAuthString,
    /// This session's key picture (§8.3).
    pub key_visual: KeyVisual,
    /// Our side of the exchange.
    pub role: Role,
    /// Whether the application had already approved this identity (§7.6). If not, nothing is sent
    /// to it and nothing it sends is shown until [`super::Client::approve`] names it.
    pub approved: bool,
}

/// The state of a message the user wrote (PROTOCOL.md §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// In the outbox; no approved session with the peer right now.
    Waiting,
    /// Encrypted and written to the relay connection in the current session.
    Sent,
    /// The peer acknowledged it (stored on its side).
    Delivered,
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
    /// The peer left or its connection died; its messages wait in the outbox.
    PeerLeft,
    /// A peer took the other seat: the key exchange started.
    KeyExchangeStarted,
    /// A key exchange ended without a session and without an error of its own (the relay said the
    /// peer left, or started over, or the connection dropped): PROTOCOL.md §5.10. The user sees each;
    /// failures ([`Event::KeyExchangeFailed`]) count the same way.
    KeyExchangeAborted {
        /// Whether our identity key had been sent in it.
        identity_revealed: bool,
        /// Aborts in the last [`super::ABORT_WINDOW`], this one included.
        recent: usize,
    },
    /// Too many aborted or failed key exchanges in a short time: the client stopped starting new ones
    /// (the relay may be probing who we are) and stays stopped until
    /// [`super::Client::resume_key_exchanges`].
    KeyExchangesSuspended {
        /// Aborts in the last [`super::ABORT_WINDOW`].
        recent: usize,
    },
    /// The key exchange failed (it also counts as an abort, PROTOCOL.md §5.10).
    KeyExchangeFailed {
        /// Why.
        error: HandshakeError,
        /// Whether the client retries by itself.
        retrying: bool,
        /// Whether our identity key had been sent in it.
        identity_revealed: bool,
        /// Aborts in the last [`super::ABORT_WINDOW`], this one included.
        recent: usize,
    },
    /// The key exchange completed: verify the peer (§8) and approve its identity (§7.6).
    Secure(Box<SecureInfo>),
    /// The previous session was resumed after a reconnect (§7.8): same keys, same verification.
    Resumed {
        /// The peer.
        peer: Fingerprint,
        /// Whether that identity is approved.
        approved: bool,
    },
    /// A chat message from the peer, shown exactly once and in the sender's order (§7.5). Record it,
    /// then call [`super::Client::confirm_shown`]: until then it is shown again after a restart
    /// (recognise it by its id).
    Message {
        /// The sender's identity.
        from: Fingerprint,
        /// Its id.
        id: MessageId,
        /// The peer's clock when it was written (ms since the Unix epoch; display only).
        sent_at_ms: u64,
        /// The sender's disappearing-messages timer for it (0 = kept).
        expire_secs: u32,
        /// The text (peer-controlled: display as plain text).
        text: String,
    },
    /// A reliable message of a type this version cannot show (it was acknowledged).
    UnsupportedMessage {
        /// The sender's identity.
        from: Fingerprint,
        /// Its id.
        id: MessageId,
        /// Its type byte.
        kind: u8,
    },
    /// A message we wrote changed state.
    MessageState {
        /// The peer it is addressed to.
        to: Fingerprint,
        /// Its id.
        id: MessageId,
        /// The new state.
        state: MessageState,
    },
    /// The conversation's disappearing-messages timer changed (by us or the peer; §7.7).
    TimerChanged {
        /// The peer of the conversation.
        with: Fingerprint,
        /// The setting in force.
        setting: TimerSetting,
    },
    /// The peer told us its display name (authenticated, but chosen by the peer).
    PeerName {
        /// The peer.
        from: Fingerprint,
        /// The name.
        name: String,
    },
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

/// Output of [`super::Client::poll_output`], to be handled in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Bytes to write to the relay stream, in order.
    Transmit(Vec<u8>),
    /// An event for the application.
    Event(Event),
    /// The delivery state of a conversation changed: store it (encrypted) **before** handling the
    /// outputs after it, so that nothing shown or acknowledged is lost or shown twice after a crash
    /// (PROTOCOL.md §7.5, §7.10).
    Persist {
        /// The peer of the conversation.
        peer: Fingerprint,
        /// [`crate::delivery::Conversation::encode`]; wiped when dropped.
        state: zeroize::Zeroizing<Vec<u8>>,
    },
}
