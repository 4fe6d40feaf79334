//! Shared tools of the attack tests (`sas_grinding`, `identity_hiding`, `forged_body_cost`,
//! `trust_gate`, `attack_*`): an independent re-implementation of the v2 handshake values from
//! PROTOCOL.md §5.2–5.6 (so a relay in a test can play the peer by hand and open what it is able to
//! open), a driver for sans-IO `Client`s, and a small in-test relay that follows the room rules of
//! PROTOCOL.md §3 and lets a test drop, hold, reorder or inject frames.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sans_io_proto::crypto::dh::{DhPrivateKey, DhPublicKey};
use sans_io_proto::crypto::hkdf;
use sans_io_proto::crypto::hmac::HmacSha256;
use sans_io_proto::crypto::ige;
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName};
use sans_io_proto::{Client, ClientConfig, Event, Fingerprint, IdentityKeyPair, MessageId, Output};
use sha2::{Digest, Sha256};

// ---- PROTOCOL.md §5.2–5.6, re-implemented from the text -----------------------------------------

pub const COMMIT_LABEL: &[u8] = b"e2e-chat v2 commit";
pub const HELLO_LABEL: &[u8] = b"e2e-chat v2 hello";
pub const SAS_LABEL: &[u8] = b"e2e-chat v2 sas";
pub const HIDING_LABEL: &[u8] = b"e2e-chat v2 handshake hiding";
pub const RESP_IDENTITY_LABEL: &[u8] = b"e2e-chat v2 responder identity";
pub const INIT_KEM_LABEL: &[u8] = b"e2e-chat v2 initiator kem";
pub const INIT_IDENTITY_LABEL: &[u8] = b"e2e-chat v2 initiator identity";
pub const KEM_I_LABEL: &[u8] = b"e2e-chat v2 kem I";

