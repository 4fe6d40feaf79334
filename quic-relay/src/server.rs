//! The QUIC server around [`RelayCore`]: one task per connection reads its stream into a
//! `FrameDecoder` and feeds the core; one writer task per connection drains a bounded queue (a
//! reader too slow to keep up is disconnected rather than allowed to grow the relay's memory); a
//! timer task drives idle timeouts. Embeddable: no global state, no signal handling, no exit.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sans_io_proto::frame::{ClientFrame, ErrorCode, FrameDecoder, RelayFrame};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::cert::{self, CertError, RelayCert};
use crate::core::{ConnId, Limits, RelayCore, RelayOutput, Stats};

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address and port to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where the certificate lives; `None` uses a fresh in-memory certificate (tests).
    pub cert_dir: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Frames queued per connection before a slow reader is disconnected.
    pub queue_len: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], crate::DEFAULT_PORT)),
            cert_dir: cert::default_cert_dir(),
            limits: Limits::default(),
            queue_len: 1024,
        }
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// Certificate problems.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// TLS configuration problems (e.g. an unusable key).
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// The socket could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

enum Outbound {
    Frame(Vec<u8>),
    Close(ErrorCode),
}

struct State {
    core: RelayCore,
    queues: HashMap<ConnId, mpsc::Sender<Outbound>>,
}

struct Shared {
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug; keep serving with the state as it is.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl State {
    /// Routes the core's outputs to the connections' queues. A full queue means a reader that
    /// does not keep up: it is disconnected (and the core told), never buffered without bound.
    fn dispatch(&mut self) {
        loop {
            let mut slow = Vec::new();
            while let Some(out) = self.core.poll_output() {
                match out {
                    RelayOutput::Send { to, frame } => {
                        log_frame(to, &frame);
                        if let Some(q) = self.queues.get(&to)
                            && q.try_send(Outbound::Frame(frame.to_bytes())).is_err()
                        {
                            slow.push(to);
                        }
                    }
                    RelayOutput::Close { conn, code } => {
                        info!(conn = conn.0, ?code, "closing connection");
                        if let Some(q) = self.queues.remove(&conn) {
                            let _ = q.try_send(Outbound::Close(code));
                        }
                    }
                }
            }
            if slow.is_empty() {
                return;
            }
            for conn in slow {
                warn!(
                    conn = conn.0,
                    "outbound queue full: disconnecting a slow reader"
                );
                // Dropping the queue's sender ends the writer task, which closes the connection;
                // the core then tells the peer (more outputs: hence the loop).
                self.queues.remove(&conn);
                self.core.handle_disconnect(conn);
            }
        }
    }
}

fn log_frame(to: ConnId, frame: &RelayFrame) {
    match frame {
        RelayFrame::Joined { room, seat } => info!(conn = to.0, %room, seat, "joined"),
        RelayFrame::Redirected { from, to: target } => {
            info!(conn = to.0, %from, to = %target, "redirected (room full)")
        }
        RelayFrame::PeerLeft => info!(conn = to.0, "peer left"),
        RelayFrame::Error { code, message } => warn!(conn = to.0, ?code, %message, "error sent"),
        // Never log payload contents.
        RelayFrame::Payload(_) | RelayFrame::Pong(_) => {}
        other => debug!(conn = to.0, frame = ?other, "frame"),
    }
}

/// Checks that a certificate and key can serve TLS.
pub fn check_cert(cert: &RelayCert) -> Result<(), RelayError> {
    server_crypto(cert).map(|_| ())
}

fn server_crypto(cert: &RelayCert) -> Result<quinn::crypto::rustls::QuicServerConfig, RelayError> {
    let tls_err = |e: rustls::Error| RelayError::Tls(e.to_string());
    let chain = vec![rustls::pki_types::CertificateDer::from(
        cert.cert_der.clone(),
    )];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        cert.key_der.to_vec(),
    ));
    let mut tls = rustls::ServerConfig::builder_with_provider(crate::pin::provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err)?;
    tls.alpn_protocols = vec![crate::ALPN.to_vec()];
    // No session resumption: clients reconnect rarely, and resumption state costs memory for
    // every connection (the load benchmark's idle-connections figure).
    tls.send_tls13_tickets = 0;
    tls.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| RelayError::Tls(e.to_string()))
}

/// A running relay.
pub struct RelayHandle {
    local_addr: SocketAddr,
    fingerprint: [u8; 32],
    shared: Arc<Shared>,
    endpoint: quinn::Endpoint,
    shutdown: watch::Sender<bool>,
    accept_task: tokio::task::JoinHandle<()>,
}

/// The relay server.
pub struct Relay;

