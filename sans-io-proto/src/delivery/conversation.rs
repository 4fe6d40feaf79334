//! One conversation's delivery state (PROTOCOL.md §7.3–7.7): our stream and numbering, the outbox,
//! the inbox and the timer, for one peer identity.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::identity::Fingerprint;
use crate::session::{Content, ContentError, MAX_EXPIRE_SECS, MAX_TEXT_LEN};

use super::inbox::Inbox;
use super::outbox::{OutEntry, Outbox, OutboxError};
use super::timer::{TimerSetting, TimerSource};
use super::{
    Entry, MAX_NUMBER, MAX_UNCONFIRMED, MAX_UNCONFIRMED_BYTES, MessageId, Stored, new_stream,
};

/// What receiving a reliable content did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Whether to acknowledge it.
    pub ack: bool,
    /// Whether the stored state changed (if not, there is nothing to store again).
    pub changed: bool,
    /// Entries to show now, in the sender's order.
    pub shown: Vec<(MessageId, Stored)>,
    /// The timer setting, if a shown Timer changed it.
    pub timer_changed: Option<TimerSetting>,
}

/// The delivery state for one peer identity.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub(crate) peer: Fingerprint,
    pub(crate) own_stream: u64,
    pub(crate) next_number: u64,
    pub(crate) timer: TimerSetting,
    pub(crate) outbox: Outbox,
    pub(crate) inbox: Inbox,
    /// Shown entries the application has not yet confirmed as recorded (§7.5): re-shown after a
    /// restart until confirmed.
    pub(crate) unconfirmed: Vec<(MessageId, Stored)>,
}

impl Conversation {
    /// A fresh conversation with `peer`: a new random stream, nothing sent or received.
    pub fn new(peer: Fingerprint, rng: &mut impl CryptoRngCore) -> Self {
        Conversation {
            peer,
            own_stream: new_stream(rng),
            next_number: 1,
            timer: TimerSetting::default(),
            outbox: Outbox::default(),
            inbox: Inbox::new(),
            unconfirmed: Vec::new(),
        }
    }

    /// The peer identity this state belongs to.
    pub fn peer(&self) -> &Fingerprint {
        &self.peer
    }

