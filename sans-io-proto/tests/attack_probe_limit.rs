//! Attack: bypassing the limit on probing key exchanges (PROTOCOL.md §5.10, issue 10 item 2:
//! "repeated restarts by the relay are limited and reported").
//!
//! The client counts an exchange as an abort only when a room event (PeerLeft, Waiting, PeerJoined)
//! or a disconnect cuts it. A probing relay that has read the victim's identity can instead end the
//! exchange with any *fatal* error: a message of the wrong role, a v1 envelope, a bad InitAuth, or
//! simply silence until the 30-second timeout. Those are reported as `KeyExchangeFailed`, never
//! counted, and a later `PeerJoined` starts a new exchange from the `Failed` state. The test plays
//! that relay and counts how many times it reads the victim's identity.

mod attack_support;
mod common;

use std::time::{Duration, Instant};

use attack_support::{FakePeer, Node, payload_kinds, payloads, room};
use sans_io_proto::Event;
use sans_io_proto::client::MAX_ABORTS;
use sans_io_proto::frame::{ClientFrame, RelayFrame as Frame};

fn one(frames: &[ClientFrame], kind: u8) -> Vec<u8> {
    assert_eq!(payload_kinds(frames), vec![kind], "{frames:?}");
    payloads(frames).remove(0)
}

#[test]
fn probes_ended_by_a_fatal_error_are_counted_like_aborts() {
    let t0 = Instant::now();
    let alice = common::alice();
    let mut rng = common::rng(77);
    let mut v = Node::new(alice, None, 78, t0);
    v.feed(
        &Frame::Joined {
            room: room(),
            seat: 0,
        },
        t0,
    );
    v.feed(&Frame::Waiting, t0);
    let mut now = t0;
    let mut identities_read = 0;
    let mut failures_seen = 0;
    for probe in 0..12 {
        now += Duration::from_secs(20);
        let answers = v.feed(&Frame::PeerJoined, now);
        if payloads(&answers).is_empty() {
            break; // the client stopped starting exchanges
        }
        let commit = one(&answers, 0x01);
        let fake = FakePeer::new([0u8; 32], &mut rng);
        let hello = one(&v.feed(&Frame::Payload(fake.commit.clone()), now), 0x02);
        let agreed = fake.agree(&commit, &hello);
        let ri = one(&v.feed(&Frame::Payload(fake.hello.clone()), now), 0x03);
        if agreed.open_resp_identity(&ri).as_deref() == Some(&alice.public().as_bytes()[..]) {
            identities_read += 1;
        }
        // End the probe with a fatal error instead of a room event.
        let mark = v.events.len();
        match probe % 4 {
            // A message the responder never receives (§5.10: UnexpectedMessage, fatal).
            0 => {
                v.feed(&Frame::Payload(ri.clone()), now);
            }
            // A protocol-1 envelope (§4.1: PeerVersion, fatal and "retrying cannot help").
            1 => {
                v.feed(&Frame::Payload(vec![0x01, 0x03, 0, 0, 0, 0]), now);
            }
            // An InitAuth sealed correctly with a k_I encapsulated to nobody: Authentication.
            2 => {
                let mut init_auth = vec![0x02, 0x04];
                init_auth.extend_from_slice(&agreed.attempt);
                init_auth.extend_from_slice(&agreed.init_kem.seal(
                    attack_support::INIT_KEM_LABEL,
                    &agreed.attempt,
                    &[7u8; 256],
                ));
                init_auth.extend_from_slice(&[0u8; 304]);
                v.feed(&Frame::Payload(init_auth), now);
            }
            // Silence until the handshake times out.
            _ => {
                now += Duration::from_secs(31);
                v.tick(now);
            }
        }
        let failed = v.events_since(mark).iter().any(|e| {
            matches!(
                e,
                Event::KeyExchangeFailed {
                    identity_revealed: true,
                    ..
                }
            )
        });
        assert!(
            failed,
            "probe {probe} (identity revealed) ended with {:?}",
            v.events_since(mark)
        );
        failures_seen += 1;
    }
    assert!(failures_seen > 0);
    assert!(
        identities_read <= MAX_ABORTS,
        "the relay read the victim's identity {identities_read} times within {} s; none of these \
         exchanges counted towards the limit of {MAX_ABORTS} (they ended with a fatal error, not a \
         room event) and the client never suspended key exchanges (suspended: {})",
        now.duration_since(t0).as_secs(),
        v.client.is_suspended()
    );
}

