//! The relay's QUIC driver: quinn-proto's sans-IO endpoint and connections driven by the relay's
//! own tasks, with one allocation-free mailbox per connection instead of quinn's channel.
//!
//! quinn's high-level driver gives every connection an unbounded tokio channel for the datagrams
//! its endpoint routes to it. Each such channel holds a block of 32 events (6.7 KB) from its
//! first datagram, and once keep-alives have cycled through the first block a second one stays
//! for reuse: 6.7 to 13.4 KB per connection, which is what kept 10,000 idle connections above
//! 300 MB (BENCHMARKS.md, relay memory). Here:
//!
//! - [`run_endpoint`], one task, owns the socket's receive side and the [`proto::Endpoint`]: it
//!   routes each datagram to its connection's [`Mailbox`], answers stateless packets, admits or
//!   refuses new connections, and applies the connections' endpoint events (new connection IDs,
//!   retirement, the end of a connection), which reach it through one shared channel.
//! - [`QuicConn`] is one connection, owned by that connection's task (no lock, no second task):
//!   the task feeds it what its mailbox holds and its timer, reads and writes the one stream
//!   directly, and sends the resulting datagrams itself on the shared socket.
//!
//! Everything quinn-proto asks of its driver is done here: every `ConnectionEvent` is handed to
//! its connection, every `EndpointEvent` to the endpoint, `poll_transmit` is drained after every
//! input, `handle_timeout` is called when `poll_timeout` is due, and a connection stays with its
//! task after it is closed until it is drained (so the peer still gets `CONNECTION_CLOSE` in
//! answer to late packets), at which point the endpoint forgets it.

use std::collections::HashMap;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use quinn::udp;
use quinn_proto as proto;
use tokio::io::Interest;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tracing::{debug, warn};

use super::Ctx;
use super::budget::Mailbox;
use super::connection;

/// Datagrams one `recvmmsg` call may bring (quinn-udp's batch).
const BATCH: usize = udp::BATCH_SIZE;
/// Receive batches handled before the endpoint task lets the connections run.
const RECV_BATCHES: usize = 4;
/// How long the endpoint waits after a receive error other than "nothing to read".
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(10);
/// Most datagrams a connection hands the kernel in one GSO send.
const MAX_SEGMENTS: usize = 10;
/// The largest UDP payload the relay takes (and announces as its `max_udp_payload_size`
/// transport parameter, RFC 9000 §18.2): an Ethernet MTU less the IPv4 and UDP headers. Longer
/// datagrams are dropped unread.
pub const MAX_DATAGRAM: usize = 1472;
/// Datagrams that may wait in one connection's mailbox for its task; more are dropped (QUIC
/// treats them as lost). A full receive window (32 KiB) of 1,200-byte packets plus their
/// acknowledgements fits. With [`MAX_DATAGRAM`] this bounds what a flood aimed at one connection
/// can make the relay hold for it (counted in [`super::STATE_ALLOWANCE`]).
pub const MAX_QUEUED_DATAGRAMS: usize = 32;

/// What a connection tells the endpoint (new connection IDs, retired ones, its end).
pub(crate) type EndpointTx = mpsc::UnboundedSender<(proto::ConnectionHandle, proto::EndpointEvent)>;

/// The relay's UDP socket, shared by the endpoint task (receiving) and the connection tasks
/// (sending).
pub(crate) struct Socket {
    io: tokio::net::UdpSocket,
    state: udp::UdpSocketState,
}

