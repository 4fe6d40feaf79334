//! The handshake state machine under a reordering, duplicating, replaying relay (PROTOCOL.md
//! §5.10): early messages are kept and the handshake completes in any arrival order; duplicates and
//! stale attempts are ignored; contradictions are fatal; Data is kept only after the peer's Commit;
//! the identity-revealed flag, the timeout, and a v1 peer.
//!
//! Each side's randomness is a seeded RNG and a side consumes it in protocol order whatever the
//! arrival order, so a side fed the peer's recorded messages in any order must send exactly the
//! messages it sent in the in-order run: the tests check the bytes, not only "established".

mod common;

use std::time::{Duration, Instant};

use common::{From, alice, bob, rng, text};
use rand_chacha::ChaCha20Rng;
use sans_io_proto::envelope::EnvelopeType;
use sans_io_proto::handshake::{HANDSHAKE_TIMEOUT, MAX_EARLY_DATA};
use sans_io_proto::{Handshake, HandshakeError, Role};

/// The 8 envelopes of an in-order run with seed `seed`, per sender, in sending order.
struct Recorded {
    seed: u64,
    a: Vec<Vec<u8>>,
    b: Vec<Vec<u8>>,
}

fn record(seed: u64) -> Recorded {
    let p = common::pair(seed);
    let of = |who| {
        p.wire
            .iter()
            .filter(|(f, _)| *f == who)
            .map(|(_, m)| m.clone())
            .collect::<Vec<_>>()
    };
    let (a, b) = (of(From::A), of(From::B));
    assert_eq!((a.len(), b.len()), (4, 4));
    Recorded { seed, a, b }
}

impl Recorded {
    /// A fresh handshake of `side` with its seeded RNG, as in the recorded run.
    fn fresh(&self, side: From, now: Instant) -> (Handshake, ChaCha20Rng) {
        let (id, mut r) = match side {
            From::A => (alice(), rng(self.seed)),
            From::B => (bob(), rng(self.seed ^ 0x5eed_5eed)),
        };
        (Handshake::new(id, &mut r, now), r)
    }
    fn own(&self, side: From) -> &[Vec<u8>] {
        if side == From::A { &self.a } else { &self.b }
    }
    fn peer(&self, side: From) -> &[Vec<u8>] {
        if side == From::A { &self.b } else { &self.a }
    }
    /// The peer's message of `kind`.
    fn peer_msg(&self, side: From, kind: EnvelopeType) -> Vec<u8> {
        self.peer(side)
            .iter()
            .find(|m| m[1] == kind.to_byte())
            .unwrap()
            .clone()
    }
    fn own_msg(&self, side: From, kind: EnvelopeType) -> Vec<u8> {
        self.own(side)
            .iter()
            .find(|m| m[1] == kind.to_byte())
            .unwrap()
            .clone()
    }
    /// The message of `kind`, whoever sent it.
    fn any(&self, kind: EnvelopeType) -> Vec<u8> {
        self.a
            .iter()
            .chain(&self.b)
            .find(|m| m[1] == kind.to_byte())
            .unwrap()
            .clone()
    }
    /// Which recorded side was the initiator.
    fn initiator(&self) -> From {
        if self
            .a
            .iter()
            .any(|m| m[1] == EnvelopeType::InitAuth.to_byte())
        {
            From::A
        } else {
            From::B
        }
    }
}

fn drain(hs: &mut Handshake) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| hs.poll_transmit()).collect()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn every_arrival_order_completes_with_the_same_bytes() {
    let rec = record(100);
    let now = Instant::now();
    for side in [From::A, From::B] {
        for order in permutations(4) {
            let (mut hs, mut r) = rec.fresh(side, now);
            let mut sent = drain(&mut hs);
            for &i in &order {
                let m = &rec.peer(side)[i];
                assert_eq!(
                    hs.handle_bytes(m, &mut r),
                    Ok(()),
                    "{side:?}, order {order:?}: message {i} refused"
                );
                sent.extend(drain(&mut hs));
            }
            assert!(hs.is_established(), "{side:?}, order {order:?}");
            assert_eq!(
                sent,
                rec.own(side),
                "{side:?}, order {order:?}: different bytes sent"
            );
            let s = hs.into_session().unwrap();
            let peer = if side == From::A { bob() } else { alice() };
            assert_eq!(s.peer_identity(), peer.public());
        }
    }
}

