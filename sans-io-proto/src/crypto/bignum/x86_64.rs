//! Montgomery multiplication and squaring for x86-64 CPUs with BMI2 and ADX, in straight-line
//! assembly for the two widths the crate uses: 16 limbs (1024 bits: RSA primes, CRT halves) and
//! 32 limbs (2048 bits: RSA modulus, DH group). The second module of the crate allowed `unsafe`
//! (`tests/unsafe_confined.rs`): every `unsafe` block says why it is sound.
//!
//! # The instructions
//!
//! Intel, "New Instructions Supporting Large Integer Arithmetic on Intel Architecture
//! Processors" (E. Ozturk, J. Guilford, V. Gopal, W. Feghali; white paper 327831, 2012), §3–4:
//! - `MULX hi, lo, src` multiplies `src` by `rdx` into two registers **without touching the
//!   flags**, so products can be taken in the middle of a carry chain;
//! - `ADCX` adds with carry through CF only, `ADOX` through OF only: two independent carry chains
//!   interleaved in one instruction stream.
//!
//! Adding the row `x·(a₀, …, a_{L-1})` to an accumulator `t` then costs three instructions a
//! limb (plus the store): at position `j`, `lo(x·a_j)` goes in with the CF chain and
//! `hi(x·a_{j-1})` with the OF chain (the white paper's figure 5 layout):
//!
//! ```text
//!     mulx  h_j, lo, [a + 8j]      ; (h_j, lo) = x·a_j, flags untouched
//!     adcx  lo, [t + 8j]           ; lo += t_j          + CF, CF out
//!     adox  lo, h_{j-1}            ; lo += hi(x·a_{j-1}) + OF, OF out
//!     mov   [t + 8j], lo
//! ```
//!
//! Each chain's carry out of position `j` is consumed at position `j + 1` of the same chain, so
//! the two flags together carry the exact sum. The portable `u128` code spends about nine
//! instructions on the same multiply-accumulate (`mul`, two add/adc pairs, moves).
//!
//! # The algorithms (the same as the portable code, so the results are bit-identical)
//!
//! - [`Adx::mul`]: CIOS Montgomery multiplication (Koç, Acar, Kaliski, IEEE Micro 1996, §5), two
//!   passes per row of `b`: `t += a·b_i` (the accumulator `t` is the output buffer, its limb `L`
//!   and the carry above it in registers), then `t = (t + m·n)/2^64` with
//!   `m = t₀·(-n⁻¹) mod 2^64`, which shifts down one limb as it stores.
//! - [`Adx::sqr`]: the cross products `a_i·a_j` (`i < j`) once, row by row; one pass that doubles
//!   them (`adcx x, x` on the CF chain) while adding the squares `a_i²` (OF chain), HAC 14.16;
//!   then Montgomery reduction of the double-width value (HAC 14.32), `L` rows of `+= m·n`, the
//!   carry out of each row's top limb owed to the next row's.
//! - Both finish with the constant-time conditional subtraction of `n`: a subtract-with-borrow
//!   pass that only computes the borrow, then `t -= n·s` with `s ∈ {0, 1}` derived arithmetically
//!   from that borrow and the top limb. The product `n_j·s` is taken with `MULX`, which leaves
//!   the borrow chain's flag alone (an `AND` with a mask would clear it).
//!
//! # Constant time
//!
//! The assembly is straight-line: the assembler's `.irp`/`.if` directives unroll every loop at
//! build time over the width `L`, a compile-time constant, so there is no branch at all, and
//! every address is a base pointer plus a constant offset. Conditions are carried in the carry
//! flags and turned into masks or multipliers arithmetically. `MULX`, `ADCX`, `ADOX`, `IMUL`
//! with 64-bit operands have data-independent latency on the CPUs that have them (Intel and AMD
//! optimization manuals; no early-out multiplier since the Pentium 4 era). Checked by
//! `scripts/ctgrind.sh`, which runs the harness with this back end forced.
//!
//! The double-width scratch of the squaring (secret) is on the stack and zeroed by the assembly
//! before it returns; the output is the caller's to wipe, as with the portable code.
//!
//! # Selection
//!
//! [`Adx::get`] detects BMI2 and ADX once (`is_x86_feature_detected!`) and caches the verdict;
//! the portable code runs otherwise, and for every other width. An [`Adx`] value is the proof
//! that the CPU has the instructions: it is only made after that check. In the constant-time
//! check build (feature `ctgrind`) the environment variable `CTGRIND_BIGNUM_BACKEND`
//! (`portable` or `adx`) overrides the choice, because valgrind's emulated CPUID hides ADX while
//! its instruction decoder executes MULX/ADCX/ADOX (checked on valgrind 3.19): forcing `adx` is
//! allowed when the host CPU lists both features in `/proc/cpuinfo`.

