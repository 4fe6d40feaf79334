//! The trust gate lives in the sans-IO `Client` (issue 10 item 6; PROTOCOL.md §1 "trust gate", §7.6).
//!
//! Two real clients talk through an in-test relay. A session whose peer identity the application
//! has not approved must carry nothing the user wrote, no Profile and no Ack from the gated side —
//! checked on every payload it transmits (it must send no Data envelope at all) — and what it
//! receives is not shown. Approving exactly that fingerprint releases the kept contents, the
//! profile, the outbox and the acks; approving another one changes nothing; an identity that
//! changes in a new session is not approved implicitly.

mod attack_support;
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use attack_support::{Duo, Node, Verdict, shown_exactly_once_in_order};
use sans_io_proto::frame::RelayFrame as Frame;
use sans_io_proto::{Event, Fingerprint, MessageId, MessageState};

fn secure_infos(n: &Node) -> Vec<(Fingerprint, bool)> {
    n.events
        .iter()
        .filter_map(|e| match e {
            Event::Secure(info) => Some((info.peer.fingerprint(), info.approved)),
            _ => None,
        })
        .collect()
}

fn names(n: &Node) -> Vec<String> {
    n.events
        .iter()
        .filter_map(|e| match e {
            Event::PeerName { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn delivered(n: &Node) -> Vec<MessageId> {
    n.events
        .iter()
        .filter_map(|e| match e {
            Event::MessageState {
                id,
                state: MessageState::Delivered,
                ..
            } => Some(*id),
            _ => None,
        })
        .collect()
}

fn texts(n: &Node) -> Vec<String> {
    n.shown().into_iter().map(|(_, t)| t).collect()
}

/// Alice (approves nothing yet, has a message queued for Bob) and Bob (approved Alice) in a secure
/// session through the relay.
fn gated_pair(t0: Instant) -> Duo {
    let (alice, bob) = (common::alice(), common::bob());
    let mut a = Node::new(alice, Some("Alice"), 51, t0);
    let mut b = Node::new(bob, Some("Bob"), 52, t0);
    b.client.approve(&alice.fingerprint(), t0);
    a.client
        .send_text(&bob.fingerprint(), "written before the session", 1, t0)
        .unwrap();
    a.drain();
    b.drain();
    let mut duo = Duo::new(a, b, t0);
    duo.run();
    assert_eq!(secure_infos(&duo.a), vec![(bob.fingerprint(), false)]);
    assert_eq!(secure_infos(&duo.b), vec![(alice.fingerprint(), true)]);
    duo
}

#[test]
fn unapproved_session_carries_nothing_until_that_exact_identity_is_approved() {
    let t0 = Instant::now();
    let (alice, bob, mallory) = (common::alice(), common::bob(), common::mallory());
    let mut duo = gated_pair(t0);
    // Bob's profile and messages arrive at Alice ...
    for t in ["b1", "b2", "b3"] {
        duo.b
            .client
            .send_text(&alice.fingerprint(), t, 2, duo.now)
            .unwrap();
        duo.flush(1);
    }
    // ... and Alice writes, changes the timer, lets time pass (resends, keepalives).
    duo.a
        .client
        .send_text(&bob.fingerprint(), "written while unapproved", 3, duo.now)
        .unwrap();
    duo.flush(0);
    duo.a
        .client
        .set_timer(&bob.fingerprint(), 3600, 4, duo.now)
        .unwrap();
    duo.flush(0);
    duo.advance(Duration::from_secs(25));
    duo.advance(Duration::from_secs(70));
    // Approving someone else changes nothing.
    duo.a.client.approve(&mallory.fingerprint(), duo.now);
    duo.flush(0);
    duo.advance(Duration::from_secs(15));

    assert!(
        duo.data_sent_by(1) >= 4,
        "Bob did send (profile, texts, resends)"
    );
    assert_eq!(
        duo.data_sent_by(0),
        0,
        "the gated side sent a Data envelope"
    );
    assert!(
        duo.a.shown().is_empty(),
        "shown before approval: {:?}",
        duo.a.shown()
    );
    assert!(names(&duo.a).is_empty(), "peer name shown before approval");
    assert!(duo.b.shown().is_empty() && names(&duo.b).is_empty());
    assert!(
        delivered(&duo.b).is_empty(),
        "Alice acknowledged before approval"
    );
    assert_eq!(duo.a.client.secure_peer(), Some((bob.fingerprint(), false)));

    // The exact fingerprint: everything flows, in order, once.
    let mark_a = duo.a.events.len();
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    assert!(duo.data_sent_by(0) >= 3);
    assert_eq!(texts(&duo.a), ["b1", "b2", "b3"]);
    shown_exactly_once_in_order(&duo.a.shown()).unwrap();
    assert_eq!(names(&duo.b), ["Alice"]);
    assert_eq!(names(&duo.a), ["Bob"], "kept Profile shown on approval");
    assert_eq!(
        texts(&duo.b),
        ["written before the session", "written while unapproved"]
    );
    assert_eq!(
        delivered(&duo.b).len(),
        3,
        "Alice's acks settle Bob's three messages"
    );
    let a_delivered: Vec<MessageId> = duo.a.events[mark_a..]
        .iter()
        .filter_map(|e| match e {
            Event::MessageState {
                id,
                state: MessageState::Delivered,
                ..
            } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(
        a_delivered.len(),
        3,
        "two texts and the timer reached Bob: {a_delivered:?}"
    );

    // Revoked: nothing more goes out, nothing more is shown.
    duo.a.client.revoke(&bob.fingerprint());
    let sent_before = duo.data_sent_by(0);
    duo.a
        .client
        .send_text(&bob.fingerprint(), "after revoke", 5, duo.now)
        .unwrap();
    duo.flush(0);
    duo.b
        .client
        .send_text(&alice.fingerprint(), "to a revoked", 6, duo.now)
        .unwrap();
    duo.flush(1);
    duo.advance(Duration::from_secs(30));
    assert_eq!(duo.data_sent_by(0), sent_before, "sent after revoke");
    assert_eq!(texts(&duo.a), ["b1", "b2", "b3"]);
}

#[test]
fn a_changed_identity_in_a_new_session_is_not_approved_implicitly() {
    let t0 = Instant::now();
    let (alice, bob, carol) = (common::alice(), common::bob(), &common::identities()[3]);
    let mut duo = gated_pair(t0);
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    assert_eq!(texts(&duo.b), ["written before the session"]);
    // Bob's seat is taken by someone with another identity (Carol, who approves Alice), while
    // Alice has a message waiting for Bob.
    let bob_states = duo.b.states.clone();
    duo.disconnect(1);
    duo.a
        .client
        .send_text(&bob.fingerprint(), "for Bob only", 7, duo.now)
        .unwrap();
    duo.flush(0);
    let mut c = Node::new(carol, Some("Carol"), 53, duo.now);
    c.client.approve(&alice.fingerprint(), duo.now);
    c.client
        .send_text(&alice.fingerprint(), "hi, I am 'Bob'", 8, duo.now)
        .unwrap();
    c.drain();
    let wire_mark = duo.wire.len();
    duo.replace(1, c);
    duo.advance(Duration::from_secs(6)); // past the resume timeout: a new key exchange
    assert_eq!(
        secure_infos(&duo.a).last(),
        Some(&(carol.fingerprint(), false)),
        "{:?}",
        secure_infos(&duo.a)
    );
    duo.advance(Duration::from_secs(30));
    // Alice's only Data envelope since Carol came is her Resume in the old session with Bob (sent
    // on PeerJoined, before the new exchange; Carol cannot read it). Nothing after the exchange.
    let last_handshake = duo.wire.iter().rposition(|(_, p, _)| p[1] <= 0x06).unwrap();
    assert!(last_handshake > wire_mark);
    let a_data: Vec<usize> = duo.wire[wire_mark..]
        .iter()
        .enumerate()
        .filter(|(_, (from, p, _))| *from == 0 && p[1] == 0x10)
        .map(|(i, _)| wire_mark + i)
        .collect();
    assert!(
        a_data.len() <= 1 && a_data.iter().all(|&i| i < last_handshake),
        "{a_data:?}"
    );
    assert_eq!(texts(&duo.a), Vec::<String>::new());
    // Approving Carol lets the session work, but Bob's outbox stays Bob's.
    duo.a.client.approve(&carol.fingerprint(), duo.now);
    duo.flush(0);
    duo.advance(Duration::from_secs(30));
    assert_eq!(texts(&duo.a), ["hi, I am 'Bob'"]);
    assert!(
        texts(&duo.b).is_empty(),
        "Bob's message went to Carol: {:?}",
        texts(&duo.b)
    );
    assert_eq!(names(&duo.b), ["Alice"]);
    // Bob comes back (restarted with his stored state): his message is delivered to him, once.
    let bob_again = {
        let mut n = Node::from_states(&bob_states, bob, 55, duo.now);
        n.client.approve(&alice.fingerprint(), duo.now);
        n.drain();
        n
    };
    duo.replace(1, bob_again);
    duo.advance(Duration::from_secs(6));
    duo.advance(Duration::from_secs(1));
    assert_eq!(texts(&duo.b), ["for Bob only"]);
}

#[test]
fn kept_contents_are_bounded_and_everything_arrives_once_in_order_after_approval() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut duo = gated_pair(t0);
    for i in 1..=100 {
        duo.b
            .client
            .send_text(&alice.fingerprint(), &format!("m{i}"), 9, duo.now)
            .unwrap();
    }
    duo.flush(1);
    assert_eq!(duo.data_sent_by(0), 0);
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    // At most 64 were kept: they are shown now, the rest after Bob's resend.
    let now_shown = duo.a.shown().len();
    assert!(
        now_shown <= 64,
        "{now_shown} kept while unapproved (limit 64)"
    );
    assert!(now_shown >= 1);
    duo.advance(Duration::from_secs(11));
    duo.advance(Duration::from_secs(21));
    let shown = duo.a.shown();
    shown_exactly_once_in_order(&shown).unwrap();
    let want: Vec<String> = (1..=100).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&duo.a), want);
}

/// The application approves the peer while the kept session is being resumed (the relay holds the
/// peer's ResumeOk for a moment). The approval must take effect for that session: PROTOCOL.md §7.6
/// "when the application approves that exact fingerprint, the kept contents are processed in order,
/// the Profile is sent and the outbox flushed".
#[test]
fn approval_during_a_resumption_is_not_lost() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut duo = gated_pair(t0);
    duo.b
        .client
        .send_text(&alice.fingerprint(), "kept while unapproved", 10, duo.now)
        .unwrap();
    duo.flush(1);
    // Alice's connection drops and comes back; the relay holds Bob's answers to her Resume.
    let held: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let h = held.clone();
    duo.filter = Box::new(move |from, bytes| {
        if from == 1 {
            h.borrow_mut().push(bytes.to_vec());
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    duo.disconnect(0);
    duo.reconnect(0);
    assert!(duo.a.client.is_exchanging_keys(), "Alice is resuming");
    // The user approves Bob now.
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    duo.filter = Box::new(|_, _| Verdict::Deliver);
    for bytes in held.borrow_mut().drain(..) {
        duo.send_to(0, Frame::Payload(bytes));
    }
    duo.run();
    let resumed: Vec<bool> = duo
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Resumed { approved, .. } => Some(*approved),
            _ => None,
        })
        .collect();
    assert_eq!(
        resumed,
        [true],
        "the session resumed as unapproved after approve()"
    );
    assert!(duo.a.client.is_approved(&bob.fingerprint()));
    assert_eq!(duo.a.client.secure_peer(), Some((bob.fingerprint(), true)));
    duo.advance(Duration::from_secs(1));
    assert_eq!(texts(&duo.b), ["written before the session"]);
    assert_eq!(texts(&duo.a), ["kept while unapproved"]);
    assert_eq!(names(&duo.b), ["Alice"]);
}

/// The converse: `revoke` while the kept session is being resumed. "Withdraws an approval: nothing
/// more is sent to that identity" — the resumed session must not flush the outbox to it.
#[test]
fn revocation_during_a_resumption_is_not_lost() {
    let t0 = Instant::now();
    let bob = common::bob();
    let mut duo = gated_pair(t0);
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    assert_eq!(texts(&duo.b), ["written before the session"]);
    let held: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let h = held.clone();
    duo.filter = Box::new(move |from, bytes| {
        if from == 1 {
            h.borrow_mut().push(bytes.to_vec());
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    duo.disconnect(0);
    duo.a
        .client
        .send_text(
            &bob.fingerprint(),
            "not for a revoked identity",
            11,
            duo.now,
        )
        .unwrap();
    duo.flush(0);
    duo.reconnect(0);
    assert!(duo.a.client.is_exchanging_keys(), "Alice is resuming");
    duo.a.client.revoke(&bob.fingerprint());
    duo.flush(0);
    duo.filter = Box::new(|_, _| Verdict::Deliver);
    for bytes in held.borrow_mut().drain(..) {
        duo.send_to(0, Frame::Payload(bytes));
    }
    duo.run();
    duo.advance(Duration::from_secs(1));
    assert!(!duo.a.client.is_approved(&bob.fingerprint()));
    assert_eq!(
        texts(&duo.b),
        ["written before the session"],
        "a message was sent to an identity the application had revoked"
    );
    assert_eq!(
        duo.a.client.secure_peer().map(|(_, approved)| approved),
        Some(false)
    );
}

/// The application approves the peer while the session is parked (the connection is down): on
/// resumption the kept contents are shown, and the Profile and the outbox go out.
#[test]
fn approval_while_parked_takes_effect_on_resumption() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut duo = gated_pair(t0);
    duo.b
        .client
        .send_text(&alice.fingerprint(), "kept while unapproved", 10, duo.now)
        .unwrap();
    duo.flush(1);
    duo.disconnect(0);
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    duo.reconnect(0);
    duo.advance(Duration::from_secs(1));
    let resumed: Vec<bool> = duo
        .a
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Resumed { approved, .. } => Some(*approved),
            _ => None,
        })
        .collect();
    assert_eq!(resumed, [true]);
    assert_eq!(texts(&duo.b), ["written before the session"]);
    assert_eq!(
        texts(&duo.a),
        ["kept while unapproved"],
        "the kept content waits for the peer's resend"
    );
    assert_eq!(names(&duo.b), ["Alice"], "no Profile after the resumption");
}
