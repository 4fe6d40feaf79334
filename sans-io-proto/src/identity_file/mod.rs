//! The identity file on disk (PROTOCOL.md §9): the long-term private key and the 32-byte key of
//! the application's local storage, encrypted under a passphrase.
//!
//! - Version 2 ([`v2`], §9.1), the only one written: `master = Argon2id(passphrase, salt, m, t,
//!   lanes, 32)`, one HKDF over it gives the AES-256-IGE key and IV and the HMAC-SHA256 key
//!   (encrypt-then-MAC), so a passphrase guess costs an attacker exactly one Argon2id run, as an
//!   unlock costs the user.
//! - Version 1 ([`v1`], §9.2): PBKDF2-HMAC-SHA256. Still opens; [`open`] then hands back the same
//!   identity sealed as version 2 with a fresh [`StorageKey`], for the caller to write atomically
//!   in place of the old file before it uses that key.
//!
//! Pure functions from bytes to bytes: reading and writing the file, its permissions and the
//! atomic replacement are the application's job. The file is untrusted input: every field is
//! checked, the cost parameters before any key stretching (so a planted file cannot make the
//! reader spend more than [`Argon2Params::MAX_M_COST_KIB`] × [`Argon2Params::MAX_T_COST`] or
//! [`v1::MAX_ITERATIONS`] worth of work), and the MAC (constant time) before decrypting.

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::identity::IdentityKeyPair;

pub mod v1;
pub mod v2;

/// File magic, shared by every version.
pub const MAGIC: &[u8; 8] = b"E2ECHATK";
/// The format version written by [`seal`].
pub const VERSION: u8 = v2::VERSION;

/// Length of a [`StorageKey`].
pub const STORAGE_KEY_LEN: usize = 32;

/// The key of the application's local storage (PROTOCOL.md §9.1): 32 random bytes drawn when the
/// identity file is created and kept inside it. Boxed so moves do not leave copies behind, wiped
/// on drop, and `Debug` prints nothing of it.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct StorageKey(Box<[u8; STORAGE_KEY_LEN]>);

impl StorageKey {
    /// Draws a fresh key.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = StorageKey(Box::new([0; STORAGE_KEY_LEN]));
        rng.fill_bytes(&mut key.0[..]);
        key
    }

    /// Wraps known key bytes (test vectors; a key restored from elsewhere).
    pub fn from_bytes(bytes: &[u8; STORAGE_KEY_LEN]) -> Self {
        let mut key = StorageKey(Box::new([0; STORAGE_KEY_LEN]));
        key.0.copy_from_slice(bytes);
        key
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; STORAGE_KEY_LEN] {
        &self.0
    }
}

impl core::fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("StorageKey(..)")
    }
}

/// Argon2id cost parameters of a version 2 file (PROTOCOL.md §9.1). They are written in the
/// file's header, so a file written with other parameters still opens, as long as they lie in the
/// accepted ranges ([`Argon2Params::is_accepted`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Argon2Params {
    /// Memory in KiB (`m`).
    pub m_cost_kib: u32,
    /// Passes over the memory (`t`).
    pub t_cost: u32,
    /// Parallelism (`p`): independent lanes, computed one after another here.
    pub lanes: u8,
}

impl Argon2Params {
    /// What [`seal`] writes in production: 64 MiB, 3 passes, 1 lane (RFC 9106 §4's second
    /// recommended option for memory, with 3 passes; above OWASP's 19 MiB / 2 passes minimum).
    pub const DEFAULT: Argon2Params = Argon2Params {
        m_cost_kib: 65_536,
        t_cost: 3,
        lanes: 1,
    };
    /// Least memory accepted per lane, in KiB (RFC 9106 §3.1: `m ≥ 8·p`).
    pub const MIN_M_COST_KIB_PER_LANE: u32 = 8;
    /// Most memory a file may ask for, in KiB (1 GiB).
    pub const MAX_M_COST_KIB: u32 = 1_048_576;
    /// Fewest passes.
    pub const MIN_T_COST: u32 = 1;
    /// Most passes a file may ask for.
    pub const MAX_T_COST: u32 = 10;
    /// Fewest lanes.
    pub const MIN_LANES: u8 = 1;
    /// Most lanes a file may ask for.
    pub const MAX_LANES: u8 = 8;

    /// Whether a reader accepts these parameters: `8·lanes ≤ m ≤ 1 048 576` KiB, `1 ≤ t ≤ 10`,
    /// `1 ≤ lanes ≤ 8` (PROTOCOL.md §9.1). Checked before any Argon2 work, on reading and on
    /// writing (a writer never produces a file it would refuse to read).
    pub const fn is_accepted(&self) -> bool {
        self.lanes >= Self::MIN_LANES
            && self.lanes <= Self::MAX_LANES
            && self.m_cost_kib >= Self::MIN_M_COST_KIB_PER_LANE * self.lanes as u32
            && self.m_cost_kib <= Self::MAX_M_COST_KIB
            && self.t_cost >= Self::MIN_T_COST
            && self.t_cost <= Self::MAX_T_COST
    }

