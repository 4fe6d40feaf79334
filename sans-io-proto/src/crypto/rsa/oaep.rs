//! EME-OAEP encoding and decoding with SHA-256 and MGF1-SHA256 (RFC 8017 §7.1.1 step 2,
//! §7.1.2 step 3, Appendix B.2.1).

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{MODULUS_LEN, RsaError};
use crate::crypto::ct::ct_eq;

const H_LEN: usize = 32;
/// Longest message: `k - 2·hLen - 2` (RFC 8017 §7.1.1 step 1.b).
pub(crate) const MAX_MESSAGE_LEN: usize = MODULUS_LEN - 2 * H_LEN - 2;
const DB_LEN: usize = MODULUS_LEN - H_LEN - 1;

/// The one error of OAEP decryption: which check failed is never revealed (RFC 8017 §7.1.2 note,
/// Manger's attack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("decryption failed")]
pub struct OaepDecryptError;

/// MGF1 (RFC 8017 §B.2.1): XORs `T = Hash(seed || C(0)) || Hash(seed || C(1)) || ...` into `out`.
fn mgf1_xor(seed: &[u8], out: &mut [u8]) {
    for (counter, chunk) in out.chunks_mut(H_LEN).enumerate() {
        let mut h = Sha256::new();
        h.update(seed);
        h.update((counter as u32).to_be_bytes());
        let block = h.finalize();
        for (o, b) in chunk.iter_mut().zip(block.iter()) {
            *o ^= b;
        }
    }
}

/// EME-OAEP encoding: `EM = 0x00 || maskedSeed || maskedDB` with
/// `DB = lHash || PS || 0x01 || M`.
pub(super) fn encode(
    msg: &[u8],
    label: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Zeroizing<Vec<u8>>, RsaError> {
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(RsaError::MessageTooLong);
    }
    let mut em = Zeroizing::new(vec![0u8; MODULUS_LEN]);
    let (seed, db) = em[1..].split_at_mut(H_LEN);
    db[..H_LEN].copy_from_slice(&Sha256::digest(label));
    db[DB_LEN - msg.len() - 1] = 0x01;
    db[DB_LEN - msg.len()..].copy_from_slice(msg);
    rng.fill_bytes(seed);
    crate::leak_check::note("rsa.oaep seed", seed);
    crate::leak_check::note("rsa.oaep message", msg);
    mgf1_xor(seed, db); // maskedDB = DB xor MGF(seed)
    mgf1_xor(db, seed); // maskedSeed = seed xor MGF(maskedDB)
    crate::leak_check::note("rsa.oaep EM", &em[..]);
    Ok(em)
}

/// EME-OAEP decoding, checking `Y = 0`, `lHash' = lHash` and the `0x01` separator after the zero
/// padding, all combined into one flag without data-dependent early exits.
pub(super) fn decode(em: &[u8], label: &[u8]) -> Result<Zeroizing<Vec<u8>>, OaepDecryptError> {
    if em.len() != MODULUS_LEN {
        return Err(OaepDecryptError);
    }
    let mut buf = Zeroizing::new(em.to_vec());
    let (y, rest) = buf.split_at_mut(1);
    let (seed, db) = rest.split_at_mut(H_LEN);
    mgf1_xor(db, seed);
    mgf1_xor(seed, db);

    let label_ok = ct_eq(&db[..H_LEN], &Sha256::digest(label));
    let mut bad = u8::from(y[0] != 0) | u8::from(!label_ok);
    // Scan PS || 0x01 || M for the first non-zero byte, which must be 0x01.
    let mut looking = 1u8;
    let mut separator = 0usize;
    for (i, &b) in db[H_LEN..].iter().enumerate() {
        let is_zero = u8::from(b == 0);
        let is_one = u8::from(b == 1);
        let found_here = looking & is_one;
        // Branch-free "if found_here { separator = i }".
        let mask = 0usize.wrapping_sub(usize::from(found_here));
        separator = (separator & !mask) | (i & mask);
        bad |= looking & (1 - is_zero) & (1 - is_one);
        looking &= 1 - is_one;
    }
    bad |= looking;
    // Public by design: success or failure is the visible result (one opaque error for every
    // cause), and on success the separator position gives the plaintext length, which the
    // output shows anyway.
    let (bad, separator) = crate::crypto::bignum::declassify((bad, separator));
    if bad != 0 {
        return Err(OaepDecryptError);
    }
    Ok(Zeroizing::new(db[H_LEN + separator + 1..].to_vec()))
}
