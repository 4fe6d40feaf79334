//! A second implementation of PROTOCOL.md §5–§8, written from the text of the spec with only the
//! crate's public primitives (`crypto::{hkdf, hmac, ige, dh, rsa}`) and `sha2`, never with the
//! library's handshake, ratchet or session internals. Tests use it to rebuild the real code's
//! envelopes byte for byte (`vectors_v2.rs`), to play a relay that knows the DH secrets
//! (`prop_authentication.rs`), and to read and write Data bodies (`spec_in_step.rs`).
//!
//! Everything here is deliberately plain: one function per formula of the spec, named after it.

use sans_io_proto::IdentityKeyPair;
use sans_io_proto::crypto::dh::{DhPrivateKey, DhPublicKey};
use sans_io_proto::crypto::hkdf;
use sans_io_proto::crypto::hmac::{HmacSha256, hmac_sha256};
use sans_io_proto::crypto::ige;
use sans_io_proto::crypto::rsa::{RsaPrivateKey, RsaPublicKey};
use sans_io_proto::identity::EMOJI_TABLE;
use sha2::{Digest, Sha256};

// ---- §4 envelope ---------------------------------------------------------------------------

pub const VERSION: u8 = 0x02;
pub const COMMIT: u8 = 0x01;
pub const HELLO: u8 = 0x02;
pub const RESP_IDENTITY: u8 = 0x03;
pub const INIT_AUTH: u8 = 0x04;
pub const RESP_AUTH: u8 = 0x05;
pub const INIT_CONFIRM: u8 = 0x06;
pub const DATA: u8 = 0x10;

/// `0x02 || type || parts...`.
pub fn envelope(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![VERSION, kind];
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

// ---- §2 primitives -------------------------------------------------------------------------

/// `H(parts[0] || parts[1] || ...)`.
pub fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

/// `HKDF(salt, ikm, info, L)`.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    hkdf::hkdf(salt, ikm, info, &mut out).unwrap();
    out
}

/// `HMAC(k, parts[0] || parts[1] || ...)`.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = HmacSha256::new(key);
    for p in parts {
        m.update(p);
    }
    m.finalize()
}

pub fn arr32(x: &[u8]) -> [u8; 32] {
    x.try_into().unwrap()
}

/// A key set (§5.4): `aes_key (32) || aes_iv (32) || mac_key (32)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySet(pub Vec<u8>);

impl KeySet {
    pub fn new(bytes: &[u8]) -> Self {
        assert_eq!(bytes.len(), 96);
        KeySet(bytes.to_vec())
    }
    pub fn aes_key(&self) -> [u8; 32] {
        arr32(&self.0[0..32])
    }
    pub fn aes_iv(&self) -> [u8; 32] {
        arr32(&self.0[32..64])
    }
    pub fn mac_key(&self) -> [u8; 32] {
        arr32(&self.0[64..96])
    }
    pub fn encrypt(&self, pt: &[u8]) -> Vec<u8> {
        let mut ct = pt.to_vec();
        ige::ige_encrypt(&self.aes_key(), &self.aes_iv(), &mut ct).unwrap();
        ct
    }
    pub fn decrypt(&self, ct: &[u8]) -> Vec<u8> {
        let mut pt = ct.to_vec();
        ige::ige_decrypt(&self.aes_key(), &self.aes_iv(), &mut pt).unwrap();
        pt
    }
    /// `seal(keys, label, attempt, pt) = ct || HMAC(mac_key, label || attempt || ct)`.
    pub fn seal(&self, label: &[u8], attempt: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut out = self.encrypt(pt);
        let tag = hmac(&self.mac_key(), &[label, attempt, &out]);
        out.extend_from_slice(&tag);
        out
    }
    /// `open`: the tag first, then decryption; `None` if the tag is wrong.
    pub fn open(&self, label: &[u8], attempt: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (ct, tag) = sealed.split_at(sealed.len() - 32);
        (hmac(&self.mac_key(), &[label, attempt, ct]) == tag).then(|| self.decrypt(ct))
    }
}

// ---- §5.2–5.3 Commit, Hello, hello_hash ----------------------------------------------------

