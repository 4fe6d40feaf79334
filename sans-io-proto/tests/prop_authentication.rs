//! Authentication (PROTOCOL.md §1, §5.1): a relay that substitutes a commitment, an ephemeral DH
//! value, a sealed box or an identity is detected — the handshake fails, or it completes only with
//! the relay's own identity and then the SAS and the safety number differ. Reflections, key
//! compromise impersonation and unknown key shares fail too.

mod common;

use std::time::Instant;

use common::spec::{self, Agreed, SessionKeys};
use common::{From, alice, bob, mallory, network, relay_handshake, rng};
use rand_core::{CryptoRngCore, RngCore};
use sans_io_proto::crypto::dh::DhPrivateKey;
use sans_io_proto::envelope::EnvelopeType;
use sans_io_proto::handshake::{Credential, KEM_SECRET_LEN};
use sans_io_proto::{
    Handshake, HandshakeError, IdentityKeyPair, PublicIdentity, SafetyNumber, Session,
};
use zeroize::Zeroizing;

const COMMIT: u8 = 0x01;
const HELLO: u8 = 0x02;

#[test]
fn substituting_the_dh_share_in_a_hello_fails_the_commitment() {
    let forged = DhPrivateKey::generate(&mut rng(42)).public_key();
    for victim in [From::A, From::B] {
        let r = relay_handshake(40, |from, _, mut m| {
            if from == victim && m[1] == HELLO {
                m[34..].copy_from_slice(forged.as_bytes()); // keep the nonce, swap the DH share
            }
            vec![m]
        });
        assert_eq!(
            r.errors,
            [(victim.other(), HandshakeError::CommitmentMismatch)],
            "victim {victim:?}"
        );
        assert!(!r.a.is_established() && !r.b.is_established());
        assert!(!r.a.identity_revealed() && !r.b.identity_revealed());
    }
}

/// `hello_hash` of a view made of two (Commit, Hello) pairs, ordered by nonce (§5.3).
fn view(x: (&[u8], &[u8]), y: (&[u8], &[u8]), dh: &[u8]) -> Agreed {
    let (i, r) = if spec::hello_fields(x.1).0 < spec::hello_fields(y.1).0 {
        (x, y)
    } else {
        (y, x)
    };
    Agreed::new(i.0, r.0, i.1, r.1, dh)
}

#[test]
fn substituting_a_commit_with_its_hello_fails_authentication() {
    // The relay replaces Alice's Commit *and* Hello by its own consistent pair (so the commitment
    // check passes) and rewrites the attempt ids so nothing is dropped as stale: the two sides then
    // hold different DH secrets and the first sealed message fails its MAC.
    let m_key = DhPrivateKey::generate(&mut rng(43));
    let m_hello = spec::hello(&[0x55; 32], m_key.public_key().as_bytes());
    let m_commit = spec::commit(&m_hello);
    let (mut a_commit, mut a_hello, mut b_commit, mut b_hello) = (vec![], vec![], vec![], vec![]);
    let r = relay_handshake(44, |from, _, m| {
        let out = match (from, m[1]) {
            (From::A, COMMIT) => {
                a_commit = m.clone();
                m_commit.clone()
            }
            (From::A, HELLO) => {
                a_hello = m.clone();
                m_hello.clone()
            }
            (From::B, COMMIT) => {
                b_commit = m.clone();
                m.clone()
            }
            (From::B, HELLO) => {
                b_hello = m.clone();
                m.clone()
            }
            (_, _) => {
                // Later messages: give each receiver its own attempt id.
                let dh = [0u8; 256];
                let a_view = view((&a_commit, &a_hello), (&b_commit, &b_hello), &dh);
                let b_view = view((&m_commit, &m_hello), (&b_commit, &b_hello), &dh);
                let to = if from == From::A { b_view } else { a_view };
                let mut m = m.clone();
                m[2..18].copy_from_slice(&to.attempt());
                m
            }
        };
        vec![out]
    });
    assert!(r.saw(&HandshakeError::Authentication), "{:?}", r.errors);
    assert!(!r.a.is_established() && !r.b.is_established());
}

/// The byte range of each sealed box and MAC, by envelope type (§5.5–5.9).
const SEALED_FIELDS: [(u8, &str, std::ops::Range<usize>); 6] = [
    (0x03, "RespIdentity id_box", 18..322),
    (0x04, "InitAuth kem_box", 18..306),
    (0x04, "InitAuth id_box", 306..610),
    (0x05, "RespAuth kem_box", 18..306),
    (0x05, "RespAuth confirm", 306..338),
    (0x06, "InitConfirm mac", 18..50),
];

