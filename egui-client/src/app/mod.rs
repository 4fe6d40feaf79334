//! The application state: a plain type with no threads, sockets, clock or files inside. It takes
//! the user's commands (methods), the network driver's events ([`App::handle_net`]), the results
//! of background jobs ([`App::handle_job`]) and the time ([`App::handle_timeout`]), and queues
//! [`Effect`]s for the shell to carry out ([`App::poll_effect`]): commands for the network thread,
//! the unlock job, encrypted writes, desktop notifications. Every behaviour is unit-tested in
//! microseconds (`tests` below), without a relay or a window.
//!
//! Split by concern: [`connect`] (the form), [`conversation`] (one timeline per identity),
//! [`verification`] (what to compare), [`contacts`] (the contact book).

pub mod connect;
pub mod contacts;
pub mod conversation;
pub mod verification;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use sans_io_proto::{Fingerprint, IdentityKeyPair};
use zeroize::Zeroizing;

use crate::model::{MessageId, PeerSession, SendState, Timer};
use crate::net::{ConnectParams, NetCommand, NetEvent};
use crate::text;
use connect::{ConnectForm, ConnectTarget, FormSnapshot, RelayAddress};
use contacts::{ContactBook, Recognition, RenameError};
use conversation::{Conversation, Message, NoticeLevel};
use verification::Verification;

/// Settings that do not change while the app runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Whether a relay may be started inside the window.
    pub start_local_relay: bool,
    /// PBKDF2 iterations for new identity files.
    pub pbkdf2_iterations: u32,
    /// The local relay's certificate directory (`None`: the default).
    pub relay_cert_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            start_local_relay: true,
            pbkdf2_iterations: sans_io_proto::identity_file::DEFAULT_ITERATIONS,
            relay_cert_dir: None,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// The connect form.
    Connect,
    /// Something slow runs: unlocking, generating keys, connecting.
    Busy(String),
    /// Alone in the room.
    Waiting,
    /// Key exchange running.
    ExchangingKeys,
    /// A secure session with a peer (approved or not: see [`App::peer`]).
    Secure,
    /// The relay is unreachable; retrying.
    RelayLost {
        /// Why.
        reason: String,
        /// When the next attempt is.
        retrying_in: Option<Duration>,
    },
}

/// The peer of the current session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// What to compare.
    pub verification: Verification,
    /// What the contact book said when the session started.
    pub recognition: Recognition,
    /// Whether this exact identity was approved (automatically or by the user): nothing we
    /// write goes to it before (with protocol v2, not our display name nor acks either).
    pub approved: bool,
    /// What the peer calls itself.
    pub display_name: Option<String>,
}

impl Peer {
    /// The identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.verification.peer
    }
}

/// The unlock job: open (or create) the identity of a display name and load its storage.
#[derive(Debug)]
pub struct UnlockRequest {
    /// The display name (selects the profile).
    pub display_name: String,
    /// The passphrase.
    pub passphrase: Zeroizing<String>,
    /// Whether to create a new identity.
    pub create: bool,
    /// PBKDF2 iterations for a new identity file.
    pub iterations: u32,
}

/// An encrypted write for the storage worker.
#[derive(Debug)]
pub enum SaveOp {
    /// The contact book's plaintext.
    Contacts(Zeroizing<Vec<u8>>),
    /// A conversation's history plaintext.
    History {
        /// Whose.
        contact: Fingerprint,
        /// The plaintext.
        plaintext: Zeroizing<Vec<u8>>,
    },
    /// Delete a conversation's history file.
    DeleteHistory(Fingerprint),
}

/// Something for the shell to do.
#[derive(Debug)]
pub enum Effect {
    /// A command for the network thread.
    Net(NetCommand),
    /// Run the unlock job off the UI thread.
    Unlock(UnlockRequest),
    /// Write (or delete) an encrypted file.
    Save(SaveOp),
    /// Show a desktop notification (no message text in it: notification daemons log).
    Notify {
        /// Title.
        title: String,
        /// Body.
        body: String,
    },
}

