//! The network driver: a thread with its own tokio runtime that runs the sans-IO
//! [`sans_io_proto::Client`] of the unlocked identity over a relay connection, and talks to the app
//! through [`NetCommand`] / [`NetEvent`], the app's own vocabulary.
//!
//! - One `Client` per unlocked identity ([`NetCommand::Open`]) for the app's lifetime: it holds the
//!   outbox, the inbox and the trust gate across connections (PROTOCOL.md §7), restored from the
//!   stored delivery states before the first connection. The mapping of its events lives in
//!   [`driver`], which has no sockets and is unit-tested.
//! - Every `Output::Persist` is stored (sealed, atomically, [`DeliveryStore`]) before the next
//!   output is handled; a state that cannot be stored drops the connection until it is.
//! - The QUIC connection is fed in as `handle_connected` / `handle_input` / `handle_disconnected`;
//!   a lost relay is reconnected with exponential backoff (1 s doubling to 30 s). How fast a dead
//!   relay is noticed is the transport's (keep-alive and idle timeout of `quic_relay::client`).
//! - Relay address ([`connect`]): a host name is looked up here (so "nonsense:4433" is reported as a
//!   name that does not resolve). With no pin on a loopback address the local relay's pin is read
//!   from its certificate file; when nobody answers, a relay is started in-process only if the app
//!   says so ([`LocalRelay::StartIfNoneAnswers`]: the default address, or the user agreed),
//!   otherwise the app is told and can ask the user.

mod connect;
pub(crate) mod driver;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quic_relay::client::{RelayConnection, RelayReceiver, RelaySender};
use quic_relay::server::RelayHandle;
use rand::rngs::OsRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{Fingerprint, IdentityKeyPair};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::app::connect::{LocalRelay, RelayAddress};
use crate::model::{MessageId, PeerSession, SendState};
use connect::ConnectFailure;
use driver::{Driver, Io, Opening};

/// Where the driver stores the protocol client's delivery states (one per contact, sealed under
/// the profile's storage key: PROTOCOL.md §7.10, §10). A write returns only once the state is on
/// disk.
pub trait DeliveryStore: Send + Sync {
    /// Stores `state` for `peer`, replacing the previous one atomically.
    fn save(&self, peer: &Fingerprint, state: &[u8]) -> Result<(), String>;
}

/// Everything needed to start the protocol client of an identity.
pub struct OpenParams {
    /// The identity.
    pub identity: IdentityKeyPair,
    /// Our display name (sent to approved peers inside the session only).
    pub display_name: String,
    /// The stored delivery states, by contact.
    pub states: Vec<(Fingerprint, Zeroizing<Vec<u8>>)>,
    /// The contacts the user accepted: approved before any connection (PROTOCOL.md §7.6).
    pub approved: Vec<Fingerprint>,
    /// Where delivery states go.
    pub store: Arc<dyn DeliveryStore>,
}

impl std::fmt::Debug for OpenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenParams")
            .field("identity", &self.identity.fingerprint())
            .field("states", &self.states.len())
            .field("approved", &self.approved.len())
            .finish_non_exhaustive()
    }
}

/// Where to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectParams {
    /// The relay.
    pub relay: RelayAddress,
    /// The relay's certificate pin; `None` means "the relay on this computer".
    pub pin: Option<[u8; 32]>,
    /// The room.
    pub room: RoomName,
    /// Whether a relay may be started in-process when none answers.
    pub local_relay: LocalRelay,
    /// The local relay's certificate directory (default: the user's data directory).
    pub relay_cert_dir: Option<PathBuf>,
}

impl ConnectParams {
    /// Whether `other` needs another connection (not just another room).
    fn other_relay(&self, other: &ConnectParams) -> bool {
        (
            &self.relay,
            &self.pin,
            &self.local_relay,
            &self.relay_cert_dir,
        ) != (
            &other.relay,
            &other.pin,
            &other.local_relay,
            &other.relay_cert_dir,
        )
    }
}

impl std::fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectParams")
            .field("relay", &self.relay)
            .field("room", &self.room)
            .field("local_relay", &self.local_relay)
            .finish_non_exhaustive()
    }
}

