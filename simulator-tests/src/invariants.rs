//! What must hold after every step of every simulated session, whatever the faults:
//! - every message a client shows was sent by its peer, in the same session, exactly once, with
//!   the same bytes (nothing tampered, replayed, reflected or substituted is ever accepted);
//! - a secure session names the real peer (a substituted key never goes unnoticed: under a man
//!   in the middle the two sides' safety numbers differ);
//! - the relay never sees a plaintext or identity key material.

use std::collections::HashMap;

use quic_relay::core::RelayCore;
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use sans_io_proto::{IdentityKeyPair, SafetyNumber};

use crate::world::SimClient;

struct SentText {
    from: usize,
    session: [u8; 36],
    delivered: u32,
}

/// The record of a session, and the violations found.
#[derive(Default)]
pub struct Ledger {
    texts: HashMap<String, SentText>,
    /// Broken invariants (an empty list is a pass).
    pub violations: Vec<String>,
    /// Things worth knowing when reading a failing seed.
    pub notes: Vec<String>,
    /// Payloads the relay tampered with.
    pub forged: u64,
}

const WORDS: &[&str] = &[
    "apple", "river", "orbit", "lantern", "quartz", "meadow", "cipher", "harbor", "velvet",
    "summit",
];

impl Ledger {
    /// A fresh, unique message text of random length (exercises padding buckets).
    pub fn next_text(&mut self, seed: u64, name: &str, n: u32, rng: &mut ChaCha20Rng) -> String {
        let id: u64 = rng.r#gen();
        let mut text = format!("{name}#{n} s{seed} id{id:016x}");
        let words = rng.gen_range(0..60);
        for _ in 0..words {
            text.push(' ');
            text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
        }
        text
    }

    /// Records a message as sent by `from` in the session with this key picture.
    pub fn sent(&mut self, text: String, from: usize, session: &[u8; 36]) {
        self.texts.insert(
            text,
            SentText {
                from,
                session: *session,
                delivered: 0,
            },
        );
    }

    /// Checks a message a client showed.
    pub fn received(&mut self, to: usize, text: &str, clients: &[SimClient], mitm: bool) {
        let name = &clients[to].name;
        let Some(sent) = self.texts.get_mut(text) else {
            return self.violations.push(format!(
                "{name} showed a message nobody sent: {:?}",
                &text[..text.len().min(40)]
            ));
        };
        if sent.from == to {
            self.violations
                .push(format!("{name} accepted its own message (reflection)"));
        }
        if !mitm {
            let session = clients[to]
                .secure
                .as_ref()
                .map(|s| *s.key_visual.as_bytes());
            if session != Some(sent.session) {
                self.violations
                    .push(format!("{name} accepted a message from another session"));
            }
        }
        sent.delivered += 1;
        if sent.delivered > 1 {
            self.violations
                .push(format!("{name} showed a message twice"));
        }
    }

    /// Checks a newly secure client: it names the client the relay seated opposite, and its
    /// safety number is the one of the two identities.
    pub fn check_secure(
        &mut self,
        i: usize,
        clients: &[SimClient],
        relay: &RelayCore,
        mitm: Option<&crate::scenario::Mitm>,
    ) {
        let me = &clients[i];
        let Some(info) = &me.secure else { return };
        let ids = crate::identities::identities();
        let own = ids[me.identity].public();
        if info.safety_number != SafetyNumber::new(own, &info.peer) {
            self.violations.push(format!(
                "{}: safety number does not match the two identities",
                me.name
            ));
        }
        if info.peer == *own {
            self.violations
                .push(format!("{}: secure with itself", me.name));
        }
        if let Some(m) = mitm {
            if m.intercepts(i) && info.peer != *m.identity().public() {
                self.violations.push(format!(
                    "{}: under MITM but not talking to Mallory?",
                    me.name
                ));
            }
            return;
        }
        // The relay's seat map says who is opposite; the session must name exactly that identity.
        let opposite =
            me.conn
                .and_then(|conn| relay.room_of(conn))
                .and_then(|room| {
                    clients.iter().enumerate().find(|(j, c)| {
                        *j != i && c.conn.and_then(|cn| relay.room_of(cn)) == Some(room)
                    })
                });
        match opposite {
            Some((_, peer)) if ids[peer.identity].public() == &info.peer => {}
            Some((_, peer)) => self.violations.push(format!(
                "{}: secure with {:?} but the seat opposite is {}",
                me.name, info.peer, peer.name
            )),
            // The peer may already be gone (left, crashed); it must still be a real client.
            None if clients
                .iter()
                .any(|c| ids[c.identity].public() == &info.peer) => {}
            None => self.violations.push(format!(
                "{}: secure with an identity no client has",
                me.name
            )),
        }
    }

    /// After every step: two clients in one session name each other; under a MITM the two
    /// victims' safety numbers differ (that is how people catch it).
    pub fn check_after_step(&mut self, clients: &[SimClient], mitm: bool) {
        let ids = crate::identities::identities();
        let secure: Vec<(usize, &sans_io_proto::SecureInfo)> = clients
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.secure.as_ref().map(|s| (i, s)))
            .collect();
        for (x, (i, a)) in secure.iter().enumerate() {
            for (j, b) in &secure[x + 1..] {
                if a.key_visual == b.key_visual {
                    let (ia, ib) = (
                        ids[clients[*i].identity].public(),
                        ids[clients[*j].identity].public(),
                    );
                    if &a.peer != ib || &b.peer != ia {
                        self.violations.push(format!(
                            "{} and {} share a session but not each other's keys",
                            clients[*i].name, clients[*j].name
                        ));
                    }
                } else if mitm && a.safety_number == b.safety_number {
                    self.violations.push(format!(
                        "MITM undetected: {} and {} see the same safety number",
                        clients[*i].name, clients[*j].name
                    ));
                }
            }
        }
    }

    /// The relay must never see what people typed, nor identity keys (private ones at all; public
    /// ones are hidden from a passive relay by the handshake's identity encryption).
    pub fn scan_relay_payload(
        &mut self,
        payload: &[u8],
        clients: &[SimClient],
        identities: &[IdentityKeyPair],
    ) {
        for text in self.texts.keys() {
            // Every text carries a 16-hex-digit id; look for that prefix (at least 20 bytes).
            let needle = &text.as_bytes()[..text.len().min(32)];
            if contains(payload, needle) {
                self.violations
                    .push(format!("plaintext visible to the relay: {text:?}"));
            }
        }
        for c in clients {
            let id = &identities[c.identity];
            let public = id.public().as_bytes();
            let private = id.to_private_bytes();
            if contains(payload, &public[4..36]) {
                self.violations
                    .push(format!("{}'s identity key visible to the relay", c.name));
            }
            if contains(payload, &private[1..33]) {
                self.violations
                    .push(format!("{}'s PRIVATE key visible to the relay", c.name));
            }
        }
    }

    /// Messages sent that were shown exactly once.
    pub fn delivered_once(&self) -> usize {
        self.texts.values().filter(|t| t.delivered == 1).count()
    }

    /// Messages sent.
    pub fn sent_count(&self) -> usize {
        self.texts.len()
    }

    /// Records a broken invariant.
    pub fn violation(&mut self, what: String) {
        self.violations.push(what);
    }

    /// Records a note for the report.
    pub fn note(&mut self, what: String) {
        self.notes.push(what);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}
