//! The shell around the plain [`App`] state: it owns the threads and files the state must not
//! (the network thread, the unlock job, the storage worker, the profile lock, desktop
//! notifications), feeds their results and the clock into the state, and carries out the
//! [`Effect`]s the state returns. The egui layer calls [`Shell::pump`] every frame; the
//! end-to-end tests call it in a loop.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;
use rand::rngs::OsRng;

use crate::app::connect::ConnectForm;
use crate::app::{App, Config, Effect, JobResult, SaveOp, UnlockRequest, Unlocked};
use crate::identity_store::{self, IdentityStoreError};
use crate::net::NetHandle;
use crate::profile::{self, Profile};
use crate::storage::Store;

/// Everything the shell needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where profiles live.
    pub data_dir: PathBuf,
    /// The app's settings.
    pub config: Config,
    /// What the connect form starts with.
    pub form: ConnectForm,
    /// Whether to show desktop notifications (`notify-send`, when installed).
    pub notifications: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: profile::default_data_dir(),
            config: Config::default(),
            form: ConnectForm::default(),
            notifications: true,
        }
    }
}

/// The wall clock in Unix ms.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

enum Done {
    Unlocked(Box<(Profile, Store, Unlocked)>),
    Result(JobResult),
}

/// The app with its threads.
pub struct Shell {
    /// The state (the UI reads it and calls its commands).
    pub app: App,
    net: NetHandle,
    done_tx: Sender<Done>,
    done_rx: Receiver<Done>,
    storage: Option<Sender<SaveOp>>,
    profile: Option<Profile>,
    data_dir: PathBuf,
    notifications: bool,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Shell {
    /// Starts the network thread; `wake` is called whenever something arrives.
    pub fn new(settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<Self> {
        let net = NetHandle::spawn(wake.clone())?;
        let (done_tx, done_rx) = channel();
        let app = App::new(
            settings.config,
            settings.form.clone(),
            profile::list_profiles(&settings.data_dir),
            OsRng.next_u64(),
            now_ms(),
        );
        Ok(Shell {
            app,
            net,
            done_tx,
            done_rx,
            storage: None,
            profile: None,
            data_dir: settings.data_dir,
            notifications: settings.notifications,
            wake,
        })
    }

    /// Opens the profile of `display_name` with an identity and storage key that are already at
    /// hand, at once and without connecting (the unlock job minus the passphrase): for tests and
    /// tools that hold a key pair. The identity file is not touched.
    pub fn unlock_with(
        &mut self,
        display_name: &str,
        identity: sans_io_proto::IdentityKeyPair,
        storage_key: sans_io_proto::storage::StorageKey,
    ) -> Result<(), String> {
        self.storage = None;
        self.profile = None;
        let profile = Profile::open(&self.data_dir, display_name).map_err(|e| e.to_string())?;
        let store = Store::new(profile.dir().to_owned(), storage_key);
        let unlocked = load_profile(&store, display_name.trim().to_owned(), identity, now_ms())?;
        self.profile = Some(profile);
        self.storage = Some(spawn_storage(
            store,
            self.done_tx.clone(),
            self.wake.clone(),
        ));
        self.app.handle_job(JobResult::Unlocked(Box::new(unlocked)));
        Ok(())
    }

    /// Folds in what happened in the background and carries out the state's effects. Returns
    /// the next time (Unix ms) the state wants [`App::handle_timeout`], if any.
    pub fn pump(&mut self) -> Option<u64> {
        self.app.handle_timeout(now_ms());
        while let Ok(done) = self.done_rx.try_recv() {
            match done {
                Done::Unlocked(b) => {
                    let (profile, store, unlocked) = *b;
                    self.profile = Some(profile);
                    self.storage = Some(spawn_storage(
                        store,
                        self.done_tx.clone(),
                        self.wake.clone(),
                    ));
                    self.app.handle_job(JobResult::Unlocked(Box::new(unlocked)));
                }
                Done::Result(r) => self.app.handle_job(r),
            }
        }
        while let Some(event) = self.net.try_recv() {
            self.app.handle_net(event);
        }
        while let Some(effect) = self.app.poll_effect() {
            self.run(effect);
        }
        self.app.poll_timeout()
    }

    fn run(&mut self, effect: Effect) {
        match effect {
            Effect::Net(cmd) => self.net.send(cmd),
            Effect::Unlock(req) => {
                // The old profile's lock and storage go first: the same name may be unlocked again.
                self.storage = None;
                self.profile = None;
                let tx = self.done_tx.clone();
                let wake = self.wake.clone();
                let data_dir = self.data_dir.clone();
                let spawned = std::thread::Builder::new()
                    .name("unlock".into())
                    .spawn(move || {
                        let done = match unlock(&data_dir, &req, now_ms()) {
                            Ok(b) => Done::Unlocked(Box::new(b)),
                            Err(message) => Done::Result(JobResult::UnlockFailed(message)),
                        };
                        let _ = tx.send(done);
                        wake();
                    });
                if let Err(e) = spawned {
                    self.app.handle_job(JobResult::UnlockFailed(format!(
                        "could not start the unlock job: {e}"
                    )));
                }
            }
            Effect::Save(op) => match &self.storage {
                Some(tx) => {
                    if tx.send(op).is_err() {
                        self.app
                            .handle_job(JobResult::SaveFailed("the storage thread stopped".into()));
                    }
                }
                None => self
                    .app
                    .handle_job(JobResult::SaveFailed("no profile is unlocked".into())),
            },
            Effect::Notify { title, body } => {
                if self.notifications {
                    notify(&title, &body);
                }
            }
        }
    }
}

/// Opens (or creates) the profile's identity and loads its storage (the unlock job).
fn unlock(
    data_dir: &std::path::Path,
    req: &UnlockRequest,
    now_ms: u64,
) -> Result<(Profile, Store, Unlocked), String> {
    let profile = Profile::open(data_dir, &req.display_name).map_err(|e| e.to_string())?;
    let path = profile.identity_path();
    let (identity, key) = if req.create {
        identity_store::create(&path, &req.passphrase, req.argon2)
    } else {
        identity_store::load(&path, &req.passphrase, req.argon2)
    }
    .map_err(|e| match e {
        IdentityStoreError::File(
            sans_io_proto::identity_file::IdentityFileError::WrongPassphraseOrDamaged,
        ) => "Wrong passphrase (or the identity file is damaged).".to_owned(),
        other => other.to_string(),
    })?;
    // Everything of the profile is sealed under the identity file's storage key (PROTOCOL.md
    // §9.1, §10.1); the store owns it (on the heap, wiped when the store goes).
    let store = Store::new(profile.dir().to_owned(), key);
    let unlocked = load_profile(&store, req.display_name.clone(), identity, now_ms)?;
    Ok((profile, store, unlocked))
}

/// Reads what an unlocked profile holds: the contact book, the histories, the delivery states.
fn load_profile(
    store: &Store,
    display_name: String,
    identity: sans_io_proto::IdentityKeyPair,
    now_ms: u64,
) -> Result<Unlocked, String> {
    let (contacts, migrated) = store.load_contacts(now_ms).map_err(|e| {
        format!(
            "Your contact book cannot be read: {e}. Nothing was changed and you are not connected, \
             because an empty contact book would hide a changed identity. Restore the file, or move \
             it away to start over with an empty contact book."
        )
    })?;
    let (histories, mut notices) = store.load_histories(&contacts);
    let (deliveries, lost) = store.load_deliveries(&contacts);
    notices.extend(lost);
    notices.extend(migrated);
    Ok(Unlocked {
        display_name,
        identity,
        contacts,
        histories,
        deliveries,
        delivery_store: Arc::new(store.clone()),
        notices,
    })
}

/// The storage worker: writes in order, reports failures, and tells the app which shown
/// messages a history write recorded. Writes of one history queued behind a later write of the
/// same file are skipped (their confirmations move to the later one): a peer leaving turns every
/// waiting message's state at once, which is one write, not one per message.
fn spawn_storage(
    store: Store,
    done: Sender<Done>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Sender<SaveOp> {
    let (tx, rx) = channel::<SaveOp>();
    let spawned = std::thread::Builder::new()
        .name("storage".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                batch.extend(rx.try_iter());
                for op in coalesce(batch) {
                    let result = match &op {
                        SaveOp::Contacts(plain) => store.save_contacts(plain),
                        SaveOp::History {
                            contact, plaintext, ..
                        } => store.save_history(contact, plaintext),
                        SaveOp::DeleteHistory(contact) => store.delete_history(contact),
                    };
                    let report = match (result, op) {
                        (Err(e), _) => {
                            tracing::warn!(error = %e, "storage write failed");
                            Some(JobResult::SaveFailed(e.to_string()))
                        }
                        (
                            Ok(()),
                            SaveOp::History {
                                contact, confirm, ..
                            },
                        ) if !confirm.is_empty() => {
                            Some(JobResult::HistorySaved { contact, confirm })
                        }
                        (Ok(()), _) => None,
                    };
                    if let Some(r) = report {
                        let _ = done.send(Done::Result(r));
                        wake();
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the storage thread");
    }
    tx
}

/// Drops every write that a later write of the same file in `batch` replaces (a later history of
/// the same contact with no deletion between, a later contact book), moving a dropped history's
/// confirmations to the write that replaces it. The order of what remains is kept.
fn coalesce(batch: Vec<SaveOp>) -> Vec<SaveOp> {
    let mut out: Vec<Option<SaveOp>> = Vec::with_capacity(batch.len());
    for op in batch {
        match op {
            SaveOp::Contacts(plain) => {
                for slot in out.iter_mut() {
                    if matches!(slot, Some(SaveOp::Contacts(_))) {
                        *slot = None;
                    }
                }
                out.push(Some(SaveOp::Contacts(plain)));
            }
            SaveOp::History {
                contact,
                plaintext,
                mut confirm,
            } => {
                // The previous write of this file, if nothing touched it since.
                let previous = out.iter_mut().rev().find(|slot| match slot {
                    Some(SaveOp::History { contact: c, .. }) | Some(SaveOp::DeleteHistory(c)) => {
                        *c == contact
                    }
                    _ => false,
                });
                if let Some(slot) = previous
                    && let Some(SaveOp::History {
                        confirm: earlier, ..
                    }) = slot.as_mut()
                {
                    let mut merged = std::mem::take(earlier);
                    merged.append(&mut confirm);
                    confirm = merged;
                    *slot = None;
                }
                out.push(Some(SaveOp::History {
                    contact,
                    plaintext,
                    confirm,
                }));
            }
            delete @ SaveOp::DeleteHistory(_) => out.push(Some(delete)),
        }
    }
    out.into_iter().flatten().collect()
}

/// A desktop notification through `notify-send` (libnotify), when it is installed: no library
/// to link, no D-Bus code in the app. Failures are ignored (the title marker remains).
fn notify(title: &str, body: &str) {
    let child = std::process::Command::new("notify-send")
        .args(["--app-name=e2e-chat", title, body])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Ok(mut child) = child {
        let _ = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || child.wait());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageId;
    use sans_io_proto::Fingerprint;
    use zeroize::Zeroizing;

    fn history(who: u8, text: &[u8], confirm: &[u64]) -> SaveOp {
        SaveOp::History {
            contact: Fingerprint::from_bytes([who; 32]),
            plaintext: Zeroizing::new(text.to_vec()),
            confirm: confirm
                .iter()
                .map(|n| MessageId::from_parts(1, *n))
                .collect(),
        }
    }

    fn show(ops: &[SaveOp]) -> Vec<String> {
        ops.iter()
            .map(|op| match op {
                SaveOp::Contacts(p) => format!("contacts {}", String::from_utf8_lossy(p)),
                SaveOp::History {
                    contact,
                    plaintext,
                    confirm,
                } => format!(
                    "history {} {} {:?}",
                    contact.as_bytes()[0],
                    String::from_utf8_lossy(plaintext),
                    confirm
                        .iter()
                        .map(|id| id.to_protocol().number)
                        .collect::<Vec<_>>()
                ),
                SaveOp::DeleteHistory(c) => format!("delete {}", c.as_bytes()[0]),
            })
            .collect()
    }

    #[test]
    fn queued_writes_of_one_file_collapse_into_the_last_keeping_every_confirmation() {
        let batch = vec![
            history(1, b"a1", &[1]),
            SaveOp::Contacts(Zeroizing::new(b"c1".to_vec())),
            history(2, b"b1", &[]),
            history(1, b"a2", &[2]),
            SaveOp::Contacts(Zeroizing::new(b"c2".to_vec())),
            history(1, b"a3", &[]),
        ];
        assert_eq!(
            show(&coalesce(batch)),
            ["history 2 b1 []", "contacts c2", "history 1 a3 [1, 2]"]
        );
        // A deletion between two writes keeps both (the history was turned off, then on).
        let batch = vec![
            history(1, b"a1", &[1]),
            SaveOp::DeleteHistory(Fingerprint::from_bytes([1; 32])),
            history(1, b"a2", &[]),
        ];
        assert_eq!(
            show(&coalesce(batch)),
            ["history 1 a1 [1]", "delete 1", "history 1 a2 []"]
        );
    }
}
