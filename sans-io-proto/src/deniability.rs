//! Deniability made concrete (PROTOCOL.md §5.1): anyone holding **one** party's private key can
//! forge a complete session transcript "with" another party from that party's **public** key
//! alone. The forgery passes every check the first party's own code makes, so a transcript proves
//! nothing about who took part: there is no signature anywhere to bind a party to a conversation.
//!
//! The forger plays both roles: ours with the real code and key, the peer's with a handshake that
//! holds only the peer's public key. The one step that needs the peer's private key — decrypting
//! our key encapsulation — is skipped because the forger chose the encapsulated secret itself.

use std::time::Instant;

use rand_core::CryptoRngCore;

use crate::envelope::{self, EnvelopeType};
use crate::handshake::{Handshake, HandshakeError};
use crate::identity::{IdentityKeyPair, PublicIdentity};
use crate::session::{Content, EncryptError};

/// Who "sent" an envelope of a forged transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The party whose private key the forger holds.
    Own,
    /// The party impersonated from its public key.
    Peer,
}

/// Why forging failed (only on internal inconsistencies; never expected).
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    /// A handshake step failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// A message could not be encrypted.
    #[error(transparent)]
    Encrypt(#[from] EncryptError),
    /// The exchange did not complete.
    #[error("the forged handshake did not complete")]
    Incomplete,
}

/// Forges the envelopes of a whole session between `own` and `peer` in which the peer says each
/// of `peer_says`, in order of transmission. `own_rng` drives our side exactly as a real client
/// would; `forger_rng` invents the peer's randomness. Running `own`'s real code with the same
/// `own_rng` state and feeding it the `Peer` envelopes reproduces every `Own` envelope and
/// accepts the session and the messages as genuine.
pub fn forge_transcript(
    own: &IdentityKeyPair,
    peer: &PublicIdentity,
    peer_says: &[&str],
    own_rng: &mut impl CryptoRngCore,
    forger_rng: &mut impl CryptoRngCore,
    now: Instant,
) -> Result<Vec<(Speaker, Vec<u8>)>, ForgeError> {
    let mut me = Handshake::new(own, own_rng, now);
    let mut fake = Handshake::new_public_only(peer.clone(), forger_rng, now);
    let mut transcript = Vec::new();
    for _ in 0..8 {
        let mut moved = false;
        while let Some(m) = me.poll_transmit() {
            if matches!(envelope::parse(&m), Ok((EnvelopeType::Encap, _))) {
                // The forger knows what our side encapsulated: it generated it.
                if let Some(k) = me.own_secret() {
                    fake.set_peer_secret(k);
                }
            }
            fake.handle_message(&m, forger_rng)?;
            transcript.push((Speaker::Own, m));
            moved = true;
        }
        while let Some(m) = fake.poll_transmit() {
            me.handle_message(&m, own_rng)?;
            transcript.push((Speaker::Peer, m));
            moved = true;
        }
        if !moved {
            break;
        }
    }
    let mut fake = fake.into_session().map_err(|_| ForgeError::Incomplete)?;
    if !me.is_established() {
        return Err(ForgeError::Incomplete);
    }
    for text in peer_says {
        let out = fake.encrypt(&Content::Text((*text).to_owned()), 0, forger_rng)?;
        transcript.push((Speaker::Peer, out.envelope));
    }
    Ok(transcript)
}
