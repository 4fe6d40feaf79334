//! The deniable authenticated key exchange with a committed short authentication string
//! (PROTOCOL.md §5): a sans-IO state machine that takes decoded envelopes, `now` and an RNG, and
//! produces envelopes to send and, once both sides confirmed the same keys, a [`Session`].
//!
//! ```text
//! Handshake::new ──► poll_transmit / handle_message / handle_timeout ──► into_session
//! ```
//!
//! Like snow's `HandshakeState`, it turns into the transport state only when complete, so nothing
//! can be encrypted before key confirmation. A fatal error wipes every secret of the attempt.
//! Each stage's data is a small struct; a stage is replaced as a whole only after its message was
//! fully verified (commit on success).

mod credential;
mod error;
mod key_schedule;
mod messages;
mod reorder;
mod role;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

pub use credential::{Credential, KEM_SECRET_LEN, encapsulate_to};
pub use error::HandshakeError;
pub use reorder::MAX_EARLY_DATA;
pub use role::Role;

use crate::crypto::ct::ct_eq;
use crate::crypto::dh::{DhPrivateKey, DhPublicKey, SharedSecret};
use crate::envelope::{
    self, ATTEMPT_LEN, Envelope, EnvelopeType, HandshakeBody, HandshakeMessage, IDENTITY_PT_LEN,
    KEM_PT_LEN, NONCE_LEN, RESP_AUTH_TRANSCRIBED, Sealed,
};
use crate::etm::CipherKeys;
use crate::identity::{
    IdentityKeyPair, KeyVisual, PUBLIC_KEY_LEN, PublicIdentity, ShortAuthString,
};
use crate::labels;
use crate::ratchet::{DoubleRatchet, InitialKeys};
use crate::session::Session;
use key_schedule::{HidingKeys, SAS_OKM_LEN, SessionKeys};
use reorder::Early;

/// How long a handshake may take before it fails with [`HandshakeError::Timeout`].
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// After both Hellos (§5.3): roles, the attempt's binding values and the identity-hiding keys.
#[derive(Clone)]
struct Agreed {
    role: Role,
    peer_commit: Vec<u8>,
    peer_hello: Vec<u8>,
    peer_eph: DhPublicKey,
    hello_hash: [u8; 32],
    attempt: [u8; ATTEMPT_LEN],
    dh: SharedSecret,
    hiding: HidingKeys,
    sas: [u8; SAS_OKM_LEN],
}

/// The initiator after the responder's identity (§5.6): whom it encapsulated `k_I` to.
#[derive(Clone)]
struct InitSent {
    peer: PublicIdentity,
    peer_resp_identity: Vec<u8>,
    k_i: Zeroizing<[u8; KEM_SECRET_LEN]>,
    own_init_auth: Vec<u8>,
}

/// The responder after the initiator's authentication (§5.7): the transcript and session keys.
#[derive(Clone)]
struct RespSent {
    peer: PublicIdentity,
    peer_init_auth: Vec<u8>,
    th: [u8; 32],
    keys: SessionKeys,
}

#[derive(Clone)]
enum Stage {
    AwaitCommit,
    AwaitHello {
        peer_commit: Vec<u8>,
    },
    /// Initiator.
    AwaitRespIdentity(Box<Agreed>),
    /// Responder, its identity sent.
    AwaitInitAuth(Box<Agreed>, Vec<u8>),
    /// Initiator, its identity sent.
    AwaitRespAuth(Box<Agreed>, Box<InitSent>),
    /// Responder, its confirmation sent.
    AwaitInitConfirm(Box<Agreed>, Box<RespSent>),
    Established(Box<Session>),
    Failed(HandshakeError),
}

impl Stage {
    /// The message this stage waits for.
    fn awaits(&self) -> Option<EnvelopeType> {
        match self {
            Stage::AwaitCommit => Some(EnvelopeType::Commit),
            Stage::AwaitHello { .. } => Some(EnvelopeType::Hello),
            Stage::AwaitRespIdentity(_) => Some(EnvelopeType::RespIdentity),
            Stage::AwaitInitAuth(..) => Some(EnvelopeType::InitAuth),
            Stage::AwaitRespAuth(..) => Some(EnvelopeType::RespAuth),
            Stage::AwaitInitConfirm(..) => Some(EnvelopeType::InitConfirm),
            Stage::Established(_) | Stage::Failed(_) => None,
        }
    }

