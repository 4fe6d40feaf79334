//! The 2048-bit MODP group (RFC 3526 §3, "group 14"): a safe prime `p = 2q + 1` with generator
//! `g = 2`, and the checker that proves those claims instead of trusting the constant.

use std::sync::OnceLock;

use num_bigint::BigUint;
use num_traits::One;
use rand_core::CryptoRngCore;

use super::DhError;
use crate::crypto::bignum::{Modulus, Uint};
use crate::crypto::prime::is_probable_prime;

/// Limbs of a group element.
pub(crate) const LIMBS: usize = 32;

/// `p = 2^2048 - 2^1984 - 1 + 2^64 · ([2^1918 π] + 124476)`, as printed in RFC 3526 §3.
const P_HEX: &[u8] = b"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74\
020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437\
4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05\
98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB\
9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718\
3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

/// The generator.
pub const G: u32 = 2;

/// The group's values, parsed once.
pub(crate) struct Group {
    /// `p` as a big integer (public; for the group check and the Jacobi symbol).
    pub(crate) p: BigUint,
    pub(crate) q: BigUint,
    pub(crate) g: BigUint,
    /// `p` with its Montgomery constants.
    pub(crate) modulus: Modulus<LIMBS>,
    /// `g = 2` in Montgomery form.
    pub(crate) g_mont: [u64; LIMBS],
    /// `p - 1`.
    pub(crate) p_minus_1: [u64; LIMBS],
    /// Smallest acceptable public value, `2^(2048-64)` (the MTProto 2.0 rule).
    pub(crate) min_public: [u64; LIMBS],
    /// Largest acceptable public value, `p - 2^(2048-64)`.
    pub(crate) max_public: [u64; LIMBS],
}

fn limbs(x: &BigUint) -> [u64; LIMBS] {
    let mut out = [0u64; LIMBS];
    for (o, d) in out.iter_mut().zip(x.iter_u64_digits()) {
        *o = d;
    }
    out
}

/// The group.
pub(crate) fn group() -> &'static Group {
    static GROUP: OnceLock<Group> = OnceLock::new();
    GROUP.get_or_init(|| {
        // The constant above is 512 valid hex digits; parsing cannot fail.
        let p = BigUint::parse_bytes(P_HEX, 16).unwrap_or_default();
        let q = (&p - 1u32) >> 1;
        let bound = BigUint::one() << (2048 - 64);
        let modulus = Modulus::new(&Uint(limbs(&p)));
        let g_mont = modulus.to_mont(&limbs(&BigUint::from(G)));
        Group {
            modulus,
            g_mont,
            p_minus_1: limbs(&(&p - 1u32)),
            min_public: limbs(&bound),
            max_public: limbs(&(&p - &bound)),
            q,
            g: BigUint::from(G),
            p,
        }
    })
}

/// Miller–Rabin rounds for the group check (error below 2^-128 even for adversarial numbers).
const CHECK_ROUNDS: usize = 64;

/// Checks the embedded group: `p` has 2048 bits, `p` and `q = (p-1)/2` are probable primes (so `p`
/// is a safe prime), and `g` generates the subgroup of order `q`: `g^q ≡ 1 (mod p)`. For `g = 2`
/// that is the quadratic-residue rule `p mod 8 = 7` of MTProto's checks, also verified.
pub fn check_group(rng: &mut impl CryptoRngCore) -> Result<(), DhError> {
    let grp = group();
    if grp.p.bits() != 2048 {
        return Err(DhError::BadGroup("p is not 2048 bits"));
    }
    if !is_probable_prime(&grp.p, CHECK_ROUNDS, rng) {
        return Err(DhError::BadGroup("p is not prime"));
    }
    if !is_probable_prime(&grp.q, CHECK_ROUNDS, rng) {
        return Err(DhError::BadGroup("(p-1)/2 is not prime"));
    }
    if (&grp.p % 8u32) != BigUint::from(7u32) {
        return Err(DhError::BadGroup(
            "2 is not a quadratic residue (p mod 8 != 7)",
        ));
    }
    if !grp.g.modpow(&grp.q, &grp.p).is_one() {
        return Err(DhError::BadGroup(
            "g does not generate the order-q subgroup",
        ));
    }
    // The fixed-width copies agree with the parsed constant.
    let mut bytes = [0u8; 256];
    Uint(*grp.modulus.modulus()).write_be_bytes(&mut bytes);
    if BigUint::from_bytes_be(&bytes) != grp.p {
        return Err(DhError::BadGroup("fixed-width p differs"));
    }
    Ok(())
}
