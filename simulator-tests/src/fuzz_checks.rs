//! The bodies of the `cargo fuzz` targets (in `fuzz/`), kept here so that `cargo test` can replay
//! the kept inputs of `vectors/fuzz-regressions/<target>/` through exactly the code the fuzzer ran
//! (`tests/fuzz_regressions.rs`). Each check takes the raw fuzzer input and panics when an
//! invariant breaks; a typed error from the code under test is the expected answer to garbage.
//!
//! The structured targets (`ratchet_ops`, `relay_core`) decode their operation lists with
//! `arbitrary::Unstructured::arbitrary_take_rest`, which is what `libfuzzer-sys` does for a typed
//! `fuzz_target!`, so an input file means the same operations here and under the fuzzer.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Unstructured};
use quic_relay::core::{ConnId, Limits, RelayCore, RelayOutput};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName, WireFrame};
use sans_io_proto::{
    Client, ClientConfig, Content, Event, Handshake, IdentityKeyPair, Output, PublicIdentity,
    Session, identity_file,
};

use crate::identities::identities;

/// A fuzz target's check: panics when an invariant breaks.
pub type Check = fn(&[u8]);

/// Every target by name, in the order `cargo fuzz list` prints them.
pub const TARGETS: [(&str, Check); 7] = [
    ("client_input", client_input),
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

/// Two established sessions (Alice, Bob) between the first two fixed identities, and the
/// handshake envelopes Alice sent to build them, computed once (a handshake costs milliseconds; the fuzzer
/// runs thousands of inputs a second).
pub fn established() -> &'static (Session, Session, Vec<Vec<u8>>) {
    static S: OnceLock<(Session, Session, Vec<Vec<u8>>)> = OnceLock::new();
    S.get_or_init(|| {
        let ids = identities();
        let (mut ra, mut rb) = (rng(1), rng(2));
        let now = Instant::now();
        let mut a = Handshake::new(&ids[0], &mut ra, now);
        let mut b = Handshake::new(&ids[1], &mut rb, now);
        let mut to_bob = Vec::new();
        while !(a.is_established() && b.is_established()) {
            while let Some(m) = a.poll_transmit() {
                b.handle_message(&m, &mut rb)
                    .expect("genuine handshake message");
                to_bob.push(m);
            }
            while let Some(m) = b.poll_transmit() {
                a.handle_message(&m, &mut ra)
                    .expect("genuine handshake message");
            }
        }
        let a = a.into_session().expect("established");
        let b = b.into_session().expect("established");
        (a, b, to_bob)
    })
}

/// Frames from the network, in both directions: one-shot `decode` of each direction on the raw
/// input, and each direction's stream decoder fed the same bytes in pieces whose size the first
/// byte picks (alternately whole pieces and at most `wanted()` bytes, as the relay reads). A
/// decoded frame re-encodes to bytes that decode to the same frame.
pub fn frame_decode(data: &[u8]) {
    one_direction::<ClientFrame>(data);
    one_direction::<RelayFrame>(data);
}

fn one_direction<F: WireFrame + PartialEq + core::fmt::Debug>(data: &[u8]) {
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
    let bounded = data.len().is_multiple_of(2);
    let mut decoder = FrameDecoder::<F>::new();
    let mut rest = data;
    while !rest.is_empty() {
        let wanted = decoder.wanted();
        let n = if bounded { step.min(wanted) } else { step };
        if n == 0 {
            // Failed (wanted() is 0 only then, or with a whole frame buffered, which the loop
            // below always takes out).
            assert!(
                decoder.next_frame().is_err(),
                "wanted() is 0 on a healthy decoder"
            );
            break;
        }
        let (piece, tail) = rest.split_at(n.min(rest.len()));
        rest = tail;
        decoder.push(piece);
        while let Ok(Some(_)) = decoder.next_frame() {}
        assert!(
            decoder.buffered()
                <= sans_io_proto::frame::HEADER_LEN
                    + sans_io_proto::frame::MAX_FRAME_BODY
                    + if bounded { 0 } else { step }
        );
    }
}

