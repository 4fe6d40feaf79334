//! Fuzzing the receive paths with a fixed seed (issue 10, "panics on any input"): `Handshake`
//! snapshots at every stage fed random and mutated envelopes, a `Session` fed mutations and
//! reflections of genuine envelopes, `Client::handle_input` fed random bytes and random frames, and
//! two `Client`s behind a chaos relay (drops, duplicates, reorders, mutations, replays, reflections,
//! room events, disconnects, crashes with restored state) checked for exactly-once, in-order,
//! authentic delivery and, once the relay behaves, for liveness.
//!
//! `ATTACK_FUZZ_SCALE=<n>` multiplies the iteration counts for a longer exploration.

mod attack_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use attack_support::{Node, payloads, room};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use sans_io_proto::frame::{ClientFrame, ErrorCode, RelayFrame as Frame, RoomName};
use sans_io_proto::{Handshake, Session};

fn scale() -> usize {
    std::env::var("ATTACK_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn below(rng: &mut ChaCha20Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A mutation of `base`, sometimes mixed with another message of `pool`.
fn mutate(rng: &mut ChaCha20Rng, base: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut m = base.to_vec();
    match below(rng, 9) {
        0 => {
            for _ in 0..=below(rng, 8) {
                if !m.is_empty() {
                    let i = below(rng, m.len());
                    m[i] ^= 1 << below(rng, 8);
                }
            }
        }
        1 => {
            if !m.is_empty() {
                let i = below(rng, m.len());
                m[i] = rng.next_u32() as u8;
            }
        }
        2 => m.truncate(below(rng, m.len() + 1)),
        3 => {
            let mut extra = vec![0u8; below(rng, 600)];
            rng.fill_bytes(&mut extra);
            m.extend_from_slice(&extra);
        }
        4 if !pool.is_empty() => {
            let other = &pool[below(rng, pool.len())];
            let cut = below(rng, m.len().min(other.len()) + 1);
            m.truncate(cut);
            m.extend_from_slice(&other[cut..]);
        }
        5 => {
            if m.len() > 1 {
                m[1] = [1u8, 2, 3, 4, 5, 6, 0x10, 0, 7, 0xff][below(rng, 10)];
            }
        }
        6 => {
            if m.len() > 2 {
                rng.fill_bytes(&mut m[2..]);
            }
        }
        7 => {
            if !m.is_empty() {
                m[0] = [0u8, 1, 3, 0xff][below(rng, 4)];
            }
        }
        _ => {
            m = vec![0u8; below(rng, 1200)];
            rng.fill_bytes(&mut m);
            if m.len() > 1 && rng.next_u32().is_multiple_of(2) {
                m[0] = 0x02;
            }
        }
    }
    m
}

/// Every intermediate state of a genuine handshake between Alice and Bob: (snapshot of the
/// receiver, the genuine message it received next, who received it).
struct Recorded {
    steps: Vec<(Handshake, Vec<u8>, usize)>,
    wire: Vec<Vec<u8>>,
    final_sessions: [Session; 2],
}

fn record_handshake(seed: u64) -> Recorded {
    let now = Instant::now();
    let mut rng = [common::rng(seed), common::rng(seed + 1)];
    let mut hs = [
        Handshake::new(common::alice(), &mut rng[0], now),
        Handshake::new(common::bob(), &mut rng[1], now),
    ];
    let mut steps = Vec::new();
    let mut wire = Vec::new();
    for _ in 0..10 {
        let mut moved = false;
        for from in 0..2 {
            while let Some(m) = hs[from].poll_transmit() {
                let to = 1 - from;
                steps.push((hs[to].clone(), m.clone(), to));
                wire.push(m.clone());
                let (a, b) = hs.split_at_mut(1);
                let target = if to == 0 { &mut a[0] } else { &mut b[0] };
                target.handle_bytes(&m, &mut rng[to]).unwrap();
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    let [a, b] = hs;
    let final_sessions = [a.into_session().unwrap(), b.into_session().unwrap()];
    Recorded {
        steps,
        wire,
        final_sessions,
    }
}

/// Every snapshot is fed mutated messages, then the rest of the genuine exchange. No input panics;
/// a snapshot that still completes must hold the same keys as its genuine peer (it can decrypt the
/// peer's message), so a mutation can never be silently accepted into the transcript.
#[test]
fn handshake_survives_mutations_at_every_stage() {
    let rec = record_handshake(500);
    let mut rng = common::rng(501);
    let iterations = 600 * scale();
    let (mut refused, mut completed) = (0usize, 0usize);
    for it in 0..iterations {
        let step = below(&mut rng, rec.steps.len());
        let (snapshot, genuine, who) = &rec.steps[step];
        let mut hs = snapshot.clone();
        let mut hrng = common::rng(10_000 + it as u64);
        for _ in 0..=below(&mut rng, 3) {
            let base = if rng.next_u32().is_multiple_of(2) {
                genuine.clone()
            } else {
                rec.wire[below(&mut rng, rec.wire.len())].clone()
            };
            let m = mutate(&mut rng, &base, &rec.wire);
            if hs.handle_bytes(&m, &mut hrng).is_err() {
                refused += 1;
            }
        }
        // The rest of the genuine messages addressed to this side.
        for (_, later, to) in &rec.steps[step..] {
            if to == who {
                let _ = hs.handle_bytes(later, &mut hrng);
            }
        }
        if hs.is_established() {
            completed += 1;
            let mut own = hs.into_session().unwrap();
            let mut peer = rec.final_sessions[1 - who].clone();
            let msg = common::text(1, 1, "after the fuzz");
            let out = peer.encrypt(&msg, 0, &mut common::rng(3)).unwrap();
            let got = own.decrypt(&out.envelope, &mut common::rng(4));
            assert_eq!(
                got.map(|i| i.content).ok(),
                Some(msg),
                "iteration {it}: established with keys the genuine peer does not hold"
            );
        }
        // Random bytes straight into any snapshot.
        let (snapshot, _, _) = &rec.steps[below(&mut rng, rec.steps.len())];
        let mut hs = snapshot.clone();
        let mut junk = vec![0u8; below(&mut rng, 1000)];
        rng.fill_bytes(&mut junk);
        let _ = hs.handle_bytes(&junk, &mut hrng);
    }
    println!("handshake fuzz: {iterations} iterations, {refused} refusals, {completed} completed");
    assert!(refused > iterations / 2 && completed > 0);
}

/// Mutations of genuine envelopes, and reflections of a side's own envelopes, are refused by the
/// session at every point of a conversation, and never move it: the genuine envelope still opens.
#[test]
fn session_refuses_mutations_and_reflections_and_never_moves() {
    let mut p = common::pair(502);
    let mut rng = common::rng(503);
    let iterations = 150 * scale();
    let mut pool: Vec<Vec<u8>> = p.wire.iter().map(|(_, m)| m.clone()).collect();
    for it in 0..iterations {
        // A conversation with gaps and DH steps.
        let a_sends = !rng.next_u32().is_multiple_of(3);
        let (sender, receiver, srng) = if a_sends {
            (&mut p.a, &mut p.b, &mut p.rng_a)
        } else {
            (&mut p.b, &mut p.a, &mut p.rng_b)
        };
        let content = common::text(9, it as u64 + 1, &"m".repeat(1 + below(&mut rng, 700)));
        let envelope = sender.encrypt(&content, 0, srng).unwrap().envelope;
        pool.push(envelope.clone());
        if rng.next_u32().is_multiple_of(4) {
            continue; // lost
        }
        for _ in 0..4 {
            let m = mutate(&mut rng, &envelope, &pool);
            if pool.contains(&m) {
                continue; // a genuine envelope (e.g. a lost one, spliced whole)
            }
            let mut r = receiver.clone();
            let got = r.decrypt(&m, &mut common::rng(5));
            assert!(
                got.is_err(),
                "iteration {it}: mutation accepted: {got:?}, {} vs {} bytes, first difference at {:?}",
                m.len(),
                envelope.len(),
                m.iter().zip(&envelope).position(|(x, y)| x != y)
            );
            // The state did not move: the genuine envelope still opens on that copy.
            assert_eq!(
                r.decrypt(&envelope, &mut common::rng(6)).unwrap().content,
                content
            );
        }
        // Reflected: the sender's own envelope back to the sender.
        assert!(
            sender
                .clone()
                .decrypt(&envelope, &mut common::rng(7))
                .is_err(),
            "reflection accepted"
        );
        let got = receiver.decrypt(&envelope, &mut rng).unwrap();
        assert_eq!(got.content, content);
        // A replay right after.
        assert!(receiver.decrypt(&envelope, &mut rng).is_err());
    }
}

/// Random bytes, and random well-formed frames carrying random or mutated envelopes, straight into
/// clients in every state (fresh, seated, exchanging keys, secure). Nothing panics.
#[test]
fn client_handle_input_survives_random_bytes_and_frames() {
    let mut rng = common::rng(504);
    let rec = record_handshake(505);
    let t0 = Instant::now();
    let iterations = 300 * scale();
    for it in 0..iterations {
        let mut now = t0;
        let mut v = Node::new(common::alice(), Some("v"), 600 + it as u64, now);
        // Bring it to a random state with genuine-looking frames.
        let depth = below(&mut rng, 4);
        if depth >= 1 {
            v.feed(
                &Frame::Joined {
                    room: room(),
                    seat: below(&mut rng, 2) as u8,
                },
                now,
            );
        }
        if depth >= 2 {
            v.feed(&Frame::PeerJoined, now);
        }
        for _ in 0..(20 + below(&mut rng, 40)) {
            now += Duration::from_millis(below(&mut rng, 5000) as u64);
            let frame = match below(&mut rng, 12) {
                0 => Frame::PeerJoined,
                1 => Frame::PeerLeft,
                2 => Frame::Waiting,
                3 => Frame::Pong(rng.next_u64()),
                4 => Frame::Error {
                    code: ErrorCode::from_u16(rng.next_u32() as u16),
                    message: "x".repeat(below(&mut rng, 40)),
                },
                5 => Frame::Joined {
                    room: room(),
                    seat: below(&mut rng, 2) as u8,
                },
                6 => Frame::Redirected {
                    from: room(),
                    to: RoomName::new(&format!("r{}", below(&mut rng, 9))).unwrap(),
                },
                _ => {
                    let base = &rec.wire[below(&mut rng, rec.wire.len())];
                    let m = if rng.next_u32().is_multiple_of(4) {
                        base.clone()
                    } else {
                        mutate(&mut rng, base, &rec.wire)
                    };
                    if m.is_empty() {
                        continue;
                    }
                    Frame::Payload(m)
                }
            };
            let mut bytes = frame.to_bytes();
            if rng.next_u32().is_multiple_of(30) {
                bytes = mutate(&mut rng, &bytes, &[]);
            }
            // Any split of the stream.
            let cut = below(&mut rng, bytes.len() + 1);
            v.client.handle_input(&bytes[..cut], now);
            v.client.handle_input(&bytes[cut..], now);
            v.drain();
            if rng.next_u32().is_multiple_of(5) {
                v.tick(now);
            }
            if v.client.is_broken() {
                v.client.handle_disconnected(now);
                v.client.handle_connected(now);
                v.drain();
            }
        }
        let _ = payloads(&v.sent);
    }
}

// ---- two clients behind a chaos relay -------------------------------------------------------------

struct Chaos {
    nodes: [Node; 2],
    /// Frames each side transmitted, not yet handled by the relay.
    inbound: [Vec<ClientFrame>; 2],
    /// Every payload seen, for replays and reflections.
    seen: Vec<Vec<u8>>,
    /// Texts each side's user wrote, in order.
    written: [Vec<String>; 2],
    now: Instant,
    rng: ChaCha20Rng,
    seeds: u64,
}

impl Chaos {
    fn collect(&mut self, i: usize) {
        let frames = self.nodes[i].drain();
        self.inbound[i].extend(frames);
    }

    fn feed(&mut self, to: usize, frame: Frame) {
        let now = self.now;
        let answers = self.nodes[to].feed(&frame, now);
        self.inbound[to].extend(answers);
    }

    /// An honest relay step: the oldest frame of side `from`.
    /// `bad_percent`: how often the relay misbehaves with a payload (drop, duplicate, mutate,
    /// reflect) or reorders.
    fn relay_one(&mut self, from: usize, bad_percent: u32) {
        if self.inbound[from].is_empty() {
            return;
        }
        let honest = bad_percent == 0;
        let frame = if honest || self.rng.next_u32() % 100 >= bad_percent {
            self.inbound[from].remove(0)
        } else {
            let i = below(&mut self.rng, self.inbound[from].len());
            self.inbound[from].remove(i) // reordered
        };
        match frame {
            ClientFrame::Payload(p) => {
                self.seen.push(p.clone());
                if honest {
                    self.feed(1 - from, Frame::Payload(p));
                    return;
                }
                if self.rng.next_u32() % 100 >= bad_percent {
                    self.feed(1 - from, Frame::Payload(p));
                    return;
                }
                match below(&mut self.rng, 4) {
                    0 => {} // dropped
                    1 => {
                        self.feed(1 - from, Frame::Payload(p.clone()));
                        self.feed(1 - from, Frame::Payload(p));
                    }
                    2 => {
                        let m = mutate(&mut self.rng, &p, &self.seen);
                        if !m.is_empty() {
                            self.feed(1 - from, Frame::Payload(m));
                        }
                    }
                    _ => self.feed(from, Frame::Payload(p)), // reflected
                }
            }
            ClientFrame::Join { .. } => {
                self.feed(
                    from,
                    Frame::Joined {
                        room: room(),
                        seat: from as u8,
                    },
                );
                self.feed(from, Frame::PeerJoined);
                self.feed(1 - from, Frame::PeerJoined);
            }
            ClientFrame::Leave => {
                self.feed(1 - from, Frame::PeerLeft);
                self.feed(1 - from, Frame::Waiting);
            }
            ClientFrame::Ping(n) => self.feed(from, Frame::Pong(n)),
        }
    }

    fn check(&self) {
        for i in 0..2 {
            let shown = self.nodes[i].shown();
            attack_support::shown_exactly_once_in_order(&shown)
                .unwrap_or_else(|e| panic!("side {i}: {e}"));
            // Authentic and in the writer's order: each shown text was written by the other
            // side's user (texts are unique), at increasing positions (one stream per writer: it
            // always restarts from its stored state).
            let mut last: Option<usize> = None;
            for (_, text) in &shown {
                let at = self.written[1 - i]
                    .iter()
                    .position(|w| w == text)
                    .unwrap_or_else(|| panic!("side {i} showed {text:?}, never written"));
                assert!(
                    last.is_none_or(|l| at > l),
                    "side {i}: {text:?} shown out of order"
                );
                last = Some(at);
            }
        }
    }
}

#[test]
fn two_clients_behind_a_chaos_relay_keep_exactly_once_in_order_and_recover() {
    let t0 = Instant::now();
    let ids = [common::alice(), common::bob()];
    let rounds = 3 * scale();
    for round in 0..rounds {
        let mut c = Chaos {
            nodes: [
                Node::new(ids[0], Some("A"), 700 + round as u64, t0),
                Node::new(ids[1], Some("B"), 800 + round as u64, t0),
            ],
            inbound: [Vec::new(), Vec::new()],
            seen: Vec::new(),
            written: [Vec::new(), Vec::new()],
            now: t0,
            rng: common::rng(900 + round as u64),
            seeds: 1000 + 100 * round as u64,
        };
        for i in 0..2 {
            c.nodes[i].validate_persists = true;
            c.inbound[i] = c.nodes[i].sent.clone();
            let peer = ids[1 - i].fingerprint();
            c.nodes[i].client.approve(&peer, t0);
        }
        let mut counter = 0u64;
        let steps = 900;
        for step in 0..steps {
            let i = below(&mut c.rng, 2);
            // Phases of 150 steps: honest relay, light misbehaviour, heavy misbehaviour; room
            // events, disconnects and crashes are rarer in the first two.
            let (bad, rare) = match (step / 150) % 3 {
                0 => (0, 200),
                1 => (8, 80),
                _ => (40, 34),
            };
            match below(&mut c.rng, rare) {
                0..=17 => c.relay_one(i, bad),
                18..=21 => {
                    counter += 1;
                    let text = format!("{}-{counter}", ["a", "b"][i]);
                    let peer = ids[1 - i].fingerprint();
                    if c.nodes[i]
                        .client
                        .send_text(&peer, &text, counter, c.now)
                        .is_ok()
                    {
                        c.written[i].push(text);
                    }
                    c.collect(i);
                }
                22..=27 => {
                    c.now += Duration::from_millis(below(&mut c.rng, 12_000) as u64);
                    let now = c.now;
                    for j in 0..2 {
                        let f = c.nodes[j].tick(now);
                        c.inbound[j].extend(f);
                    }
                }
                28 => {
                    // A replayed or reflected old payload.
                    if !c.seen.is_empty() {
                        let p = c.seen[below(&mut c.rng, c.seen.len())].clone();
                        c.feed(i, Frame::Payload(p));
                    }
                }
                29 => {
                    let f = match below(&mut c.rng, 3) {
                        0 => Frame::PeerJoined,
                        1 => Frame::PeerLeft,
                        _ => Frame::Waiting,
                    };
                    c.feed(i, f);
                }
                30 => {
                    // The connection drops and comes back.
                    let now = c.now;
                    c.nodes[i].client.handle_disconnected(now);
                    c.nodes[i].drain();
                    c.inbound[i].clear();
                    c.feed(1 - i, Frame::PeerLeft);
                    c.feed(1 - i, Frame::Waiting);
                    c.nodes[i].client.handle_connected(now);
                    c.collect(i);
                }
                31 => {
                    // A crash: the application restarts from what it stored.
                    c.seeds += 1;
                    let fresh = Node::restarted(&c.nodes[i], ids[i], c.seeds, c.now);
                    let mut fresh = fresh;
                    fresh.validate_persists = true;
                    fresh.client.approve(&ids[1 - i].fingerprint(), c.now);
                    fresh.drain();
                    // The shown history stays the user's: carry the events over.
                    let mut events = std::mem::take(&mut c.nodes[i].events);
                    events.append(&mut fresh.events);
                    fresh.events = events;
                    c.inbound[i] = fresh.sent.clone();
                    c.nodes[i] = fresh;
                    c.feed(1 - i, Frame::PeerLeft);
                    c.feed(1 - i, Frame::Waiting);
                }
                32 => {
                    c.nodes[i].client.resume_key_exchanges(c.now);
                    c.collect(i);
                }
                33 => {
                    // Garbage on the stream: the client is broken until it reconnects.
                    let mut junk = vec![0u8; 1 + below(&mut c.rng, 50)];
                    c.rng.fill_bytes(&mut junk);
                    let now = c.now;
                    c.nodes[i].client.handle_input(&junk, now);
                    c.collect(i);
                }
                _ => c.relay_one(i, bad),
            }
            c.check();
        }
        // The relay behaves from now on: everything written must arrive, once, in order.
        for i in 0..2 {
            c.nodes[i].client.resume_key_exchanges(c.now);
            let now = c.now;
            c.nodes[i].client.handle_disconnected(now);
            c.nodes[i].client.handle_connected(now);
            c.nodes[i].drain();
            c.inbound[i].clear();
        }
        c.feed(
            0,
            Frame::Joined {
                room: room(),
                seat: 0,
            },
        );
        c.feed(
            1,
            Frame::Joined {
                room: room(),
                seat: 1,
            },
        );
        c.feed(0, Frame::PeerJoined);
        c.feed(1, Frame::PeerJoined);
        for _ in 0..40 {
            for _ in 0..200 {
                if c.inbound.iter().all(|q| q.is_empty()) {
                    break;
                }
                for i in 0..2 {
                    c.relay_one(i, 0);
                }
            }
            c.now += Duration::from_secs(7);
            let now = c.now;
            for j in 0..2 {
                let f = c.nodes[j].tick(now);
                c.inbound[j].extend(f);
            }
        }
        c.check();
        let count = |n: &Node, f: fn(&sans_io_proto::Event) -> bool| {
            n.events.iter().filter(|e| f(e)).count()
        };
        for (i, n) in c.nodes.iter().enumerate() {
            println!(
                "round {round} side {i}: wrote {}, showed {}, secure {}, resumed {}, aborted {}, failed {}, suspended {}, rejected {}",
                c.written[i].len(),
                n.shown().len(),
                count(n, |e| matches!(e, sans_io_proto::Event::Secure(_))),
                count(n, |e| matches!(e, sans_io_proto::Event::Resumed { .. })),
                count(n, |e| matches!(
                    e,
                    sans_io_proto::Event::KeyExchangeAborted { .. }
                )),
                count(n, |e| matches!(
                    e,
                    sans_io_proto::Event::KeyExchangeFailed { .. }
                )),
                count(n, |e| matches!(
                    e,
                    sans_io_proto::Event::KeyExchangesSuspended { .. }
                )),
                count(n, |e| matches!(e, sans_io_proto::Event::Rejected { .. })),
            );
            assert!(count(n, |e| matches!(e, sans_io_proto::Event::Secure(_))) >= 1);
        }
        for i in 0..2 {
            let got: Vec<String> = c.nodes[1 - i].shown().into_iter().map(|(_, t)| t).collect();
            let got_set: BTreeSet<&String> = got.iter().collect();
            let missing: Vec<&String> = c.written[i]
                .iter()
                .filter(|w| !got_set.contains(w))
                .collect();
            assert!(
                missing.is_empty(),
                "round {round}: side {} never showed {missing:?} of side {i}'s {} messages",
                1 - i,
                c.written[i].len()
            );
        }
    }
}

// ---- stored delivery state ------------------------------------------------------------------------

/// §7.10: "A state that fails to parse, or breaks a bound of §7.4–7.5, is refused with a typed error
/// (never a panic)". Mutated states, and states whose counters sit at their extremes, are either
/// refused or restore into a client that keeps working: the user writes, changes the timer, and the
/// peer's next message arrives — without a panic.
#[test]
fn restored_states_are_refused_or_keep_working() {
    use std::panic::{AssertUnwindSafe, catch_unwind};
    let now = Instant::now();
    let mallory = common::mallory();
    let peer_fp = mallory.fingerprint();
    // A real state: one entry in the outbox, the peer's stream 0xe shown up to 1, 2 held.
    let mut v = Node::new(common::alice(), None, 950, now);
    let mut evil = attack_support::EvilPeer::connect(&mut v, mallory, 951, now);
    v.client.approve(&peer_fp, now);
    v.client.send_text(&peer_fp, "waiting", 1, now).unwrap();
    for n in [1u64, 3, 4] {
        evil.send(&mut v, &common::text(0xe, n, "from the peer"), now);
    }
    v.drain();
    let state = v.states[&peer_fp].clone();
    let n_out_at = 68;
    assert_eq!(
        u16::from_be_bytes([state[n_out_at], state[n_out_at + 1]]),
        1
    );
    // The inbox fields follow the single outbox entry.
    let entry_len = 8
        + 1
        + 8
        + 4
        + u32::from_be_bytes(
            state[n_out_at + 2 + 17..n_out_at + 2 + 21]
                .try_into()
                .unwrap(),
        ) as usize;
    // n_streams (one stream), then that stream's id and next.
    assert_eq!(state[n_out_at + 2 + entry_len], 1);
    let in_stream_at = n_out_at + 2 + entry_len + 1;
    assert_eq!(
        u64::from_be_bytes(state[in_stream_at..in_stream_at + 8].try_into().unwrap()),
        0xe
    );

    let set = |at: usize, value: u64| {
        let mut s = state.clone();
        s[at..at + 8].copy_from_slice(&value.to_be_bytes());
        s
    };
    let mut cases: Vec<(String, Vec<u8>, Option<u64>)> = Vec::new();
    for value in [u64::MAX, (1 << 63) - 1, 1 << 63] {
        cases.push((format!("next_number = {value:#x}"), set(47, value), None));
        cases.push((format!("timer_version = {value:#x}"), set(55, value), None));
        // Held entries must lie above the stream's next: drop them (n_shown = n_held = 0).
        let mut s = set(in_stream_at + 8, value);
        s.truncate(in_stream_at + 16);
        s.extend_from_slice(&[0, 0, 0, 0]);
        cases.push((format!("inbox next = {value:#x}"), s, Some(value)));
    }
    let mut rng = common::rng(952);
    for i in 0..200 * scale() {
        cases.push((format!("mutation {i}"), mutate(&mut rng, &state, &[]), None));
    }
    let mut panics = Vec::new();
    let mut restored = 0;
    for (name, bytes, peer_number) in cases {
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut c = sans_io_proto::Client::new(
                common::alice().clone(),
                sans_io_proto::ClientConfig::default(),
                common::rng(953),
                now,
            );
            let Ok(peer) = c.restore_conversation(&bytes) else {
                return false;
            };
            let _ = c.send_text(&peer, "after restore", 2, now);
            let _ = c.set_timer(&peer, 60, 3, now);
            while c.poll_output().is_some() {}
            true
        }));
        let ok = matches!(result, Ok(true));
        match result {
            Ok(true) => restored += 1,
            Ok(false) => {}
            Err(_) => panics.push(name.clone()),
        }
        if let (Some(number), true) = (peer_number, ok) {
            // The peer's next message in its stream.
            let result = catch_unwind(AssertUnwindSafe(|| {
                let mut states = BTreeMap::new();
                states.insert(peer_fp, bytes.clone());
                let mut node = Node::from_states(&states, common::alice(), 954, now);
                let mut e = attack_support::EvilPeer::connect(&mut node, mallory, 955, now);
                node.client.approve(&peer_fp, now);
                // (An id of 2^63 or more is malformed on the wire now: send the largest valid one.)
                e.send(
                    &mut node,
                    &common::text(0xe, number.min((1 << 63) - 1), "next"),
                    now,
                );
                node.client.set_timer(&peer_fp, 5, 0, now).ok();
            }));
            if result.is_err() {
                panics.push(format!("{name}, then a message from the peer"));
            }
        }
    }
    assert!(restored >= 3, "{restored} restored");
    assert!(
        panics.is_empty(),
        "restored states that panic later: {panics:?}"
    );
}

// ---- a malicious peer's authentic envelopes -------------------------------------------------------

/// A malicious peer controls everything inside its authenticated envelopes. Using the spec's view
/// of the responder's first sending chain (`tests/common/spec.rs`: `CK_R0`, `HK_R0`, `NHK_R1`, AD),
/// the test writes envelopes the initiator's session authenticates, with hostile headers (counters at
/// their extremes, invalid or small ratchet keys, non-zero padding, a DH step under `NHK_R1`) and
/// hostile bodies (any type byte, sequence number, length field, content, padding). The session
/// never panics and still reads a genuine message afterwards.
#[test]
fn authentic_but_hostile_headers_and_bodies_never_panic() {
    use common::spec;
    let seed = 506;
    let mut p = common::pair(seed);
    let r = spec::rebuild(
        &p.wire,
        seed,
        seed ^ 0x5eed_5eed,
        common::alice(),
        common::bob(),
    );
    let (initiator, irng, responder, rrng) = if r.a_is_initiator {
        (&mut p.a, &mut p.rng_a, &mut p.b, &mut p.rng_b)
    } else {
        (&mut p.b, &mut p.rng_b, &mut p.a, &mut p.rng_a)
    };
    let (ck_r0, hk_r0, nhk_r1, ad) = (r.keys.ck_r0(), r.keys.hk_r0(), r.keys.nhk_r1(), r.th);
    let eph_r = spec::hello_fields(&r.agreed.hello_r).1.to_vec();
    let mut rng = common::rng(507);
    let mut used = 0u32;
    let iterations = 250 * scale();
    let (mut accepted, mut refused) = (0, 0);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for it in 0..iterations {
        // The header.
        let mut header = spec::header(&eph_r, 0, used);
        let mut hk = hk_r0;
        let mut n = used;
        match below(&mut rng, 12) {
            0 => {
                n = [u32::MAX, u32::MAX - 1, used + 1000, used + 1001, 0][below(&mut rng, 5)];
                header[260..264].copy_from_slice(&n.to_be_bytes());
            }
            1 => header[256..260].copy_from_slice(&rng.next_u32().to_be_bytes()), // PN
            2 => header[264 + below(&mut rng, 8)] = 1 + (rng.next_u32() % 255) as u8, // padding
            3 => {
                // A DH step under NHK_R1 with a hostile ratchet key and counters.
                hk = nhk_r1;
                let mut dh = vec![0u8; 256];
                match below(&mut rng, 4) {
                    0 => dh[255] = [0u8, 1, 2][below(&mut rng, 3)],
                    1 => dh.fill(0xff),
                    2 => rng.fill_bytes(&mut dh),
                    _ => dh.copy_from_slice(&eph_r),
                }
                header[..256].copy_from_slice(&dh);
                header[256..260]
                    .copy_from_slice(&[u32::MAX, 1000, 0][below(&mut rng, 3)].to_be_bytes());
                n = [0u32, 999, 1000, 1001][below(&mut rng, 4)];
                header[260..264].copy_from_slice(&n.to_be_bytes());
            }
            4 => rng.fill_bytes(&mut header[..256]),
            _ => {}
        }
        // The body: raw random bytes with chosen fields, or a well-formed body with hostile content.
        let buckets = 1 + below(&mut rng, 3);
        // Mostly increasing sequence numbers (so bodies get through the replay window); the
        // extremes late (an accepted u64::MAX closes the window for good).
        let seq: u64 = match below(&mut rng, 10) {
            0 => 0,
            1 if it > iterations * 9 / 10 => rng.next_u64() >> 8,
            2 if it > iterations * 19 / 20 => u64::MAX,
            _ => 100 + it as u64,
        };
        let kind = [0u8, 1, 2, 3, 4, 5, 6, 7, 0x20, 0x3f, 0x40, 0xff][below(&mut rng, 12)];
        let body = if rng.next_u32().is_multiple_of(2) {
            let mut body = vec![0u8; buckets * 256];
            rng.fill_bytes(&mut body);
            body[0] = kind;
            body[1..9].copy_from_slice(&seq.to_be_bytes());
            let len: u32 = match below(&mut rng, 4) {
                0 => rng.next_u32(),
                1 => (buckets * 256 - 21 - below(&mut rng, 30)) as u32,
                _ => below(&mut rng, buckets * 256 - 40) as u32,
            };
            body[17..21].copy_from_slice(&len.to_be_bytes());
            body
        } else {
            let id = |rng: &mut ChaCha20Rng| {
                let stream = [0u64, 1, u64::MAX, rng.next_u64()][below(rng, 4)];
                let number = [0u64, 1, 2, u64::MAX, rng.next_u64()][below(rng, 5)];
                [stream.to_be_bytes(), number.to_be_bytes()].concat()
            };
            let mut content = Vec::new();
            match kind {
                1 | 0x20 | 0x3f => {
                    content.extend(id(&mut rng));
                    if kind == 1 {
                        content.extend_from_slice(
                            &[0u32, 1, 31_536_000, 31_536_001, u32::MAX][below(&mut rng, 5)]
                                .to_be_bytes(),
                        );
                        let mut t = vec![0u8; below(&mut rng, 200)];
                        rng.fill_bytes(&mut t);
                        if rng.next_u32().is_multiple_of(2) {
                            t.iter_mut().for_each(|b| *b = b'a' + *b % 26);
                        }
                        content.extend(t);
                    }
                }
                2 => {
                    let count = [0usize, 1, 64, 65, below(&mut rng, 70)][below(&mut rng, 5)];
                    content.push(count as u8);
                    for _ in 0..count.min(64) + below(&mut rng, 2) {
                        content.extend(id(&mut rng));
                    }
                }
                4 => {
                    content.extend(id(&mut rng));
                    content.extend_from_slice(&rng.next_u64().to_be_bytes());
                    content.extend_from_slice(&rng.next_u32().to_be_bytes());
                }
                _ => {
                    content = vec![0u8; below(&mut rng, 80)];
                    rng.fill_bytes(&mut content);
                }
            }
            let need = (21 + content.len() + 12).div_ceil(256);
            spec::body(kind, seq, rng.next_u64(), &content, need.max(buckets))
        };
        let mk = spec::chain_message_key(&ck_r0, n.min(used + 1000));
        let mut hn = [0u8; 16];
        rng.fill_bytes(&mut hn);
        let env = spec::seal_data(&hk, &mk, &ad, &hn, &header, &body);
        let result = initiator.decrypt(&env, irng);
        // Past the body tag the ratchet has moved to n + 1, whatever the content was.
        let moved = matches!(
            result,
            Ok(_)
                | Err(sans_io_proto::DecryptError::Content(_)
                    | sans_io_proto::DecryptError::Replay { .. })
        );
        match result {
            Ok(_) => accepted += 1,
            Err(e) => {
                refused += 1;
                *errors
                    .entry(format!("{e:?}").chars().take(22).collect::<String>())
                    .or_insert(0usize) += 1;
            }
        }
        if hk == hk_r0 && moved && n >= used {
            used = n + 1;
        }
    }
    println!("hostile authentic envelopes: {accepted} accepted, {refused} refused: {errors:?}");
    assert!(refused > 0);
    assert!(accepted > 0);
    // The initiator's session still works (the other direction now belongs to the forger: it used
    // the responder's chain and sequence numbers).
    let c = common::text(1, 1, "alive");
    let e = initiator.encrypt(&c, 0, irng).unwrap().envelope;
    assert_eq!(responder.decrypt(&e, rrng).unwrap().content, c);
}

/// A malicious approved (or not) peer sends random but well-formed contents — ids at the extremes,
/// streams that change back and forth, acks of anything, timers, resumes — while the victim's user
/// writes, changes the timer, approves and revokes. Nothing panics, the victim's bounds hold, and
/// the victim's own outbox only loses entries the peer acknowledged.
#[test]
fn client_survives_a_malicious_peers_well_formed_contents() {
    use sans_io_proto::delivery::MAX_HELD;
    use sans_io_proto::{Content, MessageId};
    let mallory = common::mallory();
    let fp = mallory.fingerprint();
    for round in 0..2 * scale() {
        let mut now = Instant::now();
        let mut v = Node::new(common::alice(), Some("victim"), 1100 + round as u64, now);
        v.validate_persists = true;
        let mut evil = attack_support::EvilPeer::connect(&mut v, mallory, 1200 + round as u64, now);
        v.client.approve(&fp, now);
        let mut rng = common::rng(1300 + round as u64);
        let mut unread = Vec::new();
        let mut own_ids: Vec<MessageId> = Vec::new();
        let streams = [0xe_u64, 0xf, 0, u64::MAX];
        let pick_id = |rng: &mut ChaCha20Rng, own: &[MessageId]| {
            if !own.is_empty() && rng.next_u32().is_multiple_of(4) {
                return own[below(rng, own.len())];
            }
            let stream = if rng.next_u32().is_multiple_of(8) {
                rng.next_u64()
            } else {
                streams[below(rng, 4)]
            };
            let number = match below(rng, 8) {
                0 => 0,
                1 => u64::MAX,
                2 => rng.next_u64(),
                _ => 1 + below(rng, 40) as u64,
            };
            MessageId { stream, number }
        };
        for _step in 0..400 {
            match below(&mut rng, 20) {
                0..=9 => {
                    let content = match below(&mut rng, 8) {
                        0..=2 => Content::Text {
                            id: pick_id(&mut rng, &[]),
                            expire_secs: [0u32, 1, 31_536_000][below(&mut rng, 3)],
                            text: "t".repeat(1 + below(&mut rng, 50)),
                        },
                        3 => Content::Ack(
                            (0..1 + below(&mut rng, 64))
                                .map(|_| pick_id(&mut rng, &own_ids))
                                .collect(),
                        ),
                        4 => Content::Profile("\u{202e}evil\n".repeat(1 + below(&mut rng, 8))),
                        5 => Content::Timer {
                            id: pick_id(&mut rng, &[]),
                            // (u64::MAX is finding F4, tested on its own.)
                            version: [0u64, 1, 2, rng.next_u64() >> 2][below(&mut rng, 4)],
                            expire_secs: below(&mut rng, 100) as u32,
                        },
                        6 => {
                            let mut n = [0u8; 16];
                            rng.fill_bytes(&mut n);
                            if rng.next_u32().is_multiple_of(2) {
                                Content::Resume(n)
                            } else {
                                Content::ResumeOk(n)
                            }
                        }
                        _ => Content::Unknown {
                            kind: 0x20 + below(&mut rng, 32) as u8,
                            id: pick_id(&mut rng, &[]),
                        },
                    };
                    if let Ok(out) = evil
                        .session
                        .encrypt(&content, rng.next_u64(), &mut evil.rng)
                    {
                        unread.extend(payloads(&v.feed(&Frame::Payload(out.envelope), now)));
                    }
                }
                10..=12 => {
                    if let Ok(id) = v.client.send_text(&fp, "from the victim", 0, now) {
                        own_ids.push(id);
                    }
                    unread.extend(payloads(&v.drain()));
                }
                13 => {
                    let _ = v
                        .client
                        .set_timer(&fp, below(&mut rng, 1000) as u32, 0, now);
                    unread.extend(payloads(&v.drain()));
                }
                14 => {
                    if rng.next_u32().is_multiple_of(2) {
                        v.client.approve(&fp, now)
                    } else {
                        v.client.revoke(&fp)
                    }
                    unread.extend(payloads(&v.drain()));
                }
                15..=16 => {
                    now += Duration::from_secs(below(&mut rng, 30) as u64);
                    unread.extend(payloads(&v.tick(now)));
                }
                _ => {
                    // The peer reads what the victim sent (and so makes a DH ratchet step).
                    evil.read(&std::mem::take(&mut unread));
                }
            }
            if let Some(conv) = v.client.conversation(&fp) {
                assert!(conv.inbox().held() <= MAX_HELD);
                assert!(conv.outbox().len() <= own_ids.len() + 100);
            }
            assert!(
                v.client.is_secure(),
                "the malicious peer's contents ended the session"
            );
        }
    }
}
