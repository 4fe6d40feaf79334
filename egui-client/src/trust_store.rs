//! Trust on first use (PROTOCOL.md §7.4): for each room the user asked for, the fingerprint of the
//! peer identity met there, and whether the user verified it. A different identity in the same
//! room later is reported, never silently accepted.
//!
//! File format, one line a room: `room <TAB> fingerprint-hex <TAB> verified (0|1)`. A damaged line
//! is skipped (and the user re-warned), never a crash.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sans_io_proto::Fingerprint;

/// What we know of the identity met in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Never met anyone in this room: this identity is now remembered.
    FirstSeen,
    /// The same identity as before, not (yet) verified.
    Known,
    /// The same identity as before, verified by comparing safety numbers.
    Verified,
    /// A DIFFERENT identity than before: possibly an attacker. Sending stays blocked until the user
    /// compares the new safety number and accepts it.
    Changed {
        /// The fingerprint remembered before.
        previous: Fingerprint,
    },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    fingerprint: Fingerprint,
    verified: bool,
}

/// The store.
#[derive(Debug)]
pub struct TrustStore {
    path: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
}

impl TrustStore {
    /// Loads the store (an absent or unreadable file is an empty store).
    pub fn load(path: Option<PathBuf>) -> Self {
        let text = path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let entries = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.split('\t');
                let room = parts.next()?.to_owned();
                let fingerprint = Fingerprint::from_hex(parts.next()?).ok()?;
                let verified = parts.next()? == "1";
                Some((
                    room,
                    Entry {
                        fingerprint,
                        verified,
                    },
                ))
            })
            .collect();
        TrustStore { path, entries }
    }

    /// Looks `fingerprint` up for `room`, remembering it if the room is new.
    pub fn observe(&mut self, room: &str, fingerprint: Fingerprint) -> Trust {
        match self.entries.get(room) {
            None => {
                self.remember(room, fingerprint, false);
                Trust::FirstSeen
            }
            Some(e) if e.fingerprint == fingerprint => {
                if e.verified {
                    Trust::Verified
                } else {
                    Trust::Known
                }
            }
            Some(e) => Trust::Changed {
                previous: e.fingerprint,
            },
        }
    }

    /// The user compared safety numbers: remember `fingerprint` as verified for `room` (this is
    /// also how a changed identity is accepted).
    pub fn mark_verified(&mut self, room: &str, fingerprint: Fingerprint) {
        self.remember(room, fingerprint, true);
    }

    /// Accepts a changed identity without verifying it (it becomes "known").
    pub fn accept(&mut self, room: &str, fingerprint: Fingerprint) {
        self.remember(room, fingerprint, false);
    }

    /// Stores (replacing any earlier entry) and saves at once.
    fn remember(&mut self, room: &str, fingerprint: Fingerprint, verified: bool) {
        self.entries.insert(
            room.to_owned(),
            Entry {
                fingerprint,
                verified,
            },
        );
        self.save();
    }

    fn save(&self) {
        let Some(path) = &self.path else { return };
        let text: String = self
            .entries
            .iter()
            .map(|(room, e)| {
                format!(
                    "{room}\t{}\t{}\n",
                    e.fingerprint.to_hex(),
                    u8::from(e.verified)
                )
            })
            .collect();
        // Not secret (fingerprints of public keys), but private to the user.
        let _ = std::fs::write(path, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_seen_known_verified_changed_and_persisted() {
        let dir = std::env::temp_dir().join(format!("e2e-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("known.txt");
        let _ = std::fs::remove_file(&path);
        let a = Fingerprint::from_bytes([1; 32]);
        let b = Fingerprint::from_bytes([2; 32]);
        let mut s = TrustStore::load(Some(path.clone()));
        assert_eq!(s.observe("room", a), Trust::FirstSeen);
        assert_eq!(s.observe("room", a), Trust::Known);
        s.mark_verified("room", a);
        let mut s = TrustStore::load(Some(path.clone()));
        assert_eq!(s.observe("room", a), Trust::Verified);
        assert_eq!(s.observe("room", b), Trust::Changed { previous: a });
        assert_eq!(s.observe("other", b), Trust::FirstSeen);
        s.accept("room", b);
        assert_eq!(s.observe("room", b), Trust::Known);
        // Damaged lines are skipped, not fatal.
        std::fs::write(&path, "garbage\nroom\tzz\t1\n").unwrap();
        let mut s = TrustStore::load(Some(path));
        assert_eq!(s.observe("room", a), Trust::FirstSeen);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
