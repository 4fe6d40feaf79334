//! The stored delivery state of one conversation (PROTOCOL.md §7.10): what the application keeps
//! (encrypted) so that a crash loses nothing and shows nothing twice. Decoding is total: any bytes
//! give a state that keeps every bound of §7.4–7.5, or a typed error.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zeroize::Zeroizing;

use crate::identity::Fingerprint;
use crate::session::{MAX_EXPIRE_SECS, MAX_TEXT_LEN};

use super::conversation::Conversation;
use super::inbox::{Inbox, MAX_STREAMS, StreamState};
use super::outbox::Outbox;
use super::timer::{TimerSetting, TimerSource};
use super::{
    Entry, MAX_HELD, MAX_HELD_BYTES, MAX_NUMBER, MAX_OUTBOX, MAX_OUTBOX_BYTES, MAX_UNCONFIRMED,
    MAX_UNCONFIRMED_BYTES, MessageId, Stored, WINDOW,
};

const MAGIC: &[u8; 6] = b"E2EDLV";
const VERSION: u8 = 0x01;
const KIND_TEXT: u8 = 0x01;
const KIND_TIMER: u8 = 0x04;

/// Why stored delivery state was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not a delivery state (magic, version, truncated, trailing bytes).
    #[error("not a delivery state of this version")]
    NotAState,
    /// A field breaks a rule or bound of PROTOCOL.md §7.4–7.5.
    #[error("delivery state breaks a rule: {0}")]
    Invalid(&'static str),
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StateError> {
        if self.rest.len() < n {
            return Err(StateError::NotAState);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, StateError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, StateError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, StateError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, StateError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
}

fn put_entry(out: &mut Vec<u8>, s: &Stored) {
    out.extend_from_slice(&s.number.to_be_bytes());
    let (kind, content): (u8, Zeroizing<Vec<u8>>) = match &s.entry {
        Entry::Text { expire_secs, text } => {
            let mut c = Zeroizing::new(Vec::with_capacity(4 + text.len()));
            c.extend_from_slice(&expire_secs.to_be_bytes());
            c.extend_from_slice(text.as_bytes());
            (KIND_TEXT, c)
        }
        Entry::Timer {
            version,
            expire_secs,
        } => {
            let mut c = Zeroizing::new(Vec::with_capacity(12));
            c.extend_from_slice(&version.to_be_bytes());
            c.extend_from_slice(&expire_secs.to_be_bytes());
            (KIND_TIMER, c)
        }
        Entry::Unknown { kind } => (*kind, Zeroizing::new(Vec::new())),
    };
    out.push(kind);
    out.extend_from_slice(&s.sent_at_ms.to_be_bytes());
    // Content is bounded by MAX_TEXT_LEN + 4.
    out.extend_from_slice(&(content.len() as u32).to_be_bytes());
    out.extend_from_slice(&content);
}

fn read_entry(r: &mut Reader<'_>) -> Result<Stored, StateError> {
    let number = r.u64()?;
    let kind = r.u8()?;
    let sent_at_ms = r.u64()?;
    let len = r.u32()? as usize;
    if len > MAX_TEXT_LEN + 4 {
        return Err(StateError::Invalid("entry too long"));
    }
    let content = r.take(len)?;
    let entry = match kind {
        KIND_TEXT => {
            let (secs, text) = content
                .split_first_chunk::<4>()
                .ok_or(StateError::Invalid("text entry"))?;
            let expire_secs = u32::from_be_bytes(*secs);
            if text.is_empty() || expire_secs > MAX_EXPIRE_SECS {
                return Err(StateError::Invalid("text entry"));
            }
            let text = core::str::from_utf8(text).map_err(|_| StateError::Invalid("text entry"))?;
            Entry::Text {
                expire_secs,
                text: Zeroizing::new(text.to_owned()),
            }
        }
        KIND_TIMER => {
            if content.len() != 12 {
                return Err(StateError::Invalid("timer entry"));
            }
            let mut v = [0u8; 8];
            v.copy_from_slice(&content[..8]);
            let expire_secs =
                u32::from_be_bytes([content[8], content[9], content[10], content[11]]);
            if expire_secs > MAX_EXPIRE_SECS {
                return Err(StateError::Invalid("timer entry"));
            }
            Entry::Timer {
                version: u64::from_be_bytes(v),
                expire_secs,
            }
        }
        k if (0x20..=0x3f).contains(&k) && content.is_empty() => Entry::Unknown { kind: k },
        _ => return Err(StateError::Invalid("entry kind")),
    };
    Ok(Stored {
        number,
        sent_at_ms,
        entry,
    })
}

impl Conversation {
    /// The stored form (§7.10). It holds message texts: the caller encrypts it before it touches a
    /// disk, and the buffer is wiped when dropped.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(self.peer.as_bytes());
        out.extend_from_slice(&self.own_stream.to_be_bytes());
        out.extend_from_slice(&self.next_number.to_be_bytes());
        out.extend_from_slice(&self.timer.version.to_be_bytes());
        out.extend_from_slice(&self.timer.expire_secs.to_be_bytes());
        out.push(match self.timer.source {
            TimerSource::Initial => 0,
            TimerSource::Own => 1,
            TimerSource::Peer => 2,
        });
        // Both counts are bounded by MAX_OUTBOX / MAX_HELD, far below u16::MAX.
        out.extend_from_slice(&(self.outbox.len() as u16).to_be_bytes());
        for e in self.outbox.entries() {
            put_entry(&mut out, &e.stored);
        }
        // At most MAX_STREAMS streams, each with at most WINDOW numbers: far below u8/u16 limits.
        out.push(self.inbox.streams.len() as u8);
        for st in &self.inbox.streams {
            out.extend_from_slice(&st.stream.to_be_bytes());
            out.extend_from_slice(&st.next.to_be_bytes());
            out.extend_from_slice(&(st.shown_early.len() as u16).to_be_bytes());
            for n in &st.shown_early {
                out.extend_from_slice(&n.to_be_bytes());
            }
            out.extend_from_slice(&(st.held.len() as u16).to_be_bytes());
            for held in st.held.values() {
                put_entry(&mut out, held);
            }
        }
        out.extend_from_slice(&(self.unconfirmed.len() as u16).to_be_bytes());
        for (id, s) in &self.unconfirmed {
            out.extend_from_slice(&id.stream.to_be_bytes());
            put_entry(&mut out, s);
        }
        out
    }

    /// Restores a stored state, checking every rule and bound.
    pub fn decode(bytes: &[u8]) -> Result<Self, StateError> {
        let mut r = Reader { rest: bytes };
        if r.take(MAGIC.len())? != MAGIC || r.u8()? != VERSION {
            return Err(StateError::NotAState);
        }
        let mut fp = [0u8; 32];
        fp.copy_from_slice(r.take(32)?);
        let own_stream = r.u64()?;
        let next_number = r.u64()?;
        let version = r.u64()?;
        let expire_secs = r.u32()?;
        let source = match r.u8()? {
            0 => TimerSource::Initial,
            1 => TimerSource::Own,
            2 => TimerSource::Peer,
            _ => return Err(StateError::Invalid("timer source")),
        };
        if own_stream == 0
            || next_number == 0
            || next_number > MAX_NUMBER
            || version >= MAX_NUMBER
            || expire_secs > MAX_EXPIRE_SECS
        {
            return Err(StateError::Invalid("header"));
        }
        let n_out = usize::from(r.u16()?);
        if n_out > MAX_OUTBOX {
            return Err(StateError::Invalid("outbox too long"));
        }
        let mut outbox = Outbox::default();
        let mut last = 0u64;
        let mut bytes_out = 0usize;
        for _ in 0..n_out {
            let s = read_entry(&mut r)?;
            if s.number <= last
                || s.number >= next_number
                || matches!(s.entry, Entry::Unknown { .. })
            {
                return Err(StateError::Invalid("outbox order"));
            }
            bytes_out += s.entry.size();
            last = s.number;
            outbox.push(s);
        }
        if bytes_out > MAX_OUTBOX_BYTES {
            return Err(StateError::Invalid("outbox too large"));
        }
        if let (Some(first), Some(last)) = (outbox.entries().next(), outbox.entries().last())
            && last.stored.number - first.stored.number >= WINDOW
        {
            return Err(StateError::Invalid("outbox span"));
        }
        let n_streams = usize::from(r.u8()?);
        if n_streams > MAX_STREAMS {
            return Err(StateError::Invalid("too many streams"));
        }
        let mut streams = VecDeque::with_capacity(n_streams);
        let (mut held_count, mut held_bytes) = (0usize, 0usize);
        for _ in 0..n_streams {
            let stream = r.u64()?;
            let next = r.u64()?;
            if stream == 0
                || next == 0
                || next >= MAX_NUMBER
                || streams.iter().any(|s: &StreamState| s.stream == stream)
            {
                return Err(StateError::Invalid("inbox stream"));
            }
            let in_window = |n: u64| n > next && n - next < WINDOW;
            let n_early = usize::from(r.u16()?);
            let mut shown_early = BTreeSet::new();
            for _ in 0..n_early {
                let n = r.u64()?;
                if !in_window(n) || !shown_early.insert(n) {
                    return Err(StateError::Invalid("shown entry out of the window"));
                }
            }
            let n_held = usize::from(r.u16()?);
            let mut held = BTreeMap::new();
            for _ in 0..n_held {
                let s = read_entry(&mut r)?;
                if !in_window(s.number)
                    || held.contains_key(&s.number)
                    || shown_early.contains(&s.number)
                {
                    return Err(StateError::Invalid("held entry out of the window"));
                }
                held_count += 1;
                held_bytes += s.entry.size();
                held.insert(s.number, s);
            }
            streams.push_back(StreamState {
                stream,
                next,
                held,
                shown_early,
            });
        }
        if held_count > MAX_HELD || held_bytes > MAX_HELD_BYTES {
            return Err(StateError::Invalid("held too large"));
        }
        let n_unconfirmed = usize::from(r.u16()?);
        // New entries are refused once MAX_UNCONFIRMED wait, but one that fills a gap releases up to
        // MAX_HELD more at once: whatever the encoder hands out must decode (§7.10).
        if n_unconfirmed > MAX_UNCONFIRMED + MAX_HELD {
            return Err(StateError::Invalid("too many unconfirmed"));
        }
        let mut unconfirmed = Vec::with_capacity(n_unconfirmed);
        let mut unconfirmed_bytes = 0usize;
        for _ in 0..n_unconfirmed {
            let stream = r.u64()?;
            let s = read_entry(&mut r)?;
            if stream == 0
                || s.number == 0
                || s.number >= MAX_NUMBER
                || matches!(s.entry, Entry::Timer { .. })
            {
                return Err(StateError::Invalid("unconfirmed entry"));
            }
            unconfirmed_bytes += s.entry.size();
            unconfirmed.push((
                MessageId {
                    stream,
                    number: s.number,
                },
                s,
            ));
        }
        if unconfirmed_bytes > MAX_UNCONFIRMED_BYTES + MAX_HELD_BYTES {
            return Err(StateError::Invalid("unconfirmed too large"));
        }
        if !r.rest.is_empty() {
            return Err(StateError::NotAState);
        }
        Ok(Conversation {
            peer: Fingerprint::from_bytes(fp),
            own_stream,
            next_number,
            timer: TimerSetting {
                expire_secs,
                version,
                source,
            },
            outbox,
            inbox: Inbox {
                streams,
                held_bytes,
            },
            unconfirmed,
        })
    }
}
