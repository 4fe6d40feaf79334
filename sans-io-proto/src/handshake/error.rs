//! Handshake errors (PROTOCOL.md §5.8). Fatal ones end the attempt; the others report a message
//! that was ignored while the handshake goes on.

use crate::envelope::{EnvelopeError, EnvelopeType};

/// Why a handshake message was refused or the handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The envelope could not be parsed or has the wrong size (ignored; not fatal).
    #[error("malformed handshake message: {0}")]
    Malformed(#[from] EnvelopeError),
    /// A message from another handshake attempt (ignored; not fatal).
    #[error("stale {0:?} from another handshake attempt ignored")]
    Stale(EnvelopeType),
    /// A byte-identical copy of a message already handled (ignored; not fatal).
    #[error("duplicate {0:?} ignored")]
    Duplicate(EnvelopeType),
    /// Too many data messages arrived before the handshake completed (the message was dropped).
    #[error("too many early data messages; one was dropped")]
    EarlyDataOverflow,
    /// Our own message came back to us (fatal).
    #[error("a handshake message was reflected back to us")]
    Reflection,
    /// The peer's ephemeral DH value or identity key is invalid (fatal).
    #[error("the peer sent an invalid key: {0}")]
    BadKey(String),
    /// A MAC, decryption or key confirmation failed: the messages were tampered with or are not
    /// from the holder of the identity key (fatal). Deliberately carries no detail.
    #[error("handshake authentication failed")]
    Authentication,
    /// A message that contradicts one already accepted (fatal).
    #[error("unexpected {0:?} message")]
    UnexpectedMessage(EnvelopeType),
    /// The handshake did not complete in time (fatal).
    #[error("the key exchange timed out")]
    Timeout,
    /// The handshake already failed earlier; start a new one.
    #[error("the handshake already failed")]
    AlreadyFailed,
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
        )
    }
}
