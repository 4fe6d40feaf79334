//! The fault model. A seed picks a [`Profile`]; the profile's probabilities decide, frame by
//! frame, what the network and the relay do to the payloads they carry.

use rand::Rng;
use rand_chacha::ChaCha20Rng;

/// Probabilities (0..1) of each fault, applied to every Payload frame the relay forwards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// The frame is lost.
    pub drop: f64,
    /// The frame arrives twice.
    pub duplicate: f64,
    /// The frame is held back (reordering it behind later ones).
    pub delay: f64,
    /// One bit of the frame is flipped.
    pub tamper: f64,
    /// An earlier payload of the same sender is sent again.
    pub replay: f64,
    /// The receiver's own earlier payload is sent back to it.
    pub reflect: f64,
    /// Random bytes are injected as a payload.
    pub inject: f64,
    /// A payload recorded from another session is substituted.
    pub substitute: f64,
    /// A client crashes (its state is lost) and reconnects, per scripted action.
    pub crash: f64,
}

/// The kinds of session a seed can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// A perfect network and an honest relay: everything sent must arrive, once.
    Clean,
    /// Lossy, duplicating, reordering network.
    Network,
    /// A relay that tampers, replays, reflects, injects and substitutes.
    Malicious,
    /// Crashes, reconnects, leaves and rejoins, third and fourth clients.
    Churn,
}

impl Profile {
    /// Draws a profile for a seed: mostly faulty, a good share clean (to check liveness).
    pub fn pick(rng: &mut ChaCha20Rng) -> Profile {
        match rng.gen_range(0..10) {
            0..=2 => Profile::Clean,
            3..=5 => Profile::Network,
            6..=8 => Profile::Malicious,
            _ => Profile::Churn,
        }
    }

    /// The fault probabilities of a profile.
    pub fn faults(self, rng: &mut ChaCha20Rng) -> Faults {
        match self {
            Profile::Clean => Faults::default(),
            Profile::Network => Faults {
                drop: rng.gen_range(0.0..0.10),
                duplicate: rng.gen_range(0.0..0.15),
                delay: rng.gen_range(0.0..0.30),
                ..Faults::default()
            },
            Profile::Malicious => Faults {
                tamper: rng.gen_range(0.0..0.15),
                replay: rng.gen_range(0.0..0.15),
                reflect: rng.gen_range(0.0..0.10),
                inject: rng.gen_range(0.0..0.10),
                substitute: rng.gen_range(0.0..0.10),
                delay: rng.gen_range(0.0..0.10),
                ..Faults::default()
            },
            Profile::Churn => Faults {
                crash: 0.5,
                delay: rng.gen_range(0.0..0.05),
                ..Faults::default()
            },
        }
    }
}