    fn agreed(&self) -> Option<&Agreed> {
        match self {
            Stage::AwaitRespIdentity(a)
            | Stage::AwaitInitAuth(a, _)
            | Stage::AwaitRespAuth(a, _)
            | Stage::AwaitInitConfirm(a, _) => Some(a),
            _ => None,
        }
    }

    /// The peer's raw message of `kind`, if this stage already processed one.
    fn recorded(&self, kind: EnvelopeType) -> Option<&[u8]> {
        let agreed = self.agreed();
        match kind {
            EnvelopeType::Commit => match self {
                Stage::AwaitHello { peer_commit } => Some(peer_commit),
                _ => agreed.map(|a| a.peer_commit.as_slice()),
            },
            EnvelopeType::Hello => agreed.map(|a| a.peer_hello.as_slice()),
            EnvelopeType::RespIdentity => match self {
                Stage::AwaitRespAuth(_, s) => Some(&s.peer_resp_identity),
                _ => None,
            },
            EnvelopeType::InitAuth => match self {
                Stage::AwaitInitConfirm(_, s) => Some(&s.peer_init_auth),
                _ => None,
            },
            _ => None,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Stage::AwaitCommit => "AwaitCommit",
            Stage::AwaitHello { .. } => "AwaitHello",
            Stage::AwaitRespIdentity(_) => "AwaitRespIdentity",
            Stage::AwaitInitAuth(..) => "AwaitInitAuth",
            Stage::AwaitRespAuth(..) => "AwaitRespAuth",
            Stage::AwaitInitConfirm(..) => "AwaitInitConfirm",
            Stage::Established(_) => "Established",
            Stage::Failed(_) => "Failed",
        }
    }
}

/// One key-exchange attempt with one peer.
///
/// `Clone` copies every secret it holds (each copy wipes its own on drop): it exists for tests and
/// fuzzing that replay one state many times, like [`Session`]'s.
#[derive(Clone)]
pub struct Handshake<C: Credential = IdentityKeyPair> {
    credential: C,
    nonce: [u8; NONCE_LEN],
    eph: DhPrivateKey,
    own_commit: Vec<u8>,
    own_hello: Vec<u8>,
    deadline: Instant,
    outbox: VecDeque<Vec<u8>>,
    early: Early,
    identity_revealed: bool,
    stage: Stage,
}

impl Handshake<IdentityKeyPair> {
    /// Starts a handshake with our identity key pair: draws a nonce and an ephemeral DH key and
    /// queues our Commit. Call when the relay says `PeerJoined`.
    pub fn new(identity: &IdentityKeyPair, rng: &mut impl CryptoRngCore, now: Instant) -> Self {
        Self::with_credential(identity.clone(), rng, now)
    }
}

