//! The desktop chat client.
//!
//! The application logic is a plain state type, [`app::App`]: it applies the network driver's
//! events, the results of background jobs and the clock, and returns effects; it has no threads
//! inside and is unit-tested without a relay or a window. Around it:
//!
//! - [`app`]: the state, split by concern (connect form, conversations, verification, contacts);
//! - [`model`]: value types shared with the driver (message ids, delivery states, the timer);
//! - [`text`]: peer text made safe to show (bidi controls, newlines) and right-to-left order;
//! - [`net`]: the network driver (tokio + quinn) mapping the sans-IO protocol client to the app's
//!   events and commands;
//! - [`storage`]: the contact book and conversations on disk, sealed under the profile's key;
//! - [`profile`], [`identity_store`]: the profile directory and the passphrase-protected identity;
//! - [`shell`]: the threads and files around the state, carrying out its effects;
//! - [`fonts`]: the bundled Noto subsets (CJK, Hebrew, Arabic, Greek, Cyrillic);
//! - [`ui`]: the eframe/egui views, which only draw the state and call its commands.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod fonts;
pub mod identity_store;
pub mod model;
pub mod net;
pub mod profile;
pub mod shell;
pub mod storage;
pub mod text;
pub mod ui;

/// The relay address used when the user does not type one.
pub const DEFAULT_RELAY: &str = "127.0.0.1:4433";

/// A fixed test identity from `vectors/identities/test-identities.txt` (0 alice, 1 bob,
/// 2 mallory, 3 carol, ...): RSA key generation is slow in tests.
#[cfg(test)]
pub(crate) fn test_identity(i: usize) -> sans_io_proto::IdentityKeyPair {
    let text = include_str!("../../vectors/identities/test-identities.txt");
    let line = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .nth(i)
        .expect("test identity");
    let bytes = hex::decode(line.trim()).expect("hex");
    sans_io_proto::IdentityKeyPair::from_private_bytes(&bytes).expect("identity")
}
