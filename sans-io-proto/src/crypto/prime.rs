//! Probable primes: trial division by small primes, then Miller–Rabin (FIPS 186-5 §B.3.1), and
//! random prime generation with an incremental sieve (used by RSA key generation).
//!
//! Two Miller–Rabin implementations:
//! - [`is_probable_prime`] on public numbers of any size (num-bigint; variable time, which is
//!   fine for public inputs such as the DH group's `p` and `q` or test vectors);
//! - [`miller_rabin_secret`] on secret fixed-width candidates during key generation, constant
//!   time: the exponentiation is the fixed-window one, `n - 1 = 2^s·d` is split with a
//!   constant-time trailing-zero count and shifter, and the `j < s` squaring loop always runs to
//!   a public bound with masked checks (as BoringSSL's `bn_miller_rabin_iteration`). Only each
//!   round's verdict is declassified (a composite is discarded, so that verdict is public).
//!
//! The sieve in [`random_prime`] is **variable time** by nature (it marks table entries at
//! offsets computed from the candidate's residues, and skips marked offsets): timing and cache
//! traces reveal which offsets of a window were tested. That is the trade-off every sieve-based
//! generator makes (OpenSSL, the `rsa` crate); the residues themselves are computed in constant
//! time, and the sieve tables are wiped.

use num_bigint::BigUint;
use num_traits::One;
use rand_core::CryptoRngCore;
use zeroize::Zeroize;

use super::bigint::random_range;
use super::bignum::limbs::{add_assign, eq_bit, mask, rem_small, sbb, select_assign};
use super::bignum::modexp::pow;
use super::bignum::{Modulus, Uint, declassify};

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

/// Whether `n` is probably prime: trial division, then `rounds` Miller–Rabin rounds with random
/// bases. For a random odd candidate, the error after `t` rounds is far below `4^-t`
/// (FIPS 186-5 Appendix B.3 / C.1); for adversarial inputs it is at most `4^-t`.
///
/// Variable time! Inputs must be public! (Secret candidates go through [`miller_rabin_secret`].)
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
        if (n % p) == BigUint::ZERO {
            return false;
        }
    }
    miller_rabin_public(n, rounds, rng)
}

/// Miller–Rabin (FIPS 186-5 §B.3.1) on odd `n > 3`: `n - 1 = 2^s · d`, and for each random base
/// `a` in `[2, n-2]`, `a^d ≡ 1` or `a^(2^j · d) ≡ -1` for some `j < s`, else composite.
/// Variable time! Inputs must be public!
fn miller_rabin_public(n: &BigUint, rounds: usize, rng: &mut impl CryptoRngCore) -> bool {
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

/// Largest `s` (with `n - 1 = 2^s·d`) handled by [`miller_rabin_secret`]; candidates with more
/// trailing zeros in `n - 1` (probability 2^-63) are declared composite and discarded.
const MAX_TWO_ADIC: u64 = 63;

/// Trailing zeros of a non-zero word, without a branch or `tzcnt` on the secret.
fn ct_trailing_zeros(x: u64) -> u64 {
    let (mut seen, mut count) = (0u64, 0u64);
    for i in 0..64 {
        seen |= (x >> i) & 1;
        count += seen ^ 1;
    }
    count
}

/// `x >>= s` for a secret `s < 64`: a logarithmic shifter whose six stages each shift by a
/// public amount and keep the result under a mask.
fn ct_shr<const L: usize>(x: &mut Uint<L>, s: u64) {
    for k in 0..6 {
        let sh = 1usize << k;
        let mut t = Uint::<L>::ZERO;
        for i in 0..L {
            let hi = if i + 1 < L {
                x.0[i + 1] << (64 - sh)
            } else {
                0
            };
            t.0[i] = (x.0[i] >> sh) | hi;
        }
        select_assign(&mut x.0, &t.0, mask((s >> k) & 1));
    }
}

/// Miller–Rabin (FIPS 186-5 §B.3.1) on a **secret** odd candidate `w` whose top bit is set,
/// constant time in `w` (see the module docs). Bases are drawn uniformly from `[2, 2^(64L-1))`,
/// a subrange of `[2, w-2]` that needs no comparison with `w` (so rejection sampling cannot leak
/// anything about `w`).
pub(crate) fn miller_rabin_secret<const L: usize>(
    w: &Uint<L>,
    rounds: usize,
    rng: &mut impl CryptoRngCore,
) -> bool {
    let m = Modulus::new(w);
    let mut w1 = w.clone();
    w1.0[0] &= !1;
    // Public by design: such a candidate is discarded (w ≡ 1 mod 2^64).
    if declassify(w1.0[0] == 0) {
        return false;
    }
    let s = ct_trailing_zeros(w1.0[0]);
    let mut d = w1.clone();
    ct_shr(&mut d, s);
    // -1 in Montgomery form: n - (R mod n).
    let mut minus_one = Uint(*m.modulus());
    crate::crypto::bignum::limbs::sub_assign(&mut minus_one.0, &m.one);
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; 8 * L]);
    for _ in 0..rounds {
        let a = loop {
            rng.fill_bytes(&mut bytes);
            bytes[0] &= 0x7f;
            let a = Uint::<L>::from_be_bytes(&bytes).unwrap_or(Uint::ZERO);
            // Public by design: whether a random base is below 2 is independent of w.
            if declassify(a.0[1..].iter().any(|&x| x != 0) || a.0[0] >= 2) {
                break a;
            }
        };
        let base = Uint(m.to_mont(&a.0));
        let mut x = Uint(pow(&m, &base.0, &d.0, 64 * L));
        let mut ok = eq_bit(&x.0, &m.one) | eq_bit(&x.0, &minus_one.0);
        for j in 1..MAX_TWO_ADIC {
            x.0 = m.sqr(&x.0);
            let (_, j_lt_s) = sbb(j, s, 0);
            ok |= j_lt_s & eq_bit(&x.0, &minus_one.0);
        }
        // Public by design: a failed round discards the candidate.
        if !declassify(ok == 1) {
            return false;
        }
    }
    true
}

