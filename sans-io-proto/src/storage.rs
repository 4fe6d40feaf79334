//! Sealed local storage (PROTOCOL.md §10): how the desktop client keeps its contact book and its
//! conversations on disk, encrypted and authenticated under the profile's 32-byte storage key.
//!
//! Pure functions from bytes to bytes, like [`crate::identity_file`]: reading and writing files
//! (atomically) is the application's job. Each write draws a fresh 32-byte salt, and every key of
//! that file (AES-256 key, IGE IV, HMAC key) comes from
//! `HKDF(salt, storage_key, "e2e-chat storage v1 " || context)`, so no key or IV is ever used for
//! two plaintexts, and a file only opens under the context it was written for (the contact book
//! cannot be swapped for a conversation, nor Bob's conversation for Carol's). The MAC covers the
//! whole header and ciphertext and is checked in constant time before anything is decrypted.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "E2ESTORE"
//! 8       1     version 0x01
//! 9       1     kind (0x01 contact book, 0x02 conversation history, 0x03 delivery state)
//! 10      32    salt (fresh random per write)
//! 42      n     ct = AES-256-IGE(aes_key, aes_iv, PKCS#7(plaintext)),  n = 16·k, k ≥ 1
//! 42+n    32    tag = HMAC-SHA256(mac_key, bytes[0 .. 42+n])
//! ```

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::padding::{PKCS7_BLOCK, pkcs7_unpad};
use crate::etm::CipherKeys;
use crate::identity::Fingerprint;

/// File magic.
pub const MAGIC: &[u8; 8] = b"E2ESTORE";
/// Format version.
pub const VERSION: u8 = 0x01;
/// The HKDF info prefix; the file's context follows it.
pub const LABEL: &[u8] = b"e2e-chat storage v1 ";
/// Length of the random salt written with every file.
pub const SALT_LEN: usize = 32;
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 8 + 1 + 1 + SALT_LEN;
/// Length of the HMAC-SHA256 tag at the end.
pub const TAG_LEN: usize = 32;
/// The largest plaintext sealed or opened (bounds the memory a planted file can cost).
pub const MAX_PLAINTEXT_LEN: usize = 64 * 1024 * 1024;

/// The profile's storage key: 32 random bytes that only the unlocked identity file yields (one type
/// with [`crate::identity_file`], kept on the heap and wiped on drop, so it is never copied around).
pub use crate::identity_file::StorageKey;

/// What a sealed file holds, and for whom: part of the key derivation and of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The contact book (kind 0x01, context `"contacts"`).
    Contacts,
    /// The conversation with one contact (kind 0x02, context `"history " || hex(fingerprint)`).
    History(Fingerprint),
    /// The delivery state of the conversation with one contact (kind 0x03, context
    /// `"delivery " || hex(fingerprint)`; PROTOCOL.md §7.10).
    Delivery(Fingerprint),
}

impl Context {
    /// The kind byte of the header.
    pub fn kind(&self) -> u8 {
        match self {
            Context::Contacts => 0x01,
            Context::History(_) => 0x02,
            Context::Delivery(_) => 0x03,
        }
    }

    /// The full HKDF info: [`LABEL`] followed by the context string.
    pub fn info(&self) -> Vec<u8> {
        let mut info = LABEL.to_vec();
        match self {
            Context::Contacts => info.extend_from_slice(b"contacts"),
            Context::History(fp) => {
                info.extend_from_slice(b"history ");
                info.extend_from_slice(fp.to_hex().as_bytes());
            }
            Context::Delivery(fp) => {
                info.extend_from_slice(b"delivery ");
                info.extend_from_slice(fp.to_hex().as_bytes());
            }
        }
        info
    }
}

