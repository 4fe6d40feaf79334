//! Montgomery arithmetic modulo an odd `L`-limb modulus `n` (P. Montgomery, "Modular
//! multiplication without trial division", Math. Comp. 1985; HAC §14.3.2).
//!
//! With `R = 2^(64·L)`, a residue `a` is held as `a·R mod n` ("Montgomery form"). The product of
//! two such values is `REDC(x·y) = x·y·R⁻¹ mod n`, which stays in Montgomery form and needs no
//! division: each step adds the multiple `m·n` of `n` that clears the lowest limb
//! (`m = t₀·(-n⁻¹) mod 2^64`), then drops that limb.
//!
//! - [`Modulus::mul`]: CIOS, "Coarsely Integrated Operand Scanning" (Koç, Acar, Kaliski,
//!   "Analyzing and comparing Montgomery multiplication algorithms", IEEE Micro 1996, §5).
//!   Bounds: for `a < R` and `b < n`, the result before the final subtraction is below
//!   `(a·b + R·n)/R < 2n`, so one conditional subtraction finishes it.
//! - [`Modulus::sqr`]: a dedicated squaring: the `L(L-1)/2` cross products once, doubled, plus
//!   the diagonal (HAC 14.16), then a separate Montgomery reduction (HAC 14.32); about 3/4 of the
//!   multiplications of `mul`.
//!
//! Everything is constant time in the values of the operands **and of the modulus** (the RSA
//! primes are secret moduli): fixed loop counts, and the final subtraction is a masked select.

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::limbs::{Uint, adc, cond_sub, mac};

/// An odd modulus with its Montgomery constants. Wiped when dropped (for RSA it is a secret
/// prime).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Modulus<const L: usize> {
    /// `n`, odd.
    pub(crate) n: [u64; L],
    /// `-n⁻¹ mod 2^64`.
    n0: u64,
    /// `R mod n`: the Montgomery form of 1.
    pub(crate) one: [u64; L],
    /// `R² mod n`: multiplying by it converts into Montgomery form.
    r2: [u64; L],
}

/// `n⁻¹ mod 2^64` for odd `n` by Newton's iteration `x ← x·(2 - n·x)`, which doubles the number
/// of correct low bits each time: `x = n` is right to 3 bits (n·n ≡ 1 mod 8), five steps give 96.
/// Fixed step count, so constant time.
const fn inv_mod_2_64(n: u64) -> u64 {
    let mut x = n;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(x)));
        i += 1;
    }
    x
}

impl<const L: usize> Modulus<L> {
    /// The constants for an odd `n > 1` (the caller checks oddness; for an even `n` the results
    /// are meaningless, never unsafe). Constant time in `n`: `R mod n` and `R² mod n` come from
    /// `2·64·L` modular doublings of 1, each an add and a masked subtraction.
    pub(crate) fn new(n: &Uint<L>) -> Self {
        let n = n.0;
        let n0 = inv_mod_2_64(n[0]).wrapping_neg();
        // x = 1 (mod n; for n > 1). Doubling 64·L times gives R mod n, 64·L more give R² mod n.
        let mut x = [0u64; L];
        x[0] = 1;
        let mut one = [0u64; L];
        for i in 0..2 * 64 * L {
            let mut carry = 0;
            for limb in x.iter_mut() {
                let top = *limb >> 63;
                *limb = (*limb << 1) | carry;
                carry = top;
            }
            cond_sub(&mut x, carry, &n);
            if i + 1 == 64 * L {
                one = x;
            }
        }
        Modulus { n, n0, one, r2: x }
    }

    /// The modulus.
    pub(crate) fn modulus(&self) -> &[u64; L] {
        &self.n
    }

    /// `a·b·R⁻¹ mod n` (CIOS) for `a < R`, `b < n`; the result is below `n`.
    #[inline(always)]
    pub(crate) fn mul(&self, a: &[u64; L], b: &[u64; L]) -> [u64; L] {
        let n = &self.n;
        // t holds L + 2 limbs: t[0..L], t_l = t[L], t_h = t[L + 1].
        let mut t = [0u64; L];
        let mut t_l = 0u64;
        let mut t_h;
        for &bi in b.iter() {
            // t += a·b[i]
            let mut c = 0;
            for j in 0..L {
                (t[j], c) = mac(t[j], a[j], bi, c);
            }
            (t_l, t_h) = adc(t_l, c, 0);
            // t = (t + m·n) / 2^64 with m making the low limb vanish.
            let m = t[0].wrapping_mul(self.n0);
            let (_, mut c) = mac(t[0], m, n[0], 0);
            for j in 1..L {
                (t[j - 1], c) = mac(t[j], m, n[j], c);
            }
            (t[L - 1], c) = adc(t_l, c, 0);
            t_l = t_h + c;
        }
        cond_sub(&mut t, t_l, n);
        t
    }

