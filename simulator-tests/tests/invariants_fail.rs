//! Every invariant of `simulator_tests::invariants` can fail: a deliberately broken app (or a
//! hand-fed ledger) is caught, with the message of the invariant it breaks. Without these, a
//! simulator that checks nothing would pass too.

use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::{Content, MessageId};
use simulator_tests::app::Mutation;
use simulator_tests::faults::{Plan, Profile};
use simulator_tests::identities::identities;
use simulator_tests::invariants::{Ledger, SendRecord, Written};
use simulator_tests::scenario::{self, Outcome};

/// Sessions whose users crash twice each (half of the crashes in the middle of work), once right
/// before recording a message they show and once right after.
fn crashing(seed: u64, mutation: Mutation) -> Outcome {
    let plan = Plan {
        faults_end: Duration::from_secs(40),
        crashes: [2, 2],
        mid_work_crash: 0.5,
        crash_before_recording: true,
        ..Plan::default()
    };
    let mut picker = ChaCha20Rng::seed_from_u64(seed);
    scenario::run_plan(seed, Profile::Churn, &plan, mutation, &mut picker)
}

fn caught(outcomes: &[Outcome], needle: &str) -> usize {
    outcomes
        .iter()
        .filter(|o| o.violations.iter().any(|v| v.contains(needle)))
        .count()
}

#[test]
fn the_unbroken_app_passes_the_same_sessions() {
    let (mut crashes, mut around_recording, mut dropped) = (0, 0, 0);
    for seed in 0..6 {
        let o = crashing(seed, Mutation::None);
        assert!(o.passed(), "seed {seed}: {:#?}", o.violations);
        crashes += o.tally.crashes;
        around_recording += o.tally.crashes_before_recording + o.tally.crashes_after_recording;
        dropped += o.tally.shown_again_dropped;
    }
    assert!(crashes >= 12, "only {crashes} crashes");
    assert!(
        around_recording >= 12,
        "only {around_recording} crashes around recording"
    );
    // After the crashes after recording, the client showed again what the history holds.
    assert!(
        dropped >= 3,
        "only {dropped} messages shown again and dropped by the history"
    );
}

#[test]
fn showing_a_message_twice_is_caught() {
    let o = scenario::run_with(3, Mutation::ShowTwice);
    assert!(caught(&[o], "twice") == 1);
}

#[test]
fn an_app_that_never_approves_is_caught_by_eventual_delivery() {
    let o = scenario::run_with(5, Mutation::NeverApprove);
    assert!(caught(&[o], "settled, but") == 1);
}

#[test]
fn losing_stored_state_is_caught() {
    // Dropping every other Persist, restoring nothing after a crash, or not looking into the
    // history before showing makes a restarted client show a message again, skip one, or never
    // deliver one.
    for mutation in [
        Mutation::SkipPersist,
        Mutation::NoRestore,
        Mutation::NoDedupe,
    ] {
        let outcomes: Vec<Outcome> = (0..8).map(|s| crashing(s, mutation)).collect();
        let bad = outcomes.iter().filter(|o| !o.passed()).count();
        for o in &outcomes {
            eprintln!("{mutation:?} seed {}: {:?}", o.seed, o.violations.first());
        }
        assert!(bad >= 2, "{mutation:?} caught in only {bad} of 8 sessions");
    }
}

/// With newcomers taking freed seats, the pair meets changed identities: an app that approves
/// them sends its display name and Acks there, and the wire tap (a copy of the receiving session
/// decrypting what arrives) catches it, as do the checks of the client's state.
#[test]
fn the_wire_tap_catches_an_app_that_approves_a_changed_identity() {
    let plan = Plan {
        faults_end: Duration::from_secs(50),
        crashes: [1, 1],
        link_drops: [1, 1],
        newcomers: 2,
        ..Plan::default()
    };
    let outcomes: Vec<Outcome> = (0..8)
        .map(|seed| {
            let mut picker = ChaCha20Rng::seed_from_u64(seed);
            scenario::run_plan(
                seed,
                Profile::Churn,
                &plan,
                Mutation::ApproveChanged,
                &mut picker,
            )
        })
        .collect();
    let on_the_wire = caught(&outcomes, "had not approved");
    let in_the_state = caught(&outcomes, "the app's policy does not");
    assert!(on_the_wire >= 2, "the tap caught {on_the_wire} of 8");
    assert!(
        in_the_state >= 2,
        "the state check caught {in_the_state} of 8"
    );
    // The same sessions pass with the specified app.
    for seed in 0..8 {
        let mut picker = ChaCha20Rng::seed_from_u64(seed);
        let o = scenario::run_plan(seed, Profile::Churn, &plan, Mutation::None, &mut picker);
        assert!(o.passed(), "seed {seed}: {:#?}", o.violations);
    }
}

