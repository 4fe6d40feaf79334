//! Modular exponentiation with a fixed window (HAC 14.82 "k-ary" method with `k = WINDOW`),
//! arranged so that neither the exponent nor the base changes the sequence of operations or the
//! memory addresses touched:
//!
//! - the exponent is read in `WINDOW`-bit digits from the top, over a **public** bit length
//!   (the width of the secret, e.g. 1024 bits for `dP`, never its actual length);
//! - every digit costs exactly `WINDOW` squarings and one multiplication, also when the digit is
//!   zero (it multiplies by the Montgomery form of 1);
//! - the table entry `base^digit` is fetched by [`lookup`], which reads **every** entry and keeps
//!   the wanted one with a mask (BearSSL `br_i31_modpow_opt`, OpenSSL's `BN_mod_exp_mont_consttime`
//!   uses the same idea with a scattered table), so the cache lines touched do not depend on the
//!   digit.
//!
//! Window size: 4 bits (16 entries). For a 1024-bit exponent, 5 bits would save ~50
//! multiplications but double the cost of each full-table scan; both were measured and 4 was
//! faster for the 256-bit DH exponents and within noise for 1024-bit ones.

use zeroize::Zeroize;

use super::limbs::is_zero_bit;
use super::montgomery::Modulus;

/// Bits per exponent digit.
pub(crate) const WINDOW: usize = 4;
const TABLE: usize = 1 << WINDOW;

/// `out = table[index]`, reading every entry (constant-time table lookup).
#[inline(always)]
fn lookup<const L: usize>(table: &[[u64; L]; TABLE], index: u64, out: &mut [u64; L]) {
    *out = [0; L];
    for (i, entry) in table.iter().enumerate() {
        let m = 0u64.wrapping_sub(is_zero_bit(i as u64 ^ index));
        let m = core::hint::black_box(m);
        for (o, &e) in out.iter_mut().zip(entry) {
            *o |= e & m;
        }
    }
}

/// The `WINDOW`-bit digit of `exp` starting at bit `pos` (public position; bits beyond the
/// slice read as zero).
#[inline(always)]
fn digit(exp: &[u64], pos: usize) -> u64 {
    let (limb, shift) = (pos / 64, pos % 64);
    let lo = exp.get(limb).copied().unwrap_or(0) >> shift;
    let hi = if shift + WINDOW > 64 {
        exp.get(limb + 1).copied().unwrap_or(0) << (64 - shift)
    } else {
        0
    };
    (lo | hi) & (TABLE as u64 - 1)
}

/// `base^exp` in Montgomery form, for `base` in Montgomery form (`< n`) and `exp < 2^exp_bits`
/// (`exp_bits` is a public width: digits are read up to the next multiple of [`WINDOW`], so the
/// caller's `exp` must have no bits above it). Constant time in `base`, `exp` and the modulus.
pub(crate) fn pow<const L: usize>(
    m: &Modulus<L>,
    base: &[u64; L],
    exp: &[u64],
    exp_bits: usize,
) -> [u64; L] {
    // table[i] = base^i (Montgomery form); even entries by squaring, odd ones by one multiply.
    let mut table = [[0u64; L]; TABLE];
    table[0] = m.one;
    table[1] = *base;
    for i in 2..TABLE {
        table[i] = if i % 2 == 0 {
            m.sqr(&table[i / 2])
        } else {
            m.mul(&table[i - 1], base)
        };
    }
    let digits = exp_bits.div_ceil(WINDOW).max(1);
    let mut acc = [0u64; L];
    let mut t = [0u64; L];
    lookup(&table, digit(exp, (digits - 1) * WINDOW), &mut acc);
    for d in (0..digits - 1).rev() {
        for _ in 0..WINDOW {
            acc = m.sqr(&acc);
        }
        lookup(&table, digit(exp, d * WINDOW), &mut t);
        acc = m.mul(&acc, &t);
    }
    table.zeroize();
    t.zeroize();
    acc
}

/// `base^e` in Montgomery form for a **public** exponent `e` (e.g. the RSA public exponent
/// 65537): left-to-right square-and-multiply whose branches follow the bits of `e` only.
/// Constant time in `base` and the modulus; the exponent is public by design.
pub(crate) fn pow_public<const L: usize>(m: &Modulus<L>, base: &[u64; L], e: u64) -> [u64; L] {
    if e == 0 {
        return m.one;
    }
    let mut acc = *base;
    for i in (0..63 - e.leading_zeros() as usize).rev() {
        acc = m.sqr(&acc);
        if (e >> i) & 1 == 1 {
            acc = m.mul(&acc, base);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::bignum::limbs::Uint;

    fn pow_u128(b: u128, mut e: u128, n: u128) -> u128 {
        // Square-and-multiply on numbers below 2^64 (products fit in u128).
        let (mut acc, mut b) = (1u128 % n, b % n);
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * b % n;
            }
            b = b * b % n;
            e >>= 1;
        }
        acc
    }

    #[test]
    fn matches_square_and_multiply_on_one_limb() {
        let n = u64::MAX - 58;
        let m = Modulus::<1>::new(&Uint([n]));
        for (b, e) in [
            (2u64, 0u64),
            (2, 1),
            (3, 65537),
            (n - 1, 2),
            (12345, u64::MAX),
        ] {
            let want = pow_u128(u128::from(b), u128::from(e), u128::from(n));
            let got = m.out_of_mont(&pow(&m, &m.to_mont(&[b]), &[e], 64));
            assert_eq!(u128::from(got[0]), want, "{b}^{e}");
            let got = m.out_of_mont(&pow_public(&m, &m.to_mont(&[b]), e));
            assert_eq!(u128::from(got[0]), want, "{b}^{e} (public)");
        }
        // A width that is not a multiple of the window, and one beyond the slice, both work.
        let got = m.out_of_mont(&pow(&m, &m.to_mont(&[5]), &[0b011], 3));
        assert_eq!(got[0], 125);
        let got = m.out_of_mont(&pow(&m, &m.to_mont(&[5]), &[3], 130));
        assert_eq!(got[0], 125);
    }
}
