//! The sessions the simulator runs: a random session per seed, a recorded golden session, and a
//! relay that mounts a full man-in-the-middle attack with its own identity.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::{ClientFrame, RelayFrame};
use sans_io_proto::{Client, ClientConfig, Event, IdentityKeyPair, Output};

use crate::faults::{Faults, Profile};
use crate::identities::identities;
use crate::world::{Action, ClientStats, World};

/// How long a simulated session may run.
pub const SESSION_LIMIT: Duration = Duration::from_secs(300);

/// The result of one session.
#[derive(Debug)]
pub struct Outcome {
    /// The seed (replay with it).
    pub seed: u64,
    /// Its profile.
    pub profile: Profile,
    /// Broken invariants: empty means the session passed.
    pub violations: Vec<String>,
    /// Messages sent / shown exactly once.
    pub sent: usize,
    /// Messages shown exactly once.
    pub delivered: usize,
    /// Per-client counters.
    pub stats: Vec<(String, ClientStats)>,
    /// Simulated time taken.
    pub elapsed: Duration,
    /// Notes (failed key exchanges, closes, ...).
    pub notes: Vec<String>,
}

impl Outcome {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Handshake payloads of an unrelated session (carol and dave), for the relay to substitute.
fn foreign_payloads() -> Vec<Vec<u8>> {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut w = World::new(0x00f0_7e16, Faults::default(), Vec::new());
        w.trace = Some(Vec::new());
        let c = w.add_client("carol", 3, "elsewhere", 3);
        let d = w.add_client("dave", 4, "elsewhere", 3);
        w.schedule(c, Action::Connect, Duration::ZERO);
        w.schedule(d, Action::Connect, Duration::from_millis(5));
        w.run(SESSION_LIMIT);
        w.trace
            .unwrap_or_default()
            .iter()
            .filter_map(|line| line.rsplit(' ').next())
            .filter_map(|h| hex::decode(h).ok())
            // Both directions encode a Payload the same way.
            .filter_map(|bytes| match RelayFrame::decode(&bytes) {
                Ok((RelayFrame::Payload(p), _)) => Some(p),
                _ => None,
            })
            .collect()
    })
    .clone()
}

/// Runs the session of one seed: the seed picks the profile, the identities, the room, how much
/// everyone says, and every fault.
pub fn run(seed: u64) -> Outcome {
    let mut picker = ChaCha20Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let profile = Profile::pick(&mut picker);
    let faults = profile.faults(&mut picker);
    let mut w = World::new(seed, faults, foreign_payloads());
    let room = format!("room-{}", seed % 97);
    // Two distinct identities out of the first three (carol and dave are the foreign pool's).
    let a_id = picker.gen_range(0..3);
    let b_id = (a_id + picker.gen_range(1..3)) % 3;
    let a = w.add_client("alice", a_id, &room, picker.gen_range(1..=6));
    let b = w.add_client("bob", b_id, &room, picker.gen_range(1..=6));
    w.schedule(
        a,
        Action::Connect,
        Duration::from_millis(picker.gen_range(0..300)),
    );
    w.schedule(
        b,
        Action::Connect,
        Duration::from_millis(picker.gen_range(0..800)),
    );
    if profile == Profile::Churn {
        churn(&mut w, &mut picker, &room, [a, b]);
    }
    w.run(SESSION_LIMIT);
    let mut outcome = finish(seed, profile, w);
    if profile == Profile::Clean {
        check_liveness(&mut outcome);
    }
    outcome
}

/// Crashes, leaves and newcomers.
fn churn(w: &mut World, picker: &mut ChaCha20Rng, room: &str, pair: [usize; 2]) {
    for &who in &pair {
        if picker.gen_bool(w.faults.crash) {
            w.schedule(
                who,
                Action::Crash,
                Duration::from_millis(picker.gen_range(500..8000)),
            );
        }
    }
    if picker.gen_bool(0.5) {
        let who = pair[picker.gen_range(0..2)];
        w.schedule(
            who,
            Action::Leave,
            Duration::from_millis(picker.gen_range(500..8000)),
        );
    }
    if picker.gen_bool(0.6) {
        // A third asks for the same room (redirected), and maybe a fourth pairs with it.
        let carol = w.add_client("carol", 3, room, picker.gen_range(0..=3));
        w.schedule(
            carol,
            Action::Connect,
            Duration::from_millis(picker.gen_range(100..3000)),
        );
        if picker.gen_bool(0.7) {
            let dave = w.add_client("dave", 4, room, picker.gen_range(0..=3));
            w.schedule(
                dave,
                Action::Connect,
                Duration::from_millis(picker.gen_range(100..5000)),
            );
        }
    }
}

fn finish(seed: u64, profile: Profile, w: World) -> Outcome {
    Outcome {
        seed,
        profile,
        sent: w.ledger.sent_count(),
        delivered: w.ledger.delivered_once(),
        stats: w
            .clients
            .iter()
            .map(|c| (c.name.clone(), c.stats.clone()))
            .collect(),
        elapsed: w.elapsed(),
        notes: w.ledger.notes.clone(),
        violations: w.ledger.violations,
    }
}

