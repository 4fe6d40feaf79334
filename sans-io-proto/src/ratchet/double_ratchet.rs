//! The ratchet state machine: `RatchetEncryptHE` / `RatchetDecryptHE` of the Double Ratchet spec
//! (§4.3–4.4), with PROTOCOL.md §6.2's initial state.
//!
//! Decryption is **commit on success**: every candidate key is derived into temporaries, the body
//! MAC is verified, and only then is the state changed (as vodozemac and snow do). A forged,
//! replayed or truncated message therefore never moves the ratchet.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::dh::{DhPrivateKey, DhPublicKey};
use crate::envelope::{
    self, BODY_BUCKET, DATA_OVERHEAD, DataMessage, EnvelopeType, HEADER_NONCE_LEN, MAX_BODY_BUCKETS,
};
use crate::etm::CipherKeys;
use crate::labels;

use super::MAX_SKIP;
use super::chain_key::ChainKey;
use super::header::Header;
use super::header_key::HeaderKey;
use super::message_key::MessageKey;
use super::root_key::RootKey;
use super::skipped::SkippedKeys;

/// Why a ratchet message was refused. The ratchet state is unchanged after every one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatchetError {
    /// Not a well-formed Data envelope (size, prefix).
    #[error("malformed ratchet message")]
    Malformed,
    /// No header key opened it, or the body did not authenticate: forged, corrupted, or from
    /// another session. Deliberately carries no detail.
    #[error("message could not be authenticated")]
    Undecryptable,
    /// Its message key was already used: a duplicate or a replay.
    #[error("duplicate or replayed message")]
    Duplicate,
    /// Its header asks to skip more than MAX_SKIP message keys.
    #[error("message would skip {requested} message keys (limit {MAX_SKIP})")]
    TooManySkipped {
        /// How many keys it would skip.
        requested: u64,
    },
    /// An authenticated header carried an invalid ratchet key.
    #[error("invalid ratchet key in an authenticated header")]
    InvalidHeader,
    /// The sending chain reached 2^32 - 1 messages.
    #[error("sending chain exhausted")]
    ChainExhausted,
}

/// The secrets a ratchet starts from (PROTOCOL.md §5.6).
pub(crate) struct InitialKeys<'a> {
    pub(crate) rk0: &'a [u8; 32],
    pub(crate) ck_r0: &'a [u8; 32],
    pub(crate) hk_r0: &'a [u8; 32],
    pub(crate) hk_i0: &'a [u8; 32],
    pub(crate) nhk_r1: &'a [u8; 32],
}

/// One side's Double Ratchet state (the spec's `state` with header keys).
#[derive(Clone)]
pub(crate) struct DoubleRatchet {
    dhs: DhPrivateKey,
    /// Boxed like the receiving keys below: a `None` inline would be a 256-byte slot of stale stack
    /// bytes copied into the heap with the struct (the freed-memory test found another session's
    /// keys there).
    dhr: Option<Box<DhPublicKey>>,
    rk: RootKey,
    cks: ChainKey,
    hks: HeaderKey,
    nhks: HeaderKey,
    // Boxed: an inline `Option<key>` that is `None` keeps whatever bytes its payload slot held when
    // the struct was built on the stack, and drop never wipes a `None`. A `None` box is a null
    // pointer, with no payload slot at all.
    ckr: Option<Box<ChainKey>>,
    hkr: Option<Box<HeaderKey>>,
    nhkr: HeaderKey,
    ns: u32,
    nr: u32,
    pn: u32,
    skipped: SkippedKeys,
}

/// Keys derived while walking a receiving chain: skipped keys, the message key, the next chain key.
type Walk = (Vec<(u32, MessageKey)>, MessageKey, ChainKey);

/// Derives the keys of messages `from..to` (to be stored as skipped), the key of message `to`,
/// and the chain key after it.
fn walk(ck: &ChainKey, from: u32, to: u32) -> Walk {
    let mut ck = ck.clone();
    let mut skipped = Vec::with_capacity(to.saturating_sub(from) as usize);
    for n in from..to {
        skipped.push((n, ck.message_key()));
        ck = ck.next();
    }
    let mk = ck.message_key();
    (skipped, mk, ck.next())
}

