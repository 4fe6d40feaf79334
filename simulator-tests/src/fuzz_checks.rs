//! The bodies of the `cargo fuzz` targets (in `fuzz/`), kept here so that `cargo test` replays the
//! kept inputs of `vectors/fuzz-corpus/<target>/` and `vectors/fuzz-regressions/<target>/` through
//! exactly the code the fuzzer ran (`tests/fuzz_regressions.rs`). Each check takes the raw fuzzer
//! input and panics when an invariant breaks; a typed error from the code under test is the
//! expected answer to garbage ("a panic means a bug, never bad input").
//!
//! Two kinds of input format:
//! - `ratchet_ops` and `relay_core` decode a list of operations with
//!   `arbitrary::Unstructured::arbitrary_take_rest` (what `libfuzzer-sys` does for a typed target);
//! - `handshake_message` and `client_input` read a small byte script ([`Script`]) whose all-zero
//!   form replays a genuine run: the fuzzer starts from inputs that get past every MAC, and mutates
//!   from there (drop, repeat, replay, flip a byte, inject garbage, wait, reconnect).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use quic_relay::core::{ConnId, Limits, RelayCore, RelayOutput};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::delivery::Conversation;
use sans_io_proto::envelope::{EnvelopeType, HandshakeBody};
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName, WireFrame};
use sans_io_proto::{
    Client, ClientConfig, Content, Envelope, Event, Fingerprint, Handshake, IdentityKeyPair,
    MessageId, MessageState, Output, PublicIdentity, Session, identity_file,
};

use crate::frames::{self, Downstream, UpstreamDecoder};
use crate::identities::identities;

/// A fuzz target's check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target by name, in the order `cargo fuzz list` prints them.
pub const TARGETS: [(&str, Check); 9] = [
    ("client_input", client_input),
    ("delivery_state", delivery_state),
    ("envelope_decode", envelope_decode),
    ("frame_decode", frame_decode),
    ("handshake_message", handshake_message),
    ("identity_file", identity_file),
    ("ratchet_ops", ratchet_ops),
    ("relay_core", relay_core),
    ("session_decrypt", session_decrypt),
];

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// One fixed instant for everything recorded once and replayed per input.
fn epoch() -> Instant {
    static T: OnceLock<Instant> = OnceLock::new();
    *T.get_or_init(Instant::now)
}

/// A cursor over a fuzz input: the byte script of `handshake_message` and `client_input`.
pub struct Script<'a> {
    rest: &'a [u8],
}

impl<'a> Script<'a> {
    /// A script over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Script { rest: data }
    }

    /// The next byte (None at the end).
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    /// The next big-endian u16 (missing bytes read as 0).
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte().unwrap_or(0), self.byte().unwrap_or(0)])
    }

    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.rest.split_at(n.min(self.rest.len()));
        self.rest = tail;
        head
    }
}

// ---- genuine material, computed once ------------------------------------------------------------

/// A genuine handshake between the first two fixed identities: every state each side went
/// through (a clone of the handshake and of its RNG before each message it received), the
/// messages each side received in order, and what the finished sessions agreed on.
pub struct GenuineHandshake {
    /// `(side, index of the next message it receives, handshake, its rng)` for every stage before
    /// the side was established.
    pub stages: Vec<(usize, usize, Handshake, ChaCha20Rng)>,
    /// The envelopes each side received, in order.
    pub incoming: [Vec<Vec<u8>>; 2],
    /// The two established sessions (side 0, side 1).
    pub sessions: [Session; 2],
}

/// The genuine handshake (computed once: it costs RSA and DH operations).
pub fn genuine_handshake() -> &'static GenuineHandshake {
    static G: OnceLock<GenuineHandshake> = OnceLock::new();
    G.get_or_init(|| {
        let ids = identities();
        let mut rngs = [rng(1), rng(2)];
        let mut hs = [
            Handshake::new(&ids[0], &mut rngs[0], epoch()),
            Handshake::new(&ids[1], &mut rngs[1], epoch()),
        ];
        let mut incoming: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        let mut stages = Vec::new();
        while !(hs[0].is_established() && hs[1].is_established()) {
            let mut moved = false;
            for from in 0..2 {
                let to = 1 - from;
                while let Some(m) = hs[from].poll_transmit() {
                    moved = true;
                    stages.push((to, incoming[to].len(), hs[to].clone(), rngs[to].clone()));
                    hs[to]
                        .handle_bytes(&m, &mut rngs[to])
                        .expect("genuine handshake message");
                    incoming[to].push(m);
                }
            }
            assert!(moved, "the genuine handshake stalled");
        }
        let [a, b] = hs;
        let sessions = [
            a.into_session().expect("established"),
            b.into_session().expect("established"),
        ];
        assert!(
            stages
                .iter()
                .all(|(_, _, h, _)| !h.is_established() && h.failure().is_none())
        );
        GenuineHandshake {
            stages,
            incoming,
            sessions,
        }
    })
}

