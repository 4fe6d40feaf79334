//! Handshake errors (PROTOCOL.md §5.10). Fatal ones end the attempt; the others report a message
//! that was ignored while the handshake goes on.

use crate::envelope::{EnvelopeError, EnvelopeType};

/// Why a handshake message was refused or the handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The envelope could not be decoded or has the wrong size (ignored; not fatal).
    #[error("malformed handshake message: {0}")]
    Malformed(EnvelopeError),
    /// The peer speaks another protocol version (§4.1; fatal, and retrying cannot help).
    #[error("the peer speaks end-to-end protocol version {0}; this client speaks version 2")]
    PeerVersion(u8),
    /// A message from another handshake attempt (ignored; not fatal).
    #[error("stale {0:?} from another handshake attempt ignored")]
    Stale(EnvelopeType),
    /// A byte-identical copy of a message already handled (ignored; not fatal).
    #[error("duplicate {0:?} ignored")]
    Duplicate(EnvelopeType),
    /// Too many data messages arrived before the handshake completed (the message was dropped).
    #[error("too many early data messages; one was dropped")]
    EarlyDataOverflow,
    /// A data message arrived before the peer's Commit: it belongs to an earlier session (§7.8;
    /// dropped, not fatal).
    #[error("data from an earlier session dropped")]
    DataBeforeCommit,
    /// Our own message came back to us (fatal).
    #[error("a handshake message was reflected back to us")]
    Reflection,
    /// The peer's Hello does not match the commitment it sent first (fatal).
    #[error("the peer's Hello does not match its commitment")]
    CommitmentMismatch,
    /// The peer's ephemeral DH value or identity key is invalid (fatal).
    #[error("the peer sent an invalid key: {0}")]
    BadKey(String),
    /// A MAC, decryption or key confirmation failed: the messages were tampered with or are not
    /// from the holder of the identity key (fatal). Deliberately carries no detail.
    #[error("handshake authentication failed")]
    Authentication,
    /// A message that contradicts one already accepted, or that this side never receives (fatal).
    #[error("unexpected {0:?} message")]
    UnexpectedMessage(EnvelopeType),
    /// The handshake did not complete in time (fatal).
    #[error("the key exchange timed out")]
    Timeout,
    /// The handshake already failed earlier; start a new one.
    #[error("the handshake already failed")]
    AlreadyFailed,
}

impl From<EnvelopeError> for HandshakeError {
    fn from(e: EnvelopeError) -> Self {
        match e {
            EnvelopeError::UnsupportedVersion(v) => HandshakeError::PeerVersion(v),
            other => HandshakeError::Malformed(other),
        }
    }
}

impl HandshakeError {
    /// Whether the handshake attempt is over (its secrets have been wiped).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            HandshakeError::Malformed(_)
                | HandshakeError::Stale(_)
                | HandshakeError::Duplicate(_)
                | HandshakeError::EarlyDataOverflow
                | HandshakeError::DataBeforeCommit
        )
    }

    /// Whether retrying the key exchange could help (an attack or corruption may go away; another
    /// protocol version will not).
    pub fn is_retryable(&self) -> bool {
        self.is_fatal() && !matches!(self, HandshakeError::PeerVersion(_))
    }
}
