//! RSA-2048 (RFC 8017): key generation, the private operation with CRT, blinding and a fault
//! check, RSAES-OAEP with SHA-256 ([`oaep`]), and canonical key encodings (PROTOCOL.md §2.1).
//!
//! In this protocol RSA only *encapsulates keys* (RSA-OAEP); nothing is ever signed, which keeps
//! conversations deniable.

mod keygen;
mod oaep;

use num_bigint::BigUint;
use num_traits::One;
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::bigint::{mod_inverse, random_range, to_fixed_be, wipe};

pub use oaep::OaepDecryptError;

/// Modulus size in bits.
pub const MODULUS_BITS: usize = 2048;
/// Modulus size in bytes (`k` in RFC 8017).
pub const MODULUS_LEN: usize = 256;
/// The only public exponent used and accepted.
pub const PUBLIC_EXPONENT: u32 = 65537;
/// Length of the canonical public-key encoding: `e: u32 || n (256)`.
pub const PUBLIC_KEY_LEN: usize = 4 + MODULUS_LEN;
/// Length of the canonical private-key encoding: `0x01 || p (128) || q (128)`.
pub const PRIVATE_KEY_LEN: usize = 1 + MODULUS_LEN;
const PRIME_LEN: usize = MODULUS_LEN / 2;
const PRIVATE_KEY_VERSION: u8 = 0x01;

/// Why an RSA operation or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RsaError {
    /// A key encoding of the wrong length or version.
    #[error("malformed RSA key encoding")]
    Malformed,
    /// A public exponent other than 65537.
    #[error("unsupported RSA public exponent")]
    UnsupportedExponent,
    /// A modulus that is not an odd 2048-bit number.
    #[error("RSA modulus must be an odd 2048-bit number")]
    BadModulus,
    /// Private-key values that are inconsistent (not two distinct 1024-bit primes fitting e).
    #[error("inconsistent RSA private key")]
    InconsistentKey,
    /// The message is longer than OAEP allows (190 bytes for RSA-2048 with SHA-256).
    #[error("message too long for RSA-OAEP")]
    MessageTooLong,
    /// The private operation produced a result that does not verify (a fault, or a corrupt key):
    /// nothing is released (defence against Bellcore-style fault attacks on CRT).
    #[error("RSA private operation failed its self-check")]
    FaultDetected,
    /// A ciphertext representative not below the modulus (RFC 8017 §5.1.2 step 1).
    #[error("RSA ciphertext out of range")]
    OutOfRange,
}

/// An RSA-2048 public key with `e = 65537`.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: BigUint,
    e: BigUint,
}

impl RsaPublicKey {
    fn from_modulus(n: BigUint) -> Result<Self, RsaError> {
        if n.bits() as usize != MODULUS_BITS || !n.bit(0) {
            return Err(RsaError::BadModulus);
        }
        Ok(RsaPublicKey {
            n,
            e: BigUint::from(PUBLIC_EXPONENT),
        })
    }

    /// The canonical encoding: `e` as u32 big-endian, then `n` as 256 bytes big-endian.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out[..4].copy_from_slice(&PUBLIC_EXPONENT.to_be_bytes());
        // n has exactly 2048 bits (checked at construction), so it fills the 256 bytes.
        let n = self.n.to_bytes_be();
        out[PUBLIC_KEY_LEN - n.len()..].copy_from_slice(&n);
        out
    }

    /// Decodes the canonical encoding (untrusted input).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RsaError> {
        if bytes.len() != PUBLIC_KEY_LEN {
            return Err(RsaError::Malformed);
        }
        if bytes[..4] != PUBLIC_EXPONENT.to_be_bytes() {
            return Err(RsaError::UnsupportedExponent);
        }
        Self::from_modulus(BigUint::from_bytes_be(&bytes[4..]))
    }

    /// The modulus.
    pub fn modulus(&self) -> &BigUint {
        &self.n
    }

    /// RSAEP (RFC 8017 §5.1.1): `m^e mod n`; `m` must be below `n`.
    fn encrypt_raw(&self, m: &BigUint) -> Result<BigUint, RsaError> {
        if m >= &self.n {
            return Err(RsaError::OutOfRange);
        }
        Ok(m.modpow(&self.e, &self.n))
    }

    /// RSAES-OAEP-ENCRYPT with SHA-256 and MGF1-SHA256 (RFC 8017 §7.1.1).
    pub fn oaep_encrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        msg: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>, RsaError> {
        let em = oaep::encode(msg, label, rng)?;
        let m = BigUint::from_bytes_be(&em[..]);
        let c = self.encrypt_raw(&m)?;
        to_fixed_be(&c, MODULUS_LEN).ok_or(RsaError::OutOfRange)
    }
}

