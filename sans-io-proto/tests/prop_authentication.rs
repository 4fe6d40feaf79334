//! Authentication (PROTOCOL.md §1, §5.1): a relay that substitutes an identity key or a DH share is
//! detected — the handshake fails, or the two sides' safety numbers differ.

mod common;

use std::time::Instant;

use common::{From, alice, bob, mallory, rng};
use sans_io_proto::{Handshake, HandshakeError, SafetyNumber};

/// Runs a handshake where `tamper` may rewrite every message in flight.
fn run_with(
    mut tamper: impl FnMut(From, usize, Vec<u8>) -> Vec<u8>,
) -> (Handshake, Handshake, Vec<HandshakeError>) {
    let (mut ra, mut rb) = (rng(40), rng(41));
    let now = Instant::now();
    let mut a = Handshake::new(alice(), &mut ra, now);
    let mut b = Handshake::new(bob(), &mut rb, now);
    let mut errors = Vec::new();
    let mut count = 0;
    for _ in 0..10 {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            let m = tamper(From::A, count, m);
            count += 1;
            if let Err(e) = b.handle_message(&m, &mut rb) {
                errors.push(e);
            }
            moved = true;
        }
        while let Some(m) = b.poll_transmit() {
            let m = tamper(From::B, count, m);
            count += 1;
            if let Err(e) = a.handle_message(&m, &mut ra) {
                errors.push(e);
            }
            moved = true;
        }
        if !moved {
            break;
        }
    }
    (a, b, errors)
}

#[test]
fn substituting_a_dh_share_in_hello_is_detected() {
    // The relay swaps Alice's ephemeral DH value for one of its own.
    let mut rm = rng(42);
    let forged_eph = Handshake::new(mallory(), &mut rm, Instant::now())
        .poll_transmit()
        .unwrap()[34..]
        .to_vec();
    let (a, b, _) = run_with(|from, _, mut m| {
        if from == From::A && m[1] == 0x01 {
            m[34..].copy_from_slice(&forged_eph); // keep Alice's nonce, replace only her DH share
        }
        m
    });
    assert!(!a.is_established() && !b.is_established());
}

/// A relay that runs a full man-in-the-middle on the ephemeral DH (it holds both DH secrets, so it
/// can open and re-seal the hidden identities), re-implemented here from PROTOCOL.md §5 with the
/// public primitives. It still cannot complete: the Encap is bound to each side's `hello_hash`
/// by the OAEP label, and re-encapsulating instead would leave it without Alice's `k_A`.
mod dh_mitm {
    use super::*;
    use sans_io_proto::crypto::dh::{DhPrivateKey, DhPublicKey};
    use sans_io_proto::crypto::{hkdf, hmac::HmacSha256, ige};
    use sha2::{Digest, Sha256};

    struct View {
        hello_hash: [u8; 32],
        keys: [u8; 384],
    }

    fn view(hello_i: &[u8], hello_r: &[u8], dh: &[u8]) -> View {
        let mut h = Sha256::new();
        h.update(b"e2e-chat v1 hello");
        h.update(hello_i);
        h.update(hello_r);
        let hello_hash: [u8; 32] = h.finalize().into();
        let mut keys = [0u8; 384];
        hkdf::hkdf(&hello_hash, dh, b"e2e-chat v1 handshake hiding", &mut keys).unwrap();
        View { hello_hash, keys }
    }

    /// Opens a sealed message (§5.3) with key set `index` of a view, returning the plaintext.
    fn open(v: &View, index: usize, label: &[u8], m: &[u8]) -> Vec<u8> {
        let k = &v.keys[index * 96..index * 96 + 96];
        let body = &m[2..];
        let (attempt, rest) = body.split_at(16);
        let (ct, tag) = rest.split_at(rest.len() - 32);
        let mut mac = HmacSha256::new(&k[64..96]);
        mac.update(label);
        mac.update(attempt);
        mac.update(ct);
        assert_eq!(
            mac.finalize().as_slice(),
            tag,
            "the MITM derives the right keys"
        );
        let mut pt = ct.to_vec();
        ige::ige_decrypt(
            k[0..32].try_into().unwrap(),
            k[32..64].try_into().unwrap(),
            &mut pt,
        )
        .unwrap();
        pt
    }