impl<C: Credential> Handshake<C> {
    /// Starts a handshake for any [`Credential`] (the real key pair, or the deniability forger's).
    pub fn with_credential(credential: C, rng: &mut impl CryptoRngCore, now: Instant) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let eph = DhPrivateKey::generate(rng);
        let own_hello = messages::encode_hello(&nonce, eph.public_key().as_bytes());
        let own_commit = messages::encode_commit(&key_schedule::commitment(&own_hello));
        Handshake {
            credential,
            nonce,
            eph,
            own_commit: own_commit.clone(),
            own_hello,
            deadline: now + HANDSHAKE_TIMEOUT,
            outbox: VecDeque::from([own_commit]),
            early: Early::default(),
            identity_revealed: false,
            stage: Stage::AwaitCommit,
        }
    }

    // ---- getters ------------------------------------------------------------------------------

    /// Our role, once the peer's Hello was processed.
    pub fn role(&self) -> Option<Role> {
        match &self.stage {
            Stage::Established(s) => Some(s.role()),
            stage => stage.agreed().map(|a| a.role),
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

    /// Whether our identity key has been sent in this attempt (the responder's with RespIdentity,
    /// the initiator's with InitAuth; PROTOCOL.md §5.10 reports it when an attempt is aborted).
    pub fn identity_revealed(&self) -> bool {
        self.identity_revealed
    }

    /// Whether the peer's Commit arrived (Data from the peer belongs to this attempt only after it).
    pub fn has_peer_commit(&self) -> bool {
        !matches!(self.stage, Stage::AwaitCommit | Stage::Failed(_))
    }

    /// The stage's name, for logs and tests.
    pub fn stage_name(&self) -> &'static str {
        self.stage.name()
    }

    // ---- outputs ------------------------------------------------------------------------------

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

    /// The transport session, once established; otherwise the handshake is handed back.
    pub fn into_session(self) -> Result<Session, Box<Self>> {
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
        self.early.take_data()
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// Fails the handshake if its deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), HandshakeError> {
        if now >= self.deadline && self.poll_timeout().is_some() {
            return Err(self.fail(HandshakeError::Timeout));
        }
        Ok(())
    }

    /// Decodes `bytes` and handles them (convenience for tests and drivers that hold raw bytes).
    pub fn handle_bytes(
        &mut self,
        bytes: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        if let Stage::Failed(_) = self.stage {
            return Err(HandshakeError::AlreadyFailed);
        }
        match Envelope::decode(bytes) {
            Ok(Envelope::Handshake(m)) => self.handle_message(&m, rng),
            Ok(Envelope::Data(_)) => self.handle_data(bytes),
            Err(e) => {
                let e = HandshakeError::from(e);
                Err(if e.is_fatal() { self.fail(e) } else { e })
            }
        }
    }

    /// Keeps a Data envelope that arrived before the session exists (PROTOCOL.md §5.10).
    pub fn handle_data(&mut self, raw: &[u8]) -> Result<(), HandshakeError> {
        match self.stage {
            Stage::Failed(_) => Err(HandshakeError::AlreadyFailed),
            Stage::AwaitCommit => Err(HandshakeError::DataBeforeCommit),
            Stage::Established(_) => Err(HandshakeError::UnexpectedMessage(EnvelopeType::Data)),
            _ => self.early.keep_data(raw),
        }
    }

    /// Handles one decoded handshake message from the peer. Non-fatal errors (see
    /// [`HandshakeError::is_fatal`]) mean the message was ignored; after a fatal one the handshake is
    /// over and its secrets wiped.
    pub fn handle_message(
        &mut self,
        message: &HandshakeMessage<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        if let Stage::Failed(_) = self.stage {
            return Err(HandshakeError::AlreadyFailed);
        }
        let result = self
            .dispatch(message, rng)
            .and_then(|()| self.drain_early(rng));
        match result {
            Err(e) if e.is_fatal() => Err(self.fail(e)),
            other => other,
        }
    }

    // ---- internals ----------------------------------------------------------------------------

    fn fail(&mut self, error: HandshakeError) -> HandshakeError {
        // Dropping the stage wipes its keys (every secret type is ZeroizeOnDrop).
        self.stage = Stage::Failed(error.clone());
        self.outbox.clear();
        self.early.clear();
        error
    }

    /// Routes a message to its step, keeps it for later, or classifies it (PROTOCOL.md §5.10).
    fn dispatch(
        &mut self,
        m: &HandshakeMessage<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let kind = m.kind();
        if let Stage::Established(_) = self.stage {
            // Late copies: the session owns everything now.
            return Err(HandshakeError::Duplicate(kind));
        }
        let Some(awaited) = self.stage.awaits() else {
            return Err(HandshakeError::AlreadyFailed);
        };
        if kind == awaited {
            if let Some(attempt) = m.attempt()
                && let Some(agreed) = self.stage.agreed()
                && attempt != &agreed.attempt
            {
                return Err(HandshakeError::Stale(kind));
            }
            return match *m.body() {
                HandshakeBody::Commit { .. } => self.on_commit(m.raw()),
                HandshakeBody::Hello { nonce, eph_pub } => self.on_hello(m.raw(), nonce, eph_pub),
                HandshakeBody::RespIdentity { id_box, .. } => {
                    self.on_resp_identity(m.raw(), id_box, rng)
                }
                HandshakeBody::InitAuth {
                    kem_box, id_box, ..
                } => self.on_init_auth(m.raw(), kem_box, id_box, rng),
                HandshakeBody::RespAuth {
                    kem_box, confirm, ..
                } => self.on_resp_auth(m.raw(), kem_box, confirm, rng),
                HandshakeBody::InitConfirm { mac, .. } => self.on_init_confirm(mac, rng),
            };
        }
        // Not the awaited type: a duplicate, a message for a later stage, or a contradiction.
        if self.stage.recorded(kind) == Some(m.raw()) {
            return Err(HandshakeError::Duplicate(kind));
        }
        if kind == EnvelopeType::Commit && m.raw() == self.own_commit.as_slice() {
            return Err(HandshakeError::Reflection);
        }
        let role = self.stage.agreed().map(|a| a.role);
        match (kind, role) {
            // Before the Hellos the role is unknown: keep anything that comes later.
            (EnvelopeType::Hello, None) => self.early.keep(kind, m.raw()),
            (EnvelopeType::Commit | EnvelopeType::Hello, _) => {
                Err(HandshakeError::UnexpectedMessage(kind))
            }
            (_, None) => self.early.keep(kind, m.raw()),
            (_, Some(role)) => {
                let Some(agreed) = self.stage.agreed() else {
                    return Err(HandshakeError::UnexpectedMessage(kind));
                };
                if !role.receives().contains(&kind) {
                    return Err(HandshakeError::UnexpectedMessage(kind));
                }
                if m.attempt() != Some(&agreed.attempt) {
                    return Err(HandshakeError::Stale(kind));
                }
                if kind > awaited {
                    self.early.keep(kind, m.raw())
                } else {
                    // An earlier step of this attempt with different bytes: a contradiction.
                    Err(HandshakeError::UnexpectedMessage(kind))
                }
            }
        }
    }

    /// Re-processes kept messages that are now due.
    fn drain_early(&mut self, rng: &mut impl CryptoRngCore) -> Result<(), HandshakeError> {
        while let Some(awaited) = self.stage.awaits() {
            let Some(raw) = self.early.take(awaited) else {
                return Ok(());
            };
            let Ok(Envelope::Handshake(m)) = Envelope::decode(&raw) else {
                continue;
            };
            match self.dispatch(&m, rng) {
                Ok(()) => {}
                Err(e) if e.is_fatal() => return Err(e),
                // A kept message that turns out stale is simply dropped.
                Err(_) => {}
            }
        }
        Ok(())
    }

    // ---- §5.2 Commit ----------------------------------------------------------------------------

    fn on_commit(&mut self, raw: &[u8]) -> Result<(), HandshakeError> {
        if ct_eq(raw, &self.own_commit) {
            return Err(HandshakeError::Reflection);
        }
        // Only now may our Hello leave: the peer's value is fixed before it sees ours.
        self.outbox.push_back(self.own_hello.clone());
        self.stage = Stage::AwaitHello {
            peer_commit: raw.to_vec(),
        };
        Ok(())
    }

    // ---- §5.3 Hello -----------------------------------------------------------------------------

    fn on_hello(
        &mut self,
        raw: &[u8],
        nonce: &[u8; NONCE_LEN],
        eph_pub: &[u8; crate::crypto::dh::DH_LEN],
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitHello { peer_commit } = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::Hello));
        };
        let expected = key_schedule::commitment(raw);
        if !ct_eq(&expected, &peer_commit[envelope::PREFIX_LEN..]) {
            return Err(HandshakeError::CommitmentMismatch);
        }
        if ct_eq(nonce, &self.nonce) || eph_pub == self.eph.public_key().as_bytes() {
            return Err(HandshakeError::Reflection);
        }
        let peer_eph =
            DhPublicKey::from_bytes(eph_pub).map_err(|e| HandshakeError::BadKey(e.to_string()))?;
        let role = Role::from_nonces(&self.nonce, nonce);
        let (commit_i, commit_r) = role.order(self.own_commit.as_slice(), peer_commit.as_slice());
        let (hello_i, hello_r) = role.order(self.own_hello.as_slice(), raw);
        let hello_hash = key_schedule::hello_hash(commit_i, commit_r, hello_i, hello_r);
        let mut attempt = [0u8; ATTEMPT_LEN];
        attempt.copy_from_slice(&hello_hash[..ATTEMPT_LEN]);
        let dh = self
            .eph
            .agree(&peer_eph)
            .map_err(|e| HandshakeError::BadKey(e.to_string()))?;
        let sas = key_schedule::sas_okm(&hello_hash, dh.as_bytes());
        let hiding = HidingKeys::derive(&hello_hash, dh.as_bytes());
        let agreed = Box::new(Agreed {
            role,
            peer_commit: peer_commit.clone(),
            peer_hello: raw.to_vec(),
            peer_eph,
            hello_hash,
            attempt,
            dh,
            hiding,
            sas,
        });
        self.stage = match role {
            Role::Initiator => Stage::AwaitRespIdentity(agreed),
            Role::Responder => {
                // §5.5: the responder shows its identity first, sealed under keys from `dh`.
                let own = self.sealed_identity(
                    &agreed.hiding.resp_identity,
                    labels::RESP_IDENTITY,
                    &attempt,
                );
                let msg =
                    messages::encode_parts(EnvelopeType::RespIdentity, &attempt, &[&own.0, &own.1]);
                self.outbox.push_back(msg.clone());
                self.identity_revealed = true;
                Stage::AwaitInitAuth(agreed, msg)
            }
        };
        Ok(())
    }

    // ---- §5.5 RespIdentity, received by the initiator -------------------------------------------

    fn on_resp_identity(
        &mut self,
        raw: &[u8],
        id_box: Sealed<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitRespIdentity(agreed) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(
                EnvelopeType::RespIdentity,
            ));
        };
        let peer = open_identity(
            &agreed.hiding.resp_identity,
            labels::RESP_IDENTITY,
            &agreed.attempt,
            id_box,
        )?;
        if peer == *self.credential.public() {
            return Err(HandshakeError::Reflection);
        }
        // §5.6: encapsulate k_I to the identity the responder showed; seal our identity under keys
        // that need k_I, so only that identity's holder can read it.
        let label = key_schedule::kem_label(Role::Initiator, &agreed.hello_hash);
        let (k_i, kem_i) = self.credential.encapsulate(&peer, &label, rng)?;
        let kem_box = seal_kem(
            &agreed.hiding.init_kem,
            labels::INIT_KEM,
            &agreed.attempt,
            &kem_i,
        )?;
        let init_id =
            key_schedule::init_identity_keys(&agreed.hello_hash, agreed.dh.as_bytes(), &k_i);
        let id_box = self.sealed_identity(&init_id, labels::INIT_IDENTITY, &agreed.attempt);
        let msg = messages::encode_parts(
            EnvelopeType::InitAuth,
            &agreed.attempt,
            &[&kem_box.0, &kem_box.1, &id_box.0, &id_box.1],
        );
        self.outbox.push_back(msg.clone());
        self.identity_revealed = true;
        let sent = Box::new(InitSent {
            peer,
            peer_resp_identity: raw.to_vec(),
            k_i,
            own_init_auth: msg,
        });
        let Stage::AwaitRespIdentity(agreed) =
            core::mem::replace(&mut self.stage, Stage::AwaitCommit)
        else {
            return Err(HandshakeError::UnexpectedMessage(
                EnvelopeType::RespIdentity,
            ));
        };
        self.stage = Stage::AwaitRespAuth(agreed, sent);
        Ok(())
    }

    // ---- §5.6 InitAuth, received by the responder -----------------------------------------------

    fn on_init_auth(
        &mut self,
        raw: &[u8],
        kem_box: Sealed<'_>,
        id_box: Sealed<'_>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitInitAuth(agreed, own_resp_identity) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::InitAuth));
        };
        let kem_i = open(
            &agreed.hiding.init_kem,
            labels::INIT_KEM,
            &agreed.attempt,
            kem_box,
        )?;
        let label = key_schedule::kem_label(Role::Initiator, &agreed.hello_hash);
        let k_i = self.credential.decapsulate(&kem_i, &label, rng)?;
        let init_id =
            key_schedule::init_identity_keys(&agreed.hello_hash, agreed.dh.as_bytes(), &k_i);
        let peer = open_identity(&init_id, labels::INIT_IDENTITY, &agreed.attempt, id_box)?;
        if peer == *self.credential.public() {
            return Err(HandshakeError::Reflection);
        }
        // §5.7: encapsulate k_R to the initiator, then confirm the transcript so far.
        let label = key_schedule::kem_label(Role::Responder, &agreed.hello_hash);
        let (k_r, kem_r) = self.credential.encapsulate(&peer, &label, rng)?;
        let kem_box = seal_kem(
            &agreed.hiding.resp_kem,
            labels::RESP_KEM,
            &agreed.attempt,
            &kem_r,
        )?;
        let mut msg = messages::encode_parts_prefix(&agreed.attempt, &kem_box);
        let th = self.transcript(agreed, own_resp_identity, raw, &msg);
        let keys = SessionKeys::derive(&th, agreed.dh.as_bytes(), &k_i, &k_r);
        msg.extend_from_slice(&keys.confirm_mac(Role::Responder, &th).finalize());
        self.outbox.push_back(msg);
        let sent = Box::new(RespSent {
            peer,
            peer_init_auth: raw.to_vec(),
            th,
            keys,
        });
        let Stage::AwaitInitAuth(agreed, _) =
            core::mem::replace(&mut self.stage, Stage::AwaitCommit)
        else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::InitAuth));
        };
        self.stage = Stage::AwaitInitConfirm(agreed, sent);
        Ok(())
    }

    // ---- §5.7 RespAuth, received by the initiator -----------------------------------------------

    fn on_resp_auth(
        &mut self,
        raw: &[u8],
        kem_box: Sealed<'_>,
        confirm: &[u8; 32],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitRespAuth(agreed, sent) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::RespAuth));
        };
        let kem_r = open(
            &agreed.hiding.resp_kem,
            labels::RESP_KEM,
            &agreed.attempt,
            kem_box,
        )?;
        let label = key_schedule::kem_label(Role::Responder, &agreed.hello_hash);
        let k_r = self.credential.decapsulate(&kem_r, &label, rng)?;
        let th = self.transcript(
            agreed,
            &sent.peer_resp_identity,
            &sent.own_init_auth,
            &raw[..RESP_AUTH_TRANSCRIBED],
        );
        let keys = SessionKeys::derive(&th, agreed.dh.as_bytes(), &sent.k_i, &k_r);
        // Verified in constant time with the responder's key: proves it decrypted k_I (§5.1).
        keys.confirm_mac(Role::Responder, &th)
            .verify(confirm)
            .map_err(|_| HandshakeError::Authentication)?;
        let mac = keys.confirm_mac(Role::Initiator, &th).finalize();
        let peer = sent.peer.clone();
        let session = self.session(agreed, peer, th, &keys, rng)?;
        self.outbox
            .push_back(messages::encode_init_confirm(&agreed.attempt, &mac));
        self.establish(session);
        Ok(())
    }

    // ---- §5.9 InitConfirm, received by the responder --------------------------------------------

    fn on_init_confirm(
        &mut self,
        mac: &[u8; 32],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), HandshakeError> {
        let Stage::AwaitInitConfirm(agreed, sent) = &self.stage else {
            return Err(HandshakeError::UnexpectedMessage(EnvelopeType::InitConfirm));
        };
        sent.keys
            .confirm_mac(Role::Initiator, &sent.th)
            .verify(mac)
            .map_err(|_| HandshakeError::Authentication)?;
        let session = self.session(agreed, sent.peer.clone(), sent.th, &sent.keys, rng)?;
        self.establish(session);
        Ok(())
    }

    // ---- helpers ----------------------------------------------------------------------------------

    /// `TH` of §5.8 from the agreed values and the three later messages (in wire order).
    fn transcript(
        &self,
        agreed: &Agreed,
        resp_identity: &[u8],
        init_auth: &[u8],
        resp_auth_head: &[u8],
    ) -> [u8; 32] {
        let (commit_i, commit_r) = agreed
            .role
            .order(self.own_commit.as_slice(), agreed.peer_commit.as_slice());
        let (hello_i, hello_r) = agreed
            .role
            .order(self.own_hello.as_slice(), agreed.peer_hello.as_slice());
        key_schedule::transcript_hash(&[
            commit_i,
            commit_r,
            hello_i,
            hello_r,
            resp_identity,
            init_auth,
            resp_auth_head,
        ])
    }

    /// Our identity sealed for the peer: `seal(keys, label, attempt, ik_pub || 0^12)` (§5.4).
    fn sealed_identity(
        &self,
        keys: &CipherKeys,
        label: &[u8],
        attempt: &[u8; ATTEMPT_LEN],
    ) -> (Vec<u8>, [u8; 32]) {
        let mut pt = vec![0u8; IDENTITY_PT_LEN];
        pt[..PUBLIC_KEY_LEN].copy_from_slice(self.credential.public().as_bytes());
        seal(keys, label, attempt, pt)
    }

    /// The ratchet's initial state (§6.2) and the session.
    fn session(
        &self,
        agreed: &Agreed,
        peer: PublicIdentity,
        th: [u8; 32],
        keys: &SessionKeys,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Session, HandshakeError> {
        let initial = InitialKeys {
            rk0: &keys.rk0,
            ck_r0: &keys.ck_r0,
            hk_r0: &keys.hk_r0,
            hk_i0: &keys.hk_i0,
            nhk_r1: &keys.nhk_r1,
        };
        let ratchet = match agreed.role {
            Role::Initiator => DoubleRatchet::new_initiator(&initial, &agreed.peer_eph, rng)
                .map_err(|e| HandshakeError::BadKey(e.to_string()))?,
            Role::Responder => DoubleRatchet::new_responder(&initial, self.eph.clone()),
        };
        let mut sas = [0u8; 6];
        sas.copy_from_slice(&agreed.sas[..6]);
        let mut visual = [0u8; 36];
        visual.copy_from_slice(&agreed.sas[6..]);
        Ok(Session::new(
            ratchet,
            th,
            agreed.role,
            self.credential.public().clone(),
            peer,
            ShortAuthString::from_bytes(sas),
            KeyVisual::from_bytes(visual),
        ))
    }

    fn establish(&mut self, session: Session) {
        self.early.clear_messages();
        self.stage = Stage::Established(Box::new(session));
    }
}

