//! The disappearing-messages timer agreed between the two sides (PROTOCOL.md §7.7).

use crate::identity::Fingerprint;

/// Who set the timer in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerSource {
    /// Nobody yet (the initial setting: off).
    Initial,
    /// This side.
    Own,
    /// The peer.
    Peer,
}

/// A conversation's timer: `(expire_secs, version)` and who set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerSetting {
    /// Seconds after which messages disappear (0 = kept).
    pub expire_secs: u32,
    /// Lamport-style version: every change takes `current + 1`.
    pub version: u64,
    /// Who set it.
    pub source: TimerSource,
}

impl Default for TimerSetting {
    fn default() -> Self {
        TimerSetting {
            expire_secs: 0,
            version: 0,
            source: TimerSource::Initial,
        }
    }
}

impl TimerSetting {
    /// Whether a Timer content from the peer replaces this setting: a greater version, or the same
    /// version and the peer's fingerprint is the greater one (concurrent changes settle the same way
    /// on both sides).
    pub fn peer_wins(&self, version: u64, own: &Fingerprint, peer: &Fingerprint) -> bool {
        version > self.version || (version == self.version && peer > own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_changes_settle_the_same_way_on_both_sides() {
        let (a, b) = (
            Fingerprint::from_bytes([1; 32]),
            Fingerprint::from_bytes([2; 32]),
        );
        // Both set version 1 at the same time: a's view of b's change, and b's view of a's.
        let a_view = TimerSetting {
            expire_secs: 30,
            version: 1,
            source: TimerSource::Own,
        };
        let b_view = TimerSetting {
            expire_secs: 300,
            version: 1,
            source: TimerSource::Own,
        };
        assert!(a_view.peer_wins(1, &a, &b), "b's change wins at a");
        assert!(!b_view.peer_wins(1, &b, &a), "b keeps its own change");
        assert!(a_view.peer_wins(2, &b, &a), "a newer version always wins");
        assert!(!a_view.peer_wins(0, &a, &b));
    }
}
