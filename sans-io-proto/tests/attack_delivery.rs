//! Attacks by the relay on delivery, resumption and versions through two real `Client`s
//! (PROTOCOL.md §4.1, §7.4 "a relay that drops payloads delays messages, never loses them", §7.8).

mod attack_support;
mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;
use std::time::Instant;

use attack_support::{Duo, Node, Verdict, shown_exactly_once_in_order};
use sans_io_proto::frame::RelayFrame as Frame;
use sans_io_proto::{Event, Fingerprint};

fn texts(n: &Node) -> Vec<String> {
    n.shown().into_iter().map(|(_, t)| t).collect()
}

/// Alice and Bob, approved both ways, in a secure session.
fn approved_pair(t0: Instant, seed: u64) -> (Duo, Fingerprint, Fingerprint) {
    let (alice, bob) = (common::alice(), common::bob());
    let mut a = Node::new(alice, Some("Alice"), seed, t0);
    let mut b = Node::new(bob, Some("Bob"), seed + 1, t0);
    a.client.approve(&bob.fingerprint(), t0);
    b.client.approve(&alice.fingerprint(), t0);
    a.drain();
    b.drain();
    let mut duo = Duo::new(a, b, t0);
    duo.run();
    assert!(duo.a.client.is_secure() && duo.b.client.is_secure());
    (duo, alice.fingerprint(), bob.fingerprint())
}

