//! Every limit of the relay (PROTOCOL.md §3.6 lists the defaults), their consistency rules, and the
//! token bucket that shapes rates on a passed-in clock.
//!
//! Rates are enforced by *reading slower*, never by dropping: a frame over its rate waits, unread,
//! until its tokens are back, and QUIC flow control then slows the sender. The bursts therefore
//! have to fit the outbound queue of the peer ([`Limits::validate`]): a reader that keeps up with
//! the sustained rate never makes a sender wait because of a burst the sender is allowed.

use std::time::{Duration, Instant};

use sans_io_proto::frame::{HEADER_LEN, MAX_FRAME_BODY};

/// Bytes charged for a queued frame on top of its encoding: the heap block's header and rounding,
/// the queue's slot and the frame's bookkeeping (measured: a 262-byte frame costs ~380 bytes).
pub const FRAME_OVERHEAD: usize = 128;

/// The memory a frame of `encoded_len` bytes is charged while the relay holds it.
pub fn frame_cost(encoded_len: usize) -> usize {
    encoded_len + FRAME_OVERHEAD
}

/// Every limit the relay enforces. The sans-IO core ([`super::RelayCore`], [`super::ConnState`],
/// [`super::RoomShard`]) uses the room, rate, idle and strike limits; the server
/// ([`crate::server`]) also the connection, memory, queue and deadline ones.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Connections at once, counted from the moment a connection is accepted (before its TLS
    /// handshake and its stream); more are refused with `ServerFull`.
    pub max_connections: usize,
    /// Bytes of memory the relay may commit (`--max-memory`): every connection's reservation
    /// ([`crate::server::CONN_RESERVATION`]) from accept to close, plus every frame it holds
    /// ([`frame_cost`]) from the moment its header is read until QUIC has taken it for the peer.
    pub max_memory: usize,
    /// A seat's outbound queue, in bytes of [`frame_cost`]. When it is full the relay stops
    /// reading the sender (back-pressure).
    pub queue_bytes: usize,
    /// A client whose outbound queue makes no progress (QUIC takes none of its bytes) for this long
    /// is closed with `SlowReader`, its memory freed and its peer told `PeerLeft`.
    pub write_stall_timeout: Duration,
    /// A connection that has not completed its handshake this long after its first packet, or not
    /// opened its stream this long after its handshake, is closed with `StreamTimeout`.
    pub stream_timeout: Duration,
    /// Rooms at once (a room exists while someone sits in it), split evenly over the shards.
    pub max_rooms: usize,
    /// Joins per second per connection (sustained).
    pub joins_per_second: f64,
    /// Joins a connection may make at once.
    pub join_burst: f64,
    /// Frames of any kind per second per connection (sustained).
    pub frames_per_second: f64,
    /// Frames a connection may send at once.
    pub frame_burst: f64,
    /// Payload bytes per second per connection (sustained).
    pub bytes_per_second: f64,
    /// Payload bytes a connection may send at once.
    pub byte_burst: f64,
    /// A connection that sends no frame for this long is closed with `IdleTimeout`.
    pub idle_timeout: Duration,
    /// Largest frame body accepted (the protocol's maximum is 65 536).
    pub max_frame_body: usize,
    /// Non-closing errors (`AlreadyInRoom`, `ServerFull` on a join) after which a connection is
    /// closed.
    pub max_strikes: u32,
    /// How many `name-N` rooms a redirect tries before giving up with `ServerFull`.
    pub max_redirect_tries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_memory: 2 << 30,
            queue_bytes: 256 << 10,
            write_stall_timeout: Duration::from_secs(10),
            stream_timeout: Duration::from_secs(10),
            max_rooms: 10_000,
            joins_per_second: 5.0,
            join_burst: 10.0,
            frames_per_second: 200.0,
            frame_burst: 400.0,
            bytes_per_second: (256 << 10) as f64,
            byte_burst: (128 << 10) as f64,
            idle_timeout: Duration::from_secs(60),
            max_frame_body: MAX_FRAME_BODY,
            max_strikes: 20,
            max_redirect_tries: 1_000,
        }
    }
}

/// Limits that contradict each other.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitsError {
    /// A limit that must be positive is zero (or not a number).
    #[error("{0} must be greater than zero")]
    NotPositive(&'static str),
    /// The bursts a sender is allowed do not fit a peer's outbound queue.
    #[error(
        "the allowed burst ({burst} bytes: byte burst plus frame burst times {FRAME_OVERHEAD} bytes of overhead) does not fit the outbound queue ({queue} bytes)"
    )]
    BurstExceedsQueue {
        /// Bytes a full burst occupies in the peer's queue.
        burst: usize,
        /// The queue.
        queue: usize,
    },
    /// One maximal frame does not fit the outbound queue, so it could never be relayed.
    #[error("the outbound queue ({queue} bytes) cannot hold one maximal frame ({frame} bytes)")]
    FrameExceedsQueue {
        /// The queue.
        queue: usize,
        /// One maximal frame's cost.
        frame: usize,
    },
    /// The stream deadline is longer than the idle timeout, which would then fire first.
    #[error("the stream timeout must not exceed the idle timeout")]
    StreamTimeoutExceedsIdle,
}

impl Limits {
    /// Bytes one maximal frame costs in a queue.
    pub fn max_frame_cost(&self) -> usize {
        frame_cost(HEADER_LEN + self.max_frame_body.min(MAX_FRAME_BODY))
    }