#[test]
fn duplicates_anywhere_are_ignored() {
    let rec = record(101);
    let now = Instant::now();
    let mut order_rng = rng(1010);
    for side in [From::A, From::B] {
        for round in 0..20 {
            // Every peer message twice, shuffled (Fisher-Yates on a seeded RNG).
            let mut msgs: Vec<Vec<u8>> = rec
                .peer(side)
                .iter()
                .chain(rec.peer(side))
                .cloned()
                .collect();
            for i in (1..msgs.len()).rev() {
                let j = (rand_core::RngCore::next_u32(&mut order_rng) as usize) % (i + 1);
                msgs.swap(i, j);
            }
            let (mut hs, mut r) = rec.fresh(side, now);
            let mut sent = drain(&mut hs);
            let mut seen = std::collections::HashSet::new();
            for m in &msgs {
                let result = hs.handle_bytes(m, &mut r);
                if seen.insert(m.clone()) {
                    assert_eq!(result, Ok(()), "{side:?} round {round}: first copy");
                } else {
                    let kind = EnvelopeType::from_byte(m[1]).unwrap();
                    assert_eq!(
                        result,
                        Err(HandshakeError::Duplicate(kind)),
                        "{side:?} round {round}: second copy"
                    );
                }
                sent.extend(drain(&mut hs));
            }
            assert!(hs.is_established());
            assert_eq!(sent, rec.own(side));
        }
    }
}

/// Drives `side` in order through the peer's messages up to (not including) `kind`.
fn up_to(rec: &Recorded, side: From, kind: EnvelopeType) -> (Handshake, ChaCha20Rng) {
    let (mut hs, mut r) = rec.fresh(side, Instant::now());
    drain(&mut hs);
    for m in rec.peer(side).iter().take_while(|m| m[1] != kind.to_byte()) {
        hs.handle_bytes(m, &mut r).unwrap();
        drain(&mut hs);
    }
    (hs, r)
}

#[test]
fn a_second_different_commit_or_hello_is_fatal() {
    let rec = record(102);
    let other = record(103);
    let mut checked = 0;
    for side in [From::A, From::B] {
        // A different Commit at every later stage.
        for until in [
            EnvelopeType::Hello,
            EnvelopeType::RespIdentity,
            EnvelopeType::InitAuth,
        ] {
            let (mut hs, mut r) = up_to(&rec, side, until);
            // Before the peer's Commit a Commit is the first one; once established, late
            // handshake messages belong to the session layer (PROTOCOL.md §7.8).
            if hs.stage_name() == "AwaitCommit" || hs.is_established() {
                continue;
            }
            checked += 1;
            let commit = other.peer_msg(side, EnvelopeType::Commit);
            assert_eq!(
                hs.handle_bytes(&commit, &mut r),
                Err(HandshakeError::UnexpectedMessage(EnvelopeType::Commit)),
                "{side:?} before {until:?}"
            );
            assert!(hs.failure().is_some());
            assert_eq!(hs.poll_transmit(), None);
        }
        // A different Hello after the Hello was processed.
        let (mut hs, mut r) = up_to(&rec, side, EnvelopeType::RespIdentity);
        let (mut hs2, mut r2) = up_to(&rec, side, EnvelopeType::InitAuth);
        for (hs, r) in [(&mut hs, &mut r), (&mut hs2, &mut r2)] {
            if hs.is_established() {
                continue;
            }
            checked += 1;
            assert!(hs.role().is_some());
            let hello = other.peer_msg(side, EnvelopeType::Hello);
            assert_eq!(
                hs.handle_bytes(&hello, r),
                Err(HandshakeError::UnexpectedMessage(EnvelopeType::Hello))
            );
            assert!(hs.failure().is_some());
        }
    }
    assert!(checked >= 6, "{checked}");
}

