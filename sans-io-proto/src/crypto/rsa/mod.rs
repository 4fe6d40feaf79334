//! RSA-2048 (RFC 8017): key generation, the private operation with CRT, blinding and a fault
//! check, RSAES-OAEP with SHA-256 ([`oaep`]), and canonical key encodings (PROTOCOL.md §2.1).
//!
//! In this protocol RSA only *encapsulates keys* (RSA-OAEP); nothing is ever signed, which keeps
//! conversations deniable.

mod keygen;
mod oaep;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::bignum::inverse::{inv_mod_prime, inv_public_exponent, inv_vartime};
use super::bignum::limbs::{add_assign, cond_sub, eq_bit, lt_bit, mul_wide, sub_mod};
use super::bignum::modexp::{pow, pow_public};
use super::bignum::{Modulus, Uint, declassify};
use crate::leak_check::note;

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
/// Limbs of the modulus (2048 bits) and of each prime (1024 bits).
pub(crate) const N_LIMBS: usize = MODULUS_BITS / 64;
pub(crate) const P_LIMBS: usize = N_LIMBS / 2;

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
#[derive(Clone)]
pub struct RsaPublicKey {
    /// `n` with its Montgomery constants (public; boxed to keep the key a pointer wide).
    n: Box<Modulus<N_LIMBS>>,
}

impl PartialEq for RsaPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.n.modulus() == other.n.modulus()
    }
}

impl Eq for RsaPublicKey {}

impl RsaPublicKey {
    /// Checks that `n` is an odd 2048-bit number. Variable time: `n` is public.
    fn from_modulus(n: &Uint<N_LIMBS>) -> Result<Self, RsaError> {
        if n.0[N_LIMBS - 1] >> 63 != 1 || n.0[0] & 1 != 1 {
            return Err(RsaError::BadModulus);
        }
        Ok(RsaPublicKey {
            n: Box::new(Modulus::new(n)),
        })
    }

    /// The canonical encoding: `e` as u32 big-endian, then `n` as 256 bytes big-endian.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out[..4].copy_from_slice(&PUBLIC_EXPONENT.to_be_bytes());
        out[4..].copy_from_slice(&self.modulus());
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
        let n = Uint::from_be_bytes(&bytes[4..]).ok_or(RsaError::Malformed)?;
        Self::from_modulus(&n)
    }

    /// The modulus `n` as 256 big-endian bytes.
    pub fn modulus(&self) -> [u8; MODULUS_LEN] {
        let mut out = [0u8; MODULUS_LEN];
        Uint(*self.n.modulus()).write_be_bytes(&mut out);
        out
    }

    /// RSAEP (RFC 8017 §5.1.1): `m^e mod n`; `m` must be below `n`. Constant time in `m` (the
    /// OAEP-encoded message is secret): `e` is public, and the range verdict is declassified
    /// because a refusal is visible to the caller anyway.
    fn encrypt_raw(&self, m: &Uint<N_LIMBS>) -> Result<Uint<N_LIMBS>, RsaError> {
        // Public by design: whether the input is in range is the function's visible result.
        if !declassify(lt_bit(&m.0, self.n.modulus()) == 1) {
            return Err(RsaError::OutOfRange);
        }
        let mut mm = Uint(self.n.to_mont(&m.0));
        let mut y = Uint(pow_public(&self.n, &mm.0, u64::from(PUBLIC_EXPONENT)));
        let out = Uint(self.n.out_of_mont(&y.0));
        mm.zeroize();
        y.zeroize();
        Ok(out)
    }

    /// RSAES-OAEP-ENCRYPT with SHA-256 and MGF1-SHA256 (RFC 8017 §7.1.1).
    pub fn oaep_encrypt(
        &self,
        rng: &mut impl CryptoRngCore,
        msg: &[u8],
        label: &[u8],
    ) -> Result<Vec<u8>, RsaError> {
        let em = oaep::encode(msg, label, rng)?;
        let m = Uint::from_be_bytes(&em[..]).ok_or(RsaError::OutOfRange)?;
        let c = self.encrypt_raw(&m)?;
        let mut out = vec![0u8; MODULUS_LEN];
        c.write_be_bytes(&mut out);
        Ok(out)
    }
}

impl core::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let digest = Sha256::digest(self.modulus());
        write!(
            f,
            "RsaPublicKey(n: sha256 {:02x}{:02x}{:02x}{:02x}…)",
            digest[0], digest[1], digest[2], digest[3]
        )
    }
}

