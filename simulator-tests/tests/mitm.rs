//! A relay that substitutes its own identity (Mallory, `simulator_tests::mitm`).
//!
//! - After the two users met, the attack is useless: each victim completes a key exchange with
//!   Mallory and sees a *changed* identity, the app never approves it, nothing the user wrote (no
//!   text, no display name, no Ack) reaches her, nothing she writes is shown; once the relay is
//!   honest again, everything written during the attack is delivered exactly once.
//! - At a first meeting (trust on first use) nothing can stop it, and Mallory reads everything;
//!   what must hold is that the short authentication strings the two victims see differ (and the
//!   relay got one try per key exchange to make them match, PROTOCOL.md §8.2).

use simulator_tests::app::Mutation;
use simulator_tests::scenario::mitm_session;

#[test]
fn after_the_pair_met_mallory_is_never_approved_and_receives_nothing() {
    for seed in 0..4 {
        let (o, read, sas) = mitm_session(seed, false, Mutation::None);
        assert!(o.passed(), "seed {seed}: {:#?}", o.violations);
        assert!(read.is_empty(), "seed {seed}: Mallory read {read:?}");
        // The attack really ran: both victims completed key exchanges with her ...
        assert!(
            !sas[0].is_empty() && !sas[1].is_empty(),
            "seed {seed}: {sas:?}"
        );
        assert!(o.tally.mitm_sessions >= 2, "seed {seed}: {:?}", o.tally);
        // ... and met a changed identity, which the app left unapproved (the run checked that
        // nothing reached her and nothing of hers was shown, then that everything was delivered).
        assert!(o.tally.changed_identity >= 2, "seed {seed}: {:?}", o.tally);
        assert!(o.tally.settled_checked >= 10, "seed {seed}: {:?}", o.tally);
    }
}

#[test]
fn at_a_first_meeting_mallory_reads_but_the_short_authentication_strings_differ() {
    for seed in 0..4 {
        let (o, read, sas) = mitm_session(seed, true, Mutation::None);
        assert!(o.passed(), "seed {seed}: {:#?}", o.violations);
        assert!(
            !read.is_empty(),
            "seed {seed}: the attack did not work at all"
        );
        assert!(
            !sas[0].is_empty() && !sas[1].is_empty(),
            "seed {seed}: {sas:?}"
        );
        assert!(
            sas[0].iter().all(|x| !sas[1].contains(x)),
            "seed {seed}: the victims' SAS match: {sas:?}"
        );
    }
}

/// The trust-gate invariant fails when the app approves a changed identity (no approval check):
/// Mallory then gets the victims' display names and Acks.
#[test]
fn an_app_that_approves_a_changed_identity_is_caught() {
    let (o, _, _) = mitm_session(0, false, Mutation::ApproveChanged);
    let caught = o
        .violations
        .iter()
        .any(|v| v.contains("had not approved") || v.contains("never approved her"));
    assert!(caught, "not caught: {:#?}", o.violations);
}
