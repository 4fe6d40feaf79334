//! A profile is one display name's directory: its identity file and its trust store. Two windows
//! on one machine use two display names; a lock file keeps one profile to one window.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a profile could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The name is empty or too long.
    #[error("enter a display name (1 to 32 characters)")]
    BadName,
    /// Another running window uses this profile.
    #[error("the profile \"{0}\" is open in another window; choose another display name")]
    InUse(String),
    /// File system trouble.
    #[error("cannot use the profile directory {path}: {source}")]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The client's data directory (`~/.local/share/e2e-chat` on Linux).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "e2e-chat")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".e2e-chat"))
}

/// A locked profile directory.
#[derive(Debug)]
pub struct Profile {
    dir: PathBuf,
    name: String,
    lock: PathBuf,
}

/// The directory-safe form of a display name: letters, digits, `-` and `_` kept, the rest `_`.
fn dir_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Profile {
    /// Opens (creating if needed) and locks the profile of `display_name` under `data_dir`.
    pub fn open(data_dir: &Path, display_name: &str) -> Result<Self, ProfileError> {
        let name = display_name.trim();
        if name.is_empty() || name.chars().count() > 32 {
            return Err(ProfileError::BadName);
        }
        let dir = data_dir.join("profiles").join(dir_name(name));
        let io = |source| ProfileError::Io {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let lock = dir.join("profile.lock");
        if let Ok(text) = std::fs::read_to_string(&lock) {
            let pid: Option<u32> = text.trim().parse().ok();
            let alive = pid.is_some_and(|p| {
                p != std::process::id() && Path::new(&format!("/proc/{p}")).exists()
            });
            if alive {
                return Err(ProfileError::InUse(name.to_owned()));
            }
        }
        let mut f = std::fs::File::create(&lock).map_err(io)?;
        write!(f, "{}", std::process::id()).map_err(io)?;
        Ok(Profile {
            dir,
            name: name.to_owned(),
            lock,
        })
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The encrypted identity file.
    pub fn identity_path(&self) -> PathBuf {
        self.dir.join("identity.e2eid")
    }

    /// The trust-on-first-use store.
    pub fn trust_path(&self) -> PathBuf {
        self.dir.join("known_peers.txt")
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}
