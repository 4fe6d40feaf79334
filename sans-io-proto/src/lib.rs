//! Sans-IO end-to-end encrypted 1:1 chat protocol.
//!
//! No sockets, threads, clocks or OS randomness live in this crate: time
//! (`Instant`) and a cryptographic RNG (`rand_core::RngCore + CryptoRng`) are
//! passed in by the caller. See `PROTOCOL.md` at the repository root for the
//! wire formats and the key schedule.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod crypto;
pub mod frame;
