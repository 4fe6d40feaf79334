//! Exactly-once display when the peer runs one identity on two devices (PROTOCOL.md §7.3, §7.5).
//!
//! Each device has its own delivery state, so its own `stream`. The inbox keeps `next` for one
//! stream only: when the stream changes (rule 1) it starts over at 1, so a message of the first
//! stream that arrives again after the other stream was seen is shown a second time. A relay makes
//! that happen by dropping the receiver's Acks to the first device (the entry stays in its outbox
//! and is resent in its next session).

mod attack_support;
mod common;

use std::time::{Duration, Instant};

use attack_support::{Duo, Node, Verdict, shown_exactly_once_in_order};

#[test]
fn a_message_is_shown_once_even_when_the_peer_uses_two_devices() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut a = Node::new(alice, Some("Alice"), 81, t0);
    a.client.approve(&bob.fingerprint(), t0);
    a.drain();
    let mut laptop = Node::new(bob, Some("Bob"), 82, t0);
    laptop.client.approve(&alice.fingerprint(), t0);
    laptop.drain();
    let mut duo = Duo::new(a, laptop, t0);
    // The relay drops whatever Alice sends (her Acks among it).
    duo.filter = Box::new(|from, bytes| {
        if from == 0 && bytes[1] == 0x10 {
            Verdict::Drop
        } else {
            Verdict::Deliver
        }
    });
    duo.run();
    duo.b
        .client
        .send_text(&alice.fingerprint(), "from the laptop", 1, duo.now)
        .unwrap();
    duo.flush(1);
    assert_eq!(duo.a.shown().len(), 1);

    // Bob switches to his desktop (same identity, its own delivery state) and writes from there.
    let mut desktop = Node::new(bob, Some("Bob"), 83, duo.now);
    desktop.client.approve(&alice.fingerprint(), duo.now);
    desktop.drain();
    let laptop = duo.swap(1, desktop, true);
    duo.advance(Duration::from_secs(6));
    duo.b
        .client
        .send_text(&alice.fingerprint(), "from the desktop", 2, duo.now)
        .unwrap();
    duo.flush(1);
    assert_eq!(duo.a.shown().len(), 2);

    // Back to the laptop: its unacknowledged entry is sent again in its new session.
    let _desktop = duo.swap(1, laptop, false);
    for _ in 0..4 {
        duo.advance(Duration::from_secs(6));
    }
    let shown = duo.a.shown();
    let texts: Vec<&str> = shown.iter().map(|(_, t)| t.as_str()).collect();
    assert!(duo.a.client.is_secure());
    shown_exactly_once_in_order(&shown).unwrap_or_else(|e| panic!("{e}: {texts:?}"));
    assert_eq!(
        texts,
        ["from the laptop", "from the desktop"],
        "shown twice"
    );
}
