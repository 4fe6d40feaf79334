//! Reordering, duplicates and loss at the session level (PROTOCOL.md §6.4–6.5, §7.9): within the
//! bounds every message is delivered exactly once, across DH steps too; beyond them, a clean error
//! that leaves the state untouched, bounded storage, and a session that goes on.

mod common;

use common::{Pair, pair, rng, same_state, text};
use rand_core::RngCore;
use sans_io_proto::DecryptError;
use sans_io_proto::ratchet::{MAX_SKIP, MAX_SKIPPED_CHAINS, MAX_STORED_SKIPPED, RatchetError};

fn send_a(p: &mut Pair, msg: &str) -> (u64, Vec<u8>) {
    let seq = p.a.next_seq();
    (
        seq,
        p.a.encrypt(&text(0xa, seq, msg), 0, &mut p.rng_a)
            .unwrap()
            .envelope,
    )
}

/// Alice sends `n` messages; returns their envelopes (cheap: short texts).
fn burst(p: &mut Pair, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| send_a(p, &format!("m{i}")).1).collect()
}

#[test]
fn shuffled_duplicated_delivery_within_the_bound_delivers_each_message_once() {
    let mut p = pair(70);
    let mut order = rng(71);
    for round in 0..4 {
        // A burst from Alice (a new chain each round: Bob answered in between).
        let mut sent: Vec<(u64, String, Vec<u8>)> = (0..30)
            .map(|i| {
                let t = format!("round {round} message {i}");
                let (seq, e) = send_a(&mut p, &t);
                (seq, t, e)
            })
            .collect();
        for i in (1..sent.len()).rev() {
            let j = (order.next_u32() as usize) % (i + 1);
            sent.swap(i, j);
        }
        let dups: Vec<_> = sent.iter().step_by(3).cloned().collect();
        sent.extend(dups);
        let mut delivered = std::collections::BTreeSet::new();
        for (seq, t, e) in &sent {
            match p.b.decrypt(e, &mut p.rng_b) {
                Ok(m) => {
                    assert_eq!(m.content, text(0xa, *seq, t));
                    assert!(delivered.insert(*seq), "delivered twice: {t}");
                }
                Err(err) => assert!(err.is_duplicate(), "{err:?}"),
            }
        }
        assert_eq!(delivered.len(), 30);
        assert_eq!(p.b.skipped_keys(), 0, "every skipped key was used");
        p.b_to_a("ack the burst");
    }
}

#[test]
fn late_messages_of_several_closed_chains_arrive_after_the_dh_steps() {
    let mut p = pair(72);
    let mut late = Vec::new();
    for chain in 0..3 {
        let mut msgs = burst(&mut p, 4);
        // Bob receives the last one of the chain only, then answers (Alice then starts a new chain).
        let last = msgs.pop().unwrap();
        p.b.decrypt(&last, &mut p.rng_b).unwrap();
        assert_eq!(p.b.skipped_keys(), 3 * (chain + 1));
        late.extend(msgs);
        p.b_to_a("new key please");
    }
    p.a_to_b("a fourth chain");
    let before = late.len();
    for e in &late {
        let got = p.b.decrypt(e, &mut p.rng_b).unwrap();
        assert!(matches!(got.content, sans_io_proto::Content::Text { .. }));
    }
    assert_eq!(before, 9);
    assert_eq!(p.b.skipped_keys(), 0);
    for e in &late {
        assert!(p.b.decrypt(e, &mut p.rng_b).is_err(), "shown twice");
    }
}

#[test]
fn beyond_max_skip_is_a_clean_error_that_leaves_the_state_untouched() {
    let mut p = pair(73);
    p.a_to_b("same chain first"); // so the next messages are in Bob's current chain
    let msgs = burst(&mut p, MAX_SKIP as usize + 2);
    let before = p.b.clone();
    let err = p.b.decrypt(msgs.last().unwrap(), &mut p.rng_b).unwrap_err();
    assert_eq!(
        err,
        DecryptError::Ratchet(RatchetError::TooManySkipped {
            requested: u64::from(MAX_SKIP) + 1
        })
    );
    same_state(&p.b, &before, &msgs[..3]);
    // Bob still talks, Alice's earlier messages still arrive, and so does her next chain.
    p.b.decrypt(&msgs[0], &mut p.rng_b).unwrap();
    p.b_to_a("still here");
    p.a_to_b("and me");
}

#[test]
fn beyond_max_skip_at_a_dh_step_is_refused_too() {
    let mut p = pair(74);
    p.a_to_b("one");
    p.b_to_a("two: Alice's next message opens a chain");
    let msgs = burst(&mut p, MAX_SKIP as usize + 2);
    let before = p.b.clone();
    assert_eq!(
        p.b.decrypt(msgs.last().unwrap(), &mut p.rng_b),
        Err(DecryptError::Ratchet(RatchetError::TooManySkipped {
            requested: u64::from(MAX_SKIP) + 1
        }))
    );
    same_state(&p.b, &before, &msgs[..2]);
    // Exactly MAX_SKIP ahead in the new chain is accepted and stores MAX_SKIP keys.
    p.b.decrypt(&msgs[MAX_SKIP as usize], &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), MAX_SKIP as usize);
}