/// Two established sessions between the first two fixed identities (alice, bob).
pub fn established() -> (&'static Session, &'static Session) {
    let g = genuine_handshake();
    (&g.sessions[0], &g.sessions[1])
}

fn text(id: u64, s: &str) -> Content {
    Content::Text {
        id: MessageId {
            stream: 7,
            number: id,
        },
        expire_secs: 0,
        text: s.to_owned(),
    }
}

// ---- the checks ---------------------------------------------------------------------------------

/// Frames from the network, read as each direction (`ClientFrame` at the relay, `RelayFrame` at a
/// client): one-shot `decode` on the raw input, and the stream decoder fed the same bytes in pieces
/// whose size the first byte picks. A decoded frame re-encodes to bytes that decode to the same
/// frame.
pub fn frame_decode(data: &[u8]) {
    fn one_way<F: WireFrame + PartialEq + core::fmt::Debug>(data: &[u8]) {
        if let Ok((frame, used)) = F::decode(data) {
            assert!(
                used <= data.len(),
                "decoder claims to have used more bytes than it had"
            );
            let again = frame.to_bytes();
            assert_eq!(
                F::decode(&again).map(|(f, _)| f),
                Ok(frame),
                "re-encoding changed a frame"
            );
        }
        let step = usize::from(data.first().copied().unwrap_or(1)).max(1);
        let mut decoder = FrameDecoder::<F>::new();
        for piece in data.chunks(step) {
            decoder.push(piece);
            while let Ok(Some(_)) = decoder.next_frame() {}
        }
    }
    one_way::<ClientFrame>(data);
    one_way::<RelayFrame>(data);
}

/// End-to-end envelopes (PROTOCOL.md §4): `Envelope::decode` is total, and a decoded envelope is
/// exactly its bytes: its raw form is the input, its type byte and size are the ones of §4, and its
/// typed fields laid end to end after the prefix give back every byte. One byte more or less is
/// refused (every type has an exact size, Data a whole number of 256-byte buckets).
pub fn envelope_decode(data: &[u8]) {
    let Ok(env) = Envelope::decode(data) else {
        return;
    };
    let mut fields: Vec<&[u8]> = vec![&data[..2]];
    match &env {
        Envelope::Handshake(m) => {
            assert_eq!(m.raw(), data, "raw() is not the input");
            assert_eq!(m.kind().to_byte(), data[1], "type byte");
            assert_eq!(
                m.kind().handshake_body_len(),
                Some(data.len() - 2),
                "a handshake message of the wrong size decoded"
            );
            match *m.body() {
                HandshakeBody::Commit { commitment } => fields.push(commitment),
                HandshakeBody::Hello { nonce, eph_pub } => fields.extend([&nonce[..], eph_pub]),
                HandshakeBody::RespIdentity { attempt, id_box } => {
                    fields.extend([&attempt[..], id_box.ct, id_box.tag]);
                }
                HandshakeBody::InitAuth {
                    attempt,
                    kem_box,
                    id_box,
                } => fields.extend([&attempt[..], kem_box.ct, kem_box.tag, id_box.ct, id_box.tag]),
                HandshakeBody::RespAuth {
                    attempt,
                    kem_box,
                    confirm,
                } => fields.extend([&attempt[..], kem_box.ct, kem_box.tag, confirm]),
                HandshakeBody::InitConfirm { attempt, mac } => fields.extend([&attempt[..], mac]),
            }
            assert_eq!(
                m.attempt().is_some(),
                !matches!(m.kind(), EnvelopeType::Commit | EnvelopeType::Hello)
            );
        }
        Envelope::Data(m) => {
            assert_eq!(m.raw(), data, "raw() is not the input");
            assert_eq!(data[1], EnvelopeType::Data.to_byte());
            assert!(
                !m.body_ct.is_empty() && m.body_ct.len().is_multiple_of(256),
                "a Data body that is not whole buckets decoded"
            );
            fields.extend([&m.hn[..], m.header_ct, m.body_ct, m.body_tag, m.header_tag]);
            assert_eq!(m.header_covered(), &data[..data.len() - 32]);
            assert_eq!(m.body_covered(), &data[..data.len() - 64]);
        }
    }
    assert_eq!(
        fields.concat(),
        data,
        "the typed fields do not give back the bytes"
    );
    let mut longer = data.to_vec();
    longer.push(0);
    assert!(
        Envelope::decode(&longer).is_err(),
        "one byte more still decodes"
    );
    assert!(
        Envelope::decode(&data[..data.len() - 1]).is_err(),
        "one byte less still decodes"
    );
}

