//! Forward secrecy (PROTOCOL.md §1, §5.1, §6): once messages were exchanged and their keys deleted,
//! a dump of the *current* state of both sides cannot decrypt earlier captured ciphertext; and a
//! later theft of both identity keys does not open a recorded handshake, because every secret on
//! the wire is sealed under keys from the ephemeral `dh`.

mod common;

use common::{pair, rng, spec, text};
use sans_io_proto::crypto::rsa::RsaPrivateKey;

#[test]
fn current_state_of_both_sides_cannot_decrypt_captured_traffic() {
    let mut p = pair(20);
    let mut captured_to_b = Vec::new();
    let mut captured_to_a = Vec::new();
    for i in 0..6 {
        captured_to_b.push(p.a_to_b(&format!("alice {i}")));
        captured_to_b.push(p.a_to_b(&format!("alice {i} again")));
        captured_to_a.push(p.b_to_a(&format!("bob {i}")));
    }
    // Later traffic moves both ratchets on.
    p.a_to_b("later");
    p.b_to_a("later too");

    // The attacker seizes both devices now and copies their complete state.
    let (dump_a, dump_b) = (p.a.clone(), p.b.clone());
    for envelope in captured_to_b.iter().chain(&captured_to_a) {
        for dump in [&dump_a, &dump_b] {
            assert!(
                dump.clone().decrypt(envelope, &mut rng(99)).is_err(),
                "a current state decrypted old traffic"
            );
        }
    }
    // Control: a dump taken *before* a message was received does decrypt it (the test's attacker
    // is able; only the deleted keys stop it).
    let early_dump = p.b.clone();
    let fresh = p.a_to_b("fresh");
    assert!(early_dump.clone().decrypt(&fresh, &mut rng(98)).is_ok());
}

#[test]
fn a_used_skipped_key_is_deleted() {
    let mut p = pair(21);
    let first =
        p.a.encrypt(&text(0xa, 1, "first"), 0, &mut p.rng_a)
            .unwrap()
            .envelope;
    let second =
        p.a.encrypt(&text(0xa, 2, "second"), 0, &mut p.rng_a)
            .unwrap()
            .envelope;
    // Out of order: Bob stores the key of `first` while decrypting `second` ...
    p.b.decrypt(&second, &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), 1);
    let before_use = p.b.clone();
    // ... and deletes it when `first` arrives.
    p.b.decrypt(&first, &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), 0);
    assert!(p.b.clone().decrypt(&first, &mut rng(1)).is_err());
    // Control: the state from before held the key.
    assert!(before_use.clone().decrypt(&first, &mut rng(1)).is_ok());
}

#[test]
fn stolen_identity_keys_do_not_open_a_recorded_handshake() {
    // The attacker recorded a handshake and later steals both identity private keys. The
    // encapsulations (the only RSA ciphertexts) never appear in the clear, not even in part, and
    // OAEP decryption of what is on the wire fails under either key and either label at every
    // block-aligned offset (where the layout puts 256-byte fields).
    let seed = 22;
    let p = pair(seed);
    let r = spec::rebuild(
        &p.wire,
        seed,
        seed ^ 0x5eed_5eed,
        common::alice(),
        common::bob(),
    );
    for (_, m) in &p.wire {
        for kem in [&r.kem_i, &r.kem_r] {
            for window in kem.chunks(16) {
                assert!(
                    !common::contains(m, window),
                    "part of an encapsulation on the wire"
                );
            }
        }
    }
    let keys = [common::alice(), common::bob()]
        .map(|id| RsaPrivateKey::from_bytes(&id.to_private_bytes()).unwrap());
    let labels = [r.agreed.kem_label(true), r.agreed.kem_label(false)];
    let mut tried = 0;
    for (_, m) in p.wire.iter().filter(|(_, m)| m.len() > 256) {
        for at in (2..=m.len() - 256).step_by(16) {
            for key in &keys {
                for label in &labels {
                    tried += 1;
                    assert!(
                        key.oaep_decrypt(&mut rng(5), &m[at..at + 256], label)
                            .is_err(),
                        "an encapsulation is readable at offset {at} of a {:#04x}",
                        m[1]
                    );
                }
            }
        }
    }
    assert!(tried > 100, "{tried}");
    // Control: with the ephemeral `dh` (which the sides deleted) the same attacker opens the sealed
    // encapsulation and recovers k_I.
    let kem_i = r.agreed.open_init_kem(&r.init_auth).unwrap();
    assert_eq!(
        spec::decapsulate(common::bob(), &kem_i, &labels[0]).as_deref(),
        Some(r.k_i.as_slice())
    );
}
