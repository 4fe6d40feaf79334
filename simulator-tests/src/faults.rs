//! The fault model. A seed picks a [`Profile`]; the profile draws a [`Plan`]: the probabilities of
//! what the relay does to each payload it forwards to a client while faults are on, and how many
//! crashes, relay restarts, connection drops, leaves, newcomers and man-in-the-middle windows the
//! session has, all before [`Plan::faults_end`].

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// Probabilities (0..1) of each fault, applied to every relay → client Payload while faults are on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// The payload is lost.
    pub drop: f64,
    /// It arrives twice.
    pub duplicate: f64,
    /// It is held back (reordered behind later ones).
    pub delay: f64,
    /// One bit of it is flipped.
    pub tamper: f64,
    /// An earlier payload of the peer is sent again.
    pub replay: f64,
    /// The receiver's own earlier payload is sent back to it.
    pub reflect: f64,
    /// Random bytes (sometimes shaped like an envelope) are injected.
    pub inject: f64,
    /// A payload of an unrelated session is substituted.
    pub substitute: f64,
}

/// The kinds of session a seed can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// A perfect network, an honest relay, no crash: everything must work at once.
    Clean,
    /// A lossy, duplicating, reordering network.
    Network,
    /// A relay that tampers, replays, reflects, injects, substitutes, and sometimes runs a man in
    /// the middle for a while.
    Malicious,
    /// Crashes (some in the middle of work), relay restarts, connection drops, leaves and rejoins,
    /// newcomers taking seats.
    Churn,
    /// All of the above at once, at lower rates.
    Mixed,
}

impl Profile {
    /// All profiles.
    pub const ALL: [Profile; 5] = [
        Profile::Clean,
        Profile::Network,
        Profile::Malicious,
        Profile::Churn,
        Profile::Mixed,
    ];

    /// Draws a profile for a seed.
    pub fn pick(rng: &mut ChaCha20Rng) -> Profile {
        match rng.gen_range(0..20) {
            0..=2 => Profile::Clean,
            3..=6 => Profile::Network,
            7..=10 => Profile::Malicious,
            11..=15 => Profile::Churn,
            _ => Profile::Mixed,
        }
    }

    /// Draws the plan of a session of this profile.
    pub fn plan(self, rng: &mut ChaCha20Rng) -> Plan {
        let mut plan = Plan {
            faults_end: Duration::from_millis(rng.gen_range(25_000..60_000)),
            ..Plan::default()
        };
        let network = |rng: &mut ChaCha20Rng, scale: f64| Faults {
            drop: rng.gen_range(0.0..0.15) * scale,
            duplicate: rng.gen_range(0.0..0.15) * scale,
            delay: rng.gen_range(0.0..0.30) * scale,
            ..Faults::default()
        };
        let malicious = |rng: &mut ChaCha20Rng, scale: f64| Faults {
            tamper: rng.gen_range(0.0..0.12) * scale,
            replay: rng.gen_range(0.0..0.12) * scale,
            reflect: rng.gen_range(0.0..0.08) * scale,
            inject: rng.gen_range(0.0..0.08) * scale,
            substitute: rng.gen_range(0.0..0.08) * scale,
            delay: rng.gen_range(0.0..0.10) * scale,
            ..Faults::default()
        };
        match self {
            Profile::Clean => plan.faults_end = Duration::from_secs(20),
            Profile::Network => plan.faults = network(rng, 1.0),
            Profile::Malicious => {
                plan.faults = malicious(rng, 1.0);
                plan.mitm_window = rng.gen_bool(0.3);
            }
            Profile::Churn => plan.churn(rng, 1.0),
            Profile::Mixed => {
                plan.churn(rng, 0.6);
                let n = network(rng, 0.5);
                let m = malicious(rng, 0.5);
                plan.faults = Faults {
                    drop: n.drop,
                    duplicate: n.duplicate,
                    delay: n.delay + m.delay,
                    ..m
                };
                plan.mitm_window = rng.gen_bool(0.25);
            }
        }
        plan.timer_changes = if rng.gen_bool(0.2) {
            rng.gen_range(1..=2)
        } else {
            0
        };
        plan
    }
}

/// What one session will go through.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Payload faults while they are on.
    pub faults: Faults,
    /// When the faults end (then the settle phase starts).
    pub faults_end: Duration,
    /// Crashes per pair user.
    pub crashes: [u32; 2],
    /// Probability that a crash strikes in the middle of a drain rather than between steps.
    pub mid_work_crash: f64,
    /// Relay restarts (every connection drops).
    pub relay_restarts: u32,
    /// Graceful restarts (the relay says `ShuttingDown` first) among them, as a probability.
    pub graceful: f64,
    /// Connection drops per pair user (the process lives on).
    pub link_drops: [u32; 2],
    /// Leaves (then rejoins) per pair user.
    pub leaves: [u32; 2],
    /// Newcomers (carol, then dave) who ask for the same room once the pair has met.
    pub newcomers: u32,
    /// A window during which the relay puts Mallory in the middle (after the pair met).
    pub mitm_window: bool,
    /// Disappearing-timer changes (by either pair user).
    pub timer_changes: u32,
    /// Each pair user's process dies once right before recording a message it shows, and once
    /// right after (before the confirmation is stored).
    pub crash_before_recording: bool,
}

impl Plan {
    fn churn(&mut self, rng: &mut ChaCha20Rng, scale: f64) {
        let mut count = |max: u32| -> u32 {
            let p = 0.5 * scale;
            (0..max).filter(|_| rng.gen_bool(p)).count() as u32
        };
        self.crashes = [count(3), count(3)];
        self.relay_restarts = count(3);
        self.link_drops = [count(3), count(3)];
        self.leaves = [count(2), count(2)];
        self.newcomers = count(2);
        self.mid_work_crash = 0.5;
        self.crash_before_recording = rng.gen_bool(0.3 * scale);
        self.graceful = 0.5;
        self.faults.delay = rng.gen_range(0.0..0.05);
    }
}
