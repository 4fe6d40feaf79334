//! The per-direction replay window over sequence numbers (PROTOCOL.md §6.7), a sliding bitmap as in
//! DTLS (RFC 6347 §4.1.2.6) and IPsec (RFC 4303 §3.4.3).

/// Width of the window.
pub const REPLAY_WINDOW: u64 = 1024;
const WORDS: usize = (REPLAY_WINDOW / 64) as usize;

/// Why a sequence number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Seen before.
    Seen,
    /// Older than the window (cannot tell, so refused).
    TooOld,
    /// Zero is never sent.
    Zero,
}

/// Highest sequence number seen and which of the [`REPLAY_WINDOW`] below it were seen.
#[derive(Clone, Default)]
pub(crate) struct ReplayWindow {
    highest: u64,
    /// Bit `i` set means `highest - i` was seen.
    bits: [u64; WORDS],
}

impl ReplayWindow {
    /// Checks `seq` without recording it.
    pub(crate) fn check(&self, seq: u64) -> Result<(), Replay> {
        if seq == 0 {
            return Err(Replay::Zero);
        }
        if seq > self.highest {
            return Ok(());
        }
        let age = self.highest - seq;
        if age >= REPLAY_WINDOW {
            return Err(Replay::TooOld);
        }
        if self.bit(age) {
            Err(Replay::Seen)
        } else {
            Ok(())
        }
    }

    /// Records `seq` (call only after [`Self::check`] succeeded and the message was accepted).
    pub(crate) fn record(&mut self, seq: u64) {
        if seq > self.highest {
            let shift = seq - self.highest;
            self.shift(shift);
            self.highest = seq;
        }
        let age = self.highest - seq;
        if age < REPLAY_WINDOW {
            self.bits[(age / 64) as usize] |= 1 << (age % 64);
        }
    }

    fn bit(&self, age: u64) -> bool {
        self.bits[(age / 64) as usize] & (1 << (age % 64)) != 0
    }

    /// Moves every recorded bit `by` places older.
    fn shift(&mut self, by: u64) {
        if by >= REPLAY_WINDOW {
            self.bits = [0; WORDS];
            return;
        }
        let words = (by / 64) as usize;
        let bits = (by % 64) as u32;
        for i in (0..WORDS).rev() {
            let from = i.checked_sub(words);
            let hi = from.map_or(0, |f| self.bits[f]);
            let lo = from
                .and_then(|f| f.checked_sub(1))
                .map_or(0, |f| self.bits[f]);
            self.bits[i] = if bits == 0 {
                hi
            } else {
                (hi << bits) | (lo >> (64 - bits))
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model: the set of accepted numbers.
    #[test]
    fn matches_a_set_model_on_a_shuffled_sequence() {
        use rand_chacha::ChaCha8Rng;
        use rand_core::{RngCore, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut w = ReplayWindow::default();
        let mut seen = std::collections::BTreeSet::new();
        let mut highest = 0u64;
        for _ in 0..20_000 {
            let seq = match rng.next_u32() % 4 {
                0 => highest + 1 + u64::from(rng.next_u32() % 100),
                _ => highest.saturating_sub(u64::from(rng.next_u32() % 1500)),
            };
            let expected = if seq == 0 {
                Err(Replay::Zero)
            } else if seq + REPLAY_WINDOW <= highest {
                Err(Replay::TooOld)
            } else if seen.contains(&seq) {
                Err(Replay::Seen)
            } else {
                Ok(())
            };
            assert_eq!(w.check(seq), expected, "seq {seq} highest {highest}");
            if expected.is_ok() {
                w.record(seq);
                seen.insert(seq);
                highest = highest.max(seq);
            }
        }
    }

    #[test]
    fn edges_of_the_window() {
        let mut w = ReplayWindow::default();
        w.record(5000);
        assert_eq!(w.check(5000), Err(Replay::Seen));
        assert_eq!(w.check(5000 - REPLAY_WINDOW), Err(Replay::TooOld));
        assert_eq!(w.check(5000 - REPLAY_WINDOW + 1), Ok(()));
        w.record(5000 - REPLAY_WINDOW + 1);
        assert_eq!(w.check(5000 - REPLAY_WINDOW + 1), Err(Replay::Seen));
        w.record(5001);
        assert_eq!(w.check(5000 - REPLAY_WINDOW + 1), Err(Replay::TooOld));
        assert_eq!(w.check(5000), Err(Replay::Seen));
    }
}
