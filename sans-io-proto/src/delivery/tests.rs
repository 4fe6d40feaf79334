//! Unit tests of the conversation layer against PROTOCOL.md §7.4–7.7 and §7.10.

use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::identity::Fingerprint;
use crate::session::{Content, ContentError, MAX_TEXT_LEN};

fn fp(b: u8) -> Fingerprint {
    Fingerprint::from_bytes([b; 32])
}

fn conv(seed: u64) -> Conversation {
    Conversation::new(fp(2), &mut ChaCha20Rng::seed_from_u64(seed))
}

fn text(s: &str) -> Entry {
    Entry::Text {
        expire_secs: 0,
        text: zeroize::Zeroizing::new(s.to_owned()),
    }
}

fn stored(number: u64, s: &str) -> Stored {
    Stored {
        number,
        sent_at_ms: 0,
        entry: text(s),
    }
}

fn id(stream: u64, number: u64) -> MessageId {
    MessageId { stream, number }
}

fn shown_numbers(r: &Received) -> Vec<u64> {
    r.shown.iter().map(|(id, _)| id.number).collect()
}

#[test]
fn ids_round_trip_and_streams_are_non_zero() {
    let i = id(0x0102_0304_0506_0708, 42);
    assert_eq!(MessageId::from_bytes(&i.to_bytes()), i);
    assert_eq!(i.to_hex().len(), 32);
    for seed in 0..50 {
        assert_ne!(conv(seed).own_stream(), 0);
    }
}

#[test]
fn outbox_numbers_in_order_and_acks_remove_exactly_their_entry() {
    let mut c = conv(1);
    let a = c.queue_text("a", 1).unwrap();
    let b = c.queue_text("b", 2).unwrap();
    let t = c.queue_timer(30, 3).unwrap();
    assert_eq!((a.number, b.number, t.number), (1, 2, 3));
    assert_eq!(c.timer().expire_secs, 30);
    assert_eq!(c.outbox().len(), 3);
    // Another stream's id with the same number settles nothing.
    assert!(!c.acknowledge(&id(c.own_stream() ^ 1, 2)));
    assert!(c.acknowledge(&b));
    assert!(!c.acknowledge(&b), "a second ack changes nothing");
    let left: Vec<u64> = c.outbox().entries().map(|e| e.stored.number).collect();
    assert_eq!(left, [1, 3]);
    // Texts written after the timer change carry it.
    c.queue_text("c", 4).unwrap();
    let last = c.outbox().entries().last().unwrap();
    assert!(matches!(
        last.stored.entry,
        Entry::Text {
            expire_secs: 30,
            ..
        }
    ));
    let Some(Content::Text { id: got, .. }) = c.content_of(last) else {
        panic!("a text entry gives a text content")
    };
    assert_eq!(got.number, 4);
}

#[test]
fn outbox_bounds_refuse_new_messages_visibly() {
    let mut c = conv(2);
    assert_eq!(
        c.queue_text("", 0),
        Err(OutboxError::Content(ContentError::EmptyText))
    );
    assert!(matches!(
        c.queue_text(&"x".repeat(MAX_TEXT_LEN + 1), 0),
        Err(OutboxError::Content(ContentError::TextTooLong { .. }))
    ));
    for i in 0..MAX_OUTBOX {
        c.queue_text(&format!("m{i}"), 0).unwrap();
    }
    assert_eq!(c.queue_text("one more", 0), Err(OutboxError::Full));
    assert_eq!(c.outbox().len(), MAX_OUTBOX);
    // The span bound: keep the oldest waiting, ack the rest, and write on.
    let stream = c.own_stream();
    for n in 2..=MAX_OUTBOX as u64 {
        assert!(c.acknowledge(&id(stream, n)));
    }
    let mut refused = None;
    for _ in 0..WINDOW {
        if let Err(e) = c.queue_text("later", 0) {
            refused = Some(e);
            break;
        }
    }
    assert_eq!(refused, Some(OutboxError::SpanTooWide));
    let oldest = c.outbox().entries().next().unwrap().stored.number;
    let newest = c.outbox().entries().last().unwrap().stored.number;
    assert!(newest - oldest < WINDOW);
    // Bytes bound.
    let mut c = conv(3);
    let big = "y".repeat(MAX_TEXT_LEN);
    let fits = MAX_OUTBOX_BYTES / MAX_TEXT_LEN;
    for _ in 0..fits {
        c.queue_text(&big, 0).unwrap();
    }
    assert_eq!(c.queue_text(&big, 0), Err(OutboxError::TooManyBytes));
}

