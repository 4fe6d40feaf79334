//! Identity hiding against the relay (issue 10 item 2; PROTOCOL.md §5.1 "what is hidden from whom",
//! §5.10 aborts). A test plays the probing relay against the real sans-IO `Client`: it makes the
//! victim the responder (it picks the smallest nonce), opens the identity the victim reveals, then
//! cuts the exchange with PeerLeft / Waiting / PeerJoined and starts over. Every such abort must be an
//! event with `identity_revealed` right, and after 3 in 10 minutes the client must stop starting key
//! exchanges until the user asks. As initiator, the victim's identity must open only for the holder
//! of the identity key the relay showed; a passive relay must find neither identity in the bytes.

mod attack_support;
mod common;

use std::time::{Duration, Instant};

use attack_support::{FakePeer, Node, contains, payload_kinds, payloads, room};
use rand_core::RngCore;
use sans_io_proto::crypto::rsa::RsaPrivateKey;
use sans_io_proto::frame::{ClientFrame, RelayFrame as Frame};
use sans_io_proto::handshake::HandshakeError;
use sans_io_proto::{Event, Handshake, IdentityKeyPair};

const COMMIT: u8 = 0x01;
const HELLO: u8 = 0x02;
const RESP_IDENTITY: u8 = 0x03;
const INIT_AUTH: u8 = 0x04;

/// A victim client seated alone in the room (Joined, Waiting).
fn seated_victim(identity: &IdentityKeyPair, seed: u64, now: Instant) -> Node {
    let mut v = Node::new(identity, Some("victim"), seed, now);
    v.feed(
        &Frame::Joined {
            room: room(),
            seat: 0,
        },
        now,
    );
    v.feed(&Frame::Waiting, now);
    v
}

/// The single payload in `frames`, checking its envelope type.
fn one_payload(frames: &[ClientFrame], kind: u8) -> Vec<u8> {
    let p = payloads(frames);
    assert_eq!(
        payload_kinds(frames),
        vec![kind],
        "expected one envelope of type {kind:#04x}"
    );
    p.into_iter().next().unwrap()
}

fn aborts(events: &[Event]) -> Vec<(bool, usize)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::KeyExchangeAborted {
                identity_revealed,
                recent,
            } => Some((*identity_revealed, *recent)),
            _ => None,
        })
        .collect()
}

fn suspended_events(events: &[Event]) -> Vec<usize> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::KeyExchangesSuspended { recent } => Some(*recent),
            _ => None,
        })
        .collect()
}

/// One probe: PeerJoined, the relay's Commit and Hello with nonce 0 (the victim becomes the
/// responder), the victim's RespIdentity opened with what the relay derived from `dh`. Returns the
/// identity bytes the relay read.
fn probe_responder(v: &mut Node, rng: &mut rand_chacha::ChaCha20Rng, now: Instant) -> Vec<u8> {
    let commit = one_payload(&v.feed(&Frame::PeerJoined, now), COMMIT);
    let fake = FakePeer::new([0u8; 32], rng);
    let hello = one_payload(&v.feed(&Frame::Payload(fake.commit.clone()), now), HELLO);
    let agreed = fake.agree(&commit, &hello);
    assert!(
        !agreed.victim_is_initiator,
        "nonce 0 makes the victim the responder"
    );
    let resp_identity = one_payload(
        &v.feed(&Frame::Payload(fake.hello.clone()), now),
        RESP_IDENTITY,
    );
    agreed
        .open_resp_identity(&resp_identity)
        .expect("the relay opens the responder's identity with keys from dh")
}

