//! The root key and `KDF_RK` (Double Ratchet spec §5.2, header-encryption variant §4.2).

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::dh::SharedSecret;
use crate::etm::derive_array;
use crate::labels;

use super::chain_key::ChainKey;
use super::header_key::HeaderKey;

/// `RK`: salts every DH ratchet step.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct RootKey([u8; 32]);

impl RootKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        RootKey(bytes)
    }

    /// `KDF_RK(rk, dh_out) = HKDF(salt = rk, ikm = dh_out, info = "e2e-chat v1 ratchet", 96)`
    /// split into the next root key, a chain key and the next header key (PROTOCOL.md §6.1).
    /// HKDF with the root key as salt is the spec's recommended instantiation (§5.2).
    pub(crate) fn step(&self, dh_out: &SharedSecret) -> (RootKey, ChainKey, HeaderKey) {
        let mut okm = derive_array::<96>(&self.0, dh_out.as_bytes(), labels::RATCHET);
        crate::leak_check::note("ratchet.root step okm", &okm[..]);
        let take = |i: usize| {
            let mut k = [0u8; 32];
            k.copy_from_slice(&okm[i * 32..i * 32 + 32]);
            k
        };
        let out = (
            RootKey(take(0)),
            ChainKey::new(take(1)),
            HeaderKey::new(take(2)),
        );
        okm.zeroize();
        out
    }
}