use core::arch::asm;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU8, Ordering};

/// Proof that this CPU executes MULX (BMI2), ADCX and ADOX (ADX). Only made by [`Adx::get`] after
/// the feature check (or, for tests and the constant-time check, by [`Adx::host`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adx(());

const UNKNOWN: u8 = 0;
const PORTABLE: u8 = 1;
const FAST: u8 = 2;
/// The cached choice: `FAST` is only stored after the CPU was found to have BMI2 and ADX.
static SELECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

impl Adx {
    /// The back end, if this CPU has it: detected once, then one relaxed load per call.
    #[inline(always)]
    pub(crate) fn get() -> Option<Adx> {
        match SELECTED.load(Ordering::Relaxed) {
            FAST => Some(Adx(())),
            PORTABLE => None,
            _ => Self::select(),
        }
    }

    #[cold]
    fn select() -> Option<Adx> {
        let chosen = Self::detect();
        #[cfg(feature = "ctgrind")]
        let chosen = Self::ctgrind_override(chosen);
        SELECTED.store(
            if chosen.is_some() { FAST } else { PORTABLE },
            Ordering::Relaxed,
        );
        chosen
    }

    /// CPUID says BMI2 and ADX.
    fn detect() -> Option<Adx> {
        (std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("adx"))
            .then_some(Adx(()))
    }

    /// The host CPU has BMI2 and ADX, by CPUID or, failing that, by the kernel's
    /// `/proc/cpuinfo` flags. The second source is for runs under valgrind, whose emulated CPUID
    /// hides ADX although it executes the instructions (the constant-time check and the
    /// callgrind instruction counts). Not used for the production choice.
    #[cfg(any(test, feature = "ctgrind"))]
    pub(crate) fn host() -> Option<Adx> {
        Self::detect().or_else(|| {
            let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
            let flags = info.lines().find(|l| l.starts_with("flags"))?;
            let has = |f: &str| flags.split_whitespace().any(|w| w == f);
            (has("bmi2") && has("adx")).then_some(Adx(()))
        })
    }

    /// `CTGRIND_BIGNUM_BACKEND=portable|adx` in the constant-time check build; the choice is
    /// printed so that the check's log shows which back end ran.
    #[cfg(feature = "ctgrind")]
    fn ctgrind_override(detected: Option<Adx>) -> Option<Adx> {
        let chosen = match std::env::var("CTGRIND_BIGNUM_BACKEND").as_deref() {
            Ok("portable") => None,
            Ok("adx") => Some(
                Self::host().expect("CTGRIND_BIGNUM_BACKEND=adx on a CPU without BMI2 and ADX"),
            ),
            Ok(other) => panic!("CTGRIND_BIGNUM_BACKEND={other}: expected portable or adx"),
            Err(_) => detected,
        };
        let name = if chosen.is_some() { "adx" } else { "portable" };
        eprintln!("ctgrind: bignum back end: {name}");
        chosen
    }