#[test]
fn probing_relay_is_seen_on_every_abort_and_stopped_after_three() {
    let t0 = Instant::now();
    let alice = common::alice();
    let mut rng = common::rng(1);
    let mut v = seated_victim(alice, 11, t0);
    let mut now = t0;

    for probe in 1..=3usize {
        now += Duration::from_secs(60);
        let learned = probe_responder(&mut v, &mut rng, now);
        // The attack works: this is what the relay learns, at the cost of a visible abort.
        assert_eq!(learned, alice.public().as_bytes().to_vec());
        let mark = v.events.len();
        let mut answers = v.feed(&Frame::PeerLeft, now);
        answers.extend(v.feed(&Frame::Waiting, now));
        assert!(
            payloads(&answers).is_empty(),
            "nothing is sent when the peer leaves"
        );
        assert_eq!(
            aborts(v.events_since(mark)),
            vec![(true, probe)],
            "probe {probe}: one abort, identity revealed, counted"
        );
    }

    // The fourth PeerJoined within 10 minutes: no key exchange, the user is told.
    now += Duration::from_secs(60);
    let mark = v.events.len();
    let answers = v.feed(&Frame::PeerJoined, now);
    assert!(
        payloads(&answers).is_empty(),
        "no Commit once suspended: {answers:?}"
    );
    assert_eq!(suspended_events(v.events_since(mark)), vec![3]);
    assert!(v.client.is_suspended());
    // Room churn changes nothing while suspended.
    for f in [
        Frame::PeerLeft,
        Frame::Waiting,
        Frame::PeerJoined,
        Frame::PeerJoined,
    ] {
        now += Duration::from_secs(10);
        assert!(
            payloads(&v.feed(&f, now)).is_empty(),
            "{f:?} started an exchange"
        );
    }
    assert!(v.client.is_suspended());

    // The user asks again: the client leaves and rejoins, and the next PeerJoined starts over.
    let mark = v.sent.len();
    v.client.resume_key_exchanges(now);
    v.drain();
    assert!(
        matches!(
            &v.sent[mark..],
            [ClientFrame::Leave, ClientFrame::Join { .. }]
        ),
        "{:?}",
        &v.sent[mark..]
    );
    assert!(!v.client.is_suspended());
    let commit = v.feed(&Frame::PeerJoined, now);
    one_payload(&commit, COMMIT);
}

#[test]
fn abort_before_any_identity_is_sent_says_so() {
    let t0 = Instant::now();
    let mut rng = common::rng(2);
    // Victim as responder, cut after the Hellos were *sent* by the victim but before the relay's
    // Hello arrived: nothing revealed.
    let mut v = seated_victim(common::alice(), 12, t0);
    let commit = one_payload(&v.feed(&Frame::PeerJoined, t0), COMMIT);
    let fake = FakePeer::new([0u8; 32], &mut rng);
    let _hello = one_payload(&v.feed(&Frame::Payload(fake.commit.clone()), t0), HELLO);
    let mark = v.events.len();
    // A new PeerJoined in the middle is an abort too (§5.10), and starts a new exchange.
    let again = v.feed(&Frame::PeerJoined, t0);
    assert_eq!(aborts(v.events_since(mark)), vec![(false, 1)]);
    let commit2 = one_payload(&again, COMMIT);
    assert_ne!(commit, commit2, "a new exchange commits to a new Hello");

    // Victim as initiator (the relay takes the largest nonce): its identity leaves with InitAuth,
    // sealed to the identity the relay showed. Cut before that: not revealed; after: revealed.
    for (cut_after_init_auth, expected) in [(false, 2usize), (true, 3usize)] {
        let fake = FakePeer::new([0xffu8; 32], &mut rng);
        let commit = if expected == 2 {
            commit2.clone()
        } else {
            one_payload(&v.feed(&Frame::PeerJoined, t0), COMMIT)
        };
        let hello = one_payload(&v.feed(&Frame::Payload(fake.commit.clone()), t0), HELLO);
        let agreed = fake.agree(&commit, &hello);
        assert!(agreed.victim_is_initiator);
        let sent = v.feed(&Frame::Payload(fake.hello.clone()), t0);
        assert!(
            payloads(&sent).is_empty(),
            "the initiator waits for RespIdentity"
        );
        if cut_after_init_auth {
            let shown = agreed.resp_identity_showing(common::mallory().public().as_bytes());
            one_payload(&v.feed(&Frame::Payload(shown), t0), INIT_AUTH);
        }
        let mark = v.events.len();
        v.feed(&Frame::PeerLeft, t0);
        assert_eq!(
            aborts(v.events_since(mark)),
            vec![(cut_after_init_auth, expected)]
        );
    }
}

