//! The Double Ratchet with header encryption (PROTOCOL.md §6; Perrin & Marlinspike, "The Double
//! Ratchet Algorithm", rev. 1, 2016, §3 and §4), over DH-2048, HKDF-SHA256, HMAC-SHA256 and
//! AES-256-IGE + HMAC.
//!
//! One file per key type, as in vodozemac: [`root_key`], [`chain_key`], [`message_key`],
//! [`header_key`]; the stored skipped keys in [`skipped`]; the state machine in
//! [`double_ratchet`].

mod chain_key;
mod double_ratchet;
mod header;
mod header_key;
mod message_key;
mod root_key;
mod skipped;

pub use double_ratchet::RatchetError;
pub(crate) use double_ratchet::{DoubleRatchet, InitialKeys};

/// Most message keys one received header may make us skip (the Double Ratchet spec's MAX_SKIP).
pub const MAX_SKIP: u32 = 1000;
/// Most skipped message keys stored in total; the oldest are evicted first.
pub const MAX_STORED_SKIPPED: usize = 2000;
/// Most receiving chains with stored skipped keys; the oldest chain is evicted first.
pub const MAX_SKIPPED_CHAINS: usize = 5;

pub use crate::envelope::BODY_BUCKET;
