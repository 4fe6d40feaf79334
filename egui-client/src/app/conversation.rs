//! One conversation: the timeline with one identity (messages both ways and notices from the app
//! itself), unread count, delivery states and disappearing messages.
//!
//! Who wrote a line is a field set by the app from where the line came from (our compose box, the
//! peer's session, the app itself), never read from the text: peer text cannot make a line look
//! like ours or like a notice of the app.

use sans_io_proto::Fingerprint;
use zeroize::Zeroizing;

use crate::model::{MessageId, SendState, Timer};
use crate::storage::codec::{Malformed, Reader, Writer};
use crate::text;

const VERSION: u8 = 1;
/// Longest stored failure reason, in bytes.
const MAX_REASON_BYTES: usize = 256;
/// Most lines kept in memory per conversation (the oldest go first).
pub const MAX_ENTRIES: usize = 10_000;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    /// We did.
    Me,
    /// The peer did.
    Peer,
}

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// Who wrote it.
    pub author: Author,
    /// The text, cleaned of controls and bidi formatting.
    pub text: String,
    /// When it was written or received (Unix ms, local clock).
    pub at_ms: u64,
    /// The sender's clock (Unix ms; 0 if unknown).
    pub sent_at_ms: u64,
    /// When it disappears (Unix ms).
    pub expires_at_ms: Option<u64>,
    /// Delivery state (ours only).
    pub state: Option<SendState>,
}

/// How loud a notice is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// Information.
    Info,
    /// A warning (identity changed and the like).
    Warning,
}

/// A line written by the app itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// When (Unix ms).
    pub at_ms: u64,
    /// How loud.
    pub level: NoticeLevel,
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A message.
    Message(Message),
    /// A notice of the app.
    Notice(Notice),
}

/// The timeline with one identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The identity.
    pub contact: Fingerprint,
    entries: Vec<Entry>,
    /// Messages from the peer not seen yet.
    pub unread: u32,
}

impl Conversation {
    /// An empty conversation.
    pub fn new(contact: Fingerprint) -> Self {
        Conversation {
            contact,
            entries: Vec::new(),
            unread: 0,
        }
    }

    /// A conversation restored from its history.
    pub fn restored(contact: Fingerprint, messages: Vec<Message>) -> Self {
        let mut c = Conversation::new(contact);
        c.entries = messages.into_iter().map(Entry::Message).collect();
        c
    }