impl Socket {
    /// Wraps a bound socket (see [`crate::socket::bind_udp`]).
    pub(crate) fn new(socket: std::net::UdpSocket) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        let state = udp::UdpSocketState::new((&socket).into())?;
        Ok(Socket {
            io: tokio::net::UdpSocket::from_std(socket)?,
            state,
        })
    }

    /// Datagrams one send may carry (GSO). Asked for every send: quinn-udp drops to 1 when the
    /// kernel or the network card turns segmentation offload down (EIO, EINVAL), and a batch
    /// built for GSO after that would be lost whole, every time.
    fn segments(&self) -> usize {
        self.state.max_gso_segments().clamp(1, MAX_SEGMENTS)
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Whether the kernel may fragment what is sent (then no path MTU discovery).
    pub(crate) fn may_fragment(&self) -> bool {
        self.state.may_fragment()
    }

    fn transmit<'a>(t: &proto::Transmit, contents: &'a [u8]) -> udp::Transmit<'a> {
        udp::Transmit {
            destination: t.destination,
            ecn: t.ecn.and_then(|e| udp::EcnCodepoint::from_bits(e as u8)),
            contents,
            segment_size: t.segment_size,
            src_ip: t.src_ip,
        }
    }

    /// Sends a transmit, waiting while the kernel's send buffer is full. Other errors drop it
    /// (QUIC treats it as lost and retransmits).
    async fn send(&self, t: &proto::Transmit, contents: &[u8]) {
        let transmit = Self::transmit(t, contents);
        loop {
            match self.io.try_io(Interest::WRITABLE, || {
                self.state.send((&self.io).into(), &transmit)
            }) {
                Ok(()) => return,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.io.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => return debug!(error = %e, "UDP send failed"),
            }
        }
    }

    /// Sends a stateless answer of the endpoint now, or not at all (a full send buffer drops it:
    /// the peer retries).
    fn try_send(&self, t: &proto::Transmit, contents: &[u8]) {
        let transmit = Self::transmit(t, contents);
        let _ = self.io.try_io(Interest::WRITABLE, || {
            self.state.send((&self.io).into(), &transmit)
        });
    }
}

