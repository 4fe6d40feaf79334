//! Unlinkability (PROTOCOL.md §1, §6.6): two ciphertexts from one sender share no field a relay
//! could link — nothing constant but the two prefix bytes, no cleartext counter, ratchet key or
//! identity — lengths are padded to buckets, and the values the users compare (SAS, key picture,
//! safety number) are never on the wire.

mod common;

use common::{contains, pair, text};
use sans_io_proto::envelope::{BODY_BUCKET, DATA_OVERHEAD};

#[test]
fn messages_of_one_sender_share_nothing_but_the_prefix() {
    let mut p = pair(60);
    // Many messages in one sending chain (same ratchet key, consecutive counters), then more after
    // DH steps: the case where a careless header format would leak most.
    let mut envelopes = Vec::new();
    for round in 0..3u64 {
        for i in 0..15u64 {
            let seq = p.a.next_seq();
            let e = p.a.encrypt(
                &text(0xa, seq, &format!("message {round}.{i}")),
                0,
                &mut p.rng_a,
            );
            envelopes.push(e.unwrap().envelope);
        }
        for e in &envelopes[envelopes.len() - 15..] {
            p.b.decrypt(e, &mut p.rng_b).unwrap();
        }
        p.b_to_a("next chain please");
    }
    for (i, x) in envelopes.iter().enumerate() {
        assert_eq!(
            &x[..2],
            &[0x02, 0x10],
            "only the version and type bytes are fixed"
        );
        for y in &envelopes[i + 1..] {
            // No 16-byte block at the same offset repeats (a shared ratchet key, counter or
            // header prefix under one key would show up here).
            for offset in (2..x.len().min(y.len()) - 15).step_by(16) {
                assert_ne!(
                    &x[offset..offset + 16],
                    &y[offset..offset + 16],
                    "offset {offset}"
                );
            }
            // And no 8-byte run of one appears anywhere in the other.
            for window in x[2..].chunks(8).filter(|w| w.len() == 8) {
                assert!(!contains(y, window), "an 8-byte run is shared");
            }
        }
    }
    // No byte position other than the prefix is constant across all of them.
    let shortest = envelopes.iter().map(Vec::len).min().unwrap();
    for at in 2..shortest {
        assert!(
            envelopes.iter().any(|e| e[at] != envelopes[0][at]),
            "byte {at} is constant across 45 messages"
        );
    }
}

#[test]
fn ratchet_keys_identities_and_verification_values_never_appear_on_the_wire() {
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
    let sas = p.a.sas().value().to_be_bytes()[2..].to_vec(); // the 48 bits, 6 bytes
    let visual = p.a.key_visual().as_bytes().to_vec();
    let digits = p.a.safety_number().digits().as_bytes().to_vec();
    for m in &wire {
        for id in &ids {
            assert!(!contains(m, &id[4..36]), "identity modulus on the wire");
        }
        assert!(!contains(m, &sas), "the SAS on the wire");
        for w in visual.chunks(8) {
            assert!(!contains(m, w), "the key picture on the wire");
        }
        assert!(!contains(m, &digits[..10]), "the safety number on the wire");
    }
    // The ratchet keys stay hidden: the Hellos' (public) DH shares never re-appear in Data.
    let hellos: Vec<&Vec<u8>> = wire.iter().filter(|m| m[1] == 0x02).collect();
    assert_eq!(hellos.len(), 2);
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
    for (n, len) in [1usize, 10, 100, 200, 222, 223, 300, 1000, 5000]
        .into_iter()
        .enumerate()
    {
        let c = text(0xa, n as u64 + 1, &"x".repeat(len));
        let e = p.a.encrypt(&c, 0, &mut p.rng_a).unwrap().envelope;
        assert_eq!((e.len() - DATA_OVERHEAD) % BODY_BUCKET, 0);
        assert!(e.len() >= DATA_OVERHEAD + BODY_BUCKET);
        if len < 200 {
            sizes.insert(e.len());
        }
    }
    // A 1-byte and a 199-byte message can come out at the same length: length says little.
    assert!(sizes.len() <= 3, "{sizes:?}");
    assert_eq!(DATA_OVERHEAD, 354);
}