/// PROTOCOL.md §5.10: after 3 aborts in 10 minutes the client "stops starting key exchanges on
/// PeerJoined ... and waits for the user to ask again". A relay that simply waits for the window to
/// pass must not get new probes without the user.
#[test]
fn suspension_lasts_until_the_user_resumes() {
    let t0 = Instant::now();
    let mut rng = common::rng(3);
    let mut v = seated_victim(common::alice(), 13, t0);
    let mut now = t0;
    for _ in 0..3 {
        now += Duration::from_secs(1);
        probe_responder(&mut v, &mut rng, now);
        v.feed(&Frame::PeerLeft, now);
    }
    assert!(payloads(&v.feed(&Frame::PeerJoined, now)).is_empty());
    assert!(v.client.is_suspended());
    // The relay waits out the abort window and tries again.
    let mut probes_without_the_user = 0;
    for _ in 0..6 {
        now += Duration::from_secs(11 * 60);
        let _ = v.tick(now);
        v.feed(&Frame::PeerLeft, now);
        let answers = v.feed(&Frame::PeerJoined, now);
        if !payloads(&answers).is_empty() {
            probes_without_the_user += 1;
            let fake = FakePeer::new([0u8; 32], &mut rng);
            let commit = one_payload(&answers, COMMIT);
            let hello = one_payload(&v.feed(&Frame::Payload(fake.commit.clone()), now), HELLO);
            let agreed = fake.agree(&commit, &hello);
            let ri = one_payload(
                &v.feed(&Frame::Payload(fake.hello.clone()), now),
                RESP_IDENTITY,
            );
            assert!(agreed.open_resp_identity(&ri).is_some());
        }
    }
    assert_eq!(
        probes_without_the_user, 0,
        "after the suspension the relay probed the victim's identity {probes_without_the_user} more \
         times without the user asking (PROTOCOL.md §5.10 says the client waits for the user)"
    );
}

/// As initiator, the victim's identity goes only to the holder of the identity key the relay showed
/// (§5.1, SIGMA-I). The relay does the DH with the victim and shows the real peer Bob's identity: it
/// can forward Bob's own RespIdentity (refused: another attempt) or re-seal Bob's public key under
/// its keys (accepted), but then cannot open the victim's identity, and Bob, asked to decapsulate
/// the victim's `k_I` inside the relay's own exchange with him, refuses (the OAEP label binds it to
/// the attempt). Only Bob's private key opens the box.
#[test]
fn initiator_identity_opens_only_for_the_key_the_relay_showed() {
    let now = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let mut rng = common::rng(4);
    let mut rng_v = common::rng(40);
    let mut rng_b = common::rng(41);

    // The relay's exchange with Bob (Bob is made the responder: he shows his identity).
    let mut b = Handshake::new(bob, &mut rng_b, now);
    let fake_b = FakePeer::new([0u8; 32], &mut rng);
    let b_commit = b.poll_transmit().unwrap();
    b.handle_bytes(&fake_b.commit, &mut rng_b).unwrap();
    let b_hello = b.poll_transmit().unwrap();
    b.handle_bytes(&fake_b.hello, &mut rng_b).unwrap();
    let b_resp_identity = b.poll_transmit().unwrap();
    let agreed_b = fake_b.agree(&b_commit, &b_hello);
    assert_eq!(
        agreed_b.open_resp_identity(&b_resp_identity).unwrap(),
        bob.public().as_bytes().to_vec()
    );

    // The relay's exchange with the victim (made the initiator).
    let mut v = Handshake::new(alice, &mut rng_v, now);
    let fake_v = FakePeer::new([0xffu8; 32], &mut rng);
    let v_commit = v.poll_transmit().unwrap();
    v.handle_bytes(&fake_v.commit, &mut rng_v).unwrap();
    let v_hello = v.poll_transmit().unwrap();
    v.handle_bytes(&fake_v.hello, &mut rng_v).unwrap();
    let agreed_v = fake_v.agree(&v_commit, &v_hello);
    assert!(agreed_v.victim_is_initiator);

    // Bob's RespIdentity forwarded as it is: from another attempt, ignored.
    let err = v.handle_bytes(&b_resp_identity, &mut rng_v).unwrap_err();
    assert!(matches!(err, HandshakeError::Stale(_)), "{err:?}");
    assert!(v.poll_transmit().is_none());
    // The same with the victim's attempt spliced in: the MAC (keyed from the other dh) fails.
    let mut spliced = b_resp_identity.clone();
    spliced[2..18].copy_from_slice(&agreed_v.attempt);
    let err = v.clone().handle_bytes(&spliced, &mut rng_v).unwrap_err();
    assert_eq!(err, HandshakeError::Authentication);

    // Bob's public key re-sealed by the relay: accepted; the victim's identity leaves with InitAuth.
    v.handle_bytes(
        &agreed_v.resp_identity_showing(bob.public().as_bytes()),
        &mut rng_v,
    )
    .unwrap();
    let init_auth = v.poll_transmit().unwrap();
    assert_eq!(init_auth[1], INIT_AUTH);
    assert!(v.identity_revealed());

    // The relay opens the kem box (keys from dh) but not the identity box, whatever k_I it tries.
    let kem_i = agreed_v
        .open_init_kem(&init_auth)
        .expect("kem box opens with dh keys");
    let mut guesses: Vec<[u8; 32]> = vec![[0u8; 32], [0xff; 32]];
    guesses.push(kem_i[..32].try_into().unwrap());
    guesses.push(agreed_v.hello_hash);
    for _ in 0..256 {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        guesses.push(k);
    }
    for k in &guesses {
        assert!(agreed_v.open_init_identity(&init_auth, k).is_none());
    }
    for piece in [
        &alice.public().as_bytes()[4..36],
        &alice.fingerprint().as_bytes()[..],
    ] {
        assert!(!contains(&init_auth, piece), "identity bytes in clear");
    }

    // Bob as a decryption oracle: the relay puts the victim's kem_I into its own exchange with Bob.
    let mut oracle = vec![0x02, 0x04];
    oracle.extend_from_slice(&agreed_b.attempt);
    oracle.extend_from_slice(&agreed_b.init_kem.seal(
        attack_support::INIT_KEM_LABEL,
        &agreed_b.attempt,
        &kem_i,
    ));
    let mut pt = common::mallory().public().as_bytes().to_vec();
    pt.resize(272, 0);
    let junk_id = attack_support::KeySet::derive(b"x", b"y", b"z");
    oracle.extend_from_slice(&junk_id.seal(
        attack_support::INIT_IDENTITY_LABEL,
        &agreed_b.attempt,
        &pt,
    ));
    let err = b.handle_bytes(&oracle, &mut rng_b).unwrap_err();
    assert_eq!(
        err,
        HandshakeError::Authentication,
        "Bob must not decapsulate a foreign attempt's k_I"
    );
    assert!(b.poll_transmit().is_none(), "Bob answers nothing");

    // Only Bob's private key opens it (the test holds it): the box is sealed to exactly that key.
    let bob_private = RsaPrivateKey::from_bytes(&bob.to_private_bytes()).unwrap();
    assert!(
        bob_private
            .oaep_decrypt(&mut rng, &kem_i, &agreed_b.kem_i_label())
            .is_err(),
        "the label binds k_I to the victim's attempt"
    );
    let k_i = bob_private
        .oaep_decrypt(&mut rng, &kem_i, &agreed_v.kem_i_label())
        .expect("Bob's key decapsulates k_I");
    let k_i: [u8; 32] = k_i.as_slice().try_into().unwrap();
    assert_eq!(
        agreed_v.open_init_identity(&init_auth, &k_i).unwrap(),
        alice.public().as_bytes().to_vec()
    );
}