/// The endpoint's task: receives every datagram, routes it, admits connections. Runs until the
/// relay shuts down and its last connection is drained.
pub(crate) async fn run_endpoint(
    mut endpoint: proto::Endpoint,
    socket: Arc<Socket>,
    ctx: Arc<Ctx>,
    events_tx: EndpointTx,
    mut events: mpsc::UnboundedReceiver<(proto::ConnectionHandle, proto::EndpointEvent)>,
) {
    let mut conns: HashMap<proto::ConnectionHandle, Arc<Mailbox<proto::ConnectionEvent>>> =
        HashMap::new();
    let mut shutdown = ctx.shutdown.clone();
    let mut stopping = *shutdown.borrow_and_update();
    let mut shutdown_live = true;
    // One receive buffer per datagram slot, each big enough for a GRO batch.
    let slot = (1472 * socket.state.gro_segments()).max(65_535);
    let mut buf = vec![0u8; slot * BATCH];
    let mut metas = [udp::RecvMeta::default(); BATCH];
    let mut received: Vec<(udp::RecvMeta, BytesMut)> = Vec::new();
    let mut response = Vec::new();
    loop {
        // The relay's map and quinn-proto's own agree: a connection is in both from its accept
        // until its drained event, and in neither after.
        debug_assert_eq!(conns.len(), endpoint.open_connections());
        ctx.stats.quic_connections.store(
            endpoint.open_connections(),
            std::sync::atomic::Ordering::Relaxed,
        );
        if stopping && conns.is_empty() {
            return;
        }
        tokio::select! {
            biased;
            event = events.recv() => {
                // Never `None`: this task holds a sender.
                let Some((ch, event)) = event else { return };
                handle_endpoint_event(&mut endpoint, &mut conns, ch, event);
                while let Ok((ch, event)) = events.try_recv() {
                    handle_endpoint_event(&mut endpoint, &mut conns, ch, event);
                }
            }
            changed = shutdown.changed(), if shutdown_live => {
                shutdown_live = changed.is_ok();
                stopping |= changed.is_ok() && *shutdown.borrow();
            }
            ready = socket.io.readable() => {
                if let Err(e) = ready {
                    return warn!(error = %e, "relay socket failed");
                }
                for _ in 0..RECV_BATCHES {
                    received.clear();
                    let got = {
                        let mut chunks = buf.chunks_mut(slot);
                        let mut iovs: [IoSliceMut<'_>; BATCH] = std::array::from_fn(|_| {
                            IoSliceMut::new(chunks.next().unwrap_or_default())
                        });
                        let got = socket.io.try_io(Interest::READABLE, || {
                            socket.state.recv((&socket.io).into(), &mut iovs, &mut metas)
                        });
                        if let Ok(n) = got {
                            // Each datagram of a GRO batch is copied on its own, so a queued
                            // one holds its own bytes only, never its whole batch's.
                            for (meta, iov) in metas.iter().zip(iovs.iter()).take(n) {
                                let stride = meta.stride.max(1);
                                for datagram in iov[..meta.len].chunks(stride) {
                                    if datagram.len() <= MAX_DATAGRAM {
                                        received.push((*meta, BytesMut::from(datagram)));
                                    }
                                }
                            }
                        }
                        got
                    };
                    match got {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        // ICMP errors for earlier sends: not ours to act on (RFC 9000 §14.3 lets
                        // an attacker forge them).
                        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => continue,
                        Err(e) => {
                            // Not a transient condition the socket clears by itself: pause a
                            // little instead of spinning on a readiness that stays set.
                            warn!(error = %e, "UDP receive failed");
                            tokio::time::sleep(RECV_ERROR_PAUSE).await;
                            break;
                        }
                    }
                    let now = Instant::now();
                    for (meta, datagram) in received.drain(..) {
                        response.clear();
                        let ecn = meta.ecn.and_then(|e| proto::EcnCodepoint::from_bits(e as u8));
                        match endpoint.handle(now, meta.addr, meta.dst_ip, ecn, datagram, &mut response) {
                            Some(proto::DatagramEvent::ConnectionEvent(ch, event)) => {
                                if let Some(inbox) = conns.get(&ch) {
                                    inbox.send_within(event, MAX_QUEUED_DATAGRAMS);
                                }
                            }
                            Some(proto::DatagramEvent::NewConnection(incoming)) => {
                                if let Some((ch, inbox)) = admit(
                                    &mut endpoint, incoming, now, stopping, &ctx, &socket,
                                    &events_tx, &mut response,
                                ) {
                                    conns.insert(ch, inbox);
                                }
                            }
                            Some(proto::DatagramEvent::Response(t)) => {
                                socket.try_send(&t, &response[..t.size]);
                            }
                            None => {}
                        }
                    }
                }
                // Let the connections just handed datagrams run before reading more: on a busy
                // worker thread the endpoint would otherwise read for as long as the socket has
                // data, and every connection's answer would wait behind it (tail latency).
                tokio::task::yield_now().await;
            }
        }
    }
}

fn handle_endpoint_event(
    endpoint: &mut proto::Endpoint,
    conns: &mut HashMap<proto::ConnectionHandle, Arc<Mailbox<proto::ConnectionEvent>>>,
    ch: proto::ConnectionHandle,
    event: proto::EndpointEvent,
) {
    if event.is_drained() {
        conns.remove(&ch);
        // Give back what a spike of connections grew the map to.
        if conns.capacity() > 64 && conns.len() * 4 < conns.capacity() {
            conns.shrink_to(conns.len() * 2);
        }
    }
    if let Some(event) = endpoint.handle_event(ch, event)
        && let Some(inbox) = conns.get(&ch)
    {
        inbox.send(event);
    }
}