    /// Bytes a full burst of payloads occupies in the peer's queue: the byte burst, plus the
    /// per-frame overhead of the frame burst.
    pub fn burst_cost(&self) -> usize {
        let frames = self.frame_burst.max(0.0) as usize;
        self.byte_burst.max(0.0) as usize + frames * (HEADER_LEN + FRAME_OVERHEAD)
    }

    /// Checks that the limits are usable together: every rate and size positive, the bursts
    /// inside the queue (so a burst never has to wait for a reader that keeps up), one maximal
    /// frame inside the queue, and the stream deadline no longer than the idle timeout.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let positive = [
            ("max_connections", self.max_connections as f64),
            ("max_memory", self.max_memory as f64),
            ("queue_bytes", self.queue_bytes as f64),
            (
                "write_stall_timeout",
                self.write_stall_timeout.as_secs_f64(),
            ),
            ("stream_timeout", self.stream_timeout.as_secs_f64()),
            ("max_rooms", self.max_rooms as f64),
            ("joins_per_second", self.joins_per_second),
            ("join_burst", self.join_burst),
            ("frames_per_second", self.frames_per_second),
            ("frame_burst", self.frame_burst),
            ("bytes_per_second", self.bytes_per_second),
            ("byte_burst", self.byte_burst),
            ("idle_timeout", self.idle_timeout.as_secs_f64()),
            ("max_frame_body", self.max_frame_body as f64),
            ("max_strikes", f64::from(self.max_strikes)),
        ];
        for (name, value) in positive {
            // NaN is not greater than zero either.
            if value.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
                return Err(LimitsError::NotPositive(name));
            }
        }
        if self.max_frame_cost() > self.queue_bytes {
            return Err(LimitsError::FrameExceedsQueue {
                queue: self.queue_bytes,
                frame: self.max_frame_cost(),
            });
        }
        if self.burst_cost() > self.queue_bytes {
            return Err(LimitsError::BurstExceedsQueue {
                burst: self.burst_cost(),
                queue: self.queue_bytes,
            });
        }
        if self.stream_timeout > self.idle_timeout {
            return Err(LimitsError::StreamTimeoutExceedsIdle);
        }
        Ok(())
    }
}

/// A token bucket refilled continuously at `rate` per second up to `burst`. A take larger than
/// the burst is allowed from a full bucket and leaves it in debt, so no single item can be
/// refused forever.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            rate,
            burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// When `amount` can be taken: `None` if now, else the instant its tokens are back.
    pub(crate) fn ready_at(&mut self, amount: f64, now: Instant) -> Option<Instant> {
        self.refill(now);
        let need = amount.min(self.burst);
        if self.tokens >= need {
            return None;
        }
        let wait = (need - self.tokens) / self.rate;
        // Round up to a whole microsecond so that waking at the instant finds the tokens back.
        Some(now + Duration::from_secs_f64(wait) + Duration::from_micros(1))
    }

    /// Takes `amount` (call only when [`Self::ready_at`] said now).
    pub(crate) fn take(&mut self, amount: f64, now: Instant) {
        self.refill(now);
        self.tokens -= amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3.0, t0);
        for _ in 0..3 {
            assert_eq!(b.ready_at(1.0, t0), None);
            b.take(1.0, t0);
        }
        let at = b.ready_at(1.0, t0).expect("empty");
        assert!(at > t0 + Duration::from_millis(499) && at < t0 + Duration::from_millis(501));
        assert_eq!(b.ready_at(1.0, at), None);
        // Waiting long refills only up to the burst.
        let later = t0 + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(b.ready_at(1.0, later), None);
            b.take(1.0, later);
        }
        assert!(b.ready_at(1.0, later).is_some());
    }

    #[test]
    fn an_item_larger_than_the_burst_passes_from_a_full_bucket_and_leaves_a_debt() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100.0, 100.0, t0);
        assert_eq!(b.ready_at(250.0, t0), None);
        b.take(250.0, t0);
        // 150 in debt plus 1 token needed: 1.51 s.
        let at = b.ready_at(1.0, t0).expect("in debt");
        assert!(at >= t0 + Duration::from_millis(1510) && at < t0 + Duration::from_millis(1512));
    }

    #[test]
    fn the_defaults_are_consistent_and_bad_ones_are_named() {
        let d = Limits::default();
        assert_eq!(d.validate(), Ok(()));
        assert!(d.burst_cost() <= d.queue_bytes);
        let tight = Limits {
            queue_bytes: 100_000,
            ..Limits::default()
        };
        assert!(matches!(
            tight.validate(),
            Err(LimitsError::BurstExceedsQueue { .. })
        ));
        let tiny = Limits {
            queue_bytes: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            tiny.validate(),
            Err(LimitsError::FrameExceedsQueue { .. })
        ));
        let zero = Limits {
            frames_per_second: 0.0,
            ..Limits::default()
        };
        assert_eq!(
            zero.validate(),
            Err(LimitsError::NotPositive("frames_per_second"))
        );
        let nan = Limits {
            byte_burst: f64::NAN,
            ..Limits::default()
        };
        assert_eq!(nan.validate(), Err(LimitsError::NotPositive("byte_burst")));
        let late = Limits {
            stream_timeout: Duration::from_secs(120),
            ..Limits::default()
        };
        assert_eq!(late.validate(), Err(LimitsError::StreamTimeoutExceedsIdle));
    }
}