/// On a perfect network with an honest relay, everything must work: both sides secure once, no
/// failure, no refused payload, every message shown once and acknowledged.
fn check_liveness(o: &mut Outcome) {
    for (name, s) in &o.stats {
        if s.secure != 1 || s.handshake_failures != 0 || s.rejected != 0 {
            o.violations.push(format!("clean run: {name} {s:?}"));
        }
    }
    if o.delivered != o.sent {
        o.violations.push(format!(
            "clean run: {} of {} messages delivered",
            o.delivered, o.sent
        ));
    }
    let sent: u32 = o.stats.iter().map(|(_, s)| s.received).sum();
    let acked: u32 = o.stats.iter().map(|(_, s)| s.acked).sum();
    if acked != sent {
        o.violations
            .push(format!("clean run: {acked} receipts for {sent} messages"));
    }
}

/// A fault-free session recorded frame by frame (the simulator's golden transcript).
pub fn golden_session() -> Vec<String> {
    let mut w = World::new(7, Faults::default(), Vec::new());
    w.trace = Some(Vec::new());
    let a = w.add_client("alice", 0, "golden", 2);
    let b = w.add_client("bob", 1, "golden", 2);
    w.schedule(a, Action::Connect, Duration::ZERO);
    w.schedule(b, Action::Connect, Duration::from_millis(50));
    w.run(SESSION_LIMIT);
    assert!(w.ledger.violations.is_empty(), "{:?}", w.ledger.violations);
    w.trace.unwrap_or_default()
}

/// A relay that puts Mallory between the two victims: it seats them normally but answers each
/// one's handshake with a client of its own (Mallory's identity), and re-encrypts messages
/// between the two sessions. Nothing in the protocol can stop this when the two people have never
/// compared anything; what must hold is that their safety numbers then differ.
pub struct Mitm {
    victims: [usize; 2],
    mallory: [Client<ChaCha20Rng>; 2],
    /// Messages Mallory read and passed on.
    pub read: Vec<String>,
}

impl Mitm {
    /// Mallory against `victims`, with her identity.
    pub fn new(victims: [usize; 2], now: Instant) -> Mitm {
        let id = Self::identity_static().clone();
        let make = |seed| {
            Client::new(
                id.clone(),
                ClientConfig::default(),
                ChaCha20Rng::seed_from_u64(seed),
                now,
            )
        };
        Mitm {
            victims,
            mallory: [make(1001), make(1002)],
            read: Vec::new(),
        }
    }

    fn identity_static() -> &'static IdentityKeyPair {
        &identities()[2]
    }

    /// Mallory's identity.
    pub fn identity(&self) -> &'static IdentityKeyPair {
        Self::identity_static()
    }

    /// Whether client `i` is one of the victims.
    pub fn intercepts(&self, i: usize) -> bool {
        self.victims.contains(&i)
    }

    fn side(&self, victim: usize) -> usize {
        usize::from(self.victims[1] == victim)
    }

    /// The victim was paired: Mallory's client facing it starts a handshake.
    pub fn peer_joined(&mut self, victim: usize, now: Instant) -> Vec<(usize, Vec<u8>)> {
        let side = self.side(victim);
        self.mallory[side].handle_frame(RelayFrame::PeerJoined, now);
        self.drain(now)
    }

    /// A payload from a victim reaches Mallory's client facing it.
    pub fn from_victim(
        &mut self,
        victim: usize,
        payload: &[u8],
        now: Instant,
    ) -> Vec<(usize, Vec<u8>)> {
        let side = self.side(victim);
        self.mallory[side].handle_frame(RelayFrame::Payload(payload.to_vec()), now);
        self.drain(now)
    }

    /// Collects what Mallory's clients send (to their victims) and forwards what they read.
    fn drain(&mut self, now: Instant) -> Vec<(usize, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let mut moved = false;
            for side in 0..2 {
                while let Some(o) = self.mallory[side].poll_output() {
                    moved = true;
                    match o {
                        Output::Transmit(bytes) => {
                            if let Ok((ClientFrame::Payload(p), _)) = ClientFrame::decode(&bytes) {
                                out.push((self.victims[side], p));
                            }
                        }
                        Output::Event(Event::Message { text, .. }) => {
                            self.read.push(text.clone());
                            let _ = self.mallory[1 - side].send_text(&text, 0);
                        }
                        Output::Event(_) => {}
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let _ = now;
        out
    }
}

/// The MITM session: both victims end up "secure" with Mallory, who reads everything; their
/// safety numbers differ, so comparing them exposes her.
pub fn mitm_session(seed: u64) -> (Outcome, Vec<String>) {
    let mut w = World::new(seed, Faults::default(), Vec::new());
    let a = w.add_client("alice", 0, "target", 3);
    let b = w.add_client("bob", 1, "target", 3);
    w.mitm = Some(Mitm::new([a, b], Instant::now()));
    w.schedule(a, Action::Connect, Duration::ZERO);
    w.schedule(b, Action::Connect, Duration::from_millis(30));
    w.run(SESSION_LIMIT);
    let read = w.mitm.as_ref().map(|m| m.read.clone()).unwrap_or_default();
    let safety: Vec<_> = w
        .clients
        .iter()
        .map(|c| c.secure.as_ref().map(|s| s.safety_number.clone()))
        .collect();
    let mut outcome = finish(seed, Profile::Malicious, w);
    match (&safety[0], &safety[1]) {
        (Some(x), Some(y)) if x != y => {}
        other => outcome
            .violations
            .push(format!("MITM not visible in the safety numbers: {other:?}")),
    }
    (outcome, read)
}