pub const L_COMMIT: &[u8] = b"e2e-chat v2 commit";
pub const L_HELLO: &[u8] = b"e2e-chat v2 hello";
pub const L_SAS: &[u8] = b"e2e-chat v2 sas";
pub const L_HIDING: &[u8] = b"e2e-chat v2 handshake hiding";
pub const L_RESP_IDENTITY: &[u8] = b"e2e-chat v2 responder identity";
pub const L_INIT_KEM: &[u8] = b"e2e-chat v2 initiator kem";
pub const L_INIT_IDENTITY: &[u8] = b"e2e-chat v2 initiator identity";
pub const L_RESP_KEM: &[u8] = b"e2e-chat v2 responder kem";
pub const L_KEM_I: &[u8] = b"e2e-chat v2 kem I";
pub const L_KEM_R: &[u8] = b"e2e-chat v2 kem R";
pub const L_TRANSCRIPT: &[u8] = b"e2e-chat v2 transcript";
pub const L_SESSION_KEYS: &[u8] = b"e2e-chat v2 session keys";
pub const L_CONFIRM_R: &[u8] = b"e2e-chat v2 confirm R";
pub const L_CONFIRM_I: &[u8] = b"e2e-chat v2 confirm I";
pub const L_RATCHET: &[u8] = b"e2e-chat v2 ratchet";
pub const L_MESSAGE_KEYS: &[u8] = b"e2e-chat v2 message keys";
pub const L_HEADER_KEYS: &[u8] = b"e2e-chat v2 header keys";
pub const L_HEADER_MAC: &[u8] = b"e2e-chat v2 header";
pub const L_BODY_MAC: &[u8] = b"e2e-chat v2 body";
pub const L_SAFETY: &[u8] = b"e2e-chat v1 safety";

/// `Hello = 0x02 0x02 || nonce || eph_pub`.
pub fn hello(nonce: &[u8; 32], eph_pub: &[u8]) -> Vec<u8> {
    envelope(HELLO, &[nonce, eph_pub])
}

/// `Commit = 0x02 0x01 || H("e2e-chat v2 commit" || Hello)`.
pub fn commit(hello: &[u8]) -> Vec<u8> {
    envelope(COMMIT, &[&h(&[L_COMMIT, hello])])
}

/// The nonce and ephemeral value of a Hello envelope.
pub fn hello_fields(hello: &[u8]) -> (&[u8], &[u8]) {
    (&hello[2..34], &hello[34..290])
}

/// Everything both sides know after the two Hellos (§5.3).
#[derive(Clone)]
pub struct Agreed {
    pub commit_i: Vec<u8>,
    pub commit_r: Vec<u8>,
    pub hello_i: Vec<u8>,
    pub hello_r: Vec<u8>,
    pub hello_hash: [u8; 32],
    pub dh: Vec<u8>,
    pub sas_okm: Vec<u8>,
    pub hide: Vec<u8>,
}

impl Agreed {
    pub fn new(
        commit_i: &[u8],
        commit_r: &[u8],
        hello_i: &[u8],
        hello_r: &[u8],
        dh: &[u8],
    ) -> Self {
        let hello_hash = h(&[L_HELLO, commit_i, commit_r, hello_i, hello_r]);
        Agreed {
            commit_i: commit_i.to_vec(),
            commit_r: commit_r.to_vec(),
            hello_i: hello_i.to_vec(),
            hello_r: hello_r.to_vec(),
            hello_hash,
            dh: dh.to_vec(),
            sas_okm: hkdf(&hello_hash, dh, L_SAS, 42),
            hide: hkdf(&hello_hash, dh, L_HIDING, 288),
        }
    }
    pub fn attempt(&self) -> [u8; 16] {
        self.hello_hash[..16].try_into().unwrap()
    }
    pub fn resp_identity_keys(&self) -> KeySet {
        KeySet::new(&self.hide[0..96])
    }
    pub fn init_kem_keys(&self) -> KeySet {
        KeySet::new(&self.hide[96..192])
    }
    pub fn resp_kem_keys(&self) -> KeySet {
        KeySet::new(&self.hide[192..288])
    }
    /// `init_id = HKDF(hello_hash, dh || k_I, "e2e-chat v2 initiator identity", 96)` (§5.6).
    pub fn init_id_keys(&self, k_i: &[u8]) -> KeySet {
        KeySet::new(&hkdf(
            &self.hello_hash,
            &[&self.dh[..], k_i].concat(),
            L_INIT_IDENTITY,
            96,
        ))
    }
    /// The OAEP label `"e2e-chat v2 kem I|R" || hello_hash`.
    pub fn kem_label(&self, initiator: bool) -> Vec<u8> {
        [
            if initiator { L_KEM_I } else { L_KEM_R },
            &self.hello_hash[..],
        ]
        .concat()
    }