    fn check(self) -> Result<Self, IdentityFileError> {
        if self.is_accepted() {
            Ok(self)
        } else {
            Err(IdentityFileError::BadArgon2Params(self))
        }
    }
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An opened identity file.
#[derive(Debug)]
pub struct Unlocked {
    /// The long-term identity.
    pub identity: IdentityKeyPair,
    /// The key of the application's local storage.
    pub storage_key: StorageKey,
    /// `Some(version 2 file bytes)` when the file was version 1: the caller must write these
    /// bytes atomically (replacing the version 1 file) **before** using `storage_key`, which is
    /// new and exists nowhere else (PROTOCOL.md §9.2). `None` for a version 2 file.
    pub rewrite: Option<Vec<u8>>,
}

/// Why an identity file could not be opened or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityFileError {
    /// Not an identity file of this program (magic, length).
    #[error("not an e2e-chat identity file")]
    NotAnIdentityFile,
    /// A format version this program does not know.
    #[error("identity file version {0} is not supported")]
    UnsupportedVersion(u8),
    /// A version 1 file's PBKDF2 iteration count is 0 or above [`v1::MAX_ITERATIONS`].
    #[error("identity file asks for {0} key-derivation iterations; refusing")]
    BadIterations(u32),
    /// Argon2id parameters outside the accepted ranges ([`Argon2Params::is_accepted`]); refused
    /// before any key stretching.
    #[error(
        "identity file asks for Argon2id with {} KiB, {} passes, {} lanes; refusing \
         (accepted: 8 KiB per lane to 1 GiB, 1 to 10 passes, 1 to 8 lanes)",
        .0.m_cost_kib, .0.t_cost, .0.lanes
    )]
    BadArgon2Params(Argon2Params),
    /// The memory Argon2id needs could not be allocated.
    #[error("not enough memory to unlock the identity ({0} KiB needed)")]
    OutOfMemory(u32),
    /// The MAC did not verify: the passphrase is wrong or the file was damaged. (The two cannot
    /// be told apart, by design.)
    #[error("wrong passphrase, or the identity file is damaged")]
    WrongPassphraseOrDamaged,
    /// The MAC verified but the content is invalid: the key does not decode (PROTOCOL.md §2.1)
    /// or the padding is not zero.
    #[error("the identity file holds an invalid key")]
    InvalidKey,
}

/// Seals `identity` and `storage_key` under `passphrase` as a version 2 file (PROTOCOL.md §9.1),
/// with a fresh salt. Parameters outside the accepted ranges are refused
/// ([`IdentityFileError::BadArgon2Params`]). Takes one Argon2id run: about a quarter of a second
/// with [`Argon2Params::DEFAULT`] in a release build; run it off any UI thread.
pub fn seal(
    identity: &IdentityKeyPair,
    storage_key: &StorageKey,
    passphrase: &str,
    params: Argon2Params,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, IdentityFileError> {
    v2::seal(identity, storage_key, passphrase, params.check()?, rng)
}

/// Opens an identity file of either version (untrusted bytes). A version 1 file comes back with
/// a fresh storage key and its version 2 replacement in [`Unlocked::rewrite`], sealed with
/// [`Argon2Params::DEFAULT`] (so it takes two Argon2id runs' worth of time less the PBKDF2 one).
pub fn open(
    file: &[u8],
    passphrase: &str,
    rng: &mut impl CryptoRngCore,
) -> Result<Unlocked, IdentityFileError> {
    open_with(file, passphrase, Argon2Params::DEFAULT, rng)
}

/// [`open`], writing the version 2 replacement of a version 1 file with `rewrite_params` (an
/// application's configured parameters, or cheap ones in tests). `rng` is used only for a
/// version 1 file: the new storage key and salt.
pub fn open_with(
    file: &[u8],
    passphrase: &str,
    rewrite_params: Argon2Params,
    rng: &mut impl CryptoRngCore,
) -> Result<Unlocked, IdentityFileError> {
    let (Some(magic), Some(&version)) = (file.get(..MAGIC.len()), file.get(MAGIC.len())) else {
        return Err(IdentityFileError::NotAnIdentityFile);
    };
    if magic != MAGIC {
        return Err(IdentityFileError::NotAnIdentityFile);
    }
    match version {
        v1::VERSION => {
            // Check the parameters of the rewrite before any work, so a caller error cannot leave
            // an unlocked identity without its replacement file.
            let rewrite_params = rewrite_params.check()?;
            let identity = v1::open(file, passphrase)?;
            let storage_key = StorageKey::generate(rng);
            let rewrite = v2::seal(&identity, &storage_key, passphrase, rewrite_params, rng)?;
            Ok(Unlocked {
                identity,
                storage_key,
                rewrite: Some(rewrite),
            })
        }
        v2::VERSION => {
            let (identity, storage_key) = v2::open(file, passphrase)?;
            Ok(Unlocked {
                identity,
                storage_key,
                rewrite: None,
            })
        }
        other => Err(IdentityFileError::UnsupportedVersion(other)),
    }
}

/// Seals `identity` as a **version 1** file (PROTOCOL.md §9.2). Nothing writes version 1 in
/// production: this exists for tests, test vectors and fuzz seeds of the upgrade path.
#[doc(hidden)]
pub fn seal_v1(
    identity: &IdentityKeyPair,
    passphrase: &str,
    iterations: u32,
    rng: &mut impl CryptoRngCore,
) -> Result<Vec<u8>, IdentityFileError> {
    v1::seal(identity, passphrase, iterations, rng)
}

#[cfg(test)]
mod tests;