#[test]
fn substituting_or_flipping_any_sealed_box_fails_authentication() {
    let other = common::pair(45).wire;
    for (kind, name, range) in SEALED_FIELDS {
        let donor = &other.iter().find(|(_, m)| m[1] == kind).unwrap().1;
        for flip in [
            None,
            Some(range.start),
            Some(range.end - 1),
            Some((range.start + range.end) / 2),
        ] {
            let r = relay_handshake(46, |_, _, mut m| {
                if m[1] == kind {
                    match flip {
                        // The same field of another session (the attempt id stays ours).
                        None => m[range.clone()].copy_from_slice(&donor[range.clone()]),
                        Some(at) => m[at] ^= 0x01,
                    }
                }
                vec![m]
            });
            assert!(
                r.errors
                    .iter()
                    .any(|(_, e)| *e == HandshakeError::Authentication),
                "{name} {flip:?}: {:?}",
                r.errors
            );
            assert!(!r.both_established(), "{name} {flip:?}");
            // Only the initiator can be established: when the last message, InitConfirm, is the
            // one replaced.
            assert_eq!(
                r.a.is_established() || r.b.is_established(),
                kind == 0x06,
                "{name}"
            );
        }
    }
}

#[test]
fn a_relay_cannot_splice_two_sessions_together() {
    // Each of the 8 messages replaced by the same message of another session between the same
    // two people.
    let other = common::pair(49).wire;
    for (victim, (_, replacement)) in other.iter().enumerate() {
        let r = relay_handshake(48, |_, i, m| {
            vec![if i == victim { replacement.clone() } else { m }]
        });
        assert!(!r.both_established(), "spliced message {victim} accepted");
        assert!(
            r.errors
                .iter()
                .any(|(_, e)| e.is_fatal() || matches!(e, HandshakeError::Stale(_))),
            "message {victim}: {:?}",
            r.errors
        );
    }
}

#[test]
fn every_reflected_handshake_message_is_refused() {
    // Each message is also sent back to its sender, right after it was sent. Expected: a Commit is
    // a Reflection; the own Hello fails the peer's commitment; the role-specific messages are of
    // the other role's kind; a reflected InitConfirm reaches an established initiator and is
    // ignored.
    let reference = common::pair(50).wire;
    let mut seen = Vec::new();
    for (index, (_, original)) in reference.iter().enumerate() {
        let kind = original[1];
        let r = network(50, |from, i, m| {
            let mut out = vec![(from.other(), m.clone())];
            if i == index {
                assert_eq!(&m, original, "the run diverged from the reference");
                out.insert(0, (from, m));
            }
            out
        });
        let (who, err) = r
            .errors
            .first()
            .cloned()
            .expect("the reflection was refused");
        let want = match kind {
            0x01 => vec![HandshakeError::Reflection],
            // The own Hello fails the peer's commitment, or (once the peer's Hello was processed)
            // is a second, different Hello.
            0x02 => vec![
                HandshakeError::CommitmentMismatch,
                HandshakeError::UnexpectedMessage(EnvelopeType::Hello),
            ],
            0x06 => vec![HandshakeError::Duplicate(EnvelopeType::InitConfirm)],
            k => vec![HandshakeError::UnexpectedMessage(
                EnvelopeType::from_byte(k).unwrap(),
            )],
        };
        assert!(
            want.contains(&err),
            "message {index} (type {kind:#04x}): {err:?}"
        );
        assert_eq!(who, reference[index].0, "refused by its own sender");
        if kind == 0x06 {
            // Ignored: the initiator's session is intact and the responder completes.
            assert!(r.both_established());
        } else {
            assert!(!r.both_established(), "message {index}");
        }
        seen.push(kind);
    }
    seen.sort_unstable();
    assert_eq!(seen, [1, 1, 2, 2, 3, 4, 5, 6]);
}

