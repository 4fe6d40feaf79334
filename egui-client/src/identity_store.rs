//! The long-term identity on disk: created on first use, encrypted under the user's passphrase
//! (PBKDF2-HMAC-SHA256 → AES-256-IGE + HMAC-SHA256, PROTOCOL.md §8), written with mode 0600.

use std::path::Path;

use rand::rngs::OsRng;
use sans_io_proto::IdentityKeyPair;
use sans_io_proto::identity_file::{self, IdentityFileError};

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

/// Opens the identity at `path` with `passphrase`.
pub fn load(path: &Path, passphrase: &str) -> Result<IdentityKeyPair, IdentityStoreError> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path)?);
    Ok(identity_file::open(&bytes, passphrase)?)
}

/// Creates a new identity (RSA-2048 key generation: run it off the UI thread), stores it at
/// `path` encrypted under `passphrase` with `iterations` PBKDF2 rounds, and returns it.
pub fn create(
    path: &Path,
    passphrase: &str,
    iterations: u32,
) -> Result<IdentityKeyPair, IdentityStoreError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
        return Err(IdentityStoreError::WeakPassphrase);
    }
    if path.exists() {
        return Err(IdentityStoreError::Exists);
    }
    let identity = IdentityKeyPair::generate(&mut OsRng);
    let sealed = identity_file::seal(&identity, passphrase, iterations, &mut OsRng)?;
    // Temporary file (0600), fsync, rename, fsync of the directory.
    crate::storage::write_atomic(path, &sealed)?;
    Ok(identity)
}
