//! Integrity (PROTOCOL.md §1): every modified, truncated, extended, injected or reflected message
//! is refused, never shown, and the session survives it.

mod common;

use common::{From, pair};
use sans_io_proto::{DecryptError, Handshake, HandshakeError};

#[test]
fn flipping_any_bit_of_a_data_message_is_rejected_and_the_session_survives() {
    let mut p = pair(10);
    p.a_to_b("warm up");
    p.b_to_a("warm up too");
    let out =
        p.a.encrypt_text("the real message", 0, &mut p.rng_a)
            .unwrap();
    let envelope = out.envelope;
    for bit in 0..envelope.len() * 8 {
        let mut tampered = envelope.clone();
        tampered[bit / 8] ^= 1 << (bit % 8);
        let result = p.b.decrypt(&tampered, &mut p.rng_b);
        assert!(result.is_err(), "bit {bit} flipped was accepted");
    }
    for cut in [0, 1, 2, 17, 300, envelope.len() - 33, envelope.len() - 1] {
        assert!(
            p.b.decrypt(&envelope[..cut], &mut p.rng_b).is_err(),
            "truncated to {cut}"
        );
    }
    let mut extended = envelope.clone();
    extended.extend_from_slice(&[0u8; 256]);
    assert!(p.b.decrypt(&extended, &mut p.rng_b).is_err());
    // None of that moved the ratchet: the genuine message still decrypts, exactly once.
    let got = p.b.decrypt(&envelope, &mut p.rng_b).unwrap();
    assert_eq!(
        got.content,
        sans_io_proto::Content::Text("the real message".into())
    );
    assert!(
        p.b.decrypt(&envelope, &mut p.rng_b)
            .unwrap_err()
            .is_duplicate()
    );
    p.b_to_a("still talking");
}

#[test]
fn reflected_data_messages_are_rejected() {
    let mut p = pair(11);
    let envelope = p.a_to_b("hello");
    // The relay bounces Alice's own message back to her.
    let err = p.a.decrypt(&envelope, &mut p.rng_a).unwrap_err();
    assert!(matches!(err, DecryptError::Ratchet(_)), "{err:?}");
    p.b_to_a("after the reflection");
}

#[test]
fn tampering_with_any_handshake_message_never_completes_a_handshake() {
    // Each of the 8 handshake messages, with a bit flipped at several positions: the handshake
    // either fails or ignores the message, and never establishes with it.
    let reference = pair(12).wire;
    assert_eq!(reference.len(), 8);
    for (index, (from, message)) in reference.iter().enumerate() {
        let positions = [
            0,
            1,
            2,
            3,
            17,
            40,
            100,
            200,
            message.len() - 1,
            message.len() / 2,
        ];
        for &pos in positions.iter().filter(|&&p| p < message.len()) {
            // Same seeds and delivery order as `common::pair`, so message `index` is the same one.
            let mut rng_a = common::rng(12);
            let mut rng_b = common::rng(12 ^ 0x5eed_5eed);
            let now = std::time::Instant::now();
            let mut a = Handshake::new(common::alice(), &mut rng_a, now);
            let mut b = Handshake::new(common::bob(), &mut rng_b, now);
            let mut n = 0usize;
            let mut tamper = |sender: From, mut m: Vec<u8>| {
                if n == index {
                    assert_eq!(sender, *from, "the replay diverged from the reference run");
                    assert_eq!(&m, message);
                    m[pos] ^= 0x01;
                }
                n += 1;
                m
            };
            for _ in 0..10 {
                let mut moved = false;
                while let Some(m) = a.poll_transmit() {
                    let _ = b.handle_message(&tamper(From::A, m), &mut rng_b);
                    moved = true;
                }
                while let Some(m) = b.poll_transmit() {
                    let _ = a.handle_message(&tamper(From::B, m), &mut rng_a);
                    moved = true;
                }
                if !moved {
                    break;
                }
            }
            assert!(
                !(a.is_established() && b.is_established()),
                "message {index} with byte {pos} flipped: both established"
            );
        }
    }
}

#[test]
fn a_fatal_handshake_error_ends_the_attempt() {
    let mut rng = common::rng(13);
    let now = std::time::Instant::now();
    let mut a = Handshake::new(common::alice(), &mut rng, now);
    let hello = a.poll_transmit().unwrap();
    // Reflection: Alice's own Hello comes back.
    assert_eq!(
        a.handle_message(&hello, &mut rng),
        Err(HandshakeError::Reflection)
    );
    assert!(a.failure().is_some());
    assert_eq!(
        a.handle_message(&hello, &mut rng),
        Err(HandshakeError::AlreadyFailed)
    );
    assert!(a.poll_transmit().is_none());
    // The deadline.
    let mut b = Handshake::new(common::bob(), &mut rng, now);
    assert_eq!(
        b.handle_timeout(now + sans_io_proto::handshake::HANDSHAKE_TIMEOUT),
        Err(HandshakeError::Timeout)
    );
}
