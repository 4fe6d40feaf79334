//! Handshake envelopes through an untrusted relay, at every stage of a genuine handshake, both roles.
//! The check itself, and what it asserts, is `simulator_tests::fuzz_checks::handshake_message`, shared with the
//! regression replay that `cargo test` runs (`simulator-tests/tests/fuzz_regressions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| simulator_tests::fuzz_checks::handshake_message(data));