/// The secret CRT values (RFC 8017 §3.2, second representation), boxed so that moving a key
/// moves a pointer and the values stay in one place until they are wiped.
#[derive(Clone, zeroize::ZeroizeOnDrop)]
struct CrtSecret {
    /// `p` with its Montgomery constants.
    p: Modulus<P_LIMBS>,
    /// `q` with its Montgomery constants.
    q: Modulus<P_LIMBS>,
    /// `dP = e⁻¹ mod (p-1)`.
    dp: Uint<P_LIMBS>,
    /// `dQ = e⁻¹ mod (q-1)`.
    dq: Uint<P_LIMBS>,
    /// `qInv = q⁻¹ mod p`, in Montgomery form modulo `p` (`qInv·R mod p`).
    qinv_mont: Uint<P_LIMBS>,
}

/// An RSA-2048 private key with its CRT values. All secret values live in one heap block that
/// is wiped when the key is dropped.
///
/// The full private exponent `d` is never computed: every private operation uses the CRT values
/// (RFC 8017 §5.1.2 step 2.b), and `dP`, `dQ` come directly from `p - 1`, `q - 1`.
#[derive(Clone)]
pub struct RsaPrivateKey {
    public: RsaPublicKey,
    secret: Box<CrtSecret>,
}

impl zeroize::ZeroizeOnDrop for RsaPrivateKey {}

/// `x - 1` for odd `x` (clears bit 0; constant time).
fn minus_one<const L: usize>(x: &Uint<L>) -> Uint<L> {
    let mut out = x.clone();
    out.0[0] &= !1;
    out
}

/// Notes a fixed-width secret for the freed-memory test (both images are searched).
fn note_uint<const L: usize>(kind: &'static str, x: &Uint<L>) {
    if cfg!(feature = "leak-check") {
        let mut bytes = Zeroizing::new([0u8; MODULUS_LEN]);
        x.write_be_bytes(&mut bytes[..8 * L]);
        note(kind, &bytes[..8 * L]);
    }
}

