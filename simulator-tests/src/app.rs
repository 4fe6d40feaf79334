//! The simulated desktop app around one user's long-lived [`Client`]: a process that can crash and
//! restart, a disk that survives it, and the approval policy of the desktop client.
//!
//! - **Disk**: every `Output::Persist` is stored as it comes out, in output order (the latest state
//!   per peer wins), and a restarted process restores every stored state before anything else
//!   (`Client::restore_conversation`).
//! - **History** (on disk too): a shown message is recorded by its id, then confirmed to the client
//!   (`Client::confirm_shown`). After a restart the client shows again what was stored as shown but
//!   never confirmed, and the app drops what its history already holds (PROTOCOL.md §7.5). A crash
//!   can therefore strike between any two outputs ([`App::crash_point`]).
//! - **Trust store** (also on disk): the identity first met in the user's room. The app approves an
//!   identity (`Client::approve`) when it is that known contact, or when it is the first identity
//!   met in the room; a **changed** identity is never approved (the desktop client waits for the
//!   user, and the simulated user never accepts). Nothing else is done on the user's behalf.
//!
//! [`Mutation`] breaks one of these on purpose, so that tests can show every invariant fails when
//! the app (or what it stands for) is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{Client, ClientConfig, Fingerprint, IdentityKeyPair, MessageId};

/// A deliberate defect of the simulated app (tests show the invariants catch each one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mutation {
    /// The app as specified.
    #[default]
    None,
    /// Approves a changed identity too (no approval check): the trust gate must catch it.
    ApproveChanged,
    /// Never approves anyone: liveness must catch it.
    NeverApprove,
    /// Shows every message twice: the exactly-once check must catch it.
    ShowTwice,
    /// Drops every other `Persist` instead of storing it: after a crash, a message is shown twice,
    /// lost, or shown out of order.
    SkipPersist,
    /// Restores nothing after a crash (starts with an empty delivery state).
    NoRestore,
    /// Does not look into its history before showing: a message shown again after a restart (it was
    /// shown, but not confirmed before the crash) appears twice.
    NoDedupe,
}

/// What the app keeps on disk across crashes.
#[derive(Debug, Default, Clone)]
pub struct Disk {
    /// The latest delivery state per peer (`Output::Persist`, in output order).
    pub conversations: BTreeMap<Fingerprint, Vec<u8>>,
    /// The trust store's entry for the user's room: the identity met there first.
    pub contact: Option<Fingerprint>,
    /// How many `Persist` outputs were stored.
    pub writes: u64,
    /// The message history: every message shown (and recorded), by sender and id.
    pub history: BTreeSet<(Fingerprint, MessageId)>,
}

/// How the trust store classifies an identity (the desktop client's `Trust`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// No identity was met in this room before: it becomes the contact.
    FirstSeen,
    /// The contact of this room.
    Known,
    /// Another identity than the contact of this room.
    Changed,
}

/// A write the user made that the app has not stored yet.
#[derive(Debug, Clone)]
pub struct PendingWrite {
    /// The id the client gave it.
    pub id: MessageId,
    /// The addressee.
    pub to: Fingerprint,
    /// The text (`None` for a timer change).
    pub text: Option<String>,
}

/// One user's app.
pub struct App {
    /// The user's identity (index into the fixed identities).
    pub identity: usize,
    /// Its fingerprint.
    pub fp: Fingerprint,
    /// The room the user enters.
    pub room: RoomName,
    /// The display name the client sends to approved peers.
    pub display_name: String,
    /// The running process's client (`None` while the process is down).
    pub client: Option<Client<ChaCha20Rng>>,
    /// What survives a crash.
    pub disk: Disk,
    /// Processes started so far.
    pub instances: u64,
    /// Identities the app approved in the running process.
    pub approved_here: BTreeSet<Fingerprint>,
    /// Crash after this many more outputs (a crash in the middle of work).
    pub crash_in: Option<u32>,
    /// The client stopped by itself (suspended, or failed without retrying): waits for the user.
    pub stuck: bool,
    /// Writes whose `Persist` has not been stored yet.
    pub pending_writes: Vec<PendingWrite>,
    /// The defect in force.
    pub mutation: Mutation,
    persist_parity: bool,
    /// Crash once right before recording a shown message, and once right after recording one
    /// (before the client stored the confirmation): a fault the plans inject.
    pub crash_before_recording: bool,
    /// See [`Self::crash_before_recording`].
    pub crash_after_recording: bool,
}

