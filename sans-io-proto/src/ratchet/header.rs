//! The ratchet header `DHs.public || PN || N || 0^8` (PROTOCOL.md §6.3) and its sealing (§6.6).

use crate::crypto::dh::DH_LEN;
use crate::labels;

use super::header_key::{HEADER_NONCE_LEN, HeaderKey};

/// Plaintext header length (a whole number of AES blocks).
pub(crate) const HEADER_LEN: usize = DH_LEN + 4 + 4 + 8;

/// A decrypted header. The ratchet key stays raw bytes: it is validated (range and subgroup,
/// about a third of a modular exponentiation) only when a DH ratchet step actually uses it, not
/// for every message of a chain.
pub(crate) struct Header {
    pub(crate) dh: [u8; DH_LEN],
    pub(crate) pn: u32,
    pub(crate) n: u32,
}

/// Why a header that opened could not be used.
pub(crate) enum HeaderError {
    /// The MAC did not verify under this key.
    WrongKey,
    /// It opened, but the content is invalid (reserved bytes not zero).
    Invalid,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..DH_LEN].copy_from_slice(&self.dh);
        out[DH_LEN..DH_LEN + 4].copy_from_slice(&self.pn.to_be_bytes());
        out[DH_LEN + 4..DH_LEN + 8].copy_from_slice(&self.n.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self, HeaderError> {
        if bytes[DH_LEN + 8..].iter().any(|&b| b != 0) {
            return Err(HeaderError::Invalid);
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

    /// Seals the header: `header_ct = IGE(..)`, `header_tag = HMAC(mac_key, "e2e-chat v1 header" ||
    /// AD || hn || header_ct)`.
    pub(crate) fn seal(
        &self,
        hk: &HeaderKey,
        hn: &[u8; HEADER_NONCE_LEN],
        ad: &[u8],
    ) -> ([u8; HEADER_LEN], [u8; 32]) {
        let keys = hk.cipher_keys(hn);
        let mut ct = self.encode();
        // HEADER_LEN is a whole number of blocks, so IGE cannot refuse it.
        let sealed = keys.encrypt(&mut ct);
        debug_assert!(sealed.is_ok());
        let tag = keys.tag(&[labels::HEADER_MAC, ad, hn, &ct]);
        (ct, tag)
    }

    /// Opens a header under `hk`: the MAC is checked in constant time before decrypting.
    pub(crate) fn open(
        hk: &HeaderKey,
        hn: &[u8; HEADER_NONCE_LEN],
        ct: &[u8; HEADER_LEN],
        tag: &[u8; 32],
        ad: &[u8],
    ) -> Result<Header, HeaderError> {
        let keys = hk.cipher_keys(hn);
        if !keys.verify(&[labels::HEADER_MAC, ad, hn, ct], tag) {
            return Err(HeaderError::WrongKey);
        }
        let mut pt = *ct;
        keys.decrypt(&mut pt).map_err(|_| HeaderError::Invalid)?;
        let header = Header::decode(&pt);
        zeroize::Zeroize::zeroize(&mut pt);
        header
    }
}
