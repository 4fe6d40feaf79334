//! Fixed-width, constant-time big-number arithmetic for every secret exponent and modulus in the
//! crate (RSA CRT, RSA key generation, DH), written by hand like the other primitives.
//!
//! - [`limbs`]: `Uint<L>` (L × 64-bit limbs, wiped on drop) and the masked limb primitives:
//!   add/sub with carry, select, compare, conditional subtraction.
//! - [`montgomery`]: Montgomery multiplication (CIOS) and squaring, modular reduction of
//!   double-width values, conversion in and out of Montgomery form.
//! - [`modexp`]: fixed-window exponentiation with full-table masked lookups.
//! - [`inverse`]: Fermat inversion modulo a secret prime, `e⁻¹ mod (p-1)` through the small
//!   public `e`, and a **variable-time** safegcd inversion (62 divsteps a batch) for public
//!   (masked) operands.
//!
//! Widths: 16 limbs (1024 bits) for the RSA primes and CRT halves, 32 limbs (2048 bits) for the
//! RSA modulus and the DH group, 4 limbs (256 bits) for DH exponents.
//!
//! "Constant time" is checked by a tool: `scripts/ctgrind.sh` runs these functions under valgrind
//! with every secret marked undefined (Langley's ctgrind method) and fails on any branch or memory
//! index derived from one. Values that are public by design are passed through [`declassify`]
//! first, each with a comment saying why it is public.

pub(crate) mod inverse;
pub(crate) mod limbs;
pub(crate) mod modexp;
pub(crate) mod montgomery;
#[cfg(test)]
mod props;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86_64;

pub(crate) use limbs::Uint;
pub(crate) use montgomery::Modulus;

/// Marks a value derived from secrets as public: a no-op, except in the constant-time check build
/// (feature `ctgrind`), where it tells valgrind the value's bytes are defined so that branching on
/// it is not reported. Every call site says why the value is public by design.
#[inline(always)]
pub(crate) fn declassify<T>(value: T) -> T {
    #[cfg(feature = "ctgrind")]
    {
        let mut v = value;
        ctgrind::make_defined(&mut v);
        v
    }
    #[cfg(not(feature = "ctgrind"))]
    {
        value
    }
}

#[cfg(test)]
mod speed {
    use super::inverse::{inv_vartime, inv_vartime_binary};
    use super::modexp::pow;
    use super::*;
    use std::time::Instant;

    fn time<R>(label: &str, iters: u32, mut f: impl FnMut() -> R) {
        let t = Instant::now();
        for _ in 0..iters {
            core::hint::black_box(f());
        }
        eprintln!(
            "{label}: {:.3} us",
            t.elapsed().as_secs_f64() * 1e6 / f64::from(iters)
        );
    }

    #[test]
    #[ignore = "timing printout, run with --release --ignored --nocapture"]
    fn primitive_speed() {
        let mut n16 = Uint::<16>([0x9e37_79b9_7f4a_7c15; 16]);
        n16.0[15] |= 1 << 63;
        n16.0[0] |= 1;
        let m16 = Modulus::new(&n16);
        let a16 = m16.to_mont(&[0x1234_5678_9abc_def1; 16]);
        let mut n32 = Uint::<32>([0x9e37_79b9_7f4a_7c15; 32]);
        n32.0[31] |= 1 << 63;
        n32.0[0] |= 1;
        let m32 = Modulus::new(&n32);
        let a32 = m32.to_mont(&[0x1234_5678_9abc_def1; 32]);
        time("mul16 portable", 100_000, || m16.mul_portable(&a16, &a16));
        time("sqr16 portable", 100_000, || m16.sqr_portable(&a16));
        time("mul32 portable", 30_000, || m32.mul_portable(&a32, &a32));
        time("sqr32 portable", 30_000, || m32.sqr_portable(&a32));
        time("mul16", 100_000, || m16.mul(&a16, &a16));
        time("sqr16", 100_000, || m16.sqr(&a16));
        time("mul32", 30_000, || m32.mul(&a32, &a32));
        time("sqr32", 30_000, || m32.sqr(&a32));
        time("pow16 (1024-bit exp)", 400, || pow(&m16, &a16, &a16, 1024));
        time("pow32 (256-bit exp)", 100, || {
            pow(&m32, &a32, &a32[..4], 256)
        });
        time("Modulus::new 16", 100, || Modulus::new(&n16));
        time("Modulus::new 32", 100, || Modulus::new(&n32));
        // A value without structure (splitmix64 stream) below n32.
        let mut seed = 0x0123_4567_89ab_cdefu64;
        let r32: [u64; 32] = core::array::from_fn(|_| {
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let z = (seed ^ (seed >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) >> 1
        });
        time(
            "inv_vartime 32 (safegcd, 62 divsteps a batch)",
            2000,
            || inv_vartime(&r32, &n32.0),
        );
        time("inv_vartime_binary 32 (HAC 14.61, before)", 100, || {
            inv_vartime_binary(&r32, &n32.0)
        });
        let be = |x: &[u64]| {
            let bytes: Vec<u8> = x.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
            num_bigint::BigUint::from_bytes_be(&bytes)
        };
        let (rb, nb) = (be(&r32), be(&n32.0));
        time("num-bigint BigUint::modinv 2048", 500, || rb.modinv(&nb));
    }
}

#[cfg(test)]
mod count {
    use super::*;

    fn probe<const L: usize>(op: &str, backend: &str) {
        let mut n = Uint::<L>([0x9e37_79b9_7f4a_7c15; L]);
        n.0[L - 1] |= 1 << 63;
        n.0[0] |= 1;
        let m = Modulus::new(&n);
        let mut a = m.to_mont(&[0x1234_5678_9abc_def1; L]);
        #[cfg(target_arch = "x86_64")]
        let adx = (backend == "adx").then(|| x86_64::Adx::host().expect("BMI2 and ADX"));
        #[cfg(not(target_arch = "x86_64"))]
        let adx: Option<()> = None;
        for _ in 0..1000 {
            a = match (op, adx) {
                #[cfg(target_arch = "x86_64")]
                ("mul", Some(x)) => x.mul(&a, &a, &m.n, m.n0()).unwrap(),
                #[cfg(target_arch = "x86_64")]
                ("sqr", Some(x)) => x.sqr(&a, &m.n, m.n0()).unwrap(),
                ("mul", _) => m.mul_portable(&a, &a),
                ("sqr", _) => m.sqr_portable(&a),
                _ => a,
            };
            core::hint::black_box(&a);
        }
    }

    /// For instruction counting under callgrind: `BIGNUM_OP=mul16|sqr16|mul32|sqr32` (anything
    /// else: setup only, the baseline to subtract), `BIGNUM_BACKEND=portable|adx` (default
    /// portable; valgrind's CPUID hides ADX, so the back end is chosen here, not detected). 1000
    /// operations each.
    #[test]
    #[ignore = "instruction-count probe for callgrind"]
    fn op_probe() {
        let op = std::env::var("BIGNUM_OP").unwrap_or_default();
        let backend = std::env::var("BIGNUM_BACKEND").unwrap_or_default();
        let (name, width) = op.split_at(op.len().saturating_sub(2));
        match width {
            "32" => probe::<32>(name, &backend),
            _ => probe::<16>(name, &backend),
        }
    }
}
