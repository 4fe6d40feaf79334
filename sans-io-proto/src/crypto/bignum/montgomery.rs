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

/// Largest width handled (2048 bits): double-width buffers are sized for it.
pub(crate) const MAX_LIMBS: usize = 32;

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
    /// The constants for an odd `n` whose top bit is set (`R/2 < n < R`; true of every modulus
    /// in this crate: RSA primes and moduli have their exact bit length, the DH prime too).
    /// Constant time in `n`. `R mod n = R - n` since `n > R/2`; then `R² mod n` is the Montgomery
    /// form of `2^(64·L)`: double `R mod n` once to get `2` in Montgomery form, then square it
    /// `log2(64·L)` times. (The caller checks the preconditions; for other `n` the results are
    /// meaningless, never unsafe.)
    pub(crate) fn new(n: &Uint<L>) -> Self {
        let n = n.0;
        debug_assert!(n[L - 1] >> 63 == 1 && n[0] & 1 == 1);
        let mut one = [0u64; L];
        super::limbs::sub_assign(&mut one, &n);
        Self::finish(n, one)
    }

    /// The constants for any odd `n > 1` (used by tests on small moduli): `R mod n` from `64·L`
    /// modular doublings of 1, each an add and a masked subtraction.
    #[cfg(test)]
    pub(crate) fn new_any(n: &Uint<L>) -> Self {
        let n = n.0;
        let mut x = [0u64; L];
        x[0] = 1;
        for _ in 0..64 * L {
            Self::double(&mut x, &n);
        }
        Self::finish(n, x)
    }

    /// `x = 2·x mod n` for `x < n`.
    fn double(x: &mut [u64; L], n: &[u64; L]) {
        let mut carry = 0;
        for limb in x.iter_mut() {
            let top = *limb >> 63;
            *limb = (*limb << 1) | carry;
            carry = top;
        }
        cond_sub(x, carry, n);
    }

    fn finish(n: [u64; L], one: [u64; L]) -> Self {
        let n0 = inv_mod_2_64(n[0]).wrapping_neg();
        let mut m = Modulus {
            n,
            n0,
            one,
            r2: [0; L],
        };
        let mut x = one;
        Self::double(&mut x, &n);
        let bits = 64 * L;
        if bits.is_power_of_two() {
            for _ in 0..bits.trailing_zeros() {
                x = m.sqr(&x);
            }
        } else {
            // Not used by the crate's widths; kept general: 2^(64·L) by repeated doubling.
            x = one;
            for _ in 0..bits {
                Self::double(&mut x, &n);
            }
        }
        m.r2 = x;
        m
    }

    /// The modulus.
    pub(crate) fn modulus(&self) -> &[u64; L] {
        &self.n
    }

    /// `a·b·R⁻¹ mod n` (CIOS) for `a < R`, `b < n`; the result is below `n`. On x86-64 CPUs with
    /// BMI2 and ADX the 1024- and 2048-bit widths run the assembly of [`super::x86_64`] (same
    /// algorithm, same result), everything else [`Self::mul_portable`].
    #[inline(always)]
    pub(crate) fn mul(&self, a: &[u64; L], b: &[u64; L]) -> [u64; L] {
        #[cfg(target_arch = "x86_64")]
        if (L == 16 || L == 32)
            && let Some(out) = super::x86_64::Adx::get().and_then(|x| x.mul(a, b, &self.n, self.n0))
        {
            return out;
        }
        self.mul_portable(a, b)
    }

    /// `a²·R⁻¹ mod n` for `a < n`, dispatched as [`Self::mul`].
    #[inline(always)]
    pub(crate) fn sqr(&self, a: &[u64; L]) -> [u64; L] {
        #[cfg(target_arch = "x86_64")]
        if (L == 16 || L == 32)
            && let Some(out) = super::x86_64::Adx::get().and_then(|x| x.sqr(a, &self.n, self.n0))
        {
            return out;
        }
        self.sqr_portable(a)
    }

    /// `-n⁻¹ mod 2^64` (for the other back ends' tests).
    #[cfg(test)]
    pub(crate) fn n0(&self) -> u64 {
        self.n0
    }

    /// [`Self::mul`] in portable Rust: CIOS on `u128` products.
    ///
    /// Two passes per row (add `a·b[i]`, then add `m·n` and shift one limb). A fused single pass
    /// with two carry chains was measured too: it compiled to more instructions (about 5,500
    /// against 4,650 per 1024-bit product, callgrind), so the classic form stays.
    #[inline(always)]
    pub(crate) fn mul_portable(&self, a: &[u64; L], b: &[u64; L]) -> [u64; L] {
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

    /// [`Self::sqr`] in portable Rust: square (HAC 14.16), then reduce (HAC 14.32).
    #[inline(always)]
    pub(crate) fn sqr_portable(&self, a: &[u64; L]) -> [u64; L] {
        const { assert!(L <= MAX_LIMBS) };
        // The double-width square in a buffer of fixed size, so that every index below is
        // provably in bounds and the loops unroll.
        let mut w = [0u64; 2 * MAX_LIMBS];
        // Cross products a[i]·a[j], i < j, at limb i + j; each row's carry lands at limb i + L,
        // which no earlier row has written. Each row is written out with a constant `i` (the
        // `if` folds away per width), so every inner loop has a fixed trip count and unrolls; a
        // plain nested loop with `j` from `i + 1` did not (callgrind, 1024-bit square: 4,689 -> 4,146
        // instructions).
        macro_rules! row {
            ($($i:literal)*) => {$(
                if $i < L {
                    let mut c = 0;
                    for j in $i + 1..L {
                        (w[$i + j], c) = mac(w[$i + j], a[$i], a[j], c);
                    }
                    w[$i + L] = c;
                }
            )*};
        }
        row!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
        // Double them (one-bit shift left over the 2·L limbs; the top bit is 0 as a² < R²), and
        // add the squares a[i]² at limbs 2i, 2i + 1.
        let mut top = 0;
        let mut c = 0;
        for i in 0..L {
            let (d_lo, d_hi) = mac(0, a[i], a[i], 0);
            let (lo, hi) = (w[2 * i], w[2 * i + 1]);
            let lo2 = (lo << 1) | top;
            let hi2 = (hi << 1) | (lo >> 63);
            top = hi >> 63;
            (w[2 * i], c) = adc(lo2, d_lo, c);
            (w[2 * i + 1], c) = adc(hi2, d_hi, c);
        }
        let out = self.redc(&mut w);
        w[..2 * L].zeroize();
        out
    }

    /// Montgomery reduction of the `2·L`-limb value in `w[..2L]` (HAC 14.32): `w·R⁻¹ mod n` for
    /// a value below `n·R`, with a result below `n`. For any value below `R²` the result is below
    /// `R` and congruent (used by [`Self::reduce_wide`]). `w` is overwritten.
    #[inline(always)]
    fn redc(&self, w: &mut [u64; 2 * MAX_LIMBS]) -> [u64; L] {
        const { assert!(L <= MAX_LIMBS) };
        let n = &self.n;
        let mut extra = 0u64; // carry out of limb i + L, owed to limb i + L + 1
        for i in 0..L {
            let m = w[i].wrapping_mul(self.n0);
            let mut c = 0;
            for j in 0..L {
                (w[i + j], c) = mac(w[i + j], m, n[j], c);
            }
            (w[i + L], extra) = adc(w[i + L], c, extra);
        }
        let mut out = [0u64; L];
        out.copy_from_slice(&w[L..2 * L]);
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
    pub(crate) fn out_of_mont(&self, a: &[u64; L]) -> [u64; L] {
        let mut one = [0u64; L];
        one[0] = 1;
        self.mul(a, &one)
    }

    /// `x mod n` for a double-width `x` (`x.len() == 2·L`, low limbs first): the low half
    /// reduced by REDC to `x·R⁻¹` (below `R`), then multiplied by `R²` to cancel the `R⁻¹`.
    pub(crate) fn reduce_wide(&self, x: &[u64]) -> [u64; L] {
        const { assert!(L <= MAX_LIMBS) };
        let mut w = [0u64; 2 * MAX_LIMBS];
        w[..2 * L].copy_from_slice(&x[..2 * L]);
        let mut t = self.redc(&mut w);
        let out = self.mul(&t, &self.r2);
        w[..2 * L].zeroize();
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
        let any = Modulus::<1>::new_any(&Uint([n]));
        assert_eq!((any.one, any.r2), (m.one, m.r2));
        let r = ((1u128 << 64) % u128::from(n)) as u64;
        assert_eq!(m.one, [r]);
        let (a, b) = (0x1234_5678_9abc_def0u64 % n, n - 1);
        let am = m.to_mont(&[a]);
        let bm = m.to_mont(&[b]);
        let prod = m.out_of_mont(&m.mul(&am, &bm));
        assert_eq!(
            u128::from(prod[0]),
            u128::from(a) * u128::from(b) % u128::from(n)
        );
        let sq = m.out_of_mont(&m.sqr(&am));
        assert_eq!(
            u128::from(sq[0]),
            u128::from(a) * u128::from(a) % u128::from(n)
        );
    }
}