    /// Seals `pt` (§5.3) for a view's key set `index`.
    fn seal(v: &View, index: usize, label: &[u8], kind: u8, pt: &[u8]) -> Vec<u8> {
        let k = &v.keys[index * 96..index * 96 + 96];
        let mut ct = pt.to_vec();
        ige::ige_encrypt(
            k[0..32].try_into().unwrap(),
            k[32..64].try_into().unwrap(),
            &mut ct,
        )
        .unwrap();
        let mut mac = HmacSha256::new(&k[64..96]);
        mac.update(label);
        mac.update(&v.hello_hash[..16]);
        mac.update(&ct);
        let mut out = vec![1, kind];
        out.extend_from_slice(&v.hello_hash[..16]);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&mac.finalize());
        out
    }

    fn run(re_encapsulate: bool) -> (Handshake, Handshake, Vec<HandshakeError>) {
        let mut rm = rng(50);
        let m_a = DhPrivateKey::generate(&mut rm); // the relay's DH key facing Alice
        let m_b = DhPrivateKey::generate(&mut rm); // ... and facing Bob
        let (mut hello_a, mut hello_b) = (Vec::new(), Vec::new());
        let (mut view_a, mut view_b) = (None::<View>, None::<View>);
        let mut m_rng = rng(51);
        run_with(move |from, _, m| {
            let swap = |m: &[u8], key: &DhPrivateKey| {
                let mut out = m.to_vec();
                out[34..].copy_from_slice(key.public_key().as_bytes());
                out
            };
            match (from, m[1]) {
                (From::A, 0x01) => {
                    hello_a = m.clone();
                    swap(&m, &m_b)
                }
                (From::B, 0x01) => {
                    hello_b = m.clone();
                    // Alice (seed 40) and Bob (seed 41): order the Hellos by nonce as the spec does.
                    let a_first = hello_a[2..34] < hello_b[2..34];
                    let (a_seen, b_seen) = (swap(&hello_b, &m_a), swap(&hello_a, &m_b));
                    let eph_a = DhPublicKey::from_bytes(&hello_a[34..]).unwrap();
                    let eph_b = DhPublicKey::from_bytes(&hello_b[34..]).unwrap();
                    let dh_a = m_a.agree(&eph_a).unwrap();
                    let dh_b = m_b.agree(&eph_b).unwrap();
                    view_a = Some(if a_first {
                        view(&hello_a, &a_seen, dh_a.as_bytes())
                    } else {
                        view(&a_seen, &hello_a, dh_a.as_bytes())
                    });
                    view_b = Some(if a_first {
                        view(&b_seen, &hello_b, dh_b.as_bytes())
                    } else {
                        view(&hello_b, &b_seen, dh_b.as_bytes())
                    });
                    a_seen
                }
                (_, kind @ (0x02 | 0x03)) => {
                    let (va, vb) = (view_a.as_ref().unwrap(), view_b.as_ref().unwrap());
                    let a_first = hello_a[2..34] < hello_b[2..34];
                    let role = |sender_is_a: bool| if sender_is_a == a_first { 0 } else { 1 };
                    let (label, base) = if kind == 0x02 {
                        (&b"e2e-chat v1 identity"[..], 0)
                    } else {
                        (&b"e2e-chat v1 encap"[..], 2)
                    };
                    let (src, dst) = if from == From::A { (va, vb) } else { (vb, va) };
                    let index = base + role(from == From::A);
                    let mut pt = open(src, index, label, &m);
                    if kind == 0x03 && re_encapsulate {
                        // Encapsulate a k of the relay's choice to the real recipient instead.
                        let recipient = if from == From::A { bob() } else { alice() };
                        let mut label = b"e2e-chat v1 kem".to_vec();
                        label.extend_from_slice(&dst.hello_hash);
                        pt = recipient
                            .public()
                            .key()
                            .oaep_encrypt(&mut m_rng, &[7u8; 32], &label)
                            .unwrap();
                    }
                    seal(dst, index, label, kind, &pt)
                }
                (_, 0x04) => {
                    // Rewrite the attempt id so the Confirm is not dropped as stale: it then
                    // fails on its MAC, which is the point.
                    let dst = if from == From::A {
                        view_b.as_ref().unwrap()
                    } else {
                        view_a.as_ref().unwrap()
                    };
                    let mut out = m.clone();
                    out[2..18].copy_from_slice(&dst.hello_hash[..16]);
                    out
                }
                _ => m,
            }
        })
    }

    #[test]
    fn passing_the_encapsulation_through_fails_the_oaep_label() {
        let (a, b, errors) = run(false);
        assert!(
            errors.contains(&HandshakeError::Authentication),
            "{errors:?}"
        );
        assert!(!a.is_established() && !b.is_established());
    }

    #[test]
    fn re_encapsulating_fails_key_confirmation() {
        let (a, b, errors) = run(true);
        assert!(
            errors.contains(&HandshakeError::Authentication),
            "{errors:?}"
        );
        assert!(!a.is_established() && !b.is_established());
    }
}

