//! A deterministic, single-threaded world in which the relay's real room logic
//! ([`quic_relay::core::RelayCore`]) and real long-lived sans-IO clients ([`sans_io_proto::Client`],
//! one per simulated user across connections, crashes and restarts) run whole sessions over a
//! simulated network, driven by one seeded RNG and a simulated clock. No sockets, no threads, no
//! sleeps: a thousand sessions with crashes, relay restarts and a hostile relay run in a minute, and
//! a failing seed replays exactly.
//!
//! - [`world`]: the clock, the relay, the users, the network queue and the step loop;
//! - [`app`]: the simulated desktop app (disk, restore after a crash, approval policy);
//! - [`faults`]: what a seed makes the network, the relay and the users do;
//! - [`mitm`]: Mallory, a relay that substitutes its own identity;
//! - [`invariants`]: what must hold, checked as the session runs and once it settled;
//! - [`scenario`]: the sessions the tests run;
//! - [`frames`]: the only place that touches the relay framing;
//! - [`fuzz_checks`]: the bodies of the `cargo fuzz` targets, shared with the regression replay.
#![forbid(unsafe_code)]

pub mod app;
pub mod faults;
pub mod frames;
pub mod fuzz_checks;
pub mod identities;
pub mod invariants;
pub mod mitm;
pub mod scenario;
pub mod world;