/// Handshake messages through an untrusted relay, at every stage of a genuine v2 handshake, for
/// both roles. The first byte picks the stage (side and the messages it received so far; a side's
/// role follows from the genuine nonces). Then a [`Script`]: `0` the next genuine message, `1` skip
/// one, `2` the next genuine message with one byte flipped, `3 k` an earlier genuine message again,
/// `4 n` n raw bytes, `5 n` n raw bytes after a genuine prefix (same type and size), `6 s` time
/// passes. No panic, and if the handshake completes, it is the genuine one: the same peer identity
/// and the same short authentication string (nothing forged could complete it).
pub fn handshake_message(data: &[u8]) {
    let _ = run_handshake_message(data);
}

/// [`handshake_message`], returning whether the handshake completed.
pub fn run_handshake_message(data: &[u8]) -> bool {
    let g = genuine_handshake();
    let mut s = Script::new(data);
    let pick = usize::from(s.byte().unwrap_or(0)) % g.stages.len();
    let (side, first, hs, rng) = &g.stages[pick];
    let (mut hs, mut rng) = (hs.clone(), rng.clone());
    let incoming = &g.incoming[*side];
    let mut next = *first;
    let mut forged = false;
    let mut ops = 0;
    while let Some(op) = s.byte() {
        ops += 1;
        if ops > 64 {
            break;
        }
        let message: Option<Vec<u8>> = match op % 7 {
            0 => {
                next += 1;
                incoming.get(next - 1).cloned()
            }
            1 => {
                next += 1;
                None
            }
            2 => {
                let pos = usize::from(s.u16());
                let xor = s.byte().unwrap_or(1).max(1);
                next += 1;
                incoming.get(next - 1).map(|m| {
                    let mut m = m.clone();
                    let at = pos % m.len();
                    m[at] ^= xor;
                    forged = true;
                    m
                })
            }
            3 => {
                let k = usize::from(s.byte().unwrap_or(0));
                (next > 0).then(|| incoming[k % next.min(incoming.len())].clone())
            }
            4 => {
                let n = usize::from(s.u16() % 1024);
                Some(s.bytes(n).to_vec())
            }
            5 => {
                let k = usize::from(s.byte().unwrap_or(0)) % incoming.len();
                let mut m = incoming[k].clone();
                let junk = s.bytes(m.len() - 2);
                m[2..2 + junk.len()].copy_from_slice(junk);
                forged |= m != incoming[k];
                Some(m)
            }
            _ => {
                let secs = u64::from(s.byte().unwrap_or(0));
                let _ = hs.handle_timeout(epoch() + Duration::from_secs(secs));
                None
            }
        };
        if let Some(m) = message {
            let _ = hs.handle_bytes(&m, &mut rng);
        }
        if hs.is_established() || hs.failure().is_some() {
            break;
        }
    }
    if hs.is_established() {
        let session = hs.into_session().expect("established");
        let genuine = &g.sessions[*side];
        assert_eq!(
            session.peer_identity().fingerprint(),
            genuine.peer_identity().fingerprint(),
            "a handshake completed with another identity"
        );
        assert_eq!(
            session.sas().value(),
            genuine.sas().value(),
            "a handshake completed with other keys (forged={forged})"
        );
        return true;
    }
    false
}

/// Data envelopes from the peer: arbitrary bytes into an established session never decrypt (the
/// input is taken as is and, to reach past the length checks, also cut to the nearest valid Data
/// size with the genuine prefix), and the session still works afterwards.
pub fn session_decrypt(data: &[u8]) {
    let (alice, bob) = established();
    let (mut alice, mut bob) = (alice.clone(), bob.clone());
    let mut rng = rng(9);
    assert!(
        bob.decrypt(data, &mut rng).is_err(),
        "forged bytes decrypted"
    );
    let n = data
        .len()
        .clamp(2 + 16 + 272 + 256 + 64, 2 + 16 + 272 + 254 * 256 + 64);
    let n = n - (n - (2 + 16 + 272 + 64)) % 256;
    let mut shaped = vec![0u8; n];
    shaped[..2].copy_from_slice(&[0x02, 0x10]);
    let body = data.get(2..).unwrap_or_default();
    let len = body.len().min(n - 2);
    shaped[2..2 + len].copy_from_slice(&body[..len]);
    assert!(
        bob.decrypt(&shaped, &mut rng).is_err(),
        "forged Data decrypted"
    );
    let content = text(1, "still works");
    let m = alice.encrypt(&content, 0, &mut rng).expect("encrypt");
    let got = bob
        .decrypt(&m.envelope, &mut rng)
        .expect("session survives forged input");
    assert_eq!(got.content, content);
}

