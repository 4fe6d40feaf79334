//! Memory accounting: the relay-wide budget (`--max-memory`), each connection's outbound queue
//! bound, and the charges that frames carry while the relay holds them.
//!
//! All bounds are tokio semaphores counted in bytes. A frame read from a client is charged to the
//! global budget before its body is read (waiting when the budget is spent: the relay stops
//! reading, QUIC flow control slows the client); a payload is also charged to its peer's queue
//! before it is handed over (waiting when that queue is full). The charges travel with the frame
//! ([`OutFrame`]) and are released when QUIC has taken its bytes, or when it is dropped anywhere
//! (a peer gone, a connection closed): memory is returned by construction, never by bookkeeping.

use std::sync::Arc;

use std::collections::VecDeque;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::core::{ConnEvent, ConnId, PairingId};
use sans_io_proto::frame::ErrorCode;

/// Bytes a connection may have in control frames from its shard (room events and their errors)
/// waiting to be written; a client that lets more pile up is not reading and is closed.
pub const CONTROL_ALLOWANCE: usize = 8 * 1024;

/// Permits held for a frame; released when dropped.
#[derive(Debug, Default)]
pub(crate) struct Charge {
    _permits: [Option<OwnedSemaphorePermit>; 2],
}

impl Charge {
    pub(crate) fn of(a: OwnedSemaphorePermit) -> Self {
        Charge {
            _permits: [Some(a), None],
        }
    }

    pub(crate) fn of_two(a: OwnedSemaphorePermit, b: OwnedSemaphorePermit) -> Self {
        Charge {
            _permits: [Some(a), Some(b)],
        }
    }
}

/// Encoded relay frame bytes on their way to a client, with the memory they are charged.
#[derive(Debug)]
pub(crate) struct OutFrame {
    pub(crate) bytes: Vec<u8>,
    pub(crate) _charge: Charge,
}

/// What reaches a connection's task from the shards.
#[derive(Debug)]
pub(crate) enum ToConn {
    /// Bytes to write to the client (a room event from the shard).
    Frame(OutFrame),
    /// A payload from the peer, sent within `pairing`: written only if the connection is still
    /// in that pairing, else dropped and the sender told through `from`.
    Payload {
        /// The pairing the sender was in.
        pairing: PairingId,
        /// The encoded `Payload` frame, charged to this connection's queue and the budget.
        frame: OutFrame,
        /// The sender's mailbox.
        from: Arc<Mailbox>,
    },
    /// A change of the connection's room state.
    Event(ConnEvent),
    /// The current peer, or none.
    Peer(Option<(PairingId, ConnHandle)>),
    /// Close at once with this code (the client let its control frames pile up).
    Close(ErrorCode),
}

/// A connection's mailbox: messages for its task, in order (the shards' and its peer's
/// [`ToConn`], and, in a second mailbox, the QUIC endpoint's datagrams for it). Unlike a channel it
/// allocates nothing until a message arrives (an idle connection costs a few dozen bytes here, not
/// a channel block of 32 slots, 6.7 KB for QUIC events), and it is unbounded only in count: every
/// frame in it is charged ([`OutFrame`]), the other messages follow the connection's own
/// rate-limited requests, and QUIC datagrams are bounded by what the client may send unacknowledged.
/// One task reads it (the connection's), so a single waker slot does.
#[derive(Debug)]
pub(crate) struct Mailbox<T = ToConn> {
    inner: std::sync::Mutex<MailboxInner<T>>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox {
            inner: std::sync::Mutex::new(MailboxInner {
                queue: VecDeque::new(),
                closed: false,
                waker: None,
            }),
        }
    }
}

#[derive(Debug)]
struct MailboxInner<T> {
    queue: VecDeque<T>,
    closed: bool,
    waker: Option<std::task::Waker>,
}

/// Capacity a drained mailbox keeps; a burst that grew it beyond this gives the rest back.
const MAILBOX_KEEP: usize = 4;

impl<T> Mailbox<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, MailboxInner<T>> {
        // Nothing panics while holding this lock; a poisoned one is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers a message (dropped, with its charge, if the mailbox is closed).
    pub(crate) fn send(&self, message: T) {
        self.send_within(message, usize::MAX);
    }

    /// Delivers a message unless `limit` messages already wait or the mailbox is closed; then it
    /// is dropped (with its charge), after the lock is released.
    pub(crate) fn send_within(&self, message: T, limit: usize) {
        let waker = {
            let mut m = self.lock();
            if m.closed || m.queue.len() >= limit {
                drop(m);
                drop(message);
                return;
            }
            m.queue.push_back(message);
            m.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The next message, if one is there.
    pub(crate) fn try_recv(&self) -> Option<T> {
        let mut m = self.lock();
        let next = m.queue.pop_front();
        if next.is_none() && m.queue.capacity() > MAILBOX_KEEP {
            m.queue.shrink_to(MAILBOX_KEEP);
        }
        next
    }

    /// Ready when a message is waiting (take it with [`Self::try_recv`]); otherwise registers the
    /// reading task to be woken by the next [`Self::send`].
    pub(crate) fn poll_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let mut m = self.lock();
        if !m.queue.is_empty() {
            return std::task::Poll::Ready(());
        }
        match &m.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => m.waker = Some(cx.waker().clone()),
        }
        std::task::Poll::Pending
    }

    /// Refuses further messages and drops those waiting (releasing their charges).
    pub(crate) fn close(&self) {
        let dropped = {
            let mut m = self.lock();
            m.closed = true;
            m.waker = None;
            std::mem::take(&mut m.queue)
        };
        drop(dropped);
    }
}

/// How to reach a connection: its mailbox and its queue bounds. Cloned into the shard that
/// seats it and into its peer's task.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    pub(crate) id: ConnId,
    pub(crate) inbox: Arc<Mailbox>,
    /// Bytes of payloads from the peer and of the connection's own replies (`queue_bytes`).
    pub(crate) queue: Arc<Semaphore>,
    /// Bytes of control frames from the shard ([`CONTROL_ALLOWANCE`]).
    pub(crate) control: Arc<Semaphore>,
}

impl ConnHandle {
    pub(crate) fn new(id: ConnId, queue_bytes: usize) -> Self {
        ConnHandle {
            id,
            inbox: Arc::new(Mailbox::default()),
            queue: Arc::new(Semaphore::new(queue_bytes)),
            control: Arc::new(Semaphore::new(CONTROL_ALLOWANCE)),
        }
    }

    /// Delivers a message (a connection that is gone drops it; the charge is then released).
    pub(crate) fn send(&self, message: ToConn) {
        self.inbox.send(message);
    }

    /// The connection is over: its mailbox refuses messages, and anyone waiting for room in its
    /// queues gives up.
    pub(crate) fn close(&self) {
        self.inbox.close();
        self.queue.close();
        self.control.close();
    }
}

/// `n` permits of `semaphore` if they are free now.
pub(crate) fn try_take(semaphore: &Arc<Semaphore>, n: usize) -> Option<OwnedSemaphorePermit> {
    let n = u32::try_from(n).ok()?;
    semaphore.clone().try_acquire_many_owned(n).ok()
}

/// `n` permits of `semaphore`, waiting for them; `None` if it is closed (or `n` is absurd).
pub(crate) async fn take(semaphore: Arc<Semaphore>, n: usize) -> Option<OwnedSemaphorePermit> {
    let n = u32::try_from(n).ok()?;
    semaphore.acquire_many_owned(n).await.ok()
}