impl RsaPrivateKey {
    /// Generates a key from two random 1024-bit probable primes (see [`keygen`]).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        keygen::generate(rng)
    }

    /// Builds and checks a key from its two primes, in constant time: `p ≠ q`, both odd with
    /// exactly 1024 bits, `n = p·q` with exactly 2048 bits, `e` invertible modulo `p - 1` and
    /// `q - 1`; then `dP`, `dQ` ([`inv_public_exponent`]) and `qInv = q^(p-2) mod p` (Fermat).
    /// Only the verdicts and `n` are declassified. Primality is not re-proved here: a composite
    /// shows up in [`Self::from_bytes`]' round trip.
    pub(crate) fn from_primes(p: Uint<P_LIMBS>, q: Uint<P_LIMBS>) -> Result<Self, RsaError> {
        let top = |x: &Uint<P_LIMBS>| x.0[P_LIMBS - 1] >> 63;
        let bad = eq_bit(&p.0, &q.0)
            | (top(&p) ^ 1)
            | (top(&q) ^ 1)
            | (p.0[0] & 1 ^ 1)
            | (q.0[0] & 1 ^ 1);
        // Public by design: a refused key is reported to the caller.
        if declassify(bad) != 0 {
            return Err(RsaError::InconsistentKey);
        }
        let mut n = Uint::<N_LIMBS>::ZERO;
        mul_wide(&p.0, &q.0, &mut n.0);
        // Public by design: n is the public modulus.
        let n = declassify(n);
        let public = RsaPublicKey::from_modulus(&n).map_err(|_| RsaError::InconsistentKey)?;
        let (p1, q1) = (minus_one(&p), minus_one(&q));
        let e = u64::from(PUBLIC_EXPONENT);
        debug_assert_eq!(e, 65537);
        let dp = inv_public_exponent::<P_LIMBS, 65537>(&p1).ok_or(RsaError::InconsistentKey)?;
        let dq = inv_public_exponent::<P_LIMBS, 65537>(&q1).ok_or(RsaError::InconsistentKey)?;
        let mp = Modulus::new(&p);
        let mq = Modulus::new(&q);
        // q mod p: q < 2^1024 < 2p, so one conditional subtraction reduces it.
        let mut q_mod_p = q.clone();
        cond_sub(&mut q_mod_p.0, 0, mp.modulus());
        let mut q_mont = Uint(mp.to_mont(&q_mod_p.0));
        let qinv_mont = Uint(inv_mod_prime(&mp, &q_mont.0));
        q_mont.zeroize();
        for (kind, x) in [
            ("rsa.p", &p),
            ("rsa.q", &q),
            ("rsa.p-1", &p1),
            ("rsa.q-1", &q1),
            ("rsa.dP", &dp),
            ("rsa.dQ", &dq),
            ("rsa.qInv(mont)", &qinv_mont),
        ] {
            note_uint(kind, x);
        }
        Ok(RsaPrivateKey {
            public,
            secret: Box::new(CrtSecret {
                p: mp,
                q: mq,
                dp,
                dq,
                qinv_mont,
            }),
        })
    }

    /// The public half.
    pub fn public_key(&self) -> RsaPublicKey {
        self.public.clone()
    }

    /// The canonical encoding `0x01 || p || q` (PROTOCOL.md §2.1), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; PRIVATE_KEY_LEN]);
        out[0] = PRIVATE_KEY_VERSION;
        Uint(*self.secret.p.modulus()).write_be_bytes(&mut out[1..1 + PRIME_LEN]);
        Uint(*self.secret.q.modulus()).write_be_bytes(&mut out[1 + PRIME_LEN..]);
        out
    }

    /// Decodes and fully checks the canonical encoding (untrusted input, e.g. a file): two
    /// distinct 1024-bit odd numbers giving a consistent key, which must then decrypt what its
    /// public half encrypts.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RsaError> {
        if bytes.len() != PRIVATE_KEY_LEN || bytes[0] != PRIVATE_KEY_VERSION {
            return Err(RsaError::Malformed);
        }
        let p = Uint::from_be_bytes(&bytes[1..1 + PRIME_LEN]).ok_or(RsaError::Malformed)?;
        let q = Uint::from_be_bytes(&bytes[1 + PRIME_LEN..]).ok_or(RsaError::Malformed)?;
        let key = Self::from_primes(p, q)?;
        // Round trip a fixed value through the public and the CRT private operation: a composite
        // "prime" or any other inconsistency shows up here instead of as wrong plaintexts later.
        let m = Uint::<N_LIMBS>::from_u64(0x0123_4567_89ab_cdef);
        let c = key.public.encrypt_raw(&m)?;
        let back = key.crt(&c);
        // Public by design: whether the key is consistent is the function's visible result.
        if !declassify(eq_bit(&back.0, &m.0) == 1) {
            return Err(RsaError::InconsistentKey);
        }
        Ok(key)
    }

    /// RSADP with CRT (RFC 8017 §5.1.2 step 2.b), constant time: `m1 = c^dP mod p`,
    /// `m2 = c^dQ mod q`, `h = qInv·(m1 - m2) mod p`, `m = m2 + q·h`.
    fn crt(&self, c: &Uint<N_LIMBS>) -> Uint<N_LIMBS> {
        let s = &*self.secret;
        let half = |m: &Modulus<P_LIMBS>, d: &Uint<P_LIMBS>| -> Uint<P_LIMBS> {
            let mut cm = Uint(m.reduce_wide(&c.0));
            let mut base = Uint(m.to_mont(&cm.0));
            let mut x = Uint(pow(m, &base.0, &d.0, 64 * P_LIMBS));
            let out = Uint(m.out_of_mont(&x.0));
            cm.zeroize();
            base.zeroize();
            x.zeroize();
            out
        };
        let m1 = half(&s.p, &s.dp);
        let m2 = half(&s.q, &s.dq);
        // m2 < q < 2p: one conditional subtraction gives m2 mod p.
        let mut diff = m1.clone();
        let mut m2p = m2.clone();
        cond_sub(&mut m2p.0, 0, s.p.modulus());
        sub_mod(&mut diff.0, &m2p.0, s.p.modulus());
        // h = qInv·diff mod p: Montgomery product of qInv·R and diff.
        let h = Uint(s.p.mul(&s.qinv_mont.0, &diff.0));
        let mut m = Uint::<N_LIMBS>::ZERO;
        mul_wide(s.q.modulus(), &h.0, &mut m.0);
        let mut m2w = Uint::<N_LIMBS>::ZERO;
        m2w.0[..P_LIMBS].copy_from_slice(&m2.0);
        add_assign(&mut m.0, &m2w.0);
        m
    }

    /// A uniformly random integer in `[0, n)` by rejection sampling over 2048-bit draws.
    fn random_below_n(&self, rng: &mut impl CryptoRngCore) -> Uint<N_LIMBS> {
        let mut bytes = Zeroizing::new([0u8; MODULUS_LEN]);
        loop {
            rng.fill_bytes(&mut bytes[..]);
            let x = Uint::from_be_bytes(&bytes[..]).unwrap_or(Uint::ZERO);
            // Public by design: whether a random draw exceeded n says nothing about the value
            // kept (each draw is independent) nor about the key (n is public).
            if declassify(lt_bit(&x.0, self.public.n.modulus()) == 1) {
                return x;
            }
        }
    }

    /// The private operation, blinded and checked (constant time in `c`, the key and the
    /// blinding values):
    /// - **blinding**: `c' = c·r^e mod n` with a fresh random `r`, so the exponentiations never see
    ///   the attacker's `c`; unblind with `r⁻¹`. The inverse is computed *blinded*: with a second
    ///   secret uniform `s`, `t = r·s mod n` is uniform and independent of `r`, so `t` is
    ///   declassified and inverted by a fast variable-time algorithm, and `r⁻¹ = t⁻¹·s`
    ///   (OpenSSL's `BN_mod_inverse_blinded`);
    /// - **fault check**: release `m` only if `m^e ≡ c (mod n)`; a CRT computation disturbed by a
    ///   fault would otherwise leak a factor of `n` (Boneh–DeMillo–Lipton).
    pub(crate) fn private_op(
        &self,
        c: &Uint<N_LIMBS>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Uint<N_LIMBS>, RsaError> {
        let n = &self.public.n;
        if lt_bit(&c.0, n.modulus()) != 1 {
            return Err(RsaError::OutOfRange);
        }
        let (r_mont, r_inv) = loop {
            let r = self.random_below_n(rng);
            let s = self.random_below_n(rng);
            let r_mont = Uint(n.to_mont(&r.0));
            // t = r·s mod n (the Montgomery product of r·R and s).
            let t = Uint(n.mul(&r_mont.0, &s.0));
            // Public by design: t is uniform and independent of r (s is a secret uniform mask).
            let t = declassify(t);
            if let Some(t_inv) = inv_vartime(&t.0, n.modulus()) {
                let s_mont = Uint(n.to_mont(&s.0));
                // r⁻¹ = t⁻¹·s: the Montgomery product of t⁻¹ and s·R.
                let r_inv = Uint(n.mul(&t_inv, &s_mont.0));
                break (r_mont, r_inv);
            }
        };
        note_uint("rsa.blinding r^-1", &r_inv);
        // c' = c·r^e: the Montgomery product of c and r^e·R.
        let re = Uint(pow_public(n, &r_mont.0, u64::from(PUBLIC_EXPONENT)));
        let blinded = Uint(n.mul(&c.0, &re.0));
        let m_blinded = self.crt(&blinded);
        // m = m'·r⁻¹: the Montgomery product of m' and r⁻¹·R.
        let r_inv_mont = Uint(n.to_mont(&r_inv.0));
        let m = Uint(n.mul(&m_blinded.0, &r_inv_mont.0));
        let check =
            Uint(n.out_of_mont(&pow_public(n, &n.to_mont(&m.0), u64::from(PUBLIC_EXPONENT))));
        // Public by design: a failed fault check is reported as an error.
        if !declassify(eq_bit(&check.0, &c.0) == 1) {
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
        let c = Uint::from_be_bytes(ciphertext).ok_or(OaepDecryptError)?;
        let m = self.private_op(&c, rng).map_err(|_| OaepDecryptError)?;
        let mut em = Zeroizing::new([0u8; MODULUS_LEN]);
        m.write_be_bytes(&mut em[..]);
        note("rsa.oaep EM (decrypt)", &em[..]);
        oaep::decode(&em[..], label)
    }

    #[cfg(test)]
    fn corrupt_crt_exponent_for_test(&mut self) {
        self.secret.dp.0[0] ^= 2;
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
    fn private_op_inverts_the_public_op() {
        let key = key();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..8 {
            let m = key.random_below_n(&mut rng);
            let c = key.public.encrypt_raw(&m).unwrap();
            let back = key.private_op(&c, &mut rng).unwrap();
            assert_eq!(back.0, m.0);
        }
        let n = Uint(*key.public.n.modulus());
        assert_eq!(key.private_op(&n, &mut rng), Err(RsaError::OutOfRange));
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
        let c = Uint::from_be_bytes(&ct).unwrap();
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