/// One operation of the `ratchet_ops` target.
#[derive(Arbitrary, Debug)]
enum RatchetOp {
    /// Alice (true) or Bob sends a message of this length.
    Send { from_alice: bool, len: u8 },
    /// Deliver the in-flight message at this index (mod the count).
    Deliver { index: u8 },
    /// Deliver a copy again.
    Duplicate { index: u8 },
    /// Deliver a copy with one bit flipped.
    Tamper { index: u8, bit: u16 },
    /// Lose it.
    Drop { index: u8 },
}

struct InFlight {
    to_bob: bool,
    content: Content,
    envelope: Vec<u8>,
    delivered: bool,
}

/// The double ratchet under arbitrary sequences of sends both ways, deliveries in any order,
/// duplicates, bit flips and drops (quinn-proto's `streams` fuzzing style). Every delivered
/// message was sent, arrives at most once and unmodified; a tampered copy never decrypts.
pub fn ratchet_ops(data: &[u8]) {
    let Ok(ops) = Vec::<RatchetOp>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (alice, bob) = established();
    let (mut alice, mut bob) = (alice.clone(), bob.clone());
    let mut rng = rng(11);
    let mut flight: Vec<InFlight> = Vec::new();
    let mut counter = 0u64;
    for op in ops.into_iter().take(64) {
        match op {
            RatchetOp::Send { from_alice, len } => {
                counter += 1;
                let content = text(
                    counter,
                    &format!("{counter}:{}", "x".repeat(usize::from(len))),
                );
                let s = if from_alice { &mut alice } else { &mut bob };
                let out = s.encrypt(&content, 0, &mut rng).expect("encrypt");
                flight.push(InFlight {
                    to_bob: from_alice,
                    content,
                    envelope: out.envelope,
                    delivered: false,
                });
            }
            RatchetOp::Deliver { index } | RatchetOp::Duplicate { index } if !flight.is_empty() => {
                let i = usize::from(index) % flight.len();
                let m = &mut flight[i];
                let s = if m.to_bob { &mut bob } else { &mut alice };
                // A refusal is allowed (a duplicate, or a key evicted after many DH steps); a
                // wrong or repeated delivery is not.
                if let Ok(got) = s.decrypt(&m.envelope, &mut rng) {
                    assert!(!m.delivered, "a message was delivered twice");
                    assert_eq!(got.content, m.content, "wrong plaintext");
                    m.delivered = true;
                }
            }
            RatchetOp::Tamper { index, bit } if !flight.is_empty() => {
                let m = &flight[usize::from(index) % flight.len()];
                let mut bad = m.envelope.clone();
                let bit = usize::from(bit) % (bad.len() * 8);
                bad[bit / 8] ^= 1 << (bit % 8);
                let s = if m.to_bob { &mut bob } else { &mut alice };
                assert!(
                    s.decrypt(&bad, &mut rng).is_err(),
                    "a tampered message decrypted"
                );
            }
            RatchetOp::Drop { index } if !flight.is_empty() => {
                let i = usize::from(index) % flight.len();
                flight.remove(i);
            }
            _ => {}
        }
    }
}

/// Stored delivery states (PROTOCOL.md §7.10) from a damaged or hostile disk: `Conversation::decode`
/// is total, and a state that decodes re-encodes to exactly the same bytes (one encoding per state,
/// so nothing a file holds is silently changed by a restore).
pub fn delivery_state(data: &[u8]) {
    if let Ok(conv) = Conversation::decode(data) {
        assert_eq!(
            &conv.encode()[..],
            data,
            "a stored state re-encodes differently"
        );
    }
}