/// The probing relay can also *complete* each exchange: it makes the victim the responder, reads
/// its identity, and finishes the handshake with its own identity key (it holds the private half),
/// so no exchange ends without a session. Then PeerJoined parks that session ("not an abort", §5.10)
/// and the relay starts over with a Commit. The victim shows a new session with an identity it never
/// approved each time, but nothing limits how often the relay reads the victim's identity this way.
#[test]
fn probes_that_complete_with_the_relays_own_identity_are_limited_too() {
    let t0 = Instant::now();
    let alice = common::alice();
    let mut v = Node::new(alice, None, 79, t0);
    v.feed(
        &Frame::Joined {
            room: room(),
            seat: 0,
        },
        t0,
    );
    v.feed(&Frame::Waiting, t0);
    let mut now = t0;
    let mut identities_read = 0usize;
    for probe in 0..8u64 {
        now += Duration::from_secs(30);
        // The first time PeerJoined starts the exchange; later it parks the previous session and
        // the victim asks to resume, which the relay answers with a fresh Commit (§7.8).
        let from_victim = payloads(&v.feed(&Frame::PeerJoined, now));
        if v.client.is_suspended() {
            break;
        }
        if complete_probe(&mut v, probe, from_victim, now) {
            identities_read += 1;
        }
    }
    let unapproved_sessions = v
        .events
        .iter()
        .filter(|e| matches!(e, Event::Secure(info) if !info.approved))
        .count();
    assert!(
        unapproved_sessions >= 1,
        "the relay's sessions are visible as unapproved peers"
    );
    assert!(
        identities_read <= MAX_ABORTS,
        "the relay read the victim's identity {identities_read} times in {} s by completing each \
         exchange with its own identity ({unapproved_sessions} unapproved sessions shown); the \
         client never suspended key exchanges",
        now.duration_since(t0).as_secs()
    );
}

/// The relay runs a whole exchange with the victim as the initiator with nonce 0 (the victim is the
/// responder and reveals its identity first) and completes it with its own identity (Mallory).
/// `from_victim`: what the victim already sent. Whether the relay ends up holding the victim's
/// identity.
fn complete_probe(v: &mut Node, probe: u64, mut from_victim: Vec<Vec<u8>>, now: Instant) -> bool {
    let mut rng_r = attack_support::NonceFirst {
        nonce: Some([0u8; 32]),
        inner: common::rng(1000 + probe),
    };
    let mut relay = sans_io_proto::Handshake::new(common::mallory(), &mut rng_r, now);
    let mut rng_after = common::rng(2000 + probe);
    let mut to_victim = Vec::new();
    while let Some(e) = relay.poll_transmit() {
        to_victim.push(e);
    }
    for _ in 0..10 {
        for e in to_victim.drain(..) {
            from_victim.extend(payloads(&v.feed(&Frame::Payload(e), now)));
        }
        for p in from_victim.drain(..) {
            if p[1] != 0x10 {
                let _ = relay.handle_bytes(&p, &mut rng_after);
            }
        }
        while let Some(e) = relay.poll_transmit() {
            to_victim.push(e);
        }
        if to_victim.is_empty() {
            break;
        }
    }
    relay
        .into_session()
        .is_ok_and(|s| s.peer_identity() == common::alice().public())
}

/// §7.8 lets a peer Commit replace an established session within 10 s of the relay's last
/// PeerJoined. A probing relay that completed a probe with its own identity uses that window: its
/// next Commit replaces the (unapproved) session without any room event, so the session's end is
/// never counted, and it probes again — as often as it can within the 10 seconds, after each
/// PeerJoined.
#[test]
fn probes_chained_by_commits_inside_the_grace_window_are_limited_too() {
    let t0 = Instant::now();
    let mut v = Node::new(common::alice(), None, 80, t0);
    v.feed(
        &Frame::Joined {
            room: room(),
            seat: 0,
        },
        t0,
    );
    v.feed(&Frame::Waiting, t0);
    let mut identities_read = 0usize;
    let mut probe = 0u64;
    let mut now = t0;
    for round in 0..4 {
        now += Duration::from_secs(60);
        let first = payloads(&v.feed(&Frame::PeerJoined, now));
        if v.client.is_suspended() {
            break;
        }
        // The first probe of the round answers the victim's Commit (or its Resume); the next ones
        // start with the relay's own Commit, 1 s apart, all within 10 s of the PeerJoined.
        for k in 0..8 {
            let at = now + Duration::from_secs(k);
            let from_victim = if k == 0 { first.clone() } else { Vec::new() };
            probe += 1;
            if complete_probe(&mut v, probe, from_victim, at) {
                identities_read += 1;
            }
            if v.client.is_suspended() {
                break;
            }
        }
        let _ = round;
    }
    let aborts = v
        .events
        .iter()
        .filter(|e| matches!(e, Event::KeyExchangeAborted { .. }))
        .count();
    assert!(
        identities_read <= MAX_ABORTS + 1,
        "the relay read the victim's identity {identities_read} times ({aborts} aborts counted, \
         suspended: {}) by replacing each completed, unapproved session with a new Commit inside \
         the 10 s after PeerJoined",
        v.client.is_suspended()
    );
}
