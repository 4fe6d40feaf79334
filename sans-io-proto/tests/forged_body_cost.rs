//! Bounded receive work (issue 10 item 3; PROTOCOL.md §1 "bounded work", §6.4, §6.6).
//!
//! In v1 the header tag did not cover the body: a relay could hold back one genuine message that
//! makes the receiver do a DH ratchet step and walk 1000 chain steps, then resend its authentic
//! header with forged bodies forever, each costing the receiver ~3.5 ms against ~2 us for garbage.
//! In v2 the header tag covers the whole envelope, so a forged body must cost what garbage costs.
//!
//! The test builds exactly that held-back message, checks that delivering it genuinely is expensive
//! (so the test has teeth), then times forged-body variants against garbage envelopes of the same
//! size, interleaved, as medians over many batches (this machine is shared and noisy), and fails if
//! the ratio exceeds 10. The receiver's state must not move, and the genuine message must still
//! decrypt afterwards.

mod common;

use std::hint::black_box;
use std::time::Instant;

use rand_core::RngCore;
use sans_io_proto::Session;

/// Tags at the end of a Data envelope (§6.6): body_tag then header_tag.
const TAG: usize = 32;
const BODY_AT: usize = 2 + 16 + 272;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Mean time of one `decrypt` over `envelopes` (all must be refused), in nanoseconds.
fn time_batch(b: &mut Session, envelopes: &[Vec<u8>], rng: &mut rand_chacha::ChaCha20Rng) -> f64 {
    let start = Instant::now();
    for e in envelopes {
        let r = b.decrypt(black_box(e), rng);
        assert!(r.is_err(), "a forged or garbage envelope was accepted");
        black_box(r.ok());
    }
    start.elapsed().as_nanos() as f64 / envelopes.len() as f64
}

/// Alice and Bob, and a genuine Alice → Bob envelope that makes Bob close a chain with 999 missing
/// keys, do a DH ratchet step, and walk 1000 steps of the new chain (the most one envelope may ask).
fn held_back_setup() -> (common::Pair, Vec<u8>, Vec<u8>) {
    let mut p = common::pair(31);
    p.a_to_b("hello");
    p.b_to_a("hi");
    // Alice's current chain: Bob gets the first message only; 999 more are lost.
    p.a_to_b("first of a long chain");
    for i in 0..999 {
        let c = common::text(0xa, 100 + i, "lost");
        p.a.encrypt(&c, 0, &mut p.rng_a).unwrap();
    }
    // Bob answers: Alice makes a DH ratchet step (her next chain).
    p.b_to_a("answer");
    // Alice's new chain: 1000 messages lost, then the held-back one (n = 1000).
    for i in 0..1000 {
        let c = common::text(0xa, 2000 + i, "lost too");
        p.a.encrypt(&c, 0, &mut p.rng_a).unwrap();
    }
    let held = common::text(0xa, 9999, "the held-back message");
    let genuine = p.a.encrypt(&held, 0, &mut p.rng_a).unwrap().envelope;
    // Another genuine envelope of the same size, for splices (the padding is random: draw until
    // the sizes match; one in three draws does).
    let other = (0..64)
        .map(|_| {
            p.a.clone()
                .encrypt(&common::text(0xa, 1, "x"), 0, &mut p.rng_a)
                .unwrap()
                .envelope
        })
        .find(|e| e.len() == genuine.len())
        .expect("a same-size envelope within 64 draws");
    (p, genuine, other)
}