    /// RespIdentity (§5.5).
    pub fn resp_identity(&self, ik_pub: &[u8]) -> Vec<u8> {
        let sealed =
            self.resp_identity_keys()
                .seal(L_RESP_IDENTITY, &self.attempt(), &identity_pt(ik_pub));
        envelope(RESP_IDENTITY, &[&self.attempt(), &sealed])
    }
    /// Opens RespIdentity: the responder's `ik_pub`.
    pub fn open_resp_identity(&self, m: &[u8]) -> Option<Vec<u8>> {
        let pt = self
            .resp_identity_keys()
            .open(L_RESP_IDENTITY, &m[2..18], &m[18..])?;
        identity_from_pt(&pt)
    }
    /// InitAuth (§5.6) with `kem_I` already computed.
    pub fn init_auth(&self, kem_i: &[u8], k_i: &[u8], ik_pub: &[u8]) -> Vec<u8> {
        let kem_box = self
            .init_kem_keys()
            .seal(L_INIT_KEM, &self.attempt(), kem_i);
        let id_box =
            self.init_id_keys(k_i)
                .seal(L_INIT_IDENTITY, &self.attempt(), &identity_pt(ik_pub));
        envelope(INIT_AUTH, &[&self.attempt(), &kem_box, &id_box])
    }
    /// The `kem_I` of an InitAuth (opening `kem_box`).
    pub fn open_init_kem(&self, m: &[u8]) -> Option<Vec<u8>> {
        self.init_kem_keys()
            .open(L_INIT_KEM, &m[2..18], &m[18..306])
    }
    /// The initiator's `ik_pub` of an InitAuth, given `k_I`.
    pub fn open_init_identity(&self, m: &[u8], k_i: &[u8]) -> Option<Vec<u8>> {
        let pt = self
            .init_id_keys(k_i)
            .open(L_INIT_IDENTITY, &m[2..18], &m[306..610])?;
        identity_from_pt(&pt)
    }
    /// `RespAuth[0..306]` (§5.7).
    pub fn resp_auth_head(&self, kem_r: &[u8]) -> Vec<u8> {
        let kem_box = self
            .resp_kem_keys()
            .seal(L_RESP_KEM, &self.attempt(), kem_r);
        envelope(RESP_AUTH, &[&self.attempt(), &kem_box])
    }
    /// The `kem_R` of a RespAuth.
    pub fn open_resp_kem(&self, m: &[u8]) -> Option<Vec<u8>> {
        self.resp_kem_keys()
            .open(L_RESP_KEM, &m[2..18], &m[18..306])
    }
    /// `TH` (§5.8).
    pub fn th(&self, resp_identity: &[u8], init_auth: &[u8], resp_auth: &[u8]) -> [u8; 32] {
        h(&[
            L_TRANSCRIPT,
            &self.commit_i,
            &self.commit_r,
            &self.hello_i,
            &self.hello_r,
            resp_identity,
            init_auth,
            &resp_auth[..306],
        ])
    }
    /// The SAS as emoji names (§8.2).
    pub fn sas_words(&self) -> Vec<&'static str> {
        sas_words(&self.sas_okm[..6])
    }
}

/// `ik_pub || 0^12`.
pub fn identity_pt(ik_pub: &[u8]) -> Vec<u8> {
    assert_eq!(ik_pub.len(), 260);
    [ik_pub, &[0u8; 12]].concat()
}

