//! The long-term identity key: an RSA-2048 key pair used only for RSA-OAEP key encapsulation in
//! the handshake (PROTOCOL.md §5.1). It never signs anything, which is what keeps the protocol
//! deniable.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::rsa::{RsaError, RsaPrivateKey, RsaPublicKey};

use super::Fingerprint;

/// Length of the canonical public-key encoding (PROTOCOL.md §2.1).
pub const PUBLIC_KEY_LEN: usize = 260;

/// Why identity key bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The bytes are not a valid canonical RSA-2048 key.
    #[error("invalid identity key: {0}")]
    InvalidKey(#[from] RsaError),
}

/// A peer's (or our own) identity public key with its canonical encoding and fingerprint.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicIdentity {
    key: RsaPublicKey,
    bytes: [u8; PUBLIC_KEY_LEN],
    fingerprint: Fingerprint,
}

impl PublicIdentity {
    /// Wraps a public key.
    pub fn new(key: RsaPublicKey) -> Self {
        let bytes = key.to_bytes();
        let fingerprint = Fingerprint::of_public_key_bytes(&bytes);
        PublicIdentity {
            key,
            bytes,
            fingerprint,
        }
    }

    /// Decodes the canonical 260-byte encoding (untrusted input: every check of §2.1 applies).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        Ok(Self::new(RsaPublicKey::from_bytes(bytes)?))
    }

    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// The RSA public key.
    pub fn key(&self) -> &RsaPublicKey {
        &self.key
    }

    /// `SHA-256("e2e-chat v1 identity" || ik_pub)`.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl core::fmt::Debug for PublicIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("PublicIdentity")
            .field(&self.fingerprint)
            .finish()
    }
}

/// Our own long-term identity: the private key and its public half.
#[derive(Clone)]
pub struct IdentityKeyPair {
    private: RsaPrivateKey,
    public: PublicIdentity,
}

impl IdentityKeyPair {
    /// Generates a fresh RSA-2048 identity (two 1024-bit primes; takes tens to hundreds of ms:
    /// run it off any UI thread).
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_private_key(RsaPrivateKey::generate(rng))
    }

    /// Wraps an existing private key.
    pub fn from_private_key(private: RsaPrivateKey) -> Self {
        let public = PublicIdentity::new(private.public_key());
        IdentityKeyPair { private, public }
    }

    /// Decodes the canonical private-key encoding (PROTOCOL.md §2.1).
    pub fn from_private_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        Ok(Self::from_private_key(RsaPrivateKey::from_bytes(bytes)?))
    }

    /// The canonical private-key encoding, wiped when dropped.
    pub fn to_private_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.private.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> &PublicIdentity {
        &self.public
    }

    /// The fingerprint of the public half.
    pub fn fingerprint(&self) -> Fingerprint {
        self.public.fingerprint
    }

    pub(crate) fn private_key(&self) -> &RsaPrivateKey {
        &self.private
    }
}

impl core::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