/// What the unlock job found.
pub struct Unlocked {
    /// The display name.
    pub display_name: String,
    /// The identity.
    pub identity: IdentityKeyPair,
    /// The contact book (empty for a new profile; migrated from the v1 trust store once).
    pub contacts: ContactBook,
    /// The saved conversations.
    pub histories: Vec<(Fingerprint, Vec<Message>)>,
    /// Things the user must know (a damaged history moved aside, a migration done).
    pub notices: Vec<String>,
}

/// Results of background work.
pub enum JobResult {
    /// The identity is open.
    Unlocked(Box<Unlocked>),
    /// It is not (wrong passphrase, damaged contact book, ...).
    UnlockFailed(String),
    /// A write failed.
    SaveFailed(String),
}

/// How the header looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Plain.
    Neutral,
    /// Secure and verified.
    Good,
    /// Something needs the user.
    Warning,
}

/// The header's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// How it looks.
    pub tone: Tone,
}

/// One conversation in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationSummary {
    /// Whose.
    pub contact: Fingerprint,
    /// The petname (or "unknown identity ...").
    pub name: String,
    /// Verified contact.
    pub verified: bool,
    /// Unread messages.
    pub unread: u32,
    /// The peer of the current session.
    pub connected: bool,
}

/// The application state.
pub struct App {
    config: Config,
    /// The connect form (bound to the UI's text fields).
    pub form: ConnectForm,
    form_error: Option<(String, FormSnapshot)>,
    known_profiles: BTreeSet<String>,
    phase: Phase,
    profile: Option<String>,
    identity: Option<IdentityKeyPair>,
    contacts: ContactBook,
    conversations: BTreeMap<Fingerprint, Conversation>,
    selected: Option<Fingerprint>,
    peer: Option<Peer>,
    requested_room: Option<String>,
    room: Option<String>,
    redirect: Option<String>,
    error: Option<String>,
    warnings: Vec<String>,
    local_relay_question: Option<RelayAddress>,
    confirmed_local: Option<RelayAddress>,
    last_target: Option<ConnectTarget>,
    pending: Option<ConnectTarget>,
    rejected: u32,
    /// The message being typed.
    pub draft: String,
    focused: bool,
    now_ms: u64,
    id_prefix: u64,
    next_id: u64,
    hosts_relay: bool,
    effects: VecDeque<Effect>,
}

impl App {
    /// A new app. `known_profiles` are the display names (directory form, see
    /// [`crate::profile::dir_name`]) that have an identity file; `id_prefix` is random per run
    /// (message ids); `now_ms` the wall clock.
    pub fn new(
        config: Config,
        form: ConnectForm,
        known_profiles: BTreeSet<String>,
        id_prefix: u64,
        now_ms: u64,
    ) -> Self {
        App {
            config,
            form,
            form_error: None,
            known_profiles,
            phase: Phase::Connect,
            profile: None,
            identity: None,
            contacts: ContactBook::default(),
            conversations: BTreeMap::new(),
            selected: None,
            peer: None,
            requested_room: None,
            room: None,
            redirect: None,
            error: None,
            warnings: Vec::new(),
            local_relay_question: None,
            confirmed_local: None,
            last_target: None,
            pending: None,
            rejected: 0,
            draft: String::new(),
            focused: true,
            now_ms,
            id_prefix,
            next_id: 1,
            hosts_relay: false,
            effects: VecDeque::new(),
        }
    }

    // ---- what the UI shows --------------------------------------------------------------------

    /// Where the connection stands.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The form's error, while the form still says what it said when the error was found.
    pub fn form_error(&self) -> Option<&str> {
        self.form_error
            .as_ref()
            .filter(|(_, snap)| *snap == self.form.snapshot())
            .map(|(m, _)| m.as_str())
    }

    /// The last error outside the form (relay errors, failed writes), until dismissed.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Warnings to show until dismissed (damaged history moved aside, migration done).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The redirect banner ("room X was full, you are in Y").
    pub fn redirect(&self) -> Option<&str> {
        self.redirect.as_deref()
    }

    /// The question "nobody answers at this address: start a relay here?".
    pub fn local_relay_question(&self) -> Option<&RelayAddress> {
        self.local_relay_question.as_ref()
    }

