//! Fixed-width unsigned integers: little-endian arrays of `L` 64-bit limbs, and the constant-time
//! limb primitives everything else is built from.
//!
//! Constant time here means: no branch and no memory index depends on a limb's value. Conditions
//! are carried as *masks* (`0` or `!0`, derived arithmetically from a carry or a comparison) and
//! applied with AND/OR/XOR, as in BearSSL's `i31` / `i62` code (T. Pornin, "Constant-Time Toolkit",
//! bearssl.org/constanttime.html). Sizes are type parameters, so loop bounds are public by
//! construction.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// An `L`-limb unsigned integer, limb 0 least significant. Wiped when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Uint<const L: usize>(pub(crate) [u64; L]);

impl<const L: usize> core::fmt::Debug for Uint<L> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never prints the value: it may be secret.
        write!(f, "Uint<{L}>(..)")
    }
}

/// Constant-time equality (every limb is compared).
impl<const L: usize> PartialEq for Uint<L> {
    fn eq(&self, other: &Self) -> bool {
        eq_bit(&self.0, &other.0) == 1
    }
}

impl<const L: usize> Eq for Uint<L> {}

impl<const L: usize> Uint<L> {
    /// Zero.
    pub(crate) const ZERO: Self = Uint([0; L]);

    /// A small value.
    pub(crate) fn from_u64(x: u64) -> Self {
        let mut out = Self::ZERO;
        out.0[0] = x;
        out
    }

    /// OS2IP (RFC 8017 §4.2) into `L` limbs. `None` if `bytes` is longer than `8·L` (a length is
    /// public; the value is not inspected).
    pub(crate) fn from_be_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > 8 * L {
            return None;
        }
        let mut out = Self::ZERO;
        for (i, &b) in bytes.iter().rev().enumerate() {
            out.0[i / 8] |= u64::from(b) << (8 * (i % 8));
        }
        Some(out)
    }

    /// I2OSP (RFC 8017 §4.1) into exactly `out.len()` bytes; limbs beyond `out` must be zero (the
    /// caller sizes `out` so they are: `out.len() == 8·L` always fits).
    pub(crate) fn write_be_bytes(&self, out: &mut [u8]) {
        let len = out.len();
        for (i, o) in out.iter_mut().enumerate() {
            let pos = len - 1 - i;
            *o = if pos / 8 < L {
                (self.0[pos / 8] >> (8 * (pos % 8))) as u8
            } else {
                0
            };
        }
    }
}

/// `acc + a·b + carry` as (low, high): never overflows 128 bits.
#[inline(always)]
pub(crate) const fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (acc as u128) + (a as u128) * (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// `a + b + carry` as (sum, carry out), `carry ∈ {0, 1}`... or any u64: the carry out is exact.
#[inline(always)]
pub(crate) const fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

/// `a - b - borrow` as (difference, borrow out ∈ {0, 1}), `borrow ∈ {0, 1}`.
#[inline(always)]
pub(crate) const fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub((b as u128) + (borrow as u128));
    (t as u64, ((t >> 64) as u64) & 1)
}

/// `!0` if `bit == 1`, `0` if `bit == 0`.
#[inline(always)]
pub(crate) fn mask(bit: u64) -> u64 {
    core::hint::black_box(0u64.wrapping_sub(bit))
}

/// 1 if `x == 0`, else 0, without a branch: `x | -x` has its top bit set exactly when `x != 0`.
#[inline(always)]
pub(crate) const fn is_zero_bit(x: u64) -> u64 {
    ((x | x.wrapping_neg()) >> 63) ^ 1
}

/// `a += b`, returning the carry out.
#[inline(always)]
pub(crate) fn add_assign(a: &mut [u64], b: &[u64]) -> u64 {
    let mut carry = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        (*x, carry) = adc(*x, y, carry);
    }
    carry
}

/// `a -= b`, returning the borrow out.
#[inline(always)]
pub(crate) fn sub_assign(a: &mut [u64], b: &[u64]) -> u64 {
    let mut borrow = 0;
    for (x, &y) in a.iter_mut().zip(b) {
        (*x, borrow) = sbb(*x, y, borrow);
    }
    borrow
}

/// `a = if mask == !0 { b } else { a }`, reading and writing every limb either way.
#[inline(always)]
pub(crate) fn select_assign(a: &mut [u64], b: &[u64], mask: u64) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x ^= mask & (*x ^ y);
    }
}

/// 1 if `a < b` (equal lengths), else 0: the borrow of `a - b`, computed without storing it.
#[inline(always)]
pub(crate) fn lt_bit(a: &[u64], b: &[u64]) -> u64 {
    let mut borrow = 0;
    for (&x, &y) in a.iter().zip(b) {
        (_, borrow) = sbb(x, y, borrow);
    }
    borrow
}

