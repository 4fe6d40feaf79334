//! Replay, duplicates and reordering (PROTOCOL.md §6.4–6.5): within the bound every message is
//! delivered exactly once; beyond it, a clean error and a session that goes on.

mod common;

use common::pair;
use rand_core::RngCore;
use sans_io_proto::ratchet::{MAX_SKIP, RatchetError};
use sans_io_proto::{Content, DecryptError};

#[test]
fn shuffled_duplicated_delivery_within_the_bound_delivers_each_message_once() {
    let mut p = pair(70);
    let mut order_rng = common::rng(71);
    for round in 0..4 {
        // A burst from Alice, across a DH step when Bob answered in between.
        let mut sent: Vec<(String, Vec<u8>)> = (0..30)
            .map(|i| {
                let text = format!("round {round} message {i}");
                let e = p.a.encrypt_text(&text, 0, &mut p.rng_a).unwrap().envelope;
                (text, e)
            })
            .collect();
        // Shuffle and duplicate some.
        for i in (1..sent.len()).rev() {
            let j = (order_rng.next_u32() as usize) % (i + 1);
            sent.swap(i, j);
        }
        let dups: Vec<_> = sent.iter().step_by(3).cloned().collect();
        sent.extend(dups);
        let mut delivered = std::collections::BTreeMap::new();
        for (text, e) in &sent {
            match p.b.decrypt(e, &mut p.rng_b) {
                Ok(m) => {
                    assert_eq!(m.content, Content::Text(text.clone()));
                    assert!(
                        delivered.insert(text.clone(), m.seq).is_none(),
                        "delivered twice: {text}"
                    );
                }
                Err(err) => assert!(err.is_duplicate(), "{err:?}"),
            }
        }
        assert_eq!(delivered.len(), 30);
        p.b_to_a("ack the burst");
    }
    assert_eq!(p.b.skipped_keys(), 0);
}

#[test]
fn messages_from_a_closed_chain_still_arrive_after_the_dh_step() {
    let mut p = pair(72);
    let late: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            p.a.encrypt_text(&format!("late {i}"), 0, &mut p.rng_a)
                .unwrap()
                .envelope
        })
        .collect();
    p.b.decrypt(&late[4], &mut p.rng_b).unwrap();
    p.b_to_a("new key");
    p.a_to_b("new chain"); // Bob makes a DH step; the old chain keeps its skipped keys
    for e in &late[..4] {
        p.b.decrypt(e, &mut p.rng_b).unwrap();
    }
    assert_eq!(p.b.skipped_keys(), 0);
}

#[test]
fn beyond_max_skip_is_a_clean_error_and_the_session_survives() {
    let mut p = pair(73);
    let mut last = Vec::new();
    for _ in 0..=MAX_SKIP + 1 {
        last =
            p.a.encrypt(&Content::Ack(1), 0, &mut p.rng_a)
                .unwrap()
                .envelope;
    }
    let err = p.b.decrypt(&last, &mut p.rng_b).unwrap_err();
    assert_eq!(
        err,
        DecryptError::Ratchet(RatchetError::TooManySkipped {
            requested: u64::from(MAX_SKIP) + 1
        })
    );
    assert_eq!(
        p.b.skipped_keys(),
        0,
        "nothing was stored for the refused message"
    );
    // Bob can still talk, and Alice's next DH chain gets through.
    p.b_to_a("still here");
    p.a_to_b("and me");
}

#[test]
fn exactly_max_skip_is_accepted() {
    let mut p = pair(74);
    let mut last = Vec::new();
    for _ in 0..=MAX_SKIP {
        last =
            p.a.encrypt(&Content::Ack(1), 0, &mut p.rng_a)
                .unwrap()
                .envelope;
    }
    p.b.decrypt(&last, &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), MAX_SKIP as usize);
}
