//! Long-term identities (RSA-2048), their fingerprints, and what two people compare to verify
//! each other: safety numbers, emoji, a QR payload (PROTOCOL.md §7) and the per-session key
//! visualization (§7.3).

mod emoji;
mod fingerprint;
mod keypair;
mod safety_number;
mod visual;

pub use emoji::{EMOJI_TABLE, Emoji};
pub use fingerprint::{Fingerprint, FingerprintParseError};
pub use keypair::{IdentityError, IdentityKeyPair, PublicIdentity};
pub use safety_number::{QR_PAYLOAD_LEN, SAFETY_NUMBER_DIGITS, SafetyNumber};
pub use visual::{KEY_VISUAL_SIZE, KeyVisual};