/// `H(label || parts...)`.
pub fn sha(label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `HKDF(salt, ikm, info, L)`.
pub fn hkdf_vec(salt: &[u8], ikm: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    hkdf::hkdf(salt, ikm, info, &mut out).expect("HKDF length");
    out
}

/// A Hello envelope: `0x02 0x02 || nonce || eph_pub` (§5.3).
pub fn hello_envelope(nonce: &[u8; 32], eph_pub: &[u8; 256]) -> Vec<u8> {
    let mut out = vec![0x02, 0x02];
    out.extend_from_slice(nonce);
    out.extend_from_slice(eph_pub);
    out
}

/// The Commit envelope to a Hello envelope (§5.2).
pub fn commit_envelope(hello: &[u8]) -> Vec<u8> {
    let mut out = vec![0x02, 0x01];
    out.extend_from_slice(&sha(COMMIT_LABEL, &[hello]));
    out
}

/// `hello_hash` (§5.3), from envelopes already in (initiator, responder) order.
pub fn hello_hash(commit_i: &[u8], commit_r: &[u8], hello_i: &[u8], hello_r: &[u8]) -> [u8; 32] {
    sha(HELLO_LABEL, &[commit_i, commit_r, hello_i, hello_r])
}

/// `sas_okm` (§5.3).
pub fn sas_okm(hello_hash: &[u8; 32], dh: &[u8]) -> Vec<u8> {
    hkdf_vec(hello_hash, dh, SAS_LABEL, 42)
}

/// The 48-bit SAS value of `sas_okm[0..6]` (§8.2).
pub fn sas_value(okm: &[u8]) -> u64 {
    okm[..6].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

/// One key set of §5.4: `aes_key || aes_iv || mac_key`.
#[derive(Clone)]
pub struct KeySet {
    pub aes_key: [u8; 32],
    pub aes_iv: [u8; 32],
    pub mac_key: [u8; 32],
}

impl KeySet {
    pub fn from_material(okm: &[u8]) -> Self {
        let mut k = KeySet {
            aes_key: [0; 32],
            aes_iv: [0; 32],
            mac_key: [0; 32],
        };
        k.aes_key.copy_from_slice(&okm[..32]);
        k.aes_iv.copy_from_slice(&okm[32..64]);
        k.mac_key.copy_from_slice(&okm[64..96]);
        k
    }

    pub fn derive(salt: &[u8], ikm: &[u8], info: &[u8]) -> Self {
        Self::from_material(&hkdf_vec(salt, ikm, info, 96))
    }

    fn tag(&self, label: &[u8], attempt: &[u8], ct: &[u8]) -> [u8; 32] {
        let mut mac = HmacSha256::new(&self.mac_key);
        mac.update(label);
        mac.update(attempt);
        mac.update(ct);
        mac.finalize()
    }

    /// `seal(keys, label, attempt, pt) = ct || tag`.
    pub fn seal(&self, label: &[u8], attempt: &[u8], pt: &[u8]) -> Vec<u8> {
        let mut ct = pt.to_vec();
        ige::ige_encrypt(&self.aes_key, &self.aes_iv, &mut ct).expect("whole blocks");
        let tag = self.tag(label, attempt, &ct);
        ct.extend_from_slice(&tag);
        ct
    }

    /// `open`: the plaintext if the tag verifies.
    pub fn open(&self, label: &[u8], attempt: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let (ct, tag) = sealed.split_at(sealed.len() - 32);
        if self.tag(label, attempt, ct) != tag {
            return None;
        }
        let mut pt = ct.to_vec();
        ige::ige_decrypt(&self.aes_key, &self.aes_iv, &mut pt).ok()?;
        Some(pt)
    }
}

/// What a party to one exchange knows after both Hellos (§5.3).
pub struct Agreed {
    /// Whether the *other* side (the victim) is the initiator.
    pub victim_is_initiator: bool,
    pub hello_hash: [u8; 32],
    pub attempt: [u8; 16],
    pub dh: Vec<u8>,
    pub sas_okm: Vec<u8>,
    pub resp_identity: KeySet,
    pub init_kem: KeySet,
    pub resp_kem: KeySet,
}

/// A relay that plays the peer of one exchange by hand, with the nonce it likes: it commits to its
/// Hello first (it has to), and from the victim's Commit and Hello derives everything that `dh`
/// opens.
pub struct FakePeer {
    pub nonce: [u8; 32],
    pub eph: DhPrivateKey,
    pub hello: Vec<u8>,
    pub commit: Vec<u8>,
}

impl FakePeer {
    pub fn new(nonce: [u8; 32], rng: &mut ChaCha20Rng) -> Self {
        let eph = DhPrivateKey::generate(rng);
        Self::with_eph(nonce, eph)
    }

    pub fn with_eph(nonce: [u8; 32], eph: DhPrivateKey) -> Self {
        let hello = hello_envelope(&nonce, eph.public_key().as_bytes());
        let commit = commit_envelope(&hello);
        FakePeer {
            nonce,
            eph,
            hello,
            commit,
        }
    }

    /// Everything the relay can derive once it holds the victim's Commit and Hello.
    pub fn agree(&self, victim_commit: &[u8], victim_hello: &[u8]) -> Agreed {
        assert_eq!(victim_hello.len(), 290);
        assert_eq!(
            commit_envelope(victim_hello),
            victim_commit,
            "victim's commitment"
        );
        let victim_nonce = &victim_hello[2..34];
        let victim_is_initiator = victim_nonce < &self.nonce[..];
        let (ci, cr, hi, hr) = if victim_is_initiator {
            (
                victim_commit,
                &self.commit[..],
                victim_hello,
                &self.hello[..],
            )
        } else {
            (
                &self.commit[..],
                victim_commit,
                &self.hello[..],
                victim_hello,
            )
        };
        let hh = hello_hash(ci, cr, hi, hr);
        let peer = DhPublicKey::from_bytes(&victim_hello[34..]).expect("victim's eph");
        let dh = self.eph.agree(&peer).expect("dh").as_bytes().to_vec();
        let hide = hkdf_vec(&hh, &dh, HIDING_LABEL, 288);
        let mut attempt = [0u8; 16];
        attempt.copy_from_slice(&hh[..16]);
        Agreed {
            victim_is_initiator,
            hello_hash: hh,
            attempt,
            sas_okm: sas_okm(&hh, &dh),
            dh,
            resp_identity: KeySet::from_material(&hide[..96]),
            init_kem: KeySet::from_material(&hide[96..192]),
            resp_kem: KeySet::from_material(&hide[192..]),
        }
    }
}

impl Agreed {
    /// Opens a victim responder's RespIdentity (§5.5): the 260-byte identity it revealed.
    pub fn open_resp_identity(&self, env: &[u8]) -> Option<Vec<u8>> {
        assert_eq!(env[..2], [0x02, 0x03]);
        if env[2..18] != self.attempt {
            return None;
        }
        let pt = self
            .resp_identity
            .open(RESP_IDENTITY_LABEL, &self.attempt, &env[18..])?;
        Some(pt[..260].to_vec())
    }

    /// A RespIdentity that shows `ik_pub` as the responder's identity (§5.5).
    pub fn resp_identity_showing(&self, ik_pub: &[u8]) -> Vec<u8> {
        let mut pt = ik_pub.to_vec();
        pt.resize(272, 0);
        let mut env = vec![0x02, 0x03];
        env.extend_from_slice(&self.attempt);
        env.extend_from_slice(
            &self
                .resp_identity
                .seal(RESP_IDENTITY_LABEL, &self.attempt, &pt),
        );
        env
    }

    /// Opens an initiator's InitAuth `kem_box` (§5.6): the RSA-OAEP ciphertext of `k_I`.
    pub fn open_init_kem(&self, init_auth: &[u8]) -> Option<Vec<u8>> {
        assert_eq!(init_auth[..2], [0x02, 0x04]);
        self.init_kem
            .open(INIT_KEM_LABEL, &self.attempt, &init_auth[18..18 + 288])
    }

    /// Tries to open an InitAuth's `id_box` (§5.6) assuming `k_I = k`.
    pub fn open_init_identity(&self, init_auth: &[u8], k: &[u8; 32]) -> Option<Vec<u8>> {
        let mut ikm = self.dh.clone();
        ikm.extend_from_slice(k);
        let keys = KeySet::derive(&self.hello_hash, &ikm, INIT_IDENTITY_LABEL);
        let pt = keys.open(INIT_IDENTITY_LABEL, &self.attempt, &init_auth[18 + 288..])?;
        Some(pt[..260].to_vec())
    }

    /// The RSA-OAEP label of `k_I` (§5.6).
    pub fn kem_i_label(&self) -> Vec<u8> {
        [KEM_I_LABEL, &self.hello_hash[..]].concat()
    }
}

/// An RNG whose first `fill_bytes` call (a Hello nonce, §5.3) returns the given bytes: lets a relay
/// drive the real `Handshake` code with the nonce it wants.
pub struct NonceFirst {
    pub nonce: Option<[u8; 32]>,
    pub inner: ChaCha20Rng,
}

impl RngCore for NonceFirst {
    fn next_u32(&mut self) -> u32 {
        self.inner.next_u32()
    }
    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        match self.nonce.take() {
            Some(n) if dest.len() == 32 => dest.copy_from_slice(&n),
            Some(n) => {
                self.nonce = Some(n);
                self.inner.fill_bytes(dest)
            }
            None => self.inner.fill_bytes(dest),
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for NonceFirst {}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay.len() >= needle.len()
        && hay.windows(needle.len()).any(|w| w == needle)
}

// ---- a sans-IO client driven by a test -----------------------------------------------------------

pub fn room() -> RoomName {
    RoomName::new("attack-room").unwrap()
}

/// A `Client` with a decoder for what it transmits and a log of everything it output.
pub struct Node {
    pub client: Client<ChaCha20Rng>,
    pub events: Vec<Event>,
    /// Every frame it transmitted, in order.
    pub sent: Vec<ClientFrame>,
    /// How many `Persist` outputs it produced.
    pub persists: usize,
    /// The last delivery state stored per peer (what the application would keep on disk).
    pub states: BTreeMap<Fingerprint, Vec<u8>>,
    /// Whether every state handed out must restore (§7.10; checked as it is stored).
    pub validate_persists: bool,
    decoder: FrameDecoder<ClientFrame>,
}

impl Node {
    /// A connected client that asked for a seat in [`room`] (its Join is in `sent`).
    pub fn new(identity: &IdentityKeyPair, name: Option<&str>, seed: u64, now: Instant) -> Self {
        let config = ClientConfig {
            display_name: name.map(str::to_owned),
            ..ClientConfig::default()
        };
        Self::with_config(identity, config, seed, now)
    }

    pub fn with_config(
        identity: &IdentityKeyPair,
        config: ClientConfig,
        seed: u64,
        now: Instant,
    ) -> Self {
        let mut client = Client::new(
            identity.clone(),
            config,
            ChaCha20Rng::seed_from_u64(seed),
            now,
        );
        client.join(room());
        client.handle_connected(now);
        let mut node = Node {
            client,
            events: Vec::new(),
            sent: Vec::new(),
            persists: 0,
            states: BTreeMap::new(),
            validate_persists: false,
            decoder: FrameDecoder::default(),
        };
        node.drain();
        node
    }

    /// A restart of `old`'s application: a new client (same identity or not) that restored every
    /// delivery state `old` stored.
    pub fn restarted(old: &Node, identity: &IdentityKeyPair, seed: u64, now: Instant) -> Self {
        Self::from_states(&old.states, identity, seed, now)
    }

    /// A new client that restored these stored delivery states, connected and joined.
    pub fn from_states(
        states: &BTreeMap<Fingerprint, Vec<u8>>,
        identity: &IdentityKeyPair,
        seed: u64,
        now: Instant,
    ) -> Self {
        let mut client = Client::new(
            identity.clone(),
            ClientConfig::default(),
            ChaCha20Rng::seed_from_u64(seed),
            now,
        );
        for state in states.values() {
            client
                .restore_conversation(state)
                .expect("stored state restores");
        }
        client.join(room());
        client.handle_connected(now);
        let mut node = Node {
            client,
            events: Vec::new(),
            sent: Vec::new(),
            persists: 0,
            states: states.clone(),
            validate_persists: false,
            decoder: FrameDecoder::default(),
        };
        node.drain();
        node
    }

    /// Collects the client's outputs; returns the frames transmitted since the last call.
    pub fn drain(&mut self) -> Vec<ClientFrame> {
        let mut frames = Vec::new();
        while let Some(out) = self.client.poll_output() {
            match out {
                Output::Transmit(bytes) => {
                    self.decoder.push(&bytes);
                    while let Some(f) = self.decoder.next_frame().expect("client frames decode") {
                        frames.push(f);
                    }
                }
                Output::Event(e) => {
                    // A careful application: it records a shown message, then confirms it
                    // (§7.5), so it is not shown again after a restart.
                    if let Event::Message { from, id, .. } = &e {
                        self.client.confirm_shown(from, &[*id]);
                    }
                    self.events.push(e);
                }
                Output::Persist { peer, state } => {
                    if self.validate_persists
                        && let Err(e) = sans_io_proto::delivery::Conversation::decode(&state)
                    {
                        panic!(
                            "a stored state ({} bytes) does not restore: {e:?}",
                            state.len()
                        );
                    }
                    self.persists += 1;
                    self.states.insert(peer, state.to_vec());
                }
            }
        }
        self.sent.extend(frames.iter().cloned());
        frames
    }

    /// Feeds one relay frame; returns what the client transmitted in answer.
    pub fn feed(&mut self, frame: &RelayFrame, now: Instant) -> Vec<ClientFrame> {
        self.client.handle_input(&frame.to_bytes(), now);
        self.drain()
    }

    /// Runs the client's timers at `now`.
    pub fn tick(&mut self, now: Instant) -> Vec<ClientFrame> {
        self.client.handle_timeout(now);
        self.drain()
    }

    pub fn events_since(&self, from: usize) -> &[Event] {
        &self.events[from..]
    }

    /// Texts shown to the user, in order: (sender's stream, number, text).
    pub fn shown(&self) -> Vec<(MessageId, String)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message { id, text, .. } => Some((*id, text.clone())),
                _ => None,
            })
            .collect()
    }
}