/// Why a sealed file could not be written or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// Not a storage file of this program (magic, length, block alignment).
    #[error("not an e2e-chat storage file")]
    NotAStorageFile,
    /// A format version this program does not know.
    #[error("storage file version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The file holds another kind of data than the one asked for.
    #[error("the storage file holds other data than expected")]
    WrongKind,
    /// The plaintext is larger than [`MAX_PLAINTEXT_LEN`].
    #[error("storage file too large")]
    TooLarge,
    /// The MAC did not verify: the file was damaged, belongs to another profile or another
    /// contact (the three cannot be told apart, by design).
    #[error("the storage file is damaged or was not written for this profile")]
    Damaged,
}

/// Encrypts `plaintext` for `context` under `key` with a fresh salt.
pub fn seal(
    key: &StorageKey,
    context: &Context,
    plaintext: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, StorageError> {
    if plaintext.len() > MAX_PLAINTEXT_LEN {
        return Err(StorageError::TooLarge);
    }
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    let keys = CipherKeys::derive(&salt, key.as_bytes(), &context.info());

    let pad = PKCS7_BLOCK - plaintext.len() % PKCS7_BLOCK;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + pad + TAG_LEN);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.push(context.kind());
    out.extend_from_slice(&salt);
    // Plaintext goes into the output buffer and is encrypted in place there, so no second
    // plaintext copy exists to wipe.
    out.extend_from_slice(plaintext);
    // `pad` is 1..=16, so it fits a byte.
    out.resize(HEADER_LEN + plaintext.len() + pad, pad as u8);
    if keys.encrypt(&mut out[HEADER_LEN..]).is_err() {
        // Unreachable: the buffer was padded to whole blocks just above.
        out.zeroize();
        return Err(StorageError::NotAStorageFile);
    }
    let tag = keys.tag(&[&out]);
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Decrypts a sealed file for `context` (untrusted bytes: every field is checked, the MAC before
/// decrypting).
pub fn open(
    key: &StorageKey,
    context: &Context,
    file: &[u8],
) -> Result<Zeroizing<Vec<u8>>, StorageError> {
    if file.len() < HEADER_LEN + PKCS7_BLOCK + TAG_LEN || &file[..8] != MAGIC {
        return Err(StorageError::NotAStorageFile);
    }
    if file[8] != VERSION {
        return Err(StorageError::UnsupportedVersion(file[8]));
    }
    if file[9] != context.kind() {
        return Err(StorageError::WrongKind);
    }
    let (authenticated, tag) = file.split_at(file.len() - TAG_LEN);
    let ct_len = authenticated.len() - HEADER_LEN;
    if !ct_len.is_multiple_of(PKCS7_BLOCK) {
        return Err(StorageError::NotAStorageFile);
    }
    if ct_len > MAX_PLAINTEXT_LEN + PKCS7_BLOCK {
        return Err(StorageError::TooLarge);
    }
    let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| StorageError::NotAStorageFile)?;
    let keys = CipherKeys::derive(&file[10..HEADER_LEN], key.as_bytes(), &context.info());
    if !keys.verify(&[authenticated], tag) {
        return Err(StorageError::Damaged);
    }
    let mut buf = Zeroizing::new(authenticated[HEADER_LEN..].to_vec());
    keys.decrypt(&mut buf)
        .map_err(|_| StorageError::NotAStorageFile)?;
    // Authenticated, so a bad padding means a writer bug, not an attacker probing.
    let len = pkcs7_unpad(&buf).map_err(|_| StorageError::Damaged)?.len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn key(b: u8) -> StorageKey {
        StorageKey::from_bytes(&[b; 32])
    }

    #[test]
    fn round_trip_for_every_length_around_the_block_size() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let ctx = Context::History(Fingerprint::from_bytes([7; 32]));
        for len in 0..=48 {
            let pt: Vec<u8> = (0..len as u8).collect();
            let sealed = seal(&key(1), &ctx, &pt, &mut rng).unwrap();
            assert_eq!(sealed.len(), HEADER_LEN + (len / 16 + 1) * 16 + TAG_LEN);
            assert_eq!(open(&key(1), &ctx, &sealed).unwrap().as_slice(), &pt[..]);
        }
    }

    #[test]
    fn every_write_uses_a_fresh_salt_and_no_plaintext_shows() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let pt = b"meet me at the station at noon, meet me at the station at noon";
        let a = seal(&key(1), &Context::Contacts, pt, &mut rng).unwrap();
        let b = seal(&key(1), &Context::Contacts, pt, &mut rng).unwrap();
        assert_ne!(a[10..HEADER_LEN], b[10..HEADER_LEN], "salt reused");
        assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..], "same ciphertext twice");
        for file in [&a, &b] {
            assert!(!file.windows(8).any(|w| pt.windows(8).any(|p| p == w)));
        }
    }

    #[test]
    fn wrong_key_context_kind_or_any_flipped_bit_is_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let bob = Context::History(Fingerprint::from_bytes([1; 32]));
        let carol = Context::History(Fingerprint::from_bytes([2; 32]));
        let sealed = seal(&key(1), &bob, b"hello", &mut rng).unwrap();
        assert_eq!(open(&key(2), &bob, &sealed), Err(StorageError::Damaged));
        assert_eq!(open(&key(1), &carol, &sealed), Err(StorageError::Damaged));
        assert_eq!(
            open(&key(1), &Context::Contacts, &sealed),
            Err(StorageError::WrongKind)
        );
        // A delivery state is not a history, nor Carol's delivery state Bob's.
        let fp = Fingerprint::from_bytes([1; 32]);
        let delivery = seal(&key(1), &Context::Delivery(fp), b"state", &mut rng).unwrap();
        assert_eq!(delivery[9], 0x03);
        assert_eq!(
            open(&key(1), &Context::History(fp), &delivery),
            Err(StorageError::WrongKind)
        );
        assert_eq!(
            open(
                &key(1),
                &Context::Delivery(Fingerprint::from_bytes([2; 32])),
                &delivery
            ),
            Err(StorageError::Damaged)
        );
        assert_eq!(
            open(&key(1), &Context::Delivery(fp), &delivery)
                .unwrap()
                .as_slice(),
            b"state"
        );
        for i in 0..sealed.len() {
            for bit in 0..8 {
                let mut bad = sealed.clone();
                bad[i] ^= 1 << bit;
                assert!(open(&key(1), &bob, &bad).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn malformed_files_are_typed_errors_not_panics() {
        let k = key(1);
        let c = Context::Contacts;
        assert_eq!(open(&k, &c, b""), Err(StorageError::NotAStorageFile));
        let mut f = vec![0u8; HEADER_LEN + 16 + TAG_LEN];
        assert_eq!(open(&k, &c, &f), Err(StorageError::NotAStorageFile));
        f[..8].copy_from_slice(MAGIC);
        f[8] = 9;
        assert_eq!(open(&k, &c, &f), Err(StorageError::UnsupportedVersion(9)));
        f[8] = VERSION;
        f[9] = 0x01;
        assert_eq!(open(&k, &c, &f), Err(StorageError::Damaged));
        f.push(0); // not whole blocks
        assert_eq!(open(&k, &c, &f), Err(StorageError::NotAStorageFile));
        f.truncate(HEADER_LEN + TAG_LEN + 15);
        assert_eq!(open(&k, &c, &f), Err(StorageError::NotAStorageFile));
    }

    #[test]
    fn the_label_and_layout_are_written_in_protocol_md() {
        let spec = include_str!("../../PROTOCOL.md");
        let section = spec
            .split("## 10. Local storage")
            .nth(1)
            .expect("PROTOCOL.md has a §10 on local storage");
        let label = core::str::from_utf8(LABEL).unwrap();
        assert!(section.contains(&format!("\"{label}\"")));
        assert!(section.contains("\"E2ESTORE\""));
        assert!(section.contains("\"contacts\""));
        assert!(section.contains("\"history \""));
    }
}
