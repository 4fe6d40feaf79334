//! AES-256 in Infinite Garble Extension mode (C. Campbell, 1978; as used by MTProto 2.0).
//!
//! `Cᵢ = E(Pᵢ ⊕ Cᵢ₋₁) ⊕ Pᵢ₋₁` and `Pᵢ = D(Cᵢ ⊕ Pᵢ₋₁) ⊕ Cᵢ₋₁`, with the 32-byte IV split as
//! `C₀ = iv[0..16]` (XORed before the cipher) and `P₀ = iv[16..32]` (XORed after): the convention
//! of MTProto, tgcrypto and grammers-crypto. IGE gives no integrity by itself; this crate always
//! pairs it with HMAC-SHA256 (encrypt-then-MAC).

use super::aes::{Aes256, BLOCK_LEN};

/// Why IGE refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IgeError {
    /// The input is not a whole number of 16-byte blocks.
    #[error("IGE input of {len} bytes is not a multiple of 16")]
    NotBlockAligned {
        /// The input length.
        len: usize,
    },
}

pub(crate) fn check_len(data: &[u8]) -> Result<(), IgeError> {
    if data.len().is_multiple_of(BLOCK_LEN) {
        Ok(())
    } else {
        Err(IgeError::NotBlockAligned { len: data.len() })
    }
}

fn xor16(a: &mut [u8; 16], b: &[u8; 16]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

fn split_iv(iv: &[u8; 32]) -> ([u8; 16], [u8; 16]) {
    let mut c0 = [0u8; 16];
    let mut p0 = [0u8; 16];
    c0.copy_from_slice(&iv[..16]);
    p0.copy_from_slice(&iv[16..]);
    (c0, p0)
}

/// The IGE encryption chain around any block cipher (used by the portable back end).
pub(crate) fn encrypt_with(iv: &[u8; 32], data: &mut [u8], encrypt: impl Fn(&mut [u8; 16])) {
    let (mut c_prev, mut p_prev) = split_iv(iv);
    for chunk in data.chunks_exact_mut(BLOCK_LEN) {
        let mut p = [0u8; 16];
        p.copy_from_slice(chunk);
        let mut x = p;
        xor16(&mut x, &c_prev);
        encrypt(&mut x);
        xor16(&mut x, &p_prev);
        chunk.copy_from_slice(&x);
        c_prev = x;
        p_prev = p;
    }
}

/// The IGE decryption chain around any block cipher.
pub(crate) fn decrypt_with(iv: &[u8; 32], data: &mut [u8], decrypt: impl Fn(&mut [u8; 16])) {
    let (mut c_prev, mut p_prev) = split_iv(iv);
    for chunk in data.chunks_exact_mut(BLOCK_LEN) {
        let mut c = [0u8; 16];
        c.copy_from_slice(chunk);
        let mut x = c;
        xor16(&mut x, &p_prev);
        decrypt(&mut x);
        xor16(&mut x, &c_prev);
        chunk.copy_from_slice(&x);
        c_prev = c;
        p_prev = x;
    }
}

/// Encrypts `data` in place under `key` and the 32-byte `iv` (fastest available back end).
pub fn ige_encrypt(key: &[u8; 32], iv: &[u8; 32], data: &mut [u8]) -> Result<(), IgeError> {
    Aes256::new(key).ige_encrypt(iv, data)
}

/// Decrypts `data` in place under `key` and the 32-byte `iv` (fastest available back end).
pub fn ige_decrypt(key: &[u8; 32], iv: &[u8; 32], data: &mut [u8]) -> Result<(), IgeError> {
    Aes256::new(key).ige_decrypt(iv, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misaligned_input_is_a_typed_error() {
        let mut data = [0u8; 17];
        assert_eq!(
            ige_encrypt(&[0; 32], &[0; 32], &mut data),
            Err(IgeError::NotBlockAligned { len: 17 })
        );
        assert_eq!(
            ige_decrypt(&[0; 32], &[0; 32], &mut data[..15]),
            Err(IgeError::NotBlockAligned { len: 15 })
        );
        assert_eq!(ige_encrypt(&[0; 32], &[0; 32], &mut []), Ok(()));
    }
}
