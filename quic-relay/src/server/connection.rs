//! One connection's task: a [`ConnState`] driven by the QUIC stream, the shards' messages and the
//! clock, with back-pressure end to end (PROTOCOL.md §3.6).
//!
//! The task reads the client's stream only while it can take the next frame: the frame's memory
//! is charged to the relay-wide budget once its header is in and before its body is read, and a
//! payload is also charged to its peer's outbound queue before it is handed to the shard. When
//! either is full the task simply stops reading, the QUIC receive window closes, and the client's
//! writes block: a fast sender is slowed to the pace of its reader, nothing is dropped and nothing
//! piles up. Rate limits work the same way: a frame over its rate waits, unread.
//!
//! Writing has a deadline: if QUIC takes none of a client's pending bytes for the stall timeout
//! (the client does not read), the connection is closed with `SlowReader` at once, everything
//! queued for it is freed, and its peer is told `PeerLeft`.
//!
//! Every wait is one branch of one `select!`, so writing never waits for reading or the other
//! way round (two clients flooding each other cannot deadlock the relay).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sans_io_proto::frame::{ClientFrame, ErrorCode, FrameDecoder, RelayFrame};
use tokio::sync::OwnedSemaphorePermit;
use tracing::{debug, info, warn};

use super::budget::{Charge, ConnHandle, OutFrame, ToConn, take, try_take};
use super::quic::{Opened, QuicConn, Read, Write, WriteAll};
use super::{CLOSE_LINGER, Ctx, REFUSAL_TIMEOUT};
use crate::core::{
    Admit, ConnEvent, ConnId, ConnOutput, ConnState, PairingId, ShardCall, ShardRequest, frame_cost,
};

/// A connection's place in the relay: its slot under `--max-connections` and its memory
/// reservation, both held from accept to the end of its task.
pub(crate) struct Admission {
    pub(crate) _slot: OwnedSemaphorePermit,
    pub(crate) _memory: OwnedSemaphorePermit,
}

/// Serves one accepted connection until it ends.
pub(crate) async fn serve(ctx: Arc<Ctx>, mut quic: Box<QuicConn>, admission: Admission) {
    let mut shutdown = ctx.shutdown.clone();
    // The handshake and then the stream are each bounded by `stream_timeout`. QUIC's idle timeout
    // alone does not bound the handshake: every Initial packet restarts it, and anyone can write
    // Initial packets (their keys come from the connection ID), so a client sending a PING in an
    // Initial every few seconds would hold its slot and reservation for ever.
    let opened = match quic
        .open_stream(ctx.limits.stream_timeout, Some(&mut shutdown))
        .await
    {
        Opened::Yes => true,
        Opened::Lost => false,
        Opened::TimedOut => {
            info!(remote = %quic.remote_address(), "no stream opened in time: closing");
            close(&mut quic, Some(ErrorCode::StreamTimeout));
            false
        }
        Opened::Shutdown => {
            close(&mut quic, Some(ErrorCode::ShuttingDown));
            false
        }
    };
    if !opened {
        drop(admission);
        return quic.drain().await;
    }
    let id = ConnId(ctx.next_id.fetch_add(1, Ordering::Relaxed));
    debug!(conn = id.0, remote = %quic.remote_address(), "connected");
    let me = ConnHandle::new(id, ctx.limits.queue_bytes);
    let now = Instant::now();
    let mut driver = Box::new(Driver {
        state: ConnState::new(&ctx.limits, ctx.shards.len(), now),
        ctx,
        quic,
        me,
        decoder: FrameDecoder::new(),
        inbound: None,
        frame_charge: None,
        deferred: None,
        wake: None,
        backlog: VecDeque::new(),
        waiting: None,
        acquire: None,
        peer: None,
        writes: VecDeque::new(),
        written: 0,
        progress_at: now,
        read_finished: false,
        left_shard: false,
        end: None,
    });
    // The driver is boxed, once; `run` and `finish` borrow it (the task's future stays small).
    let end = driver.run().await;
    driver.finish(end).await;
    drop(admission);
    debug!(conn = id.0, "disconnected");
    let Driver { quic, .. } = *driver;
    quic.drain().await;
}

