//! The profile's files on disk (PROTOCOL.md §10.4): the contact book, one history per
//! conversation and one protocol delivery state per contact (§7.10), each sealed under the storage
//! key that the identity file returns on unlock (`sans_io_proto::storage`, §10.1–10.2) and written
//! atomically; the one-time migration of the version-1 trust store.
//!
//! A contact book that cannot be read is an error, never an empty book (issue 10, item 7); a
//! history or delivery state that cannot be opened is moved aside and reported, never silently
//! dropped.

pub mod codec;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::rngs::OsRng;
use sans_io_proto::Fingerprint;
use sans_io_proto::storage::{self as sealed, Context, StorageKey};
use zeroize::Zeroizing;

use crate::app::contacts::ContactBook;
use crate::app::conversation::{Conversation, Message};

/// Why the storage could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The sealed container did not open.
    #[error("{path}: {source}")]
    Sealed {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: sealed::StorageError,
    },
    /// The plaintext inside is damaged.
    #[error("{path}: {source}")]
    Malformed {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: codec::Malformed,
    },
    /// The version-1 trust store has a damaged line.
    #[error("{path}: {source}; fix or remove that line, then unlock again")]
    Migration {
        /// Which file.
        path: PathBuf,
        /// Which line.
        source: crate::app::contacts::MigrationError,
    },
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (mode 0600),
/// `fsync`, `rename` over the old file, then `fsync` of the directory so the rename itself
/// survives a crash.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Most delivery-state files read at unlock (one per contact; bounds the work a planted directory
/// can cause).
pub const MAX_DELIVERY_FILES: usize = 10_000;

/// The stored delivery states of a profile, by contact (opened, still secret).
pub type DeliveryStates = Vec<(Fingerprint, Zeroizing<Vec<u8>>)>;

/// A profile's sealed storage.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    /// The identity file's storage key (heap, wiped when the last clone of the store goes).
    key: Arc<StorageKey>,
}