/// The identity of a sealed plaintext, if the padding is zero and the key decodes (§5.4, §2.1).
pub fn identity_from_pt(pt: &[u8]) -> Option<Vec<u8>> {
    let (key, pad) = pt.split_at(260);
    (pad.iter().all(|&b| b == 0) && RsaPublicKey::from_bytes(key).is_ok()).then(|| key.to_vec())
}

/// The outputs of §5.8.
#[derive(Clone)]
pub struct SessionKeys {
    pub prk: [u8; 32],
    pub okm: Vec<u8>,
}

impl SessionKeys {
    pub fn new(th: &[u8; 32], dh: &[u8], k_i: &[u8], k_r: &[u8]) -> Self {
        let prk = hkdf::extract(th, &[dh, k_i, k_r].concat());
        let mut okm = vec![0u8; 224];
        hkdf::expand(&prk, L_SESSION_KEYS, &mut okm).unwrap();
        SessionKeys {
            prk: *prk.as_bytes(),
            okm,
        }
    }
    fn at(&self, i: usize) -> [u8; 32] {
        arr32(&self.okm[i * 32..i * 32 + 32])
    }
    pub fn confirm_i(&self) -> [u8; 32] {
        self.at(0)
    }
    pub fn confirm_r(&self) -> [u8; 32] {
        self.at(1)
    }
    pub fn rk0(&self) -> [u8; 32] {
        self.at(2)
    }
    pub fn ck_r0(&self) -> [u8; 32] {
        self.at(3)
    }
    pub fn hk_r0(&self) -> [u8; 32] {
        self.at(4)
    }
    pub fn hk_i0(&self) -> [u8; 32] {
        self.at(5)
    }
    pub fn nhk_r1(&self) -> [u8; 32] {
        self.at(6)
    }
    /// `HMAC(confirm_R, "e2e-chat v2 confirm R" || TH)`.
    pub fn confirm_r_mac(&self, th: &[u8]) -> [u8; 32] {
        hmac(&self.confirm_r(), &[L_CONFIRM_R, th])
    }
    /// `HMAC(confirm_I, "e2e-chat v2 confirm I" || TH)`.
    pub fn confirm_i_mac(&self, th: &[u8]) -> [u8; 32] {
        hmac(&self.confirm_i(), &[L_CONFIRM_I, th])
    }
}

/// InitConfirm (§5.9).
pub fn init_confirm(attempt: &[u8], mac: &[u8; 32]) -> Vec<u8> {
    envelope(INIT_CONFIRM, &[attempt, mac])
}

/// `OAEP(ik, k, label)`.
pub fn encapsulate(
    ik_pub: &[u8],
    k: &[u8],
    label: &[u8],
    rng: &mut impl rand_core::CryptoRngCore,
) -> Vec<u8> {
    RsaPublicKey::from_bytes(ik_pub)
        .unwrap()
        .oaep_encrypt(rng, k, label)
        .unwrap()
}

/// OAEP decryption with a test identity's private key.
pub fn decapsulate(id: &IdentityKeyPair, kem: &[u8], label: &[u8]) -> Option<Vec<u8>> {
    let key = RsaPrivateKey::from_bytes(&id.to_private_bytes()).unwrap();
    key.oaep_decrypt(&mut super::rng(0), kem, label)
        .ok()
        .map(|k| k.to_vec())
}

/// `DH(x, Y)`, 256 bytes.
pub fn dh(x: &DhPrivateKey, y: &[u8]) -> Vec<u8> {
    x.agree(&DhPublicKey::from_bytes(y).unwrap())
        .unwrap()
        .as_bytes()
        .to_vec()
}

// ---- §6 ratchet ----------------------------------------------------------------------------

/// `KDF_RK(rk, dh_out) → (rk', ck, nhk)`.
pub fn kdf_rk(rk: &[u8], dh_out: &[u8]) -> ([u8; 32], [u8; 32], [u8; 32]) {
    let out = hkdf(rk, dh_out, L_RATCHET, 96);
    (arr32(&out[0..32]), arr32(&out[32..64]), arr32(&out[64..96]))
}

/// `KDF_CK(ck) → (mk, ck')`.
pub fn kdf_ck(ck: &[u8]) -> ([u8; 32], [u8; 32]) {
    (hmac_sha256(ck, &[0x01]), hmac_sha256(ck, &[0x02]))
}

