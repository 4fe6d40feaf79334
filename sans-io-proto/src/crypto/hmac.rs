//! HMAC-SHA256 (RFC 2104; FIPS 198-1), streaming, with constant-time verification.
//!
//! `HMAC(K, m) = H((K' ⊕ opad) || H((K' ⊕ ipad) || m))` where `K'` is the key padded with zeros to
//! the 64-byte block, or first hashed if longer (RFC 2104 §2). The two keyed states after absorbing
//! `K' ⊕ ipad` and `K' ⊕ opad` are computed once in [`HmacSha256::new`]; cloning a keyed MAC reuses
//! them, which is what makes many MACs under one key (HKDF, PBKDF2, the ratchet) cheap. Both states
//! are wiped on drop.

use zeroize::Zeroize;

use super::ct::ct_eq;
use super::sha256_core::{BLOCK_LEN, Sha256Core};

/// Length of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;
/// Shortest truncated tag [`HmacSha256::verify_truncated`] accepts (128 bits; RFC 4231 §4.6 and
/// FIPS 198-1 §5 / SP 800-107 recommend not going lower).
pub const MIN_TRUNCATED_TAG_LEN: usize = 16;

/// Why a tag was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MacError {
    /// The tag does not match.
    #[error("MAC mismatch")]
    Mismatch,
    /// A truncated tag shorter than [`MIN_TRUNCATED_TAG_LEN`] (or longer than 32 bytes).
    #[error("MAC tag length not allowed")]
    TagTooShort,
}

/// A keyed HMAC-SHA256 computation. Both keyed states are wiped on drop (by [`Sha256Core`]).
#[derive(Clone)]
pub struct HmacSha256 {
    inner: Sha256Core,
    outer: Sha256Core,
}

impl zeroize::ZeroizeOnDrop for HmacSha256 {}

impl HmacSha256 {
    /// Keys a new MAC. Keys longer than the 64-byte block are hashed first (RFC 2104 §2).
    pub fn new(key: &[u8]) -> Self {
        let mut inner = Sha256Core::new();
        let mut outer = Sha256Core::new();
        // K' ⊕ ipad and K' ⊕ opad (ipad = 0x36.., opad = 0x5c..; RFC 2104 §2), each built in the
        // block buffer of the hash that absorbs it (wiped with that hash).
        if key.len() > BLOCK_LEN {
            let mut h = Sha256Core::new();
            h.update(key);
            let mut hashed = h.finalize();
            inner.absorb_key_block(&hashed, 0x36);
            outer.absorb_key_block(&hashed, 0x5c);
            hashed.zeroize();
        } else {
            inner.absorb_key_block(key, 0x36);
            outer.absorb_key_block(key, 0x5c);
        }
        HmacSha256 { inner, outer }
    }

    /// Absorbs more of the message.
    pub fn update(&mut self, data: &[u8]) {
        self.inner.update(data);
    }

    /// The 32-byte tag.
    pub fn finalize(mut self) -> [u8; TAG_LEN] {
        self.finalize_in_place()
    }

    /// The tag, leaving this MAC spent until [`Self::restart_from`] (for HKDF-Expand's loop).
    pub(crate) fn finalize_in_place(&mut self) -> [u8; TAG_LEN] {
        // H(K' ⊕ opad || H(K' ⊕ ipad || text)) (RFC 2104 §2).
        self.inner.finalize_into(&mut self.outer);
        self.outer.finalize_in_place()
    }

    /// Starts a new message under `keyed`'s key, reusing this MAC's memory (no drop, no wipe in
    /// between; this MAC is still wiped once when dropped).
    pub(crate) fn restart_from(&mut self, keyed: &HmacSha256) {
        self.inner.restart_from(&keyed.inner);
        self.outer.restart_from(&keyed.outer);
    }

    /// Checks a full 32-byte tag in constant time.
    pub fn verify(self, tag: &[u8; TAG_LEN]) -> Result<(), MacError> {
        // Public by design: whether the tag verified is this function's result.
        if super::bignum::declassify(ct_eq(&self.finalize(), tag)) {
            Ok(())
        } else {
            Err(MacError::Mismatch)
        }
    }

    /// Checks a tag truncated to its leftmost 16..=32 bytes (RFC 2104 §5), in constant time.
    pub fn verify_truncated(self, tag: &[u8]) -> Result<(), MacError> {
        if !(MIN_TRUNCATED_TAG_LEN..=TAG_LEN).contains(&tag.len()) {
            return Err(MacError::TagTooShort);
        }
        let full = self.finalize();
        // Public by design: whether the tag verified is this function's result.
        if super::bignum::declassify(ct_eq(&full[..tag.len()], tag)) {
            Ok(())
        } else {
            Err(MacError::Mismatch)
        }
    }
}

impl core::fmt::Debug for HmacSha256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("HmacSha256(..)")
    }
}

/// One-shot `HMAC-SHA256(key, data)`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; TAG_LEN] {
    let mut mac = HmacSha256::new(key);
    mac.update(data);
    mac.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_equals_one_shot_and_clones_are_independent() {
        let key = b"key";
        let mut a = HmacSha256::new(key);
        let b = a.clone();
        a.update(b"hello ");
        a.update(b"world");
        assert_eq!(a.finalize(), hmac_sha256(key, b"hello world"));
        assert_eq!(b.finalize(), hmac_sha256(key, b""));
    }

    #[test]
    fn truncated_tags() {
        let keyed = |m: &[u8]| {
            let mut mac = HmacSha256::new(b"k");
            mac.update(m);
            mac
        };
        let tag = hmac_sha256(b"k", b"m");
        assert_eq!(keyed(b"m").verify_truncated(&tag[..16]), Ok(()));
        assert_eq!(
            keyed(b"m").verify_truncated(&tag[..15]),
            Err(MacError::TagTooShort)
        );
        assert_eq!(
            keyed(b"x").verify_truncated(&tag[..16]),
            Err(MacError::Mismatch)
        );
        let mut bad = tag;
        bad[31] ^= 1;
        assert_eq!(keyed(b"m").verify(&bad), Err(MacError::Mismatch));
        assert_eq!(keyed(b"m").verify_truncated(&bad[..31]), Ok(()));
        assert_eq!(keyed(b"m").verify(&tag), Ok(()));
    }
}
