//! Finite-field Diffie–Hellman in the 2048-bit MODP group 14 (RFC 3526 §3), `g = 2`.
//!
//! - Private exponents are 256 bits, uniform and non-zero: NIST SP 800-56A Rev. 3 §5.6.1.1.4
//!   allows exponents of 2·s bits in safe-prime groups (s = 112 for this group; 256 bits give a
//!   128-bit margin against Pollard's kangaroo), as RFC 7919 §5.2 also discusses.
//! - Every public value is checked: `2^(2048-64) ≤ y ≤ p - 2^(2048-64)` (MTProto 2.0's rule,
//!   which implies `1 < y < p - 1`), **and** membership in the prime-order subgroup by its
//!   Jacobi symbol (for a safe prime the order-q subgroup is exactly the quadratic residues),
//!   so no small-subgroup value is ever exponentiated with our secret.
//! - Agreement output is exactly 256 bytes, left-padded.

mod group;

use num_bigint::BigUint;
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use group::{G, check_group};

use super::bigint::jacobi;
use super::bignum::limbs::{eq_bit, is_zero, lt_bit};
use super::bignum::modexp::pow;
use super::bignum::{Uint, declassify};
use crate::leak_check::note;
use group::{LIMBS, group};

/// Length of a public value or shared secret.
pub const DH_LEN: usize = 256;
/// Bits of a private exponent.
pub const PRIVATE_EXPONENT_BITS: usize = 256;
const PRIVATE_LEN: usize = PRIVATE_EXPONENT_BITS / 8;
const X_LIMBS: usize = PRIVATE_EXPONENT_BITS / 64;

/// Why a DH value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DhError {
    /// Not exactly 256 bytes.
    #[error("DH value must be {DH_LEN} bytes, got {0}")]
    WrongLength(usize),
    /// Outside `[2^1984, p - 2^1984]`.
    #[error("DH public value out of the safe range")]
    OutOfRange,
    /// Not in the prime-order subgroup.
    #[error("DH public value is not in the prime-order subgroup")]
    NotInSubgroup,
    /// A private exponent encoding that is the wrong length or zero.
    #[error("invalid DH private exponent")]
    BadPrivateKey,
    /// The agreement produced 1 or p-1 (impossible after the checks above; never used).
    #[error("degenerate DH shared secret")]
    DegenerateSecret,
    /// The embedded group failed its check.
    #[error("DH group check failed: {0}")]
    BadGroup(&'static str),
}

/// A public value `y = g^x mod p`, validated.
#[derive(Clone, PartialEq, Eq)]
pub struct DhPublicKey {
    bytes: [u8; DH_LEN],
}

impl DhPublicKey {
    /// Decodes and validates a peer's value (untrusted input): length, range, subgroup.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DhError> {
        let bytes: [u8; DH_LEN] = bytes
            .try_into()
            .map_err(|_| DhError::WrongLength(bytes.len()))?;
        let y = Uint::<LIMBS>::from_be_bytes(&bytes).ok_or(DhError::OutOfRange)?;
        check_range(&y)?;
        // Subgroup membership: for the safe prime p the order-q subgroup is exactly the quadratic
        // residues, i.e. Jacobi symbol 1. Variable time (num-bigint): y is public.
        if jacobi(&BigUint::from_bytes_be(&bytes), &group().p) != 1 {
            return Err(DhError::NotInSubgroup);
        }
        Ok(DhPublicKey { bytes })
    }

    /// The 256 big-endian bytes.
    pub fn as_bytes(&self) -> &[u8; DH_LEN] {
        &self.bytes
    }
}

impl core::fmt::Debug for DhPublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "DhPublicKey({:02x}{:02x}{:02x}{:02x}…)",
            self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]
        )
    }
}

/// `2^1984 ≤ y ≤ p - 2^1984`. Variable time! `y` must be public (a peer's value, or our own
/// public value).
fn check_range(y: &Uint<LIMBS>) -> Result<(), DhError> {
    let grp = group();
    if lt_bit(&y.0, &grp.min_public) == 1 || lt_bit(&grp.max_public, &y.0) == 1 {
        return Err(DhError::OutOfRange);
    }
    Ok(())
}

