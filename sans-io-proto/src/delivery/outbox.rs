//! The sender's outbox (PROTOCOL.md §7.4): every reliable content the user created, in number
//! order, until an Ack names it. Bounded in entries, bytes and number span; a message that would
//! break a bound is refused when it is written, never dropped later.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::session::ContentError;

use super::{MAX_OUTBOX, MAX_OUTBOX_BYTES, RESEND_AFTER, RESEND_MAX, Stored, WINDOW};

/// Why a new message was refused (the user sees it as failed, with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The content itself breaks a limit (too long, empty, timer out of range).
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Too many messages wait for this peer.
    #[error("{MAX_OUTBOX} messages already wait for this contact; wait until they are delivered")]
    Full,
    /// Too many bytes wait for this peer.
    #[error("4 MiB of messages already wait for this contact; wait until they are delivered")]
    TooManyBytes,
    /// The oldest waiting message is too far behind (the peer could not hold the gap).
    #[error("an old message still waits for this contact; wait until it is delivered")]
    SpanTooWide,
    /// 2^63 messages or timer changes: the numbering is used up.
    #[error("this conversation's message numbers are used up")]
    Exhausted,
}

/// One entry and when it was last sent in the current session.
#[derive(Debug, Clone)]
pub struct OutEntry {
    /// The content and its number.
    pub stored: Stored,
    last_sent: Option<Instant>,
    backoff: Duration,
}

impl OutEntry {
    /// Whether it was sent in the current session.
    pub fn is_sent(&self) -> bool {
        self.last_sent.is_some()
    }
}

/// The outbox of one peer.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    entries: VecDeque<OutEntry>,
    bytes: usize,
}

impl Outbox {
    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &OutEntry> {
        self.entries.iter()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks that an entry numbered `number` of `size` content bytes fits every bound.
    pub(crate) fn check_room(&self, number: u64, size: usize) -> Result<(), OutboxError> {
        if self.entries.len() >= MAX_OUTBOX {
            return Err(OutboxError::Full);
        }
        if self.bytes + size > MAX_OUTBOX_BYTES {
            return Err(OutboxError::TooManyBytes);
        }
        if let Some(oldest) = self.entries.front()
            && number.saturating_sub(oldest.stored.number) >= WINDOW
        {
            return Err(OutboxError::SpanTooWide);
        }
        Ok(())
    }

    /// Appends an entry (numbers grow; the caller checked [`Self::check_room`]).
    pub(crate) fn push(&mut self, stored: Stored) {
        self.bytes += stored.entry.size();
        self.entries.push_back(OutEntry {
            stored,
            last_sent: None,
            backoff: RESEND_AFTER,
        });
    }

    /// Removes the entry numbered `number`; whether it was there.
    pub(crate) fn remove(&mut self, number: u64) -> bool {
        match self.entries.iter().position(|e| e.stored.number == number) {
            Some(i) => {
                if let Some(e) = self.entries.remove(i) {
                    self.bytes -= e.stored.entry.size();
                }
                true
            }
            None => false,
        }
    }

    /// A new session: everything is sent again, in order.
    pub(crate) fn reset_sending(&mut self) {
        for e in &mut self.entries {
            e.last_sent = None;
            e.backoff = RESEND_AFTER;
        }
    }

    /// Numbers of the entries due at `now` (never sent in this session, or unacknowledged for their
    /// backoff), oldest first.
    pub(crate) fn due(&self, now: Instant) -> Vec<u64> {
        self.entries
            .iter()
            .filter(|e| e.last_sent.is_none_or(|t| now >= t + e.backoff))
            .map(|e| e.stored.number)
            .collect()
    }

    /// Records that entry `number` was sent at `now` (a resend doubles its backoff).
    pub(crate) fn mark_sent(&mut self, number: u64, now: Instant) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.stored.number == number) {
            if e.last_sent.is_some() {
                e.backoff = (e.backoff * 2).min(RESEND_MAX);
            }
            e.last_sent = Some(now);
        }
    }

    /// The entry numbered `number`.
    pub(crate) fn get(&self, number: u64) -> Option<&OutEntry> {
        self.entries.iter().find(|e| e.stored.number == number)
    }

    /// When the next resend is due, if anything was sent and waits for its Ack.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter_map(|e| e.last_sent.map(|t| t + e.backoff))
            .min()
    }
}
