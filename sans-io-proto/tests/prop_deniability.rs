//! Deniability (PROTOCOL.md §1, §5.1): from Bob's keys and Alice's *public* key alone, a forger
//! builds a transcript of Alice "saying" things that Bob's own, unmodified code accepts as a
//! genuine session. So no transcript can prove that Alice took part.

mod common;

use std::time::Instant;

use common::{alice, bob, rng};
use sans_io_proto::deniability::{Speaker, forge_transcript};
use sans_io_proto::{Content, Handshake};

#[test]
fn bob_alone_can_forge_a_session_with_alice_that_bobs_code_accepts() {
    let lines = ["I owe Bob 100 euros", "and I sign nothing"];
    let now = Instant::now();
    // The forger: Bob's private key, Alice's public key (the type of `alice().public()` carries
    // no private key), and Bob's RNG state.
    let transcript = forge_transcript(
        bob(),
        alice().public(),
        &lines,
        &mut rng(80),
        &mut rng(81),
        now,
    )
    .unwrap();
    assert!(transcript.iter().any(|(s, _)| *s == Speaker::Peer));

    // The judge replays it through Bob's real code with Bob's randomness.
    let mut bob_rng = rng(80);
    let mut hs = Handshake::new(bob(), &mut bob_rng, now);
    let mut session = None;
    let mut heard = Vec::new();
    for (speaker, envelope) in &transcript {
        match speaker {
            Speaker::Own => assert_eq!(
                hs.poll_transmit().as_ref(),
                Some(envelope),
                "Bob's code sends the same bytes"
            ),
            Speaker::Peer if session.is_none() && envelope[1] != 0x10 => {
                hs.handle_message(envelope, &mut bob_rng).unwrap()
            }
            Speaker::Peer => {
                let s = session.get_or_insert_with(|| {
                    let mut taken = Handshake::new(bob(), &mut rng(0), now);
                    std::mem::swap(&mut taken, &mut hs);
                    taken
                        .into_session()
                        .expect("Bob's code completed the forged handshake")
                });
                let got = s.decrypt(envelope, &mut bob_rng).unwrap();
                if let Content::Text(t) = got.content {
                    heard.push(t);
                }
            }
        }
    }
    let session = session.expect("the transcript carried messages");
    // Bob's code is convinced it talks to Alice, and shows her "words".
    assert_eq!(session.peer_identity(), alice().public());
    assert_eq!(heard, lines);
    assert_eq!(
        session.safety_number(),
        sans_io_proto::SafetyNumber::new(alice().public(), bob().public())
    );
}

#[test]
fn the_forgery_is_as_good_in_the_other_direction() {
    // Alice can equally forge Bob.
    let t = forge_transcript(
        alice(),
        bob().public(),
        &["hi"],
        &mut rng(82),
        &mut rng(83),
        Instant::now(),
    )
    .unwrap();
    assert_eq!(t.iter().filter(|(s, _)| *s == Speaker::Peer).count(), 4 + 1);
}
