//! What must hold in every simulated session, whatever the faults (issue 12, PROTOCOL.md §7):
//!
//! 1. **Nothing is shown twice**: per receiver (across its crashes), per sender, per message id.
//! 2. **In the sender's order**: the ids a receiver shows from one sender's stream follow each other
//!    without a gap (numbers 1, 2, 3, … skipping only timer changes, which show nothing); a lower or
//!    repeated number is out of order, a higher one means a message was lost.
//! 3. **Nothing forged is shown**: every shown text was written by the identity it is attributed to,
//!    to the identity that shows it, with the same bytes; every display name shown is the sender's.
//! 4. **Trust gate**: nothing (no text, no Profile, no Ack, no timer change) is sent in a session to
//!    an identity the simulated app's policy has not approved: checked on the wire by decrypting
//!    every payload with a copy of the receiving session ([`Ledger::tapped`]), in the client's state
//!    after every step (a session the client treats as approved is one the policy approved), at the
//!    receiving end (nothing is shown from an identity the receiver did not approve), and at Mallory
//!    (nothing a victim wrote, no display name and no Ack reaches her unless the victim approved her).
//! 5. **Delivered means stored**: when a sender sees *Delivered*, the receiver has shown the message
//!    or holds it stored beyond a gap; once settled, it has shown it.
//! 6. **Eventual delivery**: once the faults are over and both users have been connected and paired
//!    for [`crate::scenario::SETTLE`], every message each wrote to the other has been shown exactly
//!    once, both outboxes are empty, nothing is held, and both agree on the disappearing timer.
//! 7. **The relay never sees a plaintext or a key**: no written text and no identity key (public or
//!    private) appears in any payload a client sends.

use std::collections::HashMap;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use sans_io_proto::delivery::Conversation;
use sans_io_proto::{Content, Fingerprint, IdentityKeyPair, MessageId};

/// Violations kept per session (a broken app can produce thousands; the first ones tell the story).
const MAX_VIOLATIONS: usize = 40;

/// Something the user (or Mallory) wrote and the app stored.
#[derive(Debug, Clone)]
pub struct Written {
    /// The writing user (`None`: Mallory).
    pub writer: Option<usize>,
    /// The writer's identity.
    pub from: Fingerprint,
    /// The addressee's identity.
    pub to: Fingerprint,
    /// The id the client gave it.
    pub id: MessageId,
    /// The text; `None` for a timer change (which shows no message).
    pub text: Option<String>,
    /// When.
    pub at: Duration,
}

/// Who sent an envelope, and whom its sender's app approved at that moment.
#[derive(Debug, Clone, Copy)]
pub struct SendRecord {
    /// The sending user (`None`: Mallory, who is not held to the gate).
    pub sender: Option<usize>,
    /// The identity the sender's policy approved then (its contact).
    pub approved: Option<Fingerprint>,
}

/// The record of a session, and the violations found.
#[derive(Default)]
pub struct Ledger {
    written: Vec<Written>,
    by_id: HashMap<(Fingerprint, MessageId), usize>,
    shown: HashMap<(usize, Fingerprint, MessageId), u32>,
    last_shown: HashMap<(usize, Fingerprint, u64), u64>,
    delivered: Vec<(usize, Fingerprint, MessageId)>,
    sends: HashMap<[u8; 32], SendRecord>,
    secrets: Vec<(String, Vec<u8>)>,
    /// Broken invariants (an empty list is a pass).
    pub violations: Vec<String>,
    /// Violations beyond those kept.
    pub more_violations: usize,
    /// Things worth knowing when reading a failing seed.
    pub notes: Vec<String>,
    /// Payloads decrypted by the wire tap and checked.
    pub tapped: u64,
}

const WORDS: &[&str] = &[
    "apple", "river", "orbit", "lantern", "quartz", "meadow", "cipher", "harbor", "velvet",
    "summit",
];

fn short(fp: &Fingerprint) -> String {
    fp.to_hex()[..8].to_owned()
}

/// The envelope key the send log uses: 32 bytes after the prefix (random in every Data envelope).
fn send_key(envelope: &[u8]) -> Option<[u8; 32]> {
    envelope.get(2..34)?.try_into().ok()
}

impl Ledger {
    /// A fresh, unique message text of random length (exercises the padding buckets). Its first
    /// 32 bytes are unique too: the relay scan looks for them.
    pub fn next_text(seed: u64, name: &str, n: u32, rng: &mut ChaCha20Rng) -> String {
        let id: u64 = rng.r#gen();
        let mut text = format!("{name}#{n} s{seed} id{id:016x}");
        let words = rng.gen_range(0..60);
        for _ in 0..words {
            text.push(' ');
            text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
        }
        text
    }

