//! Identity file version 1 (PROTOCOL.md §9.2): PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), AES-256-IGE
//! and HMAC-SHA256 (encrypt-then-MAC). Read once, then replaced by version 2; written only by
//! tests ([`super::seal_v1`]).
//!
//! ```text
//! 0 magic "E2ECHATK" (8) || 0x01 || iterations: u32 || salt (16) || iv (32)
//!   || ct = IGE(enc_key, iv, key_len: u16 || rsa_private_key (257) || 0^13) (272)
//!   || tag = HMAC(mac_key, bytes[0..333]) (32)
//! enc_key || mac_key = PBKDF2-HMAC-SHA256(passphrase, salt, iterations, 64)
//! ```
//!
//! Its weakness, and the reason for version 2: the two 32-byte PBKDF2 output blocks are
//! independent, and `mac_key` is block 2 alone, so a guesser checks a passphrase against the tag
//! at half the cost of an unlock.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{IdentityFileError, MAGIC};
use crate::crypto::hmac::TAG_LEN;
use crate::crypto::pbkdf2::pbkdf2_hmac_sha256;
use crate::crypto::rsa::PRIVATE_KEY_LEN;
use crate::etm::{CipherKeys, KEY_MATERIAL_LEN};
use crate::identity::IdentityKeyPair;

/// The version byte.
pub const VERSION: u8 = 0x01;
/// PBKDF2 iterations version 1 files were written with (OWASP's 2023 figure for
/// PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Most iterations a file may ask for (bounds the work a planted file can cause).
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Length of the header: magic, version, iterations, salt, IV.
pub const HEADER_LEN: usize = 8 + 1 + 4 + 16 + 32;
/// Length of the ciphertext.
pub const CT_LEN: usize = 272;
/// Total file length.
pub const FILE_LEN: usize = HEADER_LEN + CT_LEN + TAG_LEN;

const _: () = assert!(HEADER_LEN == 61 && FILE_LEN == 365);

/// `aes_key = enc_key`, `aes_iv` = the stored IV, `mac_key`, from
/// `enc_key || mac_key = PBKDF2(passphrase, salt, iterations, 64)`.
fn keys(
    passphrase: &[u8],
    salt: &[u8],
    iv: &[u8; 32],
    iterations: u32,
) -> Result<CipherKeys, IdentityFileError> {
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(IdentityFileError::BadIterations(iterations));
    }
    let mut okm = Zeroizing::new([0u8; KEY_MATERIAL_LEN]);
    // enc_key || mac_key into okm[0..64], then mac_key moved to its place after the IV.
    pbkdf2_hmac_sha256(passphrase, salt, iterations, &mut okm[..64])
        .map_err(|_| IdentityFileError::BadIterations(iterations))?;
    okm.copy_within(32..64, 64);
    okm[32..64].copy_from_slice(iv);
    Ok(CipherKeys::from_material(&okm))
}

/// Encrypts an identity under `passphrase` with a fresh salt and IV (tests and vectors only).
pub(super) fn seal(
    identity: &IdentityKeyPair,
    passphrase: &str,
    iterations: u32,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, IdentityFileError> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 32];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut iv);
    let keys = keys(passphrase.as_bytes(), &salt, &iv, iterations)?;

    let key = identity.to_private_bytes();
    if key.len() != PRIVATE_KEY_LEN {
        return Err(IdentityFileError::InvalidKey);
    }
    let mut body = Zeroizing::new([0u8; CT_LEN]);
    body[..2].copy_from_slice(&(PRIVATE_KEY_LEN as u16).to_be_bytes());
    body[2..2 + PRIVATE_KEY_LEN].copy_from_slice(&key);
    keys.encrypt(&mut body[..])
        .map_err(|_| IdentityFileError::InvalidKey)?;

    let mut out = Vec::with_capacity(FILE_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&iterations.to_be_bytes());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&iv);
    out.extend_from_slice(&body[..]);
    let tag = keys.tag(&[&out]);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a version 1 file (untrusted bytes: every field is checked, the iteration count before
/// any key stretching, the MAC in constant time before decrypting).
pub(super) fn open(file: &[u8], passphrase: &str) -> Result<IdentityKeyPair, IdentityFileError> {
    let file: &[u8; FILE_LEN] = file
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    if file[..8] != MAGIC[..] || file[8] != VERSION {
        return Err(IdentityFileError::NotAnIdentityFile);
    }
    let iterations = u32::from_be_bytes([file[9], file[10], file[11], file[12]]);
    let salt = &file[13..29];
    let mut iv = [0u8; 32];
    iv.copy_from_slice(&file[29..HEADER_LEN]);
    let keys = keys(passphrase.as_bytes(), salt, &iv, iterations)?;
    let (authenticated, tag) = file.split_at(HEADER_LEN + CT_LEN);
    let tag: &[u8; TAG_LEN] = tag
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    if !keys.verify(&[authenticated], tag) {
        return Err(IdentityFileError::WrongPassphraseOrDamaged);
    }
    let mut body = Zeroizing::new([0u8; CT_LEN]);
    body.copy_from_slice(&authenticated[HEADER_LEN..]);
    keys.decrypt(&mut body[..])
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    let len = usize::from(u16::from_be_bytes([body[0], body[1]]));
    if len != PRIVATE_KEY_LEN || body[2 + PRIVATE_KEY_LEN..].iter().any(|&b| b != 0) {
        return Err(IdentityFileError::InvalidKey);
    }
    IdentityKeyPair::from_private_bytes(&body[2..2 + PRIVATE_KEY_LEN])
        .map_err(|_| IdentityFileError::InvalidKey)
}
