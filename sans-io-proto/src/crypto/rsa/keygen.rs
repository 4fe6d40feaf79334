//! RSA-2048 key generation (FIPS 186-5 §A.1.3 / B.3.3 in spirit): two random 1024-bit probable
//! primes from an incremental sieve plus a constant-time Miller–Rabin, `e = 65537`.

use rand_core::CryptoRngCore;

use super::{P_LIMBS, RsaPrivateKey};
use crate::crypto::bignum::limbs::{lt_bit, mask, rem_small, select_assign, sub_assign};
use crate::crypto::bignum::{Uint, declassify};
use crate::crypto::prime::random_prime;

/// Miller–Rabin rounds per prime. FIPS 186-5 Table B.1 asks for 5 rounds for 1024-bit primes at
/// an error probability of 2^-100 (random candidates); we use 7 for margin. A composite survives
/// the sieve-and-test pipeline with probability far below 2^-100.
pub(crate) const MILLER_RABIN_ROUNDS: usize = 7;

/// FIPS 186-5 §B.3.3 step 5.4: `|p - q| > 2^(nlen/2 - 100)`, i.e. some bit at position 924 or
/// above of `|p - q|` is set.
const MIN_PRIME_DISTANCE_BIT: usize = 1024 - 100;

/// Whether `gcd(e, p - 1) = 1`, i.e. `p mod e != 1` (e is prime), in constant time; the verdict
/// is declassified because a rejected candidate is discarded (public by design).
fn coprime_to_e(p: &Uint<P_LIMBS>) -> bool {
    let r = rem_small(&p.0, super::PUBLIC_EXPONENT);
    declassify(r != 1)
}

/// Whether `|p - q| > 2^924`, in constant time (verdict declassified: a rejected pair is
/// discarded).
fn far_apart(p: &Uint<P_LIMBS>, q: &Uint<P_LIMBS>) -> bool {
    let mut d = p.clone();
    let mut e = q.clone();
    let p_lt_q = lt_bit(&p.0, &q.0);
    // d = max - min.
    let mut lo = p.clone();
    select_assign(&mut lo.0, &q.0, mask(p_lt_q ^ 1));
    select_assign(&mut d.0, &q.0, mask(p_lt_q));
    sub_assign(&mut d.0, &lo.0);
    let (limb, shift) = (MIN_PRIME_DISTANCE_BIT / 64, MIN_PRIME_DISTANCE_BIT % 64);
    let mut high = d.0[limb] >> shift;
    for &x in &d.0[limb + 1..] {
        high |= x;
    }
    e.0[0] = high;
    declassify(e.0[0] != 0)
}

pub(super) fn generate(rng: &mut impl CryptoRngCore) -> RsaPrivateKey {
    loop {
        let p = random_prime::<P_LIMBS>(MILLER_RABIN_ROUNDS, coprime_to_e, rng);
        let q = random_prime::<P_LIMBS>(MILLER_RABIN_ROUNDS, coprime_to_e, rng);
        if !far_apart(&p, &q) {
            continue;
        }
        if let Ok(key) = RsaPrivateKey::from_primes(p, q) {
            return key;
        }
    }
}