fn fp(i: usize) -> sans_io_proto::Fingerprint {
    identities()[i].fingerprint()
}

fn id(n: u64) -> MessageId {
    MessageId {
        stream: 9,
        number: n,
    }
}

/// A ledger where alice (user 0) wrote texts 1..=3 to bob (user 1).
fn ledger() -> Ledger {
    let mut l = Ledger::default();
    for n in 1..=3 {
        l.written(Written {
            writer: Some(0),
            from: fp(0),
            to: fp(1),
            id: id(n),
            text: Some(format!("text {n}")),
            at: Duration::ZERO,
        });
    }
    l
}

fn show(l: &mut Ledger, n: u64, text: &str, approved: bool) {
    l.shown(
        Duration::ZERO,
        1,
        "bob",
        &fp(1),
        &fp(0),
        id(n),
        text,
        approved,
    );
}

#[test]
fn the_ledger_catches_each_kind_of_wrong_showing() {
    type Case<'a> = (&'a str, &'a dyn Fn(&mut Ledger));
    let cases: [Case; 6] = [
        ("twice", &|l| {
            show(l, 1, "text 1", true);
            show(l, 1, "text 1", true);
        }),
        ("out of order", &|l| {
            show(l, 1, "text 1", true);
            show(l, 3, "text 3", true);
            show(l, 2, "text 2", true);
        }),
        ("skipped", &|l| {
            show(l, 1, "text 1", true);
            show(l, 3, "text 3", true);
        }),
        ("nobody wrote", &|l| show(l, 7, "text 7", true)),
        ("other bytes", &|l| show(l, 1, "text 1!", true)),
        ("did not approve", &|l| show(l, 1, "text 1", false)),
    ];
    for (needle, case) in cases {
        let mut l = ledger();
        case(&mut l);
        assert!(
            l.violations.iter().any(|v| v.contains(needle)),
            "{needle}: {:?}",
            l.violations
        );
    }
    let mut l = ledger();
    for n in 1..=3 {
        show(&mut l, n, &format!("text {n}"), true);
    }
    assert!(l.violations.is_empty(), "{:?}", l.violations);
}

#[test]
fn the_ledger_catches_undelivered_and_unstored_messages() {
    // Delivered, but the receiver stored nothing.
    let mut l = ledger();
    l.delivered(
        Duration::ZERO,
        (0, "alice", &fp(0)),
        &fp(1),
        id(1),
        Some((1, None)),
    );
    assert!(
        l.violations
            .iter()
            .any(|v| v.contains("neither shown nor stored"))
    );
    // Settled with text 3 never shown.
    let mut l = ledger();
    show(&mut l, 1, "text 1", true);
    show(&mut l, 2, "text 2", true);
    l.check_settled((0, "alice", &fp(0)), (1, "bob", &fp(1)), 3);
    assert!(l.violations.iter().any(|v| v.contains("never got")));
}

#[test]
fn the_ledger_catches_a_gate_breach_on_the_wire_and_a_leak_to_the_relay() {
    let mut l = ledger();
    let envelope: Vec<u8> = (0..100).collect();
    // Alice's app approved carol (identity 3), not bob, when this envelope left.
    l.sent(
        &envelope,
        SendRecord {
            sender: Some(0),
            approved: Some(fp(3)),
        },
    );
    assert!(l.might_breach(&envelope, &fp(1)));
    l.tapped(
        Duration::ZERO,
        ("bob", &fp(1)),
        &fp(0),
        &Content::Profile("alice".into()),
        &envelope,
        Some("alice"),
    );
    assert!(l.violations.iter().any(|v| v.contains("had not approved")));
    // The relay sees a text, or a key.
    let mut l = ledger();
    l.secret_identity("alice", &identities()[0]);
    l.scan_relay(b"xx text 2 yy");
    l.scan_relay(&identities()[0].public().as_bytes()[..]);
    assert_eq!(l.violations.len(), 2, "{:?}", l.violations);
}
