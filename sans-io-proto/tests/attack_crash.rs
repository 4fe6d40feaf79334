//! Exactly-once display across a crash (PROTOCOL.md §1 "exactly-once delivery ... across drops,
//! crashes, reconnects", §7.5 "Acknowledged means stored").
//!
//! The client hands the application the new delivery state (`Output::Persist`) *before* the
//! `Event::Message` that shows the entry. An application that stores the state and then crashes
//! before it has shown (and recorded) the message restarts with an inbox that already moved past
//! it: the sender's resend is then a duplicate (rule 2) and the message is never shown.

mod attack_support;
mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use attack_support::{Duo, Node, Verdict};
use sans_io_proto::frame::RelayFrame;
use sans_io_proto::{Event, Output};

#[test]
fn a_crash_between_storing_and_showing_does_not_lose_the_message() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut a = Node::new(alice, Some("Alice"), 91, t0);
    let mut b = Node::new(bob, Some("Bob"), 92, t0);
    a.client.approve(&bob.fingerprint(), t0);
    b.client.approve(&alice.fingerprint(), t0);
    a.drain();
    b.drain();
    let mut duo = Duo::new(a, b, t0);
    duo.run();
    duo.a
        .client
        .send_text(&bob.fingerprint(), "before", 0, duo.now)
        .unwrap();
    duo.flush(0);
    assert_eq!(duo.b.shown().len(), 1);

    // The next message from Alice is handed to Bob's client by hand.
    let held: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let h = held.clone();
    duo.filter = Box::new(move |from, bytes| {
        if from == 0 && bytes[1] == 0x10 {
            h.borrow_mut().push(bytes.to_vec());
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    duo.a
        .client
        .send_text(&bob.fingerprint(), "the message", 0, duo.now)
        .unwrap();
    duo.flush(0);
    let envelope = held.borrow_mut().pop().expect("Alice sent it");
    duo.filter = Box::new(|_, _| Verdict::Deliver);
    let now = duo.now;
    duo.b
        .client
        .handle_input(&RelayFrame::Payload(envelope).to_bytes(), now);
    // Bob's application handles the outputs in order: it stores the state, then crashes before
    // it shows the message.
    let mut stored_before_show = false;
    while let Some(out) = duo.b.client.poll_output() {
        match out {
            Output::Persist { peer, state } => {
                duo.b.states.insert(peer, state.to_vec());
                stored_before_show = true;
            }
            Output::Event(Event::Message { .. }) => break, // the crash
            _ => {}
        }
    }
    assert!(stored_before_show);
    // Bob restarts from what he stored; Alice resends what was never acknowledged.
    let mut restarted = Node::restarted(&duo.b, bob, 93, now);
    restarted.client.approve(&alice.fingerprint(), now);
    restarted.drain();
    let before_crash = duo.b.shown();
    duo.replace(1, restarted);
    for _ in 0..6 {
        duo.advance(Duration::from_secs(6));
    }
    let after: Vec<String> = duo.b.shown().into_iter().map(|(_, t)| t).collect();
    let all: Vec<String> = before_crash
        .into_iter()
        .map(|(_, t)| t)
        .chain(after.iter().cloned())
        .collect();
    assert!(duo.a.client.is_secure() && duo.b.client.is_secure());
    assert_eq!(
        all,
        ["before", "the message"],
        "Bob's user never sees \"the message\": after the restart its resend is a duplicate"
    );
}

/// Every state the client hands out must restore (§7.10: a state that breaks a bound is refused).
/// A gap fill shows everything held at once — up to 1 023 entries and 4 MiB — and all of it becomes
/// "unconfirmed" (§7.5) in the state handed out *before* the application can confirm anything. That
/// state must not exceed the unconfirmed bounds the decoder enforces (1 024 entries, 4 MiB), or an
/// application that crashes right after storing it can never restore the conversation (its outbox
/// and inbox position are lost).
#[test]
fn every_stored_state_restores_even_right_after_a_large_gap_fill() {
    use sans_io_proto::{Client, ClientConfig, Content, MessageId};
    let now = Instant::now();
    let mallory = common::mallory();
    let fp = mallory.fingerprint();
    let mut v = Node::new(common::alice(), None, 94, now);
    let mut evil = attack_support::EvilPeer::connect(&mut v, mallory, 95, now);
    v.client.approve(&fp, now);
    v.client
        .send_text(&fp, "a message of ours waiting in the outbox", 0, now)
        .ok();
    v.drain();
    let text = |number: u64| Content::Text {
        id: MessageId {
            stream: 0xe,
            number,
        },
        expire_secs: 0,
        text: "h".repeat(16 * 1024),
    };
    // Number 1 is held back (by the peer, or by a relay that dropped it): 2..=257 are held, 4 MiB.
    for n in 2..=257u64 {
        evil.send(&mut v, &text(n), now);
    }
    assert_eq!(v.client.conversation(&fp).unwrap().inbox().held(), 256);
    // Number 1 arrives: 257 entries of 16 KiB are shown at once.
    let out = evil.session.encrypt(&text(1), 0, &mut evil.rng).unwrap();
    v.client
        .handle_input(&RelayFrame::Payload(out.envelope).to_bytes(), now);
    let mut states = Vec::new();
    let mut shown = 0;
    while let Some(o) = v.client.poll_output() {
        match o {
            Output::Persist { state, .. } => states.push(state.to_vec()),
            Output::Event(Event::Message { .. }) => shown += 1,
            _ => {}
        }
    }
    assert_eq!(shown, 257);
    assert!(!states.is_empty());
    for (i, state) in states.iter().enumerate() {
        let mut fresh = Client::new(
            common::alice().clone(),
            ClientConfig::default(),
            common::rng(96),
            now,
        );
        let restored = fresh.restore_conversation(state);
        assert!(
            restored.is_ok(),
            "state {i} handed out after the gap fill ({} bytes) does not restore: {restored:?}",
            state.len()
        );
    }
}
