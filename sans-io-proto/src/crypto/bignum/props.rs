//! Property tests: every fixed-width operation against num-bigint on random inputs, with the
//! edge values 0, 1 and n-1 and moduli whose top limbs are all ones (the DH prime's shape).

use num_bigint::BigUint;
use num_traits::{One, Zero};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use super::inverse::{inv_mod_prime, inv_public_exponent, inv_vartime, inv_vartime_binary};
use super::limbs::{cond_sub, eq_bit, lt_bit, mul_wide, rem_small, sub_mod};
use super::modexp::{pow, pow_public};
use super::{Modulus, Uint};
use crate::crypto::prime::{is_probable_prime, miller_rabin_secret};

fn big(x: &[u64]) -> BigUint {
    let mut bytes = Vec::with_capacity(8 * x.len());
    for limb in x.iter().rev() {
        bytes.extend_from_slice(&limb.to_be_bytes());
    }
    BigUint::from_bytes_be(&bytes)
}

fn fixed<const L: usize>(x: &BigUint) -> [u64; L] {
    let mut out = [0u64; L];
    for (o, d) in out.iter_mut().zip(x.iter_u64_digits()) {
        *o = d;
    }
    out
}

/// An odd modulus with its top bit set; `shape` 1 forces the top two limbs to all ones.
fn modulus<const L: usize>(mut n: [u64; L], shape: u8) -> [u64; L] {
    n[0] |= 1;
    n[L - 1] |= 1 << 63;
    if shape == 1 && L >= 2 {
        n[L - 1] = u64::MAX;
        n[L - 2] = u64::MAX;
    }
    n
}

/// An operand below `n`: a random value reduced, or one of 0, 1, n-1.
fn operand(x: &BigUint, n: &BigUint, pick: u8) -> BigUint {
    match pick % 8 {
        0 => BigUint::zero(),
        1 => BigUint::one(),
        2 => n - 1u32,
        _ => x % n,
    }
}

fn limbs<const L: usize>() -> impl Strategy<Value = [u64; L]> {
    proptest::collection::vec(any::<u64>(), L).prop_map(|v| core::array::from_fn(|i| v[i]))
}

fn check_montgomery<const L: usize>(n: [u64; L], a: [u64; L], b: [u64; L], pa: u8, pb: u8) {
    let m = Modulus::new(&Uint(n));
    let nb = big(&n);
    let r = BigUint::one() << (64 * L);
    assert_eq!(big(&m.one), &r % &nb, "R mod n");
    let (x, y) = (operand(&big(&a), &nb, pa), operand(&big(&b), &nb, pb));
    let (xm, ym) = (m.to_mont(&fixed(&x)), m.to_mont(&fixed(&y)));
    assert_eq!(big(&xm), (&x * &r) % &nb, "to_mont");
    assert_eq!(big(&m.out_of_mont(&xm)), x, "round trip");
    assert_eq!(
        big(&m.out_of_mont(&m.mul(&xm, &ym))),
        (&x * &y) % &nb,
        "mul"
    );
    assert_eq!(big(&m.out_of_mont(&m.sqr(&xm))), (&x * &x) % &nb, "sqr");
    // The portable code too (the calls above take the fast back end where there is one).
    assert_eq!(m.mul_portable(&xm, &ym), m.mul(&xm, &ym), "portable mul");
    assert_eq!(m.sqr_portable(&xm), m.sqr(&xm), "portable sqr");
    // to_mont accepts unreduced values below R.
    assert_eq!(
        big(&m.out_of_mont(&m.to_mont(&a))),
        big(&a) % &nb,
        "unreduced"
    );
    // Double-width reduction of a·b (both unreduced, below R).
    let mut wide = vec![0u64; 2 * L];
    mul_wide(&a, &b, &mut wide);
    assert_eq!(
        big(&m.reduce_wide(&wide)),
        (big(&a) * big(&b)) % &nb,
        "reduce_wide"
    );
}

