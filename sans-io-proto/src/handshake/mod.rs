//! The deniable authenticated key exchange (PROTOCOL.md §5): a sans-IO state machine that takes
//! envelopes, `now` and an RNG, and produces envelopes to send and, once both sides confirmed the
//! same keys, a [`Session`].
//!
//! ```text
//! Handshake::new ──► poll_transmit / handle_message / handle_timeout ──► into_session
//! ```
//!
//! Like snow's `HandshakeState`, it turns into the transport state only when complete, so nothing
//! can be encrypted before key confirmation. A fatal error wipes every secret of the attempt.

mod error;
mod key_schedule;
mod messages;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use error::HandshakeError;

use crate::crypto::ct::ct_eq;
use crate::crypto::dh::{DhPrivateKey, DhPublicKey, SharedSecret};
use crate::envelope::{self, EnvelopeType};
use crate::identity::{IdentityKeyPair, KeyVisual, PublicIdentity};
use crate::labels;
use crate::ratchet::{DoubleRatchet, InitialKeys};
use crate::session::Session;
use key_schedule::{HidingKeys, SessionKeys};
use messages::{ATTEMPT_LEN, IDENTITY_PT_LEN, NONCE_LEN};

/// How long a handshake may take before it fails with [`HandshakeError::Timeout`].
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How many Data envelopes are kept while the handshake finishes (PROTOCOL.md §5.8).
pub const MAX_EARLY_DATA: usize = 16;

/// Which side of the exchange we are, settled by comparing the two Hello nonces (the smaller is
/// the initiator), never by anything the relay says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side with the smaller nonce ("Alice" in the Double Ratchet spec).
    Initiator,
    /// The other side ("Bob").
    Responder,
}

impl Role {
    fn index(self) -> usize {
        match self {
            Role::Initiator => 0,
            Role::Responder => 1,
        }
    }

    fn peer(self) -> Role {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }

    /// Orders a pair of (own, peer) values as (initiator's, responder's).
    fn order<T>(self, own: T, peer: T) -> (T, T) {
        match self {
            Role::Initiator => (own, peer),
            Role::Responder => (peer, own),
        }
    }
}

/// After both Hellos: roles, the attempt's binding values and the identity-hiding keys.
#[derive(Clone)]
struct Agreed {
    role: Role,
    peer_hello: Vec<u8>,
    peer_eph: DhPublicKey,
    hello_hash: [u8; 32],
    attempt: [u8; ATTEMPT_LEN],
    dh: SharedSecret,
    hiding: HidingKeys,
    own_identity: Vec<u8>,
}

/// After the peer's Identity: who the peer is, and our encapsulated secret for it.
#[derive(Clone)]
struct PeerKnown {
    peer_identity_msg: Vec<u8>,
    peer: PublicIdentity,
    own_k: Zeroizing<[u8; 32]>,
    own_encap: Vec<u8>,
}

/// After the peer's Encap: the transcript hash and the session keys.
#[derive(Clone)]
struct Keyed {
    peer_encap_msg: Vec<u8>,
    th: [u8; 32],
    keys: SessionKeys,
}

#[derive(Clone)]
enum Stage {
    AwaitHello,
    AwaitIdentity(Box<Agreed>),
    AwaitEncap(Box<Agreed>, Box<PeerKnown>),
    AwaitConfirm(Box<Agreed>, Box<PeerKnown>, Box<Keyed>),
    Established(Box<Session>),
    Failed(HandshakeError),
}

impl Stage {
    /// Which message type this stage is waiting for (0 Hello .. 3 Confirm, 4 done).
    fn rank(&self) -> u8 {
        match self {
            Stage::AwaitHello => 0,
            Stage::AwaitIdentity(..) => 1,
            Stage::AwaitEncap(..) => 2,
            Stage::AwaitConfirm(..) => 3,
            Stage::Established(_) | Stage::Failed(_) => 4,
        }
    }
}

fn rank_of(kind: EnvelopeType) -> u8 {
    match kind {
        EnvelopeType::Hello => 0,
        EnvelopeType::Identity => 1,
        EnvelopeType::Encap => 2,
        EnvelopeType::Confirm => 3,
        EnvelopeType::Data => 4,
    }
}

