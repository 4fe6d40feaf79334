//! The application logic: a plain type that holds everything the user sees, takes commands
//! (connect, send, verify, ...) and folds in events from the network thread and background jobs.
//! The egui layer draws it; the headless tests drive it directly.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use sans_io_proto::frame::{ErrorCode, RoomName, WAITING_TEXT};
use sans_io_proto::identity::{KEY_VISUAL_SIZE, KeyVisual};
use sans_io_proto::{Event, Fingerprint, IdentityKeyPair, Role, SecureInfo};

use crate::identity_store::{self, IdentityStoreError};
use crate::net::{ConnectParams, NetCommand, NetEvent, NetHandle};
use crate::profile::{Profile, ProfileError};
use crate::trust_store::{Trust, TrustStore};

/// Settings that do not change while the app runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where profiles live.
    pub data_dir: PathBuf,
    /// The local relay's certificate directory (`None`: the default).
    pub relay_cert_dir: Option<PathBuf>,
    /// Argon2id parameters of the identity files the app writes (new ones, and the version 2
    /// rewrite of a version 1 file).
    pub argon2: sans_io_proto::identity_file::Argon2Params,
    /// Whether to start a relay in-process when none runs locally.
    pub start_local_relay: bool,
    /// What the connect form starts with.
    pub form: ConnectForm,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            data_dir: crate::profile::default_data_dir(),
            relay_cert_dir: None,
            argon2: sans_io_proto::identity_file::Argon2Params::DEFAULT,
            start_local_relay: true,
            form: ConnectForm::default(),
        }
    }
}

/// The connect form's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectForm {
    /// Display name (also selects the profile: one identity per name).
    pub display_name: String,
    /// Passphrase of the identity file.
    pub passphrase: String,
    /// Passphrase again, when creating a new identity.
    pub passphrase_repeat: String,
    /// Relay address `host:port`.
    pub relay: String,
    /// The relay certificate's SHA-256 pin (empty: the local relay's).
    pub pin: String,
    /// The room to join.
    pub room: String,
}

impl Default for ConnectForm {
    fn default() -> Self {
        ConnectForm {
            display_name: String::new(),
            passphrase: String::new(),
            passphrase_repeat: String::new(),
            relay: crate::DEFAULT_RELAY.to_owned(),
            pin: String::new(),
            room: String::new(),
        }
    }
}

/// Which screen is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The connect form.
    Connect,
    /// Something slow is running (with a spinner): unlocking, generating keys, connecting.
    Busy(String),
    /// Alone in the room.
    Waiting,
    /// Key exchange running.
    ExchangingKeys,
    /// Secure session: chat and verification.
    Secure,
    /// The relay is unreachable; retrying.
    RelayLost {
        /// Why.
        reason: String,
        /// When the next attempt is, if any.
        retrying_in: Option<Duration>,
    },
}

/// What is shown to verify the peer.
#[derive(Debug, Clone)]
pub struct Verification {
    /// Safety number, 12 groups of 5 digits (3 lines).
    pub digits: String,
    /// Emoji and their names.
    pub emoji: Vec<(&'static str, &'static str)>,
    /// The QR payload.
    pub qr: Vec<u8>,
    /// The session key picture.
    pub visual: [[u8; KEY_VISUAL_SIZE]; KEY_VISUAL_SIZE],
    /// The peer's identity fingerprint.
    pub peer_fingerprint: Fingerprint,
    /// Our role in the exchange.
    pub role: Role,
}

impl Verification {
    fn from(info: &SecureInfo) -> Self {
        let visual: &KeyVisual = &info.key_visual;
        Verification {
            digits: info.safety_number.display_groups(),
            emoji: info
                .safety_number
                .emoji()
                .iter()
                .map(|e| (e.symbol, e.name))
                .collect(),
            qr: info.safety_number.qr_payload().to_vec(),
            visual: visual.cells(),
            peer_fingerprint: info.peer.fingerprint(),
            role: info.role,
        }
    }
}

/// A message's delivery state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to the network thread.
    Sending,
    /// Encrypted and sent to the relay.
    Sent,
    /// The peer confirmed receipt.
    Delivered,
    /// Could not be sent.
    Failed,
}