/// A relay that shows its *own* identity learns the initiator's identity, and the victim then sees
/// that identity as its peer: a session with an identity it never approved, which sends nothing.
#[test]
fn relay_showing_its_own_key_is_the_victims_unapproved_peer() {
    let t0 = Instant::now();
    let mallory = common::mallory();
    let mut v = seated_victim(common::alice(), 14, t0);
    let mut m = Handshake::new(
        mallory,
        &mut attack_support::NonceFirst {
            nonce: Some([0xff; 32]),
            inner: common::rng(5),
        },
        t0,
    );
    let mut m_rng = common::rng(6);
    let mut to_v: Vec<Vec<u8>> = Vec::new();
    let mut first = v.feed(&Frame::PeerJoined, t0);
    while let Some(e) = m.poll_transmit() {
        to_v.push(e);
    }
    for _ in 0..10 {
        for p in payloads(&first) {
            let _ = m.handle_bytes(&p, &mut m_rng);
        }
        first.clear();
        while let Some(e) = m.poll_transmit() {
            to_v.push(e);
        }
        for e in to_v.drain(..) {
            first.extend(v.feed(&Frame::Payload(e), t0));
        }
        if m.is_established() && v.client.is_secure() {
            break;
        }
    }
    let session = m
        .into_session()
        .expect("the relay completes with its own identity");
    assert_eq!(
        session.peer_identity(),
        common::alice().public(),
        "the relay learned Alice"
    );
    let info = v
        .events
        .iter()
        .find_map(|e| match e {
            Event::Secure(info) => Some(info.clone()),
            _ => None,
        })
        .expect("the victim has a session");
    assert_eq!(
        info.peer.fingerprint(),
        mallory.fingerprint(),
        "the victim's app shows the relay's key"
    );
    assert!(!info.approved);
    assert_eq!(info.role, sans_io_proto::Role::Initiator);
    // Nothing the victim wrote, no name, goes to that identity.
    let mark = v.sent.len();
    let _ = v
        .client
        .send_text(&common::bob().fingerprint(), "for Bob only", 0, t0);
    let _ = v.drain();
    assert!(payloads(&v.sent[mark..]).is_empty());
}