#[test]
fn forged_bodies_cost_what_garbage_costs_and_move_nothing() {
    let (p, genuine, other) = held_back_setup();
    let len = genuine.len();
    assert_eq!(other.len(), len);
    let mut rng = common::rng(0xf0);
    let mut decrypt_rng = common::rng(0xf1);
    let b_before = p.b.clone();
    let mut b = p.b.clone();

    // The genuine delivery is expensive: a DH step and ~2000 chain steps.
    let genuine_ns = median(
        (0..7)
            .map(|_| {
                let mut fresh = b_before.clone();
                let mut r = common::rng(1);
                let t = Instant::now();
                let got = fresh.decrypt(&genuine, &mut r);
                let ns = t.elapsed().as_nanos() as f64;
                assert!(got.is_ok(), "{got:?}");
                assert!(
                    fresh.skipped_keys() >= 1900,
                    "the walk stored {}",
                    fresh.skipped_keys()
                );
                ns
            })
            .collect(),
    );

    // Forgeries under the authentic header (hn, header_ct kept) ...
    let forge = |variant: usize, rng: &mut rand_chacha::ChaCha20Rng| {
        let mut f = genuine.clone();
        rng.fill_bytes(&mut f[BODY_AT..len - 2 * TAG]);
        match variant % 4 {
            0 => {}                                                // body only
            1 => rng.fill_bytes(&mut f[len - 2 * TAG..len - TAG]), // and the body tag
            2 => rng.fill_bytes(&mut f[len - TAG..]),              // and the header tag
            _ => f[BODY_AT..].copy_from_slice(&other[BODY_AT..]),  // another message's body+tags
        }
        f
    };
    // ... and garbage of the same size.
    let garbage = |rng: &mut rand_chacha::ChaCha20Rng| {
        let mut g = vec![0u8; len];
        rng.fill_bytes(&mut g);
        g[0] = 0x02;
        g[1] = 0x10;
        g
    };
    const BATCH: usize = 16;
    const ROUNDS: usize = 120;
    let mut forged_ns = Vec::new();
    let mut garbage_ns = Vec::new();
    for round in 0..ROUNDS {
        let forged: Vec<Vec<u8>> = (0..BATCH).map(|i| forge(round + i, &mut rng)).collect();
        let junk: Vec<Vec<u8>> = (0..BATCH).map(|_| garbage(&mut rng)).collect();
        if round % 2 == 0 {
            forged_ns.push(time_batch(&mut b, &forged, &mut decrypt_rng));
            garbage_ns.push(time_batch(&mut b, &junk, &mut decrypt_rng));
        } else {
            garbage_ns.push(time_batch(&mut b, &junk, &mut decrypt_rng));
            forged_ns.push(time_batch(&mut b, &forged, &mut decrypt_rng));
        }
    }
    let (forged_med, garbage_med) = (median(forged_ns), median(garbage_ns));
    let ratio = forged_med / garbage_med;
    println!(
        "per envelope of {len} bytes: genuine {:.0} us, forged body {:.1} us, garbage {:.1} us, \
         ratio {ratio:.2}",
        genuine_ns / 1e3,
        forged_med / 1e3,
        garbage_med / 1e3
    );
    // The setup has teeth: what a forgery would cost if the body were not covered.
    assert!(
        genuine_ns > 20.0 * garbage_med,
        "the held-back message is not expensive ({genuine_ns} ns vs {garbage_med} ns): setup broken"
    );
    assert!(
        ratio <= 10.0,
        "a forged body costs {ratio:.1}x a garbage envelope ({forged_med:.0} ns vs {garbage_med:.0} ns)"
    );

    // The state never moved: Bob after 3840 refusals behaves bit for bit as before them.
    assert_eq!(b.skipped_keys(), b_before.skipped_keys());
    assert_eq!(b.next_seq(), b_before.next_seq());
    let mut before = b_before.clone();
    let got_after = b
        .decrypt(&genuine, &mut common::rng(2))
        .expect("still decrypts");
    let got_before = before.decrypt(&genuine, &mut common::rng(2)).unwrap();
    assert_eq!(got_after, got_before);
    assert_eq!(
        got_after.content,
        common::text(0xa, 9999, "the held-back message")
    );
    let reply = common::text(0xb, 7, "same state, same bytes");
    let e_after = b.encrypt(&reply, 5, &mut common::rng(3)).unwrap();
    let e_before = before.encrypt(&reply, 5, &mut common::rng(3)).unwrap();
    assert_eq!(e_after, e_before, "the refusals changed Bob's ratchet");
    // And the forgeries stay refused after the genuine message moved the state.
    for i in 0..8 {
        assert!(b.decrypt(&forge(i, &mut rng), &mut decrypt_rng).is_err());
    }
}

