//! The hardware AES back end: x86_64 AES-NI. This is the only module of the crate allowed to use
//! `unsafe`, for the `core::arch` intrinsics; every unsafe block says why it is sound.
//!
//! Each entry point checks the CPU feature once and then runs its whole loop inside one function
//! compiled with `#[target_feature(enable = "aes")]`, keeping round keys and the IGE chaining
//! blocks in registers (STYLE.md: "check the CPU feature once per buffer, not per block").
//! The entry points return `false` when the CPU lacks AES-NI (or on other architectures), and the
//! caller falls back to the portable code.

type RoundKeys = [[u8; 16]; 15];

/// Whether AES-NI is present.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("sse2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::{
        __m128i, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm_aesenc_si128, _mm_aesenclast_si128,
        _mm_aesimc_si128, _mm_loadu_si128, _mm_storeu_si128, _mm_xor_si128,
    };

    use super::RoundKeys;

    /// Loads the 15 round keys.
    #[target_feature(enable = "sse2")]
    fn load(rk: &RoundKeys) -> [__m128i; 15] {
        let mut out = [zero(); 15];
        for (o, key) in out.iter_mut().zip(rk) {
            // SAFETY: `key` is 16 readable bytes; `_mm_loadu_si128` has no alignment requirement.
            *o = unsafe { _mm_loadu_si128(key.as_ptr().cast()) };
        }
        out
    }

    #[target_feature(enable = "sse2")]
    fn zero() -> __m128i {
        core::arch::x86_64::_mm_setzero_si128()
    }

    /// The decryption round keys of the Equivalent Inverse Cipher (FIPS-197 §5.3.5):
    /// InvMixColumns applied to the middle round keys, in reverse order.
    #[target_feature(enable = "aes,sse2")]
    fn dec_keys(ek: &[__m128i; 15]) -> [__m128i; 15] {
        let mut out = *ek;
        out[0] = ek[14];
        out[14] = ek[0];
        for i in 1..14 {
            out[i] = _mm_aesimc_si128(ek[14 - i]);
        }
        out
    }

    #[target_feature(enable = "aes,sse2")]
    fn enc(k: &[__m128i; 15], b: __m128i) -> __m128i {
        let mut s = _mm_xor_si128(b, k[0]);
        for key in &k[1..14] {
            s = _mm_aesenc_si128(s, *key);
        }
        _mm_aesenclast_si128(s, k[14])
    }

    #[target_feature(enable = "aes,sse2")]
    fn dec(k: &[__m128i; 15], b: __m128i) -> __m128i {
        let mut s = _mm_xor_si128(b, k[0]);
        for key in &k[1..14] {
            s = _mm_aesdec_si128(s, *key);
        }
        _mm_aesdeclast_si128(s, k[14])
    }

    /// # Safety
    /// The CPU must support AES-NI and SSE2.
    #[target_feature(enable = "aes,sse2")]
    pub(super) unsafe fn encrypt_block(rk: &RoundKeys, block: &mut [u8; 16]) {
        // SAFETY: the caller checked the features; `block` is 16 readable and writable bytes and
        // the unaligned load/store intrinsics need no alignment.
        unsafe {
            let k = load(rk);
            let b = _mm_loadu_si128(block.as_ptr().cast());
            _mm_storeu_si128(block.as_mut_ptr().cast(), enc(&k, b));
        }
    }

    /// # Safety
    /// The CPU must support AES-NI and SSE2.
    #[target_feature(enable = "aes,sse2")]
    pub(super) unsafe fn decrypt_block(rk: &RoundKeys, block: &mut [u8; 16]) {
        // SAFETY: as in `encrypt_block`.
        unsafe {
            let k = dec_keys(&load(rk));
            let b = _mm_loadu_si128(block.as_ptr().cast());
            _mm_storeu_si128(block.as_mut_ptr().cast(), dec(&k, b));
        }
    }

    /// IGE encryption: `Cᵢ = E(Pᵢ ⊕ Cᵢ₋₁) ⊕ Pᵢ₋₁` with `C₀ = iv[0..16]`, `P₀ = iv[16..32]`.
    ///
    /// # Safety
    /// The CPU must support AES-NI and SSE2; `data.len()` must be a multiple of 16.
    #[target_feature(enable = "aes,sse2")]
    pub(super) unsafe fn ige_encrypt(rk: &RoundKeys, iv: &[u8; 32], data: &mut [u8]) {
        // SAFETY: features checked by the caller; every pointer below is a 16-byte chunk of
        // `iv` or `data` (chunks_exact_mut), read and written with unaligned intrinsics.
        unsafe {
            let k = load(rk);
            let mut c_prev = _mm_loadu_si128(iv.as_ptr().cast());
            let mut p_prev = _mm_loadu_si128(iv[16..].as_ptr().cast());
            for chunk in data.chunks_exact_mut(16) {
                let p = _mm_loadu_si128(chunk.as_ptr().cast());
                let c = _mm_xor_si128(enc(&k, _mm_xor_si128(p, c_prev)), p_prev);
                _mm_storeu_si128(chunk.as_mut_ptr().cast(), c);
                c_prev = c;
                p_prev = p;
            }
        }
    }

    /// IGE decryption: `Pᵢ = D(Cᵢ ⊕ Pᵢ₋₁) ⊕ Cᵢ₋₁`.
    ///
    /// # Safety
    /// As for [`ige_encrypt`].
    #[target_feature(enable = "aes,sse2")]
    pub(super) unsafe fn ige_decrypt(rk: &RoundKeys, iv: &[u8; 32], data: &mut [u8]) {
        // SAFETY: as in `ige_encrypt`.
        unsafe {
            let k = dec_keys(&load(rk));
            let mut c_prev = _mm_loadu_si128(iv.as_ptr().cast());
            let mut p_prev = _mm_loadu_si128(iv[16..].as_ptr().cast());
            for chunk in data.chunks_exact_mut(16) {
                let c = _mm_loadu_si128(chunk.as_ptr().cast());
                let p = _mm_xor_si128(dec(&k, _mm_xor_si128(c, p_prev)), c_prev);
                _mm_storeu_si128(chunk.as_mut_ptr().cast(), p);
                c_prev = c;
                p_prev = p;
            }
        }
    }
}