/// Refuses a connection so that it reads why (PROTOCOL.md §3.6): handshake, wait for its stream,
/// an `Error` frame, the end of the stream, a moment for the client to receive it, then the QUIC
/// close with the same code.
pub(crate) async fn refuse(mut quic: Box<QuicConn>, why: &'static str, slot: OwnedSemaphorePermit) {
    warn!(why, "refusing a connection");
    match quic.open_stream(REFUSAL_TIMEOUT, None).await {
        Opened::Yes => {
            let frame = RelayFrame::error(ErrorCode::ServerFull, why).to_bytes();
            if let WriteAll::Done = quic.write_all(&frame, REFUSAL_TIMEOUT).await {
                quic.finish();
                quic.linger(CLOSE_LINGER).await;
            }
        }
        Opened::Lost => {
            drop(slot);
            return quic.drain().await;
        }
        Opened::TimedOut | Opened::Shutdown => {}
    }
    quic.close(ErrorCode::ServerFull.to_u16(), why.as_bytes());
    drop(slot);
    quic.drain().await;
}

/// Closes a connection with a relay error code (0 for none) as its QUIC application code.
fn close(quic: &mut QuicConn, code: Option<ErrorCode>) {
    let (value, reason): (u16, &'static [u8]) = match code {
        None => (0, b"closed"),
        Some(ErrorCode::SlowReader) => (ErrorCode::SlowReader.to_u16(), b"not reading"),
        Some(ErrorCode::StreamTimeout) => (ErrorCode::StreamTimeout.to_u16(), b"no stream"),
        Some(c) => (c.to_u16(), b"closed by relay"),
    };
    quic.close(value, reason);
}

/// Bytes a connection may read beyond the frame it has charged (covered by its reservation,
/// [`super::STATE_ALLOWANCE`]): a few small frames per read instead of one read per header and
/// one per body.
pub(crate) const READ_AHEAD: usize = 2048;

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the task waits for memory for.
enum Waiting {
    /// The relay-wide charge for the frame whose header is in.
    Inbound,
    /// Room in the connection's own queue (and the relay's budget) for a reply.
    Reply(Vec<u8>),
    /// Room in the peer's queue for a payload (already charged to the budget).
    Forward {
        peer: ConnHandle,
        pairing: PairingId,
        bytes: Vec<u8>,
        global: OwnedSemaphorePermit,
    },
}

enum Acquired {
    One(Option<OwnedSemaphorePermit>),
    Two(Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>),
}

/// How the connection ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Write what is queued, finish the stream, let the client read it, then close with this
    /// code (none: the client finished its stream).
    Graceful(Option<ErrorCode>),
    /// Close now with this code; what is queued is dropped.
    Hard(ErrorCode),
    /// The connection is already gone.
    Lost,
}

struct Driver {
    ctx: Arc<Ctx>,
    /// Boxed: moved in and out of the task's future without copying QUIC's state around.
    quic: Box<QuicConn>,
    me: ConnHandle,
    state: ConnState,
    decoder: FrameDecoder<ClientFrame>,
    /// The relay-wide charge of the frame at the decoder's head (being read, or deferred).
    inbound: Option<OwnedSemaphorePermit>,
    /// The charge of the payload being handled, until it travels on with the payload.
    frame_charge: Option<OwnedSemaphorePermit>,
    /// A decoded frame not admitted yet (rate limit, or a shard answer pending).
    deferred: Option<ClientFrame>,
    /// When the deferred frame's tokens are back.
    wake: Option<Instant>,
    /// What the state machine asked for, in order; the next frame waits until it is done.
    backlog: VecDeque<ConnOutput>,
    waiting: Option<Waiting>,
    acquire: Option<Boxed<Acquired>>,
    peer: Option<(PairingId, ConnHandle)>,
    writes: VecDeque<OutFrame>,
    /// Bytes of `writes.front()` already taken by QUIC.
    written: usize,
    /// When QUIC last took bytes, or when the queue last became non-empty.
    progress_at: Instant,
    read_finished: bool,
    left_shard: bool,
    end: Option<End>,
}