/// What the handshake knows about our own identity.
#[derive(Clone)]
enum Credential {
    /// The real thing: our key pair.
    KeyPair(IdentityKeyPair),
    /// Only a public key, for [`crate::deniability`]'s forger: it cannot decapsulate, so the
    /// forger hands it the peer's encapsulated secret, which it knows because it plays the peer.
    PublicOnly {
        public: PublicIdentity,
        peer_k: Option<Zeroizing<[u8; 32]>>,
    },
}

impl Credential {
    fn public(&self) -> &PublicIdentity {
        match self {
            Credential::KeyPair(pair) => pair.public(),
            Credential::PublicOnly { public, .. } => public,
        }
    }
}

/// One handshake attempt with one peer.
///
/// `Clone` copies every secret it holds (each copy wipes its own on drop): it exists for tests and
/// fuzzing that replay one state many times, like [`Session`]'s.
#[derive(Clone)]
pub struct Handshake {
    identity: Credential,
    nonce: [u8; NONCE_LEN],
    eph: DhPrivateKey,
    own_hello: Vec<u8>,
    deadline: Instant,
    outbox: VecDeque<Vec<u8>>,
    /// Identity, Encap and Confirm that arrived before their turn (one slot each).
    early: [Option<Vec<u8>>; 3],
    early_data: Vec<Vec<u8>>,
    stage: Stage,
}

impl Handshake {
    /// Starts a handshake (the crate's `init_session`): draws a nonce and an ephemeral DH key and
    /// queues our Hello. Call when the relay says `PeerJoined`.
    pub fn new(identity: &IdentityKeyPair, rng: &mut impl CryptoRngCore, now: Instant) -> Self {
        Self::with_credential(Credential::KeyPair(identity.clone()), rng, now)
    }

    /// A handshake that plays `public`'s side without its private key (see [`crate::deniability`]).
    pub(crate) fn new_public_only(
        public: PublicIdentity,
        rng: &mut impl CryptoRngCore,
        now: Instant,
    ) -> Self {
        Self::with_credential(
            Credential::PublicOnly {
                public,
                peer_k: None,
            },
            rng,
            now,
        )
    }

    /// For the forger: the secret the peer encapsulated to us (which a public-only side cannot
    /// decrypt itself).
    pub(crate) fn set_peer_secret(&mut self, k: &[u8; 32]) {
        if let Credential::PublicOnly { peer_k, .. } = &mut self.identity {
            *peer_k = Some(Zeroizing::new(*k));
        }
    }

    /// For the forger: the secret we encapsulated to the peer, once sent.
    pub(crate) fn own_secret(&self) -> Option<&[u8; 32]> {
        match &self.stage {
            Stage::AwaitEncap(_, known) | Stage::AwaitConfirm(_, known, _) => Some(&known.own_k),
            _ => None,
        }
    }