/// The keys of messages `from..to` only (the rest of a chain closed by a DH step).
fn walk_to(ck: &ChainKey, from: u32, to: u32) -> Vec<(u32, MessageKey)> {
    let mut ck = ck.clone();
    (from..to)
        .map(|n| {
            let mk = ck.message_key();
            ck = ck.next();
            (n, mk)
        })
        .collect()
}

fn check_skip(from: u32, to: u32) -> Result<(), RatchetError> {
    let gap = u64::from(to.saturating_sub(from));
    if gap > u64::from(MAX_SKIP) {
        Err(RatchetError::TooManySkipped { requested: gap })
    } else {
        Ok(())
    }
}

/// Verifies the body MAC (constant time) and only then decrypts the body (§6.6).
fn open_body(
    mk: &MessageKey,
    msg: &DataMessage<'_>,
    ad: &[u8],
) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
    let keys = mk.cipher_keys();
    if !keys.verify(&[labels::BODY_MAC, ad, msg.body_covered()], msg.body_tag) {
        return Err(RatchetError::Undecryptable);
    }
    let mut body = Zeroizing::new(msg.body_ct.to_vec());
    keys.decrypt(&mut body)
        .map_err(|_| RatchetError::Malformed)?;
    Ok(body)
}

/// Where the header key that authenticated an envelope came from (§6.4).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A stored skipped-key chain.
    Skipped,
    /// The current receiving chain `HKr`.
    Current,
    /// The next header key `NHKr`: the peer made a DH ratchet step.
    Next,
}

/// Whether the header tag, which covers the whole envelope, verifies under `header keys(hk, hn)`:
/// one HKDF and one HMAC, the whole cost of a candidate (§6.4).
fn header_keys_if_authentic(
    hk: &HeaderKey,
    msg: &DataMessage<'_>,
    ad: &[u8],
) -> Option<CipherKeys> {
    let keys = hk.cipher_keys(msg.hn);
    keys.verify(
        &[labels::HEADER_MAC, ad, msg.header_covered()],
        msg.header_tag,
    )
    .then_some(keys)
}