/// Stored identity files: arbitrary bytes into `identity_file::open_with`, and into the two key
/// encodings a file (private key) or a peer's handshake (public key) carries. Key stretching is
/// capped so the fuzzer spends its time on parsing, not on PBKDF2 or Argon2id: a version 1 file's
/// iterations to below 64, a version 2 file's Argon2id memory to below 64 KiB and its passes to at
/// most 2 (the lanes byte is left alone, so the range check still sees every value; the real
/// bounds are unit-tested in `identity_file`). A file that opens keeps the upgrade promise of
/// PROTOCOL.md §9.2: version 1 comes back with a version 2 rewrite that opens to the same identity
/// and storage key, version 2 with none. A key that decodes re-encodes to the same bytes.
pub fn identity_file(data: &[u8]) {
    /// The rewrite of a version 1 file: the cheapest accepted parameters.
    const REWRITE: identity_file::Argon2Params = identity_file::Argon2Params {
        m_cost_kib: 8,
        t_cost: 1,
        lanes: 1,
    };
    let mut file = data.to_vec();
    let version = file.get(8).copied();
    let cap = |file: &mut Vec<u8>, at: usize, max: u32| {
        if let Some(field) = file.get_mut(at..at + 4) {
            let value = u32::from_be_bytes([field[0], field[1], field[2], field[3]]);
            if value > max {
                field.copy_from_slice(&(value % (max + 1)).to_be_bytes());
            }
        }
    };
    match version {
        Some(1) => cap(&mut file, 9, 63),
        Some(2) => {
            cap(&mut file, 9, 63);
            cap(&mut file, 13, 2);
        }
        _ => {}
    }
    if let Ok(unlocked) = identity_file::open_with(&file, "passphrase", REWRITE, &mut rng(0)) {
        match (version, &unlocked.rewrite) {
            (Some(1), Some(rewrite)) => {
                let again = identity_file::open_with(rewrite, "passphrase", REWRITE, &mut rng(1))
                    .expect("the rewrite of a version 1 file opens");
                assert_eq!(
                    again.identity.to_private_bytes(),
                    unlocked.identity.to_private_bytes(),
                    "the rewrite holds another identity"
                );
                assert_eq!(
                    again.storage_key.as_bytes(),
                    unlocked.storage_key.as_bytes(),
                    "the rewrite holds another storage key"
                );
                assert!(again.rewrite.is_none(), "a rewrite asks to be rewritten");
            }
            (Some(2), None) => {}
            (v, r) => panic!("version {v:?} opened with rewrite {}", r.is_some()),
        }
    }
    if let Ok(pair) = IdentityKeyPair::from_private_bytes(data) {
        assert_eq!(
            &pair.to_private_bytes()[..],
            data,
            "private key encoding is not canonical"
        );
    }
    if let Ok(public) = PublicIdentity::from_bytes(data) {
        assert_eq!(
            &public.as_bytes()[..],
            data,
            "public key encoding is not canonical"
        );
    }
}

/// One operation of the `relay_core` target.
#[derive(Arbitrary, Debug)]
enum RelayOp {
    Connect,
    Disconnect { who: u8 },
    Bytes { who: u8, bytes: Vec<u8> },
    Wait { ms: u16 },
}

/// The relay's room logic (three shards) under arbitrary traffic from up to eight clients:
/// connects, disconnects, frames decoded from arbitrary bytes (handed over only while the relay
/// wants input, as QUIC flow control does in the server), time passing. No panic; never more
/// rooms than the limit; and, as each client sees its own frames: a Payload only while it is
/// paired (between `PeerJoined` and the next `PeerLeft`), nothing at all after its `Close`.
pub fn relay_core(data: &[u8]) {
    let Ok(ops) = Vec::<RelayOp>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let limits = Limits {
        idle_timeout: Duration::from_secs(5),
        stream_timeout: Duration::from_secs(5),
        max_rooms: 4,
        max_redirect_tries: 8,
        ..Limits::default()
    };
    let mut core = RelayCore::with_shards(limits, 3);
    let mut now = Instant::now();
    let mut conns: Vec<(ConnId, FrameDecoder<ClientFrame>)> = Vec::new();
    // What each client has seen: paired, closed.
    let mut seen: std::collections::HashMap<ConnId, (bool, bool)> = Default::default();
    for op in ops.into_iter().take(200) {
        match op {
            RelayOp::Connect if conns.len() < 8 => {
                if let Ok(c) = core.handle_connect(now) {
                    conns.push((c, FrameDecoder::new()));
                }
            }
            RelayOp::Disconnect { who } if !conns.is_empty() => {
                let (c, _) = conns.remove(usize::from(who) % conns.len());
                core.handle_disconnect(c);
            }
            RelayOp::Bytes { who, bytes } if !conns.is_empty() => {
                let i = usize::from(who) % conns.len();
                let c = conns[i].0;
                conns[i].1.push(&bytes);
                while core.wants_input(c) {
                    match conns[i].1.next_frame() {
                        Ok(Some(frame)) => core.handle_frame(c, frame, now),
                        Ok(None) => break,
                        Err(e) => {
                            core.handle_decode_error(c, &e);
                            break;
                        }
                    }
                }
            }
            RelayOp::Wait { ms } => {
                now += Duration::from_millis(u64::from(ms));
                core.handle_timeout(now);
            }
            _ => {}
        }
        while let Some(out) = core.poll_output() {
            match out {
                RelayOutput::Send { to, frame } => {
                    let (paired, closed) = seen.entry(to).or_default();
                    assert!(!*closed, "a frame after the close: {frame:?}");
                    match frame {
                        RelayFrame::PeerJoined => *paired = true,
                        RelayFrame::PeerLeft | RelayFrame::Joined { .. } => *paired = false,
                        RelayFrame::Payload(_) => {
                            assert!(*paired, "a payload to a client that is not paired")
                        }
                        _ => {}
                    }
                }
                RelayOutput::Close { conn, .. } => seen.entry(conn).or_default().1 = true,
            }
        }
        assert!(core.stats().rooms <= 4, "more rooms than the limit");
    }
}