#[test]
fn a_second_different_hello_before_the_commit_is_fatal() {
    // Both Hellos arrive before the peer's Commit (PROTOCOL.md §5.10: "A second, different Commit
    // or Hello is UnexpectedMessage (fatal)").
    let rec = record(104);
    let other = record(105);
    let (mut hs, mut r) = rec.fresh(From::A, Instant::now());
    drain(&mut hs);
    hs.handle_bytes(&rec.peer_msg(From::A, EnvelopeType::Hello), &mut r)
        .unwrap();
    assert_eq!(
        hs.handle_bytes(&other.peer_msg(From::A, EnvelopeType::Hello), &mut r),
        Err(HandshakeError::UnexpectedMessage(EnvelopeType::Hello))
    );
}

#[test]
fn a_hello_that_does_not_match_its_commit_is_a_commitment_mismatch() {
    let rec = record(106);
    let other = record(107);
    for side in [From::A, From::B] {
        // In order, and with the Hello arriving early (kept, checked when the Commit arrives).
        for early in [false, true] {
            let (mut hs, mut r) = rec.fresh(side, Instant::now());
            drain(&mut hs);
            let commit = rec.peer_msg(side, EnvelopeType::Commit);
            let foreign_hello = other.peer_msg(side, EnvelopeType::Hello);
            let result = if early {
                assert_eq!(hs.handle_bytes(&foreign_hello, &mut r), Ok(()));
                hs.handle_bytes(&commit, &mut r)
            } else {
                assert_eq!(hs.handle_bytes(&commit, &mut r), Ok(()));
                hs.handle_bytes(&foreign_hello, &mut r)
            };
            assert_eq!(
                result,
                Err(HandshakeError::CommitmentMismatch),
                "{side:?} early {early}"
            );
            assert!(hs.failure().is_some());
            assert!(!hs.identity_revealed());
        }
        // The genuine Hello with one bit changed.
        let (mut hs, mut r) = up_to(&rec, side, EnvelopeType::Hello);
        let mut hello = rec.peer_msg(side, EnvelopeType::Hello);
        hello[100] ^= 0x10;
        assert_eq!(
            hs.handle_bytes(&hello, &mut r),
            Err(HandshakeError::CommitmentMismatch)
        );
    }
}

#[test]
fn a_message_of_the_other_roles_kind_is_unexpected() {
    let rec = record(108);
    let init = rec.initiator();
    let resp = if init == From::A { From::B } else { From::A };
    let mut checked = std::collections::BTreeSet::new();
    // The responder receives the two kinds only a responder sends; the initiator likewise.
    for (side, kinds) in [
        (resp, [EnvelopeType::RespIdentity, EnvelopeType::RespAuth]),
        (init, [EnvelopeType::InitAuth, EnvelopeType::InitConfirm]),
    ] {
        for kind in kinds {
            // At each stage after the roles are known (the responder awaits InitAuth, then
            // InitConfirm; the initiator RespIdentity, then RespAuth).
            for stage_before in [
                EnvelopeType::RespIdentity,
                EnvelopeType::InitAuth,
                EnvelopeType::RespAuth,
                EnvelopeType::InitConfirm,
            ] {
                let (mut hs, mut r) = up_to(&rec, side, stage_before);
                if hs.role().is_none() || hs.is_established() {
                    continue;
                }
                checked.insert((format!("{side:?}"), hs.stage_name(), kind));
                // Its own message of that kind from the recorded run, reflected: the attempt is
                // right, only the direction is wrong.
                let m = rec.own_msg(side, kind);
                assert_eq!(
                    hs.handle_bytes(&m, &mut r),
                    Err(HandshakeError::UnexpectedMessage(kind)),
                    "{side:?} at {} got {kind:?}",
                    hs.stage_name()
                );
                assert!(hs.failure().is_some());
            }
        }
    }
    // 2 sides x 2 stages x 2 kinds.
    assert_eq!(checked.len(), 8, "{checked:?}");
}

