//! Integrity (PROTOCOL.md §1, §6.4, §6.6): every modified, truncated, extended, replayed, reflected
//! or spliced message is refused and never shown; the header tag covers the whole envelope, so
//! every such refusal is the one opaque `Undecryptable` (or, for the two prefix bytes, "not a Data
//! envelope"); and a refused message never moves the ratchet (commit on success).

mod common;

use common::{Pair, pair, relay_handshake, rng, same_state, text};
use sans_io_proto::DecryptError;
use sans_io_proto::ratchet::RatchetError;

const UNDECRYPTABLE: DecryptError = DecryptError::Ratchet(RatchetError::Undecryptable);

/// Every single-bit change, every truncation and some extensions of `envelope` are refused by
/// `p.b`, which is left exactly as it was; then the genuine envelope decrypts, once.
fn tamper_everything(p: &mut Pair, envelope: &[u8], expect: &str) {
    let before = p.b.clone();
    let mut r = rng(9);
    for bit in 0..envelope.len() * 8 {
        let mut t = envelope.to_vec();
        t[bit / 8] ^= 1 << (bit % 8);
        let err = p.b.decrypt(&t, &mut r).unwrap_err();
        if bit < 16 {
            // The version or type byte: no longer a Data envelope.
            assert_eq!(err, DecryptError::NotData, "bit {bit}");
        } else {
            assert_eq!(
                err, UNDECRYPTABLE,
                "bit {bit}: the header tag covers every byte"
            );
        }
    }
    for cut in 0..envelope.len() {
        let err = p.b.decrypt(&envelope[..cut], &mut r).unwrap_err();
        assert!(
            matches!(err, DecryptError::NotData) || err == UNDECRYPTABLE,
            "truncated to {cut}: {err:?}"
        );
    }
    for extra in [1usize, 16, 32, 256, 512] {
        let mut t = envelope.to_vec();
        t.extend(std::iter::repeat_n(0xa5, extra));
        let err = p.b.decrypt(&t, &mut r).unwrap_err();
        assert!(
            matches!(err, DecryptError::NotData) || err == UNDECRYPTABLE,
            "extended by {extra}: {err:?}"
        );
    }
    same_state(&p.b, &before, &[envelope.to_vec()]);
    let got = p.b.decrypt(envelope, &mut p.rng_b).unwrap();
    assert_eq!(got.content, text(0xa, got.seq, expect));
    // Shown once: a replay is a duplicate, or (when that was the last key of a closed chain, whose
    // header key is then deleted too) undecryptable.
    let replay = p.b.decrypt(envelope, &mut p.rng_b).unwrap_err();
    assert!(
        replay.is_duplicate() || replay == UNDECRYPTABLE,
        "{replay:?}"
    );
}

fn send_a(p: &mut Pair, msg: &str) -> Vec<u8> {
    let seq = p.a.next_seq();
    p.a.encrypt(&text(0xa, seq, msg), 0, &mut p.rng_a)
        .unwrap()
        .envelope
}

#[test]
fn every_change_to_a_data_message_is_refused_in_the_current_chain() {
    let mut p = pair(10);
    p.a_to_b("warm up");
    p.b_to_a("warm up too");
    p.a_to_b("same chain next");
    let e = send_a(&mut p, "the real message");
    tamper_everything(&mut p, &e, "the real message");
    assert!(p.b.decrypt(&e, &mut rng(1)).unwrap_err().is_duplicate());
    p.b_to_a("still talking");
}

#[test]
fn every_change_to_a_data_message_is_refused_at_a_dh_step() {
    // The first message of Alice's new chain: accepted only with a DH ratchet step (NHKr).
    let mut p = pair(11);
    p.a_to_b("one");
    p.b_to_a("two");
    let e = send_a(&mut p, "opens a chain");
    tamper_everything(&mut p, &e, "opens a chain");
    assert!(p.b.decrypt(&e, &mut rng(1)).unwrap_err().is_duplicate());
    p.b_to_a("after the step");
}

#[test]
fn every_change_to_a_late_message_from_a_closed_chain_is_refused() {
    // A message whose key is stored as skipped (its chain was closed by a DH step).
    let mut p = pair(12);
    let late = send_a(&mut p, "late");
    p.a_to_b("overtakes it");
    p.b_to_a("bob answers");
    p.a_to_b("new chain");
    assert_eq!(p.b.skipped_keys(), 1);
    tamper_everything(&mut p, &late, "late");
    assert_eq!(p.b.skipped_keys(), 0);
    assert_eq!(
        p.b.decrypt(&late, &mut rng(1)),
        Err(UNDECRYPTABLE),
        "its chain is gone"
    );
}