// ---- client_input -------------------------------------------------------------------------------

/// A genuine session as alice's client saw it: every relay frame that reached her, in order, and
/// what bob wrote. Both apps approve the first identity they meet (as the desktop app does), bob
/// writes three texts, alice acknowledges them.
pub struct GenuineClientRun {
    /// The relay's frames to alice, each as the bytes of one frame.
    pub to_alice: Vec<Vec<u8>>,
    /// Bob's texts.
    pub texts: Vec<String>,
}

const ALICE_SEED: u64 = 5;
const FUZZ_ROOM: &str = "fuzz";

fn fuzz_client(identity: &IdentityKeyPair, name: &str, seed: u64) -> Client<ChaCha20Rng> {
    let config = ClientConfig {
        display_name: Some(name.to_owned()),
        resume: true,
    };
    let mut c = Client::new(identity.clone(), config, rng(seed), epoch());
    c.handle_connected(epoch());
    c.join(RoomName::new(FUZZ_ROOM).expect("valid room name"));
    c
}

/// The recorded genuine run (computed once). A two-seat relay in a few lines: the first joiner
/// waits, the second pairs them, payloads cross over.
pub fn genuine_client_run() -> &'static GenuineClientRun {
    static R: OnceLock<GenuineClientRun> = OnceLock::new();
    R.get_or_init(|| {
        let ids = identities();
        let mut clients = [
            fuzz_client(&ids[0], "alice", ALICE_SEED),
            fuzz_client(&ids[1], "bob", 6),
        ];
        let mut upstream = [UpstreamDecoder::default(), UpstreamDecoder::default()];
        let mut seated = [false, false];
        let mut to_alice = Vec::new();
        let texts: Vec<String> = (1..=3)
            .map(|k| format!("genuine text {k} from bob"))
            .collect();
        let mut written = false;
        let send = |to: usize,
                    frame: &Downstream,
                    clients: &mut [Client<ChaCha20Rng>; 2],
                    to_alice: &mut Vec<Vec<u8>>| {
            let bytes = frames::encode_downstream(frame);
            if to == 0 {
                to_alice.push(bytes.clone());
            }
            clients[to].handle_input(&bytes, epoch());
        };
        for _round in 0..1000 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(out) = clients[i].poll_output() {
                    moved = true;
                    match out {
                        Output::Transmit(bytes) => {
                            let frames = upstream[i].feed(&bytes).expect("client frames");
                            for f in frames {
                                let replies = two_seat_relay(i, &f, &mut seated);
                                for (to, frame) in replies {
                                    send(to, &frame, &mut clients, &mut to_alice);
                                }
                            }
                        }
                        Output::Event(Event::Secure(info)) => {
                            clients[i].approve(&info.peer.fingerprint(), epoch());
                            if i == 1 && !written {
                                written = true;
                                let to = ids[0].fingerprint();
                                for t in &texts {
                                    clients[1].send_text(&to, t, 0, epoch()).expect("queued");
                                }
                            }
                        }
                        Output::Event(_) | Output::Persist { .. } => {}
                    }
                }
            }
            if !moved {
                break;
            }
        }
        let shown = to_alice.len();
        assert!(
            shown > 8,
            "the genuine client run recorded only {shown} frames"
        );
        GenuineClientRun { to_alice, texts }
    })
}

