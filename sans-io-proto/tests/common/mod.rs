//! Shared helpers of the protocol property tests: fixed identities from `vectors/`, seeded RNGs,
//! and an in-memory handshake between two sides.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::{Content, Handshake, HandshakeError, IdentityKeyPair, MessageId, Session};

pub mod golden;
pub mod spec;

/// A deterministic RNG for a test.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// The fixed test identities of `vectors/identities/test-identities.txt` (RSA keygen is too slow
/// to repeat in every test).
pub fn identities() -> &'static [IdentityKeyPair] {
    static IDS: OnceLock<Vec<IdentityKeyPair>> = OnceLock::new();
    IDS.get_or_init(|| {
        let path = vectors_dir().join("identities/test-identities.txt");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| IdentityKeyPair::from_private_bytes(&hex::decode(l).unwrap()).unwrap())
            .collect()
    })
}

pub fn alice() -> &'static IdentityKeyPair {
    &identities()[0]
}
pub fn bob() -> &'static IdentityKeyPair {
    &identities()[1]
}
pub fn mallory() -> &'static IdentityKeyPair {
    &identities()[2]
}

/// Which side sent an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    A,
    B,
}

/// Every envelope that crossed the wire, in order.
pub type Wire = Vec<(From, Vec<u8>)>;