/// Bob's handshake replayed from the recorded run (same RNG seed, same messages from Alice) and
/// saved after each of Alice's messages but the last: every stage of a genuine handshake, built
/// once and cloned per input (each step costs DH and RSA operations, far too slow per input).
fn handshake_stages() -> &'static [Handshake] {
    static STAGES: OnceLock<Vec<Handshake>> = OnceLock::new();
    STAGES.get_or_init(|| {
        let (_, _, to_bob) = established();
        let mut rng = rng(2);
        let mut bob = Handshake::new(&identities()[1], &mut rng, Instant::now());
        let mut stages = vec![bob.clone()];
        for m in &to_bob[..to_bob.len() - 1] {
            bob.handle_message(m, &mut rng)
                .expect("genuine handshake message");
            stages.push(bob.clone());
        }
        assert!(
            stages
                .iter()
                .all(|s| !s.is_established() && s.failure().is_none())
        );
        stages
    })
}

/// Handshake envelopes from a peer through an untrusted relay: the first byte picks the stage of
/// a genuine handshake Bob is in, then every 0xff-separated piece of the rest is handed to him.
/// Nothing panics, and nothing but Alice's genuine last message (which the fuzzer cannot forge:
/// it carries a MAC under keys it does not have) could complete the handshake.
pub fn handshake_message(data: &[u8]) {
    let stages = handshake_stages();
    let mut bob = stages[usize::from(data.first().copied().unwrap_or(0)) % stages.len()].clone();
    let mut rng = rng(8);
    for piece in data.get(1..).unwrap_or_default().split(|&b| b == 0xff) {
        let _ = bob.handle_message(piece, &mut rng);
    }
    assert!(
        !bob.is_established(),
        "a handshake completed on fuzzed input"
    );
}

/// Data envelopes from the peer: arbitrary bytes into an established session never decrypt, and
/// the session still works afterwards.
pub fn session_decrypt(data: &[u8]) {
    let (alice, bob, _) = established();
    let (mut alice, mut bob) = (alice.clone(), bob.clone());
    let mut rng = rng(9);
    assert!(
        bob.decrypt(data, &mut rng).is_err(),
        "forged bytes decrypted"
    );
    let m = alice
        .encrypt_text("still works", 0, &mut rng)
        .expect("encrypt");
    let got = bob
        .decrypt(&m.envelope, &mut rng)
        .expect("session survives forged input");
    assert_eq!(got.content, Content::Text("still works".into()));
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
    text: String,
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
    let (alice, bob, _) = established();
    let (mut alice, mut bob) = (alice.clone(), bob.clone());
    let mut rng = rng(11);
    let mut flight: Vec<InFlight> = Vec::new();
    let mut counter = 0u32;
    for op in ops.into_iter().take(64) {
        match op {
            RatchetOp::Send { from_alice, len } => {
                counter += 1;
                let text = format!("{counter}:{}", "x".repeat(usize::from(len)));
                let s = if from_alice { &mut alice } else { &mut bob };
                let out = s.encrypt_text(&text, 0, &mut rng).expect("encrypt");
                flight.push(InFlight {
                    to_bob: from_alice,
                    text,
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
                    assert_eq!(
                        got.content,
                        Content::Text(m.text.clone()),
                        "wrong plaintext"
                    );
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

/// A hostile relay's byte stream into the sans-IO client, in 97-byte pieces 700 ms apart: no
/// panic, and no chat message ever comes out of input the relay forged (it holds no keys).
pub fn client_input(data: &[u8]) {
    let ids = identities();
    let now = Instant::now();
    let mut client = Client::new(ids[0].clone(), ClientConfig::default(), rng(5), now);
    client.join(RoomName::new("fuzz").expect("valid room name"));
    for (i, piece) in data.chunks(97).enumerate() {
        let t = now + Duration::from_millis(i as u64 * 700);
        client.handle_input(piece, t);
        client.handle_timeout(t);
        while let Some(out) = client.poll_output() {
            assert!(
                !matches!(out, Output::Event(Event::Message { .. })),
                "a chat message appeared from relay-forged input"
            );
        }
    }
}