async fn acquired(f: &mut Option<Boxed<Acquired>>) -> Acquired {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// A time far enough away to mean "never" for a timer.
fn never() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600)
}

impl Driver {
    async fn run(&mut self) -> End {
        let timer = tokio::time::sleep_until(never());
        tokio::pin!(timer);
        let mut timer_at = None;
        let mut shutdown = self.ctx.shutdown.clone();
        let mut shutdown_live = true;
        if *shutdown.borrow_and_update() {
            self.state.shutdown();
            self.collect();
        }
        let inbox = self.me.inbox.clone();
        let datagrams = self.quic.inbox();
        let mut held = false;
        loop {
            let now = Instant::now();
            self.quic.handle_input(now);
            if self.quic.is_lost() {
                return End::Lost;
            }
            // A frame that was held back and no longer is restarts the idle clock before the
            // clock is looked at.
            self.note_release(&mut held, now);
            if self.driver_deadline().is_some_and(|d| d <= now) {
                self.on_timer();
            }
            while let Some(message) = inbox.try_recv() {
                self.on_message(message);
            }
            self.read_and_write();
            if let Some(end) = self.end {
                return end;
            }
            self.note_release(&mut held, Instant::now());
            self.quic.flush().await;
            // One timer for the QUIC connection's deadlines and the driver's.
            let deadline = [self.driver_deadline(), self.quic.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            if deadline != timer_at {
                timer_at = deadline;
                let at = deadline.map_or_else(never, tokio::time::Instant::from_std);
                timer.as_mut().reset(at);
            }
            tokio::select! {
                biased;
                () = std::future::poll_fn(|cx| datagrams.poll_ready(cx)) => {}
                () = std::future::poll_fn(|cx| inbox.poll_ready(cx)) => {}
                () = &mut timer => {
                    // Handled at the top of the loop (QUIC's timer and the driver's).
                    timer_at = None;
                    timer.as_mut().reset(never());
                }
                changed = shutdown.changed(), if shutdown_live => {
                    shutdown_live = changed.is_ok();
                    if changed.is_ok() && *shutdown.borrow() {
                        self.state.shutdown();
                        self.collect();
                    }
                }
                got = acquired(&mut self.acquire), if self.acquire.is_some() => {
                    self.acquire = None;
                    self.on_acquired(got);
                }
            }
        }
    }

    /// Tells the state machine when the relay stops holding the client's next frame back.
    fn note_release(&mut self, held: &mut bool, now: Instant) {
        if *held && !self.holding_back() {
            self.state.handle_released(now);
        }
        *held = self.holding_back();
    }

    /// Reads the client's stream while the next frame can be taken, and writes what is queued
    /// while QUIC takes it.
    fn read_and_write(&mut self) {
        loop {
            self.advance();
            if !self.can_read() {
                break;
            }
            match self.quic.read(self.read_size()) {
                Read::Data(bytes) => self.decoder.push(&bytes),
                Read::Finished => self.read_finished = true,
                Read::Blocked => break,
                Read::Gone => {
                    self.end = Some(End::Lost);
                    return;
                }
            }
        }
        while let Some(front) = self.writes.front() {
            match self.quic.write(&front.bytes[self.written..]) {
                Write::Took(n) => self.on_written(n),
                Write::Blocked => break,
                Write::Gone => {
                    self.end = Some(End::Lost);
                    return;
                }
            }
        }
    }

    // ---- the synchronous part: everything that needs no waiting ------------------------------

    /// Does all that can be done now: the backlog in order, then the next frames.
    fn advance(&mut self) {
        loop {
            if self.end.is_some() || self.waiting.is_some() {
                return;
            }
            if let Some(out) = self.backlog.pop_front() {
                self.process(out);
                continue;
            }
            // The handled frame is done with: its charge, if it did not travel on, is released.
            self.frame_charge = None;
            if self.state.is_closed() {
                return;
            }
            let now = Instant::now();
            if self.wake.is_some_and(|t| now < t) {
                return;
            }
            self.wake = None;
            let frame = match self.deferred.take() {
                Some(frame) => frame,
                None => match self.next_frame() {
                    Some(frame) => frame,
                    None if !self.backlog.is_empty() => continue, // a decode error to report
                    None => {
                        if self.read_finished && self.waiting.is_none() {
                            // The client finished its stream: it is leaving (a partial frame
                            // at the end is discarded).
                            self.begin_close(None);
                        }
                        return;
                    }
                },
            };
            match self.state.admit(&frame, now) {
                Admit::Now => {
                    // Only a payload's charge travels on (to the peer's queue).
                    let charge = self.inbound.take();
                    if matches!(frame, ClientFrame::Payload(_)) {
                        self.frame_charge = charge;
                    }
                    self.state.handle_frame(frame, now);
                    self.collect();
                }
                Admit::At(t) => {
                    self.deferred = Some(frame);
                    self.wake = Some(t);
                    return;
                }
                Admit::AfterShard => {
                    self.deferred = Some(frame);
                    return;
                }
            }
        }
    }

    /// The next decoded frame, charged; `None` when more bytes (or memory) are needed first.
    fn next_frame(&mut self) -> Option<ClientFrame> {
        if self.inbound.is_none() {
            let len = match self.decoder.frame_len() {
                Ok(Some(len)) => len,
                Ok(None) => return None,
                Err(e) => {
                    self.state.handle_decode_error(&e);
                    self.collect();
                    return None;
                }
            };
            let cost = frame_cost(len);
            match try_take(&self.ctx.memory, cost) {
                Some(permit) => self.inbound = Some(permit),
                None => {
                    // The relay is at its memory bound: wait (unread) for memory to come back.
                    let memory = self.ctx.memory.clone();
                    self.wait(
                        Waiting::Inbound,
                        Box::pin(async move { Acquired::One(take(memory, cost).await) }),
                    );
                    return None;
                }
            }
        }
        match self.decoder.next_frame() {
            Ok(frame) => frame,
            Err(e) => {
                self.state.handle_decode_error(&e);
                self.collect();
                None
            }
        }
    }

    fn can_read(&self) -> bool {
        self.end.is_none()
            && !self.read_finished
            && !self.state.is_closed()
            && self.waiting.is_none()
            && self.backlog.is_empty()
            && self.deferred.is_none()
            && self.decoder.wanted() > 0
            && (self.inbound.is_some() || matches!(self.decoder.frame_len(), Ok(None)))
    }

    /// How much to read: the rest of the current frame (already charged once its header is in),
    /// or up to [`READ_AHEAD`] buffered bytes, so that small frames arrive several per read.
    fn read_size(&self) -> usize {
        let rest = self.decoder.wanted();
        rest.max(READ_AHEAD.saturating_sub(self.decoder.buffered()))
            .max(1)
    }

    fn collect(&mut self) {
        while let Some(out) = self.state.poll_output() {
            self.backlog.push_back(out);
        }
    }

    fn wait(&mut self, what: Waiting, future: Boxed<Acquired>) {
        self.waiting = Some(what);
        self.acquire = Some(future);
    }

    fn process(&mut self, out: ConnOutput) {
        match out {
            ConnOutput::Send(frame) => self.reply(frame),
            ConnOutput::ToShard { shard, call } => match call {
                ShardCall::Join(room) => self.to_shard(
                    shard,
                    ShardRequest::Join {
                        conn: self.me.id,
                        room,
                        handle: self.me.clone(),
                    },
                ),
                ShardCall::Leave => self.to_shard(shard, ShardRequest::Leave { conn: self.me.id }),
            },
            ConnOutput::ToPeer { pairing, body } => self.forward(pairing, body),
            ConnOutput::Close(code) => self.begin_close(Some(code)),
        }
    }

    fn to_shard(&self, shard: usize, request: super::shard_worker::Request) {
        if let Some(tx) = self.ctx.shards.get(shard) {
            let _ = tx.send(request);
        }
    }

    /// Queues a frame of the relay's own (a Pong, an error) for this client.
    fn reply(&mut self, frame: RelayFrame) {
        if let RelayFrame::Error { code, message } = &frame {
            warn!(conn = self.me.id.0, ?code, %message, "error sent");
        }
        let bytes = frame.to_bytes();
        let cost = frame_cost(bytes.len());
        if let Some(q) = try_take(&self.me.queue, cost)
            && let Some(g) = try_take(&self.ctx.memory, cost)
        {
            return self.push_write(OutFrame {
                bytes,
                _charge: Charge::of_two(q, g),
            });
        }
        if self.state.is_closed() {
            // A closing connection's last error is sent only if there is room; the QUIC close
            // code carries it anyway.
            return;
        }
        let (queue, memory) = (self.me.queue.clone(), self.ctx.memory.clone());
        self.wait(
            Waiting::Reply(bytes),
            Box::pin(async move {
                let q = take(queue, cost).await;
                let g = match q {
                    Some(_) => take(memory, cost).await,
                    None => None,
                };
                Acquired::Two(q.zip(g))
            }),
        );
    }

    /// Hands a payload to the peer once its queue has room for it.
    fn forward(&mut self, pairing: PairingId, body: Vec<u8>) {
        let peer = match &self.peer {
            Some((p, handle)) if *p == pairing => handle.clone(),
            _ => return self.dropped(),
        };
        let bytes = RelayFrame::Payload(body).to_bytes();
        let cost = frame_cost(bytes.len());
        // The inbound charge has exactly this cost: a Payload is encoded alike both ways.
        let global = match self.frame_charge.take() {
            Some(g) => g,
            None => match try_take(&self.ctx.memory, cost) {
                Some(g) => g,
                None => return self.dropped(),
            },
        };
        match try_take(&peer.queue, cost) {
            Some(q) => self.send_payload(&peer, pairing, bytes, Charge::of_two(q, global)),
            None => {
                // The peer's queue is full: wait (unread) for its reader.
                let queue = peer.queue.clone();
                self.wait(
                    Waiting::Forward {
                        peer,
                        pairing,
                        bytes,
                        global,
                    },
                    Box::pin(async move { Acquired::One(take(queue, cost).await) }),
                );
            }
        }
    }

    fn send_payload(&self, peer: &ConnHandle, pairing: PairingId, bytes: Vec<u8>, charge: Charge) {
        peer.send(ToConn::Payload {
            pairing,
            frame: OutFrame {
                bytes,
                _charge: charge,
            },
            from: self.me.inbox.clone(),
        });
    }

    fn dropped(&mut self) {
        self.state.handle_event(ConnEvent::Dropped);
        self.collect();
    }

    fn push_write(&mut self, frame: OutFrame) {
        if self.writes.is_empty() {
            self.progress_at = Instant::now();
        }
        self.writes.push_back(frame);
    }

    /// Starts the end: the seat is given up at once (the peer is told now), nothing more is read
    /// or accepted, and what is queued is still written.
    fn begin_close(&mut self, code: Option<ErrorCode>) {
        if self.end.is_some() {
            return;
        }
        if let Some(code) = code {
            info!(conn = self.me.id.0, ?code, "closing connection");
        }
        self.leave_shard();
        self.end = Some(End::Graceful(code));
    }

    fn leave_shard(&mut self) {
        if !self.left_shard {
            self.left_shard = true;
            if let Some(shard) = self.state.shard() {
                self.to_shard(shard, ShardRequest::Disconnect { conn: self.me.id });
            }
        }
    }

    // ---- events ---------------------------------------------------------------------------------

    fn on_message(&mut self, message: ToConn) {
        match message {
            ToConn::Frame(frame) => {
                if !self.state.is_closed() {
                    self.push_write(frame);
                }
            }
            ToConn::Payload {
                pairing,
                frame,
                from,
            } => {
                if self.state.accepts(pairing) {
                    self.ctx.stats.relayed.fetch_add(1, Ordering::Relaxed);
                    self.push_write(frame);
                } else {
                    // The pairing ended before the payload got here: it is dropped (with its
                    // charge) and the sender told.
                    drop(frame);
                    from.send(ToConn::Event(ConnEvent::Dropped));
                }
            }
            ToConn::Event(event) => {
                self.state.handle_event(event);
                self.collect();
            }
            ToConn::Peer(peer) => {
                let pairing = peer.as_ref().map(|(p, _)| *p);
                if let Some(Waiting::Forward {
                    pairing: waited, ..
                }) = &self.waiting
                    && Some(*waited) != pairing
                {
                    // The payload waited for a peer that is gone: drop it (its charge with it).
                    self.waiting = None;
                    self.acquire = None;
                    self.dropped();
                }
                self.peer = peer;
                self.state.handle_event(ConnEvent::Paired(pairing));
                self.collect();
            }
            ToConn::Close(code) => {
                self.leave_shard();
                self.end = Some(End::Hard(code));
            }
        }
    }

    fn on_acquired(&mut self, got: Acquired) {
        let Some(what) = self.waiting.take() else {
            return;
        };
        match (what, got) {
            (Waiting::Inbound, Acquired::One(Some(permit))) => self.inbound = Some(permit),
            (Waiting::Reply(bytes), Acquired::Two(Some((q, g)))) => self.push_write(OutFrame {
                bytes,
                _charge: Charge::of_two(q, g),
            }),
            (
                Waiting::Forward {
                    peer,
                    pairing,
                    bytes,
                    global,
                },
                Acquired::One(Some(q)),
            ) => self.send_payload(&peer, pairing, bytes, Charge::of_two(q, global)),
            // The peer's queue closed: the peer is gone.
            (Waiting::Forward { .. }, Acquired::One(None)) => self.dropped(),
            // The relay's own semaphores closed or mismatched: only at the very end.
            _ => self.end = Some(End::Lost),
        }
    }

    fn on_written(&mut self, n: usize) {
        self.progress_at = Instant::now();
        self.written += n;
        if self
            .writes
            .front()
            .is_some_and(|f| self.written >= f.bytes.len())
        {
            self.writes.pop_front();
            self.written = 0;
        }
    }

    /// Whether the client's next frame is held back by the relay (memory, the peer's queue, a
    /// rate, a shard answer): the client is not idle then, whatever the idle timer says.
    fn holding_back(&self) -> bool {
        self.waiting.is_some() || self.deferred.is_some()
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if !self.holding_back() {
            self.state.handle_timeout(now);
            self.collect();
        }
        if !self.writes.is_empty() && now >= self.progress_at + self.ctx.limits.write_stall_timeout
        {
            warn!(
                conn = self.me.id.0,
                queued = self.writes.len(),
                "the client reads nothing: closing it"
            );
            self.leave_shard();
            self.end = Some(End::Hard(ErrorCode::SlowReader));
        }
    }

    /// The driver's next deadline (idle, a deferred frame's tokens, the write stall).
    fn driver_deadline(&self) -> Option<Instant> {
        let stall = (!self.writes.is_empty())
            .then(|| self.progress_at + self.ctx.limits.write_stall_timeout);
        let idle = self.state.poll_timeout().filter(|_| !self.holding_back());
        [idle, self.wake, stall].into_iter().flatten().min()
    }

    // ---- the end --------------------------------------------------------------------------------

    async fn finish(&mut self, end: End) {
        self.leave_shard();
        // Nothing more is accepted; what waits in the mailbox is dropped with its charges.
        self.me.close();
        self.waiting = None;
        self.acquire = None;
        self.inbound = None;
        self.frame_charge = None;
        self.ctx
            .stats
            .dropped
            .fetch_add(self.state.dropped(), Ordering::Relaxed);
        match end {
            End::Lost => {}
            End::Hard(code) => {
                self.writes.clear();
                close(&mut self.quic, Some(code));
            }
            End::Graceful(code) => {
                let stall = self.ctx.limits.write_stall_timeout;
                while let Some(frame) = self.writes.pop_front() {
                    let rest = &frame.bytes[self.written.min(frame.bytes.len())..];
                    self.written = 0;
                    match self.quic.write_all(rest, stall).await {
                        WriteAll::Done => {}
                        WriteAll::Gone => return,
                        WriteAll::Stalled => {
                            self.writes.clear();
                            return close(&mut self.quic, Some(ErrorCode::SlowReader));
                        }
                    }
                }
                // Finish the stream and give the client a moment to receive it all (the
                // acknowledgement of the last byte), so it reads the final Error frame before
                // the close, then close.
                self.quic.finish();
                self.quic.linger(CLOSE_LINGER).await;
                close(&mut self.quic, code);
            }
        }
    }
}