/// `message keys(mk)`.
pub fn message_keys(mk: &[u8]) -> KeySet {
    KeySet::new(&hkdf(b"", mk, L_MESSAGE_KEYS, 96))
}

/// `header keys(hk, hn)`.
pub fn header_keys(hk: &[u8], hn: &[u8]) -> KeySet {
    KeySet::new(&hkdf(hn, hk, L_HEADER_KEYS, 96))
}

/// The message key of message `n` of the chain starting at `ck`.
pub fn chain_message_key(ck: &[u8; 32], n: u32) -> [u8; 32] {
    let mut ck = *ck;
    for _ in 0..n {
        ck = kdf_ck(&ck).1;
    }
    kdf_ck(&ck).0
}

/// `header = DHs (256) || PN || N || 0^8` (§6.3).
pub fn header(dhs: &[u8], pn: u32, n: u32) -> Vec<u8> {
    [dhs, &pn.to_be_bytes(), &n.to_be_bytes(), &[0u8; 8]].concat()
}

/// A Data envelope (§6.6) from its parts.
pub fn seal_data(
    hk: &[u8],
    mk: &[u8],
    ad: &[u8],
    hn: &[u8; 16],
    header: &[u8],
    body: &[u8],
) -> Vec<u8> {
    let hkeys = header_keys(hk, hn);
    let mkeys = message_keys(mk);
    let mut out = envelope(DATA, &[hn, &hkeys.encrypt(header), &mkeys.encrypt(body)]);
    let body_tag = hmac(&mkeys.mac_key(), &[L_BODY_MAC, ad, &out]);
    out.extend_from_slice(&body_tag);
    let header_tag = hmac(&hkeys.mac_key(), &[L_HEADER_MAC, ad, &out]);
    out.extend_from_slice(&header_tag);
    out
}

/// The header of a Data envelope, if its header tag verifies under `hk`.
pub fn open_header(hk: &[u8], ad: &[u8], env: &[u8]) -> Option<Vec<u8>> {
    let hkeys = header_keys(hk, &env[2..18]);
    let covered = &env[..env.len() - 32];
    (hmac(&hkeys.mac_key(), &[L_HEADER_MAC, ad, covered]) == env[env.len() - 32..])
        .then(|| hkeys.decrypt(&env[18..290]))
}

/// The body of a Data envelope, if its body tag verifies under `mk`.
pub fn open_body(mk: &[u8], ad: &[u8], env: &[u8]) -> Option<Vec<u8>> {
    let mkeys = message_keys(mk);
    let covered = &env[..env.len() - 64];
    (hmac(&mkeys.mac_key(), &[L_BODY_MAC, ad, covered]) == env[env.len() - 64..env.len() - 32])
        .then(|| mkeys.decrypt(&env[290..env.len() - 64]))
}

/// `(PN, N)` of a plaintext header.
pub fn header_counters(header: &[u8]) -> (u32, u32) {
    (
        u32::from_be_bytes(header[256..260].try_into().unwrap()),
        u32::from_be_bytes(header[260..264].try_into().unwrap()),
    )
}

// ---- §7.1 body -----------------------------------------------------------------------------

/// A parsed body: `(type, seq, sent_at_ms, content)`.
pub type Body = (u8, u64, u64, Vec<u8>);

/// `type || seq || sent_at_ms || len || content || pad`, padded to `n_buckets` × 256 bytes.
pub fn body(kind: u8, seq: u64, sent_at_ms: u64, content: &[u8], n_buckets: usize) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&sent_at_ms.to_be_bytes());
    out.extend_from_slice(&(content.len() as u32).to_be_bytes());
    out.extend_from_slice(content);
    let n = n_buckets * 256;
    assert!(
        n >= out.len() + 12,
        "content too long for {n_buckets} buckets"
    );
    out.extend((out.len()..n).map(|i| (i * 7 + 3) as u8));
    out
}