/// Replays of authentic envelopes (the only inputs that pass a header tag without the peer) are
/// cheap too once delivered: the held-back message replayed after its delivery, and an old one.
#[test]
fn replayed_authentic_envelopes_cost_about_what_garbage_costs() {
    let (mut p, genuine, _) = held_back_setup();
    let mut r = common::rng(4);
    p.b.decrypt(&genuine, &mut r).unwrap();
    let old = p.a_to_b("old");
    p.a_to_b("newer");
    let mut rng = common::rng(5);
    let len = genuine.len();
    let garbage: Vec<Vec<u8>> = (0..16)
        .map(|_| {
            let mut g = vec![0u8; len];
            rng.fill_bytes(&mut g);
            g[..2].copy_from_slice(&[0x02, 0x10]);
            g
        })
        .collect();
    let replays: Vec<Vec<u8>> = (0..16)
        .map(|i| {
            if i % 2 == 0 {
                genuine.clone()
            } else {
                old.clone()
            }
        })
        .collect();
    let mut replay_ns = Vec::new();
    let mut garbage_ns = Vec::new();
    for round in 0..100 {
        let order = [round % 2 == 0, round % 2 == 1];
        for replay_first in order {
            if replay_first {
                replay_ns.push(time_batch(&mut p.b, &replays, &mut r));
            } else {
                garbage_ns.push(time_batch(&mut p.b, &garbage, &mut r));
            }
        }
    }
    let ratio = median(replay_ns) / median(garbage_ns);
    println!("replayed authentic / garbage: {ratio:.2}");
    assert!(
        ratio <= 10.0,
        "a replayed envelope costs {ratio:.1}x garbage"
    );
}

/// The number of candidate header keys, the only per-envelope work before authentication, is
/// bounded: at most `MAX_SKIPPED_CHAINS` (5) stored chains, `HKr` and `NHKr` = 7 (§6.4). With the
/// largest envelope (254 buckets, 65 378 bytes) each candidate costs one HMAC over 65 KB, so the time
/// of a garbage envelope counts the candidates: a receiver that kept 10 skipped chains must spend
/// about 7x what a fresh responder (one candidate, `NHKr`) spends, not 12x.
#[test]
fn candidate_header_keys_are_at_most_seven() {
    let mut p = common::pair(33);
    let fresh = if p.a.role() == sans_io_proto::Role::Responder {
        p.a.clone()
    } else {
        p.b.clone()
    };
    // Ten rounds, each leaving Bob a chain with one skipped key.
    for round in 0..10u64 {
        let c = common::text(0xa, 1000 + round, "skipped");
        p.a.encrypt(&c, 0, &mut p.rng_a).unwrap();
        p.a_to_b("delivered");
        p.b_to_a("reply");
    }
    assert!(p.b.skipped_keys() >= 5, "{}", p.b.skipped_keys());
    let len = 2 + 16 + 272 + 254 * 256 + 64;
    let mut rng = common::rng(6);
    let garbage: Vec<Vec<u8>> = (0..4)
        .map(|_| {
            let mut g = vec![0u8; len];
            rng.fill_bytes(&mut g);
            g[..2].copy_from_slice(&[0x02, 0x10]);
            g
        })
        .collect();
    assert!(p.b.clone().decrypt(&garbage[0], &mut rng).is_err());
    let mut busy = p.b.clone();
    let mut one = fresh;
    let (mut busy_ns, mut one_ns) = (Vec::new(), Vec::new());
    for round in 0..40 {
        if round % 2 == 0 {
            busy_ns.push(time_batch(&mut busy, &garbage, &mut rng));
            one_ns.push(time_batch(&mut one, &garbage, &mut rng));
        } else {
            one_ns.push(time_batch(&mut one, &garbage, &mut rng));
            busy_ns.push(time_batch(&mut busy, &garbage, &mut rng));
        }
    }
    let ratio = median(busy_ns) / median(one_ns);
    println!(
        "65 KB garbage: receiver with 10 past chains / fresh responder = {ratio:.2} (7 candidates / 1)"
    );
    assert!(
        ratio >= 4.0,
        "the busy receiver tries too few keys ({ratio:.2}): setup broken"
    );
    assert!(
        ratio <= 8.5,
        "more than 7 candidate header keys per envelope ({ratio:.2}x one)"
    );
}
