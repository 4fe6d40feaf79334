//! Small helpers around `num_bigint::BigUint`: fixed-width big-endian encodings (RFC 8017 §4.1
//! I2OSP / OS2IP), random integers from a caller's RNG, modular inverse, and a best-effort wipe.
//!
//! num-bigint offers no zeroization. [`wipe`] overwrites a value's own allocation with zeros, but
//! temporaries inside num-bigint's arithmetic (products, remainders) are freed without being wiped;
//! this is a known limitation of building on num-bigint, documented rather than hidden.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{One, Zero};
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

/// I2OSP (RFC 8017 §4.1): `x` as exactly `len` big-endian bytes, or `None` if it does not fit.
pub(crate) fn to_fixed_be(x: &BigUint, len: usize) -> Option<Vec<u8>> {
    let bytes = x.to_bytes_be();
    let bytes = if x.is_zero() { Vec::new() } else { bytes };
    if bytes.len() > len {
        return None;
    }
    let mut out = vec![0u8; len - bytes.len()];
    out.extend_from_slice(&bytes);
    Some(out)
}

/// Overwrites the value's limbs with zeros in place (best effort; see the module docs).
pub(crate) fn wipe(x: &mut BigUint) {
    let words = x.bits().div_ceil(32) as usize;
    // `assign_from_slice` clears the limb vector (keeping its allocation) and refills it with the
    // zeros before normalising, so the old limbs are overwritten in the same memory.
    x.assign_from_slice(&vec![0u32; words.max(1)]);
    x.set_zero();
}

/// A uniformly random integer with exactly `bits` bits or fewer: `bits` random bits.
pub(crate) fn random_bits(bits: usize, rng: &mut impl CryptoRngCore) -> BigUint {
    let mut bytes = vec![0u8; bits.div_ceil(8)];
    rng.fill_bytes(&mut bytes);
    let excess = bytes.len() * 8 - bits;
    if let Some(first) = bytes.first_mut() {
        *first &= 0xff >> excess;
    }
    let x = BigUint::from_bytes_be(&bytes);
    bytes.zeroize();
    x
}

/// A uniformly random integer in `[low, high)` by rejection sampling. `None` if the range is empty.
pub(crate) fn random_range(
    low: &BigUint,
    high: &BigUint,
    rng: &mut impl CryptoRngCore,
) -> Option<BigUint> {
    if high <= low {
        return None;
    }
    let span = high - low;
    let bits = span.bits() as usize;
    loop {
        let x = random_bits(bits, rng);
        if x < span {
            return Some(x + low);
        }
    }
}

/// `a⁻¹ mod m` by the extended Euclidean algorithm, or `None` if `gcd(a, m) != 1`.
pub(crate) fn mod_inverse(a: &BigUint, m: &BigUint) -> Option<BigUint> {
    if m.is_zero() {
        return None;
    }
    let a = BigInt::from_biguint(Sign::Plus, a % m);
    let m_int = BigInt::from_biguint(Sign::Plus, m.clone());
    let e = a.extended_gcd(&m_int);
    if !e.gcd.is_one() {
        return None;
    }
    let x = e.x.mod_floor(&m_int);
    x.to_biguint()
}

/// The Jacobi symbol `(a / n)` for odd `n > 0` (variable time: only for public values).
pub(crate) fn jacobi(a: &BigUint, n: &BigUint) -> i8 {
    let mut a = a % n;
    let mut n = n.clone();
    let mut t = 1i8;
    while !a.is_zero() {
        let zeros = a.trailing_zeros().unwrap_or(0);
        if zeros > 0 {
            a >>= zeros;
            // (2/n) = -1 iff n ≡ 3, 5 (mod 8); it applies once per factor 2.
            let n_mod_8 = (&n % 8u32).to_u32_digits().first().copied().unwrap_or(0);
            if zeros % 2 == 1 && (n_mod_8 == 3 || n_mod_8 == 5) {
                t = -t;
            }
        }
        // Quadratic reciprocity.
        core::mem::swap(&mut a, &mut n);
        let a3 = (&a % 4u32).to_u32_digits().first().copied().unwrap_or(0) == 3;
        let n3 = (&n % 4u32).to_u32_digits().first().copied().unwrap_or(0) == 3;
        if a3 && n3 {
            t = -t;
        }
        a %= &n;
    }
    if n.is_one() { t } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_width_encoding() {
        assert_eq!(
            to_fixed_be(&BigUint::from(0x0102u32), 4),
            Some(vec![0, 0, 1, 2])
        );
        assert_eq!(to_fixed_be(&BigUint::zero(), 2), Some(vec![0, 0]));
        assert_eq!(to_fixed_be(&BigUint::from(0x010203u32), 2), None);
    }

    #[test]
    fn inverse_and_jacobi_on_small_numbers() {
        assert_eq!(
            mod_inverse(&BigUint::from(3u32), &BigUint::from(11u32)),
            Some(BigUint::from(4u32))
        );
        assert_eq!(
            mod_inverse(&BigUint::from(6u32), &BigUint::from(9u32)),
            None
        );
        // Jacobi against Euler's criterion for the prime 23.
        for a in 1u32..23 {
            let euler = BigUint::from(a).modpow(&BigUint::from(11u32), &BigUint::from(23u32));
            let expected = if euler.is_one() { 1 } else { -1 };
            assert_eq!(
                jacobi(&BigUint::from(a), &BigUint::from(23u32)),
                expected,
                "a = {a}"
            );
        }
        assert_eq!(jacobi(&BigUint::from(5u32), &BigUint::from(15u32)), 0);
    }

    #[test]
    fn wipe_leaves_zero() {
        let mut x = BigUint::from(u128::MAX);
        wipe(&mut x);
        assert!(x.is_zero());
    }
}
