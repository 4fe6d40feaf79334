//! PBKDF2 with HMAC-SHA256 (RFC 8018 §5.2), for the passphrase-protected identity file.

use zeroize::Zeroize;

use super::hmac::{HmacSha256, TAG_LEN};

/// Why PBKDF2 refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Pbkdf2Error {
    /// An iteration count of zero (RFC 8018 §5.2: `c` is a positive integer).
    #[error("PBKDF2 needs at least one iteration")]
    ZeroIterations,
    /// More than `(2^32 - 1) · hLen` bytes requested (RFC 8018 §5.2 step 1).
    #[error("PBKDF2 output too long")]
    OutputTooLong,
}

/// `DK = PBKDF2(P, S, c, dkLen)` into `out`:
/// `T_i = U_1 ⊕ ... ⊕ U_c`, `U_1 = PRF(P, S || INT(i))`, `U_j = PRF(P, U_{j-1})`.
pub fn pbkdf2_hmac_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<(), Pbkdf2Error> {
    if iterations == 0 {
        return Err(Pbkdf2Error::ZeroIterations);
    }
    if out.len() as u64 > u64::from(u32::MAX) * TAG_LEN as u64 {
        return Err(Pbkdf2Error::OutputTooLong);
    }
    // The password is the HMAC key of every U_j: key it once and clone the keyed state.
    let keyed = HmacSha256::new(password);
    for (i, chunk) in out.chunks_mut(TAG_LEN).enumerate() {
        let mut mac = keyed.clone();
        mac.update(salt);
        // INT(i): the block index, 1-based, as a 32-bit big-endian integer (fits by the check above).
        mac.update(&(i as u32 + 1).to_be_bytes());
        let mut u = mac.finalize();
        let mut t = u;
        for _ in 1..iterations {
            let mut mac = keyed.clone();
            mac.update(&u);
            u = mac.finalize();
            for (t, u) in t.iter_mut().zip(&u) {
                *t ^= u;
            }
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
        u.zeroize();
        t.zeroize();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_iterations_is_an_error() {
        let mut out = [0u8; 32];
        assert_eq!(
            pbkdf2_hmac_sha256(b"p", b"s", 0, &mut out),
            Err(Pbkdf2Error::ZeroIterations)
        );
    }
}
