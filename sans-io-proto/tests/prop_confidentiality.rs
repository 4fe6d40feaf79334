//! Confidentiality (PROTOCOL.md §1): nothing the users type, and no key, appears on the wire.

mod common;

use common::{contains, pair};

#[test]
fn no_plaintext_on_the_wire_and_equal_plaintexts_encrypt_differently() {
    let mut p = pair(1);
    let secret = "attack at dawn, bring the blue folder";
    let mut seen = Vec::new();
    for i in 0..20 {
        let text = if i % 2 == 0 {
            secret.to_string()
        } else {
            format!("{secret} #{i}")
        };
        seen.push(if i % 3 == 0 {
            p.b_to_a(&text)
        } else {
            p.a_to_b(&text)
        });
    }
    for envelope in &seen {
        assert!(!contains(envelope, secret.as_bytes()));
        // Nor any 8-byte window of it (no partial leak either).
        for window in secret.as_bytes().windows(8) {
            assert!(
                !contains(envelope, window),
                "plaintext fragment on the wire"
            );
        }
    }
    for (i, x) in seen.iter().enumerate() {
        for y in &seen[i + 1..] {
            assert_ne!(x, y, "two messages encrypted to the same bytes");
        }
    }
}

#[test]
fn handshake_hides_identities_and_never_shows_shared_secrets() {
    let p = pair(2);
    let a_pub = common::alice().public().as_bytes().to_vec();
    let b_pub = common::bob().public().as_bytes().to_vec();
    for (_, envelope) in &p.wire {
        // Identity hiding: a passive relay never sees either identity key (nor its modulus).
        assert!(!contains(envelope, &a_pub[4..40]));
        assert!(!contains(envelope, &b_pub[4..40]));
        assert!(!contains(
            envelope,
            p.a.peer_identity().fingerprint().as_bytes()
        ));
    }
    // The safety numbers match: the session really is between these two.
    assert_eq!(p.a.safety_number(), p.b.safety_number());
    assert_eq!(p.a.peer_identity(), common::bob().public());
    assert_eq!(p.b.peer_identity(), common::alice().public());
}

#[test]
fn a_third_party_session_cannot_read_the_messages() {
    // Mallory has her own perfectly valid session with Bob; Alice's messages still mean nothing to it.
    let mut p = pair(3);
    let mut rng_m = common::rng(30);
    let mut rng_b2 = common::rng(31);
    let mut wire = Vec::new();
    let (m, _) = common::handshake_with(
        common::mallory(),
        common::bob(),
        &mut rng_m,
        &mut rng_b2,
        &mut wire,
    );
    let mut m = m.into_session().unwrap();
    let envelope = p.a_to_b("for Bob only");
    assert!(m.decrypt(&envelope, &mut rng_m).is_err());
}
