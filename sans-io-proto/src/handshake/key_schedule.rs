//! The handshake key schedule (PROTOCOL.md §5.2 and §5.6).

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::hkdf;
use crate::etm::{CipherKeys, KEY_MATERIAL_LEN, derive_array, expand_array};
use crate::labels;

use super::Role;

/// `H(label || parts...)`.
fn hash(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// `hello_hash = H("e2e-chat v1 hello" || Hello_I || Hello_R)` (§5.2).
pub(crate) fn hello_hash(hello_i: &[u8], hello_r: &[u8]) -> [u8; 32] {
    hash(labels::HELLO, &[hello_i, hello_r])
}

/// `TH = H("e2e-chat v1 transcript" || Hello_I || Hello_R || Identity_I || Identity_R || Encap_I || Encap_R)` (§5.6).
pub(crate) fn transcript_hash(messages_in_order: &[&[u8]; 6]) -> [u8; 32] {
    hash(labels::TRANSCRIPT, messages_in_order)
}

/// The identity-hiding key sets, one per message and role (§5.2).
#[derive(Clone)]
pub(crate) struct HidingKeys {
    ident: [CipherKeys; 2],
    encap: [CipherKeys; 2],
}

impl HidingKeys {
    /// `HKDF(salt = hello_hash, ikm = dh, info = "e2e-chat v1 handshake hiding", 384)`.
    pub(crate) fn derive(hello_hash: &[u8; 32], dh: &[u8]) -> Self {
        let mut okm =
            derive_array::<{ 4 * KEY_MATERIAL_LEN }>(hello_hash, dh, labels::HANDSHAKE_HIDING);
        let part = |i: usize| {
            let mut chunk = [0u8; KEY_MATERIAL_LEN];
            chunk.copy_from_slice(&okm[i * KEY_MATERIAL_LEN..(i + 1) * KEY_MATERIAL_LEN]);
            let keys = CipherKeys::from_material(&chunk);
            chunk.zeroize();
            keys
        };
        crate::leak_check::note("handshake.hiding okm", &okm[..]);
        let keys = HidingKeys {
            ident: [part(0), part(1)],
            encap: [part(2), part(3)],
        };
        okm.zeroize();
        keys
    }

    /// The key set that `role` seals its Identity with.
    pub(crate) fn identity(&self, role: Role) -> &CipherKeys {
        &self.ident[role.index()]
    }

    /// The key set that `role` seals its Encap with.
    pub(crate) fn encap(&self, role: Role) -> &CipherKeys {
        &self.encap[role.index()]
    }
}

/// The outputs of the session key schedule (§5.6).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SessionKeys {
    confirm: [[u8; 32]; 2],
    pub(crate) rk0: [u8; 32],
    pub(crate) ck_r0: [u8; 32],
    pub(crate) hk_r0: [u8; 32],
    pub(crate) hk_i0: [u8; 32],
    pub(crate) nhk_r1: [u8; 32],
    pub(crate) visual: [u8; 36],
}

impl SessionKeys {
    /// `PRK = HKDF-Extract(TH, dh || k_I || k_R)`, `OKM = HKDF-Expand(PRK, "e2e-chat v1 session keys", 260)`.
    pub(crate) fn derive(th: &[u8; 32], dh: &[u8], k_i: &[u8; 32], k_r: &[u8; 32]) -> Self {
        let mut ikm = Vec::with_capacity(dh.len() + 64);
        ikm.extend_from_slice(dh);
        ikm.extend_from_slice(k_i);
        ikm.extend_from_slice(k_r);
        let prk = hkdf::extract(th, &ikm);
        ikm.zeroize();
        let mut okm = expand_array::<260>(&prk, labels::SESSION_KEYS);
        crate::leak_check::note("handshake.session okm", &okm[..224]); // not the shown visual
        let take = |range: core::ops::Range<usize>| -> [u8; 32] {
            let mut k = [0u8; 32];
            k.copy_from_slice(&okm[range]);
            k
        };
        let mut visual = [0u8; 36];
        visual.copy_from_slice(&okm[224..260]);
        let keys = SessionKeys {
            confirm: [take(0..32), take(32..64)],
            rk0: take(64..96),
            ck_r0: take(96..128),
            hk_r0: take(128..160),
            hk_i0: take(160..192),
            nhk_r1: take(192..224),
            visual,
        };
        okm.zeroize();
        keys
    }

    /// `HMAC(confirm_role, "e2e-chat v1 confirm" || TH)` (§5.7).
    pub(crate) fn confirm_mac(&self, role: Role, th: &[u8; 32]) -> crate::crypto::hmac::HmacSha256 {
        let mut mac = crate::crypto::hmac::HmacSha256::new(&self.confirm[role.index()]);
        mac.update(labels::CONFIRM);
        mac.update(th);
        mac
    }
}
