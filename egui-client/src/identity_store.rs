//! The long-term identity on disk: created on first use, encrypted under the user's passphrase
//! with the key of the profile's local storage (Argon2id → HKDF → AES-256-IGE + HMAC-SHA256,
//! PROTOCOL.md §9), written with mode 0600, atomically. A version 1 file is replaced by its
//! version 2 rewrite when it is unlocked, before its storage key is handed out.

use std::path::Path;

use rand::rngs::OsRng;
use sans_io_proto::IdentityKeyPair;
use sans_io_proto::identity_file::{self, Argon2Params, IdentityFileError, StorageKey};

/// Shortest passphrase accepted for a new identity.
pub const MIN_PASSPHRASE_LEN: usize = 8;

/// Why the identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityStoreError {
    /// Wrong passphrase, damaged file, unsupported file.
    #[error("{0}")]
    File(#[from] IdentityFileError),
    /// A new passphrase that is too short.
    #[error("choose a passphrase of at least {MIN_PASSPHRASE_LEN} characters")]
    WeakPassphrase,
    /// An identity file is there already (never overwritten).
    #[error("an identity already exists for this name: enter its passphrase")]
    Exists,
    /// Disk trouble.
    #[error("identity file: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether an identity file exists at `path`.
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// Opens the identity at `path` with `passphrase`, and returns it with the storage key. A
/// version 1 file is first rewritten in place as version 2 (with `rewrite_params`), atomically:
/// the new storage key is returned only once the file that holds it is on disk.
pub fn load(
    path: &Path,
    passphrase: &str,
    rewrite_params: Argon2Params,
) -> Result<(IdentityKeyPair, StorageKey), IdentityStoreError> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path)?);
    let unlocked = identity_file::open_with(&bytes, passphrase, rewrite_params, &mut OsRng)?;
    if let Some(rewrite) = &unlocked.rewrite {
        crate::storage::write_atomic(path, rewrite)?;
    }
    Ok((unlocked.identity, unlocked.storage_key))
}

/// Creates a new identity (RSA-2048 key generation: run it off the UI thread) and a storage key,
/// stores them at `path` encrypted under `passphrase` with Argon2id `params`, and returns them.
pub fn create(
    path: &Path,
    passphrase: &str,
    params: Argon2Params,
) -> Result<(IdentityKeyPair, StorageKey), IdentityStoreError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
        return Err(IdentityStoreError::WeakPassphrase);
    }
    if path.exists() {
        return Err(IdentityStoreError::Exists);
    }
    let identity = IdentityKeyPair::generate(&mut OsRng);
    let storage_key = StorageKey::generate(&mut OsRng);
    let sealed = identity_file::seal(&identity, &storage_key, passphrase, params, &mut OsRng)?;
    // Temporary file (0600), fsync, rename, fsync of the directory (PROTOCOL.md §9.1).
    crate::storage::write_atomic(path, &sealed)?;
    Ok((identity, storage_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test identity 0 of `vectors/identities/test-identities.txt` (key generation is slow).
    fn alice() -> IdentityKeyPair {
        let text = include_str!("../../vectors/identities/test-identities.txt");
        let line = text
            .lines()
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .expect("a test identity");
        let bytes: Vec<u8> = (0..line.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex"))
            .collect();
        IdentityKeyPair::from_private_bytes(&bytes).expect("valid key")
    }

    const FAST: Argon2Params = Argon2Params {
        m_cost_kib: 8,
        t_cost: 1,
        lanes: 1,
    };

    /// A version 1 file is replaced on disk by version 2 at its first unlock, and the storage key
    /// handed out is the one in the new file; a failed unlock leaves the old file untouched.
    #[test]
    fn version_1_is_rewritten_on_disk_once() {
        let dir = std::env::temp_dir().join(format!("idstore-v1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("identity.key");
        let v1 = identity_file::seal_v1(&alice(), "passphrase", 2, &mut OsRng).unwrap();
        std::fs::write(&path, &v1).unwrap();

        assert!(matches!(
            load(&path, "wrong", FAST),
            Err(IdentityStoreError::File(
                IdentityFileError::WrongPassphraseOrDamaged
            ))
        ));
        assert_eq!(std::fs::read(&path).unwrap(), v1);

        let (identity, key) = load(&path, "passphrase", FAST).unwrap();
        assert_eq!(identity.fingerprint(), alice().fingerprint());
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk[8], 2, "rewritten as version 2");
        assert!(!path.with_extension("tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (_, again) = load(&path, "passphrase", FAST).unwrap();
        assert_eq!(again.as_bytes(), key.as_bytes(), "the same storage key");
        assert_eq!(std::fs::read(&path).unwrap(), on_disk, "no second rewrite");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
