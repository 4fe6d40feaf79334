//! The ratchet header `DHs.public || PN || N || 0^8` (PROTOCOL.md §6.3) and its encryption (§6.6).
//! The header tag covers the whole envelope and is computed by the ratchet once the rest exists.

use crate::crypto::dh::DH_LEN;
use crate::envelope::{HEADER_LEN, HEADER_NONCE_LEN};
use crate::etm::CipherKeys;

use super::header_key::HeaderKey;

/// A decrypted header. The ratchet key stays raw bytes: it is validated (range and subgroup) only
/// when a DH ratchet step actually uses it, not for every message of a chain.
pub(crate) struct Header {
    pub(crate) dh: [u8; DH_LEN],
    pub(crate) pn: u32,
    pub(crate) n: u32,
}

/// A header that authenticated but whose reserved bytes are not zero.
pub(crate) struct InvalidHeader;

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..DH_LEN].copy_from_slice(&self.dh);
        out[DH_LEN..DH_LEN + 4].copy_from_slice(&self.pn.to_be_bytes());
        out[DH_LEN + 4..DH_LEN + 8].copy_from_slice(&self.n.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, InvalidHeader> {
        if bytes[DH_LEN + 8..].iter().any(|&b| b != 0) {
            return Err(InvalidHeader);
        }
        let mut dh = [0u8; DH_LEN];
        dh.copy_from_slice(&bytes[..DH_LEN]);
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Ok(Header {
            dh,
            pn: word(DH_LEN),
            n: word(DH_LEN + 4),
        })
    }

    /// Encrypts the header under `header keys(hk, hn)`; returns the ciphertext and the key set whose
    /// MAC key later signs the whole envelope.
    pub(crate) fn encrypt(
        &self,
        hk: &HeaderKey,
        hn: &[u8; HEADER_NONCE_LEN],
    ) -> ([u8; HEADER_LEN], CipherKeys) {
        let keys = hk.cipher_keys(hn);
        let mut ct = self.encode();
        // HEADER_LEN is a whole number of blocks, so IGE cannot refuse it.
        let sealed = keys.encrypt(&mut ct);
        debug_assert!(sealed.is_ok());
        (ct, keys)
    }

    /// Decrypts a header whose envelope tag already verified under `keys`.
    pub(crate) fn decrypt(
        keys: &CipherKeys,
        ct: &[u8; HEADER_LEN],
    ) -> Result<Header, InvalidHeader> {
        let mut pt = *ct;
        keys.decrypt(&mut pt).map_err(|_| InvalidHeader)?;
        let header = Header::decode(&pt);
        zeroize::Zeroize::zeroize(&mut pt);
        header
    }
}
