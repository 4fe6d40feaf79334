//! Header keys (Double Ratchet spec §4: `HKs`, `HKr`, `NHKs`, `NHKr`).

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::etm::CipherKeys;
use crate::labels;

/// Length of the per-message random header nonce `hn`.
pub(crate) use crate::envelope::HEADER_NONCE_LEN;

/// A header key. One header key seals every header of a sending chain, so each header gets its own
/// keys from a fresh random nonce (the spec's §4 asks `HENCRYPT` to be randomised): without it two
/// headers of one chain would start with the same IGE block and be linkable.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub(crate) struct HeaderKey([u8; 32]);

impl HeaderKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        HeaderKey(bytes)
    }

    /// `HKDF(salt = hn, ikm = hk, info = "e2e-chat v1 header keys", 96)` (PROTOCOL.md §6.1).
    pub(crate) fn cipher_keys(&self, hn: &[u8; HEADER_NONCE_LEN]) -> CipherKeys {
        CipherKeys::derive(hn, &self.0, labels::HEADER_KEYS)
    }
}
