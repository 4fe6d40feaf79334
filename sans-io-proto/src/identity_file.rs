//! The identity file on disk (PROTOCOL.md §8): the long-term private key encrypted under a
//! passphrase with PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), AES-256-IGE and HMAC-SHA256
//! (encrypt-then-MAC). Pure functions from bytes to bytes: reading and writing the file, and its
//! permissions, are the application's job.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::pbkdf2::pbkdf2_hmac_sha256;
use crate::etm::CipherKeys;
use crate::identity::IdentityKeyPair;

/// File magic.
pub const MAGIC: &[u8; 8] = b"E2ECHATK";
/// Format version.
pub const VERSION: u8 = 0x01;
/// PBKDF2 iterations written by default (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Most iterations a file may ask for (bounds the work a planted file can cause).
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Total file length.
pub const FILE_LEN: usize = HEADER_LEN + CT_LEN + 32;

const HEADER_LEN: usize = 8 + 1 + 4 + 16 + 32;
const CT_LEN: usize = 272;
const KEY_LEN: usize = 257;

/// Why an identity file could not be opened or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityFileError {
    /// Not an identity file of this program (magic, length).
    #[error("not an e2e-chat identity file")]
    NotAnIdentityFile,
    /// A format version this program does not know.
    #[error("identity file version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The iteration count is 0 or above [`MAX_ITERATIONS`].
    #[error("identity file asks for {0} key-derivation iterations; refusing")]
    BadIterations(u32),
    /// The MAC did not verify: the passphrase is wrong or the file was damaged. (The two cannot
    /// be told apart, by design.)
    #[error("wrong passphrase, or the identity file is damaged")]
    WrongPassphraseOrDamaged,
    /// The MAC verified but the key inside is invalid.
    #[error("the identity file holds an invalid key")]
    InvalidKey,
}

fn keys(
    passphrase: &[u8],
    salt: &[u8],
    iv: &[u8; 32],
    iterations: u32,
) -> Result<CipherKeys, IdentityFileError> {
    let mut okm = Zeroizing::new([0u8; 96]);
    // enc_key || mac_key = PBKDF2(passphrase, salt, iterations, 64); the IV is stored in the file.
    pbkdf2_hmac_sha256(passphrase, salt, iterations, &mut okm[..64])
        .map_err(|_| IdentityFileError::BadIterations(iterations))?;
    let mac_key: [u8; 32] = okm[32..64]
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    okm[32..64].copy_from_slice(iv);
    okm[64..96].copy_from_slice(&mac_key);
    crate::leak_check::note("identity_file.derived keys", &okm[..]);
    Ok(CipherKeys::from_material(&okm))
}

/// Encrypts an identity under `passphrase` with a fresh salt and IV.
pub fn seal(
    identity: &IdentityKeyPair,
    passphrase: &str,
    iterations: u32,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, IdentityFileError> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(IdentityFileError::BadIterations(iterations));
    }
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 32];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    let keys = keys(passphrase.as_bytes(), &salt, &iv, iterations)?;

    let key = identity.to_private_bytes();
    if key.len() != KEY_LEN {
        return Err(IdentityFileError::InvalidKey);
    }
    let mut pt = Zeroizing::new(vec![0u8; CT_LEN]);
    pt[..2].copy_from_slice(&(KEY_LEN as u16).to_be_bytes());
    pt[2..2 + KEY_LEN].copy_from_slice(&key);

    let mut out = Vec::with_capacity(FILE_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&iterations.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&iv);
    let ct_at = out.len();
    out.extend_from_slice(&pt);
    keys.encrypt(&mut out[ct_at..])
        .map_err(|_| IdentityFileError::InvalidKey)?;
    let tag = keys.tag(&[&out]);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts an identity file (untrusted bytes: every field is checked; the MAC before decrypting).
pub fn open(file: &[u8], passphrase: &str) -> Result<IdentityKeyPair, IdentityFileError> {
    if file.len() != FILE_LEN || &file[..8] != MAGIC {
        return Err(IdentityFileError::NotAnIdentityFile);
    }
    if file[8] != VERSION {
        return Err(IdentityFileError::UnsupportedVersion(file[8]));
    }
    let iterations = u32::from_be_bytes([file[9], file[10], file[11], file[12]]);
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(IdentityFileError::BadIterations(iterations));
    }
    let salt = &file[13..29];
    let iv: &[u8; 32] = file[29..61]
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    let keys = keys(passphrase.as_bytes(), salt, iv, iterations)?;
    let (authenticated, tag) = file.split_at(FILE_LEN - 32);
    let tag: &[u8; 32] = tag
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    if !keys.verify(&[authenticated], tag) {
        return Err(IdentityFileError::WrongPassphraseOrDamaged);
    }
    let mut pt = Zeroizing::new(authenticated[HEADER_LEN..].to_vec());
    keys.decrypt(&mut pt)
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    let len = usize::from(u16::from_be_bytes([pt[0], pt[1]]));
    if len != KEY_LEN || pt[2 + KEY_LEN..].iter().any(|&b| b != 0) {
        return Err(IdentityFileError::InvalidKey);
    }
    IdentityKeyPair::from_private_bytes(&pt[2..2 + KEY_LEN])
        .map_err(|_| IdentityFileError::InvalidKey)
}