impl DoubleRatchet {
    /// `RatchetInitAliceHE`: the initiator, with a fresh ratchet key against the responder's
    /// handshake ephemeral `eph_r` (PROTOCOL.md §6.2).
    pub(crate) fn new_initiator(
        keys: &InitialKeys<'_>,
        eph_r: &DhPublicKey,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Self, RatchetError> {
        let dhs = DhPrivateKey::generate(rng);
        let dh_out = dhs.agree(eph_r).map_err(|_| RatchetError::InvalidHeader)?;
        let (rk, cks, nhks) = RootKey::new(*keys.rk0).step(&dh_out);
        Ok(DoubleRatchet {
            dhs,
            dhr: Some(Box::new(eph_r.clone())),
            rk,
            cks,
            hks: HeaderKey::new(*keys.hk_i0),
            nhks,
            ckr: Some(Box::new(ChainKey::new(*keys.ck_r0))),
            hkr: Some(Box::new(HeaderKey::new(*keys.hk_r0))),
            nhkr: HeaderKey::new(*keys.nhk_r1),
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: SkippedKeys::default(),
        })
    }

    /// `RatchetInitBobHE`, plus the responder's first sending chain `CK_R0` (PROTOCOL.md §6.2).
    pub(crate) fn new_responder(keys: &InitialKeys<'_>, eph_r: DhPrivateKey) -> Self {
        DoubleRatchet {
            dhs: eph_r,
            dhr: None,
            rk: RootKey::new(*keys.rk0),
            cks: ChainKey::new(*keys.ck_r0),
            hks: HeaderKey::new(*keys.hk_r0),
            nhks: HeaderKey::new(*keys.nhk_r1),
            ckr: None,
            hkr: None,
            nhkr: HeaderKey::new(*keys.hk_i0),
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: SkippedKeys::default(),
        }
    }

    /// Messages sent in the current sending chain (`Ns`).
    pub(crate) fn sending_chain_len(&self) -> u32 {
        self.ns
    }

    /// Number of stored skipped message keys.
    pub(crate) fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// `RatchetEncryptHE`: seals `body` (a whole number of 256-byte buckets, already padded) into
    /// a Data envelope (PROTOCOL.md §6.3, §6.6): header, body, body tag, then the header tag over
    /// everything before it.
    pub(crate) fn encrypt(
        &mut self,
        body: &[u8],
        ad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Vec<u8>, RatchetError> {
        if body.is_empty()
            || !body.len().is_multiple_of(BODY_BUCKET)
            || body.len() / BODY_BUCKET > MAX_BODY_BUCKETS
        {
            return Err(RatchetError::Malformed);
        }
        let next_ns = self.ns.checked_add(1).ok_or(RatchetError::ChainExhausted)?;
        let mk = self.cks.message_key();
        let header = Header {
            dh: *self.dhs.public_key().as_bytes(),
            pn: self.pn,
            n: self.ns,
        };
        let mut hn = [0u8; HEADER_NONCE_LEN];
        rng.fill_bytes(&mut hn);
        let (hct, hkeys) = header.encrypt(&self.hks, &hn);

        let mut out = envelope::start(
            EnvelopeType::Data,
            DATA_OVERHEAD - envelope::PREFIX_LEN + body.len(),
        );
        out.extend_from_slice(&hn);
        out.extend_from_slice(&hct);
        let body_at = out.len();
        out.extend_from_slice(body);
        let mkeys = mk.cipher_keys();
        mkeys
            .encrypt(&mut out[body_at..])
            .map_err(|_| RatchetError::Malformed)?;
        let body_tag = mkeys.tag(&[labels::BODY_MAC, ad, &out]);
        out.extend_from_slice(&body_tag);
        let header_tag = hkeys.tag(&[labels::HEADER_MAC, ad, &out]);
        out.extend_from_slice(&header_tag);

        // Commit: the used message key is dropped (and wiped) here, the chain moves on.
        self.cks = self.cks.next();
        self.ns = next_ns;
        Ok(out)
    }

    /// `RatchetDecryptHE` with bounded work (PROTOCOL.md §6.4): finds the header key whose tag over
    /// the whole envelope verifies (at most 7 candidates), then decrypts; on any error the state is
    /// unchanged.
    pub(crate) fn decrypt(
        &mut self,
        msg: &DataMessage<'_>,
        ad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
        let mut candidates: Vec<(Found, HeaderKey)> =
            Vec::with_capacity(super::MAX_SKIPPED_CHAINS + 2);
        for hk in self.skipped.header_keys() {
            candidates.push((Found::Skipped, hk.clone()));
        }
        if let Some(hkr) = &self.hkr {
            candidates.push((Found::Current, HeaderKey::clone(hkr)));
        }
        candidates.push((Found::Next, self.nhkr.clone()));
        // Searched by reference and the winner cloned: moving keys out of the Vec would leave their
        // bytes in its buffer when it is freed (only dropped elements are wiped).
        let Some((found, hk, hkeys)) = candidates.iter().find_map(|(found, hk)| {
            header_keys_if_authentic(hk, msg, ad).map(|k| (*found, hk.clone(), k))
        }) else {
            return Err(RatchetError::Undecryptable);
        };
        // Authentic from here on: the peer produced this envelope (or it is a replay of one).
        let header =
            Header::decrypt(&hkeys, msg.header_ct).map_err(|_| RatchetError::InvalidHeader)?;
        match found {
            Found::Skipped => {
                if let Some(mk) = self.skipped.get(&hk, header.n) {
                    let body = open_body(mk, msg, ad)?;
                    self.skipped.remove(&hk, header.n);
                    return Ok(body);
                }
                if self.hkr.as_deref() != Some(&hk) {
                    // An older chain, and this key is gone: it was used (or evicted).
                    return Err(RatchetError::Duplicate);
                }
                self.decrypt_in_current_chain(&hk, &header, msg, ad)
            }
            Found::Current => self.decrypt_in_current_chain(&hk, &header, msg, ad),
            Found::Next => self.decrypt_with_dh_step(header, msg, ad, rng),
        }
    }

    fn decrypt_in_current_chain(
        &mut self,
        hkr: &HeaderKey,
        header: &Header,
        msg: &DataMessage<'_>,
        ad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
        if header.n < self.nr {
            return Err(RatchetError::Duplicate);
        }
        check_skip(self.nr, header.n)?;
        let next_nr = header.n.checked_add(1).ok_or(RatchetError::Malformed)?;
        let ckr = self.ckr.as_ref().ok_or(RatchetError::Undecryptable)?;
        let (skipped, mk, next_ck) = walk(ckr, self.nr, header.n);
        let body = open_body(&mk, msg, ad)?;
        // Commit.
        self.skipped.insert(hkr, skipped);
        self.ckr = Some(Box::new(next_ck));
        self.nr = next_nr;
        Ok(body)
    }

    /// `DHRatchetHE` (spec §4.4), fully computed before anything is committed.
    fn decrypt_with_dh_step(
        &mut self,
        header: Header,
        msg: &DataMessage<'_>,
        ad: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<Vec<u8>>, RatchetError> {
        // Keys left in the chain the peer just closed: messages nr..PN (spec `SkipMessageKeysHE`).
        // Unlike the spec, a PN more than MAX_SKIP ahead does not refuse the message: that chain
        // is closed, so only its first MAX_SKIP missing keys are derived (bounded work) and the
        // messages beyond are given up. Refusing here would refuse every later message of the
        // peer too, and the session could never recover.
        let closed_chain = match (&self.ckr, &self.hkr) {
            (Some(ckr), Some(hkr)) => {
                let (ckr, hkr): (&ChainKey, &HeaderKey) = (ckr, hkr);
                let until = header.pn.min(self.nr.saturating_add(MAX_SKIP));
                Some((hkr.clone(), walk_to(ckr, self.nr, until)))
            }
            _ => None,
        };
        check_skip(0, header.n)?;
        let next_nr = header.n.checked_add(1).ok_or(RatchetError::Malformed)?;

        // The new ratchet key is checked (range and subgroup) before our secret touches it.
        let dhr_new =
            DhPublicKey::from_bytes(&header.dh).map_err(|_| RatchetError::InvalidHeader)?;
        // Receiving half: RK, CKr, NHKr = KDF_RK(RK, DH(DHs, DHr')).
        let dh_recv = self
            .dhs
            .agree(&dhr_new)
            .map_err(|_| RatchetError::InvalidHeader)?;
        let (rk1, ckr_new, nhkr_new) = self.rk.step(&dh_recv);
        let (skipped, mk, next_ck) = walk(&ckr_new, 0, header.n);
        let body = open_body(&mk, msg, ad)?;

        // Sending half: a fresh DHs and RK, CKs, NHKs = KDF_RK(RK, DH(DHs, DHr')). Computed before
        // the commit so that nothing below can fail half-way.
        let dhs_new = DhPrivateKey::generate(rng);
        let dh_send = dhs_new
            .agree(&dhr_new)
            .map_err(|_| RatchetError::InvalidHeader)?;
        let (rk2, cks_new, nhks_new) = rk1.step(&dh_send);

        // Commit, in the spec's order.
        if let Some((hkr, keys)) = closed_chain {
            self.skipped.insert(&hkr, keys);
        }
        let opened_with = self.nhkr.clone();
        self.skipped.insert(&opened_with, skipped);
        self.pn = self.ns;
        self.ns = 0;
        self.nr = next_nr;
        self.hks = self.nhks.clone();
        self.hkr = Some(Box::new(opened_with));
        self.dhr = Some(Box::new(dhr_new));
        self.ckr = Some(Box::new(next_ck));
        self.nhkr = nhkr_new;
        self.dhs = dhs_new;
        self.rk = rk2;
        self.cks = cks_new;
        self.nhks = nhks_new;
        Ok(body)
    }
}
