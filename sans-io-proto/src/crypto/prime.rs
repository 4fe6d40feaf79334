//! Probable primes: trial division by small primes, then Miller–Rabin (FIPS 186-5 §B.3.1), and
//! random prime generation with an incremental sieve (used by RSA key generation).
//!
//! Variable time: these routines run on candidates that are secret during key generation, so
//! timing reveals how many candidates were rejected, as in every sieve-based generator (OpenSSL,
//! the `rsa` crate); it does not reveal the prime that is finally kept.

use num_bigint::BigUint;
use num_traits::{One, ToPrimitive};
use rand_core::CryptoRngCore;

use super::bigint::{random_bits, random_range};

/// Odd primes below this bound are used for trial division and sieving.
const SIEVE_LIMIT: usize = 1 << 14;
/// How many odd primes lie below [`SIEVE_LIMIT`].
const SMALL_PRIME_COUNT: usize = count_odd_primes();

const fn is_prime_small(n: usize) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

const fn count_odd_primes() -> usize {
    let mut n = 3;
    let mut count = 0;
    while n < SIEVE_LIMIT {
        if is_prime_small(n) {
            count += 1;
        }
        n += 2;
    }
    count
}

/// The odd primes below [`SIEVE_LIMIT`], computed at compile time.
static SMALL_PRIMES: [u32; SMALL_PRIME_COUNT] = {
    let mut out = [0u32; SMALL_PRIME_COUNT];
    let mut n = 3;
    let mut i = 0;
    while n < SIEVE_LIMIT {
        if is_prime_small(n) {
            out[i] = n as u32;
            i += 1;
        }
        n += 2;
    }
    out
};

fn small_residue(n: &BigUint, p: u32) -> u32 {
    (n % p).to_u32().unwrap_or(0)
}

/// Whether `n` is probably prime: trial division, then `rounds` Miller–Rabin rounds with random
/// bases. For a random odd candidate, the error after `t` rounds is far below `4^-t`
/// (FIPS 186-5 Appendix B.3 / C.1); for adversarial inputs it is at most `4^-t`.
pub fn is_probable_prime(n: &BigUint, rounds: usize, rng: &mut impl CryptoRngCore) -> bool {
    let two = BigUint::from(2u32);
    if n < &two {
        return false;
    }
    if n == &two {
        return true;
    }
    if !n.bit(0) {
        return false;
    }
    for &p in SMALL_PRIMES.iter() {
        if n == &BigUint::from(p) {
            return true;
        }
        if small_residue(n, p) == 0 {
            return false;
        }
    }
    miller_rabin(n, rounds, rng)
}

/// Miller–Rabin (FIPS 186-5 §B.3.1) on odd `n > 3`: `n - 1 = 2^s · d`, and for each random base
/// `a` in `[2, n-2]`, `a^d ≡ 1` or `a^(2^j · d) ≡ -1` for some `j < s`, else composite.
pub(crate) fn miller_rabin(n: &BigUint, rounds: usize, rng: &mut impl CryptoRngCore) -> bool {
    let one = BigUint::one();
    let n_minus_1 = n - &one;
    let s = n_minus_1.trailing_zeros().unwrap_or(0);
    let d = &n_minus_1 >> s;
    let low = BigUint::from(2u32);
    let high = n - &one; // exclusive: bases up to n - 2
    for _ in 0..rounds {
        let Some(a) = random_range(&low, &high, rng) else {
            return false;
        };
        let mut x = a.modpow(&d, n);
        if x.is_one() || x == n_minus_1 {
            continue;
        }
        let mut witness = true;
        for _ in 1..s {
            x = x.modpow(&low, n);
            if x == n_minus_1 {
                witness = false;
                break;
            }
            if x.is_one() {
                break;
            }
        }
        if witness {
            return false;
        }
    }
    true
}

/// A random probable prime of exactly `bits` bits with its top two bits set (so that a product
/// of two of them has exactly `2·bits` bits), satisfying `accept` (e.g. `gcd(e, p-1) = 1`).
///
/// Incremental sieve: draw one random odd start, compute its residues modulo the small primes
/// once, then walk `start, start + 2, ...`, skipping any offset where a residue hits zero, and run
/// Miller–Rabin only on the survivors. A fresh start is drawn after a window of offsets.
pub(crate) fn random_prime(
    bits: usize,
    rounds: usize,
    accept: impl Fn(&BigUint) -> bool,
    rng: &mut impl CryptoRngCore,
) -> BigUint {
    /// Offsets examined from one random start (even offsets only).
    const WINDOW: usize = 1 << 13;
    loop {
        let mut start = random_bits(bits, rng);
        start.set_bit(bits as u64 - 1, true);
        start.set_bit(bits as u64 - 2, true);
        start.set_bit(0, true);
        // composite[k] marks offset 2k as divisible by a small prime. For prime p and residue r of
        // start, start + o ≡ 0 (mod p) at o ≡ -r; the even such offsets step by 2p.
        let mut composite = vec![false; WINDOW / 2];
        for &p in SMALL_PRIMES.iter() {
            let p = p as usize;
            let r = small_residue(&start, p as u32) as usize;
            let mut o = (p - r) % p;
            if o % 2 == 1 {
                o += p;
            }
            while o < WINDOW {
                composite[o / 2] = true;
                o += 2 * p;
            }
        }
        for (k, _) in composite.iter().enumerate().filter(|(_, c)| !**c) {
            let candidate = &start + (2 * k) as u64;
            if candidate.bits() as usize == bits
                && accept(&candidate)
                && miller_rabin(&candidate, rounds, rng)
            {
                return candidate;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    #[test]
    fn small_prime_table() {
        assert_eq!(SMALL_PRIMES[0], 3);
        assert_eq!(SMALL_PRIMES[SMALL_PRIME_COUNT - 1], 16381);
        assert_eq!(SMALL_PRIME_COUNT, 1899);
    }

    #[test]
    fn classifies_known_numbers() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for p in [2u64, 3, 5, 16381, 16411, 1_000_000_007, (1 << 61) - 1] {
            assert!(is_probable_prime(&BigUint::from(p), 20, &mut rng), "{p}");
        }
        // Carmichael numbers and a strong pseudoprime to base 2.
        for c in [0u64, 1, 4, 561, 1105, 1729, 2047, 3215031751, 16411 * 16417] {
            assert!(!is_probable_prime(&BigUint::from(c), 20, &mut rng), "{c}");
        }
    }

    #[test]
    fn random_primes_have_the_requested_shape() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let p = random_prime(256, 10, |_| true, &mut rng);
        assert_eq!(p.bits(), 256);
        assert!(p.bit(254));
        assert!(is_probable_prime(&p, 30, &mut rng));
    }
}