/// Commands from the app.
#[derive(Debug)]
pub enum NetCommand {
    /// Start the protocol client of an identity (replacing another one, and its connection).
    Open(Box<OpenParams>),
    /// Connect and join a room (another room on the same relay keeps the connection).
    Connect(Box<ConnectParams>),
    /// Queue a message for a contact; the answer is [`NetEvent::Queued`] with its id, or
    /// [`NetEvent::SendRefused`].
    Send {
        /// To whom.
        contact: Fingerprint,
        /// The app's id for it until the protocol gives it one.
        local: MessageId,
        /// The text.
        text: String,
        /// When it was written (Unix ms).
        sent_at_ms: u64,
    },
    /// The app approves this exact identity (PROTOCOL.md §7.6): what the user writes, our display
    /// name and acknowledgements may go to it.
    Approve(Fingerprint),
    /// The app recorded these shown messages (its history, or its memory when it keeps none): they
    /// are not shown again after a restart (§7.5).
    ConfirmShown {
        /// Whose.
        contact: Fingerprint,
        /// Which.
        ids: Vec<MessageId>,
    },
    /// Set the disappearing-messages timer of the conversation with this contact.
    SetTimer {
        /// With whom.
        contact: Fingerprint,
        /// Seconds (0: off).
        secs: u32,
        /// When (Unix ms).
        at_ms: u64,
    },
    /// Start key exchanges again after a suspension or a failure (§5.10).
    ResumeKeyExchanges,
    /// Leave the room, close the connection and stop retrying.
    Disconnect,
}

/// Events for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// Trying to reach the relay.
    Connecting,
    /// Connected; whether this window runs the relay.
    Connected {
        /// The relay runs in this process.
        local_relay: bool,
    },
    /// Could not connect.
    ConnectFailed {
        /// What to tell the user.
        reason: String,
        /// When the next attempt happens, if any.
        retrying_in: Option<Duration>,
        /// Nobody answered on a loopback address: the app may offer to start a relay there.
        offer_local_relay: bool,
    },
    /// The connection dropped.
    RelayLost {
        /// Why.
        reason: String,
        /// When the next attempt happens.
        retrying_in: Duration,
    },
    /// Closed on request.
    Disconnected,
    /// The relay gave us a seat in this room.
    Joined {
        /// The room (after any redirect).
        room: String,
    },
    /// The room was full; we are in another one.
    Redirected {
        /// Asked for.
        from: String,
        /// Got.
        to: String,
    },
    /// Alone in the room.
    Waiting,
    /// A peer arrived: key exchange (or resumption) running.
    KeyExchangeStarted,
    /// A key exchange ended without a session (the relay said the peer left or started over, or
    /// the connection dropped): PROTOCOL.md §5.10.
    KeyExchangeAborted {
        /// Whether our identity had been sent in it.
        identity_revealed: bool,
        /// Aborts in the last 10 minutes, this one included.
        recent: usize,
    },
    /// Too many aborted key exchanges: none is started until the user asks
    /// ([`NetCommand::ResumeKeyExchanges`]).
    KeyExchangesSuspended {
        /// Aborts in the last 10 minutes.
        recent: usize,
    },
    /// The key exchange failed.
    KeyExchangeFailed {
        /// Why (the protocol's words).
        reason: String,
        /// The peer speaks this other protocol version (1: the old app); retrying cannot help.
        peer_version: Option<u8>,
        /// Whether the client tries again by itself.
        retrying: bool,
        /// Whether our identity had been sent in it.
        identity_revealed: bool,
        /// Aborts in the last 10 minutes, this one included.
        recent: usize,
    },
    /// A secure session: who, and what to compare. If not `approved`, nothing of ours goes out
    /// before [`NetCommand::Approve`].
    Secure {
        /// What to compare.
        session: Box<PeerSession>,
        /// Whether the identity was approved already (a contact).
        approved: bool,
    },
    /// The previous session with this peer was resumed after a reconnect (same keys, same
    /// verification: §7.8).
    Resumed {
        /// The peer.
        peer: Fingerprint,
        /// Whether it is approved.
        approved: bool,
    },
    /// The peer's display name (chosen by the peer).
    PeerName {
        /// The peer.
        from: Fingerprint,
        /// The name (untrusted).
        name: String,
    },
    /// The peer left; its messages wait in the outbox.
    PeerLeft,
    /// A message from the peer, shown exactly once per protocol client (again after a restart if
    /// the app did not confirm it): record it, then [`NetCommand::ConfirmShown`].
    Message {
        /// From whom.
        from: Fingerprint,
        /// Its id.
        id: MessageId,
        /// The text (untrusted).
        text: String,
        /// The peer's clock (Unix ms; 0 if unknown).
        sent_at_ms: u64,
        /// Seconds after which it disappears (0: kept), the sender's timer.
        expire_secs: u32,
    },
    /// A message of a kind this version cannot show (acknowledged): confirm it like a message.
    Unsupported {
        /// From whom.
        from: Fingerprint,
        /// Its id.
        id: MessageId,
        /// Its content type.
        kind: u8,
    },
    /// A message we wrote is in the outbox under this id (its state follows).
    Queued {
        /// To whom.
        contact: Fingerprint,
        /// The app's id of [`NetCommand::Send`].
        local: MessageId,
        /// The protocol's id.
        id: MessageId,
    },
    /// A message we wrote was refused (too long, outbox full): it was not queued.
    SendRefused {
        /// To whom.
        contact: Fingerprint,
        /// The app's id of [`NetCommand::Send`].
        local: MessageId,
        /// Why.
        reason: String,
    },
    /// One of our messages changed state.
    MessageState {
        /// To whom.
        contact: Fingerprint,
        /// Which.
        id: MessageId,
        /// Its state.
        state: SendState,
    },
    /// The disappearing-messages timer of a conversation changed.
    TimerChanged {
        /// With whom.
        contact: Fingerprint,
        /// Seconds (0: off).
        secs: u32,
        /// Whether the peer changed it.
        by_peer: bool,
    },
    /// A timer change was refused.
    TimerRefused {
        /// With whom.
        contact: Fingerprint,
        /// Why.
        reason: String,
    },
    /// An envelope was refused (forged, corrupted, replayed).
    Rejected,
    /// The relay reported an error (untrusted text).
    RelayError(String),
    /// The relay broke the framing; reconnecting.
    RelayViolation(String),
    /// A delivery state could not be stored: the connection is dropped until it is.
    StorageFailed(String),
    /// A stored delivery state could not be restored.
    RestoreFailed {
        /// Whose.
        contact: Fingerprint,
        /// Why.
        reason: String,
    },
}