    /// `a·b·R⁻¹ mod n` (CIOS) for `a < R`, `b < n`, odd `n`, `n0 = -n⁻¹ mod 2^64`; the result is
    /// below `n`. `None` for widths other than 16 and 32 limbs.
    #[inline(always)]
    pub(crate) fn mul<const L: usize>(
        self,
        a: &[u64; L],
        b: &[u64; L],
        n: &[u64; L],
        n0: u64,
    ) -> Option<[u64; L]> {
        let mut out = MaybeUninit::<[u64; L]>::uninit();
        let o = out.as_mut_ptr().cast::<u64>();
        match L {
            // SAFETY: `self` proves the CPU has BMI2 and ADX; with `L` equal to the width, `a`,
            // `b` and `n` are `L` readable limbs and `out` is `L` writable limbs.
            16 => unsafe { mul_asm::<16>(o, a.as_ptr(), b.as_ptr(), n.as_ptr(), n0) },
            // SAFETY: as above.
            32 => unsafe { mul_asm::<32>(o, a.as_ptr(), b.as_ptr(), n.as_ptr(), n0) },
            _ => return None,
        }
        // SAFETY: `mul_asm` writes every limb of `out` (the first row stores t_0 .. t_{L-1}).
        Some(unsafe { out.assume_init() })
    }

    /// `a²·R⁻¹ mod n` for `a < n` (the same contract as [`Self::mul`]). `None` for widths other
    /// than 16 and 32 limbs.
    #[inline(always)]
    pub(crate) fn sqr<const L: usize>(
        self,
        a: &[u64; L],
        n: &[u64; L],
        n0: u64,
    ) -> Option<[u64; L]> {
        let mut out = MaybeUninit::<[u64; L]>::uninit();
        let o = out.as_mut_ptr().cast::<u64>();
        match L {
            // SAFETY: `self` proves the CPU has BMI2 and ADX; with `L` equal to the width, `a`
            // and `n` are `L` readable limbs and `out` is `L` writable limbs.
            16 => unsafe { sqr_asm::<16>(o, a.as_ptr(), n.as_ptr(), n0) },
            // SAFETY: as above.
            32 => unsafe { sqr_asm::<32>(o, a.as_ptr(), n.as_ptr(), n0) },
            _ => return None,
        }
        // SAFETY: `sqr_asm` writes every limb of `out` (the final subtraction stores them all).
        Some(unsafe { out.assume_init() })
    }
}

/// The limb indices 1 to 31 for the assembler's `.irp` loops; each loop body skips the indices at
/// or beyond the width with `.if`.
macro_rules! to31 {
    () => {
        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31"
    };
}

/// One multiply-accumulate at index `\j` of a row: `(hi, lo) = rdx·src[j]`, then
/// `lo += acc + CF` (CF chain) and `lo += hi(rdx·src[j-1]) + OF` (OF chain), stored to `dst`.
/// The high halves alternate between `h0` (even `j`) and `h1` (odd `j`), so the previous one is
/// still there when it is added. `acc` and `dst` are memory operands (assembler expressions).
macro_rules! mac {
    ($src:literal, $acc:literal, $dst:literal) => {
        concat!(
            ".if \\j & 1\n",
            "mulx {h1}, {lo}, [{",
            $src,
            "} + 8*\\j]\n",
            "adcx {lo}, ",
            $acc,
            "\n",
            "adox {lo}, {h0}\n",
            ".else\n",
            "mulx {h0}, {lo}, [{",
            $src,
            "} + 8*\\j]\n",
            "adcx {lo}, ",
            $acc,
            "\n",
            "adox {lo}, {h1}\n",
            ".endif\n",
            "mov ",
            $dst,
            ", {lo}\n",
        )
    };
}

