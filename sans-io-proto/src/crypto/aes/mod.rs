//! AES-256 (FIPS-197) with two back ends that give identical results:
//! - [`Backend::Portable`]: bitsliced, constant time, no tables ([`soft`]);
//! - [`Backend::Hardware`]: the CPU's AES round instructions (x86_64 AES-NI), chosen at run time
//!   when present ([`intrinsics`], the crate's only `unsafe` code).
//!
//! The key schedule (FIPS-197 §5.2) is computed once, in constant time, by the portable code and
//! shared by both back ends.

#[allow(unsafe_code)]
mod intrinsics;
mod soft;

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::ige::IgeError;

/// AES-256 key length in bytes (Nk = 8 words).
pub const KEY_LEN: usize = 32;
/// AES block length in bytes.
pub const BLOCK_LEN: usize = 16;
/// Number of rounds for a 256-bit key (FIPS-197 §5, Nr = 14).
const ROUNDS: usize = 14;

/// Which implementation runs the rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Portable, bitsliced, constant time.
    Portable,
    /// CPU AES instructions (AES-NI on x86_64).
    Hardware,
}

/// An expanded AES-256 key.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Aes256 {
    /// Round keys as bytes (for the hardware back end).
    round_keys: [[u8; BLOCK_LEN]; ROUNDS + 1],
    /// The round keys bitsliced and fixsliced for the portable back end's cipher ...
    sliced_enc: [[u16; 8]; ROUNDS + 1],
    /// ... and its inverse cipher.
    sliced_dec: [[u16; 8]; ROUNDS + 1],
    #[zeroize(skip)]
    backend: Backend,
}

/// `Rcon[i]` (FIPS-197 §5.2): powers of `{02}`; AES-256 needs seven.
const RCON: [u8; 7] = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40];

/// KeyExpansion (FIPS-197 §5.2) for Nk = 8: 60 words, grouped into 15 round keys.
fn expand_key(key: &[u8; KEY_LEN]) -> [[u8; BLOCK_LEN]; ROUNDS + 1] {
    let mut w = [[0u8; 4]; 4 * (ROUNDS + 1)];
    for (i, word) in w.iter_mut().take(8).enumerate() {
        word.copy_from_slice(&key[4 * i..4 * i + 4]);
    }
    for i in 8..w.len() {
        let mut temp = w[i - 1];
        if i % 8 == 0 {
            // SubWord(RotWord(temp)) xor Rcon[i/Nk]
            temp = soft::sub_word([temp[1], temp[2], temp[3], temp[0]]);
            temp[0] ^= RCON[i / 8 - 1];
        } else if i % 8 == 4 {
            // The extra SubWord of 256-bit keys.
            temp = soft::sub_word(temp);
        }
        for b in 0..4 {
            w[i][b] = w[i - 8][b] ^ temp[b];
        }
    }
    let mut out = [[0u8; BLOCK_LEN]; ROUNDS + 1];
    for (r, rk) in out.iter_mut().enumerate() {
        for c in 0..4 {
            rk[4 * c..4 * c + 4].copy_from_slice(&w[4 * r + c]);
        }
    }
    w.zeroize();
    out
}

impl Aes256 {
    /// Expands `key`, using the hardware back end when the CPU has one.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        let backend = if Self::hardware_available() {
            Backend::Hardware
        } else {
            Backend::Portable
        };
        Self::build(key, backend)
    }

    /// Expands `key` for a specific back end; `None` if the CPU lacks the hardware one.
    pub fn with_backend(key: &[u8; KEY_LEN], backend: Backend) -> Option<Self> {
        if backend == Backend::Hardware && !Self::hardware_available() {
            return None;
        }
        Some(Self::build(key, backend))
    }

    fn build(key: &[u8; KEY_LEN], backend: Backend) -> Self {
        let round_keys = expand_key(key);
        let mut sliced: [[u16; 8]; ROUNDS + 1] =
            core::array::from_fn(|r| soft::to_planes(&round_keys[r]));
        let sliced_enc = soft::encryption_keys(&sliced);
        let sliced_dec = soft::decryption_keys(&sliced);
        sliced.zeroize();
        Aes256 {
            round_keys,
            sliced_enc,
            sliced_dec,
            backend,
        }
    }

    /// Whether this CPU has AES instructions this crate can use.
    pub fn hardware_available() -> bool {
        intrinsics::available()
    }

    /// The back end in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Cipher (FIPS-197 §5.1) on one block, in place.
    pub fn encrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match self.backend {
            Backend::Hardware if intrinsics::encrypt_block(&self.round_keys, block) => {}
            _ => soft::encrypt(&self.sliced_enc, block),
        }
    }

    /// InvCipher (FIPS-197 §5.3) on one block, in place.
    pub fn decrypt_block(&self, block: &mut [u8; BLOCK_LEN]) {
        match self.backend {
            Backend::Hardware if intrinsics::decrypt_block(&self.round_keys, block) => {}
            _ => soft::decrypt(&self.sliced_dec, block),
        }
    }

    /// IGE encryption of `data` in place (see [`super::ige`]).
    pub fn ige_encrypt(&self, iv: &[u8; 32], data: &mut [u8]) -> Result<(), IgeError> {
        super::ige::check_len(data)?;
        match self.backend {
            Backend::Hardware if intrinsics::ige_encrypt(&self.round_keys, iv, data) => {}
            _ => super::ige::encrypt_with(iv, data, |b| soft::encrypt(&self.sliced_enc, b)),
        }
        Ok(())
    }

    /// IGE decryption of `data` in place (see [`super::ige`]).
    pub fn ige_decrypt(&self, iv: &[u8; 32], data: &mut [u8]) -> Result<(), IgeError> {
        super::ige::check_len(data)?;
        match self.backend {
            Backend::Hardware if intrinsics::ige_decrypt(&self.round_keys, iv, data) => {}
            _ => super::ige::decrypt_with(iv, data, |b| soft::decrypt(&self.sliced_dec, b)),
        }
        Ok(())
    }
}

impl core::fmt::Debug for Aes256 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Aes256")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_expansion_matches_fips_197_appendix_a3() {
        let key: [u8; 32] = core::array::from_fn(|i| {
            [
                0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d,
                0x77, 0x81, 0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3,
                0x09, 0x14, 0xdf, 0xf4,
            ][i]
        });
        let rk = expand_key(&key);
        // w[8] = 9ba35411, w[59] = 706c631e (FIPS-197 Appendix A.3).
        assert_eq!(&rk[2][..4], &[0x9b, 0xa3, 0x54, 0x11]);
        assert_eq!(&rk[14][12..], &[0x70, 0x6c, 0x63, 0x1e]);
    }
}