/// A private exponent with its cached public value. The exponent lives in its own heap block,
/// wiped on drop, so moving the key never copies it.
#[derive(Clone)]
pub struct DhPrivateKey {
    x: Box<Uint<X_LIMBS>>,
    public: DhPublicKey,
}

impl ZeroizeOnDrop for DhPrivateKey {}

impl DhPrivateKey {
    /// Draws a uniform non-zero 256-bit exponent, again until `g^x` passes the public-value
    /// checks (as MTProto's keygen does; the loop is essentially never taken twice).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut bytes = Zeroizing::new([0u8; PRIVATE_LEN]);
        loop {
            rng.fill_bytes(&mut bytes[..]);
            if let Ok(key) = Self::from_bytes(&bytes[..]) {
                return key;
            }
        }
    }

    /// `y = g^x mod p` by the constant-time exponentiation (public result, range-checked).
    fn from_exponent(x: Box<Uint<X_LIMBS>>) -> Result<Self, DhError> {
        let grp = group();
        let m = &grp.modulus;
        let mut y_mont = Uint(pow(m, &grp.g_mont, &x.0, PRIVATE_EXPONENT_BITS));
        // Public by design: y = g^x is the public value.
        let y = declassify(Uint(m.out_of_mont(&y_mont.0)));
        y_mont.zeroize();
        // Only the range check: g = 2 is a quadratic residue (p ≡ 7 mod 8, checked by
        // `check_group`), so every g^x is in the prime-order subgroup by construction.
        check_range(&y)?;
        let mut bytes = [0u8; DH_LEN];
        y.write_be_bytes(&mut bytes);
        Ok(DhPrivateKey {
            x,
            public: DhPublicKey { bytes },
        })
    }

    /// The public value (cached).
    pub fn public_key(&self) -> DhPublicKey {
        self.public.clone()
    }

    /// `peer^x mod p` as exactly 256 bytes, constant time in `x` and the result. `peer` was
    /// validated when it was decoded.
    pub fn agree(&self, peer: &DhPublicKey) -> Result<SharedSecret, DhError> {
        let grp = group();
        let m = &grp.modulus;
        let y = Uint::<LIMBS>::from_be_bytes(&peer.bytes).ok_or(DhError::OutOfRange)?;
        let base = Uint(m.to_mont(&y.0));
        let mut s_mont = Uint(pow(m, &base.0, &self.x.0, PRIVATE_EXPONENT_BITS));
        let s = Uint(m.out_of_mont(&s_mont.0));
        s_mont.zeroize();
        // With y in the order-q subgroup and 0 < x < q, s = 1 is impossible and s = p - 1 (order
        // 2) cannot be in the subgroup; the check documents and enforces that reasoning.
        let mut one = [0u64; LIMBS];
        one[0] = 1;
        let degenerate = eq_bit(&s.0, &one) | eq_bit(&s.0, &grp.p_minus_1);
        // Public by design: a degenerate result is reported as an error.
        if declassify(degenerate) != 0 {
            return Err(DhError::DegenerateSecret);
        }
        let mut out = SharedSecret(Box::new([0u8; DH_LEN]));
        s.write_be_bytes(&mut out.0[..]);
        note("dh.shared", &out.0[..]);
        Ok(out)
    }

    /// The exponent as 32 big-endian bytes (for state snapshots), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; PRIVATE_LEN]);
        self.x.write_be_bytes(&mut out);
        out
    }

    /// Restores a key from [`Self::to_bytes`] (recomputes and re-checks the public value).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DhError> {
        if bytes.len() != PRIVATE_LEN {
            return Err(DhError::BadPrivateKey);
        }
        let mut x = Box::new(Uint::<X_LIMBS>::ZERO);
        *x = Uint::from_be_bytes(bytes).ok_or(DhError::BadPrivateKey)?;
        // Public by design: a zero exponent is refused (or redrawn by `generate`).
        if declassify(is_zero(&x.0)) == 1 {
            return Err(DhError::BadPrivateKey);
        }
        note("dh.x", bytes);
        Self::from_exponent(x)
    }
}

impl core::fmt::Debug for DhPrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DhPrivateKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A 256-byte DH shared secret, wiped on drop.
/// Boxed, so that moving it never copies the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret(Box<[u8; DH_LEN]>);

impl SharedSecret {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; DH_LEN] {
        &self.0
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}