/// Encrypts one block with AES-NI; `false` if unavailable (nothing was done).
pub(super) fn encrypt_block(rk: &RoundKeys, block: &mut [u8; 16]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: `available()` confirmed AES-NI and SSE2 on this CPU.
        unsafe { x86::encrypt_block(rk, block) };
        return true;
    }
    let _ = (rk, block);
    false
}

/// Decrypts one block with AES-NI; `false` if unavailable.
pub(super) fn decrypt_block(rk: &RoundKeys, block: &mut [u8; 16]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() {
        // SAFETY: `available()` confirmed AES-NI and SSE2 on this CPU.
        unsafe { x86::decrypt_block(rk, block) };
        return true;
    }
    let _ = (rk, block);
    false
}

/// IGE-encrypts `data` (a multiple of 16 bytes, checked by the caller) with AES-NI.
pub(super) fn ige_encrypt(rk: &RoundKeys, iv: &[u8; 32], data: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() && data.len().is_multiple_of(16) {
        // SAFETY: features confirmed; the length is a whole number of blocks.
        unsafe { x86::ige_encrypt(rk, iv, data) };
        return true;
    }
    let _ = (rk, iv, data);
    false
}

/// IGE-decrypts `data` (a multiple of 16 bytes, checked by the caller) with AES-NI.
pub(super) fn ige_decrypt(rk: &RoundKeys, iv: &[u8; 32], data: &mut [u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if available() && data.len().is_multiple_of(16) {
        // SAFETY: features confirmed; the length is a whole number of blocks.
        unsafe { x86::ige_decrypt(rk, iv, data) };
        return true;
    }
    let _ = (rk, iv, data);
    false
}
