//! Deterministic simulation harness.
#![forbid(unsafe_code)]