#[test]
fn resends_back_off_and_a_new_session_sends_everything_again() {
    let mut c = conv(4);
    c.queue_text("a", 0).unwrap();
    c.queue_text("b", 0).unwrap();
    let t0 = Instant::now();
    assert_eq!(c.outbox.due(t0), [1, 2]);
    c.outbox.mark_sent(1, t0);
    c.outbox.mark_sent(2, t0);
    assert!(
        c.outbox
            .due(t0 + RESEND_AFTER - Duration::from_millis(1))
            .is_empty()
    );
    assert_eq!(c.outbox.next_deadline(), Some(t0 + RESEND_AFTER));
    let t1 = t0 + RESEND_AFTER;
    assert_eq!(c.outbox.due(t1), [1, 2]);
    c.outbox.mark_sent(1, t1);
    // The second resend waits twice as long.
    assert!(!c.outbox.due(t1 + RESEND_AFTER).contains(&1));
    assert!(c.outbox.due(t1 + 2 * RESEND_AFTER).contains(&1));
    let mut t = t1;
    for _ in 0..10 {
        c.outbox.mark_sent(1, t);
        t += RESEND_MAX;
    }
    assert!(
        c.outbox.due(t - RESEND_MAX + RESEND_MAX).contains(&1),
        "capped at RESEND_MAX"
    );
    c.outbox.reset_sending();
    assert_eq!(c.outbox.due(t0), [1, 2]);
}

#[test]
fn inbox_shows_exactly_once_in_order_and_holds_gaps() {
    let mut c = conv(5);
    let own = fp(1);
    let s = 77;
    // 2 and 3 arrive before 1: held and acknowledged, shown when 1 arrives.
    let r = c.receive(id(s, 2), stored(2, "two"), &own);
    assert!(r.ack && r.shown.is_empty());
    let r = c.receive(id(s, 3), stored(3, "three"), &own);
    assert!(r.ack && r.shown.is_empty());
    assert_eq!(c.inbox().held(), 2);
    let r = c.receive(id(s, 1), stored(1, "one"), &own);
    assert!(r.ack);
    assert_eq!(shown_numbers(&r), [1, 2, 3]);
    assert_eq!(c.inbox().next(), 4);
    // Duplicates: acknowledged again, shown never.
    for n in 1..=3 {
        let r = c.receive(id(s, n), stored(n, "again"), &own);
        assert!(r.ack && r.shown.is_empty());
    }
    let r = c.receive(id(s, 5), stored(5, "five"), &own);
    assert!(r.ack && r.shown.is_empty());
    let r = c.receive(id(s, 5), stored(5, "five again"), &own);
    assert!(
        r.ack && r.shown.is_empty(),
        "a held duplicate is not held twice"
    );
    // Beyond the window: neither kept nor acknowledged.
    let far = 4 + WINDOW;
    let r = c.receive(id(s, far), stored(far, "far"), &own);
    assert!(!r.ack && r.shown.is_empty());
    assert_eq!(c.inbox().held(), 1);
}

#[test]
fn a_new_stream_releases_what_the_old_one_held() {
    let mut c = conv(6);
    let own = fp(1);
    c.receive(id(10, 1), stored(1, "a"), &own);
    c.receive(id(10, 3), stored(3, "c"), &own);
    let r = c.receive(id(11, 1), stored(1, "new"), &own);
    let got: Vec<(u64, u64)> = r.shown.iter().map(|(i, _)| (i.stream, i.number)).collect();
    assert_eq!(got, [(10, 3), (11, 1)]);
    assert_eq!(c.inbox().held(), 0);
    assert_eq!(c.inbox().next(), 2);
}

#[test]
fn held_entries_are_bounded_in_count_and_bytes() {
    let mut c = conv(7);
    let own = fp(1);
    // Number 1 never arrives; everything else is held up to the bounds.
    let big = "z".repeat(MAX_TEXT_LEN);
    let mut acked = 0;
    for n in 2..WINDOW + 1 {
        if c.receive(id(1, n), stored(n, &big), &own).ack {
            acked += 1;
        }
    }
    assert_eq!(acked, MAX_HELD_BYTES / MAX_TEXT_LEN);
    assert!(c.inbox().held_bytes <= MAX_HELD_BYTES);
    let mut c = conv(8);
    for n in 2..WINDOW + 5 {
        c.receive(id(1, n), stored(n, "s"), &own);
    }
    assert_eq!(c.inbox().held(), MAX_HELD);
}