    /// The room we are in (after any redirect).
    pub fn room(&self) -> Option<&str> {
        self.room.as_deref()
    }

    /// The peer of the current session.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_ref()
    }

    /// The contact book.
    pub fn contacts(&self) -> &ContactBook {
        &self.contacts
    }

    /// Our identity's fingerprint, once unlocked.
    pub fn own_fingerprint(&self) -> Option<Fingerprint> {
        self.identity.as_ref().map(IdentityKeyPair::fingerprint)
    }

    /// Whether a relay runs inside this window.
    pub fn hosts_local_relay(&self) -> bool {
        self.hosts_relay
    }

    /// Envelopes refused in this session (forged, corrupted, replayed): counted, not listed.
    pub fn rejected(&self) -> u32 {
        self.rejected
    }

    /// Whether an identity file exists for the typed display name (the form then asks for the
    /// passphrase once; otherwise twice, to create one).
    pub fn identity_exists(&self) -> bool {
        let name = self.form.display_name.trim();
        !name.is_empty()
            && self
                .known_profiles
                .contains(&crate::profile::dir_name(name))
    }

    /// The conversation shown.
    pub fn selected(&self) -> Option<&Conversation> {
        self.selected.and_then(|fp| self.conversations.get(&fp))
    }

    /// The conversation with `fp`.
    pub fn conversation(&self, fp: &Fingerprint) -> Option<&Conversation> {
        self.conversations.get(fp)
    }

    /// The name to show for an identity: its petname, or "unknown identity ...".
    pub fn name_of(&self, fp: &Fingerprint) -> String {
        self.contacts.name_of(fp)
    }

    /// Every conversation (contacts and identities of this run), by name.
    pub fn conversation_list(&self) -> Vec<ConversationSummary> {
        let current = self.peer.as_ref().map(Peer::fingerprint);
        let mut fps: BTreeSet<Fingerprint> = self.conversations.keys().copied().collect();
        fps.extend(self.contacts.iter().map(|c| c.fingerprint));
        let mut list: Vec<ConversationSummary> = fps
            .into_iter()
            .map(|fp| ConversationSummary {
                contact: fp,
                name: self.name_of(&fp),
                verified: self.contacts.get(&fp).is_some_and(|c| c.verified),
                unread: self.conversations.get(&fp).map_or(0, |c| c.unread),
                connected: current == Some(fp),
            })
            .collect();
        list.sort_by(|a, b| (!a.connected, &a.name).cmp(&(!b.connected, &b.name)));
        list
    }

    /// Whether the warning about a changed identity is open.
    pub fn warning_open(&self) -> bool {
        self.peer.as_ref().is_some_and(|p| !p.approved)
    }

    /// Whether the compose box may send to the selected conversation: it is a contact (an
    /// identity the user approved). Sending while the contact is away queues the message.
    pub fn can_send(&self) -> bool {
        self.selected
            .is_some_and(|fp| self.contacts.get(&fp).is_some())
            && !(self.warning_open() && self.selected == self.peer.as_ref().map(Peer::fingerprint))
    }

    /// Whether the selected contact is the approved peer of the current session.
    pub fn selected_is_connected(&self) -> bool {
        self.peer
            .as_ref()
            .is_some_and(|p| p.approved && Some(p.fingerprint()) == self.selected)
    }

    /// The header: who we talk to and whether it is verified. Never "Secure" while the warning
    /// about a changed identity is open.
    pub fn status(&self) -> Status {
        let neutral = |t: &str| Status {
            text: t.to_owned(),
            tone: Tone::Neutral,
        };
        match &self.phase {
            Phase::Connect => neutral("Not connected"),
            Phase::Busy(_) => neutral("Working…"),
            Phase::Waiting => neutral("Waiting for your peer"),
            Phase::ExchangingKeys => neutral("Exchanging keys"),
            Phase::RelayLost { .. } => Status {
                text: "Relay lost: reconnecting".into(),
                tone: Tone::Warning,
            },
            Phase::Secure => match &self.peer {
                Some(p) if !p.approved => Status {
                    text: format!("⚠ Identity not accepted: {}", self.unknown_peer_words(p)),
                    tone: Tone::Warning,
                },
                Some(p) => {
                    let fp = p.fingerprint();
                    let name = self.name_of(&fp);
                    if self.contacts.get(&fp).is_some_and(|c| c.verified) {
                        Status {
                            text: format!("🔒 Secure with {name} ✔ verified"),
                            tone: Tone::Good,
                        }
                    } else {
                        Status {
                            text: format!("🔒 Secure with {name} (not verified)"),
                            tone: Tone::Neutral,
                        }
                    }
                }
                None => neutral("Exchanging keys"),
            },
        }
    }

    /// "not Bob, whom you met in this room" (or "a new identity").
    pub fn unknown_peer_words(&self, peer: &Peer) -> String {
        match peer.recognition {
            Recognition::NotTheOneMetHere { previous } => format!(
                "not {}, whom you met in this room",
                self.contacts.name_of(&previous)
            ),
            _ => "a new identity".into(),
        }
    }

    /// The window title: unread marker, who, and whether verified.
    pub fn window_title(&self) -> String {
        let unread: u32 = self.conversations.values().map(|c| c.unread).sum();
        let marker = if unread > 0 {
            format!("({unread}) ")
        } else {
            String::new()
        };
        let who = match (&self.phase, &self.peer) {
            (Phase::Secure, Some(p)) if !p.approved => "⚠ identity not accepted".to_owned(),
            (Phase::Secure, Some(p)) => {
                let fp = p.fingerprint();
                let verified = self.contacts.get(&fp).is_some_and(|c| c.verified);
                format!(
                    "{} ({})",
                    self.name_of(&fp),
                    if verified { "verified" } else { "not verified" }
                )
            }
            (Phase::Waiting, _) => "waiting for your peer".to_owned(),
            _ => String::new(),
        };
        if who.is_empty() {
            format!("{marker}e2e-chat")
        } else {
            format!("{marker}{who} — e2e-chat")
        }
    }

    // ---- commands -----------------------------------------------------------------------------

    /// Checks the form, then unlocks (or creates) the identity and connects.
    pub fn connect(&mut self) {
        self.error = None;
        self.form_error = None;
        self.local_relay_question = None;
        self.redirect = None;
        let creating = !self.identity_exists();
        let unlocked = self.identity.is_some()
            && self.profile.as_deref() == Some(self.form.display_name.trim());
        let target = match connect::validate(
            &self.form,
            creating,
            unlocked,
            self.config.start_local_relay,
            self.confirmed_local.as_ref(),
        ) {
            Ok(t) => t,
            Err(message) => {
                self.form_error = Some((message, self.form.snapshot()));
                return;
            }
        };
        if unlocked {
            return self.start_connection(target);
        }
        // Another profile: what is in memory belongs to the one being closed.
        self.profile = None;
        self.identity = None;
        self.contacts = ContactBook::default();
        self.conversations.clear();
        self.selected = None;
        self.phase = Phase::Busy(if creating {
            "Creating your identity (RSA-2048 key generation)…".into()
        } else {
            "Unlocking your identity…".into()
        });
        self.effects.push_back(Effect::Unlock(UnlockRequest {
            display_name: target.display_name.clone(),
            passphrase: Zeroizing::new(self.form.passphrase.clone()),
            create: creating,
            iterations: self.config.pbkdf2_iterations,
        }));
        self.pending = Some(target);
    }

    /// The answer "yes, start a relay inside this window at that address".
    pub fn start_local_relay_here(&mut self) {
        if let Some(addr) = self.local_relay_question.take() {
            self.confirmed_local = Some(addr);
            self.connect();
        }
    }

    /// The answer "no" to the local relay question.
    pub fn dismiss_local_relay_question(&mut self) {
        self.local_relay_question = None;
    }

    fn start_connection(&mut self, target: ConnectTarget) {
        let Some(identity) = self.identity.clone() else {
            return;
        };
        self.requested_room = Some(target.room.as_str().to_owned());
        self.phase = Phase::Busy(format!("Connecting to the relay at {}…", target.relay));
        self.effects
            .push_back(Effect::Net(NetCommand::Connect(Box::new(ConnectParams {
                relay: target.relay.clone(),
                pin: target.pin,
                room: target.room.clone(),
                identity,
                display_name: target.display_name.clone(),
                local_relay: target.local_relay,
                relay_cert_dir: self.config.relay_cert_dir.clone(),
            }))));
        self.last_target = Some(target);
    }

    /// Sends the draft to the selected conversation (Enter in the compose box). To a contact who
    /// is away, the message waits in the outbox.
    pub fn send_draft(&mut self) {
        let text = self.draft.trim_end().to_owned();
        if text.trim().is_empty() {
            return;
        }
        let Some(contact) = self.selected else {
            self.error = Some("Choose a conversation first.".into());
            return;
        };
        if !self.can_send() {
            self.error = Some(if self.warning_open() {
                "This identity is not accepted: compare the safety number and accept it before sending.".into()
            } else {
                "Sending is only possible to a contact.".into()
            });
            return;
        }
        if text.len() > sans_io_proto::session::MAX_TEXT_LEN {
            self.error = Some(format!(
                "That message is too long ({} bytes; the limit is 16 KiB).",
                text.len()
            ));
            return;
        }
        let id = MessageId::from_parts(self.id_prefix, self.next_id);
        self.next_id += 1;
        let state = if self.selected_is_connected() {
            SendState::Sending
        } else {
            SendState::WaitingForPeer
        };
        let timer = self.contacts.get(&contact).map_or(Timer::Off, |c| c.timer);
        let now = self.now_ms;
        self.conversations
            .entry(contact)
            .or_insert_with(|| Conversation::new(contact))
            .push_mine(id, &text, now, timer, state);
        self.effects.push_back(Effect::Net(NetCommand::Send {
            contact,
            id,
            text,
            sent_at_ms: now,
        }));
        self.draft.clear();
        self.error = None;
        self.save_history(&contact);
    }

    /// The user accepts the current peer's identity (after comparing the safety number).
    pub fn accept_peer(&mut self) {
        let Some(p) = self.peer.as_ref().filter(|p| !p.approved) else {
            return;
        };
        let fp = p.fingerprint();
        let name = p.display_name.clone();
        self.approve(fp, name.as_deref());
        let who = self.name_of(&fp);
        self.note(
            fp,
            format!(
                "You accepted this identity as a new contact, \"{who}\". It is not verified: compare the safety number."
            ),
            NoticeLevel::Info,
        );
    }

    fn approve(&mut self, fp: Fingerprint, name: Option<&str>) {
        let room = self.requested_room.clone().unwrap_or_default();
        self.contacts.met(fp, &room, self.now_ms, name);
        if let Some(p) = self.peer.as_mut().filter(|p| p.fingerprint() == fp) {
            p.approved = true;
        }
        self.effects.push_back(Effect::Net(NetCommand::Approve(fp)));
        self.save_contacts();
    }

    /// Marks a contact verified (`true`) or removes the verification.
    pub fn set_verified(&mut self, fp: Fingerprint, verified: bool) {
        if self.contacts.set_verified(&fp, verified) {
            self.save_contacts();
            let name = self.name_of(&fp);
            self.note(
                fp,
                if verified {
                    format!("You marked {name} as verified.")
                } else {
                    format!("You removed the verification of {name}.")
                },
                NoticeLevel::Info,
            );
        }
    }

    /// Gives a contact a name (a refused name is also shown as the error).
    pub fn rename(&mut self, fp: Fingerprint, name: &str) -> Result<(), RenameError> {
        if let Err(e) = self.contacts.rename(&fp, name) {
            self.error = Some(format!("Cannot rename: {e}."));
            return Err(e);
        }
        self.error = None;
        self.save_contacts();
        Ok(())
    }

    /// Asks to change the disappearing-messages timer of a conversation. Both sides agree on it
    /// through the protocol, so it needs the contact connected; it changes when the driver
    /// reports [`NetEvent::TimerChanged`].
    pub fn request_timer(&mut self, fp: Fingerprint, timer: Timer) {
        if !self
            .peer
            .as_ref()
            .is_some_and(|p| p.approved && p.fingerprint() == fp)
        {
            self.error = Some(format!(
                "The timer is agreed with your peer: connect with {} to change it.",
                self.name_of(&fp)
            ));
            return;
        }
        self.effects.push_back(Effect::Net(NetCommand::SetTimer {
            contact: fp,
            secs: timer.secs(),
        }));
    }

    /// Turns the on-disk history of a contact on or off (off deletes the file).
    pub fn set_keep_history(&mut self, fp: Fingerprint, keep: bool) {
        if !self.contacts.set_keep_history(&fp, keep) {
            return;
        }
        self.save_contacts();
        if keep {
            self.save_history(&fp);
        } else {
            self.effects
                .push_back(Effect::Save(SaveOp::DeleteHistory(fp)));
        }
    }

    /// Shows the conversation with `fp`.
    pub fn select(&mut self, fp: Fingerprint) {
        self.selected = Some(fp);
        self.mark_read();
    }

    /// Whether the window has the keyboard focus (a message that arrives without it is counted
    /// as unread, marked in the title and notified).
    pub fn set_focused(&mut self, focused: bool) {
        self.focused = focused;
        self.mark_read();
    }

    fn mark_read(&mut self) {
        if self.focused
            && let Some(c) = self.selected.and_then(|fp| self.conversations.get_mut(&fp))
        {
            c.unread = 0;
        }
    }

    /// Leaves the room and disconnects; back to the connect form (banners of that connection go).
    pub fn leave(&mut self) {
        self.effects.push_back(Effect::Net(NetCommand::Disconnect));
        self.phase = Phase::Connect;
        self.peer = None;
        self.room = None;
        self.requested_room = None;
        self.redirect = None;
        self.error = None;
        self.local_relay_question = None;
        // A relay started in this window keeps running (other windows may use it).
    }

    /// Closes the error banner.
    pub fn dismiss_error(&mut self) {
        self.error = None;
    }

    /// Closes the warnings.
    pub fn dismiss_warnings(&mut self) {
        self.warnings.clear();
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// The next effect to carry out.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When [`Self::handle_timeout`] is due next (Unix ms): the next message to disappear.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.conversations
            .values()
            .filter_map(Conversation::next_expiry)
            .min()
    }

    /// The time now (Unix ms): deletes expired messages from memory and disk.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        let expired: Vec<Fingerprint> = self
            .conversations
            .iter_mut()
            .filter_map(|(fp, c)| c.expire(now).then_some(*fp))
            .collect();
        for fp in expired {
            self.save_history(&fp);
        }
    }

    /// A background job finished.
    pub fn handle_job(&mut self, result: JobResult) {
        match result {
            JobResult::Unlocked(u) => self.on_unlocked(*u),
            JobResult::UnlockFailed(message) => {
                self.pending = None;
                self.phase = Phase::Connect;
                self.form_error = Some((message, self.form.snapshot()));
            }
            JobResult::SaveFailed(message) => {
                self.error = Some(format!(
                    "Could not save to disk: {message}. Your latest changes may be lost when the app closes."
                ));
            }
        }
    }

    fn on_unlocked(&mut self, u: Unlocked) {
        self.known_profiles
            .insert(crate::profile::dir_name(&u.display_name));
        self.profile = Some(u.display_name);
        self.identity = Some(u.identity);
        self.contacts = u.contacts;
        self.conversations.clear();
        self.selected = None;
        for (fp, messages) in u.histories {
            self.conversations
                .insert(fp, Conversation::restored(fp, messages));
        }
        self.warnings.extend(u.notices);
        use zeroize::Zeroize;
        self.form.passphrase.zeroize();
        self.form.passphrase_repeat.zeroize();
        // Messages past their time while the app was closed go now, from disk too.
        let now = self.now_ms;
        self.handle_timeout(now);
        if let Some(target) = self.pending.take() {
            self.start_connection(target);
        }
        // Messages written but not sent before the app closed go back to the outbox.
        let pending: Vec<(Fingerprint, MessageId, String)> = self
            .conversations
            .iter()
            .filter(|(fp, _)| self.contacts.get(fp).is_some())
            .flat_map(|(fp, c)| c.pending().into_iter().map(|(id, t)| (*fp, id, t)))
            .collect();
        for (contact, id, text) in pending {
            let sent_at_ms = self.now_ms;
            self.effects.push_back(Effect::Net(NetCommand::Send {
                contact,
                id,
                text,
                sent_at_ms,
            }));
        }
    }

    /// An event of the network driver.
    pub fn handle_net(&mut self, event: NetEvent) {
        match event {
            NetEvent::Connecting => {
                if !matches!(self.phase, Phase::RelayLost { .. }) {
                    self.phase = Phase::Busy("Connecting to the relay…".into());
                }
            }
            NetEvent::Connected { local_relay } => {
                self.hosts_relay = local_relay;
                self.error = None;
                self.phase = Phase::Busy("Joining the room…".into());
            }
            NetEvent::ConnectFailed {
                reason,
                retrying_in,
                offer_local_relay,
            } => match retrying_in {
                Some(_) if self.room.is_some() => {
                    self.phase = Phase::RelayLost {
                        reason,
                        retrying_in,
                    };
                }
                _ => {
                    self.phase = Phase::Connect;
                    self.peer = None;
                    self.form_error = Some((reason, self.form.snapshot()));
                    if offer_local_relay {
                        self.local_relay_question =
                            self.last_target.as_ref().map(|t| t.relay.clone());
                    }
                    self.effects.push_back(Effect::Net(NetCommand::Disconnect));
                }
            },
            NetEvent::RelayLost {
                reason,
                retrying_in,
            } => {
                self.peer = None;
                self.phase = Phase::RelayLost {
                    reason,
                    retrying_in: Some(retrying_in),
                };
            }
            NetEvent::Disconnected => {}
            NetEvent::Joined { room } => self.room = Some(text::clean_line(&room, 64)),
            NetEvent::Redirected { from, to } => {
                let (from, to) = (text::clean_line(&from, 64), text::clean_line(&to, 64));
                self.redirect = Some(format!(
                    "Room \"{from}\" was full, so you are in room \"{to}\": tell your peer to join \"{to}\"."
                ));
            }
            NetEvent::Waiting => {
                self.peer = None;
                self.phase = Phase::Waiting;
            }
            NetEvent::KeyExchangeStarted => {
                self.peer = None;
                self.phase = Phase::ExchangingKeys;
            }
            NetEvent::KeyExchangeFailed { reason } => {
                self.peer = None;
                self.phase = Phase::ExchangingKeys;
                self.error = Some(format!(
                    "The key exchange failed ({}); retrying.",
                    text::clean_line(&reason, 200)
                ));
            }
            NetEvent::Secure(session) => self.on_secure(&session),
            NetEvent::PeerName(name) => {
                let name = text::clean_name(&name);
                let Some(p) = self.peer.as_mut() else { return };
                if name.is_empty() {
                    return;
                }
                p.display_name = Some(name.clone());
                let (fp, approved) = (p.fingerprint(), p.approved);
                if approved && self.contacts.set_peer_name(&fp, &name) {
                    self.save_contacts();
                }
            }
            NetEvent::PeerLeft => {
                if let Some(p) = self.peer.take() {
                    let fp = p.fingerprint();
                    let name = self.name_of(&fp);
                    self.note(fp, format!("{name} left."), NoticeLevel::Info);
                }
                self.phase = Phase::Waiting;
            }
            NetEvent::Message {
                from,
                id,
                text,
                sent_at_ms,
            } => self.on_message(from, id, &text, sent_at_ms),
            NetEvent::MessageState { id, state } => {
                let changed: Option<Fingerprint> = self
                    .conversations
                    .iter_mut()
                    .find_map(|(fp, c)| c.set_state(&id, state.clone()).then_some(*fp));
                if let Some(fp) = changed {
                    self.save_history(&fp);
                }
            }
            NetEvent::TimerChanged {
                contact,
                secs,
                by_peer,
            } => {
                let Some(timer) = Timer::from_secs(secs) else {
                    return;
                };
                if self.contacts.set_timer(&contact, timer) {
                    self.save_contacts();
                    let who = if by_peer {
                        self.name_of(&contact)
                    } else {
                        "You".to_owned()
                    };
                    let what = if timer == Timer::Off {
                        format!("{who} turned disappearing messages off.")
                    } else {
                        format!(
                            "{who} set disappearing messages to {}: new messages are deleted that long after they are sent or received.",
                            timer.label()
                        )
                    };
                    self.note(contact, what, NoticeLevel::Info);
                }
            }
            NetEvent::Rejected => self.rejected = self.rejected.saturating_add(1),
            NetEvent::RelayError(message) => {
                self.error = Some(format!(
                    "The relay reported: {}",
                    text::clean_line(&message, 200)
                ));
            }
            NetEvent::RelayViolation(reason) => {
                self.error = Some(format!(
                    "The relay sent invalid data ({}); reconnecting.",
                    text::clean_line(&reason, 200)
                ));
            }
        }
    }

    fn on_secure(&mut self, session: &PeerSession) {
        let verification = Verification::new(session);
        let fp = verification.peer;
        let room = self.requested_room.clone().unwrap_or_default();
        let recognition = self.contacts.recognise(&fp, &room);
        self.rejected = 0;
        self.conversations
            .entry(fp)
            .or_insert_with(|| Conversation::new(fp));
        self.selected = Some(fp);
        self.mark_read();
        self.peer = Some(Peer {
            verification,
            recognition,
            approved: false,
            display_name: None,
        });
        self.phase = Phase::Secure;
        match recognition {
            Recognition::Known => {
                self.approve(fp, None);
                let name = self.name_of(&fp);
                let verified = self.contacts.get(&fp).is_some_and(|c| c.verified);
                self.note(
                    fp,
                    if verified {
                        format!("Secure session with {name}, verified contact.")
                    } else {
                        format!(
                            "Secure session with {name} (not verified yet: compare the safety number)."
                        )
                    },
                    NoticeLevel::Info,
                );
            }
            Recognition::New => {
                self.approve(fp, None);
                self.note(
                    fp,
                    "Secure session with a new contact. Compare the safety number to be sure who it is.",
                    NoticeLevel::Info,
                );
            }
            Recognition::NotTheOneMetHere { previous } => {
                let before = self.name_of(&previous);
                self.note(
                    fp,
                    format!(
                        "This is not {before}, whom you met in room \"{room}\": it is an identity you \
                         have never seen. It may be someone else in {before}'s place (or {before} on a \
                         new computer). Compare the safety number with {before} by phone or face to \
                         face before you accept it. Nothing you write is sent until you accept."
                    ),
                    NoticeLevel::Warning,
                );
            }
        }
    }

    fn on_message(&mut self, from: Fingerprint, id: MessageId, text: &str, sent_at_ms: u64) {
        let timer = self.contacts.get(&from).map_or(Timer::Off, |c| c.timer);
        let now = self.now_ms;
        let reading = self.focused && self.selected == Some(from);
        let conv = self
            .conversations
            .entry(from)
            .or_insert_with(|| Conversation::new(from));
        if !conv.push_peer(id, text, sent_at_ms, now, timer) {
            return;
        }
        if !reading {
            conv.unread = conv.unread.saturating_add(1);
        }
        if !self.focused {
            self.effects.push_back(Effect::Notify {
                title: "e2e-chat".into(),
                body: format!("New message from {}", self.name_of(&from)),
            });
        }
        self.save_history(&from);
    }

    fn note(&mut self, fp: Fingerprint, text: impl Into<String>, level: NoticeLevel) {
        let now = self.now_ms;
        self.conversations
            .entry(fp)
            .or_insert_with(|| Conversation::new(fp))
            .notice(text, level, now);
    }

    fn save_contacts(&mut self) {
        self.effects
            .push_back(Effect::Save(SaveOp::Contacts(self.contacts.encode())));
    }

    fn save_history(&mut self, fp: &Fingerprint) {
        let keep = self.contacts.get(fp).is_some_and(|c| c.keep_history);
        if let (true, Some(c)) = (keep, self.conversations.get(fp)) {
            self.effects.push_back(Effect::Save(SaveOp::History {
                contact: *fp,
                plaintext: c.encode_history(),
            }));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.form.passphrase.zeroize();
        self.form.passphrase_repeat.zeroize();
    }
}

#[cfg(test)]
mod tests;
