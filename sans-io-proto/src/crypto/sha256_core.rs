//! A SHA-256 running state that can be wiped: the `sha2` crate's compression function
//! (`compress256`, which uses SHA-NI when the CPU has it) with the FIPS 180-4 §5.1.1 padding done
//! here. HMAC keeps its keyed inner and outer states in this form, because a keyed hash state is as
//! secret as the key and `sha2::Sha256` offers no way to zeroize itself.

use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// SHA-256 block size in bytes.
pub(crate) const BLOCK_LEN: usize = 64;

/// FIPS 180-4 §5.3.3: the initial hash value H(0).
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A SHA-256 computation in progress.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Sha256Core {
    state: [u32; 8],
    buf: [u8; BLOCK_LEN],
    buf_len: usize,
    /// Bytes absorbed so far (the message length of the padding).
    total: u64,
}

fn compress(state: &mut [u32; 8], block: &[u8; BLOCK_LEN]) {
    sha2::compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

impl Sha256Core {
    pub(crate) fn new() -> Self {
        Sha256Core {
            state: H0,
            buf: [0; BLOCK_LEN],
            buf_len: 0,
            total: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK_LEN - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < BLOCK_LEN {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK_LEN);
        for block in &mut blocks {
            let mut b = [0u8; BLOCK_LEN];
            b.copy_from_slice(block);
            compress(&mut self.state, &b);
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// FIPS 180-4 §5.1.1: append 0x80, zeros, and the 64-bit big-endian bit length.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        let bits = self.total.wrapping_mul(8);
        let mut block = [0u8; BLOCK_LEN];
        block[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        block[self.buf_len] = 0x80;
        if self.buf_len >= BLOCK_LEN - 8 {
            compress(&mut self.state, &block);
            block = [0u8; BLOCK_LEN];
        }
        block[BLOCK_LEN - 8..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &block);
        block.zeroize();
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn equals_sha2_for_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            let want: [u8; 32] = sha2::Sha256::digest(&data[..len]).into();
            let mut one = Sha256Core::new();
            one.update(&data[..len]);
            assert_eq!(one.finalize(), want, "len {len}");
            let split = len / 3;
            let mut two = Sha256Core::new();
            two.update(&data[..split]);
            two.update(&data[split..len]);
            assert_eq!(two.finalize(), want, "len {len} split {split}");
        }
    }
}
