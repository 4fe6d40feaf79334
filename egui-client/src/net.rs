//! The network thread: a tokio runtime of its own, talking to the UI through channels and waking
//! it with a callback (`egui::Context::request_repaint` in the app). It drives the sans-IO
//! [`Client`] over a [`RelayConnection`]: bytes in, `poll_output` out, `poll_timeout` as the timer.
//!
//! When the relay is this machine's default address and no pin was typed, it uses the local
//! relay's pin from its certificate file, and if no relay answers it starts one in-process (the
//! relay lives as long as this window). A lost relay is retried with exponential backoff.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use quic_relay::client::{ConnectError, RelayConnection};
use quic_relay::server::{Relay, RelayConfig, RelayHandle};
use rand::rngs::OsRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{Client, ClientConfig, Event, IdentityKeyPair, Output};
use tokio::sync::mpsc;

/// Everything needed to connect.
#[derive(Clone)]
pub struct ConnectParams {
    /// The relay.
    pub relay: SocketAddr,
    /// The relay's certificate pin; `None` means "the local relay's, found or started".
    pub pin: Option<[u8; 32]>,
    /// The room.
    pub room: RoomName,
    /// Our identity.
    pub identity: IdentityKeyPair,
    /// Our display name (sent to the peer inside the encrypted session only).
    pub display_name: String,
    /// Whether to start a relay in-process when none answers on a loopback address.
    pub start_local_relay: bool,
    /// The local relay's certificate directory (default: the user's data directory).
    pub relay_cert_dir: Option<PathBuf>,
}

impl std::fmt::Debug for ConnectParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectParams")
            .field("relay", &self.relay)
            .field("room", &self.room)
            .finish_non_exhaustive()
    }
}

/// Commands from the UI.
#[derive(Debug)]
pub enum NetCommand {
    /// Connect (replacing any current connection).
    Connect(Box<ConnectParams>),
    /// Send a chat message.
    Send {
        /// The UI's id for the line.
        local_id: u64,
        /// The text.
        text: String,
    },
    /// Close the connection and stop retrying.
    Disconnect,
}

