//! Cryptographic primitives, written by hand. Only SHA-256 comes from the `sha2` crate.
//! Every secret big number (RSA primes, CRT exponents, blinding values, DH exponents and shared
//! secrets) lives in the fixed-width constant-time [`bignum`] code; `num-bigint` remains only for
//! public values (the DH group check, Jacobi symbols of peer values, Miller–Rabin on public
//! numbers).

pub mod aes;
mod bigint;
pub(crate) mod bignum;
pub mod ct;
#[cfg(feature = "ctgrind")]
#[doc(hidden)]
pub mod ct_targets;
pub mod dh;
pub mod hkdf;
pub mod hmac;
pub mod ige;
pub mod padding;
pub mod pbkdf2;
pub mod prime;
pub mod rsa;
mod sha256_core;