/// A passive relay (or network) sees every byte of two sessions, a resumption and a second key
/// exchange, and finds neither identity key, modulus piece, fingerprint or safety-number digits.
#[test]
fn passive_relay_finds_no_identity_in_the_bytes() {
    let t0 = Instant::now();
    let (alice, bob) = (common::alice(), common::bob());
    let a = Node::new(alice, Some("Alice A."), 21, t0);
    let b = Node::new(bob, Some("Bob B."), 22, t0);
    let mut duo = attack_support::Duo::new(a, b, t0);
    duo.run();
    assert!(duo.a.client.is_secure() && duo.b.client.is_secure());
    duo.a.client.approve(&bob.fingerprint(), duo.now);
    duo.flush(0);
    duo.b.client.approve(&alice.fingerprint(), duo.now);
    duo.flush(1);
    for i in 0..3 {
        duo.a
            .client
            .send_text(&bob.fingerprint(), &format!("a{i}"), 0, duo.now)
            .unwrap();
        duo.flush(0);
        duo.b
            .client
            .send_text(&alice.fingerprint(), &format!("b{i}"), 0, duo.now)
            .unwrap();
        duo.flush(1);
    }
    // A reconnect (resumed) and a restart of Bob (a new key exchange).
    duo.disconnect(1);
    duo.reconnect(1);
    duo.b
        .client
        .send_text(&alice.fingerprint(), "after resume", 0, duo.now)
        .unwrap();
    duo.flush(1);
    let b_shown_before = duo.b.shown().len();
    let b2 = Node::restarted(&duo.b, bob, 23, duo.now);
    duo.replace(1, b2);
    duo.b.client.approve(&alice.fingerprint(), duo.now);
    duo.flush(1);
    duo.a
        .client
        .send_text(&bob.fingerprint(), "after restart", 0, duo.now)
        .unwrap();
    duo.flush(0);
    // The run really carried messages (so the search below saw real traffic).
    assert_eq!((b_shown_before, duo.b.shown().len()), (3, 1));
    assert!(duo.a.shown().len() >= 4, "{:?}", duo.a.shown());
    assert!(duo.data_sent_by(0) > 4 && duo.data_sent_by(1) > 4);
    let handshakes = duo.wire.iter().filter(|(_, p, _)| p[1] == HELLO).count();
    assert_eq!(handshakes, 4, "two key exchanges");

    let safety = sans_io_proto::SafetyNumber::new(alice.public(), bob.public());
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, id) in [("alice", alice), ("bob", bob)] {
        let pk = id.public().as_bytes();
        needles.push((format!("{name} public key"), pk.to_vec()));
        for off in (4..260 - 16).step_by(8) {
            needles.push((
                format!("{name} modulus[{off}..+16]"),
                pk[off..off + 16].to_vec(),
            ));
        }
        let fp = id.fingerprint();
        needles.push((format!("{name} fingerprint"), fp.as_bytes().to_vec()));
        needles.push((
            format!("{name} fingerprint[..12]"),
            fp.as_bytes()[..12].to_vec(),
        ));
        needles.push((format!("{name} fingerprint hex"), fp.to_hex().into_bytes()));
        needles.push((
            format!("{name} fingerprint HEX"),
            fp.to_hex().to_uppercase().into_bytes(),
        ));
    }
    needles.push((
        "safety half 1".into(),
        safety.digits().as_bytes()[..30].to_vec(),
    ));
    needles.push((
        "safety half 2".into(),
        safety.digits().as_bytes()[30..].to_vec(),
    ));
    needles.push(("display name".into(), b"Alice A.".to_vec()));
    needles.push(("message".into(), b"after restart".to_vec()));
    // The search finds what is in clear (the room name of the Join frames).
    assert!(duo.raw.iter().any(|b| contains(b, b"attack-room")));
    for bytes in &duo.raw {
        for (what, needle) in &needles {
            assert!(!contains(bytes, needle), "{what} is visible on the wire");
        }
    }
}
