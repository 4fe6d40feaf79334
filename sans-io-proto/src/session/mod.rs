//! The transport state after a completed handshake (snow's `TransportState`): encrypt and decrypt
//! chat content over the double ratchet, with sequence numbers, a replay window and padding
//! (PROTOCOL.md §6.6–6.7).
//!
//! A [`Session`] can only be obtained from a completed [`crate::Handshake`], so nothing can be
//! encrypted before both sides confirmed the same keys.

mod content;
mod replay;

use rand_core::CryptoRngCore;

pub use content::{
    Content, ContentError, MAX_PADDING, MAX_PROFILE_NAME_LEN, MAX_TEXT_LEN, MIN_PADDING,
};
pub use replay::REPLAY_WINDOW;

use crate::handshake::Role;
use crate::identity::{KeyVisual, PublicIdentity, SafetyNumber};
use crate::ratchet::{DoubleRatchet, RatchetError};
use replay::{Replay, ReplayWindow};

/// Why [`Session::encrypt`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncryptError {
    /// The content breaks a limit.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// The ratchet cannot send (its chain is exhausted).
    #[error(transparent)]
    Ratchet(#[from] RatchetError),
    /// 2^64 - 1 messages were sent in this session.
    #[error("sequence numbers exhausted")]
    SequenceExhausted,
}

/// Why [`Session::decrypt`] refused a message. The session stays usable after every one of these;
/// the ratchet state is unchanged except after an authentic message with a bad body or a replayed
/// sequence number, whose (single-use) message key is consumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Not a Data envelope.
    #[error("not a data message")]
    NotData,
    /// The ratchet refused it (forged, corrupted, duplicate, too far ahead).
    #[error(transparent)]
    Ratchet(#[from] RatchetError),
    /// Authentic, but the body is malformed or of an unknown type.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Authentic, but its sequence number was already delivered or is too old: never shown twice.
    #[error("replayed message (sequence number {seq})")]
    Replay {
        /// The sequence number.
        seq: u64,
    },
}

impl DecryptError {
    /// Whether this is a duplicate of something already delivered (as opposed to an attack or
    /// corruption): callers may drop these quietly.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            DecryptError::Ratchet(RatchetError::Duplicate) | DecryptError::Replay { .. }
        )
    }
}

/// An encrypted message ready for the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its sequence number (what the peer's Ack will name).
    pub seq: u64,
    /// The Data envelope, to send as one relay `Payload`.
    pub envelope: Vec<u8>,
}

/// A message received and authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    /// The sender's sequence number.
    pub seq: u64,
    /// The sender's wall clock at sending, ms since the Unix epoch (0 = unknown). Display only:
    /// the peer chooses it.
    pub sent_at_ms: u64,
    /// What it carries.
    pub content: Content,
}

/// An established end-to-end session with one peer.
#[derive(Clone)]
pub struct Session {
    ratchet: DoubleRatchet,
    ad: [u8; 32],
    role: Role,
    own: PublicIdentity,
    peer: PublicIdentity,
    visual: KeyVisual,
    next_seq: u64,
    replay: ReplayWindow,
}

impl Session {
    pub(crate) fn new(
        ratchet: DoubleRatchet,
        ad: [u8; 32],
        role: Role,
        own: PublicIdentity,
        peer: PublicIdentity,
        visual: KeyVisual,
    ) -> Self {
        Session {
            ratchet,
            ad,
            role,
            own,
            peer,
            visual,
            next_seq: 1,
            replay: ReplayWindow::default(),
        }
    }

    /// Encrypts `content` into a Data envelope (PROTOCOL.md §6.6). `sent_at_ms` is the caller's
    /// wall clock (0 if unknown); the library never reads a clock.
    pub fn encrypt(
        &mut self,
        content: &Content,
        sent_at_ms: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Outgoing, EncryptError> {
        let seq = self.next_seq;
        let next = seq.checked_add(1).ok_or(EncryptError::SequenceExhausted)?;
        let body = content::encode(content, seq, sent_at_ms, rng)?;
        let envelope = self.ratchet.encrypt(&body, &self.ad, rng)?;
        self.next_seq = next;
        Ok(Outgoing { seq, envelope })
    }

    /// Shorthand for encrypting a text message.
    pub fn encrypt_text(
        &mut self,
        text: &str,
        sent_at_ms: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Outgoing, EncryptError> {
        let content = Content::Text(text.to_owned());
        let out = self.encrypt(&content, sent_at_ms, rng);
        if let Content::Text(mut copy) = content {
            zeroize::Zeroize::zeroize(&mut copy); // the temporary copy of the plaintext
        }
        out
    }

    /// Authenticates and decrypts a Data envelope from the peer. Each message is delivered at most
    /// once; the rng is needed for the fresh ratchet key of a DH ratchet step.
    pub fn decrypt(
        &mut self,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Incoming, DecryptError> {
        match crate::envelope::parse(envelope) {
            Ok((crate::envelope::EnvelopeType::Data, _)) => {}
            _ => return Err(DecryptError::NotData),
        }
        // The ratchet commits only after the body authenticated (so forgeries never move it); an
        // authentic message with a malformed body or a replayed sequence number has consumed its
        // message key but is still refused and never shown.
        let body = self.ratchet.decrypt(envelope, &self.ad, rng)?;
        let body = content::decode(&body)?;
        match self.replay.check(body.seq) {
            Ok(()) => self.replay.record(body.seq),
            Err(Replay::Seen | Replay::TooOld | Replay::Zero) => {
                return Err(DecryptError::Replay { seq: body.seq });
            }
        }
        Ok(Incoming {
            seq: body.seq,
            sent_at_ms: body.sent_at_ms,
            content: body.content,
        })
    }

    /// Which side of the handshake we were.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Our own identity.
    pub fn own_identity(&self) -> &PublicIdentity {
        &self.own
    }

    /// The peer's identity, authenticated by the handshake.
    pub fn peer_identity(&self) -> &PublicIdentity {
        &self.peer
    }

    /// The safety number of the two identities (PROTOCOL.md §7.1; 10 400 hashes, compute once).
    pub fn safety_number(&self) -> SafetyNumber {
        SafetyNumber::new(&self.own, &self.peer)
    }

    /// This session's key visualization (PROTOCOL.md §7.3).
    pub fn key_visual(&self) -> &KeyVisual {
        &self.visual
    }

    /// Number of stored skipped message keys (bounded by [`crate::ratchet::MAX_STORED_SKIPPED`]).
    pub fn skipped_keys(&self) -> usize {
        self.ratchet.skipped_len()
    }
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("peer", &self.peer)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}