/// 1 if `a == b` (equal lengths), else 0.
#[inline(always)]
pub(crate) fn eq_bit(a: &[u64], b: &[u64]) -> u64 {
    let mut diff = 0;
    for (&x, &y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    is_zero_bit(diff)
}

/// 1 if `a == 0`, else 0.
#[inline(always)]
pub(crate) fn is_zero(a: &[u64]) -> u64 {
    is_zero_bit(a.iter().fold(0, |acc, &x| acc | x))
}

/// Constant-time conditional subtraction (the last step of Montgomery reduction, HAC 14.32 step
/// 3): with `(hi, t)` a value below `2·n`, leaves `t = (hi·2^(64L) + t) mod n`. The subtraction
/// is always computed; a mask picks which value is kept.
#[inline(always)]
pub(crate) fn cond_sub<const L: usize>(t: &mut [u64; L], hi: u64, n: &[u64; L]) {
    let mut d = *t;
    let borrow = sub_assign(&mut d, n);
    // Keep the difference when the value overflowed the limbs (hi = 1) or did not borrow.
    let keep = mask(hi | (borrow ^ 1));
    select_assign(t, &d, keep);
    d.zeroize();
}

/// `(a - b) mod n` for `a, b < n`: subtract, then add `n` back under the borrow's mask.
#[inline(always)]
pub(crate) fn sub_mod<const L: usize>(a: &mut [u64; L], b: &[u64; L], n: &[u64; L]) {
    let borrow = sub_assign(a, b);
    let m = mask(borrow);
    let mut carry = 0;
    for (x, &y) in a.iter_mut().zip(n) {
        (*x, carry) = adc(*x, y & m, carry);
    }
}

/// Schoolbook product `out = a·b` (HAC 14.12), `out.len() == a.len() + b.len()`.
pub(crate) fn mul_wide(a: &[u64], b: &[u64], out: &mut [u64]) {
    out.fill(0);
    for (i, &bi) in b.iter().enumerate() {
        let mut carry = 0;
        for (j, &aj) in a.iter().enumerate() {
            (out[i + j], carry) = mac(out[i + j], aj, bi, carry);
        }
        out[i + a.len()] = carry;
    }
}

/// `a >>= 1`, shifting `top` (0 or 1) into the most significant bit. Only the previous
/// bit-at-a-time inversion, kept as a test reference, uses it.
#[cfg(test)]
#[inline(always)]
pub(crate) fn shr1(a: &mut [u64], top: u64) {
    let len = a.len();
    for i in 0..len {
        let next = if i + 1 < len { a[i + 1] } else { top };
        a[i] = (a[i] >> 1) | (next << 63);
    }
}

/// `a mod d` for a small public divisor `d < 2^32`, in time independent of `a` (no division
/// instruction, whose latency varies with its operands on many CPUs): Horner's rule on 32-bit
/// halves, each step reduced by a Barrett multiply and two masked corrections.
pub(crate) fn rem_small(a: &[u64], d: u32) -> u32 {
    let d = u64::from(d);
    // Barrett constant for 64-bit numerators below d·2^32: floor(2^64 / d) (d >= 2).
    let recip = (u128::from(u64::MAX) + 1) / u128::from(d.max(2));
    let recip = recip.min(u128::from(u64::MAX)) as u64;
    let mut r = 0u64;
    for &limb in a.iter().rev() {
        for half in [limb >> 32, limb & 0xffff_ffff] {
            let x = (r << 32) | half; // < d·2^32
            let q = ((u128::from(x) * u128::from(recip)) >> 64) as u64;
            let mut rem = x.wrapping_sub(q.wrapping_mul(d));
            // The Barrett estimate is low by at most 2.
            for _ in 0..2 {
                let (t, borrow) = sbb(rem, d, 0);
                rem ^= mask(borrow ^ 1) & (rem ^ t);
            }
            r = rem;
        }
    }
    r as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let bytes: Vec<u8> = (1..=24).collect();
        let x = Uint::<4>::from_be_bytes(&bytes).unwrap();
        assert_eq!(x.0[0], 0x1112131415161718);
        assert_eq!(x.0[2], 0x0102030405060708);
        assert_eq!(x.0[3], 0);
        let mut out = [0u8; 24];
        x.write_be_bytes(&mut out);
        assert_eq!(&out[..], &bytes[..]);
        let mut wide = [0u8; 40];
        x.write_be_bytes(&mut wide);
        assert_eq!(&wide[16..], &bytes[..]);
        assert!(Uint::<1>::from_be_bytes(&[0; 9]).is_none());
    }

    #[test]
    fn small_remainder() {
        let a = [u64::MAX, 0x1234_5678_9abc_def0, 7];
        let big = (u128::from(a[1]) << 64) | u128::from(a[0]);
        for d in [2u32, 3, 7, 65537, 16381, u32::MAX] {
            let want = ((u128::from(a[2]) % u128::from(d)) * ((1u128 << 64) % u128::from(d))
                % u128::from(d)
                * ((1u128 << 64) % u128::from(d))
                + big % u128::from(d))
                % u128::from(d);
            assert_eq!(u128::from(rem_small(&a, d)), want, "d = {d}");
        }
    }
}
