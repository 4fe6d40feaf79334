//! Encrypt-then-MAC with AES-256-IGE and HMAC-SHA256 under 96 bytes of derived key material.
//!
//! Every symmetric encryption of the protocol (sealed handshake messages, ratchet headers and
//! bodies, the identity file) uses one [`CipherKeys`] set: `aes_key (32) || aes_iv (32) ||
//! mac_key (32)` from HKDF (PROTOCOL.md §5.2, §6.1). The MAC is always checked before anything is
//! decrypted (the Double Ratchet spec §5.2 and Krawczyk's encrypt-then-MAC result), and each key
//! set is used for one message only, so IGE's fixed IV is never reused under one key.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::hkdf;
use crate::crypto::hmac::HmacSha256;
use crate::crypto::ige;

/// Length of the derived key material of one [`CipherKeys`].
pub(crate) const KEY_MATERIAL_LEN: usize = 96;

/// An AES-256-IGE key, its 32-byte IV and an HMAC-SHA256 key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct CipherKeys {
    aes_key: [u8; 32],
    aes_iv: [u8; 32],
    mac_key: [u8; 32],
}

/// The buffer handed to [`CipherKeys::encrypt`] / [`CipherKeys::decrypt`] was not a whole number
/// of AES blocks. Callers size their buffers, so this only reports a caller bug, never bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("buffer is not a multiple of the AES block size")]
pub(crate) struct Misaligned;

impl CipherKeys {
    /// Splits 96 bytes of key material as `aes_key || aes_iv || mac_key`.
    pub(crate) fn from_material(okm: &[u8; KEY_MATERIAL_LEN]) -> Self {
        crate::leak_check::note("etm key set", okm);
        let mut keys = CipherKeys {
            aes_key: [0; 32],
            aes_iv: [0; 32],
            mac_key: [0; 32],
        };
        keys.aes_key.copy_from_slice(&okm[0..32]);
        keys.aes_iv.copy_from_slice(&okm[32..64]);
        keys.mac_key.copy_from_slice(&okm[64..96]);
        keys
    }

    /// `HKDF(salt, ikm, info, 96)` split into a key set (RFC 5869 §2).
    pub(crate) fn derive(salt: &[u8], ikm: &[u8], info: &[u8]) -> Self {
        let mut okm = derive_array::<KEY_MATERIAL_LEN>(salt, ikm, info);
        let keys = Self::from_material(&okm);
        okm.zeroize();
        keys
    }

    /// Encrypts `buf` in place with AES-256-IGE.
    pub(crate) fn encrypt(&self, buf: &mut [u8]) -> Result<(), Misaligned> {
        ige::ige_encrypt(&self.aes_key, &self.aes_iv, buf).map_err(|_| Misaligned)
    }

    /// Decrypts `buf` in place with AES-256-IGE. Only call after [`Self::verify`] succeeded.
    pub(crate) fn decrypt(&self, buf: &mut [u8]) -> Result<(), Misaligned> {
        ige::ige_decrypt(&self.aes_key, &self.aes_iv, buf).map_err(|_| Misaligned)
    }

    /// A MAC keyed with `mac_key`, ready for `update` with the authenticated bytes.
    pub(crate) fn mac(&self) -> HmacSha256 {
        HmacSha256::new(&self.mac_key)
    }

    /// The MAC over `parts`, concatenated.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.finalize()
    }

    /// Checks in constant time that `tag` is the MAC over `parts`, concatenated.
    pub(crate) fn verify(&self, parts: &[&[u8]], tag: &[u8; 32]) -> bool {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.verify(tag).is_ok()
    }
}

impl core::fmt::Debug for CipherKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("CipherKeys(..)")
    }
}

/// `HKDF(salt, ikm, info, N)` into a fixed-size array.
///
/// `N` is checked against RFC 5869's `255 · HashLen` limit at compile time, so the expansion
/// cannot fail at run time.
pub(crate) fn derive_array<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; N] {
    const { assert!(N <= hkdf::MAX_OUTPUT_LEN) };
    let mut out = [0u8; N];
    let prk = hkdf::extract(salt, ikm);
    let expanded = hkdf::expand(&prk, info, &mut out);
    debug_assert!(
        expanded.is_ok(),
        "N is within the RFC 5869 limit by the const assertion"
    );
    out
}

/// `HKDF-Expand(prk, info, N)` into a fixed-size array (see [`derive_array`]).
pub(crate) fn expand_array<const N: usize>(prk: &hkdf::Prk, info: &[u8]) -> [u8; N] {
    const { assert!(N <= hkdf::MAX_OUTPUT_LEN) };
    let mut out = [0u8; N];
    let expanded = hkdf::expand(prk, info, &mut out);
    debug_assert!(
        expanded.is_ok(),
        "N is within the RFC 5869 limit by the const assertion"
    );
    out
}
