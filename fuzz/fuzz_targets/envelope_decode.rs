//! End-to-end envelopes from the network: decode is total and a decoded envelope is exactly its bytes.
//! The check itself, and what it asserts, is `simulator_tests::fuzz_checks::envelope_decode`, shared with
//! the regression replay that `cargo test` runs (`simulator-tests/tests/fuzz_regressions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| simulator_tests::fuzz_checks::envelope_decode(data));
