//! The contact book: every identity the user has talked to, keyed by its fingerprint, with the
//! name the user knows it by (petname), whether it was verified, when it was first and last seen,
//! and the rooms it was met in. A known identity is recognised in any room; an unknown identity
//! in a room where someone else was met is "not Bob, whom you met in this room".
//!
//! Plaintext layout: PROTOCOL.md §10.3 (sealed by `crate::storage`).

use std::collections::{BTreeMap, BTreeSet};

use sans_io_proto::Fingerprint;
use zeroize::Zeroizing;

use crate::model::Timer;
use crate::storage::codec::{Malformed, Reader, Writer};
use crate::text;

/// Longest petname, peer name or room name stored, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
const VERSION: u8 = 1;
const FLAG_VERIFIED: u8 = 1;
const FLAG_KEEP_HISTORY: u8 = 2;
const FLAG_PETNAME_BY_USER: u8 = 4;

/// One contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The identity.
    pub fingerprint: Fingerprint,
    /// The name the user knows this contact by.
    pub petname: String,
    /// Whether the user chose the petname (otherwise it follows the peer's display name).
    pub petname_by_user: bool,
    /// Whether the user compared the safety number and marked the contact verified.
    pub verified: bool,
    /// Whether the conversation is kept on disk.
    pub keep_history: bool,
    /// The disappearing-messages timer both sides agreed on.
    pub timer: Timer,
    /// First time met (Unix ms).
    pub first_seen_ms: u64,
    /// Last time met (Unix ms).
    pub last_seen_ms: u64,
    /// What the peer calls itself (chosen by the peer: shown as such, never as the contact's name).
    pub peer_name: String,
    /// Rooms this identity was met in.
    pub rooms: BTreeSet<String>,
}

/// What the book says about an identity met in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recognition {
    /// A contact of the book (in any room).
    Known,
    /// Never seen, and nobody was met in this room before.
    New,
    /// Never seen, in a room where `previous` was met: "not Bob, whom you met in this room".
    /// Needs the user's explicit accept.
    NotTheOneMetHere {
        /// The contact met in this room before.
        previous: Fingerprint,
    },
}

/// Why a petname was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenameError {
    /// Nothing left after cleaning.
    #[error("a name needs at least one visible character")]
    Empty,
    /// Another contact has it (two "Bob"s could be confused).
    #[error("another contact is already called \"{0}\"")]
    Taken(String),
    /// No such contact.
    #[error("no such contact")]
    Unknown,
}

/// A v1 trust-store line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is damaged ({reason})")]
pub struct MigrationError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub reason: &'static str,
}

/// The contact book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactBook {
    contacts: BTreeMap<Fingerprint, Contact>,
    rooms: BTreeMap<String, Fingerprint>,
}

fn short(fp: &Fingerprint) -> String {
    fp.to_hex()[..8].to_owned()
}

impl ContactBook {
    /// The contact with this fingerprint.
    pub fn get(&self, fp: &Fingerprint) -> Option<&Contact> {
        self.contacts.get(fp)
    }

    /// Every contact, by fingerprint.
    pub fn iter(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.values()
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.contacts.len()
    }

