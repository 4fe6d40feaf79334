//! The QUIC server around the sans-IO core: N shard tasks own the rooms ([`crate::core::RoomShard`]
//! each, rooms spread by [`crate::core::shard_of`]); one task per connection runs its
//! [`crate::core::ConnState`] against its QUIC stream and talks to the shards through messages.
//! No lock is shared between connections. Embeddable: no global state, no signal handling, no
//! exit (the desktop client starts one in-process).
//!
//! Admission (PROTOCOL.md §3.6): a connection is counted against `max_connections` and reserves
//! [`CONN_RESERVATION`] bytes of `max_memory` the moment it is accepted, before its handshake and
//! its stream (and only while a queue's worth of memory would be left for frames). Over either bound it is refused with an `Error` frame it can read (after its
//! handshake and stream, with a short linger); beyond [`MAX_REFUSALS`] refusals in progress, at
//! the QUIC level before any handshake.

mod budget;
mod connection;
mod quic;
mod shard_worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tracing::info;

pub use budget::CONTROL_ALLOWANCE;
pub use quic::{MAX_DATAGRAM, MAX_QUEUED_DATAGRAMS};

use crate::cert::{self, CertError, RelayCert};
use crate::core::{Limits, LimitsError, RoomShard, Stats};
use crate::transport::{RECEIVE_WINDOW, SEND_WINDOW};
use connection::Admission;

/// What one idle connection costs the relay, measured: 10,000 idle connections take 21.8 KiB
/// each (QUIC and TLS state, the task, the mailboxes, the seat; BENCHMARKS.md, relay memory),
/// rounded up.
pub const IDLE_CONNECTION_STATE: usize = 22 * 1024;

/// Memory allowed for one connection's own state besides its flow-control buffers: its idle
/// state ([`IDLE_CONNECTION_STATE`]), the datagrams that may wait for its task
/// ([`quic::MAX_QUEUED_DATAGRAMS`] of at most [`quic::MAX_DATAGRAM`] bytes, each with its event),
/// and its read-ahead ([`connection::READ_AHEAD`]), rounded up.
pub const STATE_ALLOWANCE: usize = 80 * 1024;

/// Bytes of `max_memory` every connection reserves from accept to close: its state, the QUIC
/// buffers flow control lets it fill (the receive window towards the relay, the send window
/// towards the client), and its control-frame allowance. Frames in queues are charged on top.
pub const CONN_RESERVATION: usize =
    STATE_ALLOWANCE + RECEIVE_WINDOW as usize + SEND_WINDOW as usize + CONTROL_ALLOWANCE;

/// How long a closing connection waits for the client to receive its last frames (the
/// acknowledgement of the end of the stream) before the QUIC close.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// Refusals (with an `Error` frame) in progress at once; more connections over the limits are
/// refused by QUIC itself (CONNECTION_REFUSED, before the handshake).
pub const MAX_REFUSALS: usize = 64;

/// How long a refused connection may take for its handshake and stream.
pub(crate) const REFUSAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address and port to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where the certificate lives; `None` uses a fresh in-memory certificate (tests).
    pub cert_dir: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Room shards, one task each (the binary runs this many runtime threads too).
    pub workers: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], crate::DEFAULT_PORT)),
            cert_dir: cert::default_cert_dir(),
            limits: Limits::default(),
            workers: default_workers(),
        }
    }
}

/// The number of cores (1 if unknown).
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
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
    /// Limits that do not work together.
    #[error("invalid limits: {0}")]
    Limits(#[from] LimitsError),
    /// The memory bound cannot hold even one connection.
    #[error("--max-memory must be at least {0} bytes (one connection's reservation)")]
    MemoryTooSmall(usize),
    /// The socket could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// Counters shared by all tasks.
pub(crate) struct SharedStats {
    pub(crate) relayed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) redirects: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) shard_rooms: Vec<AtomicUsize>,
    /// Connections the QUIC endpoint holds (from accept until drained), set by its task.
    pub(crate) quic_connections: AtomicUsize,
}

/// What every connection task shares.
pub(crate) struct Ctx {
    pub(crate) limits: Limits,
    pub(crate) shards: Vec<mpsc::UnboundedSender<shard_worker::Request>>,
    /// The relay-wide memory budget, in bytes.
    pub(crate) memory: Arc<Semaphore>,
    /// Connection slots.
    slots: Arc<Semaphore>,
    pub(crate) refusals: Arc<Semaphore>,
    pub(crate) stats: Arc<SharedStats>,
    pub(crate) next_id: AtomicU64,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Ctx {
    fn stats(&self) -> Stats {
        let s = &self.stats;
        Stats {
            connections: self.limits.max_connections - self.slots.available_permits(),
            rooms: s
                .shard_rooms
                .iter()
                .map(|r| r.load(Ordering::Relaxed))
                .sum(),
            relayed: s.relayed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            redirects: s.redirects.load(Ordering::Relaxed),
            refused: s.refused.load(Ordering::Relaxed),
            memory: self.limits.max_memory - self.memory.available_permits(),
        }
    }

    /// Whether half the connection slots are taken: new clients must then prove their address
    /// (a QUIC Retry) before they get one.
    pub(crate) fn crowded(&self) -> bool {
        let taken = self.limits.max_connections - self.slots.available_permits();
        taken.saturating_mul(2) >= self.limits.max_connections
    }

    /// A slot and a memory reservation for a new connection, or why not.
    fn admit(&self) -> Result<Admission, &'static str> {
        let slot = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| "the relay is full (too many connections)")?;
        // Admitted only if a queue's worth of memory is left besides the reservation, so the
        // connections already in can still move frames.
        let headroom = self.limits.queue_bytes;
        let mut memory = budget::try_take(&self.memory, CONN_RESERVATION + headroom)
            .ok_or("the relay is full (memory bound reached)")?;
        drop(memory.split(headroom));
        Ok(Admission {
            _slot: slot,
            _memory: memory,
        })
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
    ctx: Arc<Ctx>,
    shutdown: watch::Sender<bool>,
    endpoint_task: tokio::task::JoinHandle<()>,
}

