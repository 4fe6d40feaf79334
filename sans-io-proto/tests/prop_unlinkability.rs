//! Unlinkability (PROTOCOL.md §1, §6.6): two ciphertexts from one sender share no field a relay
//! could link — no cleartext counter, ratchet key or identity — and lengths are padded to buckets.

mod common;

use common::{contains, pair};
use sans_io_proto::ratchet::BODY_BUCKET;

/// Length of everything but the body ciphertext in a Data envelope (§6.6).
const OVERHEAD: usize = 2 + 16 + 272 + 32 + 32;

#[test]
fn messages_of_one_sender_share_no_linkable_field() {
    let mut p = pair(60);
    // Many messages in one sending chain (same ratchet key, consecutive counters) — the case
    // where a careless header format would leak most.
    let envelopes: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            p.a.encrypt_text(&format!("message {i}"), 0, &mut p.rng_a)
                .unwrap()
                .envelope
        })
        .collect();
    for (i, x) in envelopes.iter().enumerate() {
        assert_eq!(
            &x[..2],
            &[0x01, 0x10],
            "only the version and type bytes are fixed"
        );
        for y in &envelopes[i + 1..] {
            // No 16-byte block at the same offset repeats (a shared ratchet key, counter or
            // header prefix under one key would show up here).
            for offset in (2..x.len().min(y.len()) - 15).step_by(16) {
                assert_ne!(
                    &x[offset..offset + 16],
                    &y[offset..offset + 16],
                    "offset {offset} repeats"
                );
            }
            // And no 8-byte run of one appears anywhere in the other.
            for window in x[2..].chunks(8).filter(|w| w.len() == 8) {
                assert!(
                    !contains(y, window),
                    "an 8-byte run is shared between two ciphertexts"
                );
            }
        }
    }
}

#[test]
fn ratchet_keys_and_identities_never_appear_in_the_clear() {
    let mut p = pair(61);
    let mut wire: Vec<Vec<u8>> = p.wire.iter().map(|(_, m)| m.clone()).collect();
    for i in 0..10 {
        wire.push(p.a_to_b(&format!("a{i}")));
        wire.push(p.b_to_a(&format!("b{i}")));
    }
    let ids = [
        common::alice().public().as_bytes().to_vec(),
        common::bob().public().as_bytes().to_vec(),
    ];
    for m in &wire {
        for id in &ids {
            assert!(!contains(m, &id[4..36]), "identity modulus on the wire");
        }
    }
    // Every Data envelope's ratchet key stays hidden: the 256-byte DH values are inside
    // header_ct, so no 32-byte window of any Hello's (public) DH share re-appears in Data.
    let hellos: Vec<&Vec<u8>> = wire.iter().filter(|m| m[1] == 0x01).collect();
    for m in wire.iter().filter(|m| m[1] == 0x10) {
        for h in &hellos {
            assert!(!contains(m, &h[34..66]));
        }
    }
}

#[test]
fn lengths_are_bucketed() {
    let mut p = pair(62);
    let mut sizes = std::collections::BTreeSet::new();
    for len in [0usize, 1, 10, 100, 200, 222, 223, 300, 1000, 5000] {
        let text = "x".repeat(len);
        let e = p.a.encrypt_text(&text, 0, &mut p.rng_a).unwrap().envelope;
        assert_eq!((e.len() - OVERHEAD) % BODY_BUCKET, 0);
        if len < 200 {
            sizes.insert(e.len());
        }
    }
    // A 0-byte and a 199-byte message can come out at the same length: length says little.
    assert!(sizes.len() <= 3, "{sizes:?}");
}