    /// Whether the book is empty.
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
    }

    /// The identity last met (and approved) in `room`.
    pub fn met_in(&self, room: &str) -> Option<Fingerprint> {
        self.rooms.get(room).copied()
    }

    /// What to make of `fp` met in `room`.
    pub fn recognise(&self, fp: &Fingerprint, room: &str) -> Recognition {
        if self.contacts.contains_key(fp) {
            return Recognition::Known;
        }
        match self.rooms.get(room) {
            Some(previous) if previous != fp => Recognition::NotTheOneMetHere {
                previous: *previous,
            },
            _ => Recognition::New,
        }
    }

    /// The name to show for `fp`: its petname, or "unknown identity 1a2b3c4d".
    pub fn name_of(&self, fp: &Fingerprint) -> String {
        self.contacts.get(fp).map_or_else(
            || format!("unknown identity {}", short(fp)),
            |c| c.petname.clone(),
        )
    }

    /// `base`, or `base (2)`, `base (3)`, ... so no two contacts share a name.
    fn unique_name(&self, base: &str, except: Option<&Fingerprint>) -> String {
        let taken = |name: &str| {
            self.contacts
                .values()
                .any(|c| Some(&c.fingerprint) != except && c.petname == name)
        };
        if !taken(base) {
            return base.to_owned();
        }
        (2..)
            .map(|i| format!("{base} ({i})"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_owned())
    }

    /// Records that `fp` was met (and approved) in `room` at `now_ms`: a new contact is added
    /// (named after `peer_name` when it gave one), a known one updated; the room now belongs to
    /// it.
    pub fn met(&mut self, fp: Fingerprint, room: &str, now_ms: u64, peer_name: Option<&str>) {
        let peer_name = peer_name.map(text::clean_name).unwrap_or_default();
        if !self.contacts.contains_key(&fp) {
            let base = if peer_name.is_empty() {
                format!("Contact {}", short(&fp))
            } else {
                peer_name.clone()
            };
            let petname = self.unique_name(&base, None);
            self.contacts.insert(
                fp,
                Contact {
                    fingerprint: fp,
                    petname,
                    petname_by_user: false,
                    verified: false,
                    keep_history: true,
                    timer: Timer::Off,
                    first_seen_ms: now_ms,
                    last_seen_ms: now_ms,
                    peer_name: peer_name.clone(),
                    rooms: BTreeSet::new(),
                },
            );
        }
        if let Some(c) = self.contacts.get_mut(&fp) {
            c.last_seen_ms = c.last_seen_ms.max(now_ms);
            if c.rooms.len() < 1_000 {
                c.rooms.insert(text::clean_line(room, MAX_NAME_BYTES));
            }
        }
        self.rooms.insert(room.to_owned(), fp);
        if !peer_name.is_empty() {
            self.set_peer_name(&fp, &peer_name);
        }
    }

    /// The peer told us its display name: remembered as such, and used as the petname unless the
    /// user chose one (made unique: a peer calling itself "Bob" does not become a second "Bob").
    /// Returns whether anything changed.
    pub fn set_peer_name(&mut self, fp: &Fingerprint, name: &str) -> bool {
        let name = text::clean_name(name);
        if name.is_empty() {
            return false;
        }
        let petname = self.unique_name(&name, Some(fp));
        let Some(c) = self.contacts.get_mut(fp) else {
            return false;
        };
        let before = (c.peer_name.clone(), c.petname.clone());
        c.peer_name = name;
        if !c.petname_by_user {
            c.petname = petname;
        }
        before != (c.peer_name.clone(), c.petname.clone())
    }

    /// The user names a contact.
    pub fn rename(&mut self, fp: &Fingerprint, name: &str) -> Result<(), RenameError> {
        let name = text::clean_name(name);
        if name.is_empty() {
            return Err(RenameError::Empty);
        }
        if self
            .contacts
            .values()
            .any(|c| &c.fingerprint != fp && c.petname == name)
        {
            return Err(RenameError::Taken(name));
        }
        let c = self.contacts.get_mut(fp).ok_or(RenameError::Unknown)?;
        c.petname = name;
        c.petname_by_user = true;
        Ok(())
    }

    /// Marks a contact verified or removes the verification. Returns whether it is a contact.
    pub fn set_verified(&mut self, fp: &Fingerprint, verified: bool) -> bool {
        self.contacts
            .get_mut(fp)
            .map(|c| c.verified = verified)
            .is_some()
    }

    /// Sets the agreed disappearing-messages timer.
    pub fn set_timer(&mut self, fp: &Fingerprint, timer: Timer) -> bool {
        self.contacts.get_mut(fp).map(|c| c.timer = timer).is_some()
    }

    /// Turns the on-disk history of a contact on or off.
    pub fn set_keep_history(&mut self, fp: &Fingerprint, keep: bool) -> bool {
        self.contacts
            .get_mut(fp)
            .map(|c| c.keep_history = keep)
            .is_some()
    }

    // ---- bytes (PROTOCOL.md §10.3) -------------------------------------------------------------

    /// The plaintext of the contact-book file.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::default();
        w.u8(VERSION);
        w.u32(self.contacts.len() as u32);
        for c in self.contacts.values() {
            w.bytes(c.fingerprint.as_bytes());
            w.str(&c.petname, MAX_NAME_BYTES);
            let mut flags = 0;
            if c.verified {
                flags |= FLAG_VERIFIED;
            }
            if c.keep_history {
                flags |= FLAG_KEEP_HISTORY;
            }
            if c.petname_by_user {
                flags |= FLAG_PETNAME_BY_USER;
            }
            w.u8(flags);
            w.u32(c.timer.secs());
            w.u64(c.first_seen_ms);
            w.u64(c.last_seen_ms);
            w.str(&c.peer_name, MAX_NAME_BYTES);
            let rooms: Vec<&String> = c.rooms.iter().take(usize::from(u16::MAX)).collect();
            w.u16(rooms.len() as u16);
            for r in rooms {
                w.str(r, MAX_NAME_BYTES);
            }
        }
        w.u32(self.rooms.len() as u32);
        for (room, fp) in &self.rooms {
            w.str(room, MAX_NAME_BYTES);
            w.bytes(fp.as_bytes());
        }
        w.finish()
    }

    /// Reads the plaintext of the contact-book file (untrusted: every field checked).
    pub fn decode(bytes: &[u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(bytes);
        if r.u8()? != VERSION {
            return Err(Malformed("unknown contact book version"));
        }
        let mut book = ContactBook::default();
        for _ in 0..r.count(32 + 4 + 1 + 4 + 16 + 4 + 2)? {
            let fingerprint = Fingerprint::from_bytes(r.array()?);
            let petname = r.str(MAX_NAME_BYTES)?;
            let flags = r.u8()?;
            if flags & !(FLAG_VERIFIED | FLAG_KEEP_HISTORY | FLAG_PETNAME_BY_USER) != 0 {
                return Err(Malformed("unknown contact flags"));
            }
            let timer = Timer::from_secs(r.u32()?).ok_or(Malformed("unknown timer"))?;
            let first_seen_ms = r.u64()?;
            let last_seen_ms = r.u64()?;
            let peer_name = r.str(MAX_NAME_BYTES)?;
            let mut rooms = BTreeSet::new();
            for _ in 0..r.u16()? {
                rooms.insert(r.str(MAX_NAME_BYTES)?);
            }
            if text::clean_name(&petname).is_empty() {
                return Err(Malformed("empty petname"));
            }
            let contact = Contact {
                fingerprint,
                petname: text::clean_name(&petname),
                petname_by_user: flags & FLAG_PETNAME_BY_USER != 0,
                verified: flags & FLAG_VERIFIED != 0,
                keep_history: flags & FLAG_KEEP_HISTORY != 0,
                timer,
                first_seen_ms,
                last_seen_ms,
                peer_name: text::clean_name(&peer_name),
                rooms,
            };
            if book.contacts.insert(fingerprint, contact).is_some() {
                return Err(Malformed("a contact appears twice"));
            }
        }
        for _ in 0..r.count(4 + 32)? {
            let room = r.str(MAX_NAME_BYTES)?;
            let fp = Fingerprint::from_bytes(r.array()?);
            if !book.contacts.contains_key(&fp) {
                return Err(Malformed("a room names an unknown contact"));
            }
            book.rooms.insert(room, fp);
        }
        r.finish()?;
        Ok(book)
    }

    /// Builds a book from the version-1 trust store (`room TAB fingerprint TAB 0|1` a line):
    /// every identity becomes a contact met in its room, verified if the flag is 1. A line that
    /// does not parse is an error naming it: a damaged store is never silently dropped.
    pub fn from_v1_trust_store(text: &str, now_ms: u64) -> Result<Self, MigrationError> {
        let mut book = ContactBook::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let err = |reason| MigrationError {
                line: i + 1,
                reason,
            };
            let mut parts = line.split('\t');
            let room = parts
                .next()
                .filter(|r| !r.is_empty())
                .ok_or(err("no room"))?;
            if sans_io_proto::frame::RoomName::new(room).is_err() {
                return Err(err("not a room name"));
            }
            let fp = parts
                .next()
                .and_then(|f| Fingerprint::from_hex(f).ok())
                .ok_or(err("not a fingerprint"))?;
            let verified = match parts.next() {
                Some("1") => true,
                Some("0") => false,
                _ => return Err(err("verified flag is not 0 or 1")),
            };
            if parts.next().is_some() {
                return Err(err("extra fields"));
            }
            book.met(fp, room, now_ms, None);
            if verified {
                book.set_verified(&fp, true);
            }
            // Name the contact after the room it was known by, so the user can tell them apart.
            if let Some(c) = book.contacts.get(&fp)
                && !c.petname_by_user
                && c.petname.starts_with("Contact ")
            {
                let name = book.unique_name(&format!("Met in {room}"), Some(&fp));
                if let Some(c) = book.contacts.get_mut(&fp) {
                    c.petname = name;
                }
            }
        }
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(b: u8) -> Fingerprint {
        Fingerprint::from_bytes([b; 32])
    }

    #[test]
    fn a_known_identity_is_recognised_in_any_room() {
        let mut book = ContactBook::default();
        assert_eq!(book.recognise(&fp(1), "demo"), Recognition::New);
        book.met(fp(1), "demo", 10, Some("Bob"));
        assert_eq!(book.recognise(&fp(1), "demo"), Recognition::Known);
        assert_eq!(book.recognise(&fp(1), "remote-test"), Recognition::Known);
        book.met(fp(1), "remote-test", 20, None);
        let bob = book.get(&fp(1)).unwrap();
        assert_eq!(bob.petname, "Bob");
        assert_eq!((bob.first_seen_ms, bob.last_seen_ms), (10, 20));
        assert_eq!(
            bob.rooms.iter().collect::<Vec<_>>(),
            vec!["demo", "remote-test"]
        );
    }

    #[test]
    fn an_unknown_identity_where_someone_was_met_is_not_them() {
        let mut book = ContactBook::default();
        book.met(fp(1), "demo", 10, Some("Bob"));
        assert_eq!(
            book.recognise(&fp(2), "demo"),
            Recognition::NotTheOneMetHere { previous: fp(1) }
        );
        // Elsewhere it is simply new.
        assert_eq!(book.recognise(&fp(2), "other"), Recognition::New);
        // Accepted: the room now belongs to the new identity; the real Bob stays known.
        book.met(fp(2), "demo", 30, Some("Bob"));
        assert_eq!(book.met_in("demo"), Some(fp(2)));
        assert_eq!(book.recognise(&fp(1), "demo"), Recognition::Known);
        // The newcomer calling itself "Bob" does not get Bob's name.
        assert_eq!(book.get(&fp(2)).unwrap().petname, "Bob (2)");
        assert_eq!(book.get(&fp(2)).unwrap().peer_name, "Bob");
    }

    #[test]
    fn verification_can_be_given_and_removed_and_names_are_the_users() {
        let mut book = ContactBook::default();
        book.met(fp(1), "demo", 1, None);
        assert_eq!(book.get(&fp(1)).unwrap().petname, "Contact 01010101");
        assert!(book.set_verified(&fp(1), true));
        assert!(book.get(&fp(1)).unwrap().verified);
        assert!(book.set_verified(&fp(1), false));
        assert!(!book.get(&fp(1)).unwrap().verified);
        assert!(!book.set_verified(&fp(9), true));
        book.met(fp(2), "x", 1, Some("Carol"));
        assert_eq!(
            book.rename(&fp(1), "Carol"),
            Err(RenameError::Taken("Carol".into()))
        );
        assert_eq!(book.rename(&fp(1), " \u{202E} "), Err(RenameError::Empty));
        book.rename(&fp(1), "Bobby\nYou:").unwrap();
        assert_eq!(book.get(&fp(1)).unwrap().petname, "Bobby You:");
        // A chosen name is not replaced by what the peer calls itself.
        book.set_peer_name(&fp(1), "Mallory");
        assert_eq!(book.get(&fp(1)).unwrap().petname, "Bobby You:");
        assert_eq!(book.get(&fp(1)).unwrap().peer_name, "Mallory");
    }

    #[test]
    fn encode_decode_round_trip_and_damage_is_an_error() {
        let mut book = ContactBook::default();
        book.met(fp(1), "demo", 5, Some("Bob"));
        book.met(fp(2), "room-2", 6, Some("Алиса 李"));
        book.set_verified(&fp(1), true);
        book.set_timer(&fp(2), Timer::Min5);
        book.set_keep_history(&fp(2), false);
        book.rename(&fp(2), "Alice").unwrap();
        let bytes = book.encode();
        assert_eq!(ContactBook::decode(&bytes).unwrap(), book);
        for cut in 0..bytes.len() {
            assert!(ContactBook::decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = bytes.to_vec();
        bad[0] = 2;
        assert!(ContactBook::decode(&bad).is_err());
    }

    #[test]
    fn the_v1_trust_store_migrates_and_a_damaged_line_is_named() {
        let a = fp(0xaa).to_hex();
        let b = fp(0xbb).to_hex();
        let text = format!("demo\t{a}\t1\nremote-test\t{b}\t0\n");
        let book = ContactBook::from_v1_trust_store(&text, 7).unwrap();
        assert_eq!(book.len(), 2);
        assert!(book.get(&fp(0xaa)).unwrap().verified);
        assert!(!book.get(&fp(0xbb)).unwrap().verified);
        assert_eq!(book.get(&fp(0xaa)).unwrap().petname, "Met in demo");
        assert_eq!(book.met_in("remote-test"), Some(fp(0xbb)));
        let err = ContactBook::from_v1_trust_store(&format!("demo\t{a}\t1\nroom\tzz\t1\n"), 7)
            .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(ContactBook::from_v1_trust_store(&format!("demo\t{a}\t2"), 7).is_err());
    }
}
