//! Sending and receiving chain keys and `KDF_CK` (Double Ratchet spec §5.2).

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::hmac::hmac_sha256;

use super::message_key::MessageKey;

/// `CKs` / `CKr`: advanced once per message, so an old message key cannot be recomputed from a
/// newer chain key (forward secrecy inside a chain).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ChainKey([u8; 32]);

impl ChainKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        ChainKey(bytes)
    }

    /// `mk = HMAC(ck, 0x01)` — the spec's recommended constants (§5.2).
    pub(crate) fn message_key(&self) -> MessageKey {
        crate::leak_check::note("ratchet.chain key", &self.0);
        MessageKey::new(hmac_sha256(&self.0, &[0x01]))
    }

    /// `ck' = HMAC(ck, 0x02)`.
    pub(crate) fn next(&self) -> ChainKey {
        ChainKey(hmac_sha256(&self.0, &[0x02]))
    }
}