/// The relay's answer to one client frame in the recorded run: `(to, frame)` pairs.
fn two_seat_relay(
    from: usize,
    frame: &crate::frames::Upstream,
    seated: &mut [bool; 2],
) -> Vec<(usize, Downstream)> {
    let other = 1 - from;
    match frame {
        ClientFrame::Join { room } => {
            seated[from] = true;
            let mut out = vec![(
                from,
                RelayFrame::Joined {
                    room: room.clone(),
                    seat: from as u8,
                },
            )];
            if seated[other] {
                out.push((from, frames::peer_joined()));
                out.push((other, frames::peer_joined()));
            } else {
                out.push((from, RelayFrame::Waiting));
            }
            out
        }
        ClientFrame::Payload(p) if seated[other] => {
            vec![(other, frames::downstream_payload_frame(p.clone()))]
        }
        _ => Vec::new(),
    }
}

/// A hostile relay's byte stream into alice's long-lived client, starting from the genuine run
/// (the all-zero script replays it exactly: same seeds, same frames). The first byte sets alice's
/// app: bit 0 approves the first identity met (else it approves nobody), bit 1 approves Mallory's
/// identity up front. Then a [`Script`]: `0` the next genuine frame, `1` skip one, `2` the next
/// genuine frame with a byte flipped, `3 k` an earlier genuine frame again, `4 n` n raw bytes,
/// `5 n` a Payload frame of n raw bytes, `6 s` time passes (s × 250 ms), `7` the connection drops
/// and comes back, `8` alice writes to bob, `9 k` a genuine frame's payload cut at k.
///
/// No panic, and: every message shown is one of bob's texts, shown once, from bob's identity,
/// while alice's app approved it; a display name is shown only from an approved identity; no
/// message alice did not write is reported delivered; a session the client treats as approved
/// is one the app approved.
pub fn client_input(data: &[u8]) {
    let _ = run_client_input(data);
}

/// [`client_input`], returning how many of bob's texts alice showed.
pub fn run_client_input(data: &[u8]) -> usize {
    let g = genuine_client_run();
    let ids = identities();
    let bob = ids[1].fingerprint();
    let mallory = ids[2].fingerprint();
    let mut s = Script::new(data);
    let mode = s.byte().unwrap_or(0);
    let approve_first = mode & 1 == 0;
    let mut first_done = false;
    let mut alice = fuzz_client(&ids[0], "alice", ALICE_SEED);
    let mut approved: Vec<Fingerprint> = Vec::new();
    if mode & 2 != 0 {
        alice.approve(&mallory, epoch());
        approved.push(mallory);
    }
    let mut now = epoch();
    let mut next = 0usize;
    let mut shown: Vec<String> = Vec::new();
    let mut mine: Vec<MessageId> = Vec::new();
    let mut ops = 0;
    loop {
        // Alice's app handles her outputs: approves as set up, checks what she shows.
        while let Some(out) = alice.poll_output() {
            match out {
                Output::Event(Event::Secure(info)) => {
                    let fp = info.peer.fingerprint();
                    if approve_first && !first_done {
                        first_done = true;
                        approved.push(fp);
                        alice.approve(&fp, now);
                    }
                }
                Output::Event(Event::Message { from, text, .. }) => {
                    assert!(
                        approved.contains(&from),
                        "shown from an unapproved identity"
                    );
                    assert_eq!(from, bob, "shown from another identity than bob's");
                    assert!(g.texts.contains(&text), "shown a text bob never wrote");
                    assert!(!shown.contains(&text), "shown twice");
                    shown.push(text);
                }
                Output::Event(Event::PeerName { from, .. }) => {
                    assert!(
                        approved.contains(&from),
                        "a display name from an unapproved identity"
                    );
                }
                Output::Event(Event::MessageState {
                    id,
                    state: MessageState::Delivered,
                    ..
                }) => assert!(mine.contains(&id), "delivered a message alice never wrote"),
                _ => {}
            }
        }
        if let Some((fp, true)) = alice.secure_peer() {
            assert!(
                approved.contains(&fp),
                "the client treats an unapproved session as approved"
            );
        }
        let Some(op) = s.byte() else { break };
        ops += 1;
        if ops > 200 {
            break;
        }
        match op % 10 {
            0 => {
                if let Some(f) = g.to_alice.get(next) {
                    alice.handle_input(f, now);
                }
                next += 1;
            }
            1 => next += 1,
            2 => {
                let pos = usize::from(s.u16());
                let xor = s.byte().unwrap_or(1).max(1);
                if let Some(f) = g.to_alice.get(next) {
                    let mut f = f.clone();
                    // Flip inside the frame body (a broken header only breaks the framing).
                    let at = 6 + pos % f.len().saturating_sub(6).max(1);
                    if at < f.len() {
                        f[at] ^= xor;
                    }
                    alice.handle_input(&f, now);
                }
                next += 1;
            }
            3 => {
                let k = usize::from(s.byte().unwrap_or(0));
                if next > 0 {
                    let f = &g.to_alice[k % next.min(g.to_alice.len())];
                    alice.handle_input(f, now);
                }
            }
            4 => {
                let n = usize::from(s.byte().unwrap_or(0));
                alice.handle_input(s.bytes(n), now);
            }
            5 => {
                let n = usize::from(s.u16() % 2048);
                let p = s.bytes(n).to_vec();
                if !p.is_empty() {
                    let f = frames::downstream_payload_frame(p);
                    alice.handle_input(&frames::encode_downstream(&f), now);
                }
            }
            6 => {
                now += Duration::from_millis(250 * u64::from(s.byte().unwrap_or(0)));
                alice.handle_timeout(now);
            }
            7 => {
                alice.handle_disconnected(now);
                alice.handle_connected(now);
            }
            8 => {
                if let Ok(id) = alice.send_text(&bob, "from alice", 0, now) {
                    mine.push(id);
                }
            }
            _ => {
                let k = usize::from(s.byte().unwrap_or(0)) % g.to_alice.len();
                let cut = usize::from(s.u16());
                let full = &g.to_alice[k];
                if let Ok(frames) = UpstreamDecoder::default().feed(full)
                    && let Some(p) = frames.first().and_then(frames::upstream_payload)
                    && !p.is_empty()
                {
                    let p = p[..1 + cut % p.len()].to_vec();
                    let f = frames::downstream_payload_frame(p);
                    alice.handle_input(&frames::encode_downstream(&f), now);
                }
            }
        }
        if alice.is_broken() {
            // The driver closes a connection whose framing broke, and opens a new one.
            alice.handle_disconnected(now);
            alice.handle_connected(now);
        }
    }
    shown.len()
}

