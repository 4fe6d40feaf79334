//! A hostile relay's byte stream into the long-lived sans-IO client, starting from a genuine session.
//! The check itself, and what it asserts, is `simulator_tests::fuzz_checks::client_input`, shared with the
//! regression replay that `cargo test` runs (`simulator-tests/tests/fuzz_regressions.rs`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| simulator_tests::fuzz_checks::client_input(data));
