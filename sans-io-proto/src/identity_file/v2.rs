//! Identity file version 2 (PROTOCOL.md §9.1): Argon2id, then HKDF into one key set.
//!
//! ```text
//! offset size  field
//! 0      8     magic "E2ECHATK"
//! 8      1     version 0x02
//! 9      4     m_cost: u32 (KiB)      13  4  t_cost: u32      17  1  lanes: u8
//! 18     16    salt
//! 34     304   ct = IGE(keys.aes_key, keys.aes_iv, rsa_private_key (257) || storage_key (32) || 0^15)
//! 338    32    tag = HMAC(keys.mac_key, "e2e-chat v2 identity file" || bytes[0..338])
//!
//! master = Argon2id(passphrase, salt, m_cost, t_cost, lanes, 32)
//! keys   = HKDF(salt = bytes[0..34], ikm = master, info = "e2e-chat v2 identity file", L = 96)
//! ```

use argon2::{Algorithm, Argon2, Block, Version};
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use super::{Argon2Params, IdentityFileError, MAGIC, STORAGE_KEY_LEN, StorageKey};
use crate::crypto::hmac::TAG_LEN;
use crate::crypto::rsa::PRIVATE_KEY_LEN;
use crate::etm::CipherKeys;
use crate::identity::IdentityKeyPair;
use crate::labels;

/// The version byte.
pub const VERSION: u8 = 0x02;
/// Length of the salt.
pub const SALT_LEN: usize = 16;
/// Length of the Argon2id output (`master`).
pub const MASTER_LEN: usize = 32;
/// Length of the header: magic, version, the three parameters and the salt (the HKDF salt).
pub const HEADER_LEN: usize = 8 + 1 + 4 + 4 + 1 + SALT_LEN;
/// Length of the ciphertext: private key, storage key and 15 zero bytes, 19 AES blocks.
pub const CT_LEN: usize = 304;
/// Length of the zero padding at the end of the plaintext.
const PAD_LEN: usize = CT_LEN - PRIVATE_KEY_LEN - STORAGE_KEY_LEN;
/// Total file length.
pub const FILE_LEN: usize = HEADER_LEN + CT_LEN + TAG_LEN;

const _: () =
    assert!(HEADER_LEN == 34 && PAD_LEN == 15 && CT_LEN.is_multiple_of(16) && FILE_LEN == 370);

/// Field offsets.
const M_COST_AT: usize = 9;
const T_COST_AT: usize = 13;
const LANES_AT: usize = 17;
const SALT_AT: usize = 18;

/// `bytes[0..34]`: magic, version, parameters, salt.
fn header(params: Argon2Params, salt: &[u8; SALT_LEN]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8] = VERSION;
    h[M_COST_AT..T_COST_AT].copy_from_slice(&params.m_cost_kib.to_be_bytes());
    h[T_COST_AT..LANES_AT].copy_from_slice(&params.t_cost.to_be_bytes());
    h[LANES_AT] = params.lanes;
    h[SALT_AT..].copy_from_slice(salt);
    h
}

/// The parameters and salt of a header (no range check: see [`Argon2Params::check`]).
fn parse_header(h: &[u8; HEADER_LEN]) -> (Argon2Params, [u8; SALT_LEN]) {
    let u32_at = |at: usize| u32::from_be_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let params = Argon2Params {
        m_cost_kib: u32_at(M_COST_AT),
        t_cost: u32_at(T_COST_AT),
        lanes: h[LANES_AT],
    };
    let mut salt = [0u8; SALT_LEN];
    salt.copy_from_slice(&h[SALT_AT..]);
    (params, salt)
}

#[cfg(test)]
thread_local! {
    /// How many times this thread ran Argon2id (tests check that refused parameters never do).
    pub(super) static ARGON2_RUNS: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// `master = Argon2id(passphrase, salt, m, t, lanes, 32)` (RFC 9106, version 0x13, no secret, no
/// associated data) into `out`.
///
/// The working memory (`m` KiB) is allocated here, fallibly, rather than by the crate: so a
/// request the machine cannot satisfy is an error instead of an abort, and so the memory is wiped
/// before it is freed (the crate's own allocation is released without wiping, and its last
/// blocks determine `master`). `params` must be accepted ones: callers check them first.
pub(super) fn argon2id(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: Argon2Params,
    out: &mut [u8; MASTER_LEN],
) -> Result<(), IdentityFileError> {
    let params = params.check()?;
    let refused = IdentityFileError::BadArgon2Params(params);
    let crate_params = argon2::Params::new(
        params.m_cost_kib,
        params.t_cost,
        u32::from(params.lanes),
        Some(MASTER_LEN),
    )
    .map_err(|_| refused.clone())?;
    #[cfg(test)]
    ARGON2_RUNS.with(|runs| runs.set(runs.get() + 1));
    let blocks = crate_params.block_count();
    let mut memory: Zeroizing<Vec<Block>> = Zeroizing::new(Vec::new());
    memory
        .try_reserve_exact(blocks)
        .map_err(|_| IdentityFileError::OutOfMemory(params.m_cost_kib))?;
    memory.resize(blocks, Block::new());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, crate_params)
        .hash_password_into_with_memory(passphrase, salt, out, &mut memory[..])
        // Unreachable with accepted parameters, a 16-byte salt and a 32-byte output, unless the
        // passphrase is 4 GiB long.
        .map_err(|_| refused)
    // `memory` is wiped here (`Zeroizing<Vec<Block>>` zeroes every block before freeing).
}

