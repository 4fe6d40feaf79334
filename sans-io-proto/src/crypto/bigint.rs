//! Small helpers around `num_bigint::BigUint` for **public** values only (num-bigint neither wipes
//! its temporaries nor runs in constant time; every secret goes through [`super::bignum`]):
//! random integers for Miller–Rabin bases on public candidates, and the Jacobi symbol for DH
//! peer-value checks.
//!
//! Variable time! Inputs must be public!

use num_bigint::BigUint;
use num_traits::{One, Zero};
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

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
    fn jacobi_on_small_numbers() {
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
}
