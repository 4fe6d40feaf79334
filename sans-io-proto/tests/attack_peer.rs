//! Attacks by a malicious *peer* (an identity the victim approved, or not) against the delivery
//! layer of the sans-IO `Client` (PROTOCOL.md §7.4–7.7): the peer runs the real handshake, then
//! sends any content it likes through its genuine session.

mod attack_support;
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use attack_support::{EvilPeer, Node, payloads};
use sans_io_proto::delivery::{MAX_HELD, MAX_HELD_BYTES};
use sans_io_proto::{Content, Event, MessageId, MessageState};

fn text(stream: u64, number: u64, len: usize) -> Content {
    Content::Text {
        id: MessageId { stream, number },
        expire_secs: 0,
        text: "x".repeat(len),
    }
}

/// §7.7: a local change takes `current.version + 1`, a peer's Timer is adopted if its version is
/// greater. A peer that sends `version = u64::MAX` must not make the victim's own later changes
/// impossible (an overflow: a panic with debug assertions, a wrap to 0 in release, which the peer
/// then never adopts).
#[test]
fn a_peer_timer_version_cannot_freeze_or_crash_the_victims_own_timer() {
    let now = Instant::now();
    let mallory = common::mallory();
    let mut v = Node::new(common::alice(), None, 61, now);
    let mut evil = EvilPeer::connect(&mut v, mallory, 62, now);
    v.client.approve(&mallory.fingerprint(), now);
    v.drain();
    let timer = Content::Timer {
        id: MessageId {
            stream: 0xe,
            number: 1,
        },
        version: u64::MAX,
        expire_secs: 60,
    };
    evil.send(&mut v, &timer, now);
    let adopted = v
        .client
        .conversation(&mallory.fingerprint())
        .map(|c| c.timer().version)
        .unwrap();
    // The user changes the timer.
    let result = catch_unwind(AssertUnwindSafe(|| {
        v.client.set_timer(&mallory.fingerprint(), 30, 0, now)
    }));
    let Ok(result) = result else {
        panic!(
            "set_timer panicked after the peer's Timer with version u64::MAX (adopted {adopted})"
        );
    };
    assert!(result.is_ok(), "{result:?}");
    let sent = evil.read(&payloads(&v.drain()));
    let version = sent
        .iter()
        .find_map(|c| match c {
            Content::Timer { version, .. } => Some(*version),
            _ => None,
        })
        .expect("the change is sent");
    assert!(
        version > adopted,
        "the user's change has version {version}, not above the adopted {adopted}: the peer will \
         never adopt it"
    );
}

/// An Ack settles only the acknowledging identity's conversation: Carol naming the exact ids of
/// Alice's messages to Bob settles nothing; her acks of Alice's messages to her do.
#[test]
fn an_ack_from_one_identity_settles_nothing_of_another() {
    let now = Instant::now();
    let (bob, carol) = (common::bob(), &common::identities()[3]);
    let mut v = Node::new(common::alice(), None, 63, now);
    v.client.approve(&bob.fingerprint(), now);
    v.client.approve(&carol.fingerprint(), now);
    let to_bob: Vec<MessageId> = (0..3)
        .map(|i| {
            v.client
                .send_text(&bob.fingerprint(), &format!("for bob {i}"), 0, now)
                .unwrap()
        })
        .collect();
    let to_carol = v
        .client
        .send_text(&carol.fingerprint(), "for carol", 0, now)
        .unwrap();
    v.drain();
    let mut evil = EvilPeer::connect(&mut v, carol, 64, now);
    let mark = v.events.len();
    evil.send(&mut v, &Content::Ack(to_bob.clone()), now);
    // Also the same numbers in Carol's own conversation stream (what a naive id match would hit).
    let carol_stream = to_carol.stream;
    let mixed: Vec<MessageId> = to_bob
        .iter()
        .map(|id| MessageId {
            stream: id.stream,
            number: id.number,
        })
        .chain([MessageId {
            stream: carol_stream,
            number: 99,
        }])
        .collect();
    evil.send(&mut v, &Content::Ack(mixed), now);
    let settled: Vec<MessageId> = v.events[mark..]
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
    assert!(settled.is_empty(), "{settled:?}");
    assert_eq!(
        v.client
            .conversation(&bob.fingerprint())
            .unwrap()
            .outbox()
            .len(),
        3
    );
    // Carol's ack of her own message works (so the acks above were really processed).
    evil.send(&mut v, &Content::Ack(vec![to_carol]), now);
    assert!(v.events.iter().any(|e| matches!(
        e,
        Event::MessageState { id, state: MessageState::Delivered, .. } if *id == to_carol
    )));
}