/// A modulus of a named shape: 0 random, 1 the top two limbs all ones, 2 all ones (`R - 1`),
/// 3 the smallest, `R/2 + 1`; always odd with the top bit set.
fn shaped<const L: usize>(n: [u64; L], shape: u8) -> [u64; L] {
    match shape % 4 {
        2 => [u64::MAX; L],
        3 => {
            let mut m = [0u64; L];
            m[0] = 1;
            m[L - 1] = 1 << 63;
            m
        }
        s => modulus(n, s),
    }
}

/// The MULX/ADX back end against the portable code and num-bigint: Montgomery product and
/// square of reduced operands (random or 0, 1, n-1, with every modulus shape), and the product
/// with an unreduced first factor (below R, here all ones or random), which CIOS allows.
#[cfg(target_arch = "x86_64")]
fn check_backends<const L: usize>(
    n: [u64; L],
    a: [u64; L],
    b: [u64; L],
    shape: u8,
    pa: u8,
    pb: u8,
) {
    let Some(adx) = super::x86_64::Adx::host() else {
        eprintln!("no BMI2/ADX on this CPU: only the portable back end exists here");
        return;
    };
    let n = shaped(n, shape);
    let m = Modulus::new(&Uint(n));
    let nb = big(&n);
    let r = BigUint::one() << (64 * L);
    let (x, y) = (operand(&big(&a), &nb, pa), operand(&big(&b), &nb, pb));
    let (x, y) = (fixed::<L>(&x), fixed::<L>(&y));
    // x·y·R⁻¹ mod n is the z < n with z·R ≡ x·y.
    let is_redc = |z: &[u64; L], p: BigUint| big(z) < nb && (big(z) * &r) % &nb == p % &nb;
    let fast = adx.mul(&x, &y, &m.n, m.n0()).expect("width supported");
    assert_eq!(fast, m.mul_portable(&x, &y), "mul: adx against portable");
    assert!(is_redc(&fast, big(&x) * big(&y)), "mul against num-bigint");
    let fast = adx.sqr(&x, &m.n, m.n0()).expect("width supported");
    assert_eq!(fast, m.sqr_portable(&x), "sqr: adx against portable");
    assert!(is_redc(&fast, big(&x) * big(&x)), "sqr against num-bigint");
    for wide in [a, [u64::MAX; L]] {
        let fast = adx.mul(&wide, &y, &m.n, m.n0()).expect("width supported");
        assert_eq!(
            fast,
            m.mul_portable(&wide, &y),
            "unreduced mul: adx against portable"
        );
        assert!(
            is_redc(&fast, big(&wide) * big(&y)),
            "unreduced mul against num-bigint"
        );
    }
}

fn check_pow<const L: usize>(n: [u64; L], a: [u64; L], e: [u64; L], pa: u8, e_pick: u8) {
    let m = Modulus::new(&Uint(n));
    let nb = big(&n);
    let x = operand(&big(&a), &nb, pa);
    let e = match e_pick % 6 {
        0 => [0u64; L],
        1 => {
            let mut one = [0u64; L];
            one[0] = 1;
            one
        }
        2 => [u64::MAX; L],
        _ => e,
    };
    let xm = m.to_mont(&fixed(&x));
    let got = m.out_of_mont(&pow(&m, &xm, &e, 64 * L));
    assert_eq!(big(&got), x.modpow(&big(&e), &nb), "pow");
    // A narrower public width reads only the low bits of the exponent.
    let mut low = e;
    for limb in low.iter_mut().skip(1) {
        *limb = 0;
    }
    let got = m.out_of_mont(&pow(&m, &xm, &low, 64));
    assert_eq!(big(&got), x.modpow(&big(&low), &nb), "pow, 64-bit width");
    for pe in [0u64, 1, 3, 65537, e[0]] {
        let got = m.out_of_mont(&pow_public(&m, &xm, pe));
        assert_eq!(
            big(&got),
            x.modpow(&BigUint::from(pe), &nb),
            "pow_public {pe}"
        );
    }
}