/// The genuine inputs each structured target starts from, by target name: the all-zero scripts
/// (the genuine run, played back), one per handshake stage.
pub fn genuine_seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let g = genuine_handshake();
    let mut out = Vec::new();
    for (k, (side, first, _, _)) in g.stages.iter().enumerate() {
        let left = g.incoming[*side].len() - first;
        let mut input = vec![k as u8];
        input.extend(std::iter::repeat_n(0u8, left));
        out.push(("handshake_message", format!("seed-stage-{k}"), input));
    }
    let run = genuine_client_run();
    let mut input = vec![0u8];
    input.extend(std::iter::repeat_n(0u8, run.to_alice.len()));
    out.push(("client_input", "seed-genuine-run".to_owned(), input));
    let (alice, bob) = established();
    let env = alice
        .clone()
        .encrypt(&text(1, "seed"), 0, &mut rng(3))
        .expect("encrypt")
        .envelope;
    out.push(("envelope_decode", "seed-data".to_owned(), env));
    // Bob's own genuine envelope, reflected back to him: well formed, and must never decrypt.
    let own = bob
        .clone()
        .encrypt(&text(1, "seed"), 0, &mut rng(3))
        .expect("encrypt")
        .envelope;
    out.push(("session_decrypt", "seed-reflected".to_owned(), own));
    for (k, m) in genuine_handshake().incoming.iter().flatten().enumerate() {
        out.push(("envelope_decode", format!("seed-handshake-{k}"), m.clone()));
    }
    out.push(("delivery_state", "seed-state".to_owned(), seed_state()));
    out
}

fn ids_fp(i: usize) -> Fingerprint {
    identities()[i].fingerprint()
}

/// A delivery state with every part filled: two outbox entries (a text and a timer change), and
/// from the peer a shown-but-unconfirmed text, a held one beyond a gap, and an older stream.
fn seed_state() -> Vec<u8> {
    use sans_io_proto::delivery::{Entry, Stored};
    let mut conv = Conversation::new(ids_fp(1), &mut rng(4));
    let _ = conv.queue_text("kept", 1);
    let _ = conv.queue_timer(30, 2);
    let own = ids_fp(0);
    let text = |n: u64, t: &str| Stored {
        number: n,
        sent_at_ms: 3,
        entry: Entry::Text {
            expire_secs: 0,
            text: t.to_owned().into(),
        },
    };
    let id = |stream: u64, number: u64| MessageId { stream, number };
    let _ = conv.receive(id(11, 1), text(1, "old stream"), &own);
    let _ = conv.receive(id(12, 1), text(1, "shown"), &own);
    let _ = conv.receive(id(12, 3), text(3, "held"), &own);
    conv.encode().to_vec()
}