/// A new connection: admitted (a slot and a memory reservation, PROTOCOL.md §3.6) and given its
/// task; over a limit, accepted only to be told why (while fewer than
/// [`super::MAX_REFUSALS`] such refusals are in progress) or refused by QUIC before any
/// handshake.
#[allow(clippy::too_many_arguments)]
fn admit(
    endpoint: &mut proto::Endpoint,
    incoming: proto::Incoming,
    now: Instant,
    stopping: bool,
    ctx: &Arc<Ctx>,
    socket: &Arc<Socket>,
    events_tx: &EndpointTx,
    buf: &mut Vec<u8>,
) -> Option<(
    proto::ConnectionHandle,
    Arc<Mailbox<proto::ConnectionEvent>>,
)> {
    enum Then {
        Serve(connection::Admission),
        Refuse(&'static str, OwnedSemaphorePermit),
    }
    // Address validation under pressure (RFC 9000 §8.1.2): once half the connection slots are
    // taken, an Initial that carries no token of ours is answered with a stateless Retry, so
    // that only a client that receives at its address can take a slot (spoofed Initials would
    // otherwise hold one each until their handshake deadline).
    if !stopping && ctx.crowded() && !incoming.remote_address_validated() && incoming.may_retry() {
        match endpoint.retry(incoming, buf) {
            Ok(t) => socket.try_send(&t, &buf[..t.size]),
            Err(e) => endpoint.ignore(e.into_incoming()),
        }
        return None;
    }
    let then = if stopping {
        None
    } else {
        match ctx.admit() {
            Ok(admission) => Some(Then::Serve(admission)),
            Err(why) => ctx
                .refusals
                .clone()
                .try_acquire_owned()
                .ok()
                .map(|slot| Then::Refuse(why, slot)),
        }
    };
    let Some(then) = then else {
        debug!("refusing a connection before its handshake");
        let t = endpoint.refuse(incoming, buf);
        socket.try_send(&t, &buf[..t.size]);
        return None;
    };
    let (ch, conn) = match endpoint.accept(incoming, now, buf, None) {
        Ok(accepted) => accepted,
        Err(e) => {
            debug!(error = %e.cause, "could not accept a connection");
            if let Some(t) = e.response {
                socket.try_send(&t, &buf[..t.size]);
            }
            return None;
        }
    };
    let inbox = Arc::new(Mailbox::default());
    let quic = Box::new(QuicConn {
        handle: ch,
        conn,
        inbox: inbox.clone(),
        socket: socket.clone(),
        endpoint: events_tx.clone(),
        stream: None,
        connected: false,
        lost: false,
        send_done: false,
        forgotten: false,
    });
    match then {
        Then::Serve(admission) => {
            tokio::spawn(connection::serve(ctx.clone(), quic, admission));
        }
        Then::Refuse(why, slot) => {
            tokio::spawn(connection::refuse(quic, why, slot));
        }
    }
    Some((ch, inbox))
}

/// What reading the stream gave.
pub(crate) enum Read {
    /// Bytes of the stream, in order.
    Data(Bytes),
    /// The client finished its stream.
    Finished,
    /// Nothing to read now.
    Blocked,
    /// The stream or the connection is gone (reset, closed).
    Gone,
}

/// What writing to the stream did.
pub(crate) enum Write {
    /// QUIC took this many bytes.
    Took(usize),
    /// Flow control or the send window is full.
    Blocked,
    /// The stream or the connection is gone (the client stopped reading it, closed).
    Gone,
}

/// How waiting for the client's stream ended.
pub(crate) enum Opened {
    Yes,
    /// The handshake did not complete, or the client did not open its stream, in time.
    TimedOut,
    /// The relay is shutting down.
    Shutdown,
    /// The connection is gone.
    Lost,
}

/// How a bounded write ended.
pub(crate) enum WriteAll {
    Done,
    /// QUIC took nothing for the whole stall time.
    Stalled,
    Gone,
}

/// One connection, driven by its own task.
pub(crate) struct QuicConn {
    handle: proto::ConnectionHandle,
    conn: proto::Connection,
    inbox: Arc<Mailbox<proto::ConnectionEvent>>,
    socket: Arc<Socket>,
    endpoint: EndpointTx,
    /// The client's one bidirectional stream, once opened.
    stream: Option<proto::StreamId>,
    connected: bool,
    lost: bool,
    /// The client acknowledged everything sent on the stream, its end included.
    send_done: bool,
    /// The endpoint was told that this connection is gone.
    forgotten: bool,
}

impl QuicConn {
    pub(crate) fn remote_address(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost
    }

    /// The mailbox the endpoint puts this connection's datagrams in.
    pub(crate) fn inbox(&self) -> Arc<Mailbox<proto::ConnectionEvent>> {
        self.inbox.clone()
    }

    /// Takes what arrived and what is due: the datagrams in the mailbox, an expired QUIC timer,
    /// and the connection's events.
    pub(crate) fn handle_input(&mut self, now: Instant) {
        while let Some(event) = self.inbox.try_recv() {
            self.conn.handle_event(event);
        }
        if self.conn.poll_timeout().is_some_and(|t| t <= now) {
            self.conn.handle_timeout(now);
        }
        while let Some(event) = self.conn.poll() {
            match event {
                proto::Event::Connected => self.connected = true,
                proto::Event::ConnectionLost { reason } => {
                    debug!(remote = %self.conn.remote_address(), %reason, "connection lost");
                    self.lost = true;
                }
                proto::Event::Stream(proto::StreamEvent::Opened {
                    dir: proto::Dir::Bi,
                }) if self.stream.is_none() => {
                    self.stream = self.conn.streams().accept(proto::Dir::Bi);
                }
                proto::Event::Stream(proto::StreamEvent::Finished { id })
                    if Some(id) == self.stream =>
                {
                    self.send_done = true;
                }
                _ => {}
            }
        }
    }

    /// When the connection's own timer (loss detection, acknowledgements, keep-alive, idle
    /// timeout, draining) is next due.
    pub(crate) fn poll_timeout(&mut self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    /// Sends what the connection has to send, and tells the endpoint what it must know.
    pub(crate) async fn flush(&mut self) {
        while let Some(event) = self.conn.poll_endpoint_events() {
            self.forgotten |= event.is_drained();
            let _ = self.endpoint.send((self.handle, event));
        }
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let Some(t) = self
                .conn
                .poll_transmit(Instant::now(), self.socket.segments(), &mut buf)
            else {
                break;
            };
            self.socket.send(&t, &buf[..t.size]).await;
        }
    }

    /// Reads at most `max` bytes of the client's stream.
    pub(crate) fn read(&mut self, max: usize) -> Read {
        let Some(id) = self.stream else {
            return Read::Blocked;
        };
        let mut stream = self.conn.recv_stream(id);
        let Ok(mut chunks) = stream.read(true) else {
            return Read::Gone;
        };
        let read = match chunks.next(max) {
            Ok(Some(chunk)) if chunk.bytes.is_empty() => Read::Blocked,
            Ok(Some(chunk)) => Read::Data(chunk.bytes),
            Ok(None) => Read::Finished,
            Err(proto::ReadError::Blocked) => Read::Blocked,
            Err(proto::ReadError::Reset(_)) => Read::Gone,
        };
        // Whether to send a window update now: the next flush sends whatever is pending anyway.
        let _ = chunks.finalize();
        read
    }

    /// Writes as much of `data` to the stream as QUIC takes now.
    pub(crate) fn write(&mut self, data: &[u8]) -> Write {
        let Some(id) = self.stream else {
            return Write::Gone;
        };
        if self.lost {
            return Write::Gone;
        }
        match self.conn.send_stream(id).write(data) {
            Ok(n) => Write::Took(n),
            Err(proto::WriteError::Blocked) => Write::Blocked,
            Err(_) => Write::Gone,
        }
    }

    /// Writes all of `data`, waiting for the client as long as it keeps taking bytes: gives up
    /// when QUIC takes nothing for `stall`.
    pub(crate) async fn write_all(&mut self, mut data: &[u8], stall: Duration) -> WriteAll {
        let mut progress = Instant::now();
        while !data.is_empty() {
            match self.write(data) {
                Write::Took(n) => {
                    progress = Instant::now();
                    data = &data[n..];
                    continue;
                }
                Write::Gone => return WriteAll::Gone,
                Write::Blocked => {}
            }
            if Instant::now() >= progress + stall {
                return WriteAll::Stalled;
            }
            self.step(Some(progress + stall)).await;
        }
        WriteAll::Done
    }

    /// Ends the relay's side of the stream.
    pub(crate) fn finish(&mut self) {
        if let Some(id) = self.stream {
            let _ = self.conn.send_stream(id).finish();
        }
    }

    /// Waits (at most `linger`) until the client has acknowledged the whole stream, its end
    /// included, or the connection is gone.
    pub(crate) async fn linger(&mut self, linger: Duration) {
        let until = Instant::now() + linger;
        while !self.send_done && !self.lost && Instant::now() < until {
            self.step(Some(until)).await;
        }
    }

    /// Closes the connection with an application code (PROTOCOL.md §3.3).
    pub(crate) fn close(&mut self, code: u16, reason: &'static [u8]) {
        self.conn
            .close(Instant::now(), code.into(), Bytes::from_static(reason));
    }

    /// Waits for the client's stream: the handshake within `within` of now, then the stream
    /// within `within` of the handshake. (QUIC's idle timeout alone does not bound the handshake:
    /// a client keeps it running for ever by sending Initial packets.)
    pub(crate) async fn open_stream(
        &mut self,
        within: Duration,
        mut shutdown: Option<&mut watch::Receiver<bool>>,
    ) -> Opened {
        let mut deadline = Instant::now() + within;
        let mut connected = false;
        loop {
            let now = Instant::now();
            self.handle_input(now);
            if self.lost {
                return Opened::Lost;
            }
            if self.stream.is_some() {
                return Opened::Yes;
            }
            if self.connected && !connected {
                connected = true;
                deadline = now + within;
            }
            if now >= deadline {
                return Opened::TimedOut;
            }
            if shutdown.as_deref().is_some_and(|s| *s.borrow()) {
                return Opened::Shutdown;
            }
            self.flush().await;
            let wake = earliest(Some(deadline), self.poll_timeout());
            let inbox = self.inbox.clone();
            let mut sender_gone = false;
            let stop = async {
                match shutdown.as_deref_mut() {
                    Some(s) => sender_gone = s.changed().await.is_err(),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = std::future::poll_fn(|cx| inbox.poll_ready(cx)) => {}
                () = sleep_until(wake) => {}
                () = stop => {}
            }
            if sender_gone {
                shutdown = None;
            }
        }
    }

    /// Sends what is pending, then waits for a datagram, the connection's timer or `deadline`,
    /// and takes what came.
    pub(crate) async fn step(&mut self, deadline: Option<Instant>) {
        self.flush().await;
        let wake = earliest(deadline, self.poll_timeout());
        let inbox = self.inbox.clone();
        tokio::select! {
            () = std::future::poll_fn(|cx| inbox.poll_ready(cx)) => {}
            () = sleep_until(wake) => {}
        }
        self.handle_input(Instant::now());
    }

    /// Keeps the closed connection until QUIC is done with it (the draining period: late packets
    /// of the client are answered with the close), then lets the endpoint forget it.
    pub(crate) async fn drain(mut self: Box<Self>) {
        loop {
            self.handle_input(Instant::now());
            if !self.conn.is_closed() {
                // Lost without a close of ours (idle timeout): QUIC is already drained or drains.
                self.close(0, b"closed");
            }
            self.flush().await;
            if self.conn.is_drained() || self.forgotten {
                return;
            }
            self.step(None).await;
        }
    }
}

impl Drop for QuicConn {
    fn drop(&mut self) {
        self.inbox.close();
        if !self.forgotten {
            let _ = self
                .endpoint
                .send((self.handle, proto::EndpointEvent::drained()));
        }
    }
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