#[test]
fn messages_of_another_attempt_are_ignored_as_stale() {
    let rec = record(109);
    let other = record(110);
    let mut checked = 0;
    for side in [From::A, From::B] {
        for kind in [
            EnvelopeType::RespIdentity,
            EnvelopeType::InitAuth,
            EnvelopeType::RespAuth,
            EnvelopeType::InitConfirm,
        ] {
            let Some(genuine) = rec
                .peer(side)
                .iter()
                .find(|m| m[1] == kind.to_byte())
                .cloned()
            else {
                continue; // this side never receives that kind
            };
            let stale = other.any(kind);
            checked += 1;
            // The stale copy arrives exactly when that kind is awaited, then the genuine one.
            let (mut hs, mut r) = up_to(&rec, side, kind);
            assert_eq!(
                hs.handle_bytes(&stale, &mut r),
                Err(HandshakeError::Stale(kind))
            );
            assert!(hs.failure().is_none(), "a stale message is not fatal");
            let mut sent = Vec::new();
            for m in rec.peer(side).iter().skip_while(|m| **m != genuine) {
                hs.handle_bytes(m, &mut r).unwrap();
                sent.extend(drain(&mut hs));
            }
            assert!(hs.is_established(), "{side:?} {kind:?}");
        }
    }
    assert_eq!(checked, 4, "each side, each kind it receives");
}

#[test]
fn a_stale_message_kept_early_does_not_block_the_genuine_one() {
    // A relay delays a message of an earlier attempt so that it arrives before the Hellos of this
    // one, then reorders this attempt's messages too: both are early. The stale one cannot be told
    // apart before the Hellos; the genuine one must still complete the handshake (PROTOCOL.md
    // §5.10: early messages are kept and processed when due; foreign attempts are ignored).
    let rec = record(111);
    let other = record(112);
    let mut checked = 0;
    for side in [From::A, From::B] {
        for kind in [EnvelopeType::RespIdentity, EnvelopeType::InitAuth] {
            if !rec.peer(side).iter().any(|m| m[1] == kind.to_byte()) {
                continue;
            }
            let stale = other.any(kind);
            checked += 1;
            let (mut hs, mut r) = rec.fresh(side, Instant::now());
            drain(&mut hs);
            let _ = hs.handle_bytes(&stale, &mut r);
            // This attempt's messages, all early: the later ones first.
            for m in rec.peer(side).iter().rev() {
                let _ = hs.handle_bytes(m, &mut r);
                drain(&mut hs);
            }
            assert!(
                hs.is_established(),
                "{side:?}: a stale {kind:?} kept early blocked the genuine one (stage {})",
                hs.stage_name()
            );
        }
    }
    assert_eq!(checked, 2);
}

/// Runs the recorded exchange in order but holds back the responder's last input (InitConfirm):
/// returns the established initiator session and the waiting responder.
fn initiator_established(
    rec: &Recorded,
) -> (
    sans_io_proto::Session,
    ChaCha20Rng,
    Handshake,
    ChaCha20Rng,
    Vec<u8>,
) {
    let init = rec.initiator();
    let resp = if init == From::A { From::B } else { From::A };
    let (mut i, mut ri) = rec.fresh(init, Instant::now());
    for m in rec.peer(init) {
        i.handle_bytes(m, &mut ri).unwrap();
    }
    let (r, rr) = up_to(rec, resp, EnvelopeType::InitConfirm);
    assert_eq!(r.stage_name(), "AwaitInitConfirm");
    let confirm = rec.peer_msg(resp, EnvelopeType::InitConfirm);
    (i.into_session().unwrap(), ri, r, rr, confirm)
}

