//! Reconnecting through the relay's room rules (PROTOCOL.md §3) in the simulated world.

use std::time::Duration;

use simulator_tests::scenario::early_reconnect;

/// When the relay notices a dead connection before the user reconnects (the default of the
/// seeded sessions), the user gets its seat back and the session resumes.
#[test]
fn a_reconnect_after_the_relay_noticed_resumes_the_session() {
    let (o, _) = early_reconnect_with_late_notice(false);
    assert!(o.passed(), "{:#?}", o.violations);
    assert_eq!(o.tally.resumed, 2, "{:?}", o.tally);
}

fn early_reconnect_with_late_notice(late: bool) -> (simulator_tests::scenario::Outcome, bool) {
    if late {
        early_reconnect(1, Duration::from_secs(120))
    } else {
        simulator_tests::scenario::early_reconnect_noticed(1, Duration::from_secs(60))
    }
}

/// A user who reconnects before the relay noticed its old connection died is redirected to
/// `name-2` (its old seat still counts). Once the relay frees the old seat, the client reclaims the
/// room of its kept session (reported as S1 in the simulator's bug list, fixed in the client), so
/// the two meet again, resume, and deliver what was written in between.
#[test]
fn a_reconnect_before_the_relay_noticed_finds_the_peer_again() {
    let (o, together) = early_reconnect_with_late_notice(true);
    assert!(o.passed(), "{:#?}", o.violations);
    assert!(together, "the two users ended in different rooms");
}