fn check_limbs<const L: usize>(n: [u64; L], a: [u64; L], b: [u64; L], pa: u8, pb: u8) {
    let nb = big(&n);
    let (ab, bb) = (big(&a), big(&b));
    assert_eq!(lt_bit(&a, &b) == 1, ab < bb);
    assert_eq!(eq_bit(&a, &a), 1);
    assert_eq!(eq_bit(&a, &b) == 1, ab == bb);
    let (x, y) = (operand(&ab, &nb, pa), operand(&bb, &nb, pb));
    let mut d = fixed::<L>(&x);
    sub_mod(&mut d, &fixed(&y), &n);
    assert_eq!(big(&d), ((&x + &nb) - &y) % &nb, "sub_mod");
    // cond_sub on a value below 2n given as (hi, limbs).
    let two_n_minus = (&x + &nb) % (BigUint::one() << (64 * L + 1));
    let mut t = fixed::<L>(&(&two_n_minus % (BigUint::one() << (64 * L))));
    let hi = u64::from(two_n_minus.bits() > (64 * L) as u64);
    cond_sub(&mut t, hi, &n);
    assert_eq!(big(&t), &x % &nb, "cond_sub");
    let mut wide = vec![0u64; 2 * L];
    mul_wide(&a, &b, &mut wide);
    assert_eq!(big(&wide), &ab * &bb, "mul_wide");
    for d in [2u32, 3, 65537, 16381, u32::MAX] {
        assert_eq!(BigUint::from(rem_small(&a, d)), &ab % d, "rem_small {d}");
    }
}

