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
use num_traits::{One, Zero};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use group::{G, check_group};

use super::bigint::{jacobi, random_bits, to_fixed_be, wipe};
use group::group;

/// Length of a public value or shared secret.
pub const DH_LEN: usize = 256;
/// Bits of a private exponent.
pub const PRIVATE_EXPONENT_BITS: usize = 256;
const PRIVATE_LEN: usize = PRIVATE_EXPONENT_BITS / 8;

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
        let y = BigUint::from_bytes_be(&bytes);
        check_public(&y)?;
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

fn check_public(y: &BigUint) -> Result<(), DhError> {
    let grp = group();
    if y < &grp.min_public || y > &grp.max_public {
        return Err(DhError::OutOfRange);
    }
    if jacobi(y, &grp.p) != 1 {
        return Err(DhError::NotInSubgroup);
    }
    Ok(())
}

/// A private exponent with its cached public value.
#[derive(Clone)]
pub struct DhPrivateKey {
    x: BigUint,
    public: DhPublicKey,
}

impl Drop for DhPrivateKey {
    fn drop(&mut self) {
        wipe(&mut self.x);
    }
}

impl ZeroizeOnDrop for DhPrivateKey {}

impl DhPrivateKey {
    /// Draws a uniform non-zero 256-bit exponent, again until `g^x` passes the public-value
    /// checks (as MTProto's keygen does; the loop is essentially never taken twice).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        loop {
            let mut x = random_bits(PRIVATE_EXPONENT_BITS, rng);
            if x.is_zero() {
                continue;
            }
            match Self::from_exponent(&x) {
                Ok(key) => {
                    wipe(&mut x);
                    return key;
                }
                Err(_) => wipe(&mut x),
            }
        }
    }

    fn from_exponent(x: &BigUint) -> Result<Self, DhError> {
        let grp = group();
        let y = grp.g.modpow(x, &grp.p);
        // Only the range check: g = 2 is a quadratic residue (p ≡ 7 mod 8, checked by
        // `check_group`), so every g^x is in the prime-order subgroup by construction.
        if y < grp.min_public || y > grp.max_public {
            return Err(DhError::OutOfRange);
        }
        let bytes: [u8; DH_LEN] = to_fixed_be(&y, DH_LEN)
            .and_then(|v| v.try_into().ok())
            .ok_or(DhError::OutOfRange)?;
        Ok(DhPrivateKey {
            x: x.clone(),
            public: DhPublicKey { bytes },
        })
    }

    /// The public value (cached).
    pub fn public_key(&self) -> DhPublicKey {
        self.public.clone()
    }

    /// `peer^x mod p` as exactly 256 bytes. `peer` was validated when it was decoded.
    pub fn agree(&self, peer: &DhPublicKey) -> Result<SharedSecret, DhError> {
        let grp = group();
        let y = BigUint::from_bytes_be(&peer.bytes);
        let mut s = y.modpow(&self.x, &grp.p);
        // With y in the order-q subgroup and 0 < x < q, s = 1 is impossible and s = p - 1 (order
        // 2) cannot be in the subgroup; the check documents and enforces that reasoning.
        if s.is_one() || s == &grp.p - 1u32 {
            wipe(&mut s);
            return Err(DhError::DegenerateSecret);
        }
        let bytes = to_fixed_be(&s, DH_LEN)
            .and_then(|v| v.try_into().ok())
            .ok_or(DhError::DegenerateSecret);
        wipe(&mut s);
        Ok(SharedSecret(bytes?))
    }

    /// The exponent as 32 big-endian bytes (for state snapshots), wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(to_fixed_be(&self.x, PRIVATE_LEN).unwrap_or_default())
    }

    /// Restores a key from [`Self::to_bytes`] (recomputes and re-checks the public value).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DhError> {
        if bytes.len() != PRIVATE_LEN {
            return Err(DhError::BadPrivateKey);
        }
        let mut x = BigUint::from_bytes_be(bytes);
        if x.is_zero() {
            return Err(DhError::BadPrivateKey);
        }
        let key = Self::from_exponent(&x);
        wipe(&mut x);
        key
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
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; DH_LEN]);

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