/// Events for the UI.
#[derive(Debug)]
pub enum NetEvent {
    /// Trying to reach the relay.
    Connecting,
    /// Connected; `local_relay` says whether this window started the relay.
    Connected {
        /// The pin in use.
        pin: [u8; 32],
        /// Whether the relay runs inside this process.
        local_relay: bool,
    },
    /// Could not connect.
    ConnectFailed {
        /// What to tell the user.
        reason: String,
        /// When the next attempt happens, if any.
        retrying_in: Option<Duration>,
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
    /// A protocol event.
    Protocol(Event),
    /// A message was encrypted and sent with this sequence number.
    Sent {
        /// The UI's id.
        local_id: u64,
        /// The protocol's sequence number.
        seq: u64,
    },
    /// A message could not be sent.
    SendFailed {
        /// The UI's id.
        local_id: u64,
        /// Why.
        reason: String,
    },
}

/// The UI's handle on the network thread.
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
        // Dropping the sender closes the channel, which ends the network loop (and shuts down
        // an in-process relay, telling its clients).
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

/// How a connection ended.
enum Ended {
    /// The user asked to disconnect.
    Disconnect,
    /// The user asked for another connection.
    Replace(Box<ConnectParams>),
    /// The UI is gone.
    Shutdown,
    /// The connection failed.
    Lost(String),
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

async fn run(mut commands: mpsc::UnboundedReceiver<NetCommand>, emit: Emitter) {
    let mut local_relay: Option<RelayHandle> = None;
    let mut params: Option<Box<ConnectParams>> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        let Some(p) = params.clone() else {
            match commands.recv().await {
                None => break,
                Some(NetCommand::Connect(p)) => params = Some(p),
                Some(NetCommand::Send { local_id, .. }) => emit.emit(NetEvent::SendFailed {
                    local_id,
                    reason: "not connected".into(),
                }),
                Some(NetCommand::Disconnect) => {}
            }
            continue;
        };
        emit.emit(NetEvent::Connecting);
        let retry = match connect(&p, &mut local_relay).await {
            Ok((connection, pin)) => {
                backoff = Duration::from_secs(1);
                emit.emit(NetEvent::Connected {
                    pin,
                    local_relay: local_relay.is_some(),
                });
                match drive(connection, &p, &mut commands, &emit).await {
                    Ended::Shutdown => break,
                    Ended::Disconnect => {
                        params = None;
                        emit.emit(NetEvent::Disconnected);
                        continue;
                    }
                    Ended::Replace(next) => {
                        params = Some(next);
                        continue;
                    }
                    Ended::Lost(reason) => {
                        emit.emit(NetEvent::RelayLost {
                            reason,
                            retrying_in: backoff,
                        });
                        true
                    }
                }
            }
            Err(e) => {
                let retry = !matches!(e, ConnectError::WrongPin);
                let reason = describe(&e, &p);
                emit.emit(NetEvent::ConnectFailed {
                    reason,
                    retrying_in: retry.then_some(backoff),
                });
                retry
            }
        };
        if !retry {
            params = None;
            continue;
        }
        // Wait for the backoff, unless the user acts first.
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            cmd = commands.recv() => match cmd {
                None => break,
                Some(NetCommand::Connect(next)) => params = Some(next),
                Some(NetCommand::Disconnect) => {
                    params = None;
                    emit.emit(NetEvent::Disconnected);
                }
                Some(NetCommand::Send { local_id, .. }) => {
                    emit.emit(NetEvent::SendFailed { local_id, reason: "the relay is not reachable".into() })
                }
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    if let Some(relay) = local_relay {
        relay.shutdown().await;
    }
}

fn describe(e: &ConnectError, p: &ConnectParams) -> String {
    match e {
        ConnectError::WrongPin => format!(
            "The relay at {} presented a different certificate than the pin. Check the pin (the relay prints it at start). \
             If it is right, someone may be intercepting the connection.",
            p.relay
        ),
        ConnectError::TimedOut(addr) => {
            format!("The relay at {addr} did not answer. Is it running?")
        }
        ConnectError::Unreachable { addr, reason } => {
            format!("Could not reach the relay at {addr}: {reason}")
        }
        ConnectError::Io(e) => format!("Network error: {e}"),
    }
}

/// Connects with the given or local pin, starting a local relay when none answers.
async fn connect(
    p: &ConnectParams,
    local_relay: &mut Option<RelayHandle>,
) -> Result<(RelayConnection, [u8; 32]), ConnectError> {
    let loopback = p.relay.ip().is_loopback();
    let auto = p.pin.is_none() && loopback;
    let pin = p.pin.or_else(|| {
        if !auto {
            return None;
        }
        local_relay
            .as_ref()
            .map(|h| h.fingerprint())
            .or_else(|| quic_relay::cert::local_relay_pin(p.relay_cert_dir.as_deref()))
    });
    if let Some(pin) = pin {
        match RelayConnection::connect(p.relay, pin, CONNECT_TIMEOUT).await {
            Ok(c) => return Ok((c, pin)),
            Err(e) if !(auto && p.start_local_relay && local_relay.is_none()) => return Err(e),
            Err(_) => {} // nobody there (or a stale certificate file): start our own below
        }
    }
    if !(auto && p.start_local_relay) {
        return Err(ConnectError::Unreachable {
            addr: p.relay,
            reason: "enter the relay's certificate pin (quic-relay prints it when it starts)"
                .into(),
        });
    }
    if local_relay.is_none() {
        let config = RelayConfig {
            listen: p.relay,
            cert_dir: p
                .relay_cert_dir
                .clone()
                .or_else(quic_relay::cert::default_cert_dir),
            ..RelayConfig::default()
        };
        let handle = Relay::bind(config)
            .await
            .map_err(|e| ConnectError::Unreachable {
                addr: p.relay,
                reason: format!("no relay answered and starting one failed: {e}"),
            })?;
        tracing::info!(addr = %handle.local_addr(), "started an in-process relay");
        *local_relay = Some(handle);
    }
    let pin = local_relay
        .as_ref()
        .map(|h| h.fingerprint())
        .unwrap_or_default();
    let c = RelayConnection::connect(p.relay, pin, CONNECT_TIMEOUT).await?;
    Ok((c, pin))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs one connection until it ends.
async fn drive(
    connection: RelayConnection,
    p: &ConnectParams,
    commands: &mut mpsc::UnboundedReceiver<NetCommand>,
    emit: &Emitter,
) -> Ended {
    let (mut tx, mut rx) = connection.split();
    let config = ClientConfig {
        display_name: Some(p.display_name.clone()),
    };
    let mut client = Client::new(p.identity.clone(), config, OsRng, Instant::now());
    client.join(p.room.clone());
    loop {
        while let Some(out) = client.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    if let Err(e) = tx.send_bytes(&bytes).await {
                        return Ended::Lost(e.to_string());
                    }
                }
                Output::Event(event) => emit.emit(NetEvent::Protocol(event)),
            }
        }
        if client.is_broken() {
            tx.close();
            return Ended::Lost("the relay sent invalid data".into());
        }
        let deadline = client
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(60));
        tokio::select! {
            read = rx.recv_bytes() => match read {
                Ok(Some(bytes)) => client.handle_input(&bytes, Instant::now()),
                Ok(None) => return Ended::Lost("the relay closed the connection".into()),
                Err(e) => return Ended::Lost(e.to_string()),
            },
            cmd = commands.recv() => match cmd {
                None => {
                    tx.close();
                    return Ended::Shutdown;
                }
                Some(NetCommand::Send { local_id, text }) => match client.send_text(&text, now_ms()) {
                    Ok(seq) => emit.emit(NetEvent::Sent { local_id, seq }),
                    Err(e) => emit.emit(NetEvent::SendFailed { local_id, reason: e.to_string() }),
                },
                Some(NetCommand::Disconnect) => {
                    client.leave();
                    while let Some(Output::Transmit(bytes)) = client.poll_output() {
                        let _ = tx.send_bytes(&bytes).await;
                    }
                    tx.close();
                    return Ended::Disconnect;
                }
                Some(NetCommand::Connect(next)) => {
                    tx.close();
                    return Ended::Replace(next);
                }
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => client.handle_timeout(Instant::now()),
        }
    }
}