#[test]
fn timer_changes_from_the_peer_follow_the_version_rule() {
    let own = fp(1);
    let mut c = conv(9); // peer fp(2) > own fp(1)
    let timer = |n: u64, version: u64, secs: u32| Stored {
        number: n,
        sent_at_ms: 0,
        entry: Entry::Timer {
            version,
            expire_secs: secs,
        },
    };
    let r = c.receive(id(5, 1), timer(1, 1, 300), &own);
    assert_eq!(r.timer_changed.map(|t| t.expire_secs), Some(300));
    assert_eq!(c.timer().source, TimerSource::Peer);
    // An older version changes nothing.
    let r = c.receive(id(5, 2), timer(2, 1, 30), &own);
    assert_eq!(
        r.timer_changed.map(|t| t.expire_secs),
        Some(30),
        "equal version: the greater fingerprint (the peer) wins"
    );
    let r = c.receive(id(5, 3), timer(3, 0, 5), &own);
    assert!(r.timer_changed.is_none());
    // Our own change takes the next version.
    c.queue_timer(3600, 0).unwrap();
    assert_eq!((c.timer().version, c.timer().expire_secs), (2, 3600));
}

#[test]
fn stored_state_round_trips_and_refuses_what_breaks_a_rule() {
    let mut c = conv(10);
    let own = fp(1);
    c.queue_text("hello", 11).unwrap();
    c.queue_timer(30, 12).unwrap();
    c.queue_text("wörld", 13).unwrap();
    c.receive(id(9, 2), stored(2, "held"), &own);
    c.receive(
        id(9, 4),
        Stored {
            number: 4,
            sent_at_ms: 5,
            entry: Entry::Unknown { kind: 0x21 },
        },
        &own,
    );
    let bytes = c.encode();
    let back = Conversation::decode(&bytes).unwrap();
    assert_eq!(back.encode().as_slice(), bytes.as_slice());
    assert_eq!(back.peer(), c.peer());
    assert_eq!(back.timer(), c.timer());
    assert_eq!(back.inbox(), c.inbox());
    let texts: Vec<u64> = back.outbox().entries().map(|e| e.stored.number).collect();
    assert_eq!(texts, [1, 2, 3]);

    // Every truncation and every trailing byte is refused, never a panic.
    for len in 0..bytes.len() {
        assert!(Conversation::decode(&bytes[..len]).is_err(), "{len}");
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert_eq!(
        Conversation::decode(&longer).unwrap_err(),
        StateError::NotAState
    );
    // Rules: an outbox number at or beyond next_number, a held entry below `next`.
    let next_number_at = 6 + 1 + 32 + 8;
    let mut stale = bytes.to_vec();
    stale[next_number_at..next_number_at + 8].copy_from_slice(&2u64.to_be_bytes());
    assert!(matches!(
        Conversation::decode(&stale),
        Err(StateError::Invalid(_))
    ));
    let mut stale = bytes.to_vec();
    stale[next_number_at..next_number_at + 8].copy_from_slice(&u64::MAX.to_be_bytes());
    assert!(matches!(
        Conversation::decode(&stale),
        Err(StateError::Invalid(_))
    ));
    // Flipping any single byte never panics.
    for i in 0..bytes.len() {
        let mut m = bytes.to_vec();
        m[i] ^= 0x80;
        let _ = Conversation::decode(&m);
    }
}

#[test]
fn a_return_to_a_known_stream_continues_where_it_stopped() {
    // The same identity on two devices: streams 10 and 20 alternate.
    let mut c = conv(11);
    let own = fp(1);
    assert_eq!(
        shown_numbers(&c.receive(id(10, 1), stored(1, "laptop 1"), &own)),
        [1]
    );
    assert_eq!(
        shown_numbers(&c.receive(id(20, 1), stored(1, "desktop 1"), &own)),
        [1]
    );
    // The laptop's first message comes again (its ack was lost): a duplicate, not shown.
    let r = c.receive(id(10, 1), stored(1, "laptop 1"), &own);
    assert!(r.ack && r.shown.is_empty());
    assert_eq!(
        shown_numbers(&c.receive(id(10, 2), stored(2, "laptop 2"), &own)),
        [2]
    );
    // A held entry released by a switch is remembered as shown.
    c.receive(id(10, 4), stored(4, "laptop 4"), &own);
    let r = c.receive(id(20, 2), stored(2, "desktop 2"), &own);
    let got: Vec<(u64, u64)> = r.shown.iter().map(|(i, _)| (i.stream, i.number)).collect();
    assert_eq!(got, [(10, 4), (20, 2)]);
    let r = c.receive(id(10, 4), stored(4, "laptop 4 again"), &own);
    assert!(
        r.ack && r.shown.is_empty(),
        "released entries are not shown twice"
    );
    assert_eq!(
        shown_numbers(&c.receive(id(10, 3), stored(3, "laptop 3"), &own)),
        [3]
    );
    let r = c.receive(id(10, 5), stored(5, "laptop 5"), &own);
    assert_eq!(shown_numbers(&r), [5], "4 was shown already; 5 follows");
    // Only MAX_STREAMS streams are remembered.
    for s in 30..30 + MAX_STREAMS as u64 {
        c.receive(id(s, 1), stored(1, "x"), &own);
    }
    let r = c.receive(id(10, 1), stored(1, "forgotten stream"), &own);
    assert_eq!(shown_numbers(&r), [1], "a forgotten stream starts over");
}

#[test]
fn duplicates_and_refusals_do_not_change_the_stored_state() {
    let mut c = conv(12);
    let own = fp(1);
    assert!(c.receive(id(3, 1), stored(1, "a"), &own).changed);
    let before = c.encode();
    let r = c.receive(id(3, 1), stored(1, "a"), &own);
    assert!(!r.changed && r.ack);
    let r = c.receive(id(3, 1 + WINDOW + 1), stored(2, "far"), &own);
    assert!(!r.changed && !r.ack);
    assert_eq!(c.encode().as_slice(), before.as_slice());
}

#[test]
fn counters_stay_below_two_to_the_63() {
    let mut c = conv(13);
    c.timer.version = MAX_NUMBER - 1;
    assert_eq!(c.queue_timer(30, 0), Err(OutboxError::Exhausted));
    c.next_number = MAX_NUMBER;
    assert_eq!(c.queue_text("x", 0), Err(OutboxError::Exhausted));
    // A stored state with a counter at the limit is refused.
    let mut c = conv(14);
    c.timer.version = MAX_NUMBER;
    assert!(matches!(
        Conversation::decode(&c.encode()),
        Err(StateError::Invalid(_))
    ));
}

#[test]
fn shown_texts_wait_for_confirmation_and_survive_a_restore() {
    let mut c = conv(15);
    let own = fp(1);
    c.receive(id(4, 1), stored(1, "one"), &own);
    c.receive(id(4, 2), stored(2, "two"), &own);
    assert_eq!(c.unconfirmed().len(), 2);
    let back = Conversation::decode(&c.encode()).unwrap();
    let ids: Vec<MessageId> = back.unconfirmed().iter().map(|(i, _)| *i).collect();
    assert_eq!(ids, [id(4, 1), id(4, 2)]);
    assert!(c.confirm_shown(&[id(4, 1)]));
    assert!(
        !c.confirm_shown(&[id(4, 1)]),
        "confirming twice changes nothing"
    );
    assert_eq!(c.unconfirmed().len(), 1);
    // An application that never confirms stops new entries (they are not acknowledged).
    let mut c = conv(16);
    for n in 1..=MAX_UNCONFIRMED as u64 {
        assert!(c.receive(id(4, n), stored(n, "x"), &own).ack);
    }
    let r = c.receive(id(4, MAX_UNCONFIRMED as u64 + 1), stored(0, "y"), &own);
    assert!(!r.ack && !r.changed && r.shown.is_empty());
}

#[test]
fn every_state_handed_out_restores_even_right_after_a_large_gap_fill() {
    let mut c = conv(17);
    let own = fp(1);
    let big = "w".repeat(MAX_TEXT_LEN);
    for n in 2..=(MAX_HELD_BYTES / MAX_TEXT_LEN) as u64 + 1 {
        assert!(c.receive(id(6, n), stored(n, &big), &own).ack);
    }
    let r = c.receive(id(6, 1), stored(1, &big), &own);
    assert!(r.shown.len() > 200);
    let bytes = c.encode();
    assert!(bytes.len() > MAX_UNCONFIRMED_BYTES);
    let back = Conversation::decode(&bytes).expect("every state the client hands out restores");
    assert_eq!(back.unconfirmed().len(), c.unconfirmed().len());
}