#[test]
fn early_data_is_kept_up_to_the_limit_and_decrypted_once_established() {
    let rec = record(113);
    let (mut init, mut ri, mut resp, mut rr, confirm) = initiator_established(&rec);
    let sent: Vec<Vec<u8>> = (1..=MAX_EARLY_DATA as u64 + 1)
        .map(|n| {
            init.encrypt(&text(9, n, &format!("early {n}")), 0, &mut ri)
                .unwrap()
                .envelope
        })
        .collect();
    for (i, e) in sent.iter().enumerate() {
        let result = resp.handle_bytes(e, &mut rr);
        if i < MAX_EARLY_DATA {
            assert_eq!(result, Ok(()), "early data {i} kept");
        } else {
            assert_eq!(result, Err(HandshakeError::EarlyDataOverflow));
        }
    }
    assert!(resp.failure().is_none(), "an overflow is not fatal");
    resp.handle_bytes(&confirm, &mut rr).unwrap();
    assert!(resp.is_established());
    let early = resp.take_early_data();
    assert_eq!(
        early,
        sent[..MAX_EARLY_DATA],
        "kept in arrival order, the 17th dropped"
    );
    let mut session = resp.into_session().unwrap();
    for (n, e) in early.iter().enumerate() {
        let got = session.decrypt(e, &mut rr).unwrap();
        assert_eq!(
            got.content,
            text(9, n as u64 + 1, &format!("early {}", n + 1))
        );
    }
    // The one dropped for overflow is simply the next message of the chain when the peer sends it
    // again (PROTOCOL.md §7.4: the conversation layer resends what was not acknowledged).
    let last = session.decrypt(&sent[MAX_EARLY_DATA], &mut rr).unwrap();
    assert_eq!(last.seq, MAX_EARLY_DATA as u64 + 1);
}

#[test]
fn data_before_the_peers_commit_is_dropped_and_after_it_kept() {
    let rec = record(114);
    // Data of an earlier session between the same two people.
    let mut old = common::pair(115);
    let old_data = old
        .a
        .encrypt(&text(1, 1, "old"), 0, &mut old.rng_a)
        .unwrap()
        .envelope;
    let old_data_2 = old
        .a
        .encrypt(&text(1, 2, "old 2"), 0, &mut old.rng_a)
        .unwrap()
        .envelope;
    let side = From::B;
    let (mut hs, mut r) = rec.fresh(side, Instant::now());
    drain(&mut hs);
    assert!(!hs.has_peer_commit());
    assert_eq!(
        hs.handle_bytes(&old_data, &mut r),
        Err(HandshakeError::DataBeforeCommit)
    );
    assert!(hs.failure().is_none());
    hs.handle_bytes(&rec.peer_msg(side, EnvelopeType::Commit), &mut r)
        .unwrap();
    assert!(hs.has_peer_commit());
    assert_eq!(
        hs.handle_bytes(&old_data_2, &mut r),
        Ok(()),
        "kept after the Commit"
    );
    for m in rec.peer(side).iter().skip(1) {
        hs.handle_bytes(m, &mut r).unwrap();
    }
    assert!(hs.is_established());
    assert_eq!(
        hs.take_early_data(),
        vec![old_data_2.clone()],
        "only the one after the Commit"
    );
    // It was not this session's: it fails to decrypt, and the session goes on.
    let mut s = hs.into_session().unwrap();
    assert!(s.decrypt(&old_data_2, &mut r).is_err());
}

#[test]
fn identity_is_revealed_exactly_when_its_message_is_queued() {
    let rec = record(116);
    let init = rec.initiator();
    let resp = if init == From::A { From::B } else { From::A };
    for (side, reveals_in) in [
        (resp, EnvelopeType::RespIdentity),
        (init, EnvelopeType::InitAuth),
    ] {
        let (mut hs, mut r) = rec.fresh(side, Instant::now());
        let mut out = drain(&mut hs);
        assert!(!hs.identity_revealed());
        for m in rec.peer(side) {
            hs.handle_bytes(m, &mut r).unwrap();
            let queued = drain(&mut hs);
            let sent_now = queued.iter().any(|q| q[1] == reveals_in.to_byte());
            let sent_before = out.iter().any(|q| q[1] == reveals_in.to_byte());
            assert_eq!(
                hs.identity_revealed(),
                sent_now || sent_before,
                "{side:?} after {:?}",
                EnvelopeType::from_byte(m[1])
            );
            out.extend(queued);
        }
        assert!(hs.identity_revealed());
    }
    // The initiator has not revealed anything while the responder already has.
    let (mut i, mut ri) = up_to(&rec, init, EnvelopeType::RespIdentity);
    assert!(!i.identity_revealed());
    assert_eq!(i.role(), Some(Role::Initiator));
    i.handle_bytes(&rec.peer_msg(init, EnvelopeType::RespIdentity), &mut ri)
        .unwrap();
    assert!(i.identity_revealed());
}