    /// Records a broken invariant.
    pub fn violation(&mut self, what: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(what);
        } else {
            self.more_violations += 1;
        }
    }

    /// Records a note for the report.
    pub fn note(&mut self, what: String) {
        self.notes.push(what);
    }

    /// Registers an identity whose keys the relay must never see.
    pub fn secret_identity(&mut self, name: &str, id: &IdentityKeyPair) {
        let public = id.public().as_bytes()[4..36].to_vec();
        let private = id.to_private_bytes()[1..33].to_vec();
        self.secrets
            .push((format!("{name}'s identity key"), public));
        self.secrets
            .push((format!("{name}'s PRIVATE key"), private));
    }

    /// A write the app stored.
    pub fn written(&mut self, w: Written) {
        if let Some(text) = &w.text {
            let needle = text.as_bytes()[..text.len().min(32)].to_vec();
            self.secrets.push((format!("the text {text:.24?}"), needle));
        }
        let key = (w.from, w.id);
        if self.by_id.insert(key, self.written.len()).is_some() {
            self.violation(format!(
                "{:?}: two writes of {} got the same id {}",
                w.at,
                short(&w.from),
                w.id
            ));
        }
        self.written.push(w);
    }

    /// Writes stored so far.
    pub fn writes(&self) -> &[Written] {
        &self.written
    }

    /// Invariant 7: a payload a client sent to the relay.
    pub fn scan_relay(&mut self, payload: &[u8]) {
        let found: Vec<String> = self
            .secrets
            .iter()
            .filter(|(_, needle)| contains(payload, needle))
            .map(|(what, _)| what.clone())
            .collect();
        for what in found {
            self.violation(format!("the relay saw {what}"));
        }
    }

    /// Records who sent a Data envelope and whom their app approved then (for the wire tap).
    pub fn sent(&mut self, envelope: &[u8], record: SendRecord) {
        if let Some(key) = send_key(envelope) {
            self.sends.insert(key, record);
        }
    }

    /// Whether an envelope could breach the gate towards `receiver`: a user sent it while its app
    /// approved nobody, or another identity.
    pub fn might_breach(&self, envelope: &[u8], receiver: &Fingerprint) -> bool {
        send_key(envelope)
            .and_then(|k| self.sends.get(&k))
            .is_some_and(|r| r.sender.is_some() && r.approved != Some(*receiver))
    }

    /// Invariants 1–4 when a client shows a message.
    #[allow(clippy::too_many_arguments)]
    pub fn shown(
        &mut self,
        at: Duration,
        receiver: usize,
        receiver_name: &str,
        receiver_fp: &Fingerprint,
        from: &Fingerprint,
        id: MessageId,
        text: &str,
        approved: bool,
    ) {
        let who = format!("{at:?} {receiver_name}");
        if !approved {
            self.violation(format!(
                "{who} showed a message from {}, an identity its app did not approve",
                short(from)
            ));
        }
        let Some(&w) = self.by_id.get(&(*from, id)) else {
            return self.violation(format!(
                "{who} showed a message nobody wrote (forged): {id} from {}, {:?}",
                short(from),
                &text[..text.len().min(40)]
            ));
        };
        let w = self.written[w].clone();
        if w.text.as_deref() != Some(text) {
            self.violation(format!(
                "{who} showed {id} from {} with other bytes than were written",
                short(from)
            ));
        }
        if w.to != *receiver_fp {
            self.violation(format!(
                "{who} showed {id}, which {} wrote to {}",
                short(from),
                short(&w.to)
            ));
        }
        let count = self.shown.entry((receiver, *from, id)).or_insert(0);
        *count += 1;
        if *count > 1 {
            return self.violation(format!("{who} showed {id} from {} twice", short(from)));
        }
        // Invariant 2: the next number of this stream, skipping timer changes (shown silently).
        let last = self
            .last_shown
            .get(&(receiver, *from, id.stream))
            .copied()
            .unwrap_or(0);
        let mut expected = last + 1;
        while self.is_timer(from, id.stream, expected) {
            expected += 1;
        }
        if id.number <= last {
            self.violation(format!(
                "{who} showed {id} from {} after number {last}: out of order",
                short(from)
            ));
        } else if id.number != expected {
            self.violation(format!(
                "{who} showed {id} from {} but {expected} was next: a message was skipped",
                short(from)
            ));
        }
        let last = self
            .last_shown
            .entry((receiver, *from, id.stream))
            .or_insert(0);
        *last = (*last).max(id.number);
    }

    fn is_timer(&self, from: &Fingerprint, stream: u64, number: u64) -> bool {
        self.by_id
            .get(&(*from, MessageId { stream, number }))
            .is_some_and(|&w| self.written[w].text.is_none())
    }

    /// How often `receiver` showed `id` from `from`.
    pub fn shown_count(&self, receiver: usize, from: &Fingerprint, id: MessageId) -> u32 {
        self.shown.get(&(receiver, *from, id)).copied().unwrap_or(0)
    }

    /// Invariant 5 when a sender sees *Delivered*: `receiver` (if a user) with the delivery state it
    /// stored for the sender must have shown the message, or hold it beyond a gap.
    pub fn delivered(
        &mut self,
        at: Duration,
        sender: (usize, &str, &Fingerprint),
        to: &Fingerprint,
        id: MessageId,
        receiver: Option<(usize, Option<&[u8]>)>,
    ) {
        let (s, name, from) = sender;
        let who = format!("{at:?} {name}");
        let Some(&w) = self.by_id.get(&(*from, id)) else {
            return self.violation(format!("{who} saw {id} delivered, but it never wrote it"));
        };
        let w = self.written[w].clone();
        if w.to != *to {
            self.violation(format!(
                "{who} saw {id} delivered to {}, but wrote it to {}",
                short(to),
                short(&w.to)
            ));
        }
        self.delivered.push((s, *to, id));
        let Some((r, state)) = receiver else { return };
        let conv = state.and_then(|s| Conversation::decode(s).ok());
        let unconfirmed = conv
            .as_ref()
            .is_some_and(|c| c.unconfirmed().iter().any(|(u, _)| *u == id));
        let inbox = conv.map(|c| (c.inbox().next(), c.inbox().held()));
        let ok = match inbox {
            // Stored as shown: recorded in the history, or kept to be shown again after a restart.
            Some((next, _)) if id.number < next => {
                w.text.is_none() || self.shown_count(r, from, id) == 1 || unconfirmed
            }
            Some((next, held)) => id.number > next && held > 0,
            None => false,
        };
        if !ok {
            self.violation(format!(
                "{who} saw {id} delivered, but the receiver has neither shown nor stored it \
                 (stored inbox: {inbox:?})"
            ));
        }
    }

    /// Invariant 4 on the wire: `content` decrypted (by a copy of the receiver's session) from an
    /// envelope the sender with identity `from` sent to `receiver_fp`.
    pub fn tapped(
        &mut self,
        at: Duration,
        receiver: (&str, &Fingerprint),
        from: &Fingerprint,
        content: &Content,
        envelope: &[u8],
        sender_name: Option<&str>,
    ) {
        let (name, receiver_fp) = receiver;
        let kind = match content {
            Content::Resume(_) | Content::ResumeOk(_) => return,
            Content::Text { .. } => "a text",
            Content::Ack(_) => "an Ack",
            Content::Profile(_) => "its display name",
            Content::Timer { .. } => "a timer change",
            Content::Unknown { .. } => "an unknown reliable content",
        };
        self.tapped += 1;
        let Some(rec) = send_key(envelope).and_then(|k| self.sends.get(&k).copied()) else {
            return self.violation(format!(
                "{at:?} {name} received an authentic envelope that nobody sent"
            ));
        };
        let Some(sender) = rec.sender else { return };
        if rec.approved != Some(*receiver_fp) {
            self.violation(format!(
                "{at:?} user {sender} ({}) sent {kind} to {name}, an identity its app had not \
                 approved",
                short(from)
            ));
        }
        match content {
            Content::Text { id, text, .. } => {
                let ok = self.by_id.get(&(*from, *id)).is_some_and(|&w| {
                    let w = &self.written[w];
                    w.to == *receiver_fp && w.text.as_deref() == Some(text.as_str())
                });
                if !ok {
                    self.violation(format!(
                        "{at:?} {name} was sent {id}, which {} did not write to it",
                        short(from)
                    ));
                }
            }
            Content::Profile(p) if Some(p.as_str()) != sender_name => self.violation(format!(
                "{at:?} {name} was sent a display name that is not the sender's"
            )),
            _ => {}
        }
    }

    /// Invariant 6 for the pair (`a` wrote to `b`), once settled: every text shown exactly once
    /// (the order was checked as they were shown), every timer change stored (`b_inbox_next` is
    /// the number `b` would show next from `a`).
    pub fn check_settled(
        &mut self,
        a: (usize, &str, &Fingerprint),
        b: (usize, &str, &Fingerprint),
        b_inbox_next: u64,
    ) -> usize {
        let mut checked = 0;
        let writes: Vec<Written> = self
            .written
            .iter()
            .filter(|w| w.writer == Some(a.0) && w.to == *b.2)
            .cloned()
            .collect();
        for w in writes {
            checked += 1;
            let ok = match w.text {
                Some(_) => self.shown_count(b.0, a.2, w.id) == 1,
                None => w.id.number < b_inbox_next,
            };
            if !ok {
                self.violation(format!(
                    "settled, but {} never got {} that {} wrote at {:?} (shown {} times)",
                    b.1,
                    w.id,
                    a.1,
                    w.at,
                    self.shown_count(b.0, a.2, w.id)
                ));
            }
        }
        let delivered: Vec<MessageId> = self
            .delivered
            .iter()
            .filter(|(s, to, _)| *s == a.0 && to == b.2)
            .map(|(_, _, id)| *id)
            .collect();
        for id in delivered {
            let text = self
                .by_id
                .get(&(*a.2, id))
                .is_some_and(|&w| self.written[w].text.is_some());
            if text && self.shown_count(b.0, a.2, id) != 1 {
                self.violation(format!(
                    "{} saw {id} delivered, but {} never showed it",
                    a.1, b.1
                ));
            }
        }
        checked
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
