//! Deniability made concrete (PROTOCOL.md §5.1): anyone holding **one** party's private key can
//! forge a complete session transcript "with" another party from that party's **public** key
//! alone. The forgery passes every check the first party's own code makes, so a transcript proves
//! nothing about who took part: there is no signature anywhere to bind a party to a conversation.
//!
//! The forger plays both roles through the real handshake code: ours with the real key, the peer's
//! with a [`Credential`] that holds only the peer's public key. The one step that needs the peer's
//! private key — recovering the secret our side encapsulated to it — is answered from a record of
//! what our side encapsulated, which the forger sees because it runs our side. The handshake itself
//! knows nothing of this: it only calls the [`Credential`] trait.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::ct::ct_eq;
use crate::delivery::MessageId;
use crate::envelope::Envelope;
use crate::handshake::{Credential, Handshake, HandshakeError, KEM_SECRET_LEN, encapsulate_to};
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

type Encapsulated = Rc<RefCell<Vec<(Vec<u8>, Zeroizing<[u8; KEM_SECRET_LEN]>)>>>;

/// Our real key, noting every secret it encapsulates (what the forger learns by running our side).
#[derive(Clone)]
struct Recording {
    key: IdentityKeyPair,
    log: Encapsulated,
}

impl Credential for Recording {
    fn public(&self) -> &PublicIdentity {
        self.key.public()
    }

    fn encapsulate(
        &self,
        peer: &PublicIdentity,
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Zeroizing<[u8; KEM_SECRET_LEN]>, Vec<u8>), HandshakeError> {
        let (k, kem) = encapsulate_to(peer, label, rng)?;
        self.log.borrow_mut().push((kem.clone(), k.clone()));
        Ok((k, kem))
    }

    fn decapsulate(
        &self,
        kem: &[u8],
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<[u8; KEM_SECRET_LEN]>, HandshakeError> {
        self.key.decapsulate(kem, label, rng)
    }
}

/// The impersonated peer: its public key only. It "decapsulates" by looking up what our side
/// encapsulated (and fails for anything else, as a real key would for a foreign ciphertext).
#[derive(Clone)]
struct Impersonated {
    public: PublicIdentity,
    log: Encapsulated,
}

impl Credential for Impersonated {
    fn public(&self) -> &PublicIdentity {
        &self.public
    }

    fn decapsulate(
        &self,
        kem: &[u8],
        _label: &[u8],
        _rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<[u8; KEM_SECRET_LEN]>, HandshakeError> {
        self.log
            .borrow()
            .iter()
            .find(|(sent, _)| ct_eq(sent, kem))
            .map(|(_, k)| k.clone())
            .ok_or(HandshakeError::Authentication)
    }
}

/// Forges the envelopes of a whole session between `own` and `peer` in which the peer says each
/// of `peer_says` (as reliable texts numbered 1, 2, ... in stream `stream`), in order of
/// transmission. `own_rng` drives our side exactly as a real client would; `forger_rng` invents the
/// peer's randomness. Running `own`'s real code with the same `own_rng` state and feeding it the
/// `Peer` envelopes reproduces every `Own` envelope and accepts the session and the messages.
pub fn forge_transcript(
    own: &IdentityKeyPair,
    peer: &PublicIdentity,
    peer_says: &[&str],
    stream: u64,
    own_rng: &mut impl CryptoRngCore,
    forger_rng: &mut impl CryptoRngCore,
    now: Instant,
) -> Result<Vec<(Speaker, Vec<u8>)>, ForgeError> {
    let log = Encapsulated::default();
    let mut me = Handshake::with_credential(
        Recording {
            key: own.clone(),
            log: log.clone(),
        },
        own_rng,
        now,
    );
    let mut fake = Handshake::with_credential(
        Impersonated {
            public: peer.clone(),
            log,
        },
        forger_rng,
        now,
    );
    let mut transcript = Vec::new();
    for _ in 0..8 {
        let mut moved = false;
        while let Some(m) = me.poll_transmit() {
            deliver(&mut fake, &m, forger_rng)?;
            transcript.push((Speaker::Own, m));
            moved = true;
        }
        while let Some(m) = fake.poll_transmit() {
            deliver(&mut me, &m, own_rng)?;
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
    for (i, text) in peer_says.iter().enumerate() {
        let content = Content::Text {
            id: MessageId {
                stream,
                number: i as u64 + 1,
            },
            expire_secs: 0,
            text: (*text).to_owned(),
        };
        let out = fake.encrypt(&content, 0, forger_rng)?;
        transcript.push((Speaker::Peer, out.envelope));
    }
    Ok(transcript)
}

fn deliver<C: Credential>(
    to: &mut Handshake<C>,
    bytes: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(), HandshakeError> {
    match Envelope::decode(bytes) {
        Ok(Envelope::Handshake(m)) => to.handle_message(&m, rng),
        _ => Err(HandshakeError::Authentication),
    }
}
