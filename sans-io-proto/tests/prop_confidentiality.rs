//! Confidentiality (PROTOCOL.md §1): nothing the users type, no identity and no key appears on the
//! wire, equal plaintexts encrypt differently, and another session cannot read the messages.

mod common;

use common::{contains, pair, spec};

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
fn a_passive_relay_sees_neither_identity_nor_any_derived_secret() {
    for seed in [2, 3] {
        let p = pair(seed);
        // Rebuild the handshake's secrets from the spec (the test holds the private keys and seeds)
        // and check that none of them, and neither identity, is on the wire.
        let r = spec::rebuild(
            &p.wire,
            seed,
            seed ^ 0x5eed_5eed,
            common::alice(),
            common::bob(),
        );
        let mut secrets: Vec<(String, Vec<u8>)> = [
            ("ik_I modulus", r.ik_i[4..40].to_vec()),
            ("ik_R modulus", r.ik_r[4..40].to_vec()),
            (
                "fingerprint I",
                common::alice().fingerprint().as_bytes().to_vec(),
            ),
            (
                "fingerprint R",
                common::bob().fingerprint().as_bytes().to_vec(),
            ),
            ("dh", r.agreed.dh[..32].to_vec()),
            ("sas_okm", r.agreed.sas_okm.clone()),
            ("k_I", r.k_i.clone()),
            ("k_R", r.k_r.clone()),
            ("kem_I", r.kem_i[..32].to_vec()),
            ("kem_R", r.kem_r[..32].to_vec()),
            ("TH", r.th.to_vec()),
            ("PRK", r.keys.prk.to_vec()),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect();
        for (i, chunk) in r.agreed.hide.chunks(32).enumerate() {
            secrets.push((format!("hide[{i}]"), chunk.to_vec()));
        }
        for (i, chunk) in r.keys.okm.chunks(32).enumerate() {
            secrets.push((format!("OKM[{i}]"), chunk.to_vec()));
        }
        for (_, envelope) in &p.wire {
            for (name, s) in &secrets {
                assert!(!contains(envelope, s), "{name} on the wire (seed {seed})");
            }
        }
        // The sessions are between these two identities all the same.
        assert_eq!(p.a.peer_identity(), common::bob().public());
        assert_eq!(p.b.peer_identity(), common::alice().public());
    }
}

#[test]
fn a_third_party_session_cannot_read_the_messages() {
    // Mallory has her own perfectly valid session with Bob; Alice's messages mean nothing to it.
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
    for i in 0..3 {
        let envelope = p.a_to_b(&format!("for Bob only {i}"));
        assert!(m.decrypt(&envelope, &mut rng_m).is_err());
    }
    // Nor can another session between the same two people (different handshake, different keys).
    let mut q = pair(4);
    let envelope = p.a_to_b("this session only");
    assert!(q.b.decrypt(&envelope, &mut q.rng_b).is_err());
    q.a_to_b("q still works");
}