/// The variable-time inverse against num-bigint's `modinv` and the previous binary algorithm.
/// `shape`: 0 random odd modulus with the top bit set, 1 top two limbs all ones, 2 a multiple of
/// 3 (so multiples of 3 have no inverse). `pick`: 0 → 0, 1 → 1, 2 → n-1, 3 → a multiple of 3,
/// 4 → n itself (out of range), otherwise a random value below n.
fn check_inverse<const L: usize>(n: [u64; L], a: [u64; L], shape: u8, pick: u8) {
    let mut nb = big(&modulus(n, shape.min(1)));
    if shape == 2 {
        nb = (&nb / 6u32) * 6u32 - 3u32;
    }
    let ab = big(&a);
    let x = match pick % 8 {
        0 => BigUint::zero(),
        1 => BigUint::one(),
        2 => &nb - 1u32,
        3 => (&ab % (&nb / 3u32)) * 3u32,
        4 => nb.clone(),
        _ => &ab % &nb,
    };
    let expected = if x < nb { x.modinv(&nb) } else { None };
    let got = inv_vartime(&fixed::<L>(&x), &fixed(&nb));
    assert_eq!(got.map(|v| big(&v)), expected, "n = {nb:x}, x = {x:x}");
    if let Some(v) = got {
        assert_eq!((big(&v) * &x) % &nb, BigUint::one());
    }
    assert_eq!(
        got,
        inv_vartime_binary(&fixed::<L>(&x), &fixed(&nb)),
        "against HAC 14.61"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn vartime_inverse_matches_num_bigint_1024(n in limbs::<16>(), a in limbs::<16>(), s in 0u8..3, pick in any::<u8>()) {
        check_inverse(n, a, s, pick);
    }

    #[test]
    fn vartime_inverse_matches_num_bigint_2048(n in limbs::<32>(), a in limbs::<32>(), s in 0u8..3, pick in any::<u8>()) {
        check_inverse(n, a, s, pick);
    }

    #[test]
    fn vartime_inverse_matches_num_bigint_small_widths(n in limbs::<2>(), a in limbs::<2>(), n1 in any::<u64>(), a1 in any::<u64>(), s in 0u8..3, pick in any::<u8>()) {
        check_inverse(n, a, s, pick);
        check_inverse([n1], [a1], s, pick);
        check_inverse([n[0], n[1], a[0], a[1]], [a[1], a[0], n[1], n[0]], s, pick);
    }

    #[test]
    fn montgomery_matches_num_bigint_256(n in limbs::<4>(), a in limbs::<4>(), b in limbs::<4>(), s in 0u8..2, pa in any::<u8>(), pb in any::<u8>()) {
        check_montgomery(modulus(n, s), a, b, pa, pb);
    }

    #[test]
    fn montgomery_matches_num_bigint_1024(n in limbs::<16>(), a in limbs::<16>(), b in limbs::<16>(), s in 0u8..2, pa in any::<u8>(), pb in any::<u8>()) {
        check_montgomery(modulus(n, s), a, b, pa, pb);
    }

    #[test]
    fn montgomery_matches_num_bigint_2048(n in limbs::<32>(), a in limbs::<32>(), b in limbs::<32>(), s in 0u8..2, pa in any::<u8>(), pb in any::<u8>()) {
        check_montgomery(modulus(n, s), a, b, pa, pb);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn adx_matches_portable_and_num_bigint_1024(n in limbs::<16>(), a in limbs::<16>(), b in limbs::<16>(), s in 0u8..4, pa in any::<u8>(), pb in any::<u8>()) {
        check_backends(n, a, b, s, pa, pb);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn adx_matches_portable_and_num_bigint_2048(n in limbs::<32>(), a in limbs::<32>(), b in limbs::<32>(), s in 0u8..4, pa in any::<u8>(), pb in any::<u8>()) {
        check_backends(n, a, b, s, pa, pb);
    }

    #[test]
    fn one_limb_moduli_of_any_shape(n in any::<u64>(), a in any::<u64>(), b in any::<u64>()) {
        let n = (n | 1).max(3);
        let m = Modulus::<1>::new_any(&Uint([n]));
        let (a, b) = (a % n, b % n);
        let want = u128::from(a) * u128::from(b) % u128::from(n);
        let got = m.out_of_mont(&m.mul(&m.to_mont(&[a]), &m.to_mont(&[b])));
        prop_assert_eq!(u128::from(got[0]), want);
    }

    #[test]
    fn limb_primitives_match_num_bigint(n in limbs::<4>(), a in limbs::<4>(), b in limbs::<4>(), s in 0u8..2, pa in any::<u8>(), pb in any::<u8>()) {
        check_limbs(modulus(n, s), a, b, pa, pb);
    }

    #[test]
    fn limb_primitives_match_num_bigint_1024(n in limbs::<16>(), a in limbs::<16>(), b in limbs::<16>(), s in 0u8..2, pa in any::<u8>(), pb in any::<u8>()) {
        check_limbs(modulus(n, s), a, b, pa, pb);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn modexp_matches_num_bigint_256(n in limbs::<4>(), a in limbs::<4>(), e in limbs::<4>(), s in 0u8..2, pa in any::<u8>(), pe in any::<u8>()) {
        check_pow(modulus(n, s), a, e, pa, pe);
    }

    #[test]
    fn modexp_matches_num_bigint_1024(n in limbs::<16>(), a in limbs::<16>(), e in limbs::<16>(), s in 0u8..2, pa in any::<u8>(), pe in any::<u8>()) {
        check_pow(modulus(n, s), a, e, pa, pe);
    }

    #[test]
    fn inverses_match_num_bigint(a in limbs::<4>(), pa in any::<u8>(), phi in limbs::<16>()) {
        // Fermat modulo the prime 2^255 - 19 ... in a 4-limb modulus with the top bit set we
        // need a prime ≥ 2^255: 2^256 - 189 is prime.
        let p = (BigUint::one() << 256u32) - 189u32;
        prop_assume!(is_probable_prime(&p, 10, &mut ChaCha8Rng::seed_from_u64(1)));
        let m = Modulus::<4>::new(&Uint(fixed(&p)));
        let x = operand(&big(&a), &p, pa);
        let inv = m.out_of_mont(&inv_mod_prime(&m, &m.to_mont(&fixed(&x))));
        if x.is_zero() {
            prop_assert!(big(&inv).is_zero());
        } else {
            prop_assert_eq!((big(&inv) * &x) % &p, BigUint::one());
        }
        // Variable-time inverse modulo an odd composite, against the gcd.
        let n = big(&modulus::<4>(fixed(&(big(&a) + 7u32)), 0));
        let y = (big(&a) * 3u32 + 5u32) % &n;
        match inv_vartime(&fixed::<4>(&y), &fixed(&n)) {
            Some(v) => prop_assert_eq!((big(&v) * &y) % &n, BigUint::one()),
            None => prop_assert!(num_integer::Integer::gcd(&y, &n) != BigUint::one() || y.is_zero()),
        }
        // e⁻¹ mod phi for an even phi.
        let mut phi = phi;
        phi[0] &= !1;
        let phib = big(&phi);
        prop_assume!(!phib.is_zero());
        let e = BigUint::from(65537u32);
        match inv_public_exponent::<16, 65537>(&Uint(phi)) {
            Some(d) => {
                prop_assert!(big(&d.0) < phib);
                prop_assert_eq!((big(&d.0) * &e) % &phib, BigUint::one());
            }
            None => prop_assert!((&phib % &e).is_zero()),
        }
    }

    #[test]
    fn constant_time_miller_rabin_matches_the_reference(n in limbs::<2>(), seed in any::<u64>()) {
        let w = modulus::<2>(n, 0);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let want = is_probable_prime(&big(&w), 20, &mut rng);
        // Candidates with 64 or more trailing zeros in w - 1 are refused by design.
        prop_assume!(w[0] != 1);
        prop_assert_eq!(miller_rabin_secret(&Uint(w), 20, &mut rng), want);
    }
}

#[test]
fn modexp_2048_with_256_bit_exponents_matches_num_bigint() {
    // The DH shape: 2048-bit modulus with all-ones top limbs, 256-bit exponent.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for i in 0..6u64 {
        let n: [u64; 32] = core::array::from_fn(|_| rand_core::RngCore::next_u64(&mut rng));
        let n = modulus(n, (i % 2) as u8);
        let a: [u64; 32] = core::array::from_fn(|_| rand_core::RngCore::next_u64(&mut rng));
        let e: [u64; 4] = core::array::from_fn(|_| rand_core::RngCore::next_u64(&mut rng));
        let m = Modulus::new(&Uint(n));
        let x = big(&a) % big(&n);
        let got = m.out_of_mont(&pow(&m, &m.to_mont(&fixed(&x)), &e, 256));
        assert_eq!(big(&got), x.modpow(&big(&e), &big(&n)));
    }
}

/// Every modulus shape with every pair of edge operands (0, 1, n-1, and a random value), both
/// widths, deterministically (the proptests draw edge values only now and then).
#[cfg(target_arch = "x86_64")]
#[test]
fn adx_edge_values_every_shape() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut next = || rand_core::RngCore::next_u64(&mut rng);
    for shape in 0..4 {
        for pa in 0..4 {
            for pb in 0..4 {
                let (n, a, b) = (
                    core::array::from_fn(|_| next()),
                    core::array::from_fn(|_| next()),
                    core::array::from_fn(|_| next()),
                );
                check_backends::<16>(n, a, b, shape, pa, pb);
                let (n, a, b) = (
                    core::array::from_fn(|_| next()),
                    core::array::from_fn(|_| next()),
                    core::array::from_fn(|_| next()),
                );
                check_backends::<32>(n, a, b, shape, pa, pb);
            }
        }
    }
}

/// Every odd modulus below 300 and every operand up to it, against num-bigint.
#[test]
fn vartime_inverse_exhaustive_small_moduli() {
    for n in (3u64..300).step_by(2) {
        for x in 0..=n {
            let expected = (x < n)
                .then(|| BigUint::from(x).modinv(&BigUint::from(n)))
                .flatten();
            let got = inv_vartime(&[x], &[n]).map(|v| BigUint::from(v[0]));
            assert_eq!(got, expected, "{x}⁻¹ mod {n}");
        }
    }
    // The largest one-limb moduli, with operands near both ends.
    for n in [u64::MAX, u64::MAX - 2, (1 << 63) + 1] {
        for x in [1, 2, 3, n - 1, n - 2, n / 2, n / 3] {
            let expected = BigUint::from(x).modinv(&BigUint::from(n));
            let got = inv_vartime(&[x], &[n]).map(|v| BigUint::from(v[0]));
            assert_eq!(got, expected, "{x}⁻¹ mod {n}");
        }
    }
}
