//! A profile is one display name's directory: its identity file, its contact book and its
//! conversations. Two windows on one machine use two display names; a lock file keeps one profile
//! to one window.

use std::collections::BTreeSet;
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
pub fn dir_name(name: &str) -> String {
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

    /// The profile's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The profiles (directory names) under `data_dir` that hold an identity file.
pub fn list_profiles(data_dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("profiles")) else {
        return BTreeSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("identity.e2eid").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect()
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_lock_and_list() {
        let base = std::env::temp_dir().join(format!("e2e-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        assert!(list_profiles(&base).is_empty());
        let p = Profile::open(&base, "Al ice").unwrap();
        assert_eq!(p.dir().file_name().unwrap(), "Al_ice");
        std::fs::write(p.identity_path(), b"x").unwrap();
        assert_eq!(
            list_profiles(&base).into_iter().collect::<Vec<_>>(),
            ["Al_ice"]
        );
        assert!(matches!(
            Profile::open(&base, " "),
            Err(ProfileError::BadName)
        ));
        drop(p);
        let _ = std::fs::remove_dir_all(&base);
    }
}