impl core::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let digest = Sha256::digest(self.n.to_bytes_be());
        write!(
            f,
            "RsaPublicKey(n: sha256 {:02x}{:02x}{:02x}{:02x}…)",
            digest[0], digest[1], digest[2], digest[3]
        )
    }
}

/// An RSA-2048 private key with its CRT values (RFC 8017 §3.2, second representation).
#[derive(Clone)]
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    d: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
}

impl Drop for RsaPrivateKey {
    fn drop(&mut self) {
        for x in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qinv,
        ] {
            wipe(x);
        }
    }
}

impl zeroize::ZeroizeOnDrop for RsaPrivateKey {}

impl RsaPrivateKey {
    /// Generates a key from two random 1024-bit probable primes (see [`keygen`]).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        keygen::generate(rng)
    }

    /// Builds and checks a key from its two primes: `n = p·q` of exactly 2048 bits,
    /// `d = e⁻¹ mod lcm(p-1, q-1)` with `d > 2^1024` (FIPS 186-5 §A.1.1), and the CRT values.
    pub(crate) fn from_primes(p: BigUint, q: BigUint) -> Result<Self, RsaError> {
        let one = BigUint::one();
        if p == q
            || p.bits() as usize != MODULUS_BITS / 2
            || q.bits() as usize != MODULUS_BITS / 2
            || !p.bit(0)
            || !q.bit(0)
        {
            return Err(RsaError::InconsistentKey);
        }
        let public = RsaPublicKey::from_modulus(&p * &q).map_err(|_| RsaError::InconsistentKey)?;
        let (p1, q1) = (&p - &one, &q - &one);
        let lambda = num_integer::Integer::lcm(&p1, &q1);
        let d = mod_inverse(&public.e, &lambda).ok_or(RsaError::InconsistentKey)?;
        if d.bits() as usize <= MODULUS_BITS / 2 {
            return Err(RsaError::InconsistentKey);
        }
        let dp = &d % &p1;
        let dq = &d % &q1;
        let qinv = mod_inverse(&q, &p).ok_or(RsaError::InconsistentKey)?;
        Ok(RsaPrivateKey {
            public,
            d,
            p,
            q,
            dp,
            dq,
            qinv,
        })
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    /// The canonical encoding `0x01 || p || q` (PROTOCOL.md §2.1), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(PRIVATE_KEY_LEN));
        out.push(PRIVATE_KEY_VERSION);
        for prime in [&self.p, &self.q] {
            let bytes = Zeroizing::new(to_fixed_be(prime, PRIME_LEN).unwrap_or_default());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Decodes and fully checks the canonical encoding (untrusted input, e.g. a file): two
    /// distinct 1024-bit odd numbers giving a consistent key, which must then decrypt what its
    /// public half encrypts.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RsaError> {
        if bytes.len() != PRIVATE_KEY_LEN || bytes[0] != PRIVATE_KEY_VERSION {
            return Err(RsaError::Malformed);
        }
        let p = BigUint::from_bytes_be(&bytes[1..1 + PRIME_LEN]);
        let q = BigUint::from_bytes_be(&bytes[1 + PRIME_LEN..]);
        let key = Self::from_primes(p, q)?;
        // Round trip a fixed value through the public and the CRT private operation: a composite
        // "prime" or any other inconsistency shows up here instead of as wrong plaintexts later.
        let m = BigUint::from(0x0123_4567_89ab_cdefu64);
        let c = key.public.encrypt_raw(&m)?;
        if key.crt(&c) != m {
            return Err(RsaError::InconsistentKey);
        }
        Ok(key)
    }

    /// RSADP with CRT (RFC 8017 §5.1.2 step 2.b): `m1 = c^dP mod p`, `m2 = c^dQ mod q`,
    /// `h = qInv·(m1 - m2) mod p`, `m = m2 + q·h`.
    fn crt(&self, c: &BigUint) -> BigUint {
        let mut m1 = c.modpow(&self.dp, &self.p);
        let mut m2 = c.modpow(&self.dq, &self.q);
        let m2_mod_p = &m2 % &self.p;
        let mut diff = if m1 >= m2_mod_p {
            &m1 - &m2_mod_p
        } else {
            &m1 + &self.p - &m2_mod_p
        };
        let mut h = (&self.qinv * &diff) % &self.p;
        let m = &m2 + &self.q * &h;
        for x in [&mut m1, &mut m2, &mut diff, &mut h] {
            wipe(x);
        }
        m
    }

    /// `r⁻¹ mod n` through the prime factors: two extended Euclids on 1024-bit numbers, joined
    /// by Garner's formula (the CRT recombination of RFC 8017 §5.1.2), cost well under one on
    /// 2048-bit numbers. `None` when `r` shares a factor with `n`.
    fn inverse_mod_n(&self, r: &BigUint) -> Option<BigUint> {
        let mut inv_p = mod_inverse(&(r % &self.p), &self.p)?;
        let mut inv_q = mod_inverse(&(r % &self.q), &self.q)?;
        let inv_q_mod_p = &inv_q % &self.p;
        let mut diff = if inv_p >= inv_q_mod_p {
            &inv_p - &inv_q_mod_p
        } else {
            &inv_p + &self.p - &inv_q_mod_p
        };
        let mut h = (&self.qinv * &diff) % &self.p;
        let inv = &inv_q + &self.q * &h;
        for x in [&mut inv_p, &mut inv_q, &mut diff, &mut h] {
            wipe(x);
        }
        Some(inv)
    }

    /// The private operation, blinded and checked:
    /// - **blinding**: `c' = c·r^e mod n` with a fresh random `r`, so the exponentiations never see
    ///   the attacker's `c` (timing attacks on modpow learn nothing useful); unblind with `r⁻¹`;
    /// - **fault check**: release `m` only if `m^e ≡ c (mod n)`; a CRT computation disturbed by a
    ///   fault would otherwise leak a factor of `n` (Boneh–DeMillo–Lipton).
    pub(crate) fn private_op(
        &self,
        c: &BigUint,
        rng: &mut impl CryptoRngCore,
    ) -> Result<BigUint, RsaError> {
        let n = &self.public.n;
        if c >= n {
            return Err(RsaError::OutOfRange);
        }
        let two = BigUint::from(2u32);
        let (mut r, mut r_inv) = loop {
            let r = random_range(&two, n, rng).ok_or(RsaError::OutOfRange)?;
            if let Some(inv) = self.inverse_mod_n(&r) {
                break (r, inv);
            }
        };
        let mut blinded = (c * r.modpow(&self.public.e, n)) % n;
        let mut m_blinded = self.crt(&blinded);
        let m = (&m_blinded * &r_inv) % n;
        for x in [&mut r, &mut r_inv, &mut blinded, &mut m_blinded] {
            wipe(x);
        }
        if &m.modpow(&self.public.e, n) != c {
            return Err(RsaError::FaultDetected);
        }
        Ok(m)
    }

    /// RSAES-OAEP-DECRYPT with SHA-256 and MGF1-SHA256 (RFC 8017 §7.1.2). Every failure — wrong
    /// length, out of range, fault, bad padding, wrong label — is the same opaque error, and the
    /// padding checks run without early exit (§7.1.2 note: no padding oracle).
    pub fn oaep_decrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        ciphertext: &[u8],
        label: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OaepDecryptError> {
        if ciphertext.len() != MODULUS_LEN {
            return Err(OaepDecryptError);
        }
        let c = BigUint::from_bytes_be(ciphertext);
        let mut m = self.private_op(&c, rng).map_err(|_| OaepDecryptError)?;
        let em = Zeroizing::new(to_fixed_be(&m, MODULUS_LEN).ok_or(OaepDecryptError)?);
        wipe(&mut m);
        oaep::decode(&em, label)
    }

    #[cfg(test)]
    fn corrupt_crt_exponent_for_test(&mut self) {
        self.dp += 2u32;
    }
}

