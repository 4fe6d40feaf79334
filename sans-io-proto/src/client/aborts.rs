//! Counting aborted key exchanges (PROTOCOL.md §5.10): a relay that keeps starting exchanges and
//! cutting them off may be probing who sits behind a connection; after `MAX_ABORTS` in
//! `ABORT_WINDOW` the client stops starting new ones until the user asks.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Aborts within [`ABORT_WINDOW`] after which the client stops.
pub const MAX_ABORTS: usize = 3;
/// The window of [`MAX_ABORTS`].
pub const ABORT_WINDOW: Duration = Duration::from_secs(600);

#[derive(Debug, Default)]
pub(crate) struct Aborts {
    recent: VecDeque<Instant>,
}

impl Aborts {
    fn forget_old(&mut self, now: Instant) {
        while let Some(&t) = self.recent.front() {
            if now.saturating_duration_since(t) >= ABORT_WINDOW {
                self.recent.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records an abort; returns how many happened in the window.
    pub(crate) fn record(&mut self, now: Instant) -> usize {
        self.forget_old(now);
        self.recent.push_back(now);
        self.recent.len()
    }

    /// Whether the client must not start key exchanges by itself.
    pub(crate) fn suspended(&mut self, now: Instant) -> bool {
        self.forget_old(now);
        self.recent.len() >= MAX_ABORTS
    }

    /// How many happened in the window.
    pub(crate) fn recent(&mut self, now: Instant) -> usize {
        self.forget_old(now);
        self.recent.len()
    }

    /// The user asked to try again.
    pub(crate) fn clear(&mut self) {
        self.recent.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_in_ten_minutes_suspend_and_old_ones_are_forgotten() {
        let t0 = Instant::now();
        let mut a = Aborts::default();
        assert_eq!(a.record(t0), 1);
        assert_eq!(a.record(t0 + Duration::from_secs(60)), 2);
        assert!(!a.suspended(t0 + Duration::from_secs(61)));
        assert_eq!(a.record(t0 + Duration::from_secs(120)), 3);
        assert!(a.suspended(t0 + Duration::from_secs(121)));
        // The first one leaves the window.
        assert!(!a.suspended(t0 + ABORT_WINDOW + Duration::from_secs(1)));
        a.clear();
        assert_eq!(a.recent(t0), 0);
    }
}
