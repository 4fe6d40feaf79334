//! Entry points for the constant-time check (`ctgrind/examples/harness.rs`, run by `scripts/ctgrind.sh`
//! under valgrind), compiled only with the `ctgrind` feature: thin wrappers that expose the
//! crate-private fixed-width arithmetic on plain limb arrays, so the harness can mark its inputs
//! undefined and call each operation directly. The public APIs (RSA, DH, AES, IGE, HMAC, `ct`)
//! are called by the harness as any user would.

use rand_core::CryptoRngCore;

use super::bignum::inverse::{inv_mod_prime, inv_public_exponent};
use super::bignum::limbs::{
    cond_sub, eq_bit, lt_bit, mask, mul_wide, rem_small, select_assign, sub_mod,
};
use super::bignum::modexp::{pow, pow_public};
use super::bignum::{Modulus, Uint};
use super::prime::miller_rabin_secret;

/// Montgomery setup, conversions, multiplication, squaring and double-width reduction modulo a
/// (secret) odd 1024-bit `n` with its top bit set. Returns `out_of_mont(sqr(mul(a, b)))` and
/// `wide mod n`.
pub fn montgomery_1024(
    n: &[u64; 16],
    a: &[u64; 16],
    b: &[u64; 16],
    wide: &[u64; 32],
) -> ([u64; 16], [u64; 16]) {
    let m = Modulus::new(&Uint(*n));
    let am = m.to_mont(a);
    let bm = m.to_mont(b);
    let x = m.sqr(&m.mul(&am, &bm));
    (m.out_of_mont(&x), m.reduce_wide(wide))
}

/// The same at 2048 bits.
pub fn montgomery_2048(n: &[u64; 32], a: &[u64; 32], b: &[u64; 32]) -> [u64; 32] {
    let m = Modulus::new(&Uint(*n));
    let x = m.sqr(&m.mul(&m.to_mont(a), &m.to_mont(b)));
    m.out_of_mont(&x)
}

/// `base^exp mod n` by the fixed-window exponentiation (1024-bit modulus and exponent), and
/// `base^65537` by the public-exponent ladder.
pub fn modexp_1024(n: &[u64; 16], base: &[u64; 16], exp: &[u64; 16]) -> ([u64; 16], [u64; 16]) {
    let m = Modulus::new(&Uint(*n));
    let b = m.to_mont(base);
    (
        m.out_of_mont(&pow(&m, &b, exp, 1024)),
        m.out_of_mont(&pow_public(&m, &b, 65537)),
    )
}

/// Limb primitives: compare, equality, masked select, conditional subtraction, modular
/// subtraction, schoolbook product, small remainder. Returns a digest of all results.
pub fn limb_primitives(a: &[u64; 16], b: &[u64; 16], n: &[u64; 16], choice: u64) -> [u64; 16] {
    let mut out = *a;
    let lt = lt_bit(a, b);
    let eq = eq_bit(a, b);
    select_assign(&mut out, b, mask(choice & 1));
    cond_sub(&mut out, lt, n);
    let mut a_red = *a;
    cond_sub(&mut a_red, 0, n);
    let mut b_red = *b;
    cond_sub(&mut b_red, 0, n);
    let mut d = a_red;
    sub_mod(&mut d, &b_red, n);
    let mut wide = [0u64; 32];
    mul_wide(a, b, &mut wide);
    out[0] ^= lt ^ (eq << 1) ^ u64::from(rem_small(a, 65537)) ^ d[0] ^ wide[31];
    out
}

/// `a⁻¹ mod p` by Fermat (secret prime `p`, top bit set), and `65537⁻¹ mod (p - 1)`.
pub fn inversions_1024(p: &[u64; 16], a: &[u64; 16]) -> ([u64; 16], Option<[u64; 16]>) {
    let m = Modulus::new(&Uint(*p));
    let inv = m.out_of_mont(&inv_mod_prime(&m, &m.to_mont(a)));
    let mut phi = Uint(*p);
    phi.0[0] &= !1;
    let d = inv_public_exponent::<16, 65537>(&phi).map(|d| d.0);
    (inv, d)
}

/// The constant-time Miller–Rabin on a secret 1024-bit odd candidate with its top bit set.
pub fn miller_rabin_1024(w: &[u64; 16], rounds: usize, rng: &mut impl CryptoRngCore) -> bool {
    miller_rabin_secret(&Uint(*w), rounds, rng)
}