impl core::fmt::Debug for Store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The storage of the profile in `dir`, sealed under `key`, the storage key that
    /// `identity_file::open` returned with the identity (PROTOCOL.md §9.1, §10.1).
    pub fn new(dir: PathBuf, key: StorageKey) -> Self {
        Store {
            dir,
            key: Arc::new(key),
        }
    }

    /// The contact book's file.
    pub fn contacts_path(&self) -> PathBuf {
        self.dir.join("contacts.e2es")
    }

    /// The version-1 trust store.
    pub fn v1_trust_path(&self) -> PathBuf {
        self.dir.join("known_peers.txt")
    }

    /// The history file of a conversation.
    pub fn history_path(&self, fp: &Fingerprint) -> PathBuf {
        self.dir
            .join("history")
            .join(format!("{}.e2es", fp.to_hex()))
    }

    /// The delivery-state file of a contact (PROTOCOL.md §7.10, §10.4).
    pub fn delivery_path(&self, fp: &Fingerprint) -> PathBuf {
        self.dir
            .join("delivery")
            .join(format!("{}.e2es", fp.to_hex()))
    }

    fn write_sealed(
        &self,
        path: &Path,
        context: &Context,
        plaintext: &[u8],
    ) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        let bytes = sealed::seal(&self.key, context, plaintext, &mut OsRng).map_err(|source| {
            StoreError::Sealed {
                path: path.to_owned(),
                source,
            }
        })?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        write_atomic(path, &bytes).map_err(io)
    }

    /// Reads and opens a sealed file; `None` if there is none.
    fn read_sealed(
        &self,
        path: &Path,
        context: &Context,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        sealed::open(&self.key, context, &bytes)
            .map(Some)
            .map_err(|source| StoreError::Sealed {
                path: path.to_owned(),
                source,
            })
    }

    /// Writes the contact book.
    pub fn save_contacts(&self, plaintext: &[u8]) -> Result<(), StoreError> {
        self.write_sealed(&self.contacts_path(), &Context::Contacts, plaintext)
    }

    /// Reads the contact book; migrates the version-1 trust store the first time (returning a
    /// notice saying so). No file at all is an empty book; a damaged or unreadable one is an
    /// error.
    pub fn load_contacts(&self, now_ms: u64) -> Result<(ContactBook, Option<String>), StoreError> {
        let path = self.contacts_path();
        if let Some(plain) = self.read_sealed(&path, &Context::Contacts)? {
            let book = ContactBook::decode(&plain)
                .map_err(|source| StoreError::Malformed { path, source })?;
            return Ok((book, None));
        }
        let v1 = self.v1_trust_path();
        let text = match std::fs::read_to_string(&v1) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((ContactBook::default(), None));
            }
            Err(source) => return Err(StoreError::Io { path: v1, source }),
        };
        let book = ContactBook::from_v1_trust_store(&text, now_ms).map_err(|source| {
            StoreError::Migration {
                path: v1.clone(),
                source,
            }
        })?;
        self.save_contacts(&book.encode())?;
        let done = v1.with_extension("txt.migrated");
        std::fs::rename(&v1, &done).map_err(|source| StoreError::Io {
            path: v1.clone(),
            source,
        })?;
        let notice = format!(
            "Your {} contact(s) from the old per-room trust store were moved into the contact book (the old file is kept as {}).",
            book.len(),
            done.display()
        );
        Ok((book, Some(notice)))
    }

    /// Writes a conversation's history.
    pub fn save_history(&self, fp: &Fingerprint, plaintext: &[u8]) -> Result<(), StoreError> {
        self.write_sealed(&self.history_path(fp), &Context::History(*fp), plaintext)
    }

    /// Deletes a conversation's history (no file is fine).
    pub fn delete_history(&self, fp: &Fingerprint) -> Result<(), StoreError> {
        let path = self.history_path(fp);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    /// Writes a contact's delivery state (an `Output::Persist` of the protocol client).
    pub fn save_delivery(&self, fp: &Fingerprint, state: &[u8]) -> Result<(), StoreError> {
        self.write_sealed(&self.delivery_path(fp), &Context::Delivery(*fp), state)
    }

    /// Reads the delivery state of every contact of `book` that has one. A file that does not
    /// open is renamed `<name>.damaged` and reported: the messages that waited for that contact
    /// are lost, and the contact's messages may be shown again.
    pub fn load_deliveries(&self, book: &ContactBook) -> (DeliveryStates, Vec<String>) {
        let mut out = Vec::new();
        let mut notices = Vec::new();
        for c in book.iter().take(MAX_DELIVERY_FILES) {
            let path = self.delivery_path(&c.fingerprint);
            match self.read_sealed(&path, &Context::Delivery(c.fingerprint)) {
                Ok(Some(state)) => out.push((c.fingerprint, state)),
                Ok(None) => {}
                Err(e) => notices.push(Self::set_aside(
                    &path,
                    &format!(
                        "The delivery record of your conversation with {} could not be read ({e}). \
                         Messages that waited to be sent to {} are lost; some of their messages may \
                         be shown again.",
                        c.petname, c.petname
                    ),
                )),
            }
        }
        (out, notices)
    }

    /// Renames a file that does not open to `<name>.damaged`; the notice says where it went.
    fn set_aside(path: &Path, what: &str) -> String {
        let aside = path.with_extension("e2es.damaged");
        let moved = std::fs::rename(path, &aside).is_ok();
        format!(
            "{what} {}",
            if moved {
                format!("The file was moved to {}.", aside.display())
            } else {
                "The file could not be moved aside either.".to_owned()
            }
        )
    }

    /// Reads the history of every contact of `book` that keeps one. A file that does not open is
    /// renamed `<name>.damaged` and reported in the notices.
    pub fn load_histories(
        &self,
        book: &ContactBook,
    ) -> (Vec<(Fingerprint, Vec<Message>)>, Vec<String>) {
        let mut out = Vec::new();
        let mut notices = Vec::new();
        for c in book.iter().filter(|c| c.keep_history) {
            let path = self.history_path(&c.fingerprint);
            let read = self
                .read_sealed(&path, &Context::History(c.fingerprint))
                .and_then(|plain| match plain {
                    None => Ok(None),
                    Some(p) => Conversation::decode_history(&p)
                        .map(Some)
                        .map_err(|source| StoreError::Malformed {
                            path: path.clone(),
                            source,
                        }),
                });
            match read {
                Ok(Some(messages)) => out.push((c.fingerprint, messages)),
                Ok(None) => {}
                Err(e) => notices.push(Self::set_aside(
                    &path,
                    &format!(
                        "The saved conversation with {} could not be read ({e}). A new history starts now.",
                        c.petname
                    ),
                )),
            }
        }
        (out, notices)
    }
}