#[test]
fn the_handshake_times_out_after_thirty_seconds() {
    let rec = record(117);
    let now = Instant::now();
    let (mut hs, mut r) = rec.fresh(From::A, now);
    assert_eq!(hs.poll_timeout(), Some(now + HANDSHAKE_TIMEOUT));
    assert_eq!(HANDSHAKE_TIMEOUT, Duration::from_secs(30));
    hs.handle_bytes(&rec.peer_msg(From::A, EnvelopeType::Commit), &mut r)
        .unwrap();
    assert_eq!(
        hs.handle_timeout(now + HANDSHAKE_TIMEOUT - Duration::from_millis(1)),
        Ok(())
    );
    assert!(hs.failure().is_none());
    assert_eq!(
        hs.handle_timeout(now + HANDSHAKE_TIMEOUT),
        Err(HandshakeError::Timeout)
    );
    assert_eq!(hs.failure(), Some(&HandshakeError::Timeout));
    assert!(HandshakeError::Timeout.is_retryable());
    assert_eq!(hs.poll_timeout(), None);
    assert_eq!(
        hs.poll_transmit(),
        None,
        "the queued Hello is gone with the secrets"
    );
    assert_eq!(
        hs.handle_bytes(&rec.peer_msg(From::A, EnvelopeType::Hello), &mut r),
        Err(HandshakeError::AlreadyFailed)
    );
    // An established handshake has no deadline any more.
    let (mut done, mut r) = rec.fresh(From::A, now);
    for m in rec.peer(From::A) {
        done.handle_bytes(m, &mut r).unwrap();
    }
    assert_eq!(done.poll_timeout(), None);
    assert_eq!(done.handle_timeout(now + Duration::from_secs(3600)), Ok(()));
    assert!(done.is_established());
}

#[test]
fn a_v1_peer_is_reported_and_ends_the_attempt() {
    let rec = record(118);
    for version in [0x01u8, 0x03, 0xff] {
        for stage_before in [
            EnvelopeType::Commit,
            EnvelopeType::Hello,
            EnvelopeType::RespIdentity,
        ] {
            let (mut hs, mut r) = up_to(&rec, From::A, stage_before);
            // A v1 Hello (0x01 0x01 || nonce || eph) or any envelope of another version.
            let mut m = rec.peer_msg(From::A, EnvelopeType::Hello);
            m[0] = version;
            m[1] = 0x01;
            let e = hs.handle_bytes(&m, &mut r).unwrap_err();
            assert_eq!(e, HandshakeError::PeerVersion(version));
            assert!(e.is_fatal() && !e.is_retryable());
            assert!(e.to_string().contains(&format!("version {version}")), "{e}");
            assert!(hs.failure().is_some());
        }
    }
}

#[test]
fn malformed_envelopes_are_ignored_and_the_handshake_goes_on() {
    let rec = record(119);
    let (mut hs, mut r) = rec.fresh(From::B, Instant::now());
    let mut sent = drain(&mut hs);
    for m in rec.peer(From::B) {
        for junk in [
            vec![],
            vec![0x02],
            vec![0x02, 0x07, 1, 2, 3],
            m[..m.len() - 1].to_vec(),
            [m.as_slice(), &[0]].concat(),
        ] {
            let e = hs.handle_bytes(&junk, &mut r).unwrap_err();
            assert!(matches!(e, HandshakeError::Malformed(_)), "{e:?}");
            assert!(!e.is_fatal());
        }
        hs.handle_bytes(m, &mut r).unwrap();
        sent.extend(drain(&mut hs));
    }
    assert!(hs.is_established());
    assert_eq!(sent, rec.own(From::B));
}