pub fn parse_body(b: &[u8]) -> Body {
    let len = u32::from_be_bytes(b[17..21].try_into().unwrap()) as usize;
    (
        b[0],
        u64::from_be_bytes(b[1..9].try_into().unwrap()),
        u64::from_be_bytes(b[9..17].try_into().unwrap()),
        b[21..21 + len].to_vec(),
    )
}

/// Text content `id || expire_secs || text` (§7.2).
pub fn text_content(stream: u64, number: u64, expire_secs: u32, text: &str) -> Vec<u8> {
    [
        &stream.to_be_bytes()[..],
        &number.to_be_bytes(),
        &expire_secs.to_be_bytes(),
        text.as_bytes(),
    ]
    .concat()
}

// ---- §8 verification -----------------------------------------------------------------------

/// The 30 digits of one identity (§8.1).
pub fn safety_digits(ik_pub: &[u8]) -> String {
    let mut x = h(&[L_SAFETY, ik_pub]);
    for _ in 0..5200 {
        x = h(&[&x, ik_pub]);
    }
    (0..6)
        .map(|i| {
            let v = x[i * 5..i * 5 + 5]
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            format!("{:05}", v % 100_000)
        })
        .collect()
}

/// The 60-digit safety number of two identities.
pub fn safety_number(a: &[u8], b: &[u8]) -> String {
    let (da, db) = (safety_digits(a), safety_digits(b));
    if da <= db { da + &db } else { db + &da }
}

/// The QR text of §8.4.
pub fn qr_text(digits: &str) -> String {
    let groups: Vec<&str> = (0..12).map(|i| &digits[i * 5..i * 5 + 5]).collect();
    let lines: Vec<String> = groups.chunks(4).map(|l| l.join(" ")).collect();
    format!("E2E-CHAT SAFETY NUMBER\n{}", lines.join("\n"))
}

/// The eight emoji names of a 6-byte SAS: 6-bit indices, most significant first (§8.2).
pub fn sas_words(sas: &[u8]) -> Vec<&'static str> {
    let v = sas.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (0..8)
        .map(|i| EMOJI_TABLE[((v >> (42 - 6 * i)) & 63) as usize].name)
        .collect()
}

// ---- a seeded side's randomness --------------------------------------------------------------

/// The nonce and ephemeral DH key a side drew from its seeded RNG when it started (the first 32
/// bytes, then one DH exponent): re-created with the public `DhPrivateKey::generate`.
pub fn seeded_start(rng: &mut impl rand_core::CryptoRngCore) -> ([u8; 32], DhPrivateKey) {
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    (nonce, DhPrivateKey::generate(rng))
}

// ---- a recorded handshake, rebuilt ---------------------------------------------------------

/// One handshake between two test identities driven by seeded RNGs, rebuilt from the spec: every
/// secret re-derived (the ephemeral exponents from the seeds, `k_I` and `k_R` by OAEP-decrypting with
/// the test identities' private keys) and every envelope of the wire checked to be exactly what the
/// spec says it must be.
pub struct Rebuilt {
    pub a_is_initiator: bool,
    pub agreed: Agreed,
    /// The initiator's and responder's ephemeral exponents.
    pub x_i: DhPrivateKey,
    pub x_r: DhPrivateKey,
    pub ik_i: Vec<u8>,
    pub ik_r: Vec<u8>,
    pub resp_identity: Vec<u8>,
    pub init_auth: Vec<u8>,
    pub resp_auth: Vec<u8>,
    pub init_confirm: Vec<u8>,
    pub kem_i: Vec<u8>,
    pub kem_r: Vec<u8>,
    pub k_i: Vec<u8>,
    pub k_r: Vec<u8>,
    pub th: [u8; 32],
    pub keys: SessionKeys,
}

fn one_of(wire: &super::Wire, from: super::From, kind: u8) -> &[u8] {
    let found: Vec<&Vec<u8>> = wire
        .iter()
        .filter(|(f, m)| *f == from && m[1] == kind)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{from:?} sent {} envelopes of type {kind:#04x}",
        found.len()
    );
    found[0]
}

