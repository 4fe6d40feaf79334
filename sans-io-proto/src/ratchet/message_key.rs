//! Message keys (Double Ratchet spec §5.2 `ENCRYPT`): one per message, deleted after use.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::etm::CipherKeys;
use crate::labels;

/// `mk`: expanded into AES-256-IGE key and IV and an HMAC key by HKDF (PROTOCOL.md §6.1).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct MessageKey([u8; 32]);

impl MessageKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        crate::leak_check::note("ratchet.message key", &bytes);
        MessageKey(bytes)
    }

    /// `HKDF(salt = "", ikm = mk, info = "e2e-chat v1 message keys", 96)`.
    pub(crate) fn cipher_keys(&self) -> CipherKeys {
        CipherKeys::derive(b"", &self.0, labels::MESSAGE_KEYS)
    }
}