impl crate::net::DeliveryStore for Store {
    fn save(&self, peer: &Fingerprint, state: &[u8]) -> Result<(), String> {
        self.save_delivery(peer, state).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MessageId, SendState, Timer};

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("e2e-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn fp(b: u8) -> Fingerprint {
        Fingerprint::from_bytes([b; 32])
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let d = temp("atomic");
        let p = d.join("f");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        // A directory that does not exist is an error, reported.
        assert!(write_atomic(&d.join("missing/f"), b"x").is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_history_file_holds_no_plaintext_and_an_expired_message_is_gone_from_it() {
        let d = temp("history");
        let store = Store::new(d.clone(), StorageKey::from_bytes(&[9; 32]));
        let mut c = Conversation::new(fp(1));
        let secret = "the vault code is 4711-SECRET";
        c.push_mine(
            MessageId::from_parts(1, 1),
            secret,
            1_000,
            Timer::Secs30,
            SendState::Sent,
        );
        c.push_peer(
            MessageId::from_parts(2, 1),
            "Это останется 李",
            0,
            1_000,
            Timer::Off,
        );
        store.save_history(&fp(1), &c.encode_history()).unwrap();
        let file = std::fs::read(store.history_path(&fp(1))).unwrap();
        for needle in [
            secret.as_bytes(),
            "останется".as_bytes(),
            b"4711",
            b"SECRET",
        ] {
            assert!(
                !file.windows(needle.len()).any(|w| w == needle),
                "plaintext in the file"
            );
        }
        // Time passes: the 30-second message expires and the file is rewritten without it.
        assert!(c.expire(31_000));
        store.save_history(&fp(1), &c.encode_history()).unwrap();
        let mut book = ContactBook::default();
        book.met(fp(1), "r", 0, Some("Bob"));
        let (loaded, notices) = store.load_histories(&book);
        assert!(notices.is_empty());
        let texts: Vec<&str> = loaded[0].1.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["Это останется 李"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_damaged_contact_book_is_an_error_never_an_empty_book() {
        let d = temp("contacts");
        let store = Store::new(d.clone(), StorageKey::from_bytes(&[9; 32]));
        let mut book = ContactBook::default();
        book.met(fp(1), "demo", 0, Some("Bob"));
        store.save_contacts(&book.encode()).unwrap();
        assert_eq!(store.load_contacts(5).unwrap().0, book);
        // Another profile's key cannot read it: an error.
        let other = Store::new(d.clone(), StorageKey::from_bytes(&[8; 32]));
        assert!(matches!(
            other.load_contacts(5),
            Err(StoreError::Sealed { .. })
        ));
        // One flipped byte: an error.
        let mut bytes = std::fs::read(store.contacts_path()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(store.contacts_path(), &bytes).unwrap();
        let err = store.load_contacts(5).unwrap_err();
        assert!(err.to_string().contains("contacts.e2es"), "{err}");
        // A file that cannot be read (a directory in its place): an error too.
        std::fs::remove_file(store.contacts_path()).unwrap();
        std::fs::create_dir(store.contacts_path()).unwrap();
        assert!(matches!(store.load_contacts(5), Err(StoreError::Io { .. })));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_v1_trust_store_is_migrated_once() {
        let d = temp("migrate");
        let store = Store::new(d.clone(), StorageKey::from_bytes(&[9; 32]));
        std::fs::write(
            store.v1_trust_path(),
            format!("demo\t{}\t1\n", fp(5).to_hex()),
        )
        .unwrap();
        let (book, notice) = store.load_contacts(5).unwrap();
        assert!(book.get(&fp(5)).unwrap().verified);
        assert!(notice.unwrap().contains("moved into the contact book"));
        assert!(!store.v1_trust_path().exists());
        assert!(d.join("known_peers.txt.migrated").exists());
        // Second start: read from the sealed book, no migration notice.
        let (again, notice) = store.load_contacts(6).unwrap();
        assert_eq!(again, book);
        assert!(notice.is_none());
        // A damaged v1 file stops with the line named, and nothing is written.
        let d2 = temp("migrate-bad");
        let s2 = Store::new(d2.clone(), StorageKey::from_bytes(&[9; 32]));
        std::fs::write(s2.v1_trust_path(), "demo\tnot-hex\t1\n").unwrap();
        let err = s2.load_contacts(5).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        assert!(!s2.contacts_path().exists());
        let _ = std::fs::remove_dir_all(&d);
        let _ = std::fs::remove_dir_all(&d2);
    }

    #[test]
    fn a_damaged_history_is_moved_aside_and_reported() {
        let d = temp("damaged");
        let store = Store::new(d.clone(), StorageKey::from_bytes(&[9; 32]));
        let mut book = ContactBook::default();
        book.met(fp(1), "r", 0, Some("Bob"));
        std::fs::create_dir_all(d.join("history")).unwrap();
        std::fs::write(store.history_path(&fp(1)), b"garbage").unwrap();
        let (loaded, notices) = store.load_histories(&book);
        assert!(loaded.is_empty());
        assert_eq!(notices.len(), 1);
        assert!(
            notices[0].contains("Bob") && notices[0].contains("damaged"),
            "{notices:?}"
        );
        assert!(
            store
                .history_path(&fp(1))
                .with_extension("e2es.damaged")
                .exists()
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn delivery_states_are_sealed_per_contact_and_a_damaged_one_is_moved_aside() {
        let d = temp("delivery");
        let store = Store::new(d.clone(), StorageKey::from_bytes(&[9; 32]));
        let mut book = ContactBook::default();
        book.met(fp(1), "r", 0, Some("Bob"));
        book.met(fp(2), "r", 0, Some("Carol"));
        book.met(fp(3), "r", 0, Some("Dave"));
        let secret = b"E2EDLV the outbox holds: meet at noon";
        store.save_delivery(&fp(1), secret).unwrap();
        store.save_delivery(&fp(2), b"carol's").unwrap();
        let file = std::fs::read(store.delivery_path(&fp(1))).unwrap();
        assert!(!file.windows(4).any(|w| w == b"noon"), "plaintext on disk");
        // A sealed file of kind 0x03, the delivery state (PROTOCOL.md §10.2).
        assert_eq!(&file[..10], b"E2ESTORE\x01\x03");
        // Bob's state does not open as Carol's, nor as Bob's history.
        std::fs::copy(store.delivery_path(&fp(1)), store.delivery_path(&fp(2))).unwrap();
        std::fs::create_dir_all(d.join("history")).unwrap();
        std::fs::copy(store.delivery_path(&fp(1)), store.history_path(&fp(1))).unwrap();
        let (states, notices) = store.load_deliveries(&book);
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].0, fp(1));
        assert_eq!(states[0].1.as_slice(), secret);
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(notices[0].contains("Carol") && notices[0].contains("damaged"));
        assert!(
            store
                .delivery_path(&fp(2))
                .with_extension("e2es.damaged")
                .exists()
        );
        assert!(store.load_histories(&book).0.is_empty());
        // A history does not open as a delivery state either.
        let mut c = Conversation::new(fp(3));
        c.push_peer(MessageId::from_parts(2, 1), "x", 0, 1, Timer::Off);
        store.save_history(&fp(3), &c.encode_history()).unwrap();
        std::fs::create_dir_all(d.join("delivery")).unwrap();
        std::fs::copy(store.history_path(&fp(3)), store.delivery_path(&fp(3))).unwrap();
        let (states, notices) = store.load_deliveries(&book);
        assert_eq!(states.len(), 1);
        assert!(notices.iter().any(|n| n.contains("Dave")), "{notices:?}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