/// The payloads (end-to-end envelopes) in a list of frames.
pub fn payloads(frames: &[ClientFrame]) -> Vec<Vec<u8>> {
    frames
        .iter()
        .filter_map(|f| match f {
            ClientFrame::Payload(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// The envelope type bytes of the payloads in a list of frames.
pub fn payload_kinds(frames: &[ClientFrame]) -> Vec<u8> {
    payloads(frames).iter().map(|p| p[1]).collect()
}

// ---- an in-test relay ------------------------------------------------------------------------------

/// What the relay does with one payload in flight.
pub enum Verdict {
    Deliver,
    Drop,
}

/// Decides the fate of each payload in flight: `(sender, bytes)`.
pub type Filter = Box<dyn FnMut(usize, &[u8]) -> Verdict>;

/// Two clients in one room of a relay that follows PROTOCOL.md §3's room rules. Every frame each
/// side transmitted and every payload delivered is recorded. `filter` decides the fate of each
/// payload (index 0 = sent by `a`).
pub struct Duo {
    pub a: Node,
    pub b: Node,
    /// Seats held, in join order: 0 = a, 1 = b.
    seated: Vec<usize>,
    /// Frames waiting to be handled by the relay, per sender.
    inbound: [VecDeque<ClientFrame>; 2],
    /// Every payload the relay saw: (sender, bytes, delivered).
    pub wire: Vec<(usize, Vec<u8>, bool)>,
    /// Every byte string that went over either connection, both directions.
    pub raw: Vec<Vec<u8>>,
    pub now: Instant,
    pub filter: Filter,
}

impl Duo {
    pub fn new(a: Node, b: Node, now: Instant) -> Self {
        let mut duo = Duo {
            a,
            b,
            seated: Vec::new(),
            inbound: [VecDeque::new(), VecDeque::new()],
            wire: Vec::new(),
            raw: Vec::new(),
            now,
            filter: Box::new(|_, _| Verdict::Deliver),
        };
        // The Joins both sent when they connected.
        let a_sent = duo.a.sent.clone();
        let b_sent = duo.b.sent.clone();
        duo.queue(0, a_sent);
        duo.queue(1, b_sent);
        duo
    }

    fn node(&mut self, i: usize) -> &mut Node {
        if i == 0 { &mut self.a } else { &mut self.b }
    }

    fn queue(&mut self, from: usize, frames: Vec<ClientFrame>) {
        for f in frames {
            self.raw.push(f.to_bytes());
            self.inbound[from].push_back(f);
        }
    }

    /// Sends a relay frame to side `to`; its answers are queued for the relay.
    pub fn send_to(&mut self, to: usize, frame: RelayFrame) {
        self.raw.push(frame.to_bytes());
        let now = self.now;
        let answers = self.node(to).feed(&frame, now);
        self.queue(to, answers);
    }

    fn relay_handle(&mut self, from: usize, frame: ClientFrame) {
        match frame {
            ClientFrame::Join { room } => {
                if self.seated.contains(&from) {
                    return;
                }
                let seat = self.seated.len() as u8;
                self.seated.push(from);
                self.send_to(from, RelayFrame::Joined { room, seat });
                if self.seated.len() == 1 {
                    self.send_to(from, RelayFrame::Waiting);
                } else {
                    let first = self.seated[0];
                    self.send_to(first, RelayFrame::PeerJoined);
                    self.send_to(from, RelayFrame::PeerJoined);
                }
            }
            ClientFrame::Leave => {
                if let Some(pos) = self.seated.iter().position(|&s| s == from) {
                    self.seated.remove(pos);
                    if let Some(&other) = self.seated.first() {
                        self.send_to(other, RelayFrame::PeerLeft);
                        self.send_to(other, RelayFrame::Waiting);
                    }
                }
            }
            ClientFrame::Payload(bytes) => {
                let verdict = (self.filter)(from, &bytes);
                let deliver = matches!(verdict, Verdict::Deliver)
                    && self.seated.contains(&from)
                    && self.seated.len() == 2;
                self.wire.push((from, bytes.clone(), deliver));
                if deliver {
                    self.send_to(1 - from, RelayFrame::Payload(bytes));
                }
            }
            ClientFrame::Ping(n) => self.send_to(from, RelayFrame::Pong(n)),
        }
    }

    /// Runs the relay until nothing is in flight.
    pub fn run(&mut self) {
        for _ in 0..100_000 {
            let from = if !self.inbound[0].is_empty() {
                0
            } else if !self.inbound[1].is_empty() {
                1
            } else {
                return;
            };
            let frame = self.inbound[from].pop_front().unwrap();
            self.relay_handle(from, frame);
        }
        panic!("the relay never went idle");
    }

    /// Advances time by `by`, runs both clients' timers, then the relay.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        let fa = self.a.tick(now);
        self.queue(0, fa);
        let fb = self.b.tick(now);
        self.queue(1, fb);
        self.run();
    }

    /// Queues what a side transmitted after a command the test gave it directly.
    pub fn flush(&mut self, i: usize) {
        let frames = self.node(i).drain();
        self.queue(i, frames);
        self.run();
    }

    /// Side `i` leaves the relay's room (its connection dies): the other gets PeerLeft, Waiting.
    pub fn disconnect(&mut self, i: usize) {
        let now = self.now;
        self.node(i).client.handle_disconnected(now);
        let _ = self.node(i).drain();
        self.inbound[i].clear();
        self.relay_handle(i, ClientFrame::Leave);
        self.run();
    }

    /// Side `i` connects again (it rejoins its room).
    pub fn reconnect(&mut self, i: usize) {
        let now = self.now;
        self.node(i).client.handle_connected(now);
        self.flush(i);
    }

    /// Replaces side `i`'s client (a restart, possibly with another identity), connected and joined.
    pub fn replace(&mut self, i: usize, node: Node) {
        self.disconnect(i);
        let sent = node.sent.clone();
        *self.node(i) = node;
        self.queue(i, sent);
        self.run();
    }

    /// Puts `node` in side `i`'s place and returns the node that was there (its connection dropped).
    /// A `fresh` node has its Join in `sent`; an old one (disconnected earlier) connects again.
    pub fn swap(&mut self, i: usize, node: Node, fresh: bool) -> Node {
        self.disconnect(i);
        let old = std::mem::replace(self.node(i), node);
        if fresh {
            let sent = self.node(i).sent.clone();
            self.queue(i, sent);
            self.run();
        } else {
            self.reconnect(i);
        }
        old
    }

    /// Data envelopes side `i` sent, in order (delivered or not).
    pub fn data_sent_by(&self, i: usize) -> usize {
        self.wire
            .iter()
            .filter(|(from, p, _)| *from == i && p.get(1) == Some(&0x10))
            .count()
    }
}

/// Whether any shown message id repeats, or a stream's numbers are not shown in increasing order.
pub fn shown_exactly_once_in_order(shown: &[(MessageId, String)]) -> Result<(), String> {
    let mut seen = HashSet::new();
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    for (id, _) in shown {
        if !seen.insert(*id) {
            return Err(format!("{id:?} shown twice"));
        }
        let prev = last.insert(id.stream, id.number).unwrap_or(0);
        if id.number <= prev {
            return Err(format!("{id:?} shown after number {prev}"));
        }
    }
    Ok(())
}

// ---- a malicious peer: the real handshake, then any content it likes ---------------------------

/// A peer that ran the real handshake with a victim `Node` (so it holds a genuine session with it)
/// and then sends whatever contents it wants, bypassing every rule of the sending client.
pub struct EvilPeer {
    pub session: sans_io_proto::Session,
    pub rng: ChaCha20Rng,
}

impl EvilPeer {
    /// Seats the victim (Joined, Waiting), says PeerJoined and completes a key exchange with it.
    pub fn connect(victim: &mut Node, identity: &IdentityKeyPair, seed: u64, now: Instant) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        victim.feed(
            &RelayFrame::Joined {
                room: room(),
                seat: 0,
            },
            now,
        );
        victim.feed(&RelayFrame::Waiting, now);
        let mut hs = sans_io_proto::Handshake::new(identity, &mut rng, now);
        let mut from_victim = payloads(&victim.feed(&RelayFrame::PeerJoined, now));
        for _ in 0..10 {
            for p in from_victim.drain(..) {
                let _ = hs.handle_bytes(&p, &mut rng);
            }
            while let Some(e) = hs.poll_transmit() {
                from_victim.extend(payloads(&victim.feed(&RelayFrame::Payload(e), now)));
            }
            if hs.is_established() && victim.client.is_secure() {
                break;
            }
        }
        let session = hs.into_session().expect("the evil peer is established");
        let mut peer = EvilPeer { session, rng };
        // Whatever the victim sent after the handshake (profile, outbox) is read and dropped.
        peer.read(&from_victim);
        peer
    }

    /// Encrypts `content` and feeds it to the victim; returns the victim's answers.
    pub fn send(
        &mut self,
        victim: &mut Node,
        content: &sans_io_proto::Content,
        now: Instant,
    ) -> Vec<ClientFrame> {
        let out = self
            .session
            .encrypt(content, 0, &mut self.rng)
            .expect("encrypt");
        victim.feed(&RelayFrame::Payload(out.envelope), now)
    }

    /// Decrypts the victim's Data payloads.
    pub fn read(&mut self, payloads_from_victim: &[Vec<u8>]) -> Vec<sans_io_proto::Content> {
        payloads_from_victim
            .iter()
            .filter(|p| p.get(1) == Some(&0x10))
            .filter_map(|p| self.session.decrypt(p, &mut self.rng).ok())
            .map(|i| i.content)
            .collect()
    }
}
