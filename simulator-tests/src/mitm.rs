//! Mallory: a relay that substitutes its own identity. It seats the two victims as usual but answers
//! each one's key exchange with a client of its own (Mallory's identity, fixed identity 2), and
//! forwards nothing between them except, in `forward` mode, what it reads (re-encrypted as its own
//! messages, as a real man in the middle would).
//!
//! Against victims who met before, the protocol must make the attack useless: each victim sees a
//! *changed* identity, the app never approves it, and nothing the user wrote, no display name and
//! no Ack reaches Mallory. Against victims who never met (trust on first use), nothing can stop the
//! attack, and what must hold is that comparing the short authentication strings or the safety
//! numbers exposes it.

use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{Client, ClientConfig, Fingerprint, IdentityKeyPair};

use crate::identities::identities;

/// The fixed identity index Mallory uses.
pub const MALLORY: usize = 2;

/// Mallory's state during one interception window.
pub struct Mitm {
    /// The two users she sits between.
    pub victims: [usize; 2],
    /// Her client facing each victim.
    pub mallory: [Client<ChaCha20Rng>; 2],
    /// Whether she passes on what she reads (as her own messages).
    pub forward: bool,
    /// Texts her clients showed (what she read).
    pub read: Vec<String>,
    /// Display names and Acks she received from victims.
    pub profiles: usize,
    /// Acks of her messages she received from victims.
    pub acks: usize,
    /// Messages she wrote so far.
    pub written: u32,
}

impl Mitm {
    /// Mallory between `victims`, her clients seeded from `seed`.
    pub fn new(victims: [usize; 2], seed: u64, forward: bool, now: Instant) -> Mitm {
        let make = |n: u64| {
            let config = ClientConfig {
                display_name: Some("mallory".into()),
                resume: true,
            };
            let mut c = Client::new(
                Self::identity().clone(),
                config,
                ChaCha20Rng::seed_from_u64(seed ^ n),
                now,
            );
            // Her clients sit "behind" the relay: connected, and believing they asked for a room
            // (a client ignores room events while it asked for none, §3.4); their Join frames go
            // nowhere, only their payloads are taken.
            c.handle_connected(now);
            c.join(RoomName::new("mallory").expect("a valid room name"));
            c
        };
        Mitm {
            victims,
            mallory: [make(0x0a11_0001), make(0x0a11_0002)],
            forward,
            read: Vec::new(),
            profiles: 0,
            acks: 0,
            written: 0,
        }
    }

    /// Mallory's identity.
    pub fn identity() -> &'static IdentityKeyPair {
        &identities()[MALLORY]
    }

    /// Her fingerprint.
    pub fn fingerprint() -> Fingerprint {
        Self::identity().fingerprint()
    }

    /// Which of her clients faces user `i`, if `i` is a victim.
    pub fn side(&self, i: usize) -> Option<usize> {
        self.victims.iter().position(|&v| v == i)
    }
}
