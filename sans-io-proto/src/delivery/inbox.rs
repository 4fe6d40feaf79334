//! The receiver's inbox (PROTOCOL.md §7.5): shows each reliable content exactly once and in the
//! sender's order, holding early arrivals (bounded) until the gap before them fills.

use std::collections::BTreeMap;

use super::{MAX_HELD, MAX_HELD_BYTES, MessageId, Stored, WINDOW};

/// What happened to a received entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Whether to acknowledge it (it is stored, or was already).
    pub(crate) ack: bool,
    /// Entries to show now, in order (possibly several: a gap filled, or a stream ended).
    pub(crate) shown: Vec<(MessageId, Stored)>,
}

/// The inbox of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    /// The peer's stream (0: none seen yet).
    pub(crate) stream: u64,
    /// The number shown next.
    pub(crate) next: u64,
    pub(crate) held: BTreeMap<u64, Stored>,
    pub(crate) held_bytes: usize,
}

impl Inbox {
    /// A fresh inbox.
    pub(crate) fn new() -> Self {
        Inbox {
            stream: 0,
            next: 1,
            held: BTreeMap::new(),
            held_bytes: 0,
        }
    }

    /// Entries held beyond a gap.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The number shown next.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Applies rules 1–5 of §7.5 to an entry with `id`.
    pub(crate) fn receive(&mut self, id: MessageId, stored: Stored) -> Outcome {
        let mut shown = Vec::new();
        if id.stream != self.stream {
            // Rule 1: a new stream; what the old one held will never see its gaps filled.
            let old = self.stream;
            shown.extend(core::mem::take(&mut self.held).into_values().map(|s| {
                (
                    MessageId {
                        stream: old,
                        number: s.number,
                    },
                    s,
                )
            }));
            self.held_bytes = 0;
            self.stream = id.stream;
            self.next = 1;
        }
        let n = id.number;
        if n < self.next || self.held.contains_key(&n) {
            // Rule 2: a duplicate.
            return Outcome { ack: true, shown };
        }
        if n == self.next {
            // Rule 3: show it and everything that now follows without a gap.
            shown.push((id, stored));
            self.next += 1;
            while let Some(s) = self.held.remove(&self.next) {
                self.held_bytes -= s.entry.size();
                shown.push((
                    MessageId {
                        stream: id.stream,
                        number: self.next,
                    },
                    s,
                ));
                self.next += 1;
            }
            return Outcome { ack: true, shown };
        }
        // Rules 4 and 5: hold it if the window and the bounds allow.
        let size = stored.entry.size();
        let fits = n - self.next < WINDOW
            && self.held.len() < MAX_HELD
            && self.held_bytes + size <= MAX_HELD_BYTES;
        if fits {
            self.held_bytes += size;
            self.held.insert(n, stored);
        }
        Outcome { ack: fits, shown }
    }
}
