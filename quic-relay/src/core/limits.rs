//! Limits of the relay and the token bucket that enforces rates on a passed-in clock.

use std::time::{Duration, Instant};

/// Every limit the relay enforces. Defaults follow what other relays chose (REFERENCES.md:
/// iroh-relay's 64 KiB packets, croc's join limits, magic-wormhole's crowding rule).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections at once; more are refused with `ServerFull`.
    pub max_connections: usize,
    /// Rooms at once (a room exists while someone sits in it).
    pub max_rooms: usize,
    /// Sustained joins per second per connection.
    pub joins_per_second: f64,
    /// Burst of joins per connection.
    pub join_burst: f64,
    /// Sustained payload frames per second per connection.
    pub payloads_per_second: f64,
    /// Burst of payload frames per connection.
    pub payload_burst: f64,
    /// A connection that sends nothing for this long is closed with `IdleTimeout`.
    pub idle_timeout: Duration,
    /// Largest frame body accepted (the protocol's maximum is 65 536).
    pub max_frame_body: usize,
    /// Limit breaches after which a connection is closed.
    pub max_strikes: u32,
    /// How many `name-N` rooms a redirect tries before giving up with `ServerFull`.
    pub max_redirect_tries: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 20_000,
            max_rooms: 10_000,
            joins_per_second: 5.0,
            join_burst: 10.0,
            payloads_per_second: 1_000.0,
            payload_burst: 2_000.0,
            idle_timeout: Duration::from_secs(60),
            max_frame_body: sans_io_proto::frame::MAX_FRAME_BODY,
            max_strikes: 20,
            max_redirect_tries: 1_000,
        }
    }
}

/// A token bucket refilled continuously at `rate` per second up to `burst`.
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

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2.0, 3.0, t0);
        assert!(b.take(t0) && b.take(t0) && b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(500)));
        assert!(!b.take(t0 + Duration::from_millis(500)));
        assert!(b.take(t0 + Duration::from_secs(10)));
    }
}