/// One line of the conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// Local id.
    pub id: u64,
    /// Who wrote it (`None`: a system notice).
    pub sender: Option<String>,
    /// Whether we wrote it.
    pub mine: bool,
    /// The text.
    pub text: String,
    /// Local time, `HH:MM`.
    pub time: String,
    /// Delivery state (our messages only).
    pub delivery: Option<Delivery>,
    session: u64,
    seq: Option<u64>,
}

enum Job {
    Identity(Result<(Profile, IdentityKeyPair), String>),
}

/// The application state machine.
pub struct Controller {
    settings: Settings,
    /// The connect form (bound to the UI's text fields).
    pub form: ConnectForm,
    screen: Screen,
    error: Option<String>,
    notices: Vec<String>,
    profile: Option<Profile>,
    identity: Option<IdentityKeyPair>,
    trust: Option<TrustStore>,
    pending_connect: Option<(SocketAddr, Option<[u8; 32]>, RoomName)>,
    requested_room: Option<RoomName>,
    room: Option<RoomName>,
    seat: Option<u8>,
    peer_name: Option<String>,
    verification: Option<Verification>,
    trust_state: Option<Trust>,
    messages: Vec<ChatLine>,
    /// The message being typed.
    pub draft: String,
    next_id: u64,
    session: u64,
    local_relay: bool,
    net: NetHandle,
    jobs_tx: Sender<Job>,
    jobs_rx: Receiver<Job>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Controller {
    /// A controller with its network thread; `wake` is called when something changed.
    pub fn new(settings: Settings, wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<Self> {
        let net = NetHandle::spawn(wake.clone())?;
        let (jobs_tx, jobs_rx) = channel();
        Ok(Controller {
            form: settings.form.clone(),
            settings,
            screen: Screen::Connect,
            error: None,
            notices: Vec::new(),
            profile: None,
            identity: None,
            trust: None,
            pending_connect: None,
            requested_room: None,
            room: None,
            seat: None,
            peer_name: None,
            verification: None,
            trust_state: None,
            messages: Vec::new(),
            draft: String::new(),
            next_id: 1,
            session: 0,
            local_relay: false,
            net,
            jobs_tx,
            jobs_rx,
            wake,
        })
    }

    // ---- what the UI shows --------------------------------------------------------------------

    /// The current screen.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The last error, in words for the user.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Notices (redirects and the like), newest last.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The room we are in (after any redirect).
    pub fn room(&self) -> Option<&str> {
        self.room.as_ref().map(RoomName::as_str)
    }

    /// The peer's display name, if it told us.
    pub fn peer_name(&self) -> Option<&str> {
        self.peer_name.as_deref()
    }

    /// What to compare with the peer.
    pub fn verification(&self) -> Option<&Verification> {
        self.verification.as_ref()
    }

    /// What trust-on-first-use says about the peer.
    pub fn trust(&self) -> Option<&Trust> {
        self.trust_state.as_ref()
    }

    /// The conversation.
    pub fn messages(&self) -> &[ChatLine] {
        &self.messages
    }

    /// Our identity's fingerprint, once unlocked.
    pub fn own_fingerprint(&self) -> Option<Fingerprint> {
        self.identity.as_ref().map(IdentityKeyPair::fingerprint)
    }

    /// Whether a relay runs inside this window.
    pub fn hosts_local_relay(&self) -> bool {
        self.local_relay
    }

    /// Whether an identity file exists for the typed display name (the form then asks for the
    /// passphrase once; otherwise twice, to create one).
    pub fn identity_exists(&self) -> bool {
        let name = self.form.display_name.trim();
        !name.is_empty() && self.profile_dir_identity(name).exists()
    }

    fn profile_dir_identity(&self, name: &str) -> PathBuf {
        let dir: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.settings
            .data_dir
            .join("profiles")
            .join(dir)
            .join("identity.e2eid")
    }

    /// Whether sending is allowed: a secure session, and no unaccepted identity change.
    pub fn can_send(&self) -> bool {
        self.screen == Screen::Secure && !matches!(self.trust_state, Some(Trust::Changed { .. }))
    }

    // ---- commands -----------------------------------------------------------------------------

    /// Validates the form and starts: unlock (or create) the identity off the UI thread, then
    /// connect.
    pub fn connect(&mut self) {
        self.error = None;
        match self.validate() {
            Ok(target) => self.pending_connect = Some(target),
            Err(message) => {
                self.error = Some(message);
                return;
            }
        }
        if self.identity.is_some()
            && self
                .profile
                .as_ref()
                .is_some_and(|p| p.name() == self.form.display_name.trim())
        {
            return self.start_connection();
        }
        self.profile = None;
        self.identity = None;
        let creating = !self.identity_exists();
        if creating && self.form.passphrase != self.form.passphrase_repeat {
            self.error = Some("The two passphrases differ.".into());
            return;
        }
        let profile = match Profile::open(&self.settings.data_dir, &self.form.display_name) {
            Ok(p) => p,
            Err(e @ (ProfileError::BadName | ProfileError::InUse(_) | ProfileError::Io { .. })) => {
                self.error = Some(e.to_string());
                return;
            }
        };
        self.screen = Screen::Busy(if creating {
            "Creating your identity (RSA-2048 key generation)…".into()
        } else {
            "Unlocking your identity…".into()
        });
        let passphrase = zeroize::Zeroizing::new(self.form.passphrase.clone());
        let argon2 = self.settings.argon2;
        let tx = self.jobs_tx.clone();
        let wake = self.wake.clone();
        std::thread::spawn(move || {
            let path = profile.identity_path();
            let result = if creating {
                identity_store::create(&path, &passphrase, argon2)
            } else {
                identity_store::load(&path, &passphrase, argon2)
            };
            let _ = tx.send(Job::Identity(
                // The storage key is for the profile's encrypted storage (PROTOCOL.md §9.1), which
                // does not exist yet.
                result
                    .map(|(id, _storage_key)| (profile, id))
                    .map_err(|e| describe_identity_error(&e)),
            ));
            wake();
        });
    }

    fn validate(&self) -> Result<(SocketAddr, Option<[u8; 32]>, RoomName), String> {
        let f = &self.form;
        if f.display_name.trim().is_empty() {
            return Err("Enter a display name.".into());
        }
        if f.passphrase.is_empty() {
            return Err(
                "Enter your passphrase (it protects your identity key on this computer).".into(),
            );
        }
        let room = RoomName::new(f.room.trim()).map_err(|_| {
            "Enter a room name: 1 to 64 letters, digits, '.', '_' or '-' (share it with your peer).".to_string()
        })?;
        let relay = f.relay.trim();
        let relay = if relay.is_empty() {
            crate::DEFAULT_RELAY
        } else {
            relay
        };
        let addr = relay
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| {
                format!(
                    "\"{relay}\" is not a relay address: use host:port, e.g. {}",
                    crate::DEFAULT_RELAY
                )
            })?;
        let pin = match f.pin.trim() {
            "" => None,
            p => Some(
                quic_relay::cert::parse_fingerprint(p)
                    .map_err(|e| format!("Certificate pin: {e}."))?,
            ),
        };
        if pin.is_none() && !addr.ip().is_loopback() {
            return Err(
                "Enter the relay's certificate pin (a remote relay prints it when it starts)."
                    .into(),
            );
        }
        Ok((addr, pin, room))
    }

    fn start_connection(&mut self) {
        let (Some((addr, pin, room)), Some(identity)) =
            (self.pending_connect.take(), self.identity.clone())
        else {
            return;
        };
        self.requested_room = Some(room.clone());
        self.screen = Screen::Busy(format!("Connecting to the relay at {addr}…"));
        self.net.send(NetCommand::Connect(Box::new(ConnectParams {
            relay: addr,
            pin,
            room,
            identity,
            display_name: self.form.display_name.trim().to_owned(),
            start_local_relay: self.settings.start_local_relay,
            relay_cert_dir: self.settings.relay_cert_dir.clone(),
        })));
    }

    /// Sends the draft (Enter in the input box).
    pub fn send_draft(&mut self) {
        let text = self.draft.trim_end().to_owned();
        if text.trim().is_empty() {
            return;
        }
        if !self.can_send() {
            self.error = Some(if matches!(self.trust_state, Some(Trust::Changed { .. })) {
                "Your peer's identity changed. Compare the safety number and accept it before sending.".into()
            } else {
                "Not connected securely yet.".into()
            });
            return;
        }
        if text.len() > sans_io_proto::session::MAX_TEXT_LEN {
            self.error = Some(format!(
                "That message is too long ({} bytes, the limit is 16 KiB).",
                text.len()
            ));
            return;
        }
        self.draft.clear();
        self.error = None;
        let id = self.push_line(
            Some(self.form.display_name.trim().to_owned()),
            true,
            text.clone(),
            Some(Delivery::Sending),
        );
        self.net.send(NetCommand::Send { local_id: id, text });
    }

    /// The user compared the safety number with the peer and it matched.
    pub fn mark_verified(&mut self) {
        self.record_trust(
            TrustStore::mark_verified,
            Trust::Verified,
            "You marked this contact as verified.",
        );
    }

    /// Accepts a changed identity (after comparing the new safety number).
    pub fn accept_new_identity(&mut self) {
        self.record_trust(
            TrustStore::accept,
            Trust::Known,
            "You accepted the new identity of your peer.",
        );
    }

    /// Stores the user's trust decision about the current peer in this room (nothing happens
    /// before a peer's identity is known).
    fn record_trust(
        &mut self,
        store: fn(&mut TrustStore, &str, Fingerprint),
        state: Trust,
        line: &str,
    ) {
        let (Some(room), Some(v), Some(trust)) = (
            self.requested_room.clone(),
            self.verification.clone(),
            self.trust.as_mut(),
        ) else {
            return;
        };
        store(trust, room.as_str(), v.peer_fingerprint);
        self.trust_state = Some(state);
        self.system_line(line.into());
    }

    /// Leaves and disconnects; back to the connect form.
    pub fn disconnect(&mut self) {
        self.net.send(NetCommand::Disconnect);
        self.reset_session();
        self.screen = Screen::Connect;
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// Folds in everything that happened in the background. Call every frame (and in tests).
    pub fn poll(&mut self) {
        while let Ok(job) = self.jobs_rx.try_recv() {
            match job {
                Job::Identity(Ok((profile, identity))) => {
                    self.trust = Some(TrustStore::load(Some(profile.trust_path())));
                    self.profile = Some(profile);
                    self.identity = Some(identity);
                    self.form.passphrase.clear();
                    self.form.passphrase_repeat.clear();
                    self.start_connection();
                }
                Job::Identity(Err(message)) => {
                    self.profile = None;
                    self.screen = Screen::Connect;
                    self.error = Some(message);
                }
            }
        }
        while let Some(event) = self.net.try_recv() {
            self.on_net_event(event);
        }
    }

    fn on_net_event(&mut self, event: NetEvent) {
        match event {
            NetEvent::Connecting => {
                if !matches!(self.screen, Screen::RelayLost { .. }) {
                    self.screen = Screen::Busy("Connecting to the relay…".into());
                }
            }
            NetEvent::Connected { local_relay, .. } => {
                self.local_relay = local_relay;
                self.error = None;
                self.screen = Screen::Busy("Joining the room…".into());
            }
            NetEvent::ConnectFailed {
                reason,
                retrying_in,
            } => match retrying_in {
                Some(_) if self.room.is_some() => {
                    self.screen = Screen::RelayLost {
                        reason,
                        retrying_in,
                    }
                }
                _ => {
                    self.screen = Screen::Connect;
                    self.error = Some(reason);
                    self.net.send(NetCommand::Disconnect);
                }
            },
            NetEvent::RelayLost {
                reason,
                retrying_in,
            } => {
                self.reset_peer();
                self.system_line(format!("Lost the relay ({reason}); reconnecting…"));
                self.screen = Screen::RelayLost {
                    reason,
                    retrying_in: Some(retrying_in),
                };
            }
            NetEvent::Disconnected => {}
            NetEvent::Sent { local_id, seq } => {
                if let Some(line) = self.messages.iter_mut().find(|l| l.id == local_id) {
                    line.delivery = Some(Delivery::Sent);
                    line.seq = Some(seq);
                    line.session = self.session;
                }
            }
            NetEvent::SendFailed { local_id, reason } => {
                if let Some(line) = self.messages.iter_mut().find(|l| l.id == local_id) {
                    line.delivery = Some(Delivery::Failed);
                }
                self.error = Some(format!("Could not send: {reason}"));
            }
            NetEvent::Protocol(event) => self.on_protocol_event(event),
        }
    }

    fn on_protocol_event(&mut self, event: Event) {
        match event {
            Event::Joined { room, seat } => {
                self.room = Some(room);
                self.seat = Some(seat);
            }
            Event::Redirected { from, to } => {
                self.notices.push(format!(
                    "Room \"{from}\" was full, you are in room \"{to}\": tell your peer to join \"{to}\"."
                ));
            }
            Event::WaitingForPeer => {
                self.reset_peer();
                self.screen = Screen::Waiting;
            }
            Event::KeyExchangeStarted => {
                self.reset_peer();
                self.screen = Screen::ExchangingKeys;
            }
            Event::Secure(info) => self.on_secure(&info),
            Event::KeyExchangeFailed { error } => {
                self.screen = Screen::ExchangingKeys;
                self.system_line(format!("Key exchange failed ({error}); retrying."));
            }
            Event::Message {
                text, sent_at_ms, ..
            } => {
                let sender = self.peer_name.clone().unwrap_or_else(|| "Peer".into());
                let id = self.push_line(Some(sender), false, text, None);
                if sent_at_ms > 0
                    && let Some(line) = self.messages.iter_mut().find(|l| l.id == id)
                {
                    line.time = format_time(Some(sent_at_ms));
                }
            }
            Event::Delivered { seq } => {
                let session = self.session;
                if let Some(line) = self
                    .messages
                    .iter_mut()
                    .find(|l| l.mine && l.session == session && l.seq == Some(seq))
                {
                    line.delivery = Some(Delivery::Delivered);
                }
            }
            Event::PeerName { name } => {
                // Display only; the identity is what counts. Control characters are dropped.
                let clean: String = name.chars().filter(|c| !c.is_control()).take(32).collect();
                self.peer_name = Some(clean);
            }
            Event::PeerLeft => {
                self.system_line("Your peer left.".into());
                self.reset_peer();
                self.screen = Screen::Waiting;
            }
            Event::Rejected { error } => {
                if !error.is_duplicate() {
                    self.system_line(
                        "A message failed its integrity check and was discarded.".into(),
                    );
                }
            }
            Event::RelayError { code, message } => {
                if code != ErrorCode::NotInRoom {
                    let clean: String = message
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(200)
                        .collect();
                    self.error = Some(format!("The relay reported: {clean} ({code:?})"));
                }
            }
            Event::RelayProtocolViolation { reason } => {
                self.error = Some(format!(
                    "The relay sent invalid data ({reason}); reconnecting."
                ));
            }
        }
    }

    fn on_secure(&mut self, info: &SecureInfo) {
        self.session += 1;
        let v = Verification::from(info);
        let trust = match (self.requested_room.as_ref(), self.trust.as_mut()) {
            (Some(room), Some(store)) => store.observe(room.as_str(), v.peer_fingerprint),
            _ => Trust::FirstSeen,
        };
        match &trust {
            Trust::Changed { .. } => self.system_line(
                "WARNING: this peer's identity key is DIFFERENT from the one you met in this room before. \
                 It may be someone else. Compare the safety number before you send anything."
                    .into(),
            ),
            Trust::FirstSeen => self.system_line("Secure session established with a new contact. Compare the safety number.".into()),
            Trust::Known | Trust::Verified => self.system_line("Secure session established.".into()),
        }
        self.trust_state = Some(trust);
        self.verification = Some(v);
        self.screen = Screen::Secure;
    }

    fn reset_peer(&mut self) {
        self.verification = None;
        self.trust_state = None;
        self.peer_name = None;
    }

    fn reset_session(&mut self) {
        self.reset_peer();
        self.room = None;
        self.seat = None;
        self.requested_room = None;
    }

    fn push_line(
        &mut self,
        sender: Option<String>,
        mine: bool,
        text: String,
        delivery: Option<Delivery>,
    ) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.messages.push(ChatLine {
            id,
            sender,
            mine,
            text,
            time: format_time(None),
            delivery,
            session: self.session,
            seq: None,
        });
        id
    }

    fn system_line(&mut self, text: String) {
        self.push_line(None, false, text, None);
    }

    /// The text shown while alone in a room.
    pub fn waiting_text(&self) -> &'static str {
        WAITING_TEXT
    }
}

fn describe_identity_error(e: &IdentityStoreError) -> String {
    match e {
        IdentityStoreError::File(
            sans_io_proto::identity_file::IdentityFileError::WrongPassphraseOrDamaged,
        ) => "Wrong passphrase (or the identity file is damaged).".into(),
        other => other.to_string(),
    }
}

/// `HH:MM` in local time, for a Unix time in ms (or now).
fn format_time(unix_ms: Option<u64>) -> String {
    use chrono::{Local, TimeZone};
    let t = match unix_ms.and_then(|ms| Local.timestamp_millis_opt(ms as i64).single()) {
        Some(t) => t,
        None => Local::now(),
    };
    t.format("%H:%M").to_string()
}