    /// The timer in force.
    pub fn timer(&self) -> TimerSetting {
        self.timer
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The inbox.
    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Our stream id.
    pub fn own_stream(&self) -> u64 {
        self.own_stream
    }

    fn queue(&mut self, sent_at_ms: u64, entry: Entry) -> Result<MessageId, OutboxError> {
        let number = self.next_number;
        if number >= MAX_NUMBER {
            return Err(OutboxError::Exhausted);
        }
        self.outbox.check_room(number, entry.size())?;
        self.outbox.push(Stored {
            number,
            sent_at_ms,
            entry,
        });
        self.next_number += 1;
        Ok(MessageId {
            stream: self.own_stream,
            number,
        })
    }

    /// Queues a text written by the user (§7.4); it carries the timer in force.
    pub fn queue_text(&mut self, text: &str, sent_at_ms: u64) -> Result<MessageId, OutboxError> {
        if text.is_empty() {
            return Err(ContentError::EmptyText.into());
        }
        if text.len() > MAX_TEXT_LEN {
            return Err(ContentError::TextTooLong { len: text.len() }.into());
        }
        let entry = Entry::Text {
            expire_secs: self.timer.expire_secs,
            text: Zeroizing::new(text.to_owned()),
        };
        self.queue(sent_at_ms, entry)
    }

    /// Changes the timer here and queues the change for the peer (§7.7).
    pub fn queue_timer(
        &mut self,
        expire_secs: u32,
        sent_at_ms: u64,
    ) -> Result<MessageId, OutboxError> {
        if expire_secs > MAX_EXPIRE_SECS {
            return Err(ContentError::TimerTooLong(expire_secs).into());
        }
        let version = self
            .timer
            .version
            .checked_add(1)
            .ok_or(OutboxError::Exhausted)?;
        if version >= MAX_NUMBER {
            return Err(OutboxError::Exhausted);
        }
        let id = self.queue(
            sent_at_ms,
            Entry::Timer {
                version,
                expire_secs,
            },
        )?;
        self.timer = TimerSetting {
            expire_secs,
            version,
            source: TimerSource::Own,
        };
        Ok(id)
    }

    /// An Ack named `id`: the entry leaves the outbox. Whether it was ours and waiting.
    pub fn acknowledge(&mut self, id: &MessageId) -> bool {
        id.stream == self.own_stream && self.outbox.remove(id.number)
    }

    /// Shown entries not yet confirmed by the application, oldest first.
    pub fn unconfirmed(&self) -> &[(MessageId, Stored)] {
        &self.unconfirmed
    }

    /// The application recorded these shown entries: they are no longer re-shown. Whether anything
    /// changed.
    pub fn confirm_shown(&mut self, ids: &[MessageId]) -> bool {
        let before = self.unconfirmed.len();
        self.unconfirmed.retain(|(id, _)| !ids.contains(id));
        self.unconfirmed.len() != before
    }

    /// A reliable content from the peer (§7.5); shown Timer entries are adopted by the rule of §7.7,
    /// shown texts wait for the application's confirmation.
    pub fn receive(&mut self, id: MessageId, stored: Stored, own: &Fingerprint) -> Received {
        let unconfirmed_bytes: usize = self.unconfirmed.iter().map(|(_, s)| s.entry.size()).sum();
        if self.unconfirmed.len() >= MAX_UNCONFIRMED
            || unconfirmed_bytes + stored.entry.size() > MAX_UNCONFIRMED_BYTES
        {
            // The application does not keep up: neither kept nor acknowledged (sent again later).
            return Received {
                ack: false,
                changed: false,
                shown: Vec::new(),
                timer_changed: None,
            };
        }
        let outcome = self.inbox.receive(id, stored);
        let mut timer_changed = None;
        for (_, s) in &outcome.shown {
            if let Entry::Timer {
                version,
                expire_secs,
            } = s.entry
                && self.timer.peer_wins(version, own, &self.peer)
            {
                self.timer = TimerSetting {
                    expire_secs,
                    version,
                    source: TimerSource::Peer,
                };
                timer_changed = Some(self.timer);
            }
        }
        for (id, s) in &outcome.shown {
            if !matches!(s.entry, Entry::Timer { .. }) {
                self.unconfirmed.push((*id, s.clone()));
            }
        }
        Received {
            ack: outcome.ack,
            changed: outcome.changed,
            shown: outcome.shown,
            timer_changed,
        }
    }

    /// The content to send for an outbox entry.
    pub fn content_of(&self, entry: &OutEntry) -> Option<Content> {
        let id = MessageId {
            stream: self.own_stream,
            number: entry.stored.number,
        };
        match &entry.stored.entry {
            Entry::Text { expire_secs, text } => Some(Content::Text {
                id,
                expire_secs: *expire_secs,
                text: text.as_str().to_owned(),
            }),
            Entry::Timer {
                version,
                expire_secs,
            } => Some(Content::Timer {
                id,
                version: *version,
                expire_secs: *expire_secs,
            }),
            Entry::Unknown { .. } => None,
        }
    }
}

/// The stored form of a received reliable content, if it is one.
pub(crate) fn stored_of(content: Content, sent_at_ms: u64) -> Option<(MessageId, Stored)> {
    let (id, entry) = match content {
        Content::Text {
            id,
            expire_secs,
            text,
        } => (
            id,
            Entry::Text {
                expire_secs,
                text: Zeroizing::new(text),
            },
        ),
        Content::Timer {
            id,
            version,
            expire_secs,
        } => (
            id,
            Entry::Timer {
                version,
                expire_secs,
            },
        ),
        Content::Unknown { kind, id } => (id, Entry::Unknown { kind }),
        _ => return None,
    };
    Some((
        id,
        Stored {
            number: id.number,
            sent_at_ms,
            entry,
        },
    ))
}
