//! The desktop chat client.
//!
//! The application logic is a plain Rust type, [`controller::Controller`], driven by commands and
//! by events from the network thread, and tested without a window; the egui layer ([`ui`]) only
//! draws its state and turns clicks into commands.
//!
//! - [`profile`]: where a user's files live, and the lock that keeps two windows apart;
//! - [`identity_store`]: the long-term identity, encrypted on disk under a passphrase;
//! - [`trust_store`]: trust on first use — the peer identity seen in each room;
//! - [`net`]: the tokio/quinn network thread driving the sans-IO protocol client;
//! - [`controller`]: the app state machine;
//! - [`ui`]: the eframe/egui views.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod controller;
pub mod identity_store;
pub mod net;
pub mod profile;
pub mod trust_store;
pub mod ui;

/// The relay address used when the user does not type one.
pub const DEFAULT_RELAY: &str = "127.0.0.1:4433";
