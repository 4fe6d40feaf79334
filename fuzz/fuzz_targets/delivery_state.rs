//! Stored delivery states from a damaged or hostile disk: decode is total and re-encodes identically.
//! The check itself, and what it asserts, is `simulator_tests::fuzz_checks::delivery_state`, shared with
//! the regression replay that `cargo test` runs (`simulator-tests/tests/fuzz_regressions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| simulator_tests::fuzz_checks::delivery_state(data));