#[test]
fn exactly_max_skip_is_accepted() {
    let mut p = pair(75);
    p.a_to_b("same chain first");
    let msgs = burst(&mut p, MAX_SKIP as usize + 1);
    p.b.decrypt(msgs.last().unwrap(), &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), MAX_SKIP as usize);
    p.b.decrypt(&msgs[500], &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), MAX_SKIP as usize - 1);
}

#[test]
fn a_closed_chain_keeps_at_most_max_skip_keys_and_the_session_goes_on() {
    // Bob saw only Alice's first message of a 1500-message chain when her next chain arrives: the
    // DH step stores the keys of messages 1..=1000 and gives up the rest (PROTOCOL.md §6.5),
    // instead of refusing the new chain.
    let mut p = pair(76);
    let msgs = burst(&mut p, 1500);
    p.b.decrypt(&msgs[0], &mut p.rng_b).unwrap();
    p.b_to_a("answer");
    p.a_to_b("the new chain is accepted");
    assert_eq!(p.b.skipped_keys(), MAX_SKIP as usize);
    p.b.decrypt(&msgs[1000], &mut p.rng_b).unwrap();
    // Beyond the bound: given up (the conversation layer resends it). PROTOCOL.md §6.4 step 1 calls
    // a message of a stored chain whose key is not stored a Duplicate, §6.5 "undecryptable".
    let given_up = p.b.decrypt(&msgs[1001], &mut p.rng_b).unwrap_err();
    assert!(
        matches!(
            given_up,
            DecryptError::Ratchet(RatchetError::Duplicate | RatchetError::Undecryptable)
        ),
        "{given_up:?}"
    );
    // Within the replay window (highest seq 1501) a stored key still delivers ...
    assert_eq!(p.b.decrypt(&msgs[600], &mut p.rng_b).unwrap().seq, 601);
    // ... further back the key opens the message but the window refuses its seq (§7.9).
    assert_eq!(
        p.b.decrypt(&msgs[1], &mut p.rng_b),
        Err(DecryptError::Replay { seq: 2 })
    );
}

#[test]
fn stored_keys_and_chains_are_bounded_oldest_evicted_first() {
    // Three chains leave MAX_SKIP keys each: only MAX_STORED_SKIPPED are kept, the oldest go.
    let mut p = pair(77);
    let mut firsts = Vec::new();
    for _ in 0..3 {
        let msgs = burst(&mut p, MAX_SKIP as usize + 1);
        p.b.decrypt(msgs.last().unwrap(), &mut p.rng_b).unwrap();
        assert!(p.b.skipped_keys() <= MAX_STORED_SKIPPED);
        firsts.push(msgs[0].clone());
        p.b_to_a("next chain");
    }
    assert_eq!(p.b.skipped_keys(), MAX_STORED_SKIPPED);
    assert_eq!(
        p.b.decrypt(&firsts[0], &mut p.rng_b),
        Err(DecryptError::Ratchet(RatchetError::Undecryptable)),
        "the oldest chain's keys were evicted"
    );
    // The second chain's key was kept: the ratchet opens the message, but its sequence number
    // (1002) is more than REPLAY_WINDOW below the highest seen (3003), so the session refuses it
    // as too old (PROTOCOL.md §7.9); the third chain's is within the window.
    assert_eq!(
        p.b.decrypt(&firsts[1], &mut p.rng_b),
        Err(DecryptError::Replay { seq: 1002 })
    );
    assert_eq!(p.b.decrypt(&firsts[2], &mut p.rng_b).unwrap().seq, 2003);

    // More chains than MAX_SKIPPED_CHAINS, each leaving one key: the oldest chain goes.
    let mut q = pair(78);
    let mut late = Vec::new();
    for _ in 0..MAX_SKIPPED_CHAINS + 1 {
        let msgs = burst(&mut q, 2);
        q.b.decrypt(&msgs[1], &mut q.rng_b).unwrap();
        late.push(msgs[0].clone());
        q.b_to_a("next");
    }
    assert_eq!(q.b.skipped_keys(), MAX_SKIPPED_CHAINS);
    assert!(
        q.b.decrypt(&late[0], &mut q.rng_b).is_err(),
        "the oldest chain was evicted"
    );
    for e in &late[1..] {
        q.b.decrypt(e, &mut q.rng_b).unwrap();
    }
    assert_eq!(q.b.skipped_keys(), 0);
}
