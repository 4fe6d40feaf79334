//! The receiver's inbox (PROTOCOL.md §7.5): shows each reliable content exactly once and in the
//! sender's order, holding early arrivals (bounded) until the gap before them fills. It remembers
//! the last [`MAX_STREAMS`] streams of the peer, so a return to a known stream (the same identity on
//! a second device, or a resend from before a restart) continues where it stopped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{MAX_HELD, MAX_HELD_BYTES, MessageId, Stored, WINDOW};

/// Streams of one peer whose position the inbox remembers (§7.5).
pub const MAX_STREAMS: usize = 4;

/// What happened to a received entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Whether to acknowledge it (it is stored, or was already).
    pub(crate) ack: bool,
    /// Whether the stored state changed (a duplicate or a refused entry changes nothing).
    pub(crate) changed: bool,
    /// Entries to show now, in order (possibly several: a gap filled, or a stream ended).
    pub(crate) shown: Vec<(MessageId, Stored)>,
}

/// How far the inbox got in one of the peer's streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamState {
    pub(crate) stream: u64,
    /// The number shown next.
    pub(crate) next: u64,
    /// Received early, waiting for the gap before them.
    pub(crate) held: BTreeMap<u64, Stored>,
    /// Numbers above `next` already shown (released when the peer switched streams).
    pub(crate) shown_early: BTreeSet<u64>,
}

impl StreamState {
    fn new(stream: u64) -> Self {
        StreamState {
            stream,
            next: 1,
            held: BTreeMap::new(),
            shown_early: BTreeSet::new(),
        }
    }

    fn id(&self, number: u64) -> MessageId {
        MessageId {
            stream: self.stream,
            number,
        }
    }

    /// Moves `next` past everything that follows without a gap, showing held entries.
    fn advance(&mut self, shown: &mut Vec<(MessageId, Stored)>, held_bytes: &mut usize) {
        loop {
            if self.shown_early.remove(&self.next) {
                self.next += 1;
            } else if let Some(s) = self.held.remove(&self.next) {
                *held_bytes -= s.entry.size();
                shown.push((self.id(self.next), s));
                self.next += 1;
            } else {
                return;
            }
        }
    }

    /// The peer moved to another stream: what this one holds is shown now (the peer may never fill
    /// its gaps), and remembered as shown.
    fn release(&mut self, shown: &mut Vec<(MessageId, Stored)>, held_bytes: &mut usize) {
        for (n, s) in core::mem::take(&mut self.held) {
            *held_bytes -= s.entry.size();
            shown.push((self.id(n), s));
            self.shown_early.insert(n);
        }
    }
}

/// The inbox of one peer: its recent streams, the current one first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub(crate) streams: VecDeque<StreamState>,
    pub(crate) held_bytes: usize,
}

impl Inbox {
    /// A fresh inbox.
    pub(crate) fn new() -> Self {
        Inbox {
            streams: VecDeque::new(),
            held_bytes: 0,
        }
    }

    /// Entries held beyond a gap, in all streams.
    pub fn held(&self) -> usize {
        self.streams.iter().map(|s| s.held.len()).sum()
    }

    /// The number shown next in the current stream (1 before anything arrived).
    pub fn next(&self) -> u64 {
        self.streams.front().map_or(1, |s| s.next)
    }

    /// Applies rules 1–5 of §7.5 to an entry with `id`.
    pub(crate) fn receive(&mut self, id: MessageId, stored: Stored) -> Outcome {
        let mut shown = Vec::new();
        let mut changed = false;
        // Rule 1: the entry's stream becomes the current one.
        if self.streams.front().map(|s| s.stream) != Some(id.stream) {
            changed = true;
            if let Some(current) = self.streams.front_mut() {
                current.release(&mut shown, &mut self.held_bytes);
            }
            let state = match self.streams.iter().position(|s| s.stream == id.stream) {
                Some(i) => self
                    .streams
                    .remove(i)
                    .unwrap_or_else(|| StreamState::new(id.stream)),
                None => StreamState::new(id.stream),
            };
            self.streams.push_front(state);
            while self.streams.len() > MAX_STREAMS {
                if let Some(mut old) = self.streams.pop_back() {
                    old.release(&mut shown, &mut self.held_bytes);
                }
            }
        }
        let total_held = self.held();
        let Some(cur) = self.streams.front_mut() else {
            return Outcome {
                ack: false,
                changed,
                shown,
            };
        };
        let n = id.number;
        if n < cur.next || cur.held.contains_key(&n) || cur.shown_early.contains(&n) {
            // Rule 2: a duplicate.
            return Outcome {
                ack: true,
                changed,
                shown,
            };
        }
        if n == cur.next {
            // Rule 3: show it and everything that now follows without a gap.
            shown.push((id, stored));
            cur.next += 1;
            cur.advance(&mut shown, &mut self.held_bytes);
            return Outcome {
                ack: true,
                changed: true,
                shown,
            };
        }
        // Rules 4 and 5: hold it if the window and the bounds allow.
        let size = stored.entry.size();
        let fits = n - cur.next < WINDOW
            && total_held < MAX_HELD
            && self.held_bytes + size <= MAX_HELD_BYTES;
        if fits {
            self.held_bytes += size;
            cur.held.insert(n, stored);
        }
        Outcome {
            ack: fits,
            changed: changed || fits,
            shown,
        }
    }
}