    fn with_credential(identity: Credential, rng: &mut impl CryptoRngCore, now: Instant) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let eph = DhPrivateKey::generate(rng);
        let own_hello = messages::encode_hello(&nonce, eph.public_key().as_bytes());
        Handshake {
            identity,
            nonce,
            eph,
            own_hello: own_hello.clone(),
            deadline: now + HANDSHAKE_TIMEOUT,
            outbox: VecDeque::from([own_hello]),
            early: [None, None, None],
            early_data: Vec::new(),
            stage: Stage::AwaitHello,
        }
    }

    /// The next envelope to send to the peer (as a relay `Payload`), if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    /// When [`Self::handle_timeout`] must be called, unless the handshake is over.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.stage {
            Stage::Established(_) | Stage::Failed(_) => None,
            _ => Some(self.deadline),
        }
    }

    /// Fails the handshake if its deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        if now >= self.deadline && self.poll_timeout().is_some() {
            return Err(self.fail(HandshakeError::Timeout));
        }
        Ok(())
    }

    /// Our role, once the peer's Hello arrived.
    pub fn role(&self) -> Option<Role> {
        match &self.stage {
            Stage::AwaitIdentity(a) | Stage::AwaitEncap(a, _) | Stage::AwaitConfirm(a, _, _) => {
                Some(a.role)
            }
            Stage::Established(s) => Some(s.role()),
            Stage::AwaitHello | Stage::Failed(_) => None,
        }
    }

    /// Whether both sides confirmed the same keys: [`Self::into_session`] will succeed.
    pub fn is_established(&self) -> bool {
        matches!(self.stage, Stage::Established(_))
    }

    /// The fatal error, if the handshake failed.
    pub fn failure(&self) -> Option<&HandshakeError> {
        match &self.stage {
            Stage::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The transport session, once established; otherwise the handshake is handed back.
    pub fn into_session(self) -> Result<Session, Box<Handshake>> {
        match self.stage {
            // Cloned out, so the boxed original is dropped in place and its keys wiped (moving it
            // out would free the box's memory unwiped).
            Stage::Established(session) => Ok(Session::clone(&session)),
            stage => Err(Box::new(Handshake { stage, ..self })),
        }
    }

    /// Data envelopes that arrived before the handshake completed, oldest first: decrypt them with
    /// the session once established.
    pub fn take_early_data(&mut self) -> Vec<Vec<u8>> {
        core::mem::take(&mut self.early_data)
    }

    /// Handles one envelope from the peer. Non-fatal errors (see [`HandshakeError::is_fatal`]) mean
    /// the message was ignored; after a fatal one the handshake is over and its secrets wiped.
    pub fn handle_message(
        &mut self,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        if let Stage::Failed(_) = self.stage {
            return Err(HandshakeError::AlreadyFailed);
        }
        let (kind, _) = envelope::parse(envelope)?;
        if kind == EnvelopeType::Data {
            return self.keep_early_data(envelope);
        }
        let result = self
            .dispatch(kind, envelope, rng)
            .and_then(|()| self.drain_early(rng));
        match result {
            Err(e) if e.is_fatal() => Err(self.fail(e)),
            other => other,
        }
    }

    fn keep_early_data(&mut self, envelope: &[u8]) -> Result<(), HandshakeError> {
        if matches!(self.stage, Stage::Established(_)) {
            // Data after establishment belongs to the session; the caller should not be here.
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Data));
        }
        if self.early_data.len() >= MAX_EARLY_DATA {
            return Err(HandshakeError::EarlyDataOverflow);
        }
        self.early_data.push(envelope.to_vec());
        Ok(())
    }

    fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        // Dropping the stage wipes its keys (every secret type is ZeroizeOnDrop).
        self.stage = Stage::Failed(error.clone());
        self.outbox.clear();
        self.early = [None, None, None];
        self.early_data.clear();
        error
    }

    fn dispatch(
        &mut self,
        kind: EnvelopeType,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let (stage_rank, message_rank) = (self.stage.rank(), rank_of(kind));
        if kind == EnvelopeType::Hello {
            return self.on_hello(envelope);
        }
        if message_rank > stage_rank {
            // Early (the relay reordered): keep it for its turn, one per type.
            let slot = &mut self.early[usize::from(message_rank) - 1];
            return match slot {
                None => {
                    *slot = Some(envelope.to_vec());
                    Ok(())
                }
                Some(kept) if kept.as_slice() == envelope => Err(HandshakeError::Duplicate(kind)),
                Some(_) => Err(HandshakeError::Stale(kind)),
            };
        }
        if message_rank < stage_rank {
            return Err(self.classify_old(kind, envelope));
        }
        match kind {
            EnvelopeType::Identity => self.on_identity(envelope, rng),
            EnvelopeType::Encap => self.on_encap(envelope, rng),
            _ => self.on_confirm(envelope, rng),
        }
    }

    /// A message for a stage we already passed: a duplicate, a stale one from another attempt, or
    /// a contradiction.
    fn classify_old(&self, kind: EnvelopeType, envelope: &[u8]) -> HandshakeError {
        let (agreed, known, keyed) = match &self.stage {
            Stage::AwaitIdentity(a) => (Some(a), None, None),
            Stage::AwaitEncap(a, k) => (Some(a), Some(k), None),
            Stage::AwaitConfirm(a, k, y) => (Some(a), Some(k), Some(y)),
            // After establishment the session owns everything: anything else is a late copy.
            Stage::Established(_) | Stage::Failed(_) | Stage::AwaitHello => (None, None, None),
        };
        let Some(agreed) = agreed else {
            return HandshakeError::Duplicate(kind);
        };
        let recorded = match kind {
            EnvelopeType::Identity => known.map(|k| k.peer_identity_msg.as_slice()),
            EnvelopeType::Encap => keyed.map(|k| k.peer_encap_msg.as_slice()),
            _ => None,
        };
        if recorded == Some(envelope) {
            return HandshakeError::Duplicate(kind);
        }
        let body = envelope.get(envelope::PREFIX_LEN..).unwrap_or_default();
        match messages::attempt_of(body) {
            Some(attempt) if attempt == &agreed.attempt => HandshakeError::UnexpectedMessage(kind),
            _ => HandshakeError::Stale(kind),
        }
    }

    /// Re-processes early messages that are now due.
    fn drain_early(&mut self, rng: &mut impl CryptoRngCore) -> Result<(), HandshakeError> {
        loop {
            let rank = self.stage.rank();
            if !(1..=3).contains(&rank) {
                return Ok(());
            }
            let Some(envelope) = self.early[usize::from(rank) - 1].take() else {
                return Ok(());
            };
            let kind = match rank {
                1 => EnvelopeType::Identity,
                2 => EnvelopeType::Encap,
                _ => EnvelopeType::Confirm,
            };
            match self.dispatch(kind, &envelope, rng) {
                Ok(()) => {}
                Err(e) if e.is_fatal() => return Err(e),
                // A buffered message that turns out stale is simply dropped.
                Err(_) => {}
            }
        }
    }

    // ---- §5.2 Hello -------------------------------------------------------------------------

    fn on_hello(&mut self, envelope: &[u8]) -> Result<(), HandshakeError> {
        let (_, body) = envelope::parse(envelope)?;
        let hello = messages::parse_hello(body)?;
        if ct_eq(hello.nonce, &self.nonce) {
            return Err(HandshakeError::Reflection);
        }
        match &self.stage {
            Stage::AwaitHello => {}
            Stage::AwaitIdentity(a) | Stage::AwaitEncap(a, _) | Stage::AwaitConfirm(a, _, _) => {
                return Err(if a.peer_hello.as_slice() == envelope {
                    HandshakeError::Duplicate(EnvelopeType::Hello)
                } else {
                    HandshakeError::UnexpectedMessage(EnvelopeType::Hello)
                });
            }
            Stage::Established(_) | Stage::Failed(_) => {
                return Err(HandshakeError::Duplicate(EnvelopeType::Hello));
            }
        }
        let own_eph = self.eph.public_key();
        if hello.eph_pub == own_eph.as_bytes().as_slice() {
            return Err(HandshakeError::Reflection);
        }
        let peer_eph = DhPublicKey::from_bytes(hello.eph_pub)
            .map_err(|e| HandshakeError::BadKey(e.to_string()))?;

        // Roles from the nonces (PROTOCOL.md §5.2); they differ, checked above.
        let role = if self.nonce.as_slice() < hello.nonce.as_slice() {
            Role::Initiator
        } else {
            Role::Responder
        };
        let (hello_i, hello_r) = role.order(self.own_hello.as_slice(), envelope);
        let hello_hash = key_schedule::hello_hash(hello_i, hello_r);
        let mut attempt = [0u8; ATTEMPT_LEN];
        attempt.copy_from_slice(&hello_hash[..ATTEMPT_LEN]);
        let dh = self
            .eph
            .agree(&peer_eph)
            .map_err(|e| HandshakeError::BadKey(e.to_string()))?;
        let hiding = HidingKeys::derive(&hello_hash, dh.as_bytes());

        // §5.4: our Identity, sealed under our role's keys.
        let mut pt = [0u8; IDENTITY_PT_LEN];
        pt[..260].copy_from_slice(self.identity.public().as_bytes());
        let own_identity = seal(
            hiding.identity(role),
            labels::IDENTITY,
            EnvelopeType::Identity,
            &attempt,
            &mut pt,
        );
        self.outbox.push_back(own_identity.clone());
        self.stage = Stage::AwaitIdentity(Box::new(Agreed {
            role,
            peer_hello: envelope.to_vec(),
            peer_eph,
            hello_hash,
            attempt,
            dh,
            hiding,
            own_identity,
        }));
        Ok(())
    }

    // ---- §5.4 Identity ----------------------------------------------------------------------

    fn on_identity(
        &mut self,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitIdentity(agreed) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Identity));
        };
        let mut pt = open(
            agreed,
            agreed.hiding.identity(agreed.role.peer()),
            labels::IDENTITY,
            EnvelopeType::Identity,
            envelope,
        )?;
        let (key_bytes, padding) = pt.split_at(260);
        if padding.iter().any(|&b| b != 0) {
            return Err(HandshakeError::BadKey(
                "identity padding is not zero".into(),
            ));
        }
        let peer = PublicIdentity::from_bytes(key_bytes)
            .map_err(|e| HandshakeError::BadKey(e.to_string()))?;
        zeroize::Zeroize::zeroize(&mut pt[..]);
        if peer == *self.identity.public() {
            return Err(HandshakeError::Reflection);
        }

        // §5.5: our Encap of a fresh k to the peer's identity key, bound to this attempt.
        let mut own_k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(own_k.as_mut());
        let label = kem_label(&agreed.hello_hash);
        let kem = peer
            .key()
            .oaep_encrypt(rng, own_k.as_ref(), &label)
            .map_err(|e| HandshakeError::BadKey(e.to_string()))?;
        let mut kem_pt = [0u8; messages::ENCAP_PT_LEN];
        if kem.len() != kem_pt.len() {
            return Err(HandshakeError::BadKey(
                "RSA ciphertext has the wrong length".into(),
            ));
        }
        kem_pt.copy_from_slice(&kem);
        let own_encap = seal(
            agreed.hiding.encap(agreed.role),
            labels::ENCAP,
            EnvelopeType::Encap,
            &agreed.attempt,
            &mut kem_pt,
        );
        self.outbox.push_back(own_encap.clone());

        let known = PeerKnown {
            peer_identity_msg: envelope.to_vec(),
            peer,
            own_k,
            own_encap,
        };
        let Stage::AwaitIdentity(agreed) = core::mem::replace(&mut self.stage, Stage::AwaitHello)
        else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Identity));
        };
        self.stage = Stage::AwaitEncap(agreed, Box::new(known));
        Ok(())
    }

    // ---- §5.5 Encap and §5.6 key schedule ---------------------------------------------------

    fn on_encap(
        &mut self,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitEncap(agreed, known) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Encap));
        };
        let kem = open(
            agreed,
            agreed.hiding.encap(agreed.role.peer()),
            labels::ENCAP,
            EnvelopeType::Encap,
            envelope,
        )?;
        let label = kem_label(&agreed.hello_hash);
        let peer_k: Zeroizing<[u8; 32]> = match &self.identity {
            Credential::KeyPair(pair) => {
                // One opaque error for every OAEP failure (RFC 8017 §7.1.2 note).
                let k = pair
                    .private_key()
                    .oaep_decrypt(rng, &kem, &label)
                    .map_err(|_| HandshakeError::Authentication)?;
                Zeroizing::new(
                    k.as_slice()
                        .try_into()
                        .map_err(|_| HandshakeError::Authentication)?,
                )
            }
            Credential::PublicOnly { peer_k, .. } => {
                peer_k.clone().ok_or(HandshakeError::Authentication)?
            }
        };

        let role = agreed.role;
        let (hello_i, hello_r) =
            role.order(self.own_hello.as_slice(), agreed.peer_hello.as_slice());
        let (identity_i, identity_r) = role.order(
            agreed.own_identity.as_slice(),
            known.peer_identity_msg.as_slice(),
        );
        let (encap_i, encap_r) = role.order(known.own_encap.as_slice(), envelope);
        let th = key_schedule::transcript_hash(&[
            hello_i, hello_r, identity_i, identity_r, encap_i, encap_r,
        ]);
        let (k_i, k_r) = role.order(&*known.own_k, &*peer_k);
        let keys = SessionKeys::derive(&th, agreed.dh.as_bytes(), k_i, k_r);

        // §5.7: our Confirm.
        let mac = keys.confirm_mac(role, &th).finalize();
        self.outbox
            .push_back(messages::encode_confirm(&agreed.attempt, &mac));

        let keyed = Keyed {
            peer_encap_msg: envelope.to_vec(),
            th,
            keys,
        };
        let Stage::AwaitEncap(agreed, known) =
            core::mem::replace(&mut self.stage, Stage::AwaitHello)
        else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Encap));
        };
        self.stage = Stage::AwaitConfirm(agreed, known, Box::new(keyed));
        Ok(())
    }

    // ---- §5.7 Confirm, then §6.2 the ratchet's initial state ---------------------------------

    fn on_confirm(
        &mut self,
        envelope: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitConfirm(agreed, known, keyed) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Confirm));
        };
        let (_, body) = envelope::parse(envelope)?;
        let confirm = messages::parse_confirm(body)?;
        if confirm.attempt != &agreed.attempt {
            return Err(HandshakeError::Stale(EnvelopeType::Confirm));
        }
        // Verified in constant time with the peer's role key: a reflected Confirm fails here.
        keyed
            .keys
            .confirm_mac(agreed.role.peer(), &keyed.th)
            .verify(confirm.mac)
            .map_err(|_| HandshakeError::Authentication)?;

        let k = &keyed.keys;
        let initial = InitialKeys {
            rk0: &k.rk0,
            ck_r0: &k.ck_r0,
            hk_r0: &k.hk_r0,
            hk_i0: &k.hk_i0,
            nhk_r1: &k.nhk_r1,
        };
        let ratchet = match agreed.role {
            Role::Initiator => DoubleRatchet::new_initiator(&initial, &agreed.peer_eph, rng)
                .map_err(|e| HandshakeError::BadKey(e.to_string()))?,
            Role::Responder => DoubleRatchet::new_responder(&initial, self.eph.clone()),
        };
        let session = Session::new(
            ratchet,
            keyed.th,
            agreed.role,
            self.identity.public().clone(),
            known.peer.clone(),
            KeyVisual::from_bytes(k.visual),
        );
        self.early = [None, None, None];
        self.stage = Stage::Established(Box::new(session));
        Ok(())
    }
}