impl core::fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaPrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;
    use std::sync::OnceLock;

    fn key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| RsaPrivateKey::generate(&mut ChaCha8Rng::seed_from_u64(7)))
    }

    #[test]
    fn blinding_inverse_through_the_factors_is_the_inverse_mod_n() {
        let key = key();
        let n = &key.public.n;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20 {
            let r = random_range(&BigUint::from(2u32), n, &mut rng).unwrap();
            let inv = key.inverse_mod_n(&r).unwrap();
            assert!(&inv < n);
            assert!(((&r * &inv) % n).is_one());
        }
        // A multiple of a prime factor has no inverse.
        assert!(key.inverse_mod_n(&(&key.p * 3u32)).is_none());
    }

    #[test]
    fn oaep_round_trip_with_labels_and_limits() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let k = key();
        let pk = k.public_key();
        for len in [0usize, 1, 32, 190] {
            let msg = vec![0xa5; len];
            let ct = pk.oaep_encrypt(&mut rng, &msg, b"label").unwrap();
            assert_eq!(ct.len(), MODULUS_LEN);
            assert_eq!(
                k.oaep_decrypt(&mut rng, &ct, b"label").unwrap().as_slice(),
                msg.as_slice()
            );
            assert_eq!(
                k.oaep_decrypt(&mut rng, &ct, b"other").unwrap_err(),
                OaepDecryptError
            );
        }
        assert_eq!(
            pk.oaep_encrypt(&mut rng, &[0; 191], b""),
            Err(RsaError::MessageTooLong)
        );
    }

    #[test]
    fn a_fault_in_the_crt_is_caught_not_released() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut k = key().clone();
        let ct = k
            .public_key()
            .oaep_encrypt(&mut rng, b"secret", b"")
            .unwrap();
        k.corrupt_crt_exponent_for_test();
        let c = BigUint::from_bytes_be(&ct);
        assert_eq!(k.private_op(&c, &mut rng), Err(RsaError::FaultDetected));
        assert_eq!(k.oaep_decrypt(&mut rng, &ct, b""), Err(OaepDecryptError));
    }

    #[test]
    fn encodings_round_trip_and_reject_corruption() {
        let k = key();
        let bytes = k.to_bytes();
        assert_eq!(bytes.len(), PRIVATE_KEY_LEN);
        let back = RsaPrivateKey::from_bytes(&bytes).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let pk = k.public_key().to_bytes();
        assert_eq!(RsaPublicKey::from_bytes(&pk).unwrap(), k.public_key());

        let mut wrong_version = bytes.to_vec();
        wrong_version[0] = 2;
        assert_eq!(
            RsaPrivateKey::from_bytes(&wrong_version).unwrap_err(),
            RsaError::Malformed
        );
        let mut swapped_bit = bytes.to_vec();
        swapped_bit[100] ^= 0x10;
        assert!(RsaPrivateKey::from_bytes(&swapped_bit).is_err());
        let mut same = bytes.to_vec();
        same.copy_within(1..129, 129);
        assert_eq!(
            RsaPrivateKey::from_bytes(&same).unwrap_err(),
            RsaError::InconsistentKey
        );
        assert_eq!(
            RsaPrivateKey::from_bytes(&bytes[..200]).unwrap_err(),
            RsaError::Malformed
        );

        let mut bad_e = pk;
        bad_e[3] = 3;
        assert_eq!(
            RsaPublicKey::from_bytes(&bad_e).unwrap_err(),
            RsaError::UnsupportedExponent
        );
        let mut even = pk;
        even[259] &= 0xfe;
        assert_eq!(
            RsaPublicKey::from_bytes(&even).unwrap_err(),
            RsaError::BadModulus
        );
        let mut short = pk;
        short[4] = 0x7f;
        assert_eq!(
            RsaPublicKey::from_bytes(&short).unwrap_err(),
            RsaError::BadModulus
        );
        assert_eq!(
            RsaPublicKey::from_bytes(&pk[..259]).unwrap_err(),
            RsaError::Malformed
        );
    }
}