/// Held entries are bounded (§7.5: 1 023 entries, 4 MiB) whatever the peer sends, an entry the inbox
/// does not keep is not acknowledged, and filling the gap shows everything held, in order, once.
#[test]
fn held_entries_stay_bounded_and_unkept_ones_are_not_acknowledged() {
    // 16 KB texts hit the byte bound after 256, one-byte texts the entry bound.
    let cases = [
        (16 * 1024, 300, MAX_HELD_BYTES / (16 * 1024)),
        (1, 1100, MAX_HELD),
    ];
    for (i, &(len, count, bound)) in cases.iter().enumerate() {
        let now = Instant::now();
        let mallory = common::mallory();
        let mut v = Node::new(common::alice(), None, 165 + i as u64, now);
        let mut evil = EvilPeer::connect(&mut v, mallory, 66, now);
        v.client.approve(&mallory.fingerprint(), now);
        v.drain();
        // Number 1 is never sent: everything after it is held.
        // The peer reads the victim's acks every 300 messages, so both ratchets step now and then
        // (a sending chain 900 long without an answer is renewed, §7.4; reading after every message
        // would make each one a DH ratchet step, which only costs time here).
        let mut answers = Vec::new();
        let mut acked = 0usize;
        for n in 2..=count {
            answers.extend(payloads(&evil.send(&mut v, &text(0xe, n, len), now)));
            if n % 300 == 0 || n == count {
                for c in evil.read(&std::mem::take(&mut answers)) {
                    if let Content::Ack(ids) = c {
                        acked += ids.len();
                    }
                }
            }
        }
        assert!(v.client.is_secure(), "the session was renewed");
        let held = v
            .client
            .conversation(&mallory.fingerprint())
            .unwrap()
            .inbox()
            .held();
        assert_eq!(held, bound, "entries of {len} bytes");
        assert_eq!(acked, held, "acknowledged entries that were not kept");
        assert!(v.shown().is_empty());
        evil.send(&mut v, &text(0xe, 1, 10), now);
        let shown = v.shown();
        assert_eq!(shown.len(), 1 + held);
        attack_support::shown_exactly_once_in_order(&shown).unwrap();
    }
}

/// Resource use per envelope: an input that changes nothing (a duplicate the inbox already has, an
/// entry outside the window, an Ack naming nothing) must not make the client hand the application
/// the whole delivery state to write again. With a few MiB held, each such 300-byte envelope would
/// otherwise cost the victim a multi-MiB encode and disk write (an honest peer's resends after lost
/// acks do the same).
#[test]
fn inputs_that_change_nothing_do_not_rewrite_the_stored_state() {
    let now = Instant::now();
    let mallory = common::mallory();
    let mut v = Node::new(common::alice(), None, 67, now);
    let mut evil = EvilPeer::connect(&mut v, mallory, 68, now);
    v.client.approve(&mallory.fingerprint(), now);
    v.drain();
    for n in 2..=129u64 {
        evil.send(&mut v, &text(0xe, n, 16 * 1024), now);
    }
    let state_len = v.states[&mallory.fingerprint()].len();
    assert!(state_len > 2 << 20, "{state_len}");
    let (persists, mark_events) = (v.persists, v.events.len());
    for n in 2..=11u64 {
        evil.send(&mut v, &text(0xe, n, 1), now); // duplicates of held entries
    }
    for n in 0..10u64 {
        evil.send(&mut v, &text(0xe, 100_000 + n, 1), now); // far outside the window
    }
    for _ in 0..10 {
        evil.send(
            &mut v,
            &Content::Ack(vec![MessageId {
                stream: 1,
                number: 1,
            }]),
            now,
        );
    }
    assert!(
        v.events[mark_events..]
            .iter()
            .all(|e| !matches!(e, Event::Message { .. }))
    );
    let rewrites = v.persists - persists;
    assert_eq!(
        rewrites,
        0,
        "30 envelopes that changed nothing made the client hand out the {state_len}-byte state \
         {rewrites} times ({} MiB to encode and write)",
        (rewrites * state_len) >> 20
    );
}