/// Rebuilds the handshake in `wire` (A seeded with `seed_a`, B with `seed_b`), asserting at every
/// step that the real envelopes are the spec's.
pub fn rebuild(
    wire: &super::Wire,
    seed_a: u64,
    seed_b: u64,
    id_a: &IdentityKeyPair,
    id_b: &IdentityKeyPair,
) -> Rebuilt {
    use super::From::{A, B};
    let (nonce_a, x_a) = seeded_start(&mut super::rng(seed_a));
    let (nonce_b, x_b) = seeded_start(&mut super::rng(seed_b));
    let hello_a = hello(&nonce_a, x_a.public_key().as_bytes());
    let hello_b = hello(&nonce_b, x_b.public_key().as_bytes());
    assert_eq!(
        one_of(wire, A, HELLO),
        hello_a,
        "A's Hello is nonce || g^x from its seed"
    );
    assert_eq!(
        one_of(wire, B, HELLO),
        hello_b,
        "B's Hello is nonce || g^x from its seed"
    );
    assert_eq!(one_of(wire, A, COMMIT), commit(&hello_a), "A's Commit");
    assert_eq!(one_of(wire, B, COMMIT), commit(&hello_b), "B's Commit");
    // Roles: the smaller nonce is the initiator (§5.3).
    let a_is_initiator = nonce_a < nonce_b;
    let (i, r) = if a_is_initiator { (A, B) } else { (B, A) };
    let (x_i, x_r, id_i, id_r) = if a_is_initiator {
        (x_a, x_b, id_a, id_b)
    } else {
        (x_b, x_a, id_b, id_a)
    };
    let (hello_i, hello_r) = (one_of(wire, i, HELLO), one_of(wire, r, HELLO));
    let dh_value = dh(&x_i, hello_fields(hello_r).1);
    assert_eq!(
        dh_value,
        dh(&x_r, hello_fields(hello_i).1),
        "DH agrees both ways"
    );
    let agreed = Agreed::new(
        one_of(wire, i, COMMIT),
        one_of(wire, r, COMMIT),
        hello_i,
        hello_r,
        &dh_value,
    );
    let (ik_i, ik_r) = (
        id_i.public().as_bytes().to_vec(),
        id_r.public().as_bytes().to_vec(),
    );

    let resp_identity = one_of(wire, r, RESP_IDENTITY).to_vec();
    assert_eq!(
        resp_identity,
        agreed.resp_identity(&ik_r),
        "RespIdentity (§5.5)"
    );
    assert_eq!(
        agreed.open_resp_identity(&resp_identity),
        Some(ik_r.clone())
    );

    let init_auth = one_of(wire, i, INIT_AUTH).to_vec();
    let kem_i = agreed
        .open_init_kem(&init_auth)
        .expect("kem_box of InitAuth opens");
    let k_i = decapsulate(id_r, &kem_i, &agreed.kem_label(true)).expect("kem_I decrypts");
    assert_eq!(k_i.len(), 32);
    assert_eq!(
        init_auth,
        agreed.init_auth(&kem_i, &k_i, &ik_i),
        "InitAuth (§5.6)"
    );

    let resp_auth = one_of(wire, r, RESP_AUTH).to_vec();
    let kem_r = agreed
        .open_resp_kem(&resp_auth)
        .expect("kem_box of RespAuth opens");
    let k_r = decapsulate(id_i, &kem_r, &agreed.kem_label(false)).expect("kem_R decrypts");
    let th = agreed.th(&resp_identity, &init_auth, &resp_auth);
    let keys = SessionKeys::new(&th, &agreed.dh, &k_i, &k_r);
    let mut want = agreed.resp_auth_head(&kem_r);
    want.extend_from_slice(&keys.confirm_r_mac(&th));
    assert_eq!(resp_auth, want, "RespAuth (§5.7)");

    let init_confirm = one_of(wire, i, INIT_CONFIRM).to_vec();
    assert_eq!(
        init_confirm,
        self::init_confirm(&agreed.attempt(), &keys.confirm_i_mac(&th)),
        "InitConfirm (§5.9)"
    );
    Rebuilt {
        a_is_initiator,
        agreed,
        x_i,
        x_r,
        ik_i,
        ik_r,
        resp_identity,
        init_auth,
        resp_auth,
        init_confirm,
        kem_i,
        kem_r,
        k_i,
        k_r,
        th,
        keys,
    }
}