#[test]
fn a_side_talking_to_itself_fails() {
    // Every message of Alice reflected to Alice: her own Commit comes back.
    let mut r = rng(51);
    let mut a = Handshake::new(alice(), &mut r, Instant::now());
    let commit = a.poll_transmit().unwrap();
    assert_eq!(
        a.handle_bytes(&commit, &mut r),
        Err(HandshakeError::Reflection)
    );
    assert!(a.failure().is_some() && a.poll_transmit().is_none());
    // Two handshakes of the same identity (the relay connects Alice to another device of
    // Alice's): the identity check catches it.
    let (mut r1, mut r2) = (rng(52), rng(53));
    let mut wire = Vec::new();
    let (x, y) = common::handshake_with(alice(), alice(), &mut r1, &mut r2, &mut wire);
    assert!(!x.is_established() && !y.is_established());
    assert!(
        [x.failure(), y.failure()].contains(&Some(&HandshakeError::Reflection)),
        "{:?} {:?}",
        x.failure(),
        y.failure()
    );
}

/// A credential that claims `claims` but only holds `holds`'s private key: what an attacker who
/// stole one private key can run through the real handshake code.
#[derive(Clone)]
struct Impostor {
    claims: PublicIdentity,
    holds: IdentityKeyPair,
}

impl Credential for Impostor {
    fn public(&self) -> &PublicIdentity {
        &self.claims
    }
    fn decapsulate(
        &self,
        kem: &[u8],
        label: &[u8],
        rng: &mut impl CryptoRngCore,
    ) -> Result<Zeroizing<[u8; KEM_SECRET_LEN]>, HandshakeError> {
        self.holds.decapsulate(kem, label, rng)
    }
}

