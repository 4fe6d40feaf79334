//! The double ratchet under arbitrary sends, deliveries, duplicates, bit flips and drops.
//! The check itself, and what it asserts, is `simulator_tests::fuzz_checks::ratchet_ops`, shared with the
//! regression replay that `cargo test` runs (`simulator-tests/tests/fuzz_regressions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| simulator_tests::fuzz_checks::ratchet_ops(data));
