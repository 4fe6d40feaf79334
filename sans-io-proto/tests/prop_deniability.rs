//! Deniability (PROTOCOL.md §1, §5.1): from Bob's keys and Alice's *public* key alone, a forger
//! (`deniability::forge_transcript`) builds a transcript of Alice "saying" things that Bob's own,
//! unmodified code accepts as a genuine session, reproducing Bob's side byte for byte. So no
//! transcript can prove that Alice took part.

mod common;

use std::time::Instant;

use common::{alice, bob, mallory, rng, text};
use sans_io_proto::deniability::{Speaker, forge_transcript};
use sans_io_proto::{Content, Handshake, IdentityKeyPair, SafetyNumber, Session};

/// Replays `transcript` through `own`'s real code with the RNG seed the forger used for `own`:
/// every `Own` envelope must be exactly what the code sends; returns the session and what the
/// peer "said".
fn judge(
    own: &IdentityKeyPair,
    own_seed: u64,
    transcript: &[(Speaker, Vec<u8>)],
) -> (Session, Vec<Content>) {
    let now = Instant::now();
    let mut r = rng(own_seed);
    let mut hs = Handshake::new(own, &mut r, now);
    let mut session: Option<Session> = None;
    let mut heard = Vec::new();
    for (i, (speaker, envelope)) in transcript.iter().enumerate() {
        match speaker {
            Speaker::Own => {
                assert!(
                    session.is_none(),
                    "the forger sends nothing for us after the handshake"
                );
                assert_eq!(
                    hs.poll_transmit().as_ref(),
                    Some(envelope),
                    "envelope {i}: the real code sends the same bytes"
                );
            }
            Speaker::Peer if envelope[1] != 0x10 => {
                hs.handle_bytes(envelope, &mut r)
                    .unwrap_or_else(|e| panic!("envelope {i} refused: {e}"));
            }
            Speaker::Peer => {
                let s = session.get_or_insert_with(|| {
                    assert!(
                        hs.is_established(),
                        "the real code completed the forged handshake"
                    );
                    assert_eq!(hs.poll_transmit(), None);
                    let done = std::mem::replace(&mut hs, Handshake::new(own, &mut rng(0), now));
                    done.into_session().unwrap()
                });
                heard.push(s.decrypt(envelope, &mut r).unwrap().content);
            }
        }
    }
    (session.expect("the transcript carried messages"), heard)
}

#[test]
fn bob_alone_can_forge_a_session_with_alice_that_bobs_code_accepts() {
    let lines = ["I owe Bob 100 euros", "and I sign nothing"];
    let mut roles = std::collections::BTreeSet::new();
    for forger_seed in 81..100 {
        // The forger: Bob's private key, Alice's public key (the type of `alice().public()`
        // carries no private key), Bob's RNG seed and randomness of its own for "Alice".
        let transcript = forge_transcript(
            bob(),
            alice().public(),
            &lines,
            0x5eed,
            &mut rng(80),
            &mut rng(forger_seed),
            Instant::now(),
        )
        .unwrap();
        let (session, heard) = judge(bob(), 80, &transcript);
        // Bob's code is convinced it talks to Alice, and shows her "words" with their ids.
        assert_eq!(session.peer_identity(), alice().public());
        assert_eq!(
            heard,
            [text(0x5eed, 1, lines[0]), text(0x5eed, 2, lines[1])]
        );
        assert_eq!(
            session.safety_number(),
            SafetyNumber::new(alice().public(), bob().public())
        );
        roles.insert(format!("{:?}", session.role()));
        if roles.len() == 2 {
            break;
        }
    }
    assert_eq!(
        roles.len(),
        2,
        "Bob was forged as initiator and as responder: {roles:?}"
    );
}

#[test]
fn a_forged_handshake_has_the_shape_of_a_genuine_one() {
    let forged = forge_transcript(
        alice(),
        bob().public(),
        &["hi"],
        7,
        &mut rng(84),
        &mut rng(85),
        Instant::now(),
    )
    .unwrap();
    let shape = |w: &mut dyn Iterator<Item = &Vec<u8>>| {
        let mut s: Vec<(u8, usize)> = w.map(|m| (m[1], m.len())).collect();
        s.sort_unstable();
        s
    };
    let genuine = common::pair(86).wire;
    assert_eq!(
        shape(&mut forged.iter().filter(|(_, m)| m[1] != 0x10).map(|(_, m)| m)),
        shape(&mut genuine.iter().map(|(_, m)| m)),
        "the same eight envelope types and sizes"
    );
    // Alice forges Bob: four handshake envelopes and one message are "his".
    assert_eq!(
        forged.iter().filter(|(s, _)| *s == Speaker::Peer).count(),
        4 + 1
    );
    let (session, heard) = judge(alice(), 84, &forged);
    assert_eq!(session.peer_identity(), bob().public());
    assert_eq!(heard, [text(7, 1, "hi")]);
}

#[test]
fn the_judge_refuses_a_transcript_forged_for_another_identity() {
    // The control for `judge`: a transcript forged with Mallory's key does not pass as Bob's,
    // even with Bob's RNG seed (the sealed identities differ), so the judge really checks.
    let transcript = forge_transcript(
        mallory(),
        alice().public(),
        &["x"],
        1,
        &mut rng(87),
        &mut rng(88),
        Instant::now(),
    )
    .unwrap();
    let result = std::panic::catch_unwind(|| judge(bob(), 87, &transcript));
    assert!(
        result.is_err(),
        "a transcript forged with Mallory's key passed as Bob's"
    );
    // With the right key it passes (the control).
    let (s, _) = judge(mallory(), 87, &transcript);
    assert_eq!(s.peer_identity(), alice().public());
}