/// Alice against an impostor claiming Bob; returns (Alice, impostor) after running to quiescence.
fn against_impostor(seed: u64, holds: &IdentityKeyPair) -> (Handshake, Handshake<Impostor>) {
    let (mut ra, mut rm) = (rng(seed), rng(seed + 1));
    let now = Instant::now();
    let mut a = Handshake::new(alice(), &mut ra, now);
    let mut m = Handshake::with_credential(
        Impostor {
            claims: bob().public().clone(),
            holds: holds.clone(),
        },
        &mut rm,
        now,
    );
    for _ in 0..10 {
        let mut moved = false;
        while let Some(x) = a.poll_transmit() {
            let _ = m.handle_bytes(&x, &mut rm);
            moved = true;
        }
        while let Some(x) = m.poll_transmit() {
            let _ = a.handle_bytes(&x, &mut ra);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    (a, m)
}

#[test]
fn key_compromise_impersonation_fails_in_both_roles() {
    // The attacker stole Alice's private key and tries to pass as Bob *to Alice*. It can
    // encapsulate to anyone and seal anything, but never decapsulate what is sent to Bob.
    let mut roles = std::collections::BTreeSet::new();
    for seed in (60..90).step_by(2) {
        let (a, m) = against_impostor(seed, alice());
        assert!(
            !a.is_established(),
            "seed {seed}: Alice accepted an impostor"
        );
        assert_eq!(
            m.failure(),
            Some(&HandshakeError::Authentication),
            "seed {seed}"
        );
        roles.insert(format!("{:?}", a.role()));
        // Control: with Bob's key the same code completes, and Alice sees Bob.
        let (a, m) = against_impostor(seed, bob());
        assert!(a.is_established() && m.is_established());
        assert_eq!(a.into_session().unwrap().peer_identity(), bob().public());
        if roles.len() == 2 {
            break;
        }
    }
    assert_eq!(roles.len(), 2, "both roles tried: {roles:?}");
}

#[test]
fn safety_numbers_do_not_depend_on_order_and_name_both_keys() {
    let ab = SafetyNumber::new(alice().public(), bob().public());
    assert_eq!(ab, SafetyNumber::new(bob().public(), alice().public()));
    assert_ne!(ab, SafetyNumber::new(alice().public(), mallory().public()));
    assert_eq!(ab.digits().len(), 60);
    assert!(ab.digits().bytes().all(|c| c.is_ascii_digit()));
    // The spec's computation (§8.1) gives the same digits; the QR text is §8.4's.
    let digits = spec::safety_number(alice().public().as_bytes(), bob().public().as_bytes());
    assert_eq!(ab.digits(), digits);
    assert_eq!(ab.qr_text(), spec::qr_text(&digits));
    assert!(ab.matches_qr_text(&ab.qr_text()));
    let am = SafetyNumber::new(alice().public(), mallory().public());
    assert!(!ab.matches_qr_text(&am.qr_text()));
}

/// A relay that runs a separate DH exchange with each victim, re-implemented from PROTOCOL.md §5
/// with the public primitives (`common::spec`): it holds both DH secrets, so it can open and
/// re-seal everything sealed under the hiding keys. It makes Alice the initiator (its nonce toward
/// her is all 0xff) and Bob the responder (all 0x00 toward him), so it sees Bob's identity first.
mod dh_mitm {
    use super::*;

    /// What the relay does with the identities.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Plan {
        /// Shows Bob's identity to Alice and forwards Alice's encapsulation into Bob's exchange.
        ForwardEncapsulation,
        /// Shows Bob's identity to Alice; to Bob, claims Alice's identity with its own `k_I`.
        ReEncapsulate,
        /// Shows its own identity (Mallory's) to both.
        OwnIdentity,
        /// Unknown key share: shows Mallory to Alice, claims Alice to Bob, and forwards Bob's
        /// encapsulation (made for Alice) into Alice's exchange.
        ForwardToAlice,
    }

    pub struct Outcome {
        /// Each victim's session, if it completed.
        pub a: Option<Session>,
        pub b: Option<Session>,
        pub errors: Vec<(From, HandshakeError)>,
        pub view_a: Agreed,
        pub view_b: Agreed,
        /// The first Data message of Alice, and what the relay read of it.
        pub relay_read: Option<Vec<u8>>,
    }

    fn feed(
        hs: &mut Handshake,
        m: &[u8],
        r: &mut impl CryptoRngCore,
        who: From,
        errors: &mut Vec<(From, HandshakeError)>,
    ) -> Vec<Vec<u8>> {
        if let Err(e) = hs.handle_bytes(m, r) {
            errors.push((who, e));
        }
        std::iter::from_fn(|| hs.poll_transmit()).collect()
    }

    pub fn run(plan: Plan, seed: u64) -> Outcome {
        let now = Instant::now();
        let (mut ra, mut rb, mut rm) = (rng(seed), rng(seed + 1), rng(seed + 2));
        let mut a = Handshake::new(alice(), &mut ra, now);
        let mut b = Handshake::new(bob(), &mut rb, now);
        let mut errors = Vec::new();
        let commit_a = a.poll_transmit().unwrap();
        let commit_b = b.poll_transmit().unwrap();
        // The relay's two sides, fixed before it sees either victim's Hello (the commitments).
        let (x_ma, x_mb) = (
            DhPrivateKey::generate(&mut rm),
            DhPrivateKey::generate(&mut rm),
        );
        let hello_ma = spec::hello(&[0xff; 32], x_ma.public_key().as_bytes());
        let hello_mb = spec::hello(&[0x00; 32], x_mb.public_key().as_bytes());
        let hello_a = feed(
            &mut a,
            &spec::commit(&hello_ma),
            &mut ra,
            From::A,
            &mut errors,
        )
        .remove(0);
        let hello_b = feed(
            &mut b,
            &spec::commit(&hello_mb),
            &mut rb,
            From::B,
            &mut errors,
        )
        .remove(0);
        assert!(
            feed(&mut a, &hello_ma, &mut ra, From::A, &mut errors).is_empty(),
            "Alice is the initiator"
        );
        let resp_identity_b = feed(&mut b, &hello_mb, &mut rb, From::B, &mut errors).remove(0);
        let view_a = Agreed::new(
            &commit_a,
            &spec::commit(&hello_ma),
            &hello_a,
            &hello_ma,
            &spec::dh(&x_ma, spec::hello_fields(&hello_a).1),
        );
        let view_b = Agreed::new(
            &spec::commit(&hello_mb),
            &commit_b,
            &hello_mb,
            &hello_b,
            &spec::dh(&x_mb, spec::hello_fields(&hello_b).1),
        );
        // Bob, the responder, showed his identity to whoever completed the DH (§5.1's table).
        let ik_b = view_b
            .open_resp_identity(&resp_identity_b)
            .expect("the relay opens RespIdentity");
        assert_eq!(ik_b, bob().public().as_bytes());
        let ik_a = alice().public().as_bytes().to_vec();
        let ik_m = mallory().public().as_bytes().to_vec();

        let shown_to_a = if matches!(plan, Plan::OwnIdentity | Plan::ForwardToAlice) {
            &ik_m
        } else {
            &ik_b
        };
        let resp_identity_a = view_a.resp_identity(shown_to_a);
        let init_auth_a = feed(&mut a, &resp_identity_a, &mut ra, From::A, &mut errors).remove(0);
        let kem_i_a = view_a
            .open_init_kem(&init_auth_a)
            .expect("the relay opens kem_box");

        // ---- Bob's side: the relay is the initiator ----
        let mut k_i_b = [0u8; 32];
        rm.fill_bytes(&mut k_i_b);
        let init_auth_b = match plan {
            Plan::ForwardEncapsulation => spec::envelope(
                spec::INIT_AUTH,
                &[
                    &view_b.attempt(),
                    &view_b
                        .init_kem_keys()
                        .seal(spec::L_INIT_KEM, &view_b.attempt(), &kem_i_a),
                    &init_auth_a[306..610],
                ],
            ),
            Plan::ReEncapsulate | Plan::ForwardToAlice => {
                let kem = spec::encapsulate(&ik_b, &k_i_b, &view_b.kem_label(true), &mut rm);
                view_b.init_auth(&kem, &k_i_b, &ik_a)
            }
            Plan::OwnIdentity => {
                let kem = spec::encapsulate(&ik_b, &k_i_b, &view_b.kem_label(true), &mut rm);
                view_b.init_auth(&kem, &k_i_b, &ik_m)
            }
        };
        let resp_auth_b = feed(&mut b, &init_auth_b, &mut rb, From::B, &mut errors).pop();
        let mut kem_r_b = None;
        if let Some(resp_auth_b) = &resp_auth_b {
            let kem = view_b
                .open_resp_kem(resp_auth_b)
                .expect("the relay opens kem_box");
            let k_r = spec::decapsulate(mallory(), &kem, &view_b.kem_label(false));
            // Bob encapsulated to whoever the relay claimed: only Mallory's own key opens it.
            assert_eq!(k_r.is_some(), plan == Plan::OwnIdentity, "{plan:?}");
            let th = view_b.th(&resp_identity_b, &init_auth_b, resp_auth_b);
            let keys =
                SessionKeys::new(&th, &view_b.dh, &k_i_b, &k_r.clone().unwrap_or(vec![0; 32]));
            if plan == Plan::OwnIdentity {
                assert_eq!(
                    resp_auth_b[306..],
                    keys.confirm_r_mac(&th),
                    "Bob's confirmation"
                );
            }
            let confirm = spec::init_confirm(&view_b.attempt(), &keys.confirm_i_mac(&th));
            feed(&mut b, &confirm, &mut rb, From::B, &mut errors);
            kem_r_b = Some(kem);
        }

        // ---- Alice's side: the relay is the responder ----
        let k_i_a = spec::decapsulate(mallory(), &kem_i_a, &view_a.kem_label(true));
        assert_eq!(
            k_i_a.is_some(),
            shown_to_a == &ik_m,
            "Alice encapsulated to the identity shown"
        );
        if let Some(k_i) = &k_i_a {
            // Alice revealed her identity only because the relay showed its own (§5.1's table).
            assert_eq!(
                view_a.open_init_identity(&init_auth_a, k_i),
                Some(ik_a.clone())
            );
        }
        let mut k_r_a = [0u8; 32];
        rm.fill_bytes(&mut k_r_a);
        let kem_r_a = match (plan, &kem_r_b) {
            (Plan::ForwardToAlice, Some(kem)) => kem.clone(),
            _ => spec::encapsulate(&ik_a, &k_r_a, &view_a.kem_label(false), &mut rm),
        };
        let head = view_a.resp_auth_head(&kem_r_a);
        let th_a = view_a.th(&resp_identity_a, &init_auth_a, &head);
        let keys_a = SessionKeys::new(
            &th_a,
            &view_a.dh,
            &k_i_a.clone().unwrap_or(vec![0; 32]),
            &k_r_a,
        );
        let resp_auth_a = [head, keys_a.confirm_r_mac(&th_a).to_vec()].concat();
        let confirm_a = feed(&mut a, &resp_auth_a, &mut ra, From::A, &mut errors);
        let mut relay_read = None;
        let a = a.into_session().ok();
        if let Some(mut s) = a.clone() {
            assert_eq!(
                confirm_a,
                [spec::init_confirm(
                    &view_a.attempt(),
                    &keys_a.confirm_i_mac(&th_a)
                )]
            );
            // The relay reads Alice's first message: the initiator's first chain (§6.2) with
            // DH(DHs_A, eph_M) = DH(x_ma, DHs_A).
            let env = s
                .encrypt(&common::text(1, 1, "for Bob's eyes only"), 0, &mut ra)
                .unwrap()
                .envelope;
            let header = spec::open_header(&keys_a.hk_i0(), &th_a, &env).unwrap();
            let (_, cks, _) = spec::kdf_rk(&keys_a.rk0(), &spec::dh(&x_ma, &header[..256]));
            let body = spec::open_body(&spec::kdf_ck(&cks).0, &th_a, &env).unwrap();
            relay_read = Some(spec::parse_body(&body).3);
        }
        let b = b.into_session().ok();
        Outcome {
            a,
            b,
            errors,
            view_a,
            view_b,
            relay_read,
        }
    }
}

#[test]
fn a_dh_man_in_the_middle_that_forwards_the_encapsulation_fails_the_oaep_label() {
    let o = dh_mitm::run(dh_mitm::Plan::ForwardEncapsulation, 70);
    assert!(
        o.errors
            .contains(&(From::B, HandshakeError::Authentication)),
        "{:?}",
        o.errors
    );
    assert!(o.a.is_none() && o.b.is_none());
}

#[test]
fn a_dh_man_in_the_middle_that_re_encapsulates_fails_key_confirmation_on_both_sides() {
    // Bob accepts the relay's InitAuth claiming Alice (anyone can encapsulate to Bob and seal
    // Alice's public key), but his RespAuth encapsulates k_R to Alice's key, which the relay cannot
    // open; Alice's k_I went to Bob's key. Both confirmations fail.
    let o = dh_mitm::run(dh_mitm::Plan::ReEncapsulate, 71);
    assert!(
        o.errors
            .contains(&(From::A, HandshakeError::Authentication)),
        "{:?}",
        o.errors
    );
    assert!(
        o.errors
            .contains(&(From::B, HandshakeError::Authentication)),
        "{:?}",
        o.errors
    );
    assert!(o.a.is_none() && o.b.is_none());
}

#[test]
fn a_dh_man_in_the_middle_with_its_own_identity_completes_but_sas_and_safety_numbers_differ() {
    let o = dh_mitm::run(dh_mitm::Plan::OwnIdentity, 72);
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    let (a, b) = (o.a.expect("Alice completes"), o.b.expect("Bob completes"));
    // The attack is real: the relay reads what Alice sends.
    assert_eq!(
        o.relay_read,
        Some(spec::text_content(1, 1, 0, "for Bob's eyes only"))
    );
    // Each victim's app names the relay's identity, not the other victim.
    assert_eq!(a.peer_identity(), mallory().public());
    assert_eq!(b.peer_identity(), mallory().public());
    // Each victim's SAS is its own exchange's, which the relay fixed before seeing the victim's
    // Hello: the two differ (and the relay computes each from the spec, as the victim does).
    assert_eq!(a.sas().words().to_vec(), o.view_a.sas_words());
    assert_eq!(b.sas().words().to_vec(), o.view_b.sas_words());
    assert_ne!(a.sas(), b.sas());
    assert_ne!(a.sas().words(), b.sas().words());
    assert_ne!(a.key_visual(), b.key_visual());
    // The safety numbers differ in every form.
    assert_ne!(a.safety_number(), b.safety_number());
    assert!(
        !a.safety_number()
            .matches_qr_text(&b.safety_number().qr_text())
    );
    assert_ne!(
        a.safety_number(),
        SafetyNumber::new(alice().public(), bob().public())
    );
    // Without the relay both sides show the same values.
    let p = common::pair(73);
    assert_eq!(p.a.sas(), p.b.sas());
    assert_eq!(p.a.key_visual(), p.b.key_visual());
    assert!(
        p.a.safety_number()
            .matches_qr_text(&p.b.safety_number().qr_text())
    );
}

#[test]
fn an_unknown_key_share_is_refused_by_the_attempt_bound_oaep_label() {
    // Alice knowingly talks to Mallory; the relay tells Bob it is Alice and hands Bob's
    // encapsulation (made for Alice's key) to Alice inside her exchange with Mallory, hoping both
    // end with the same k_R while disagreeing on who the peer is. The OAEP label binds k_R to
    // Bob's attempt, so Alice refuses it.
    let o = dh_mitm::run(dh_mitm::Plan::ForwardToAlice, 74);
    assert!(
        o.errors
            .contains(&(From::A, HandshakeError::Authentication)),
        "{:?}",
        o.errors
    );
    assert!(
        o.a.is_none() && o.b.is_none(),
        "neither side ends with a session"
    );
}