/// The relay drops everything Alice sends for a while (Alice's outbox resends every entry with
/// backoff, each resend a new ratchet message in her current chain), then behaves. Bob never
/// writes. Once more than `MAX_SKIP` (1000) of Alice's envelopes were dropped, every later one is
/// more than 1000 ahead in her chain and Bob refuses it (`TooManySkipped`); nothing makes Alice
/// start a new chain, so her messages are blocked for the rest of the session — not delayed.
#[test]
fn dropped_payloads_only_delay_messages_even_past_max_skip() {
    let t0 = Instant::now();
    let (mut duo, _alice_fp, bob_fp) = approved_pair(t0, 71);
    let dropping = Rc::new(Cell::new(true));
    let dropped = Rc::new(Cell::new(0usize));
    let (d, n) = (dropping.clone(), dropped.clone());
    duo.filter = Box::new(move |from, bytes| {
        if from == 0 && bytes[1] == 0x10 && d.get() {
            n.set(n.get() + 1);
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    let want: Vec<String> = (1..=50).map(|i| format!("a{i}")).collect();
    for t in &want {
        duo.a.client.send_text(&bob_fp, t, 0, duo.now).unwrap();
    }
    duo.flush(0);
    // 30 minutes of dropping, in 10-second steps.
    for _ in 0..180 {
        duo.advance(Duration::from_secs(10));
    }
    let dropped_count = dropped.get();
    assert!(
        dropped_count > 1000,
        "only {dropped_count} dropped: the setup does not pass MAX_SKIP"
    );
    assert!(texts(&duo.b).is_empty());
    // The relay behaves again, for 15 minutes.
    dropping.set(false);
    let mark = duo.b.events.len();
    for _ in 0..90 {
        duo.advance(Duration::from_secs(10));
    }
    let refused = duo.b.events[mark..]
        .iter()
        .filter(|e| matches!(e, Event::Rejected { .. }))
        .count();
    assert!(duo.a.client.is_secure() && duo.b.client.is_secure());
    shown_exactly_once_in_order(&duo.b.shown()).unwrap();
    assert_eq!(
        texts(&duo.b),
        want,
        "after {dropped_count} dropped envelopes and 15 minutes of honest relaying, Bob shows {} of \
         Alice's 50 messages and refused {refused} envelopes",
        texts(&duo.b).len()
    );
}

/// Moderate dropping, duplicated delivery and a reconnect only delay: everything arrives once, in
/// order.
#[test]
fn drops_and_reconnects_only_delay() {
    let t0 = Instant::now();
    let (mut duo, alice_fp, bob_fp) = approved_pair(t0, 73);
    let counter = Rc::new(Cell::new(0u32));
    let c = counter.clone();
    duo.filter = Box::new(move |_, bytes| {
        c.set(c.get() + 1);
        if bytes[1] == 0x10 && c.get().is_multiple_of(3) {
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    let mut want_b = Vec::new();
    let mut want_a = Vec::new();
    for i in 0..30 {
        let t = format!("a{i}");
        duo.a.client.send_text(&bob_fp, &t, 0, duo.now).unwrap();
        want_b.push(t);
        duo.flush(0);
        let t = format!("b{i}");
        duo.b.client.send_text(&alice_fp, &t, 0, duo.now).unwrap();
        want_a.push(t);
        duo.flush(1);
        if i % 10 == 5 {
            duo.disconnect(i % 2);
            duo.advance(Duration::from_secs(3));
            duo.reconnect(i % 2);
        }
        duo.advance(Duration::from_secs(4));
    }
    duo.filter = Box::new(|_, _| Verdict::Deliver);
    for _ in 0..30 {
        duo.advance(Duration::from_secs(10));
    }
    shown_exactly_once_in_order(&duo.a.shown()).unwrap();
    shown_exactly_once_in_order(&duo.b.shown()).unwrap();
    assert_eq!(texts(&duo.b), want_b);
    assert_eq!(texts(&duo.a), want_a);
}

/// §7.8: "An established session ignores a peer Commit, except within 10 s of the relay's last
/// PeerJoined". A Commit the relay injects (or replays) later changes nothing; within the window it
/// replaces the session, and the two sides end in one new working session.
#[test]
fn a_commit_injected_into_a_live_session() {
    let t0 = Instant::now();
    let (mut duo, alice_fp, bob_fp) = approved_pair(t0, 75);
    let old_sas = *duo.a.client.session().unwrap().sas();
    // Bob's genuine Commit of this exchange, replayed 11 s after PeerJoined: ignored.
    let bob_commit = duo
        .wire
        .iter()
        .find(|(from, p, _)| *from == 1 && p[1] == 0x01)
        .map(|(_, p, _)| p.clone())
        .unwrap();
    duo.advance(Duration::from_secs(11));
    let sent = duo.a.sent.len();
    duo.send_to(0, Frame::Payload(bob_commit.clone()));
    duo.run();
    assert_eq!(duo.a.sent.len(), sent, "Alice reacted to an old Commit");
    assert_eq!(*duo.a.client.session().unwrap().sas(), old_sas);
    duo.a
        .client
        .send_text(&bob_fp, "still the same session", 0, duo.now)
        .unwrap();
    duo.flush(0);
    assert_eq!(texts(&duo.b), ["still the same session"]);

    // Within 10 s of a PeerJoined (the relay sends one; both sides resume), the relay injects
    // the replayed Commit: the session is replaced; both sides converge on a new one.
    duo.send_to(0, Frame::PeerJoined);
    duo.send_to(1, Frame::PeerJoined);
    duo.run();
    assert!(duo.a.client.is_secure(), "resumed");
    duo.advance(Duration::from_secs(2));
    duo.send_to(0, Frame::Payload(bob_commit));
    duo.run();
    for _ in 0..12 {
        duo.advance(Duration::from_secs(5));
    }
    assert!(duo.a.client.is_secure() && duo.b.client.is_secure());
    duo.b
        .client
        .send_text(&alice_fp, "after the injection", 0, duo.now)
        .unwrap();
    duo.flush(1);
    duo.advance(Duration::from_secs(1));
    assert_eq!(texts(&duo.a), ["after the injection"]);
    assert_eq!(
        duo.a.client.session().unwrap().sas(),
        duo.b.client.session().unwrap().sas()
    );
}

/// §4.1: no downgrade. A relay that injects a protocol-1 envelope ends a running key exchange with
/// `PeerVersion` (not retried by itself), and is merely refused in an established session; a v2
/// client never emits anything but v2 envelopes.
#[test]
fn a_v1_envelope_cannot_downgrade_or_break_a_session() {
    let t0 = Instant::now();
    let (mut duo, alice_fp, _) = approved_pair(t0, 77);
    let v1 = vec![0x01, 0x02, 0xaa, 0xbb];
    duo.send_to(1, Frame::Payload(v1.clone()));
    duo.run();
    assert!(duo.b.client.is_secure(), "a v1 envelope ended a session");
    duo.b
        .client
        .send_text(&alice_fp, "still v2", 0, duo.now)
        .unwrap();
    duo.flush(1);
    assert_eq!(texts(&duo.a), ["still v2"]);
    // In a key exchange.
    let mut v = Node::new(&common::identities()[3], None, 78, t0);
    v.feed(
        &Frame::Joined {
            room: attack_support::room(),
            seat: 1,
        },
        t0,
    );
    let commit = v.feed(&Frame::PeerJoined, t0);
    assert_eq!(attack_support::payload_kinds(&commit), [0x01]);
    v.feed(&Frame::Payload(v1), t0);
    let failed: Vec<(bool, bool)> = v
        .events
        .iter()
        .filter_map(|e| match e {
            Event::KeyExchangeFailed {
                error, retrying, ..
            } => Some((
                matches!(error, sans_io_proto::HandshakeError::PeerVersion(1)),
                *retrying,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(failed, [(true, false)]);
    assert!(!v.client.is_retry_scheduled());
    assert!(!duo.wire.is_empty());
    for (_, p, _) in &duo.wire {
        assert_eq!(p[0], 0x02, "a client emitted a non-v2 envelope");
    }
}
