//! A deterministic, single-threaded world in which the relay's real room logic
//! ([`quic_relay::core::RelayCore`]) and real sans-IO clients ([`sans_io_proto::Client`]) run whole
//! sessions over a simulated network, driven by one seeded RNG and a simulated clock. No sockets,
//! no threads, no sleeps: thousands of sessions run in seconds, and a failing seed replays exactly.
//!
//! - [`world`]: the clock, the network queue, the actors, and the step loop;
//! - [`faults`]: what a seed makes the network and the (possibly malicious) relay do;
//! - [`invariants`]: what must hold after every step;
//! - [`scenario`]: the scripted sessions the tests run;
//! - [`fuzz_checks`]: the bodies of the `cargo fuzz` targets, shared with the regression replay.
#![forbid(unsafe_code)]

pub mod faults;
pub mod fuzz_checks;
pub mod identities;
pub mod invariants;
pub mod scenario;
pub mod world;