/// The key set of a file with this header (PROTOCOL.md §9.1). `Argon2id` output is wiped here;
/// the HKDF output inside [`CipherKeys::derive`].
fn keys(passphrase: &str, header: &[u8; HEADER_LEN]) -> Result<CipherKeys, IdentityFileError> {
    let (params, salt) = parse_header(header);
    let mut master = Zeroizing::new([0u8; MASTER_LEN]);
    argon2id(passphrase.as_bytes(), &salt, params, &mut master)?;
    crate::leak_check::note("identity_file.argon2 output", &master[..]);
    Ok(CipherKeys::derive(
        header,
        &master[..],
        labels::IDENTITY_FILE,
    ))
}

/// Seals `identity` and `storage_key` with a fresh salt (PROTOCOL.md §9.1).
pub(super) fn seal(
    identity: &IdentityKeyPair,
    storage_key: &StorageKey,
    passphrase: &str,
    params: Argon2Params,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, IdentityFileError> {
    let key = identity.to_private_bytes();
    if key.len() != PRIVATE_KEY_LEN {
        return Err(IdentityFileError::InvalidKey);
    }
    let mut body = Zeroizing::new([0u8; CT_LEN]);
    body[..PRIVATE_KEY_LEN].copy_from_slice(&key);
    body[PRIVATE_KEY_LEN..PRIVATE_KEY_LEN + STORAGE_KEY_LEN]
        .copy_from_slice(storage_key.as_bytes());
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    seal_body(&mut body, passphrase, params, &salt)
}

/// `header || IGE(body) || tag` for a plaintext `body` (private key, storage key, padding),
/// which is encrypted in place: the plaintext is never copied (the caller's buffer wipes itself).
pub(super) fn seal_body(
    body: &mut [u8; CT_LEN],
    passphrase: &str,
    params: Argon2Params,
    salt: &[u8; SALT_LEN],
) -> Result<Vec<u8>, IdentityFileError> {
    let header = header(params.check()?, salt);
    let keys = keys(passphrase, &header)?;
    keys.encrypt(&mut body[..])
        .map_err(|_| IdentityFileError::InvalidKey)?;
    let mut out = Vec::with_capacity(FILE_LEN);
    out.extend_from_slice(&header);
    out.extend_from_slice(&body[..]);
    let tag = keys.tag(&[labels::IDENTITY_FILE, &out]);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens a version 2 file (untrusted bytes): length, then the parameters' ranges before any
/// Argon2id work, then the tag in constant time, and only then decrypts.
pub(super) fn open(
    file: &[u8],
    passphrase: &str,
) -> Result<(IdentityKeyPair, StorageKey), IdentityFileError> {
    let file: &[u8; FILE_LEN] = file
        .try_into()
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    let (authenticated, tag) = file.split_at(HEADER_LEN + CT_LEN);
    let (header, ct) = authenticated.split_at(HEADER_LEN);
    let (header, tag): (&[u8; HEADER_LEN], &[u8; TAG_LEN]) =
        match (header.try_into(), tag.try_into()) {
            (Ok(h), Ok(t)) => (h, t),
            _ => return Err(IdentityFileError::NotAnIdentityFile),
        };
    if header[..8] != MAGIC[..] || header[8] != VERSION {
        return Err(IdentityFileError::NotAnIdentityFile);
    }
    parse_header(header).0.check()?;

    let keys = keys(passphrase, header)?;
    if !keys.verify(&[labels::IDENTITY_FILE, authenticated], tag) {
        return Err(IdentityFileError::WrongPassphraseOrDamaged);
    }
    let mut body = Zeroizing::new([0u8; CT_LEN]);
    body.copy_from_slice(ct);
    keys.decrypt(&mut body[..])
        .map_err(|_| IdentityFileError::NotAnIdentityFile)?;
    let (private, rest) = body.split_at(PRIVATE_KEY_LEN);
    let (storage, padding) = rest.split_at(STORAGE_KEY_LEN);
    if padding.iter().any(|&b| b != 0) {
        return Err(IdentityFileError::InvalidKey);
    }
    let identity =
        IdentityKeyPair::from_private_bytes(private).map_err(|_| IdentityFileError::InvalidKey)?;
    let mut storage_key = StorageKey(Box::new([0; STORAGE_KEY_LEN]));
    storage_key.0.copy_from_slice(storage);
    Ok((identity, storage_key))
}
