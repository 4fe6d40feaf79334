//! Modular inverses.
//!
//! - [`inv_mod_prime`]: Fermat, `a⁻¹ = a^(p-2) mod p` for a prime `p` (HAC Fact 2.140 with
//!   14.82), through the constant-time exponentiation: used for `qInv = q⁻¹ mod p` whose modulus
//!   and operand are both secret.
//! - [`inv_public_exponent`]: `e⁻¹ mod (p-1)` for the public prime `e` and secret `p`, by the
//!   identity `e⁻¹ mod φ = (1 + φ·t) / e` with `t = -φ⁻¹ mod e`: all the work is modulo the small
//!   public `e` (a constant-time remainder and a fixed-exponent Fermat inversion in one word) and
//!   an exact division by `e` (Jebelean's right-to-left exact division, as GMP's
//!   `mpn_divexact_1`), so nothing depends on the secret's value. Used for `dP` and `dQ`.
//! - [`inv_vartime`]: Bernstein–Yang "safegcd" divsteps, 62 at a time on one word with the 2×2
//!   matrix applied to the full numbers once per batch (about 21 µs at 2048 bits where the
//!   bit-at-a-time HAC 14.61 loop it replaces took about 470 µs). **Variable time! Inputs must
//!   be public!** Only for the RSA blinding inverse after the operand was multiplied by a
//!   secret uniformly random mask (see `rsa::private_op`).

use zeroize::Zeroize;

use super::limbs::{Uint, adc, is_zero, lt_bit, mac, rem_small, sbb, sub_assign};
#[cfg(test)]
use super::limbs::{eq_bit, shr1, sub_mod};
use super::modexp::pow;
use super::montgomery::Modulus;

/// `a⁻¹·R mod p` (Montgomery form) for a prime modulus `p` and `a` in Montgomery form, `a ≢ 0`.
/// Constant time in `a` and `p`. For `a ≡ 0` the result is 0.
pub(crate) fn inv_mod_prime<const L: usize>(m: &Modulus<L>, a_mont: &[u64; L]) -> [u64; L] {
    let mut e = *m.modulus();
    let mut two = [0u64; L];
    two[0] = 2;
    sub_assign(&mut e, &two);
    let out = pow(m, a_mont, &e, 64 * L);
    e.zeroize();
    out
}

/// `x·y mod e` for the 17-bit public prime `e` (compile-time constant: the compiler turns `%`
/// into a multiplication by a reciprocal, no division instruction).
const fn mul_mod_e<const E: u64>(x: u64, y: u64) -> u64 {
    (x * y) % E
}