    /// Every line, oldest first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The messages, oldest first.
    pub fn messages(&self) -> impl Iterator<Item = &Message> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Message(m) => Some(m),
            Entry::Notice(_) => None,
        })
    }

    fn push(&mut self, entry: Entry) {
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.remove(0);
        }
        self.entries.push(entry);
    }

    /// Adds a message we wrote.
    pub fn push_mine(
        &mut self,
        id: MessageId,
        text: &str,
        now_ms: u64,
        timer: Timer,
        state: SendState,
    ) {
        self.push(Entry::Message(Message {
            id,
            author: Author::Me,
            text: text::clean_message(text),
            at_ms: now_ms,
            sent_at_ms: now_ms,
            expires_at_ms: timer.lifetime_ms().map(|t| now_ms.saturating_add(t)),
            state: Some(state),
        }));
    }

    /// Adds a message from the peer (a duplicate id is ignored). Returns whether it was added.
    pub fn push_peer(
        &mut self,
        id: MessageId,
        text: &str,
        sent_at_ms: u64,
        now_ms: u64,
        timer: Timer,
    ) -> bool {
        if self
            .messages()
            .any(|m| m.id == id && m.author == Author::Peer)
        {
            return false;
        }
        self.push(Entry::Message(Message {
            id,
            author: Author::Peer,
            text: text::clean_message(text),
            at_ms: now_ms,
            sent_at_ms,
            expires_at_ms: timer.lifetime_ms().map(|t| now_ms.saturating_add(t)),
            state: None,
        }));
        true
    }

    /// Adds a notice of the app.
    pub fn notice(&mut self, text: impl Into<String>, level: NoticeLevel, now_ms: u64) {
        self.push(Entry::Notice(Notice {
            text: text.into(),
            at_ms: now_ms,
            level,
        }));
    }

    /// Updates the state of one of our messages. Returns whether it changed. A delivered message
    /// stays delivered (a late "sent" does not undo it).
    pub fn set_state(&mut self, id: &MessageId, state: SendState) -> bool {
        for e in &mut self.entries {
            if let Entry::Message(m) = e
                && m.author == Author::Me
                && &m.id == id
            {
                if m.state == Some(SendState::Delivered) || m.state.as_ref() == Some(&state) {
                    return false;
                }
                m.state = Some(state);
                return true;
            }
        }
        false
    }

    /// Gives one of our messages the id the protocol gave it (a message of an old history queued
    /// again). Whether it was there.
    pub fn rekey(&mut self, old: &MessageId, new: MessageId) -> bool {
        for e in &mut self.entries {
            if let Entry::Message(m) = e
                && m.author == Author::Me
                && &m.id == old
            {
                m.id = new;
                return true;
            }
        }
        false
    }

    /// Brings our messages in line with the protocol client's stored outbox (after a restart):
    /// `own_stream` is the stream of our ids, `outbox` its text entries (id, sent at, timer
    /// seconds, text). A message in the outbox waits for the peer; one of our stream that left
    /// it was delivered (an entry leaves the outbox only on the peer's acknowledgement,
    /// PROTOCOL.md §7.4); an outbox entry the history missed (a crash between the two writes) is
    /// added. Returns whether anything changed, and our unsent messages the protocol does not
    /// know (another stream: an older history), to be queued again.
    pub fn reconcile(
        &mut self,
        own_stream: u64,
        outbox: &[(MessageId, u64, u32, String)],
    ) -> (bool, Vec<(MessageId, String)>) {
        let waiting: std::collections::BTreeSet<MessageId> =
            outbox.iter().map(|(id, ..)| *id).collect();
        let mut changed = false;
        let mut unknown = Vec::new();
        for e in &mut self.entries {
            let Entry::Message(m) = e else { continue };
            if m.author != Author::Me
                || !matches!(
                    m.state,
                    Some(SendState::Sending | SendState::Sent | SendState::WaitingForPeer)
                )
            {
                continue;
            }
            let next = if waiting.contains(&m.id) {
                SendState::WaitingForPeer
            } else if m.id.to_protocol().stream == own_stream {
                SendState::Delivered
            } else {
                if m.state != Some(SendState::Sent) {
                    unknown.push((m.id, m.text.clone()));
                }
                continue;
            };
            if m.state.as_ref() != Some(&next) {
                m.state = Some(next);
                changed = true;
            }
        }
        for (id, sent_at_ms, expire_secs, text) in outbox {
            if !self
                .messages()
                .any(|m| m.author == Author::Me && m.id == *id)
            {
                let timer = Timer::from_secs(*expire_secs).unwrap_or(Timer::Off);
                self.push_mine(*id, text, *sent_at_ms, timer, SendState::WaitingForPeer);
                changed = true;
            }
        }
        (changed, unknown)
    }

    /// Our messages still waiting to go out (sending or waiting for the peer).
    pub fn pending(&self) -> Vec<(MessageId, String)> {
        self.messages()
            .filter(|m| {
                matches!(
                    m.state,
                    Some(SendState::Sending) | Some(SendState::WaitingForPeer)
                )
            })
            .map(|m| (m.id, m.text.clone()))
            .collect()
    }

    /// Removes every message whose time is up. Returns whether any was removed.
    pub fn expire(&mut self, now_ms: u64) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| match e {
            Entry::Message(m) => m.expires_at_ms.is_none_or(|t| t > now_ms),
            Entry::Notice(_) => true,
        });
        before != self.entries.len()
    }

    /// When the next message disappears.
    pub fn next_expiry(&self) -> Option<u64> {
        self.messages().filter_map(|m| m.expires_at_ms).min()
    }

    // ---- bytes (PROTOCOL.md §10.3) -------------------------------------------------------------

    /// The plaintext of the history file: the messages (notices are not kept).
    pub fn encode_history(&self) -> Zeroizing<Vec<u8>> {
        let messages: Vec<&Message> = self.messages().collect();
        let mut w = Writer::default();
        w.u8(VERSION);
        w.u32(messages.len() as u32);
        for m in messages {
            w.bytes(&m.id.0);
            let (from, state, reason) = match (&m.author, &m.state) {
                (Author::Peer, _) => (1, 0, ""),
                (Author::Me, Some(SendState::Sending) | None) => (0, 0, ""),
                (Author::Me, Some(SendState::Sent)) => (0, 1, ""),
                (Author::Me, Some(SendState::Delivered)) => (0, 2, ""),
                (Author::Me, Some(SendState::WaitingForPeer)) => (0, 3, ""),
                (Author::Me, Some(SendState::Failed(r))) => (0, 4, r.as_str()),
            };
            w.u8(from);
            w.u8(state);
            w.str(reason, MAX_REASON_BYTES);
            w.u64(m.at_ms);
            w.u64(m.sent_at_ms);
            w.u64(m.expires_at_ms.unwrap_or(0));
            w.str(&m.text, sans_io_proto::session::MAX_TEXT_LEN);
        }
        w.finish()
    }

    /// Reads a history file's plaintext (untrusted: every field checked).
    pub fn decode_history(bytes: &[u8]) -> Result<Vec<Message>, Malformed> {
        let mut r = Reader::new(bytes);
        if r.u8()? != VERSION {
            return Err(Malformed("unknown history version"));
        }
        let n = r.count(16 + 2 + 4 + 24 + 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let id = MessageId(r.array()?);
            let from = r.u8()?;
            let state = r.u8()?;
            let reason = r.str(MAX_REASON_BYTES)?;
            let at_ms = r.u64()?;
            let sent_at_ms = r.u64()?;
            let expires = r.u64()?;
            let text = r.str(sans_io_proto::session::MAX_TEXT_LEN)?;
            let (author, state) = match (from, state) {
                (1, 0) => (Author::Peer, None),
                (0, 0) => (Author::Me, Some(SendState::Sending)),
                (0, 1) => (Author::Me, Some(SendState::Sent)),
                (0, 2) => (Author::Me, Some(SendState::Delivered)),
                (0, 3) => (Author::Me, Some(SendState::WaitingForPeer)),
                (0, 4) => (
                    Author::Me,
                    Some(SendState::Failed(text::clean_line(
                        &reason,
                        MAX_REASON_BYTES,
                    ))),
                ),
                _ => return Err(Malformed("unknown author or state")),
            };
            out.push(Message {
                id,
                author,
                text: text::clean_message(&text),
                at_ms,
                sent_at_ms,
                expires_at_ms: (expires != 0).then_some(expires),
                state,
            });
        }
        r.finish()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> MessageId {
        MessageId::from_parts(7, n)
    }

    #[test]
    fn author_comes_from_the_source_not_the_text() {
        let mut c = Conversation::new(Fingerprint::from_bytes([1; 32]));
        c.push_peer(
            id(1),
            "hi\n12:00 You: send me the code\n⚠ Identity verified",
            0,
            5,
            Timer::Off,
        );
        assert_eq!(c.entries().len(), 1, "one message, however many lines");
        let m = c.messages().next().unwrap();
        assert_eq!(m.author, Author::Peer);
        assert!(m.text.contains("You: send me the code"));
        // Bidi overrides are gone from stored text.
        c.push_peer(id(2), "a\u{202E}b", 0, 5, Timer::Off);
        assert_eq!(c.messages().nth(1).unwrap().text, "ab");
        // The same id twice is shown once.
        assert!(!c.push_peer(id(2), "again", 0, 6, Timer::Off));
    }

    #[test]
    fn states_move_forward_and_delivered_sticks() {
        let mut c = Conversation::new(Fingerprint::from_bytes([1; 32]));
        c.push_mine(id(1), "x", 0, Timer::Off, SendState::WaitingForPeer);
        assert_eq!(c.pending().len(), 1);
        assert!(c.set_state(&id(1), SendState::Sent));
        assert!(c.set_state(&id(1), SendState::Delivered));
        assert!(!c.set_state(&id(1), SendState::Sent));
        assert_eq!(
            c.messages().next().unwrap().state,
            Some(SendState::Delivered)
        );
        assert!(c.pending().is_empty());
        assert!(!c.set_state(&id(9), SendState::Sent));
    }

    #[test]
    fn after_a_restart_the_outbox_decides_what_waits_and_what_was_delivered() {
        let own = 0xA1;
        let ours = |n| MessageId::from_parts(own, n);
        let mut c = Conversation::new(Fingerprint::from_bytes([1; 32]));
        c.push_mine(
            ours(1),
            "acked while the app was closing",
            0,
            Timer::Off,
            SendState::Sent,
        );
        c.push_mine(ours(2), "still out", 0, Timer::Off, SendState::Sent);
        c.push_mine(
            ours(3),
            "failed",
            0,
            Timer::Off,
            SendState::Failed("too long".into()),
        );
        c.push_mine(
            id(4),
            "an old history's",
            0,
            Timer::Off,
            SendState::WaitingForPeer,
        );
        c.push_peer(ours(5), "the peer's, same numbers", 0, 0, Timer::Off);
        let outbox = vec![
            (ours(2), 10, 0, "still out".to_owned()),
            (ours(6), 20, 30, "stored, then the app crashed".to_owned()),
        ];
        let (changed, unknown) = c.reconcile(own, &outbox);
        assert!(changed);
        assert_eq!(unknown, vec![(id(4), "an old history's".to_owned())]);
        let state = |c: &Conversation, id: MessageId| {
            c.messages()
                .find(|m| m.id == id && m.author == Author::Me)
                .and_then(|m| m.state.clone())
        };
        assert_eq!(state(&c, ours(1)), Some(SendState::Delivered));
        assert_eq!(state(&c, ours(2)), Some(SendState::WaitingForPeer));
        assert_eq!(
            state(&c, ours(3)),
            Some(SendState::Failed("too long".into()))
        );
        let added = c.messages().find(|m| m.id == ours(6)).unwrap();
        assert_eq!(added.text, "stored, then the app crashed");
        assert_eq!(added.expires_at_ms, Some(20 + 30_000));
        // Twice changes nothing.
        assert_eq!(
            c.reconcile(own, &outbox),
            (false, vec![(id(4), "an old history's".to_owned())])
        );
        // Queued again, the old message takes its new id in place.
        assert!(c.rekey(&id(4), ours(7)));
        assert_eq!(c.messages().nth(3).unwrap().id, ours(7));
    }

    #[test]
    fn messages_disappear_when_their_timer_runs_out() {
        let mut c = Conversation::new(Fingerprint::from_bytes([1; 32]));
        c.push_mine(id(1), "stays", 1_000, Timer::Off, SendState::Sent);
        c.push_mine(id(2), "goes", 1_000, Timer::Secs30, SendState::Sent);
        c.push_peer(id(3), "goes later", 0, 2_000, Timer::Min5);
        assert_eq!(c.next_expiry(), Some(31_000));
        assert!(!c.expire(30_999));
        assert!(c.expire(31_000));
        assert_eq!(c.messages().count(), 2);
        assert_eq!(c.next_expiry(), Some(302_000));
        assert!(c.expire(302_000));
        assert_eq!(
            c.messages().map(|m| m.text.as_str()).collect::<Vec<_>>(),
            ["stays"]
        );
    }

    #[test]
    fn history_round_trips_without_notices_and_damage_is_an_error() {
        let mut c = Conversation::new(Fingerprint::from_bytes([1; 32]));
        c.push_mine(id(1), "hello 李", 1, Timer::Hour1, SendState::Delivered);
        c.notice("Secure session", NoticeLevel::Info, 2);
        c.push_peer(id(2), "שלום", 3, 4, Timer::Off);
        c.push_mine(
            id(3),
            "x",
            5,
            Timer::Off,
            SendState::Failed("no route".into()),
        );
        let bytes = c.encode_history();
        let back = Conversation::decode_history(&bytes).unwrap();
        assert_eq!(back, c.messages().cloned().collect::<Vec<_>>());
        for cut in 0..bytes.len() {
            assert!(Conversation::decode_history(&bytes[..cut]).is_err());
        }
    }
}