    /// `a²·R⁻¹ mod n` for `a < n`: square (HAC 14.16), then reduce (HAC 14.32).
    #[inline(always)]
    pub(crate) fn sqr(&self, a: &[u64; L]) -> [u64; L] {
        // The double-width square lives in two halves so that no `2·L` array type is needed.
        let mut lo = [0u64; L];
        let mut hi = [0u64; L];
        // Cross products a[i]·a[j], i < j, into (hi:lo) at limb i + j.
        for i in 0..L {
            let mut c = 0;
            for j in i + 1..L {
                let k = i + j;
                let slot = if k < L { &mut lo[k] } else { &mut hi[k - L] };
                (*slot, c) = mac(*slot, a[i], a[j], c);
            }
            let k = i + L;
            if k < 2 * L {
                hi[k - L] = c;
            }
        }
        // Double them (one-bit shift left across both halves).
        let mut top = 0;
        for limb in lo.iter_mut().chain(hi.iter_mut()) {
            let next = *limb >> 63;
            *limb = (*limb << 1) | top;
            top = next;
        }
        // Add the squares a[i]² at limb 2i.
        let mut c = 0;
        for i in 0..L {
            let (d_lo, d_hi) = mac(0, a[i], a[i], 0);
            let (k0, k1) = (2 * i, 2 * i + 1);
            let s0 = if k0 < L { &mut lo[k0] } else { &mut hi[k0 - L] };
            (*s0, c) = adc(*s0, d_lo, c);
            let s1 = if k1 < L { &mut lo[k1] } else { &mut hi[k1 - L] };
            (*s1, c) = adc(*s1, d_hi, c);
        }
        let out = self.redc(&mut lo, &mut hi);
        lo.zeroize();
        hi.zeroize();
        out
    }

    /// Montgomery reduction of `hi·R + lo` (HAC 14.32): `(hi·R + lo)·R⁻¹ mod n`, for a value below
    /// `n·R`; the result is below `n`. For any value below `R²` the result is below `R` and
    /// congruent (used by [`Self::reduce_wide`]).
    #[inline(always)]
    fn redc(&self, lo: &mut [u64; L], hi: &mut [u64; L]) -> [u64; L] {
        let n = &self.n;
        let mut extra = 0u64; // carries out of the top limb
        for i in 0..L {
            let m = lo[i].wrapping_mul(self.n0);
            let mut c = 0;
            for j in 0..L {
                let k = i + j;
                let slot = if k < L { &mut lo[k] } else { &mut hi[k - L] };
                (*slot, c) = mac(*slot, m, n[j], c);
            }
            // Propagate c into limb i + L (in hi), with the carry from earlier rows.
            (hi[i], extra) = adc(hi[i], c, extra);
        }
        let mut out = *hi;
        cond_sub(&mut out, extra, n);
        out
    }

    /// `a·R mod n`: into Montgomery form, for any `a < R` (not necessarily reduced).
    #[inline(always)]
    pub(crate) fn to_mont(&self, a: &[u64; L]) -> [u64; L] {
        self.mul(a, &self.r2)
    }

    /// `a·R⁻¹ mod n`: out of Montgomery form (the result is fully reduced).
    #[inline(always)]
    pub(crate) fn from_mont(&self, a: &[u64; L]) -> [u64; L] {
        let mut one = [0u64; L];
        one[0] = 1;
        self.mul(a, &one)
    }

    /// `x mod n` for a double-width `x` (`x.len() == 2·L`, low limbs first): the low half
    /// reduced by REDC to `x·R⁻¹` (below `R`), then multiplied by `R²` to cancel the `R⁻¹`.
    pub(crate) fn reduce_wide(&self, x: &[u64]) -> [u64; L] {
        let mut lo = [0u64; L];
        let mut hi = [0u64; L];
        lo.copy_from_slice(&x[..L]);
        hi.copy_from_slice(&x[L..2 * L]);
        let mut t = self.redc(&mut lo, &mut hi);
        let out = self.mul(&t, &self.r2);
        lo.zeroize();
        hi.zeroize();
        t.zeroize();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newton_inverse() {
        for n in [1u64, 3, 0xffff_ffff_ffff_ffff, 0x1234_5678_9abc_def1] {
            assert_eq!(n.wrapping_mul(inv_mod_2_64(n)), 1);
        }
    }

    #[test]
    fn small_modulus_arithmetic() {
        // n = 2^64 - 59 (prime) with one limb: check against u128 arithmetic.
        let n = u64::MAX - 58;
        let m = Modulus::<1>::new(&Uint([n]));
        let r = ((1u128 << 64) % u128::from(n)) as u64;
        assert_eq!(m.one, [r]);
        let (a, b) = (0x1234_5678_9abc_def0u64 % n, n - 1);
        let am = m.to_mont(&[a]);
        let bm = m.to_mont(&[b]);
        let prod = m.from_mont(&m.mul(&am, &bm));
        assert_eq!(
            u128::from(prod[0]),
            u128::from(a) * u128::from(b) % u128::from(n)
        );
        let sq = m.from_mont(&m.sqr(&am));
        assert_eq!(
            u128::from(sq[0]),
            u128::from(a) * u128::from(a) % u128::from(n)
        );
    }
}