impl Relay {
    /// Starts a relay on the current tokio runtime.
    pub async fn bind(config: RelayConfig) -> Result<RelayHandle, RelayError> {
        let cert = match &config.cert_dir {
            Some(dir) => cert::load_or_create(dir)?,
            None => RelayCert::generate()?,
        };
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto(&cert)?));
        let mut transport = quinn::TransportConfig::default();
        // QUIC's own idle timeout backs up the relay's application-level one.
        let quic_idle = (config.limits.idle_timeout * 2).max(Duration::from_secs(5));
        transport.max_idle_timeout(quic_idle.try_into().ok());
        transport.max_concurrent_bidi_streams(1u32.into());
        transport.max_concurrent_uni_streams(0u32.into());
        // Per-connection memory: no QUIC unreliable datagrams are used, and one stream of frames
        // never needs more than a few maximal frames in flight.
        transport.datagram_receive_buffer_size(None);
        transport.datagram_send_buffer_size(0);
        transport.stream_receive_window((4 * 65_542u32).into());
        transport.receive_window((4 * 65_542u32).into());
        transport.send_window(4 * 65_542);
        server.transport_config(Arc::new(transport));
        let bind_err = |source| RelayError::Bind {
            addr: config.listen,
            source,
        };
        let socket = crate::socket::bind_udp(config.listen).map_err(bind_err)?;
        let runtime = quinn::default_runtime()
            .ok_or_else(|| bind_err(std::io::Error::other("no async runtime for quinn")))?;
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            runtime,
        )
        .map_err(bind_err)?;
        let local_addr = endpoint.local_addr().map_err(|source| RelayError::Bind {
            addr: config.listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                core: RelayCore::new(config.limits.clone()),
                queues: HashMap::new(),
            }),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        tokio::spawn(timer(shared.clone(), shutdown_rx.clone()));
        let accept_task = tokio::spawn(accept_loop(
            endpoint.clone(),
            shared.clone(),
            config.queue_len,
            shutdown_rx,
        ));
        info!(%local_addr, pin = %cert::fingerprint_hex(&cert.fingerprint()), "relay listening");
        Ok(RelayHandle {
            local_addr,
            fingerprint: cert.fingerprint(),
            shared,
            endpoint,
            shutdown,
            accept_task,
        })
    }
}

impl RelayHandle {
    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The certificate's SHA-256 fingerprint (the pin).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        self.shared.lock().core.stats()
    }

    /// Stops accepting, tells every client `ShuttingDown`, closes and drains (at most ~2 s).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        {
            let mut state = self.shared.lock();
            state.core.shutdown();
            state.dispatch();
        }
        // Give writers a moment to flush the ShuttingDown frames.
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.endpoint.close(0u32.into(), b"relay shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(2), self.endpoint.wait_idle()).await;
        self.accept_task.abort();
    }
}

async fn timer(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let mut state = shared.lock();
                state.core.handle_timeout(Instant::now());
                state.dispatch();
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn accept_loop(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    queue_len: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            incoming = endpoint.accept() => {
                let Some(incoming) = incoming else { return };
                tokio::spawn(serve_connection(incoming, shared.clone(), queue_len));
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// How long a new connection may take to open its stream.
const STREAM_TIMEOUT: Duration = Duration::from_secs(10);

async fn serve_connection(incoming: quinn::Incoming, shared: Arc<Shared>, queue_len: usize) {
    let connection = match incoming.await {
        Ok(c) => c,
        Err(e) => return debug!(error = %e, "handshake failed"),
    };
    let (mut send, mut recv) =
        match tokio::time::timeout(STREAM_TIMEOUT, connection.accept_bi()).await {
            Ok(Ok(streams)) => streams,
            _ => {
                connection.close(ErrorCode::IdleTimeout.to_u16().into(), b"no stream opened");
                return;
            }
        };
    let (tx, rx) = mpsc::channel(queue_len.max(1));
    let registered = {
        let mut state = shared.lock();
        let result = state.core.handle_connect(Instant::now());
        if let Ok(id) = result {
            state.queues.insert(id, tx);
        }
        result
    };
    let Ok(id) = registered else {
        let frame = RelayFrame::Error {
            code: ErrorCode::ServerFull,
            message: "the relay is full".into(),
        };
        let _ = send.write_all(&frame.to_bytes()).await;
        let _ = send.finish();
        connection.close(ErrorCode::ServerFull.to_u16().into(), b"full");
        return;
    };
    debug!(conn = id.0, remote = %connection.remote_address(), "connected");
    let writer = tokio::spawn(write_loop(send, rx, connection.clone()));

    let mut decoder = FrameDecoder::<ClientFrame>::new();
    loop {
        let chunk = match recv.read_chunk(64 * 1024, true).await {
            Ok(Some(chunk)) => chunk,
            Ok(None) | Err(_) => break,
        };
        decoder.push(&chunk.bytes);
        let mut state = shared.lock();
        let broken = loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => state.core.handle_frame(id, frame, Instant::now()),
                Ok(None) => break false,
                Err(e) => {
                    state.core.handle_decode_error(id, &e);
                    break true;
                }
            }
        };
        state.dispatch();
        if broken || !state.queues.contains_key(&id) {
            break;
        }
    }
    {
        let mut state = shared.lock();
        state.core.handle_disconnect(id);
        state.queues.remove(&id);
        state.dispatch();
    }
    let _ = writer.await;
    debug!(conn = id.0, "disconnected");
}

async fn write_loop(
    mut send: quinn::SendStream,
    mut rx: mpsc::Receiver<Outbound>,
    connection: quinn::Connection,
) {
    while let Some(out) = rx.recv().await {
        match out {
            Outbound::Frame(bytes) => {
                if send.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            Outbound::Close(code) => {
                let _ = send.finish();
                // Let the final Error frame reach the client before the connection closes.
                let _ = tokio::time::timeout(Duration::from_millis(500), send.stopped()).await;
                connection.close(code.to_u16().into(), b"closed by relay");
                return;
            }
        }
    }
    connection.close(0u32.into(), b"closed by relay");
}