/// The reduction pass of a CIOS row: `m = t₀·n0`, `t = (t + m·n) / 2^64`, with `t_L` in `{tl}`
/// and the carry above it in `{th}` (both folded into the new `t_{L-1}`, `t_L`).
macro_rules! cios_reduce {
    () => {
        concat!(
            "mov rdx, [{t}]\n",
            "imul rdx, {n0}\n",
            "xor eax, eax\n", // rax = 0, CF = OF = 0
            "mulx {h0}, {lo}, [{n}]\n",
            "adcx {lo}, [{t}]\n", // 0 by the choice of m: only the carry is kept
            ".irp j, ",
            to31!(),
            "\n",
            ".if \\j < {L}\n",
            mac!("n", "[{t} + 8*\\j]", "[{t} + 8*\\j - 8]"),
            ".endif\n",
            ".endr\n",
            // Position L: t_L + hi(m·n_{L-1}) + both carries; position L + 1: th + carries.
            "adcx {h1}, {tl}\n",
            "adox {h1}, rax\n",
            "mov [{t} + 8*{L} - 8], {h1}\n",
            "mov {tl}, {th}\n",
            "adcx {tl}, rax\n",
            "adox {tl}, rax\n",
        )
    };
}

/// `out = a·b·R⁻¹ mod n` (CIOS).
///
/// # Safety
/// The CPU has BMI2 and ADX; `a`, `b`, `n` point to `L` readable limbs and `out` to `L` writable
/// limbs (`out` may not overlap the others).
#[inline(never)]
unsafe fn mul_asm<const L: usize>(
    out: *mut u64,
    a: *const u64,
    b: *const u64,
    n: *const u64,
    n0: u64,
) {
    const { assert!(L >= 2 && L <= 32 && L.is_multiple_of(2)) };
    // SAFETY: (the caller's contract) every address below is `a`, `b`, `n` or `out` plus
    // `8·k` with `k < L`, inside the caller's arrays; the block uses no stack and writes only
    // `out` and the registers it declares.
    unsafe {
        asm!(
            // Row 0, first pass: t = a·b_0 (t is empty: one carry chain).
            "mov rdx, [{b}]",
            "xor eax, eax",
            "xor {th:e}, {th:e}",
            "mulx {h0}, {lo}, [{a}]",
            "mov [{t}], {lo}",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            ".if \\j & 1",
            "mulx {h1}, {lo}, [{a} + 8*\\j]",
            "adox {lo}, {h0}",
            ".else",
            "mulx {h0}, {lo}, [{a} + 8*\\j]",
            "adox {lo}, {h1}",
            ".endif",
            "mov [{t} + 8*\\j], {lo}",
            ".endif",
            ".endr",
            "adox {h1}, rax",
            "mov {tl}, {h1}",
            cios_reduce!(),
            // Rows 1 .. L-1: t += a·b_i, then the reduction pass.
            concat!(".irp i, ", to31!()),
            ".if \\i < {L}",
            "mov rdx, [{b} + 8*\\i]",
            "xor eax, eax",
            "mulx {h0}, {lo}, [{a}]",
            "adcx {lo}, [{t}]",
            "mov [{t}], {lo}",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            mac!("a", "[{t} + 8*\\j]", "[{t} + 8*\\j]"),
            ".endif",
            ".endr",
            // Position L: t_L + hi(b_i·a_{L-1}) + both carries; the carries out go to th.
            "adcx {tl}, {h1}",
            "adox {tl}, rax",
            "mov {th:e}, 0",
            "adcx {th}, rax",
            "adox {th}, rax",
            cios_reduce!(),
            ".endif",
            ".endr",
            // t (below 2n) is (tl, t_{L-1} .. t_0). Borrow of t - n over the L limbs ...
            "mov {lo}, [{t}]",
            "sub {lo}, [{n}]",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            "mov {lo}, [{t} + 8*\\j]",
            "sbb {lo}, [{n} + 8*\\j]",
            ".endif",
            ".endr",
            // ... keep t when tl = 0 and it borrowed (t < n): tl - borrow = -1 exactly then.
            // s = 1 (subtract) or 0 (keep), then t -= n·s with MULX (flags untouched).
            "sbb {tl}, 0",
            "sar {tl}, 63",
            "lea rdx, [{tl} + 1]",
            "mulx {h0}, {lo}, [{n}]",
            "sub [{t}], {lo}",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            "mulx {h0}, {lo}, [{n} + 8*\\j]",
            "sbb [{t} + 8*\\j], {lo}",
            ".endif",
            ".endr",
            a = in(reg) a,
            b = in(reg) b,
            n = in(reg) n,
            n0 = in(reg) n0,
            t = in(reg) out,
            lo = out(reg) _,
            h0 = out(reg) _,
            h1 = out(reg) _,
            tl = out(reg) _,
            th = out(reg) _,
            out("rax") _,
            out("rdx") _,
            L = const L,
            options(nostack),
        );
    }
}

