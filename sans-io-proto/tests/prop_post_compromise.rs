//! Post-compromise security (PROTOCOL.md §1, §6.4): an attacker with a full copy of Bob's state
//! reads along at first, but after one round trip of fresh DH ratchet steps it is locked out, in
//! both directions.

mod common;

use common::{pair, rng, text};

#[test]
fn one_round_trip_of_dh_steps_heals_a_stolen_state() {
    let mut p = pair(30);
    p.a_to_b("before the theft");
    p.b_to_a("before the theft too");

    // The attacker copies Bob's entire state (identity, root, chain and ratchet keys).
    let mut stolen = p.b.clone();
    let mut attacker_rng = rng(0xbad); // it cannot predict Bob's future randomness

    // Right after the theft the attacker reads what Alice sends in the current chain ...
    let out =
        p.a.encrypt(&text(0xa, 3, "still readable"), 0, &mut p.rng_a)
            .unwrap();
    let read = stolen.decrypt(&out.envelope, &mut attacker_rng).unwrap();
    assert_eq!(
        read.content,
        text(0xa, 3, "still readable"),
        "the compromise is real"
    );
    p.b.decrypt(&out.envelope, &mut p.rng_b).unwrap();

    // One round trip: Bob answers (his fresh ratchet key), Alice answers that (hers).
    let to_alice = p.b.encrypt(&text(0xb, 2, "heal"), 0, &mut p.rng_b).unwrap();
    p.a.decrypt(&to_alice.envelope, &mut p.rng_a).unwrap();
    let _ = stolen.decrypt(&to_alice.envelope, &mut attacker_rng); // the attacker sees everything
    let to_bob =
        p.a.encrypt(&text(0xa, 4, "healed?"), 0, &mut p.rng_a)
            .unwrap();
    p.b.decrypt(&to_bob.envelope, &mut p.rng_b).unwrap();
    let _ = stolen.decrypt(&to_bob.envelope, &mut attacker_rng);

    // From now on the attacker's copy is useless, in both directions.
    for i in 0..5u64 {
        let secret =
            p.a.encrypt(&text(0xa, 5 + i, "private"), 0, &mut p.rng_a)
                .unwrap();
        assert!(
            stolen.decrypt(&secret.envelope, &mut attacker_rng).is_err(),
            "attacker read message {i} after healing"
        );
        p.b.decrypt(&secret.envelope, &mut p.rng_b).unwrap();
        let reply =
            p.b.encrypt(&text(0xb, 3 + i, "reply"), 0, &mut p.rng_b)
                .unwrap();
        assert!(stolen.decrypt(&reply.envelope, &mut attacker_rng).is_err());
        p.a.decrypt(&reply.envelope, &mut p.rng_a).unwrap();
    }
}

#[test]
fn the_stolen_state_cannot_impersonate_bob_after_healing() {
    let mut p = pair(31);
    p.a_to_b("hi");
    let mut stolen = p.b.clone();
    let mut attacker_rng = rng(0xbad);
    // Until Bob's next DH step reaches Alice, his current sending chain is (as in Signal) still
    // the stolen one: a forgery in it is accepted. This shows the compromise is real ...
    let early = stolen
        .encrypt(&text(0xb, 1, "forged early"), 0, &mut attacker_rng)
        .unwrap();
    let got = p.a.clone().decrypt(&early.envelope, &mut rng(1)).unwrap();
    assert_eq!(got.content, text(0xb, 1, "forged early"));
    // ... and one round trip of DH steps later (Bob -> Alice -> Bob -> Alice) it is over.
    p.b_to_a("round");
    p.a_to_b("trip");
    p.b_to_a("bob's new ratchet key reaches alice");
    for i in 0..4u64 {
        let forged = stolen
            .encrypt(&text(0xb, 10 + i, "send money"), 0, &mut attacker_rng)
            .unwrap();
        assert!(
            p.a.decrypt(&forged.envelope, &mut p.rng_a).is_err(),
            "forgery {i} accepted after healing"
        );
    }
    p.a_to_b("the session is unharmed");
}
