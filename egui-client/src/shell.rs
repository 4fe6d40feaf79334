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

    /// Opens the profile of `display_name` with an identity that is already at hand, at once and
    /// without connecting (the unlock job minus the passphrase): for tests and tools that hold a
    /// key pair. The identity file is not touched.
    pub fn unlock_with(
        &mut self,
        display_name: &str,
        identity: sans_io_proto::IdentityKeyPair,
    ) -> Result<(), String> {
        self.storage = None;
        self.profile = None;
        let profile = Profile::open(&self.data_dir, display_name).map_err(|e| e.to_string())?;
        let store = Store::new(profile.dir().to_owned(), profile::storage_key(&identity));
        let (contacts, migrated) = store
            .load_contacts(now_ms())
            .map_err(|e| format!("Your contact book cannot be read: {e}"))?;
        let (histories, mut notices) = store.load_histories(&contacts);
        notices.extend(migrated);
        self.profile = Some(profile);
        self.storage = Some(spawn_storage(
            store,
            self.done_tx.clone(),
            self.wake.clone(),
        ));
        self.app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
            display_name: display_name.trim().to_owned(),
            identity,
            contacts,
            histories,
            notices,
        })));
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
    let identity = if req.create {
        identity_store::create(&path, &req.passphrase, req.iterations)
    } else {
        identity_store::load(&path, &req.passphrase)
    }
    .map_err(|e| match e {
        IdentityStoreError::File(
            sans_io_proto::identity_file::IdentityFileError::WrongPassphraseOrDamaged,
        ) => "Wrong passphrase (or the identity file is damaged).".to_owned(),
        other => other.to_string(),
    })?;
    let store = Store::new(profile.dir().to_owned(), profile::storage_key(&identity));
    let (contacts, migrated) = store.load_contacts(now_ms).map_err(|e| {
        format!(
            "Your contact book cannot be read: {e}. Nothing was changed and you are not connected, \
             because an empty contact book would hide a changed identity. Restore the file, or move \
             it away to start over with an empty contact book."
        )
    })?;
    let (histories, mut notices) = store.load_histories(&contacts);
    notices.extend(migrated);
    Ok((
        profile,
        store,
        Unlocked {
            display_name: req.display_name.clone(),
            identity,
            contacts,
            histories,
            notices,
        },
    ))
}

/// The storage worker: writes in order, reports failures.
fn spawn_storage(
    store: Store,
    done: Sender<Done>,
    wake: Arc<dyn Fn() + Send + Sync>,
) -> Sender<SaveOp> {
    let (tx, rx) = channel::<SaveOp>();
    let spawned = std::thread::Builder::new()
        .name("storage".into())
        .spawn(move || {
            while let Ok(op) = rx.recv() {
                let result = match &op {
                    SaveOp::Contacts(plain) => store.save_contacts(plain),
                    SaveOp::History { contact, plaintext } => {
                        store.save_history(contact, plaintext)
                    }
                    SaveOp::DeleteHistory(contact) => store.delete_history(contact),
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "storage write failed");
                    let _ = done.send(Done::Result(JobResult::SaveFailed(e.to_string())));
                    wake();
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the storage thread");
    }
    tx
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
