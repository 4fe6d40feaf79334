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
use std::sync::Arc;
use std::time::Duration;

use sans_io_proto::identity_file::Argon2Params;
use sans_io_proto::{Fingerprint, IdentityKeyPair};
use zeroize::Zeroizing;

use crate::model::{MessageId, PeerSession, SendState, Timer};
use crate::net::{ConnectParams, DeliveryStore, NetCommand, NetEvent, OpenParams};
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
    /// Argon2id parameters of new identity files (and of a version-1 file's rewrite).
    pub argon2: Argon2Params,
    /// The local relay's certificate directory (`None`: the default).
    pub relay_cert_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            start_local_relay: true,
            argon2: Argon2Params::DEFAULT,
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
    /// Key exchanges stopped after too many aborted ones: the relay may be probing who we are
    /// (PROTOCOL.md §5.10). Nothing starts until the user asks ([`App::try_again`]).
    Suspended {
        /// Aborted key exchanges in the last 10 minutes.
        recent: usize,
    },
    /// The key exchange failed and is not retried by itself (why, in the user's words).
    ExchangeFailed {
        /// Why.
        reason: String,
    },
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
    /// write, not our display name nor acknowledgements go to it before (PROTOCOL.md §7.6).
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
    /// Argon2id parameters for a new identity file.
    pub argon2: Argon2Params,
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
        /// Shown peer messages recorded by this write: confirmed to the protocol client once it
        /// is on disk ([`JobResult::HistorySaved`]).
        confirm: Vec<MessageId>,
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
    /// The protocol client's stored delivery states, by contact (PROTOCOL.md §7.10).
    pub deliveries: Vec<(Fingerprint, Zeroizing<Vec<u8>>)>,
    /// Where the protocol client stores them (handed on to the network driver untouched).
    pub delivery_store: Arc<dyn DeliveryStore>,
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
    /// A history write is on disk, with the peer messages it recorded.
    HistorySaved {
        /// Whose.
        contact: Fingerprint,
        /// The messages to confirm to the protocol client.
        confirm: Vec<MessageId>,
    },
}

/// A message written and handed to the protocol client, waiting for its id.
#[derive(Debug, Clone)]
struct PendingSend {
    text: String,
    at_ms: u64,
    /// The message of the history it is (one queued again): it keeps its place and takes the
    /// new id, instead of a new line.
    replaces: Option<MessageId>,
}

