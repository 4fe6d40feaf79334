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
//! - [`inv_vartime`]: a plain binary extended Euclid (HAC 14.61, odd modulus). **Variable time:**
//!   only for public inputs, i.e. the RSA blinding inverse after the operand was multiplied by a
//!   secret uniformly random mask (see `rsa::private_op`).

use zeroize::Zeroize;

use super::limbs::{
    Uint, adc, eq_bit, is_zero, lt_bit, mac, rem_small, sbb, shr1, sub_assign, sub_mod,
};
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

/// `x / 2 mod n` for odd `n` and `x < n`. **Variable time!** Inputs must be public!
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

/// `a⁻¹ mod n` for odd `n`, or `None` if `gcd(a, n) != 1` (HAC 14.61 specialised to odd `n`:
/// invariants `x1·a ≡ u`, `x2·a ≡ v (mod n)`, halving `u`/`v` and their coefficients, subtracting
/// the smaller). **Variable time! Inputs must be public!**
pub(crate) fn inv_vartime<const L: usize>(a: &[u64; L], n: &[u64; L]) -> Option<[u64; L]> {
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