impl<C: Credential> core::fmt::Debug for Handshake<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Handshake")
            .field("stage", &self.stage.name())
            .field("role", &self.role())
            .finish_non_exhaustive()
    }
}

/// §5.4 `seal`: encrypts `pt` in place and returns `(ct, tag)`.
fn seal(
    keys: &CipherKeys,
    label: &[u8],
    attempt: &[u8; ATTEMPT_LEN],
    pt: Vec<u8>,
) -> (Vec<u8>, [u8; 32]) {
    let mut ct = pt;
    // Callers pass 272- or 256-byte buffers: whole AES blocks, so IGE cannot refuse them.
    let sealed = keys.encrypt(&mut ct);
    debug_assert!(sealed.is_ok());
    let tag = keys.tag(&[label, attempt, &ct]);
    (ct, tag)
}

/// Seals a 256-byte RSA ciphertext (§5.6, §5.7).
fn seal_kem(
    keys: &CipherKeys,
    label: &[u8],
    attempt: &[u8; ATTEMPT_LEN],
    kem: &[u8],
) -> Result<(Vec<u8>, [u8; 32]), HandshakeError> {
    if kem.len() != KEM_PT_LEN {
        return Err(HandshakeError::BadKey(
            "RSA ciphertext has the wrong length".into(),
        ));
    }
    Ok(seal(keys, label, attempt, kem.to_vec()))
}

