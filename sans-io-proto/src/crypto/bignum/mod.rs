//! Fixed-width, constant-time big-number arithmetic for every secret exponent and modulus in the
//! crate (RSA CRT, RSA key generation, DH), written by hand like the other primitives.
//!
//! - [`limbs`]: `Uint<L>` (L × 64-bit limbs, wiped on drop) and the masked limb primitives:
//!   add/sub with carry, select, compare, conditional subtraction.
//! - [`montgomery`]: Montgomery multiplication (CIOS) and squaring, modular reduction of
//!   double-width values, conversion in and out of Montgomery form.
//! - [`modexp`]: fixed-window exponentiation with full-table masked lookups.
//! - [`inverse`]: Fermat inversion modulo a secret prime, `e⁻¹ mod (p-1)` through the small
//!   public `e`, and a **variable-time** binary inversion for public (masked) operands.
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

pub(crate) use limbs::Uint;
pub(crate) use montgomery::Modulus;

/// Marks a value derived from secrets as public: a no-op, except in the constant-time check build
/// (feature `ctgrind`), where it tells valgrind the value's bytes are defined so that branching on
/// it is not reported. Every call site says why the value is public by design.
#[inline(always)]
pub(crate) fn declassify<T>(value: T) -> T {
    #[cfg(feature = "ctgrind")]
    {
        let v = value;
        ctgrind::make_defined(&v);
        v
    }
    #[cfg(not(feature = "ctgrind"))]
    {
        value
    }
}