#[test]
fn substituting_a_sealed_identity_is_detected() {
    // The relay replaces Bob's Identity message with Mallory's from another run (same attempt id).
    let other = common::pair(43).wire;
    let mallory_identity = other
        .iter()
        .find(|(f, m)| *f == From::B && m[1] == 0x02)
        .unwrap()
        .1
        .clone();
    let (a, b, errors) = run_with(|from, _, m| {
        if from == From::B && m[1] == 0x02 {
            let mut forged = mallory_identity.clone();
            forged[2..18].copy_from_slice(&m[2..18]); // keep the attempt id so it is not ignored as stale
            forged
        } else {
            m
        }
    });
    assert!(
        errors.contains(&HandshakeError::Authentication),
        "{errors:?}"
    );
    assert!(!a.is_established() && !b.is_established());
}

#[test]
fn a_man_in_the_middle_with_its_own_identity_is_caught_by_the_safety_numbers() {
    // The relay runs two honest-looking handshakes: Alice<->Mallory and Mallory<->Bob. Both
    // complete (nothing else could stop them: the peers have never met), but each side's safety
    // number then names Mallory, so comparing them out of band exposes the attack.
    let (mut ra, mut rm1, mut rm2, mut rb) = (rng(44), rng(45), rng(46), rng(47));
    let mut wire = Vec::new();
    let (a, _m1) = common::handshake_with(alice(), mallory(), &mut ra, &mut rm1, &mut wire);
    let (_m2, b) = common::handshake_with(mallory(), bob(), &mut rm2, &mut rb, &mut wire);
    let (a, b) = (a.into_session().unwrap(), b.into_session().unwrap());
    assert_eq!(a.peer_identity(), mallory().public());
    assert_eq!(b.peer_identity(), mallory().public());
    assert_ne!(a.safety_number(), b.safety_number());
    assert_ne!(a.safety_number().digits(), b.safety_number().digits());
    assert_ne!(a.safety_number().emoji(), b.safety_number().emoji());
    assert!(!a.safety_number().matches_qr(b.safety_number().qr_payload()));
    // Without the attack both sides show the same number, in every form.
    let p = common::pair(48);
    let expected = SafetyNumber::new(alice().public(), bob().public());
    assert_eq!(p.a.safety_number(), expected);
    assert_eq!(p.b.safety_number(), expected);
    assert!(
        p.a.safety_number()
            .matches_qr(p.b.safety_number().qr_payload())
    );
    assert_eq!(p.a.key_visual(), p.b.key_visual());
}

#[test]
fn a_relay_cannot_splice_two_sessions_together() {
    // The relay swaps one message for the same message of another session between the same two
    // people: every such splice fails authentication or stays incomplete.
    let other_wire = common::pair(49).wire;
    for (victim, (_, replacement)) in other_wire.iter().enumerate() {
        let (a, b, _) = run_with(|_, i, m| if i == victim { replacement.clone() } else { m });
        assert!(
            !(a.is_established() && b.is_established()),
            "spliced message {victim} accepted"
        );
    }
}

#[test]
fn safety_numbers_do_not_depend_on_order_and_name_both_keys() {
    let ab = SafetyNumber::new(alice().public(), bob().public());
    assert_eq!(ab, SafetyNumber::new(bob().public(), alice().public()));
    assert_ne!(ab, SafetyNumber::new(alice().public(), mallory().public()));
    assert_eq!(ab.digits().len(), 60);
    assert!(ab.digits().bytes().all(|c| c.is_ascii_digit()));
    let parsed = SafetyNumber::parse_qr(ab.qr_payload()).unwrap();
    let mut fps = [alice().fingerprint(), bob().fingerprint()];
    fps.sort();
    assert_eq!([parsed.0, parsed.1], fps);
}