#[test]
fn swapping_parts_between_two_messages_is_refused() {
    let mut p = pair(13);
    // Two messages of one chain with the same length (short texts: one bucket unless padding adds
    // more, so draw until equal).
    let (x, y) = loop {
        let x = send_a(&mut p, "first");
        let y = send_a(&mut p, "second");
        if x.len() == y.len() {
            break (x, y);
        }
        p.b.decrypt(&x, &mut p.rng_b).unwrap();
        p.b.decrypt(&y, &mut p.rng_b).unwrap();
    };
    let n = x.len();
    let before = p.b.clone();
    // (name, the bytes taken from y)
    let splices: [(&str, std::ops::Range<usize>); 6] = [
        ("header nonce", 2..18),
        ("encrypted header", 18..290),
        ("body ciphertext", 290..n - 64),
        ("body ciphertext and body tag", 290..n - 32),
        ("body tag", n - 64..n - 32),
        ("header tag", n - 32..n),
    ];
    for (name, range) in splices {
        let mut t = x.clone();
        t[range.clone()].copy_from_slice(&y[range]);
        assert_eq!(
            p.b.decrypt(&t, &mut rng(1)),
            Err(UNDECRYPTABLE),
            "{name} swapped"
        );
    }
    same_state(&p.b, &before, &[x.clone(), y.clone()]);
    let gy = p.b.decrypt(&y, &mut p.rng_b).unwrap();
    let gx = p.b.decrypt(&x, &mut p.rng_b).unwrap();
    assert_eq!((gx.seq + 1, gy.seq), (gy.seq, gx.seq + 1));
}

#[test]
fn replays_are_refused_at_every_age() {
    let mut p = pair(14);
    let mut old = Vec::new();
    for i in 0..4 {
        old.push(p.a_to_b(&format!("a{i}")));
        old.push(p.a_to_b(&format!("a{i}'")));
        p.b_to_a(&format!("b{i}"));
        // Every message seen so far, replayed now: refused, never shown twice.
        let before = p.b.clone();
        for e in &old {
            let err = p.b.decrypt(e, &mut rng(2)).unwrap_err();
            assert!(
                err.is_duplicate() || err == UNDECRYPTABLE,
                "round {i}: {err:?}"
            );
        }
        same_state(&p.b, &before, &[]);
    }
    // The most recent one is recognised as a duplicate, not merely undecryptable.
    let last = old.last().unwrap();
    assert!(p.b.decrypt(last, &mut rng(3)).unwrap_err().is_duplicate());
}

#[test]
fn reflected_data_messages_are_refused() {
    let mut p = pair(15);
    for i in 0..3 {
        let to_b = p.a_to_b(&format!("hello {i}"));
        let to_a = p.b_to_a(&format!("hi {i}"));
        // The relay bounces each side's own message back to it.
        let (ba, bb) = (p.a.clone(), p.b.clone());
        assert_eq!(p.a.decrypt(&to_b, &mut rng(4)), Err(UNDECRYPTABLE));
        assert_eq!(p.b.decrypt(&to_a, &mut rng(4)), Err(UNDECRYPTABLE));
        same_state(&p.a, &ba, &[]);
        same_state(&p.b, &bb, &[]);
    }
    p.a_to_b("after the reflections");
}

#[test]
fn handshake_envelopes_are_not_data() {
    let mut p = pair(16);
    let before = p.b.clone();
    for (_, m) in p.wire.clone() {
        assert_eq!(p.b.decrypt(&m, &mut rng(5)), Err(DecryptError::NotData));
    }
    same_state(&p.b, &before, &[]);
}

#[test]
fn tampering_with_any_handshake_message_never_completes_a_handshake() {
    // Each of the 8 handshake messages with one bit flipped at several positions: the message is
    // refused (fatal, or ignored as malformed or stale) and the handshake never completes on both
    // sides; only a changed InitConfirm can leave the initiator established.
    let reference = pair(17).wire;
    assert_eq!(reference.len(), 8);
    for (index, (from, message)) in reference.iter().enumerate() {
        let len = message.len();
        for pos in [
            0,
            1,
            2,
            17,
            18,
            40,
            100,
            200,
            300,
            400,
            609,
            len / 2,
            len - 1,
        ] {
            if pos >= len {
                continue;
            }
            let r = relay_handshake(17, |sender, i, mut m| {
                if i == index {
                    assert_eq!((sender, &m), (*from, message), "the run diverged");
                    m[pos] ^= 0x01;
                }
                vec![m]
            });
            assert!(!r.both_established(), "message {index}, byte {pos}");
            assert!(
                r.errors.iter().any(|(who, _)| *who == from.other()),
                "message {index}, byte {pos}: accepted silently"
            );
            if message[1] != 0x06 {
                assert!(!r.a.is_established() && !r.b.is_established());
            }
        }
    }
}