/// §5.4 `open`: verifies the tag in constant time, then decrypts.
fn open(
    keys: &CipherKeys,
    label: &[u8],
    attempt: &[u8; ATTEMPT_LEN],
    sealed: Sealed<'_>,
) -> Result<Zeroizing<Vec<u8>>, HandshakeError> {
    if !keys.verify(&[label, attempt, sealed.ct], sealed.tag) {
        return Err(HandshakeError::Authentication);
    }
    let mut pt = Zeroizing::new(sealed.ct.to_vec());
    keys.decrypt(&mut pt)
        .map_err(|_| HandshakeError::Authentication)?;
    Ok(pt)
}

/// Opens a sealed identity and decodes it: zero padding, a valid RSA-2048 key (§5.4, §2.1).
fn open_identity(
    keys: &CipherKeys,
    label: &[u8],
    attempt: &[u8; ATTEMPT_LEN],
    sealed: Sealed<'_>,
) -> Result<PublicIdentity, HandshakeError> {
    let pt = open(keys, label, attempt, sealed)?;
    let (key_bytes, padding) = pt.split_at(PUBLIC_KEY_LEN);
    if padding.iter().any(|&b| b != 0) {
        return Err(HandshakeError::BadKey(
            "identity padding is not zero".into(),
        ));
    }
    PublicIdentity::from_bytes(key_bytes).map_err(|e| HandshakeError::BadKey(e.to_string()))
}