/// Most verification records kept for resumed sessions (one per recent peer).
const MAX_KEPT_VERIFICATIONS: usize = 16;

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
    /// Messages handed to the protocol client, by local id, until it names them.
    pending_sends: BTreeMap<MessageId, PendingSend>,
    /// Shown peer messages not yet in a history write, per contact.
    to_confirm: BTreeMap<Fingerprint, Vec<MessageId>>,
    /// What was compared in the last session with each recent peer (a resumed session shows it).
    verifications: VecDeque<Verification>,
    /// The last aborted or failed key exchange, in the user's words (cleared by a secure session).
    exchange_note: Option<String>,
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
            pending_sends: BTreeMap::new(),
            to_confirm: BTreeMap::new(),
            verifications: VecDeque::new(),
            exchange_note: None,
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

    /// What happens to a message written now, when it cannot go at once: "Bob is offline:
    /// messages will be sent when they are back" (or, with the relay lost, when we are).
    pub fn offline_notice(&self) -> Option<String> {
        let fp = self.selected?;
        self.contacts.get(&fp)?;
        if self.selected_is_connected() {
            return None;
        }
        let name = self.name_of(&fp);
        Some(match self.phase {
            Phase::RelayLost { .. } => format!(
                "You are offline: messages to {name} will be sent when the connection is back."
            ),
            _ => format!("{name} is offline: messages will be sent when they are back."),
        })
    }

    /// The last key exchange that ended without a session, in the user's words (until the next
    /// secure session).
    pub fn exchange_note(&self) -> Option<&str> {
        self.exchange_note.as_deref()
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
            Phase::Suspended { .. } => Status {
                text: "⚠ Key exchanges paused".into(),
                tone: Tone::Warning,
            },
            Phase::ExchangeFailed { .. } => Status {
                text: "⚠ Key exchange failed".into(),
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
            argon2: self.config.argon2,
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
        if self.identity.is_none() {
            return;
        }
        // The room the user asked for: the approval policy judges new identities by it, never by
        // a room the relay redirected us to (PROTOCOL.md §7.6).
        self.requested_room = Some(target.room.as_str().to_owned());
        self.phase = Phase::Busy(format!("Connecting to the relay at {}…", target.relay));
        self.effects
            .push_back(Effect::Net(NetCommand::Connect(Box::new(ConnectParams {
                relay: target.relay.clone(),
                pin: target.pin,
                room: target.room.clone(),
                local_relay: target.local_relay,
                relay_cert_dir: self.config.relay_cert_dir.clone(),
            }))));
        self.last_target = Some(target);
    }

    /// Sends the draft to the selected conversation (Enter in the compose box). To a contact who
    /// is away, the message waits in the outbox. It is shown once the protocol client gave it its
    /// id ([`NetEvent::Queued`]), or as failed with the reason it gave ([`NetEvent::SendRefused`]).
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
        self.queue(contact, text, None);
        self.draft.clear();
        self.error = None;
    }

    /// Hands a text to the protocol client under a local id.
    fn queue(&mut self, contact: Fingerprint, text: String, replaces: Option<MessageId>) {
        let local = MessageId::from_parts(self.id_prefix, self.next_id);
        self.next_id += 1;
        let at_ms = self.now_ms;
        self.pending_sends.insert(
            local,
            PendingSend {
                text: text.clone(),
                at_ms,
                replaces,
            },
        );
        self.effects.push_back(Effect::Net(NetCommand::Send {
            contact,
            local,
            text,
            sent_at_ms: at_ms,
        }));
    }

    /// The user accepts the current peer's identity (after comparing the safety number).
    pub fn accept_peer(&mut self) {
        let Some(p) = self.peer.as_ref().filter(|p| !p.approved) else {
            return;
        };
        let fp = p.fingerprint();
        let name = p.display_name.clone();
        self.approve(fp, name.as_deref(), false);
        let who = self.name_of(&fp);
        self.note(
            fp,
            format!(
                "You accepted this identity as a new contact, \"{who}\". It is not verified: compare the safety number."
            ),
            NoticeLevel::Info,
        );
    }

    /// Records `fp` as a contact met in the room the user asked for and, unless the protocol
    /// client approved it already, approves it there.
    fn approve(&mut self, fp: Fingerprint, name: Option<&str>, client_knows: bool) {
        let room = self.requested_room.clone().unwrap_or_default();
        self.contacts.met(fp, &room, self.now_ms, name);
        if let Some(p) = self.peer.as_mut().filter(|p| p.fingerprint() == fp) {
            p.approved = true;
        }
        if !client_knows {
            self.effects.push_back(Effect::Net(NetCommand::Approve(fp)));
        }
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

    /// Asks to change the disappearing-messages timer of a conversation with a contact. Both
    /// sides agree on it inside the protocol (PROTOCOL.md §7.7): the change travels like a message
    /// (waiting in the outbox while the contact is away), and the setting here changes when the
    /// driver reports [`NetEvent::TimerChanged`].
    pub fn request_timer(&mut self, fp: Fingerprint, timer: Timer) {
        if self.contacts.get(&fp).is_none() {
            self.error = Some("The timer can only be set with a contact.".into());
            return;
        }
        self.effects.push_back(Effect::Net(NetCommand::SetTimer {
            contact: fp,
            secs: timer.secs(),
            at_ms: self.now_ms,
        }));
    }

    /// "Try again" after key exchanges were paused or one failed for good (PROTOCOL.md §5.10):
    /// both sides start over.
    pub fn try_again(&mut self) {
        if matches!(
            self.phase,
            Phase::Suspended { .. } | Phase::ExchangeFailed { .. }
        ) {
            self.phase = Phase::Waiting;
            self.exchange_note = None;
            self.effects
                .push_back(Effect::Net(NetCommand::ResumeKeyExchanges));
        }
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
            // Kept in memory only from now on: what waited for a history write is recorded.
            if let Some(ids) = self.to_confirm.remove(&fp) {
                self.effects
                    .push_back(Effect::Net(NetCommand::ConfirmShown { contact: fp, ids }));
            }
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
        self.exchange_note = None;
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
            JobResult::HistorySaved { contact, confirm } => {
                // Recorded on disk: the protocol client may forget them (PROTOCOL.md §7.5).
                if !confirm.is_empty() {
                    self.effects
                        .push_back(Effect::Net(NetCommand::ConfirmShown {
                            contact,
                            ids: confirm,
                        }));
                }
            }
        }
    }

    fn on_unlocked(&mut self, u: Unlocked) {
        self.known_profiles
            .insert(crate::profile::dir_name(&u.display_name));
        self.profile = Some(u.display_name.clone());
        self.identity = Some(u.identity.clone());
        self.contacts = u.contacts;
        self.conversations.clear();
        self.selected = None;
        self.pending_sends.clear();
        self.to_confirm.clear();
        self.verifications.clear();
        for (fp, messages) in u.histories {
            self.conversations
                .insert(fp, Conversation::restored(fp, messages));
        }
        self.warnings.extend(u.notices);
        use zeroize::Zeroize;
        self.form.passphrase.zeroize();
        self.form.passphrase_repeat.zeroize();
        // What the protocol client will send again, and what it delivered while the history did
        // not hear of it (a crash between the two writes).
        let legacy = self.reconcile(&u.deliveries);
        // Messages past their time while the app was closed go now, from disk too.
        let now = self.now_ms;
        self.handle_timeout(now);
        // The protocol client of this identity starts before any connection, with its stored
        // conversations and every contact approved (so a session with them needs no round trip).
        let approved = self.contacts.iter().map(|c| c.fingerprint).collect();
        self.effects
            .push_back(Effect::Net(NetCommand::Open(Box::new(OpenParams {
                identity: u.identity,
                display_name: u.display_name,
                states: u.deliveries,
                approved,
                store: u.delivery_store,
            }))));
        // Messages of a history without a delivery record were never in the protocol's outbox
        // (or its record was lost): queued again, in order.
        for (contact, old, text) in legacy {
            self.queue(contact, text, Some(old));
        }
        if let Some(target) = self.pending.take() {
            self.start_connection(target);
        }
    }

    /// Brings the histories in line with the stored delivery states: own messages still in the
    /// outbox wait for the peer, those that left it were delivered (an entry leaves only on the
    /// peer's acknowledgement, §7.4), outbox messages the history missed are added, and the timer
    /// follows the protocol's. Returns the own messages the protocol does not know (id, text), to
    /// be queued again.
    fn reconcile(
        &mut self,
        deliveries: &[(Fingerprint, Zeroizing<Vec<u8>>)],
    ) -> Vec<(Fingerprint, MessageId, String)> {
        use sans_io_proto::delivery::Entry;
        let mut known = BTreeSet::new();
        let mut legacy = Vec::new();
        for (fp, bytes) in deliveries {
            // A state that does not decode is reported by the driver, which cannot restore it.
            let Ok(state) = sans_io_proto::delivery::Conversation::decode(bytes) else {
                continue;
            };
            if state.peer() != fp || self.contacts.get(fp).is_none() {
                continue;
            }
            known.insert(*fp);
            if let Some(timer) = Timer::from_secs(state.timer().expire_secs)
                && self.contacts.get(fp).is_some_and(|c| c.timer != timer)
            {
                self.contacts.set_timer(fp, timer);
                self.save_contacts();
            }
            let stream = state.own_stream();
            let outbox: Vec<(MessageId, u64, u32, String)> = state
                .outbox()
                .entries()
                .filter_map(|e| match &e.stored.entry {
                    Entry::Text { expire_secs, text } => Some((
                        MessageId::from(sans_io_proto::MessageId {
                            stream,
                            number: e.stored.number,
                        }),
                        e.stored.sent_at_ms,
                        *expire_secs,
                        text.as_str().to_owned(),
                    )),
                    _ => None,
                })
                .collect();
            let conv = self
                .conversations
                .entry(*fp)
                .or_insert_with(|| Conversation::new(*fp));
            let (changed, unknown) = conv.reconcile(stream, &outbox);
            legacy.extend(unknown.into_iter().map(|(id, text)| (*fp, id, text)));
            if changed {
                self.save_history(fp);
            }
        }
        for (fp, conv) in &self.conversations {
            if !known.contains(fp) && self.contacts.get(fp).is_some() {
                legacy.extend(conv.pending().into_iter().map(|(id, text)| (*fp, id, text)));
            }
        }
        legacy
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
                // After a loss the conversation stays on screen while the room is joined again.
                self.phase = if matches!(self.phase, Phase::RelayLost { .. }) {
                    Phase::Waiting
                } else {
                    Phase::Busy("Joining the room…".into())
                };
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
                if !matches!(self.phase, Phase::Suspended { .. }) {
                    self.phase = Phase::Waiting;
                }
            }
            NetEvent::KeyExchangeStarted => {
                self.peer = None;
                self.phase = Phase::ExchangingKeys;
            }
            NetEvent::KeyExchangeAborted {
                identity_revealed,
                recent,
            } => {
                self.exchange_note = Some(exchange_words(
                    "A key exchange was cut off before it completed",
                    identity_revealed,
                    recent,
                ));
            }
            NetEvent::KeyExchangesSuspended { recent } => {
                self.peer = None;
                self.phase = Phase::Suspended { recent };
            }
            NetEvent::KeyExchangeFailed {
                reason,
                peer_version,
                retrying,
                identity_revealed,
                recent,
            } => {
                self.peer = None;
                let what = match peer_version {
                    Some(1) => "Your peer's app speaks protocol 1, an older version that cannot \
                                talk to this one: ask them to update it. The key exchange is not \
                                tried again by itself"
                        .to_owned(),
                    Some(v) => format!(
                        "Your peer's app speaks protocol version {v}, which this app does not \
                         support. The key exchange is not tried again by itself"
                    ),
                    None => format!(
                        "The key exchange failed ({}){}",
                        text::clean_line(&reason, 200),
                        if retrying { "; trying again" } else { "" }
                    ),
                };
                self.exchange_note = Some(exchange_words(&what, identity_revealed, recent));
                self.phase = if retrying {
                    Phase::ExchangingKeys
                } else {
                    Phase::ExchangeFailed { reason: what }
                };
            }
            NetEvent::Secure { session, approved } => self.on_secure(&session, approved),
            NetEvent::Resumed { peer, approved } => self.on_resumed(peer, approved),
            NetEvent::PeerName { from, name } => {
                let name = text::clean_name(&name);
                if name.is_empty() {
                    return;
                }
                if let Some(p) = self.peer.as_mut().filter(|p| p.fingerprint() == from) {
                    p.display_name = Some(name.clone());
                }
                // Only a contact's book entry learns it (never a name for an unaccepted one).
                if self.contacts.set_peer_name(&from, &name) {
                    self.save_contacts();
                }
            }
            NetEvent::PeerLeft => {
                if let Some(p) = self.peer.take() {
                    let fp = p.fingerprint();
                    let name = self.name_of(&fp);
                    self.note(fp, format!("{name} left."), NoticeLevel::Info);
                }
                if !matches!(self.phase, Phase::Suspended { .. }) {
                    self.phase = Phase::Waiting;
                }
            }
            NetEvent::Message {
                from,
                id,
                text,
                sent_at_ms,
                expire_secs,
            } => self.on_message(from, id, &text, sent_at_ms, expire_secs),
            NetEvent::Unsupported { from, id, kind } => {
                let name = self.name_of(&from);
                self.note(
                    from,
                    format!(
                        "{name} sent a message of a kind this version of the app cannot show \
                         (type 0x{kind:02x}). A newer version may show it."
                    ),
                    NoticeLevel::Info,
                );
                // Notices are not kept on disk: shown once is recorded.
                self.effects
                    .push_back(Effect::Net(NetCommand::ConfirmShown {
                        contact: from,
                        ids: vec![id],
                    }));
            }
            NetEvent::Queued { contact, local, id } => self.on_queued(contact, local, id),
            NetEvent::SendRefused {
                contact,
                local,
                reason,
            } => self.on_refused(contact, local, &reason),
            NetEvent::MessageState { contact, id, state } => {
                if self
                    .conversations
                    .get_mut(&contact)
                    .is_some_and(|c| c.set_state(&id, state))
                {
                    self.save_history(&contact);
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
                if self
                    .contacts
                    .get(&contact)
                    .is_some_and(|c| c.timer != timer)
                    && self.contacts.set_timer(&contact, timer)
                {
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
            NetEvent::TimerRefused { contact, reason } => {
                self.error = Some(format!(
                    "The disappearing-messages timer with {} was not changed: {}",
                    self.name_of(&contact),
                    text::clean_line(&reason, 200)
                ));
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
            NetEvent::StorageFailed(reason) => {
                self.error = Some(format!(
                    "Your messages could not be saved to disk ({}). The connection is paused until \
                     they can be, so nothing is confirmed to your peer that could be lost.",
                    text::clean_line(&reason, 300)
                ));
            }
            NetEvent::RestoreFailed { contact, reason } => {
                self.warnings.push(format!(
                    "The delivery record of your conversation with {} could not be restored ({}): \
                     messages that waited to be sent to them are lost.",
                    self.name_of(&contact),
                    text::clean_line(&reason, 200)
                ));
            }
        }
    }

    fn on_secure(&mut self, session: &PeerSession, approved: bool) {
        let verification = Verification::new(session);
        let fp = verification.peer;
        self.remember(&verification);
        self.start_session(fp, verification, approved, false);
    }

    fn on_resumed(&mut self, fp: Fingerprint, approved: bool) {
        // A resumption continues the last secure session with that peer in this run: the same
        // keys, so the same things to compare.
        let Some(verification) = self.verifications.iter().find(|v| v.peer == fp).cloned() else {
            tracing::warn!("a session resumed that this run never saw start");
            return;
        };
        self.start_session(fp, verification, approved, true);
    }

    /// A secure (or resumed) session with `fp`: the approval policy of PROTOCOL.md §7.6.
    fn start_session(
        &mut self,
        fp: Fingerprint,
        verification: Verification,
        approved: bool,
        resumed: bool,
    ) {
        // Judged by the room the user asked for, never by the one a relay redirected us to: a
        // relay could otherwise send a stranger into a fresh room and have it accepted at once.
        let room = self.requested_room.clone().unwrap_or_default();
        let recognition = self.contacts.recognise(&fp, &room);
        self.rejected = 0;
        self.exchange_note = None;
        self.conversations
            .entry(fp)
            .or_insert_with(|| Conversation::new(fp));
        self.selected = Some(fp);
        self.mark_read();
        let display_name = self
            .contacts
            .get(&fp)
            .map(|c| c.peer_name.clone())
            .filter(|n| !n.is_empty());
        self.peer = Some(Peer {
            verification,
            recognition,
            approved,
            display_name,
        });
        self.phase = Phase::Secure;
        let name = self.name_of(&fp);
        let verified = self.contacts.get(&fp).is_some_and(|c| c.verified);
        if resumed && (approved || recognition == Recognition::Known) {
            if !approved {
                self.approve(fp, None, false);
            }
            self.note(
                fp,
                format!(
                    "Connected to {name} again: the same secure session goes on (no new key exchange)."
                ),
                NoticeLevel::Info,
            );
            return;
        }
        match recognition {
            Recognition::Known => {
                // A contact: the protocol client knew it already (every contact is approved at
                // start), unless the book and the client disagree; approved either way.
                self.approve(fp, None, approved);
                self.note(
                    fp,
                    if verified {
                        format!("Secure session with {name}, verified contact.")
                    } else {
                        format!(
                            "Secure session with {name} (not verified yet: compare the emoji or the safety number)."
                        )
                    },
                    NoticeLevel::Info,
                );
            }
            Recognition::New => {
                self.approve(fp, None, approved);
                self.note(
                    fp,
                    "Secure session with a new contact. Compare the emoji or the safety number to be sure who it is.",
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
                         new computer). Compare the emoji or the safety number with {before} by \
                         phone or face to face before you accept it. Nothing you write is sent until \
                         you accept."
                    ),
                    NoticeLevel::Warning,
                );
            }
        }
    }

    /// Keeps what was compared in a session, for a resumption of it.
    fn remember(&mut self, v: &Verification) {
        self.verifications.retain(|x| x.peer != v.peer);
        if self.verifications.len() >= MAX_KEPT_VERIFICATIONS {
            self.verifications.pop_front();
        }
        self.verifications.push_back(v.clone());
    }

    fn on_queued(&mut self, contact: Fingerprint, local: MessageId, id: MessageId) {
        let Some(p) = self.pending_sends.remove(&local) else {
            return;
        };
        let timer = self.contacts.get(&contact).map_or(Timer::Off, |c| c.timer);
        let conv = self
            .conversations
            .entry(contact)
            .or_insert_with(|| Conversation::new(contact));
        match p.replaces {
            Some(old) => {
                conv.rekey(&old, id);
                conv.set_state(&id, SendState::Sending);
            }
            None => conv.push_mine(id, &p.text, p.at_ms, timer, SendState::Sending),
        }
        self.save_history(&contact);
    }

    fn on_refused(&mut self, contact: Fingerprint, local: MessageId, reason: &str) {
        let Some(p) = self.pending_sends.remove(&local) else {
            return;
        };
        let reason = text::clean_line(reason, 200);
        let conv = self
            .conversations
            .entry(contact)
            .or_insert_with(|| Conversation::new(contact));
        match p.replaces {
            Some(old) => {
                conv.set_state(&old, SendState::Failed(reason));
            }
            None => {
                conv.push_mine(
                    local,
                    &p.text,
                    p.at_ms,
                    Timer::Off,
                    SendState::Failed(reason),
                );
                // The text comes back to the compose box, to shorten it or send it later.
                if self.draft.is_empty() {
                    self.draft = p.text;
                }
            }
        }
        self.save_history(&contact);
    }

    fn on_message(
        &mut self,
        from: Fingerprint,
        id: MessageId,
        text: &str,
        sent_at_ms: u64,
        expire_secs: u32,
    ) {
        // The sender's timer applies to its message (§7.7).
        let timer = Timer::from_secs(expire_secs).unwrap_or(Timer::Off);
        let now = self.now_ms;
        let reading = self.focused && self.selected == Some(from);
        let conv = self
            .conversations
            .entry(from)
            .or_insert_with(|| Conversation::new(from));
        if conv.push_peer(id, text, sent_at_ms, now, timer) {
            if !reading {
                conv.unread = conv.unread.saturating_add(1);
            }
            if !self.focused {
                self.effects.push_back(Effect::Notify {
                    title: "e2e-chat".into(),
                    body: format!("New message from {}", self.name_of(&from)),
                });
            }
        }
        // Shown again after a restart (never confirmed): it is on screen once, and recorded
        // like a new one so the protocol client can forget it.
        self.record_shown(from, id);
    }

    /// A peer message is on screen: once it is recorded (the history on disk, or memory when the
    /// contact keeps none), the protocol client hears it may forget it (PROTOCOL.md §7.5).
    fn record_shown(&mut self, from: Fingerprint, id: MessageId) {
        if self.keeps_history(&from) {
            self.to_confirm.entry(from).or_default().push(id);
            self.save_history(&from);
        } else {
            self.effects
                .push_back(Effect::Net(NetCommand::ConfirmShown {
                    contact: from,
                    ids: vec![id],
                }));
        }
    }

    fn keeps_history(&self, fp: &Fingerprint) -> bool {
        self.contacts.get(fp).is_some_and(|c| c.keep_history)
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
        if !self.keeps_history(fp) {
            return;
        }
        if let Some(c) = self.conversations.get(fp) {
            let confirm = self.to_confirm.remove(fp).unwrap_or_default();
            self.effects.push_back(Effect::Save(SaveOp::History {
                contact: *fp,
                plaintext: c.encode_history(),
                confirm,
            }));
        }
    }
}

/// An aborted or failed key exchange in the user's words (PROTOCOL.md §5.10: every abort is
/// reported with whether our identity had been sent).
fn exchange_words(what: &str, identity_revealed: bool, recent: usize) -> String {
    format!(
        "{what} ({recent} in the last 10 minutes). {}",
        if identity_revealed {
            "Your identity had already been sent in it: whoever ran the other side may have learned who you are."
        } else {
            "Your identity had not been sent in it."
        }
    )
}

/// Why key exchanges are paused, in plain words (PROTOCOL.md §5.10).
pub fn suspension_words(recent: usize) -> String {
    format!(
        "Key exchanges are paused: {recent} key exchanges in the last 10 minutes ended before they \
         completed. The relay (the server between you and your peer) can cut them off, and a relay \
         that does so again and again may be probing who you are: each attempt can show it your \
         identity. Nothing more is tried until you press Try again, best when your peer is in the \
         room."
    )
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
