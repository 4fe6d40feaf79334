//! Forward secrecy (PROTOCOL.md §1, §6): once messages were exchanged and their keys deleted, a
//! dump of the *current* state of both sides cannot decrypt earlier captured ciphertext.

mod common;

use common::pair;

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
    let (mut dump_a, mut dump_b) = (p.a.clone(), p.b.clone());
    let mut rng = common::rng(99);
    for envelope in &captured_to_b {
        assert!(
            dump_b.decrypt(envelope, &mut rng).is_err(),
            "Bob's current state decrypted old traffic"
        );
        assert!(dump_a.decrypt(envelope, &mut rng).is_err());
    }
    for envelope in &captured_to_a {
        assert!(
            dump_a.decrypt(envelope, &mut rng).is_err(),
            "Alice's current state decrypted old traffic"
        );
        assert!(dump_b.decrypt(envelope, &mut rng).is_err());
    }
}

#[test]
fn a_skipped_key_is_deleted_once_used() {
    let mut p = pair(21);
    let first = p.a.encrypt_text("first", 0, &mut p.rng_a).unwrap().envelope;
    let second =
        p.a.encrypt_text("second", 0, &mut p.rng_a)
            .unwrap()
            .envelope;
    // Out of order: Bob stores the key of `first` while decrypting `second` ...
    p.b.decrypt(&second, &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), 1);
    // ... and deletes it when `first` arrives.
    p.b.decrypt(&first, &mut p.rng_b).unwrap();
    assert_eq!(p.b.skipped_keys(), 0);
    let mut dump = p.b.clone();
    assert!(dump.decrypt(&first, &mut p.rng_b).is_err());
}