/// The relay server.
pub struct Relay;

impl Relay {
    /// Starts a relay on the current tokio runtime.
    pub async fn bind(config: RelayConfig) -> Result<RelayHandle, RelayError> {
        let limits = config.limits.clone();
        limits.validate()?;
        if limits.max_memory < CONN_RESERVATION {
            return Err(RelayError::MemoryTooSmall(CONN_RESERVATION));
        }
        let cert = match &config.cert_dir {
            Some(dir) => cert::load_or_create(dir)?,
            None => RelayCert::generate()?,
        };
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(server_crypto(&cert)?));
        server.transport_config(crate::transport::relay_transport());
        let bind_err = |source| RelayError::Bind {
            addr: config.listen,
            source,
        };
        let socket = crate::socket::bind_udp(config.listen)
            .and_then(quic::Socket::new)
            .map_err(bind_err)?;
        let local_addr = socket.local_addr().map_err(bind_err)?;
        let mut endpoint_config = quinn::EndpointConfig::default();
        // A valid QUIC value (at least 1,200): `ok()` only keeps the type checker content.
        endpoint_config
            .max_udp_payload_size(quic::MAX_DATAGRAM as u16)
            .ok();
        let endpoint = quinn_proto::Endpoint::new(
            Arc::new(endpoint_config),
            Some(Arc::new(server)),
            !socket.may_fragment(),
            None,
        );

        let workers = config.workers.max(1);
        let stats = Arc::new(SharedStats {
            relayed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            redirects: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            shard_rooms: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
            quic_connections: AtomicUsize::new(0),
        });
        let per_shard_rooms = limits.max_rooms.div_ceil(workers);
        let shards = (0..workers)
            .map(|index| {
                let (tx, rx) = mpsc::unbounded_channel();
                let shard = RoomShard::new(per_shard_rooms, limits.max_redirect_tries);
                tokio::spawn(shard_worker::run(index, shard, rx, stats.clone()));
                tx
            })
            .collect();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ctx = Arc::new(Ctx {
            memory: Arc::new(Semaphore::new(
                limits.max_memory.min(Semaphore::MAX_PERMITS),
            )),
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            refusals: Arc::new(Semaphore::new(MAX_REFUSALS)),
            limits,
            shards,
            stats,
            next_id: AtomicU64::new(1),
            shutdown: shutdown_rx,
        });
        let (events_tx, events) = mpsc::unbounded_channel();
        let endpoint_task = tokio::spawn(quic::run_endpoint(
            endpoint,
            Arc::new(socket),
            ctx.clone(),
            events_tx,
            events,
        ));
        info!(%local_addr, workers, pin = %cert::fingerprint_hex(&cert.fingerprint()), "relay listening");
        Ok(RelayHandle {
            local_addr,
            fingerprint: cert.fingerprint(),
            ctx,
            shutdown,
            endpoint_task,
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
        self.ctx.stats()
    }

    /// Connections the QUIC endpoint holds now: from accept until QUIC is done with them
    /// (drained), refused and closing ones included. Unlike [`Stats::connections`] (slots, given
    /// back when a connection closes), this counts what the endpoint still routes datagrams to.
    pub fn quic_connections(&self) -> usize {
        self.ctx.stats.quic_connections.load(Ordering::Relaxed)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.ctx.limits
    }

    /// Stops accepting, tells every client `ShuttingDown` (each gets its `Error` frame and the
    /// end of its stream, then the QUIC close), and waits for them (a few seconds at most).
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let deadline = tokio::time::Instant::now() + CLOSE_LINGER + Duration::from_secs(1);
        while self.ctx.stats().connections > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The endpoint task ends once every connection is drained (their closes sent).
        if tokio::time::timeout(Duration::from_secs(2), &mut self.endpoint_task)
            .await
            .is_err()
        {
            self.endpoint_task.abort();
        }
    }
}

impl Drop for RelayHandle {
    /// A relay whose handle is dropped shuts down in the background, as [`Self::shutdown`] does
    /// without waiting: its clients read `ShuttingDown`, the endpoint task ends once every
    /// connection is drained, and the port is released.
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_allowance_covers_an_idle_connection_and_its_waiting_datagrams() {
        let waiting = quic::MAX_QUEUED_DATAGRAMS
            * (quic::MAX_DATAGRAM + std::mem::size_of::<quinn_proto::ConnectionEvent>());
        let needed = IDLE_CONNECTION_STATE + waiting + connection::READ_AHEAD;
        assert!(
            needed <= STATE_ALLOWANCE,
            "{needed} bytes needed, {STATE_ALLOWANCE} allowed"
        );
    }
}
