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
use sans_io_proto::frame::Frame;

fn one(frames: &[Frame], kind: u8) -> Vec<u8> {
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
        let failed = v
            .events_since(mark)
            .iter()
            .any(|e| matches!(e, Event::KeyExchangeFailed { .. }));
        assert!(
            failed,
            "probe {probe} ended with {:?}",
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
