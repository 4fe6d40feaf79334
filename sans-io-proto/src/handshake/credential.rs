//! The identity side of a handshake (PROTOCOL.md §5.6–5.7): our public identity and the two RSA-OAEP
//! operations. The real client uses its [`IdentityKeyPair`]; the deniability forger
//! ([`crate::deniability`]) implements the same trait for a party whose private key it does not hold,
//! so the handshake itself carries no forging hook.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::identity::{IdentityKeyPair, PublicIdentity};

use super::HandshakeError;

/// Length of an encapsulated secret `k_I` / `k_R`.
pub const KEM_SECRET_LEN: usize = 32;

/// What a handshake needs from its owner's identity.
pub trait Credential: Clone {
    /// Our identity public key.
    fn public(&self) -> &PublicIdentity;

    /// Draws a fresh 32-byte secret and encapsulates it to `peer` with RSA-OAEP under `label`
    /// (§5.6, §5.7). Returns the secret and the 256-byte ciphertext.
    fn encapsulate(
        &self,
        peer: &PublicIdentity,
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<(Zeroizing<[u8; KEM_SECRET_LEN]>, Vec<u8>), HandshakeError> {
        encapsulate_to(peer, label, rng)
    }

    /// Recovers the secret the peer encapsulated to us. Every failure is the one opaque
    /// [`HandshakeError::Authentication`] (RFC 8017 §7.1.2 note: no padding oracle).
    fn decapsulate(
        &self,
        kem: &[u8],
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<[u8; KEM_SECRET_LEN]>, HandshakeError>;
}

impl Credential for IdentityKeyPair {
    fn public(&self) -> &PublicIdentity {
        IdentityKeyPair::public(self)
    }

    fn decapsulate(
        &self,
        kem: &[u8],
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<[u8; KEM_SECRET_LEN]>, HandshakeError> {
        let k = self
            .private_key()
            .oaep_decrypt(rng, kem, label)
            .map_err(|_| HandshakeError::Authentication)?;
        if k.len() != KEM_SECRET_LEN {
            return Err(HandshakeError::Authentication);
        }
        let mut out = Zeroizing::new([0u8; KEM_SECRET_LEN]);
        out.copy_from_slice(&k);
        Ok(out)
    }
}

/// The encapsulation every credential performs (§5.6, §5.7): a fresh 32-byte secret, RSA-OAEP to
/// `peer` under `label`.
pub fn encapsulate_to(
    peer: &PublicIdentity,
    label: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(Zeroizing<[u8; KEM_SECRET_LEN]>, Vec<u8>), HandshakeError> {
    let mut k = Zeroizing::new([0u8; KEM_SECRET_LEN]);
    rng.fill_bytes(k.as_mut());
    let kem = peer
        .key()
        .oaep_encrypt(rng, k.as_ref(), label)
        .map_err(|e| HandshakeError::BadKey(e.to_string()))?;
    Ok((k, kem))
}
