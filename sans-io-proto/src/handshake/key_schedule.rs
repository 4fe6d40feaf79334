//! The handshake key schedule (PROTOCOL.md §5.2, §5.3, §5.6, §5.8).

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::hkdf;
use crate::crypto::hmac::HmacSha256;
use crate::etm::{CipherKeys, KEY_MATERIAL_LEN, derive_array, expand_array};
use crate::labels;

use super::Role;

/// Length of `sas_okm` (§5.3): 6 bytes of short authentication string, 36 of key picture.
pub(crate) const SAS_OKM_LEN: usize = 42;

/// `H(label || parts...)`.
fn hash(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// `commit_X = H("e2e-chat v2 commit" || Hello_X)` (§5.2).
pub(crate) fn commitment(hello: &[u8]) -> [u8; 32] {
    hash(labels::COMMIT, &[hello])
}

/// `hello_hash = H("e2e-chat v2 hello" || Commit_I || Commit_R || Hello_I || Hello_R)` (§5.3).
pub(crate) fn hello_hash(
    commit_i: &[u8],
    commit_r: &[u8],
    hello_i: &[u8],
    hello_r: &[u8],
) -> [u8; 32] {
    hash(labels::HELLO, &[commit_i, commit_r, hello_i, hello_r])
}

/// `TH = H("e2e-chat v2 transcript" || Commit_I || Commit_R || Hello_I || Hello_R || RespIdentity
/// || InitAuth || RespAuth[0..306])` (§5.8).
pub(crate) fn transcript_hash(parts_in_order: &[&[u8]; 7]) -> [u8; 32] {
    hash(labels::TRANSCRIPT, parts_in_order)
}

/// `sas_okm = HKDF(salt = hello_hash, ikm = dh, info = "e2e-chat v2 sas", L = 42)` (§5.3): public
/// once shown, but derived from the secret `dh` so that only the two ends know it beforehand.
pub(crate) fn sas_okm(hello_hash: &[u8; 32], dh: &[u8]) -> [u8; SAS_OKM_LEN] {
    derive_array::<SAS_OKM_LEN>(hello_hash, dh, labels::SAS)
}

/// The three identity-hiding key sets (§5.3).
#[derive(Clone)]
pub(crate) struct HidingKeys {
    pub(crate) resp_identity: CipherKeys,
    pub(crate) init_kem: CipherKeys,
    pub(crate) resp_kem: CipherKeys,
}

impl HidingKeys {
    /// `HKDF(salt = hello_hash, ikm = dh, info = "e2e-chat v2 handshake hiding", 288)`.
    pub(crate) fn derive(hello_hash: &[u8; 32], dh: &[u8]) -> Self {
        let okm = Zeroizing::new(derive_array::<{ 3 * KEY_MATERIAL_LEN }>(
            hello_hash,
            dh,
            labels::HANDSHAKE_HIDING,
        ));
        crate::leak_check::note("handshake.hiding okm", &okm[..]);
        let part = |i: usize| {
            let mut chunk = Zeroizing::new([0u8; KEY_MATERIAL_LEN]);
            chunk.copy_from_slice(&okm[i * KEY_MATERIAL_LEN..(i + 1) * KEY_MATERIAL_LEN]);
            CipherKeys::from_material(&chunk)
        };
        HidingKeys {
            resp_identity: part(0),
            init_kem: part(1),
            resp_kem: part(2),
        }
    }
}

/// `init_id = HKDF(salt = hello_hash, ikm = dh || k_I, info = "e2e-chat v2 initiator identity", 96)`
/// (§5.6): only a holder of `k_I` — the private half of the identity the responder showed — can
/// open the initiator's identity.
pub(crate) fn init_identity_keys(hello_hash: &[u8; 32], dh: &[u8], k_i: &[u8; 32]) -> CipherKeys {
    let mut ikm = Zeroizing::new(Vec::with_capacity(dh.len() + k_i.len()));
    ikm.extend_from_slice(dh);
    ikm.extend_from_slice(k_i);
    CipherKeys::derive(hello_hash, &ikm, labels::INIT_IDENTITY)
}

/// The RSA-OAEP label of an encapsulation: `"e2e-chat v2 kem I|R" || hello_hash` (§5.6, §5.7).
pub(crate) fn kem_label(sender: Role, hello_hash: &[u8; 32]) -> Vec<u8> {
    let prefix = match sender {
        Role::Initiator => labels::KEM_I,
        Role::Responder => labels::KEM_R,
    };
    [prefix, hello_hash.as_slice()].concat()
}

/// The outputs of the session key schedule (§5.8).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SessionKeys {
    confirm: [[u8; 32]; 2],
    pub(crate) rk0: [u8; 32],
    pub(crate) ck_r0: [u8; 32],
    pub(crate) hk_r0: [u8; 32],
    pub(crate) hk_i0: [u8; 32],
    pub(crate) nhk_r1: [u8; 32],
}

impl SessionKeys {
    /// `PRK = HKDF-Extract(TH, dh || k_I || k_R)`, `OKM = HKDF-Expand(PRK, "e2e-chat v2 session keys", 224)`.
    pub(crate) fn derive(th: &[u8; 32], dh: &[u8], k_i: &[u8; 32], k_r: &[u8; 32]) -> Self {
        let mut ikm = Zeroizing::new(Vec::with_capacity(dh.len() + 64));
        ikm.extend_from_slice(dh);
        ikm.extend_from_slice(k_i);
        ikm.extend_from_slice(k_r);
        let prk = hkdf::extract(th, &ikm);
        let okm = Zeroizing::new(expand_array::<224>(&prk, labels::SESSION_KEYS));
        crate::leak_check::note("handshake.session okm", &okm[..]);
        let take = |at: usize| -> [u8; 32] {
            let mut k = [0u8; 32];
            k.copy_from_slice(&okm[at..at + 32]);
            k
        };
        SessionKeys {
            confirm: [take(0), take(32)],
            rk0: take(64),
            ck_r0: take(96),
            hk_r0: take(128),
            hk_i0: take(160),
            nhk_r1: take(192),
        }
    }

    /// `HMAC(confirm_X, "e2e-chat v2 confirm X" || TH)` for the confirmation `role` sends (§5.7, §5.9).
    pub(crate) fn confirm_mac(&self, role: Role, th: &[u8; 32]) -> HmacSha256 {
        let label = match role {
            Role::Initiator => labels::CONFIRM_I,
            Role::Responder => labels::CONFIRM_R,
        };
        let mut mac = HmacSha256::new(&self.confirm[role.index()]);
        mac.update(label);
        mac.update(th);
        mac
    }
}
