//! Sans-IO end-to-end encrypted 1:1 chat protocol.
//!
//! No sockets, threads, clocks or OS randomness live in this crate: time (`Instant`) and a
//! cryptographic RNG (`rand_core::CryptoRngCore`) are passed in by the caller. `PROTOCOL.md` at the
//! repository root is the specification of every byte and every key; each module cites it.
//!
//! # Layers
//! - [`crypto`]: the primitives, written by hand (AES-256 with IGE, HMAC-SHA256, HKDF, PBKDF2,
//!   RSA-2048 with OAEP, DH-2048). Only SHA-256, big integers and Argon2id (the
//!   identity file, [`identity_file`]) come from crates.
//! - [`frame`]: the client ↔ relay framing, shared with the relay.
//! - [`envelope`]: the end-to-end envelope, decoded once into typed messages.
//! - [`handshake`]: the deniable authenticated key exchange with a committed short authentication
//!   string, turning into a [`Session`].
//! - [`ratchet`] and [`session`]: the header-encrypted double ratchet and the transport state.
//! - [`delivery`]: message ids, outbox and inbox (exactly once, in order), the timer.
//! - [`client`]: one long-lived state machine per identity tying them together, with the trust gate.
//!
//! # At a glance
//! ```
//! use std::time::Instant;
//! use rand::rngs::OsRng;
//! use sans_io_proto::{Content, Handshake, IdentityKeyPair, MessageId};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (alice_id, bob_id) = (IdentityKeyPair::generate(&mut OsRng), IdentityKeyPair::generate(&mut OsRng));
//! let now = Instant::now();
//! // Each side starts a handshake when the relay pairs them.
//! let mut alice = Handshake::new(&alice_id, &mut OsRng, now);
//! let mut bob = Handshake::new(&bob_id, &mut OsRng, now);
//! // Shuttle envelopes both ways (through the relay, in real life) until both are established.
//! while !(alice.is_established() && bob.is_established()) {
//!     while let Some(m) = alice.poll_transmit() { bob.handle_bytes(&m, &mut OsRng)?; }
//!     while let Some(m) = bob.poll_transmit() { alice.handle_bytes(&m, &mut OsRng)?; }
//! }
//! let (mut alice, mut bob) = (alice.into_session().unwrap(), bob.into_session().unwrap());
//! // Both see the same short authentication string and safety number: compare one out of band.
//! assert_eq!(alice.sas(), bob.sas());
//! assert_eq!(alice.safety_number(), bob.safety_number());
//! // encrypt / decrypt
//! let text = Content::Text { id: MessageId { stream: 7, number: 1 }, expire_secs: 0, text: "hello Bob".into() };
//! let wire = alice.encrypt(&text, 0, &mut OsRng)?;
//! let got = bob.decrypt(&wire.envelope, &mut OsRng)?;
//! assert_eq!(got.content, text);
//! # Ok(()) }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod crypto;
pub mod delivery;
pub mod deniability;
pub mod envelope;
mod etm;
pub mod frame;
pub mod handshake;
pub mod identity;
pub mod identity_file;
mod labels;
#[doc(hidden)]
pub mod leak_check;
pub mod ratchet;
pub mod session;
pub mod storage;

pub use client::{Client, ClientConfig, Event, MessageState, Output, SecureInfo, SendError};
pub use delivery::MessageId;
pub use envelope::Envelope;
pub use handshake::{Handshake, HandshakeError, Role};
pub use identity::{Fingerprint, IdentityKeyPair, PublicIdentity, SafetyNumber, ShortAuthString};
pub use session::{Content, DecryptError, EncryptError, Incoming, Outgoing, Session};