/// `e⁻¹ mod phi` for the public prime `E < 2^32` and a secret even `phi` (e.g. `p - 1`), in
/// constant time. `None` when `E` divides `phi` (then no inverse exists); that verdict is the
/// only value revealed, and it is public by design (the key is refused).
pub(crate) fn inv_public_exponent<const L: usize, const E: u64>(phi: &Uint<L>) -> Option<Uint<L>> {
    // r = phi mod E, then r⁻¹ = r^(E-2) mod E (E prime); the exponent is a public constant.
    let r = u64::from(rem_small(&phi.0, E as u32));
    let mut inv = 1u64;
    let mut base = r;
    let mut k = E - 2;
    while k > 0 {
        // Branches on the public constant's bits only.
        if k & 1 == 1 {
            inv = mul_mod_e::<E>(inv, base);
        }
        base = mul_mod_e::<E>(base, base);
        k >>= 1;
    }
    let divisible = super::declassify(is_zero(&[r]) == 1);
    if divisible {
        return None;
    }
    // t = -phi⁻¹ mod E, in [1, E-1].
    let t = E - inv;
    // x = 1 + phi·t, L + 1 limbs (t < 2^32).
    let mut x = [0u64; L];
    let mut c = 0;
    for (xi, &pi) in x.iter_mut().zip(phi.0.iter()) {
        (*xi, c) = mac(0, pi, t, c);
    }
    let mut top = c;
    let mut carry = 1;
    for xi in x.iter_mut() {
        (*xi, carry) = adc(*xi, 0, carry);
    }
    top += carry;
    // Exact division of (top:x) by E: q_i = (x_i - borrow)·E⁻¹ mod 2^64, borrow = hi(q_i·E) + b.
    let e_inv = {
        let mut y = E;
        for _ in 0..5 {
            y = y.wrapping_mul(2u64.wrapping_sub(E.wrapping_mul(y)));
        }
        y
    };
    let mut out = Uint::<L>::ZERO;
    let mut borrow = 0u64;
    for (o, &xi) in out.0.iter_mut().zip(x.iter()) {
        let (s, b) = sbb(xi, borrow, 0);
        let q = s.wrapping_mul(e_inv);
        *o = q;
        let (_, hi) = mac(0, q, E, 0);
        borrow = hi + b;
    }
    // The quotient is below phi, so the top limb is consumed exactly: top == borrow.
    debug_assert_eq!(top, borrow);
    x.zeroize();
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Variable-time inversion of public values: safegcd with batches of 62 divsteps
// ---------------------------------------------------------------------------------------------
//
// **Variable time! Inputs must be public!** Used only for the RSA blinding inverse, whose
// operand `t = r·s mod n` is uniform and independent of the secrets (see `rsa::private_op`).
//
// Source: D. J. Bernstein and B.-Y. Yang, "Fast constant-time gcd computation and modular
// inversion", TCHES 2019(3) (version 2019.04.13), §8 and §11 ("divsteps"), and the variable-time
// batching explained in libsecp256k1's `doc/safegcd_implementation.md` (§2-§4, §6). Written
// here from those descriptions; the steps, in order:
//
// 1. (B-Y §8.2, doc §1) With `f` odd, `delta = 1`, a divstep maps `(delta, f, g)` to
//    `(1 - delta, g, (g - f)/2)` if `delta > 0` and `g` odd, to `(1 + delta, f, (g + f)/2)` if
//    `g` odd, and to `(1 + delta, f, g/2)` otherwise. Repeated until `g = 0`, `|f| = gcd(f0, g0)`.
//    It terminates for every input (B-Y Theorem 11.2: at most `⌊(49d + 80)/17⌋` divsteps for
//    `d`-bit inputs, `d ≥ 46`).
// 2. (doc §2) Track `d, e` with `d·x ≡ f` and `e·x ≡ g (mod m)`, starting from `f = m`, `g = x`,
//    `d = 0`, `e = 1`; when `g = 0` and `f = ±1`, `x⁻¹ ≡ ±d (mod m)`. If `|f| ≠ 1` there is no
//    inverse.
// 3. (doc §3) `N` divsteps depend only on `delta` and the bottom `N` bits of `f` and `g`, and
//    multiply `(f, g)` by a 2×2 integer matrix `T` with `|u| + |v| ≤ 2^N` in each row, divided
//    by `2^N`. So run 62 divsteps on one word ([`divsteps_62_vartime`]) and apply `T` to the
//    full numbers once ([`update_fg_vartime`]): one pass over the limbs per 62 divsteps instead
//    of one per step (the HAC 14.61 loop before this did about 2 passes per bit).
// 4. (doc §4) Apply the same `T/2^62` to `(d, e)` modulo `m`: add the multiple of `m` that
//    makes the bottom 62 bits vanish (`m⁻¹ mod 2^62`), then shift; with `d, e ∈ (-2m, m)` on
//    entry and a multiple chosen in `[−2^62, 2^62)` plus `m` times the entries of `T` for a
//    negative input, the results stay in `(-2m, m)` ([`update_de`]). The scale `2^-62` cancels
//    because `f, g` and `d, e` are divided by the same power of two.
// 5. (doc §6) Variable time: with `eta = -delta`, skip a run of zero bits of `g` in one shift
//    (count trailing zeros), and cancel up to 4 (no swap) or 6 (after a swap) low bits of `g` at
//    once by adding `w·f` with `w = -g/f mod 2^k`; stop the outer loop when `g = 0`, and shorten
//    `f, g` when their top limbs are only sign. These are still exactly the divsteps of step 1:
//    `k` steps without a swap (`delta ≤ 0` throughout, hence `k ≤ eta + 1`) map `g` to
//    `(g + c·f)/2^k` with the unique `c < 2^k` that makes it divisible, `c = -g/f mod 2^k`; a
//    swap negates `eta` and the shift that follows counts its step. So step 1's bound holds.
// 6. (doc §2, §5 "normalize") Bring `±d` into `[0, m)` by adding or subtracting `m`.
//
// Numbers are held in "signed-62" form: `S62` limbs of 62 bits, value `Σ v[i]·2^(62i)`, limbs
// `0..len-1` in `[0, 2^62)` and the top limb signed; products of a limb by a matrix entry fit in
// an `i128` accumulator.

/// 62-bit limb mask.
const M62: u64 = u64::MAX >> 2;
/// Signed-62 limbs for values up to 2048 bits plus sign and a factor 2 (`(-2m, m)`):
/// `34 × 62 = 2108 ≥ 2050`.
const S62: usize = 34;

type Signed62 = [i64; S62];

/// The 2×2 transition matrix of 62 divsteps, scaled by `2^62`: `[f, g]·2^62 = T·[f0, g0]` with
/// `T = [[u, v], [q, r]]`.
#[derive(Clone, Copy)]
struct Trans {
    u: i64,
    v: i64,
    q: i64,
    r: i64,
}

/// Number of signed-62 limbs used for `L` 64-bit limbs: room for `(-2m, m)`.
const fn s62_len(l: usize) -> usize {
    (64 * l + 2).div_ceil(62)
}

/// Splits `x` (`L` limbs of 64 bits) into 62-bit limbs.
fn to_signed62<const L: usize>(x: &[u64; L]) -> Signed62 {
    let mut out = [0i64; S62];
    for (i, o) in out.iter_mut().enumerate() {
        let (limb, shift) = ((62 * i) / 64, (62 * i) % 64);
        if limb >= L {
            break;
        }
        let mut v = x[limb] >> shift;
        if shift > 2 && limb + 1 < L {
            v |= x[limb + 1] << (64 - shift);
        }
        *o = (v & M62) as i64;
    }
    out
}

/// Joins 62-bit limbs of a value in `[0, 2^(64L))` back into `L` limbs of 64 bits.
fn from_signed62<const L: usize>(x: &Signed62) -> [u64; L] {
    let mut out = [0u64; L];
    for (i, &xi) in x.iter().enumerate() {
        let v = xi as u64;
        let (limb, shift) = ((62 * i) / 64, (62 * i) % 64);
        if limb < L {
            out[limb] |= v << shift;
        }
        if shift > 2 && limb + 1 < L {
            out[limb + 1] |= v >> (64 - shift);
        }
    }
    out
}

/// 62 divsteps on the bottom words `f0` (odd) and `g0` of `f` and `g`, from `eta = -delta`
/// (steps 3 and 5). Returns the new `eta` and the matrix. **Variable time! Inputs must be
/// public!**
fn divsteps_62_vartime(mut eta: i64, f0: u64, g0: u64) -> (i64, Trans) {
    // Invariants (mod 2^64): u·f0 + v·g0 = f·2^(62-i), q·f0 + r·g0 = g·2^(62-i).
    let (mut u, mut v, mut q, mut r) = (1u64, 0u64, 0u64, 1u64);
    let (mut f, mut g) = (f0, g0);
    let mut i: u32 = 62;
    loop {
        // A run of zero bits of g: that many divsteps of the third kind at once. The sentinel
        // bit at position i stops the count at the divsteps left in this batch.
        let zeros = (g | (u64::MAX << i)).trailing_zeros();
        g >>= zeros;
        u <<= zeros;
        v <<= zeros;
        eta -= i64::from(zeros);
        i -= zeros;
        if i == 0 {
            break;
        }
        debug_assert!(f & 1 == 1 && g & 1 == 1);
        let w = if eta < 0 {
            // delta > 0 and g odd: (f, g) <- (g, -f), the first kind of divstep.
            eta = -eta;
            (f, g) = (g, f.wrapping_neg());
            (u, q) = (q, u.wrapping_neg());
            (v, r) = (r, v.wrapping_neg());
            // At most i steps remain, and no more than eta + 1 before eta's sign flips again.
            let limit = (eta + 1).min(i64::from(i)) as u32;
            // w = -g/f mod 2^min(limit, 6): f·(2 - f²) inverts f modulo 64 (f² ≡ 1 mod 8).
            let mask = (u64::MAX >> (64 - limit)) & 63;
            f.wrapping_mul(g)
                .wrapping_mul(f.wrapping_mul(f).wrapping_sub(2))
                & mask
        } else {
            // w = -g/f mod 2^min(limit, 4): f + 8·[(f + 1) & 4 ≠ 0] inverts f modulo 16.
            let limit = (eta + 1).min(i64::from(i)) as u32;
            let mask = (u64::MAX >> (64 - limit)) & 15;
            let inv = f.wrapping_add(((f.wrapping_add(1)) & 4) << 1);
            inv.wrapping_neg().wrapping_mul(g) & mask
        };
        // g + w·f has its bottom min(limit, 4 or 6) bits zero; the next round shifts them out.
        g = g.wrapping_add(f.wrapping_mul(w));
        q = q.wrapping_add(u.wrapping_mul(w));
        r = r.wrapping_add(v.wrapping_mul(w));
    }
    let t = Trans {
        u: u as i64,
        v: v as i64,
        q: q as i64,
        r: r as i64,
    };
    (eta, t)
}

/// `(f, g) <- T·(f, g) / 2^62` over the first `len` limbs (step 3; the division is exact).
/// **Variable time! Inputs must be public!**
fn update_fg_vartime(f: &mut Signed62, g: &mut Signed62, t: Trans, len: usize) {
    let (u, v, q, r) = (
        i128::from(t.u),
        i128::from(t.v),
        i128::from(t.q),
        i128::from(t.r),
    );
    let mut cf = u * i128::from(f[0]) + v * i128::from(g[0]);
    let mut cg = q * i128::from(f[0]) + r * i128::from(g[0]);
    debug_assert!(cf as u64 & M62 == 0 && cg as u64 & M62 == 0);
    cf >>= 62;
    cg >>= 62;
    for k in 1..len {
        cf += u * i128::from(f[k]) + v * i128::from(g[k]);
        cg += q * i128::from(f[k]) + r * i128::from(g[k]);
        f[k - 1] = (cf as u64 & M62) as i64;
        g[k - 1] = (cg as u64 & M62) as i64;
        cf >>= 62;
        cg >>= 62;
    }
    f[len - 1] = cf as i64;
    g[len - 1] = cg as i64;
}

/// `(d, e) <- T·(d, e) / 2^62 mod m`, keeping both in `(-2m, m)` (step 4). `m_inv62` is
/// `m⁻¹ mod 2^62`. **Variable time! Inputs must be public!**
fn update_de(d: &mut Signed62, e: &mut Signed62, t: Trans, m: &Signed62, m_inv62: u64, len: usize) {
    let (u, v, q, r) = (t.u, t.v, t.q, t.r);
    debug_assert!(
        u.unsigned_abs() + v.unsigned_abs() <= 1 << 62
            && q.unsigned_abs() + r.unsigned_abs() <= 1 << 62
    );
    // Start from m·[u, q] if d < 0 and m·[v, r] if e < 0, which brings the result back above -2m.
    let sd = d[len - 1] >> 63;
    let se = e[len - 1] >> 63;
    let mut md = (u & sd) + (v & se);
    let mut me = (q & sd) + (r & se);
    let mut cd = i128::from(u) * i128::from(d[0]) + i128::from(v) * i128::from(e[0]);
    let mut ce = i128::from(q) * i128::from(d[0]) + i128::from(r) * i128::from(e[0]);
    // Then subtract the residue mod 2^62 that makes T·[d, e] + m·[md, me] ≡ 0 (mod 2^62).
    md -= (m_inv62.wrapping_mul(cd as u64).wrapping_add(md as u64) & M62) as i64;
    me -= (m_inv62.wrapping_mul(ce as u64).wrapping_add(me as u64) & M62) as i64;
    let (md, me) = (i128::from(md), i128::from(me));
    cd += i128::from(m[0]) * md;
    ce += i128::from(m[0]) * me;
    debug_assert!(cd as u64 & M62 == 0 && ce as u64 & M62 == 0);
    cd >>= 62;
    ce >>= 62;
    for k in 1..len {
        let (dk, ek, mk) = (i128::from(d[k]), i128::from(e[k]), i128::from(m[k]));
        cd += i128::from(u) * dk + i128::from(v) * ek + mk * md;
        ce += i128::from(q) * dk + i128::from(r) * ek + mk * me;
        d[k - 1] = (cd as u64 & M62) as i64;
        e[k - 1] = (ce as u64 & M62) as i64;
        cd >>= 62;
        ce >>= 62;
    }
    d[len - 1] = cd as i64;
    e[len - 1] = ce as i64;
}

/// `d <- sign·d + k·m` (`sign`, `k` ∈ {-1, 0, 1}), limbs renormalised.
fn neg_add(d: &mut Signed62, sign: i64, k: i64, m: &Signed62, len: usize) {
    let mut c: i128 = 0;
    for idx in 0..len {
        c += i128::from(sign) * i128::from(d[idx]) + i128::from(k) * i128::from(m[idx]);
        if idx + 1 == len {
            d[idx] = c as i64;
        } else {
            d[idx] = (c as u64 & M62) as i64;
            c >>= 62;
        }
    }
}

/// `a⁻¹ mod n` for odd `n` and `0 < a < n`, or `None` if `gcd(a, n) ≠ 1` or the inputs are out
/// of range, by safegcd with batches of 62 divsteps (steps 1-6 above). `L ≤ 32`.
/// **Variable time! Inputs must be public!**
pub(crate) fn inv_vartime<const L: usize>(a: &[u64; L], n: &[u64; L]) -> Option<[u64; L]> {
    const { assert!(L <= 32) };
    if is_zero(a) == 1 || n[0] & 1 == 0 || lt_bit(a, n) == 0 {
        return None;
    }
    let len_de = s62_len(L);
    let m = to_signed62(n);
    // m⁻¹ mod 2^64 by Newton's iteration (each step doubles the correct low bits; m⁻¹ ≡ m mod 8).
    let mut m_inv = n[0];
    for _ in 0..5 {
        m_inv = m_inv.wrapping_mul(2u64.wrapping_sub(n[0].wrapping_mul(m_inv)));
    }
    let m_inv62 = m_inv & M62;
    let (mut f, mut g) = (m, to_signed62(a));
    let (mut d, mut e) = ([0i64; S62], [0i64; S62]);
    e[0] = 1;
    let mut eta: i64 = -1;
    let mut len = len_de;
    // Hard stop, not reached for valid inputs: B-Y Theorem 11.2 bounds the divsteps by
    // (49d + 80)/17 < 3d for d = 64L ≥ 64 bits; the batches below allow more than 4d divsteps.
    // Reaching it returns None (RSA blinding then draws fresh values), never a wrong inverse.
    let max_batches = (4 * 64 * L).div_ceil(62) + 2;
    let mut done = false;
    for _ in 0..max_batches {
        let (eta_next, t) = divsteps_62_vartime(eta, f[0] as u64, g[0] as u64);
        eta = eta_next;
        update_de(&mut d, &mut e, t, &m, m_inv62, len_de);
        update_fg_vartime(&mut f, &mut g, t, len);
        if g[0] == 0 && g[1..len].iter().all(|&x| x == 0) {
            done = true;
            break;
        }
        // Both top limbs only sign (0 or -1): fold them into the limb below.
        let (fn_, gn) = (f[len - 1], g[len - 1]);
        if len >= 2 && (fn_ == 0 || fn_ == -1) && (gn == 0 || gn == -1) {
            f[len - 2] |= fn_ << 62;
            g[len - 2] |= gn << 62;
            f[len - 1] = 0;
            g[len - 1] = 0;
            len -= 1;
        }
    }
    if !done {
        return None;
    }
    // g = 0, so |f| = gcd(a, n): an inverse exists iff f = ±1 (step 2).
    let plus_one = f[0] == 1 && f[1..len].iter().all(|&x| x == 0);
    let minus_one = if len == 1 {
        f[0] == -1
    } else {
        f[len - 1] == -1 && f[..len - 1].iter().all(|&x| x as u64 == M62)
    };
    if !plus_one && !minus_one {
        return None;
    }
    // x⁻¹ = ±d, d ∈ (-2m, m): negate if f = -1 (then (-m, 2m)), add m while negative, subtract
    // m if ≥ m (step 6).
    if minus_one {
        neg_add(&mut d, -1, 0, &m, len_de);
    }
    while d[len_de - 1] < 0 {
        neg_add(&mut d, 1, 1, &m, len_de);
    }
    let mut reduced = d;
    neg_add(&mut reduced, 1, -1, &m, len_de);
    if reduced[len_de - 1] >= 0 {
        d = reduced;
    }
    Some(from_signed62(&d))
}

/// `x / 2 mod n` for odd `n` and `x < n`. **Variable time!** Inputs must be public!
#[cfg(test)]
fn half_mod_vartime<const L: usize>(x: &mut [u64; L], n: &[u64; L]) {
    if x[0] & 1 == 1 {
        let mut carry = 0;
        for (xi, &ni) in x.iter_mut().zip(n) {
            (*xi, carry) = adc(*xi, ni, carry);
        }
        shr1(x, carry);
    } else {
        shr1(x, 0);
    }
}

/// The previous bit-at-a-time inversion, kept for the cross-checks and the speed probe only:
/// `a⁻¹ mod n` for odd `n`, or `None` if `gcd(a, n) != 1` (HAC 14.61 specialised to odd `n`:
/// invariants `x1·a ≡ u`, `x2·a ≡ v (mod n)`, halving `u`/`v` and their coefficients, subtracting
/// the smaller). **Variable time! Inputs must be public!**
#[cfg(test)]
pub(crate) fn inv_vartime_binary<const L: usize>(a: &[u64; L], n: &[u64; L]) -> Option<[u64; L]> {
    let (mut u, mut v) = (*a, *n);
    let mut x1 = [0u64; L];
    x1[0] = 1;
    let mut x2 = [0u64; L];
    if is_zero(&u) == 1 || n[0] & 1 == 0 || lt_bit(&u, n) == 0 {
        return None;
    }
    while is_zero(&u) == 0 {
        while u[0] & 1 == 0 {
            shr1(&mut u, 0);
            half_mod_vartime(&mut x1, n);
        }
        while v[0] & 1 == 0 {
            shr1(&mut v, 0);
            half_mod_vartime(&mut x2, n);
        }
        if lt_bit(&u, &v) == 0 {
            sub_assign(&mut u, &v);
            sub_mod(&mut x1, &x2, n);
        } else {
            sub_assign(&mut v, &u);
            sub_mod(&mut x2, &x1, n);
        }
    }
    let mut one = [0u64; L];
    one[0] = 1;
    (eq_bit(&v, &one) == 1).then_some(x2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_exponent_inverse_small() {
        // phi = 65537·3 + 1 has an inverse; phi = 65537·4 does not.
        let phi = Uint::<1>([65537 * 3 + 1]);
        let d = inv_public_exponent::<1, 65537>(&phi).unwrap();
        assert_eq!((u128::from(d.0[0]) * 65537) % u128::from(phi.0[0]), 1);
        assert!(inv_public_exponent::<1, 65537>(&Uint([65537 * 4])).is_none());
        let phi = Uint::<2>([0xfffe_0000_0000_0000, 0x7fff_ffff_ffff_ffff]);
        let d = inv_public_exponent::<2, 65537>(&phi).unwrap();
        let d128 = (u128::from(d.0[1]) << 64) | u128::from(d.0[0]);
        let phi128 = (u128::from(phi.0[1]) << 64) | u128::from(phi.0[0]);
        assert!(d128 < phi128);
        // d·e mod phi == 1, computed by hand in u128 pieces: d·e = q·phi + 1.
        let de_lo = d128.wrapping_mul(65537);
        let q = (d128 >> 64) * 65537 / (phi128 >> 64); // estimate, then fix
        let mut ok = false;
        for qq in q.saturating_sub(2)..q + 3 {
            if de_lo == qq.wrapping_mul(phi128).wrapping_add(1) {
                ok = true;
            }
        }
        assert!(ok);
    }

    #[test]
    fn vartime_inverse_small() {
        let n = [1_000_000_007u64];
        for a in [1u64, 2, 3, 12345, 1_000_000_006] {
            let inv = inv_vartime(&[a], &n).unwrap();
            assert_eq!(u128::from(a) * u128::from(inv[0]) % 1_000_000_007, 1);
        }
        assert!(inv_vartime(&[0], &n).is_none());
        assert!(inv_vartime(&[6], &[9]).is_none());
        assert!(inv_vartime(&[9], &[9]).is_none());
    }
}