impl core::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let stage = match &self.stage {
            Stage::AwaitHello => "AwaitHello",
            Stage::AwaitIdentity(..) => "AwaitIdentity",
            Stage::AwaitEncap(..) => "AwaitEncap",
            Stage::AwaitConfirm(..) => "AwaitConfirm",
            Stage::Established(_) => "Established",
            Stage::Failed(_) => "Failed",
        };
        f.debug_struct("Handshake")
            .field("stage", &stage)
            .field("role", &self.role())
            .finish_non_exhaustive()
    }
}

/// `"e2e-chat v1 kem" || hello_hash`: the OAEP label that binds an Encap to its attempt (§5.5).
fn kem_label(hello_hash: &[u8; 32]) -> Vec<u8> {
    [labels::KEM, hello_hash.as_slice()].concat()
}

/// §5.3 `seal`: encrypts `pt` in place and builds the envelope `attempt || ct || tag`.
fn seal(
    keys: &crate::etm::CipherKeys,
    label: &[u8],
    kind: EnvelopeType,
    attempt: &[u8; ATTEMPT_LEN],
    pt: &mut [u8],
) -> Vec<u8> {
    // Callers pass 272- or 256-byte buffers: whole AES blocks, so IGE cannot refuse them.
    let sealed = keys.encrypt(pt);
    debug_assert!(sealed.is_ok());
    let tag = keys.tag(&[label, attempt, pt]);
    messages::encode_sealed(kind, attempt, pt, &tag)
}

/// §5.3 `open`: checks the attempt, verifies the tag in constant time, then decrypts.
fn open(
    agreed: &Agreed,
    keys: &crate::etm::CipherKeys,
    label: &[u8],
    kind: EnvelopeType,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, HandshakeError> {
    let (_, body) = envelope::parse(envelope)?;
    let sealed = messages::parse_sealed(kind, body)?;
    if sealed.attempt != &agreed.attempt {
        return Err(HandshakeError::Stale(kind));
    }
    if !keys.verify(&[label, sealed.attempt, sealed.ciphertext], sealed.tag) {
        return Err(HandshakeError::Authentication);
    }
    let mut pt = Zeroizing::new(sealed.ciphertext.to_vec());
    keys.decrypt(&mut pt)
        .map_err(|_| HandshakeError::Authentication)?;
    Ok(pt)
}
