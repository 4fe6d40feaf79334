//! HKDF-SHA256 (RFC 5869): extract-then-expand key derivation on [`super::hmac`].

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::hmac::{HmacSha256, TAG_LEN};

/// The most output `expand` may produce: `255 · HashLen` (RFC 5869 §2.3).
pub const MAX_OUTPUT_LEN: usize = 255 * TAG_LEN;

/// Why HKDF refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HkdfError {
    /// More than [`MAX_OUTPUT_LEN`] bytes were requested.
    #[error("HKDF output of {requested} bytes exceeds 255 * 32")]
    OutputTooLong {
        /// The requested length.
        requested: usize,
    },
}

/// A pseudorandom key: the output of `extract` (RFC 5869 §2.2).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Prk([u8; TAG_LEN]);

impl Prk {
    /// Wraps 32 bytes that already are a uniformly random key (RFC 5869 §3.3: extract may be
    /// skipped for such keys).
    pub fn from_bytes(bytes: [u8; TAG_LEN]) -> Self {
        Prk(bytes)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }
}

impl core::fmt::Debug for Prk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Prk(..)")
    }
}

/// `HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM)` (RFC 5869 §2.2). An empty salt is the same as
/// 32 zero bytes, because HMAC pads keys with zeros to the block size.
pub fn extract(salt: &[u8], ikm: &[u8]) -> Prk {
    let mut mac = HmacSha256::new(salt);
    mac.update(ikm);
    Prk(mac.finalize())
}

/// `HKDF-Expand(PRK, info, L)` into `out` (RFC 5869 §2.3):
/// `T(i) = HMAC(PRK, T(i-1) || info || i)`, `OKM` = the first `L` bytes of `T(1) || T(2) || ...`.
pub fn expand(prk: &Prk, info: &[u8], out: &mut [u8]) -> Result<(), HkdfError> {
    if out.len() > MAX_OUTPUT_LEN {
        return Err(HkdfError::OutputTooLong {
            requested: out.len(),
        });
    }
    let keyed = HmacSha256::new(&prk.0);
    // One working MAC restarted from the keyed one per block (instead of a clone dropped and
    // wiped per block); both are wiped once, on drop.
    let mut mac = keyed.clone();
    let mut previous = [0u8; TAG_LEN];
    for (i, chunk) in out.chunks_mut(TAG_LEN).enumerate() {
        if i > 0 {
            mac.restart_from(&keyed);
            mac.update(&previous);
        }
        mac.update(info);
        // i < 255 by the length check, so the counter byte i + 1 never wraps.
        mac.update(&[(i + 1) as u8]);
        previous = mac.finalize_in_place();
        chunk.copy_from_slice(&previous[..chunk.len()]);
    }
    previous.zeroize();
    Ok(())
}

/// Extract then expand in one call.
pub fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), HkdfError> {
    expand(&extract(salt, ikm), info, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limit_is_enforced() {
        let prk = extract(b"salt", b"ikm");
        let mut ok = vec![0u8; MAX_OUTPUT_LEN];
        assert!(expand(&prk, b"", &mut ok).is_ok());
        let mut too_long = vec![0u8; MAX_OUTPUT_LEN + 1];
        assert_eq!(
            expand(&prk, b"", &mut too_long),
            Err(HkdfError::OutputTooLong {
                requested: MAX_OUTPUT_LEN + 1
            })
        );
        let mut empty = [0u8; 0];
        assert!(expand(&prk, b"", &mut empty).is_ok());
    }

    #[test]
    fn empty_salt_is_zero_salt() {
        assert_eq!(
            extract(b"", b"x").as_bytes(),
            extract(&[0u8; 32], b"x").as_bytes()
        );
    }
}