/// The app's handle on the network thread.
pub struct NetHandle {
    commands: Option<mpsc::UnboundedSender<NetCommand>>,
    events: std::sync::mpsc::Receiver<NetEvent>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NetHandle {
    /// Starts the network thread; `wake` is called after every event.
    pub fn spawn(wake: Arc<dyn Fn() + Send + Sync>) -> std::io::Result<NetHandle> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = std::sync::mpsc::channel();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("network".into())
            .spawn(move || {
                let emit = Emitter { tx: event_tx, wake };
                runtime.block_on(run(command_rx, emit));
                runtime.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(NetHandle {
            commands: Some(commands),
            events,
            thread: Some(thread),
        })
    }

    /// Sends a command (ignored if the thread is gone).
    pub fn send(&self, command: NetCommand) {
        if let Some(c) = &self.commands {
            let _ = c.send(command);
        }
    }

    /// The next event, if any.
    pub fn try_recv(&self) -> Option<NetEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for NetHandle {
    fn drop(&mut self) {
        // Dropping the sender ends the network loop (leaving the room, and shutting down an
        // in-process relay, telling its clients).
        self.commands = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Emitter {
    tx: std::sync::mpsc::Sender<NetEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Emitter {
    fn emit(&self, event: NetEvent) {
        let _ = self.tx.send(event);
        (self.wake)();
    }
}

/// The driver's outputs in the network task: frames buffered until the step ends (then written
/// in order), states stored at once, events sent to the app.
struct TaskIo<'a> {
    frames: &'a mut Vec<Vec<u8>>,
    store: Option<&'a dyn DeliveryStore>,
    emit: &'a Emitter,
}

impl Io for TaskIo<'_> {
    fn transmit(&mut self, bytes: Vec<u8>) {
        self.frames.push(bytes);
    }

    fn persist(&mut self, peer: &Fingerprint, state: &[u8]) -> Result<(), String> {
        // A blocking write on purpose: nothing else of this client may happen before it is on
        // disk (this thread only runs the driver; the runtime's workers carry on).
        match self.store {
            Some(store) => store.save(peer, state),
            None => Err("no profile storage is open".into()),
        }
    }

    fn emit(&mut self, event: NetEvent) {
        self.emit.emit(event);
    }
}

const MIN_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a closing connection stays up so QUIC can send the Leave frame and the close.
const CLOSE_GRACE: Duration = Duration::from_millis(150);

/// The open relay connection.
struct Link {
    tx: RelaySender,
    rx: RelayReceiver,
    target: ConnectParams,
}

/// A connection attempt running as its own task (so commands are handled meanwhile). It owns the
/// in-process relay while it runs and hands it back.
type Attempt = tokio::task::JoinHandle<AttemptOutcome>;

/// What a connection attempt ends with: the connection and the relay's pin, or why not; and the
/// in-process relay, handed back.
type AttemptOutcome = (
    Result<(RelayConnection, [u8; 32]), ConnectFailure>,
    Option<RelayHandle>,
);

/// The network task's state.
struct Task {
    emit: Emitter,
    driver: Option<Driver<OsRng>>,
    store: Option<Arc<dyn DeliveryStore>>,
    /// Frames the driver produced in this step.
    frames: Vec<Vec<u8>>,
    link: Option<Link>,
    /// Where to be connected (`None`: stay offline).
    target: Option<ConnectParams>,
    /// The running attempt and the target it was started for.
    attempt: Option<(Attempt, ConnectParams)>,
    local_relay: Option<RelayHandle>,
    /// When to try again.
    retry_at: Option<tokio::time::Instant>,
    backoff: Duration,
}

/// Runs the driver until the app drops its handle.
async fn run(mut commands: mpsc::UnboundedReceiver<NetCommand>, emit: Emitter) {
    let mut t = Task {
        emit,
        driver: None,
        store: None,
        frames: Vec::new(),
        link: None,
        target: None,
        attempt: None,
        local_relay: None,
        retry_at: None,
        backoff: MIN_BACKOFF,
    };
    loop {
        t.after_step().await;
        let timer = t
            .driver
            .as_ref()
            .and_then(Driver::poll_timeout)
            .map(tokio::time::Instant::from_std);
        tokio::select! {
            cmd = commands.recv() => match cmd {
                None => break,
                Some(cmd) => t.command(cmd).await,
            },
            read = recv(t.link.as_mut().map(|l| &mut l.rx)) => t.read(read),
            done = attempt_done(t.attempt.as_mut().map(|a| &mut a.0)) => t.attempt_finished(done),
            _ = sleep_until(timer) => t.with_driver(|d, now, io| d.timeout(now, io)),
            _ = sleep_until(t.retry_at) => {
                t.retry_at = None;
                t.start_attempt();
            }
        }
    }
    t.shutdown().await;
}

async fn recv(
    rx: Option<&mut RelayReceiver>,
) -> Result<Option<Vec<u8>>, quic_relay::client::RecvError> {
    match rx {
        Some(rx) => rx.recv_bytes().await,
        None => std::future::pending().await,
    }
}

async fn attempt_done(
    attempt: Option<&mut Attempt>,
) -> Result<AttemptOutcome, tokio::task::JoinError> {
    match attempt {
        Some(a) => a.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Task {
    /// Runs `f` on the driver with the task's outputs.
    fn with_driver(&mut self, f: impl FnOnce(&mut Driver<OsRng>, Instant, &mut dyn Io)) {
        let Some(driver) = self.driver.as_mut() else {
            return;
        };
        let mut io = TaskIo {
            frames: &mut self.frames,
            store: self.store.as_deref(),
            emit: &self.emit,
        };
        f(driver, Instant::now(), &mut io);
    }

    /// After every step: write the frames, and drop the connection if the relay broke the framing
    /// or a state could not be stored.
    async fn after_step(&mut self) {
        let frames = std::mem::take(&mut self.frames);
        let storage = self.driver.as_mut().and_then(Driver::take_drop_connection);
        if let Some(reason) = storage {
            self.lost(format!("your messages could not be saved ({reason})"));
            return;
        }
        if self.driver.as_ref().is_some_and(|d| d.client().is_broken()) {
            if let Some(link) = &self.link {
                link.tx.close();
            }
            self.lost("the relay sent invalid data".into());
            return;
        }
        let Some(link) = self.link.as_mut() else {
            return;
        };
        for bytes in frames {
            if let Err(e) = link.tx.send_bytes(&bytes).await {
                self.lost(e.to_string());
                return;
            }
        }
    }

    async fn command(&mut self, cmd: NetCommand) {
        match cmd {
            NetCommand::Open(p) => self.open(*p).await,
            NetCommand::Connect(p) => self.connect(*p).await,
            NetCommand::Send {
                contact,
                local,
                text,
                sent_at_ms,
            } => {
                if self.driver.is_none() {
                    self.emit.emit(NetEvent::SendRefused {
                        contact,
                        local,
                        reason: "no identity is unlocked".into(),
                    });
                }
                self.with_driver(|d, now, io| d.send(contact, local, &text, sent_at_ms, now, io));
            }
            NetCommand::Approve(fp) => self.with_driver(|d, now, io| d.approve(&fp, now, io)),
            NetCommand::ConfirmShown { contact, ids } => {
                self.with_driver(|d, now, io| d.confirm_shown(&contact, &ids, now, io));
            }
            NetCommand::SetTimer {
                contact,
                secs,
                at_ms,
            } => self.with_driver(|d, now, io| d.set_timer(&contact, secs, at_ms, now, io)),
            NetCommand::ResumeKeyExchanges => {
                self.with_driver(|d, now, io| d.resume_key_exchanges(now, io));
            }
            NetCommand::Disconnect => {
                self.target = None;
                self.retry_at = None;
                self.close_politely().await;
                self.emit.emit(NetEvent::Disconnected);
            }
        }
    }

    async fn open(&mut self, p: OpenParams) {
        // Another identity: the old one leaves its room and its client goes.
        self.close_politely().await;
        self.target = None;
        self.retry_at = None;
        self.store = Some(p.store.clone());
        let mut io = TaskIo {
            frames: &mut self.frames,
            store: self.store.as_deref(),
            emit: &self.emit,
        };
        let opening = Opening {
            identity: p.identity,
            display_name: &p.display_name,
            states: &p.states,
            approved: &p.approved,
        };
        self.driver = Some(Driver::open(opening, OsRng, Instant::now(), &mut io));
    }

    async fn connect(&mut self, p: ConnectParams) {
        if self.driver.is_none() {
            self.emit.emit(NetEvent::ConnectFailed {
                reason: "no identity is unlocked".into(),
                retrying_in: None,
                offer_local_relay: false,
            });
            return;
        }
        let room = p.room.clone();
        self.with_driver(|d, now, io| d.join(room, now, io));
        let same_link = self
            .link
            .as_ref()
            .is_some_and(|l| !l.target.other_relay(&p));
        self.target = Some(p);
        if same_link {
            return;
        }
        if let Some(link) = self.link.take() {
            link.tx.close();
            self.with_driver(|d, now, io| d.disconnected(now, io));
        }
        self.backoff = MIN_BACKOFF;
        self.retry_at = None;
        self.start_attempt();
    }

    /// Starts a connection attempt to the target, unless one runs (its result is checked against
    /// the target when it ends) or states wait to be stored.
    fn start_attempt(&mut self) {
        let Some(target) = self.target.clone() else {
            return;
        };
        if self.attempt.is_some() || self.link.is_some() {
            return;
        }
        if let Err(reason) = self.store_unsaved() {
            let retrying_in = self.next_backoff();
            self.emit.emit(NetEvent::RelayLost {
                reason: format!("your messages could not be saved ({reason})"),
                retrying_in,
            });
            return;
        }
        self.emit.emit(NetEvent::Connecting);
        let mut relay = self.local_relay.take();
        let p = target.clone();
        let handle = tokio::spawn(async move {
            let result = connect::connect(&p, &mut relay).await;
            (result, relay)
        });
        self.attempt = Some((handle, target));
    }

    /// Writes the delivery states that could not be stored before; no connection before they are.
    fn store_unsaved(&mut self) -> Result<(), String> {
        let mut result = Ok(());
        self.with_driver(|d, _, io| {
            if d.has_unsaved() {
                result = d.store_unsaved(io);
            }
        });
        result
    }

    /// Schedules the next attempt; returns its delay.
    fn next_backoff(&mut self) -> Duration {
        let delay = self.backoff;
        self.retry_at = Some(tokio::time::Instant::now() + delay);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
        delay
    }

    fn attempt_finished(&mut self, done: Result<AttemptOutcome, tokio::task::JoinError>) {
        let Some((_, started_for)) = self.attempt.take() else {
            return;
        };
        let (result, relay) = match done {
            Ok(r) => r,
            Err(e) => (
                Err(ConnectFailure {
                    reason: format!("the connection attempt failed: {e}"),
                    retry: true,
                    offer_local_relay: false,
                }),
                None,
            ),
        };
        self.local_relay = relay;
        // The app asked for another relay meanwhile, or to stay offline.
        let current = self
            .target
            .as_ref()
            .is_some_and(|t| !t.other_relay(&started_for));
        match result {
            Ok((connection, _pin)) if current => {
                let (tx, rx) = connection.split();
                // A state failed to be stored while the attempt ran: not before it is.
                if let Err(reason) = self.store_unsaved() {
                    tx.close();
                    let retrying_in = self.next_backoff();
                    self.emit.emit(NetEvent::RelayLost {
                        reason: format!("your messages could not be saved ({reason})"),
                        retrying_in,
                    });
                    return;
                }
                self.link = Some(Link {
                    tx,
                    rx,
                    target: started_for,
                });
                self.backoff = MIN_BACKOFF;
                self.emit.emit(NetEvent::Connected {
                    local_relay: self.local_relay.is_some(),
                });
                self.with_driver(|d, now, io| d.connected(now, io));
            }
            Ok((connection, _)) => {
                let (tx, _rx) = connection.split();
                tx.close();
                self.start_attempt();
            }
            Err(_) if !current => self.start_attempt(),
            Err(failure) => {
                let retrying_in = failure.retry.then(|| self.next_backoff());
                if !failure.retry {
                    self.target = None;
                }
                self.emit.emit(NetEvent::ConnectFailed {
                    reason: failure.reason,
                    retrying_in,
                    offer_local_relay: failure.offer_local_relay,
                });
            }
        }
    }

    fn read(&mut self, read: Result<Option<Vec<u8>>, quic_relay::client::RecvError>) {
        match read {
            Ok(Some(bytes)) => self.with_driver(|d, now, io| d.input(&bytes, now, io)),
            Ok(None) => self.lost("the relay closed the connection".into()),
            Err(e) => self.lost(e.to_string()),
        }
    }

    /// The connection is gone: the client hears it (its session is kept for resumption) and a
    /// new attempt is scheduled.
    fn lost(&mut self, reason: String) {
        let Some(link) = self.link.take() else {
            return;
        };
        // Dropping the link closes the QUIC connection (if it is not dead already).
        drop(link);
        self.frames.clear();
        self.with_driver(|d, now, io| d.disconnected(now, io));
        self.frames.clear();
        if self.target.is_none() {
            return;
        }
        let retrying_in = self.next_backoff();
        self.emit.emit(NetEvent::RelayLost {
            reason,
            retrying_in,
        });
    }

    /// Leaves the room and closes the connection, giving QUIC a moment to transmit both so the
    /// relay tells the peer at once instead of after its idle timeout (the window closing too).
    async fn close_politely(&mut self) {
        let Some(mut link) = self.link.take() else {
            self.with_driver(|d, now, io| d.leave(now, io));
            self.frames.clear();
            return;
        };
        self.with_driver(|d, now, io| d.leave(now, io));
        for bytes in std::mem::take(&mut self.frames) {
            if link.tx.send_bytes(&bytes).await.is_err() {
                break;
            }
        }
        link.tx.close();
        tokio::time::sleep(CLOSE_GRACE).await;
        drop(link);
        self.with_driver(|d, now, io| d.disconnected(now, io));
        self.frames.clear();
    }

    async fn shutdown(&mut self) {
        self.target = None;
        self.close_politely().await;
        if let Some((attempt, _)) = self.attempt.take()
            && let Ok((result, relay)) = attempt.await
        {
            if let Ok((connection, _)) = result {
                connection.split().0.close();
            }
            self.local_relay = relay;
        }
        if let Some(relay) = self.local_relay.take() {
            relay.shutdown().await;
        }
    }
}
