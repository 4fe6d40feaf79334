//! Long-term identities (RSA-2048), their fingerprints, and what two people compare to verify
//! each other (PROTOCOL.md §8): the identity-bound safety number and its QR text, and the
//! per-session short authentication string (emoji and words) and key picture.

mod emoji;
mod fingerprint;
mod keypair;
mod safety_number;
mod sas;
mod visual;

pub use emoji::{EMOJI_TABLE, Emoji};
pub use fingerprint::{Fingerprint, FingerprintParseError};
pub use keypair::{IdentityError, IdentityKeyPair, PUBLIC_KEY_LEN, PublicIdentity};
pub use safety_number::{QR_TEXT_PREFIX, SAFETY_NUMBER_DIGITS, SafetyNumber};
pub use sas::{SAS_BITS, SAS_EMOJI_COUNT, ShortAuthString};
pub use visual::{KEY_VISUAL_SIZE, KeyVisual};