/// A random probable prime of exactly `64·L` bits with its top two bits set (so that a product
/// of two of them has exactly `128·L` bits), satisfying `accept` (e.g. `gcd(e, p-1) = 1`).
///
/// Incremental sieve: draw one random odd start, compute its residues modulo the small primes
/// once (constant time), then walk `start, start + 2, ...`, skipping any offset where a residue
/// hits zero, and run Miller–Rabin only on the survivors. A fresh start is drawn after a window of
/// offsets. Variable time! The sieve's control flow depends on the (secret) residues; see the
/// module docs.
pub(crate) fn random_prime<const L: usize>(
    rounds: usize,
    accept: impl Fn(&Uint<L>) -> bool,
    rng: &mut impl CryptoRngCore,
) -> Uint<L> {
    /// Offsets examined from one random start (even offsets only).
    const WINDOW: usize = 1 << 13;
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; 8 * L]);
    let mut composite = zeroize::Zeroizing::new(vec![false; WINDOW / 2]);
    loop {
        rng.fill_bytes(&mut bytes);
        let mut start = Uint::<L>::from_be_bytes(&bytes).unwrap_or(Uint::ZERO);
        start.0[L - 1] |= 0b11 << 62;
        start.0[0] |= 1;
        // composite[k] marks offset 2k as divisible by a small prime. For prime p and residue r of
        // start, start + o ≡ 0 (mod p) at o ≡ -r; the even such offsets step by 2p.
        composite.fill(false);
        for &p in SMALL_PRIMES.iter() {
            let p = p as usize;
            let mut r = rem_small(&start.0, p as u32) as usize;
            let mut o = (p - r) % p;
            if o % 2 == 1 {
                o += p;
            }
            while o < WINDOW {
                composite[o / 2] = true;
                o += 2 * p;
            }
            r.zeroize();
        }
        for k in 0..WINDOW / 2 {
            if composite[k] {
                continue;
            }
            let mut candidate = start.clone();
            let mut offset = Uint::<L>::ZERO;
            offset.0[0] = 2 * k as u64;
            let carry = add_assign(&mut candidate.0, &offset.0);
            // Public by design: a candidate past 2^(64L) is discarded (start + 2k overflowed).
            if declassify(carry) != 0 {
                break;
            }
            if accept(&candidate) && miller_rabin_secret(&candidate, rounds, rng) {
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
        let p = random_prime::<4>(10, |_| true, &mut rng);
        let mut bytes = [0u8; 32];
        p.write_be_bytes(&mut bytes);
        let p = BigUint::from_bytes_be(&bytes);
        assert_eq!(p.bits(), 256);
        assert!(p.bit(254));
        assert!(is_probable_prime(&p, 30, &mut rng));
    }

    fn uint<const L: usize>(x: &BigUint) -> Uint<L> {
        Uint::from_be_bytes(&x.to_bytes_be()).unwrap()
    }

    #[test]
    fn constant_time_miller_rabin_agrees_on_known_numbers() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // 2^128 - 159 is the largest prime below 2^128; the others are checked against the
        // reference implementation whatever they are.
        let primes = [
            (BigUint::one() << 128u32) - 159u32,
            (BigUint::one() << 128u32) - 173u32,
            (BigUint::one() << 127u32) + 45u32,
        ];
        for p in &primes {
            let expected = is_probable_prime(p, 30, &mut rng);
            assert_eq!(
                miller_rabin_secret::<2>(&uint(p), 20, &mut rng),
                expected,
                "{p}"
            );
        }
        assert!(miller_rabin_secret::<2>(&uint(&primes[0]), 20, &mut rng));
        // Products of two 64-bit primes and a Carmichael-like shape.
        let c = BigUint::from(18446744073709551557u64) * BigUint::from(18446744073709551533u64);
        assert!(!miller_rabin_secret::<2>(&uint(&c), 20, &mut rng));
        // n - 1 with many trailing zeros: 2^127 + 1 = 3 · 56713727820156410577229101238628035243.
        let many = (BigUint::one() << 127u32) + 1u32;
        assert!(!miller_rabin_secret::<2>(&uint(&many), 20, &mut rng));
        // n = 2^127 + k·2^40 + 1: n - 1 has at least 40 trailing zeros, exercising the masked
        // `j < s` squarings; checked against the reference.
        let mut primes_seen = 0;
        for k in 1u32..400 {
            let n = (BigUint::one() << 127u32) + (BigUint::from(k) << 40u32) + 1u32;
            let expected = is_probable_prime(&n, 30, &mut rng);
            assert_eq!(
                miller_rabin_secret::<2>(&uint(&n), 20, &mut rng),
                expected,
                "{n}"
            );
            primes_seen += usize::from(expected);
        }
        assert!(primes_seen > 0, "the loop must include primes");
        // n - 1 ≡ 0 (mod 2^64) is refused by design.
        let n = (BigUint::one() << 127u32) + (BigUint::one() << 64u32) + 1u32;
        assert!(!miller_rabin_secret::<2>(&uint(&n), 20, &mut rng));
    }
}
