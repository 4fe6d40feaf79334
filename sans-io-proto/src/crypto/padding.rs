//! Padding: PKCS#7 (RFC 5652 §6.3) for block alignment, and MTProto 2.0 style random padding
//! lengths (12..=1024 bytes, total a multiple of 16).

use rand_core::CryptoRngCore;

/// Block size PKCS#7 pads to.
pub const PKCS7_BLOCK: usize = 16;
/// Fewest random padding bytes (MTProto 2.0).
pub const MIN_RANDOM_PADDING: usize = 12;
/// Most random padding bytes (MTProto 2.0).
pub const MAX_RANDOM_PADDING: usize = 1024;

/// Why padding was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PaddingError {
    /// Empty or not a whole number of blocks.
    #[error("padded data is not a whole number of blocks")]
    BadLength,
    /// The padding bytes are not valid PKCS#7.
    #[error("invalid padding")]
    BadPadding,
}

/// Appends 1..=16 bytes, each equal to the count (RFC 5652 §6.3).
pub fn pkcs7_pad(data: &[u8]) -> Vec<u8> {
    let n = PKCS7_BLOCK - data.len() % PKCS7_BLOCK;
    let mut out = Vec::with_capacity(data.len() + n);
    out.extend_from_slice(data);
    // n is 1..=16, so it fits a byte.
    out.resize(data.len() + n, n as u8);
    out
}

/// Removes PKCS#7 padding. Every byte of the last block is examined the same way whatever the
/// padding length, so the time does not depend on where a bad byte is (a padding oracle learns
/// nothing from timing; callers must still authenticate before unpadding).
pub fn pkcs7_unpad(data: &[u8]) -> Result<&[u8], PaddingError> {
    if data.is_empty() || !data.len().is_multiple_of(PKCS7_BLOCK) {
        return Err(PaddingError::BadLength);
    }
    let last = &data[data.len() - PKCS7_BLOCK..];
    let n = last[PKCS7_BLOCK - 1];
    let mut bad = u8::from(n == 0) | u8::from(usize::from(n) > PKCS7_BLOCK);
    for (i, &b) in last.iter().enumerate() {
        // Byte i (from the start of the block) is padding when i >= 16 - n.
        let in_pad = u8::from(i + usize::from(n) >= PKCS7_BLOCK);
        bad |= in_pad & u8::from(b != n);
    }
    if bad != 0 {
        return Err(PaddingError::BadPadding);
    }
    Ok(&data[..data.len() - usize::from(n)])
}

/// A random padding length `pad` with `12 <= pad <= 1024` and `(content_len + pad) % 16 == 0`,
/// uniform over the allowed values (MTProto 2.0: "12 to 1024 random padding bytes").
pub fn random_padding_len(content_len: usize, rng: &mut impl CryptoRngCore) -> usize {
    // The allowed values form an arithmetic progression: first, first + 16, ..., up to 1024.
    let first = MIN_RANDOM_PADDING + (16 - (content_len + MIN_RANDOM_PADDING) % 16) % 16;
    let count = (MAX_RANDOM_PADDING - first) / 16 + 1;
    // Rejection sampling for an exactly uniform choice.
    let bound = u32::MAX - u32::MAX % count as u32;
    let pick = loop {
        let x = rng.next_u32();
        if x < bound {
            break x as usize % count;
        }
    };
    first + 16 * pick
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn pkcs7_round_trip_and_rejections() {
        for len in 0..40 {
            let data: Vec<u8> = (0..len as u8).collect();
            let padded = pkcs7_pad(&data);
            assert_eq!(padded.len() % 16, 0);
            assert_eq!(pkcs7_unpad(&padded), Ok(data.as_slice()));
        }
        assert_eq!(pkcs7_unpad(&[]), Err(PaddingError::BadLength));
        assert_eq!(pkcs7_unpad(&[1u8; 15]), Err(PaddingError::BadLength));
        assert_eq!(pkcs7_unpad(&[0u8; 16]), Err(PaddingError::BadPadding));
        assert_eq!(pkcs7_unpad(&[17u8; 16]), Err(PaddingError::BadPadding));
        let mut bad = [4u8; 16];
        bad[12] = 3;
        assert_eq!(pkcs7_unpad(&bad), Err(PaddingError::BadPadding));
        assert_eq!(pkcs7_unpad(&[16u8; 16]), Ok(&[][..]));
    }

    #[test]
    fn random_padding_is_in_range_aligned_and_covers_the_range() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for len in 0..100 {
            let mut seen_min = usize::MAX;
            let mut seen_max = 0;
            for _ in 0..300 {
                let pad = random_padding_len(len, &mut rng);
                assert!((MIN_RANDOM_PADDING..=MAX_RANDOM_PADDING).contains(&pad));
                assert_eq!((len + pad) % 16, 0);
                seen_min = seen_min.min(pad);
                seen_max = seen_max.max(pad);
            }
            assert!(
                seen_min < 100 && seen_max > 900,
                "len {len}: {seen_min}..{seen_max}"
            );
        }
    }
}
