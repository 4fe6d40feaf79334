//! A SHA-256 running state that can be wiped: the `sha2` crate's compression function
//! (`compress256`, which uses SHA-NI when the CPU has it) with the FIPS 180-4 §5.1.1 padding done
//! here. HMAC keeps its keyed inner and outer states in this form, because a keyed hash state is as
//! secret as the key and `sha2::Sha256` offers no way to zeroize itself.

use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::U64;
use zeroize::Zeroize;

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

/// A SHA-256 computation in progress. Wiped on drop: the state words, and the part of the block
/// buffer that was ever written (tracked so that short messages do not pay for wiping 64 bytes).
#[derive(Clone)]
pub(crate) struct Sha256Core {
    state: [u32; 8],
    buf: [u8; BLOCK_LEN],
    buf_len: usize,
    /// How many leading bytes of `buf` ever held data (what `drop` wipes).
    dirty: usize,
    /// Bytes absorbed so far (the message length of the padding).
    total: u64,
}

impl Drop for Sha256Core {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf[..self.dirty.min(BLOCK_LEN)].zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for Sha256Core {}

fn compress(state: &mut [u32; 8], block: &[u8]) {
    // `block` is exactly 64 bytes at every call site; compress it without copying it anywhere.
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
            dirty: 0,
            total: 0,
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.total = self.total.wrapping_add(data.len() as u64);
        if self.buf_len > 0 {
            let take = (BLOCK_LEN - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            self.dirty = self.dirty.max(self.buf_len);
            data = &data[take..];
            if self.buf_len < BLOCK_LEN {
                return;
            }
            compress(&mut self.state, &self.buf);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(BLOCK_LEN);
        if blocks.len() == 1 {
            if let Some(block) = blocks.next() {
                compress(&mut self.state, block);
            }
        } else if blocks.len() > 1 {
            // Several blocks: hand them to the compression function BATCH at a time (one call,
            // one CPU-feature check and one state load per batch instead of per block). The
            // message may be secret (HKDF's input key material), so the stack copy is wiped.
            const BATCH: usize = 16;
            let mut batch = [GenericArray::<u8, U64>::default(); BATCH];
            let mut used = 0;
            loop {
                let mut n = 0;
                for (slot, block) in batch.iter_mut().zip(&mut blocks) {
                    slot.copy_from_slice(block);
                    n += 1;
                }
                if n == 0 {
                    break;
                }
                sha2::compress256(&mut self.state, &batch[..n]);
                used = used.max(n);
            }
            for slot in &mut batch[..used] {
                slot.as_mut_slice().zeroize();
            }
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
        self.dirty = self.dirty.max(self.buf_len);
    }

    /// Absorbs the block `K' ⊕ pad` (RFC 2104 §2: K' is the key zero-padded to the block size),
    /// building it in the block buffer, which is wiped on drop, instead of in a separate copy that
    /// would need its own wipe. Only for a fresh core and a key of at most one block.
    pub(crate) fn absorb_key_block(&mut self, key: &[u8], pad: u8) {
        debug_assert!(self.total == 0 && self.buf_len == 0 && key.len() <= BLOCK_LEN);
        self.buf.fill(pad);
        for (b, k) in self.buf.iter_mut().zip(key) {
            *b ^= k;
        }
        compress(&mut self.state, &self.buf);
        self.dirty = BLOCK_LEN;
        self.total = BLOCK_LEN as u64;
    }

    /// Makes this core continue from `other`'s state, without dropping (and so re-wiping) this
    /// one: HKDF-Expand restarts one working HMAC from the keyed one for every output block. The
    /// dirty mark only grows, so everything this core ever buffered is still wiped on drop.
    pub(crate) fn restart_from(&mut self, other: &Sha256Core) {
        self.state = other.state;
        self.total = other.total;
        self.buf_len = other.buf_len;
        self.buf[..other.buf_len].copy_from_slice(&other.buf[..other.buf_len]);
        self.dirty = self.dirty.max(other.buf_len);
    }

    /// Finishes this hash and feeds its digest to `next` (HMAC's outer hash, RFC 2104 §2 step 6)
    /// straight from the state words, so the secret inner digest never sits in another buffer.
    /// `next` must be at a block boundary (it has absorbed only its key block).
    pub(crate) fn finalize_into(&mut self, next: &mut Sha256Core) {
        debug_assert_eq!(next.buf_len, 0);
        self.pad_and_compress();
        for (chunk, word) in next.buf[..32].chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        next.buf_len = 32;
        next.dirty = next.dirty.max(32);
        next.total = next.total.wrapping_add(32);
    }

    /// FIPS 180-4 §5.1.1: append 0x80, zeros, and the 64-bit big-endian bit length, in the block
    /// buffer itself; returns the digest. The core is spent afterwards (and wiped when dropped).
    pub(crate) fn finalize_in_place(&mut self) -> [u8; 32] {
        self.pad_and_compress();
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The padding of [`Self::finalize_in_place`] and the last compression(s).
    fn pad_and_compress(&mut self) {
        let bits = self.total.wrapping_mul(8);
        let n = self.buf_len;
        self.buf[n] = 0x80;
        self.buf[n + 1..].fill(0);
        if n >= BLOCK_LEN - 8 {
            compress(&mut self.state, &self.buf);
            self.buf.fill(0);
        }
        self.buf[BLOCK_LEN - 8..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &self.buf);
        self.dirty = BLOCK_LEN;
        self.buf_len = 0;
    }

    /// [`Self::finalize_in_place`] by value.
    pub(crate) fn finalize(mut self) -> [u8; 32] {
        self.finalize_in_place()
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