/// Runs a handshake in memory with in-order delivery, recording the wire.
pub fn handshake_with(
    a_id: &IdentityKeyPair,
    b_id: &IdentityKeyPair,
    rng_a: &mut ChaCha20Rng,
    rng_b: &mut ChaCha20Rng,
    wire: &mut Wire,
) -> (Handshake, Handshake) {
    let now = Instant::now();
    let mut a = Handshake::new(a_id, rng_a, now);
    let mut b = Handshake::new(b_id, rng_b, now);
    for _ in 0..10 {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            wire.push((From::A, m.clone()));
            let _ = b.handle_bytes(&m, rng_b);
            moved = true;
        }
        while let Some(m) = b.poll_transmit() {
            wire.push((From::B, m.clone()));
            let _ = a.handle_bytes(&m, rng_a);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    (a, b)
}

/// The outcome of a handshake run through a relay that may rewrite the messages.
pub struct Relayed {
    pub a: Handshake,
    pub b: Handshake,
    pub rng_a: ChaCha20Rng,
    pub rng_b: ChaCha20Rng,
    /// Every error a side returned, tagged with the side that refused the message.
    pub errors: Vec<(From, HandshakeError)>,
}

impl Relayed {
    /// Whether either side returned `e` for some message.
    pub fn saw(&self, e: &HandshakeError) -> bool {
        self.errors.iter().any(|(_, x)| x == e)
    }
    /// Whether both sides are established.
    pub fn both_established(&self) -> bool {
        self.a.is_established() && self.b.is_established()
    }
}

/// Runs Alice (seed `seed`) and Bob (seed `seed ^ 0x5eed_5eed`, as [`pair`]) through a relay:
/// `relay(sender, index, message)` returns what is delivered instead, and to whom: nothing, the
/// message, a changed one, several, or the sender's own message back to it. `index` counts the
/// messages sent so far.
pub fn network(
    seed: u64,
    mut relay: impl FnMut(From, usize, Vec<u8>) -> Vec<(From, Vec<u8>)>,
) -> Relayed {
    let (mut rng_a, mut rng_b) = (rng(seed), rng(seed ^ 0x5eed_5eed));
    let now = Instant::now();
    let mut a = Handshake::new(alice(), &mut rng_a, now);
    let mut b = Handshake::new(bob(), &mut rng_b, now);
    let mut errors = Vec::new();
    let mut count = 0;
    for _ in 0..12 {
        let mut moved = false;
        for sender in [From::A, From::B] {
            loop {
                let m = match sender {
                    From::A => a.poll_transmit(),
                    From::B => b.poll_transmit(),
                };
                let Some(m) = m else { break };
                for (to, m) in relay(sender, count, m) {
                    let result = match to {
                        From::A => a.handle_bytes(&m, &mut rng_a),
                        From::B => b.handle_bytes(&m, &mut rng_b),
                    };
                    if let Err(e) = result {
                        errors.push((to, e));
                    }
                }
                count += 1;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    Relayed {
        a,
        b,
        rng_a,
        rng_b,
        errors,
    }
}

/// [`network`] with a relay that only rewrites what goes to the other side.
pub fn relay_handshake(
    seed: u64,
    mut relay: impl FnMut(From, usize, Vec<u8>) -> Vec<Vec<u8>>,
) -> Relayed {
    network(seed, |from, i, m| {
        let to = from.other();
        relay(from, i, m).into_iter().map(|m| (to, m)).collect()
    })
}

impl From {
    pub fn other(self) -> From {
        match self {
            From::A => From::B,
            From::B => From::A,
        }
    }
}

/// Alice and Bob with established sessions, their RNGs and the handshake wire.
pub struct Pair {
    pub a: Session,
    pub b: Session,
    pub rng_a: ChaCha20Rng,
    pub rng_b: ChaCha20Rng,
    pub wire: Wire,
}

pub fn pair(seed: u64) -> Pair {
    let mut rng_a = rng(seed);
    let mut rng_b = rng(seed ^ 0x5eed_5eed);
    let mut wire = Vec::new();
    let (a, b) = handshake_with(alice(), bob(), &mut rng_a, &mut rng_b, &mut wire);
    let a = a.into_session().expect("alice established");
    let b = b.into_session().expect("bob established");
    Pair {
        a,
        b,
        rng_a,
        rng_b,
        wire,
    }
}

/// A text content with id `(stream, number)`.
pub fn text(stream: u64, number: u64, text: &str) -> Content {
    Content::Text {
        id: MessageId { stream, number },
        expire_secs: 0,
        text: text.into(),
    }
}

impl Pair {
    /// Alice sends `text`, Bob receives it; returns the envelope.
    pub fn a_to_b(&mut self, msg: &str) -> Vec<u8> {
        let content = text(0xa, self.a_count(), msg);
        let out = self.a.encrypt(&content, 0, &mut self.rng_a).unwrap();
        let got = self.b.decrypt(&out.envelope, &mut self.rng_b).unwrap();
        assert_eq!(got.content, content);
        out.envelope
    }

    /// Bob sends `text`, Alice receives it; returns the envelope.
    pub fn b_to_a(&mut self, msg: &str) -> Vec<u8> {
        let content = text(0xb, self.b_count(), msg);
        let out = self.b.encrypt(&content, 0, &mut self.rng_b).unwrap();
        let got = self.a.decrypt(&out.envelope, &mut self.rng_a).unwrap();
        assert_eq!(got.content, content);
        out.envelope
    }

    fn a_count(&self) -> u64 {
        self.a.next_seq()
    }

    fn b_count(&self) -> u64 {
        self.b.next_seq()
    }
}

/// Asserts that `s` behaves exactly like `reference`: the same counters, the same next envelope
/// for the same randomness, and the same result for each of `then` (what a moved ratchet would
/// change). How the tests check "commit on success" from outside.
pub fn same_state(s: &Session, reference: &Session, then: &[Vec<u8>]) {
    let (mut x, mut y) = (s.clone(), reference.clone());
    assert_eq!(
        x.skipped_keys(),
        y.skipped_keys(),
        "stored skipped keys changed"
    );
    assert_eq!(x.next_seq(), y.next_seq());
    let c = text(0x5, 99, "probe");
    assert_eq!(
        x.encrypt(&c, 0, &mut rng(7)).unwrap(),
        y.encrypt(&c, 0, &mut rng(7)).unwrap(),
        "the sending state moved"
    );
    for e in then {
        assert_eq!(
            x.decrypt(e, &mut rng(8)),
            y.decrypt(e, &mut rng(8)),
            "the receiving state moved"
        );
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Parses a vector file of `key = value` blocks separated by blank lines (`#` starts a comment).
pub fn vector_blocks(relative: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let path = vectors_dir().join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut current = std::collections::BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if line.is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("bad line {line:?} in {relative}"));
        current.insert(k.trim().to_string(), v.trim().to_string());
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    assert!(!blocks.is_empty(), "{relative} holds no vectors");
    blocks
}

/// Hex field of a vector block.
pub fn hex_field(block: &std::collections::BTreeMap<String, String>, name: &str) -> Vec<u8> {
    hex::decode(&block[name]).unwrap_or_else(|e| panic!("field {name}: {e}"))
}