impl App {
    /// An app that has not started yet.
    pub fn new(identity: usize, id: &IdentityKeyPair, room: RoomName, name: &str) -> App {
        App {
            identity,
            fp: id.fingerprint(),
            room,
            display_name: name.to_owned(),
            client: None,
            disk: Disk::default(),
            instances: 0,
            approved_here: BTreeSet::new(),
            crash_in: None,
            stuck: false,
            pending_writes: Vec::new(),
            mutation: Mutation::None,
            persist_parity: false,
            crash_before_recording: false,
            crash_after_recording: false,
        }
    }

    /// Starts the process: a new `Client` (seeded from `seed`) restored from the disk.
    /// Returns how many states were restored, or the first restore error.
    pub fn start(
        &mut self,
        id: &IdentityKeyPair,
        seed: u64,
        now: Instant,
    ) -> Result<usize, String> {
        self.instances += 1;
        let rng = ChaCha20Rng::seed_from_u64(seed ^ (self.instances << 48));
        let config = ClientConfig {
            display_name: Some(self.display_name.clone()),
            resume: true,
        };
        let mut client = Client::new(id.clone(), config, rng, now);
        let mut restored = 0;
        if self.mutation != Mutation::NoRestore {
            for (peer, state) in &self.disk.conversations {
                match client.restore_conversation(state) {
                    Ok(fp) if fp == *peer => restored += 1,
                    Ok(_) => return Err("a stored state names another peer".into()),
                    Err(e) => return Err(format!("a stored state does not restore: {e}")),
                }
            }
        }
        self.client = Some(client);
        self.approved_here.clear();
        self.crash_in = None;
        self.stuck = false;
        Ok(restored)
    }

    /// The process dies: everything in memory is lost. Returns the writes lost with it.
    pub fn crash(&mut self) -> Vec<PendingWrite> {
        self.client = None;
        self.approved_here.clear();
        self.crash_in = None;
        self.stuck = false;
        std::mem::take(&mut self.pending_writes)
    }

    /// Stores a `Persist` output. Returns false if the mutation dropped it.
    pub fn store(&mut self, peer: Fingerprint, state: &[u8]) -> bool {
        if self.mutation == Mutation::SkipPersist {
            self.persist_parity = !self.persist_parity;
            if self.persist_parity {
                return false;
            }
        }
        self.disk.conversations.insert(peer, state.to_vec());
        self.disk.writes += 1;
        true
    }

    /// Whether the process must die before handling the next output (any output: a crash between
    /// a `Persist` and the message it shows is what `confirm_shown` is for).
    pub fn crash_point(&mut self) -> bool {
        match &mut self.crash_in {
            Some(0) => true,
            Some(k) => {
                *k -= 1;
                false
            }
            None => false,
        }
    }

    /// How the trust store sees `fp` (without changing it).
    pub fn trust(&self, fp: &Fingerprint) -> Trust {
        match &self.disk.contact {
            None => Trust::FirstSeen,
            Some(c) if c == fp => Trust::Known,
            Some(_) => Trust::Changed,
        }
    }

    /// The policy's verdict, the reference the invariants hold the client to: only the contact is
    /// approved (whatever a mutated app does).
    pub fn policy_approves(&self, fp: &Fingerprint) -> bool {
        self.disk.contact.as_ref() == Some(fp)
    }

    /// A secure session with `fp` began (or resumed): the app's decision, with the trust store
    /// updated for a first contact. Returns the classification and whether to call `approve`.
    pub fn decide(&mut self, fp: &Fingerprint) -> (Trust, bool) {
        let trust = self.trust(fp);
        if trust == Trust::FirstSeen {
            self.disk.contact = Some(*fp);
        }
        let approve = match self.mutation {
            Mutation::NeverApprove => false,
            Mutation::ApproveChanged => true,
            _ => trust != Trust::Changed,
        };
        (trust, approve && !self.approved_here.contains(fp))
    }
}
