//! RSA-2048 key generation (FIPS 186-5 §A.1.3 / B.3.3 in spirit): two random 1024-bit probable
//! primes from an incremental sieve plus Miller–Rabin, `e = 65537`.

use num_bigint::BigUint;
use num_traits::Zero;
use rand_core::CryptoRngCore;

use super::{MODULUS_BITS, PUBLIC_EXPONENT, RsaPrivateKey};
use crate::crypto::prime::random_prime;

/// Miller–Rabin rounds per prime. FIPS 186-5 Table B.1 asks for 5 rounds for 1024-bit primes at
/// an error probability of 2^-100 (random candidates); we use 7 for margin. A composite survives
/// the sieve-and-test pipeline with probability far below 2^-100.
pub(crate) const MILLER_RABIN_ROUNDS: usize = 7;

/// FIPS 186-5 §B.3.3 step 5.4: `|p - q| > 2^(nlen/2 - 100)`.
const MIN_PRIME_DISTANCE_BITS: u64 = (MODULUS_BITS / 2 - 100) as u64;

pub(super) fn generate(rng: &mut impl CryptoRngCore) -> RsaPrivateKey {
    let e = BigUint::from(PUBLIC_EXPONENT);
    // e is prime, so gcd(e, p - 1) = 1 exactly when p mod e != 1.
    let coprime = |p: &BigUint| !((p - 1u32) % &e).is_zero();
    loop {
        let p = random_prime(MODULUS_BITS / 2, MILLER_RABIN_ROUNDS, coprime, rng);
        let q = random_prime(MODULUS_BITS / 2, MILLER_RABIN_ROUNDS, coprime, rng);
        let distance = if p > q { &p - &q } else { &q - &p };
        if distance.bits() <= MIN_PRIME_DISTANCE_BITS {
            continue;
        }
        // from_primes fails only in the astronomically rare case d <= 2^1024; then draw again.
        if let Ok(key) = RsaPrivateKey::from_primes(p, q) {
            return key;
        }
    }
}