/// `out = a²·R⁻¹ mod n`: square, then Montgomery reduction.
///
/// # Safety
/// The CPU has BMI2 and ADX; `a` and `n` point to `L` readable limbs and `out` to `L` writable
/// limbs (`out` may not overlap the others).
#[inline(never)]
unsafe fn sqr_asm<const L: usize>(out: *mut u64, a: *const u64, n: *const u64, n0: u64) {
    const { assert!(L >= 4 && L <= 32 && L.is_multiple_of(2)) };
    // The 2L-limb square. Every limb is written before it is read (row 0 writes limbs 1..L, row
    // i its top limb i + L, the doubling pass limbs 0 and 2L - 1), and the asm zeroes it at the
    // end, so it needs no initialisation.
    let mut w = MaybeUninit::<[u64; 64]>::uninit();
    // SAFETY: (the caller's contract) every address below is `a`, `n`, `out` plus `8·k` with
    // `k < L`, or `w` plus `8·k` with `k < 2L ≤ 64`, inside the arrays; the block uses no stack
    // and writes only `out`, `w` and the registers it declares.
    unsafe {
        asm!(
            // Cross products, row 0: w_1 .. w_L = a_0·(a_{L-1} .. a_1) (one carry chain).
            "mov rdx, [{a}]",
            "xor eax, eax",
            "mulx {h1}, {lo}, [{a} + 8]",
            "mov [{w} + 8], {lo}",
            concat!(".irp j, ", to31!()),
            ".if (\\j > 1) && (\\j < {L})",
            ".if \\j & 1",
            "mulx {h1}, {lo}, [{a} + 8*\\j]",
            "adox {lo}, {h0}",
            ".else",
            "mulx {h0}, {lo}, [{a} + 8*\\j]",
            "adox {lo}, {h1}",
            ".endif",
            "mov [{w} + 8*\\j], {lo}",
            ".endif",
            ".endr",
            "adox {h1}, rax",
            "mov [{w} + 8*{L}], {h1}",
            // Rows 1 .. L-2: w_{i+j} += a_i·a_j for j > i; the top limb w_{i+L} is new (no
            // earlier row reaches it, and the partial sum fits below it: no carry out).
            concat!(".irp i, ", to31!()),
            ".if \\i < ({L} - 1)",
            "mov rdx, [{a} + 8*\\i]",
            "xor eax, eax",
            concat!(".irp j, ", to31!()),
            ".if (\\j > \\i) && (\\j < {L})",
            ".if \\j & 1",
            "mulx {h1}, {lo}, [{a} + 8*\\j]",
            ".else",
            "mulx {h0}, {lo}, [{a} + 8*\\j]",
            ".endif",
            "adcx {lo}, [{w} + 8*(\\i + \\j)]",
            ".if \\j > (\\i + 1)",
            ".if \\j & 1",
            "adox {lo}, {h0}",
            ".else",
            "adox {lo}, {h1}",
            ".endif",
            ".endif",
            "mov [{w} + 8*(\\i + \\j)], {lo}",
            ".endif",
            ".endr",
            "adcx {h1}, rax",
            "adox {h1}, rax",
            "mov [{w} + 8*(\\i + {L})], {h1}",
            ".endif",
            ".endr",
            // w = 2·w + Σ a_i²·2^(128i): doubling on the CF chain (adcx x, x), squares on OF.
            // w_0 and w_{2L-1} hold no cross product: they start at 0.
            "mov rdx, [{a}]",
            "xor eax, eax",
            "mulx {h0}, {lo}, rdx",
            "mov [{w}], {lo}",
            "mov {h1}, [{w} + 8]",
            "adcx {h1}, {h1}",
            "adox {h1}, {h0}",
            "mov [{w} + 8], {h1}",
            concat!(".irp i, ", to31!()),
            ".if \\i < {L}",
            "mov rdx, [{a} + 8*\\i]",
            "mulx {h0}, {lo}, rdx",
            "mov {x}, [{w} + 16*\\i]",
            ".if \\i < ({L} - 1)",
            "mov {h1}, [{w} + 16*\\i + 8]",
            ".else",
            "mov {h1}, rax",
            ".endif",
            "adcx {x}, {x}",
            "adcx {h1}, {h1}",
            "adox {x}, {lo}",
            "adox {h1}, {h0}",
            "mov [{w} + 16*\\i], {x}",
            "mov [{w} + 16*\\i + 8], {h1}",
            ".endif",
            ".endr",
            // Montgomery reduction (HAC 14.32): row i adds m·n at limb i, m = w_i·n0; x holds
            // the carry out of limb i + L, owed to limb i + L + 1 (the next row's top).
            "xor {x:e}, {x:e}",
            concat!(".irp i, 0,", to31!()),
            ".if \\i < {L}",
            "mov rdx, [{w} + 8*\\i]",
            "imul rdx, {n0}",
            "xor eax, eax",
            "mulx {h0}, {lo}, [{n}]",
            "adcx {lo}, [{w} + 8*\\i]",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            mac!("n", "[{w} + 8*(\\i + \\j)]", "[{w} + 8*(\\i + \\j)]"),
            ".endif",
            ".endr",
            "adcx {h1}, [{w} + 8*(\\i + {L})]",
            "adox {h1}, {x}",
            "mov [{w} + 8*(\\i + {L})], {h1}",
            "mov {x:e}, 0",
            "adcx {x}, rax",
            "adox {x}, rax",
            ".endif",
            ".endr",
            // The result (x, w_{2L-1} .. w_L) is below 2n: the borrow of w_hi - n ...
            "mov {lo}, [{w} + 8*{L}]",
            "sub {lo}, [{n}]",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            "mov {lo}, [{w} + 8*({L} + \\j)]",
            "sbb {lo}, [{n} + 8*\\j]",
            ".endif",
            ".endr",
            // ... then out = w_hi - n·s, s = 0 only when x = 0 and it borrowed (as in `mul`).
            "sbb {x}, 0",
            "sar {x}, 63",
            "lea rdx, [{x} + 1]",
            "mulx {h0}, {lo}, [{n}]",
            "mov {h1}, [{w} + 8*{L}]",
            "sub {h1}, {lo}",
            "mov [{out}], {h1}",
            concat!(".irp j, ", to31!()),
            ".if \\j < {L}",
            "mulx {h0}, {lo}, [{n} + 8*\\j]",
            "mov {h1}, [{w} + 8*({L} + \\j)]",
            "sbb {h1}, {lo}",
            "mov [{out} + 8*\\j], {h1}",
            ".endif",
            ".endr",
            // Wipe the square (rax is still 0).
            concat!(".irp j, 0,", to31!()),
            ".if \\j < {L}",
            "mov [{w} + 16*\\j], rax",
            "mov [{w} + 16*\\j + 8], rax",
            ".endif",
            ".endr",
            a = in(reg) a,
            n = in(reg) n,
            n0 = in(reg) n0,
            w = in(reg) w.as_mut_ptr().cast::<u64>(),
            out = in(reg) out,
            lo = out(reg) _,
            h0 = out(reg) _,
            h1 = out(reg) _,
            x = out(reg) _,
            out("rax") _,
            out("rdx") _,
            L = const L,
            options(nostack),
        );
    }
}
