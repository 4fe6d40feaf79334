//! Whole sessions under a seeded fault model, with the invariants of
//! `simulator_tests::invariants` checked as they run and once they settled.
//!
//! - `cargo test -p simulator-tests --test sessions` runs 1,000 fixed seeds (all profiles);
//! - `SIM_SEEDS=100000 [SIM_SEED_START=n]` runs more;
//! - `SIM_SEED=1234` replays one seed and prints its notes and totals.
//!
//! A failing seed is printed with its profile, its violations and the command that replays it.

use std::time::Instant;

use simulator_tests::faults::Profile;
use simulator_tests::scenario::{self, Outcome};
use simulator_tests::world::Tally;

const DEFAULT_SEEDS: u64 = 1_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn run_seeds(seeds: Vec<u64>) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let chunks: Vec<Vec<u64>> = (0..threads)
        .map(|t| seeds.iter().copied().skip(t).step_by(threads).collect())
        .collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| s.spawn(move || chunk.into_iter().map(scenario::run).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    })
}

fn replay_one(seed: u64) {
    let o = scenario::run(seed);
    eprintln!(
        "seed {seed}: {:?}, {:?} simulated\n{:#?}",
        o.profile, o.elapsed, o.tally
    );
    for l in &o.log {
        eprintln!("  {l}");
    }
    for n in &o.notes {
        eprintln!("  note: {n}");
    }
    for v in &o.violations {
        eprintln!("  VIOLATION: {v}");
    }
    assert!(o.passed(), "seed {seed} failed");
}

#[test]
fn fixed_seeds_hold_every_invariant() {
    if let Some(seed) = env_u64("SIM_SEED") {
        return replay_one(seed);
    }
    let start = env_u64("SIM_SEED_START").unwrap_or(0);
    let count = env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let t0 = Instant::now();
    let outcomes = run_seeds((start..start + count).collect());
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    for o in failed.iter().take(20) {
        eprintln!(
            "FAILED seed {} ({:?}):\n  {}\n  replay: SIM_SEED={} cargo test -p simulator-tests --test sessions -- --nocapture",
            o.seed,
            o.profile,
            o.violations.join("\n  "),
            o.seed
        );
    }
    assert!(
        failed.is_empty(),
        "{} of {} seeds failed (the first are above)",
        failed.len(),
        outcomes.len()
    );

    // What the run exercised, per profile and in total.
    let mut total = Tally::default();
    for p in Profile::ALL {
        let mut t = Tally::default();
        let mut n = 0;
        for o in outcomes.iter().filter(|o| o.profile == p) {
            t += o.tally;
            n += 1;
        }
        eprintln!(
            "{p:?}: {n} sessions, {} written, {} shown, {} delivered, {} key exchanges, {} resumed",
            t.written, t.shown, t.delivered, t.key_exchanges, t.resumed
        );
        assert!(n > 0, "no {p:?} session ran");
        total += t;
    }
    eprintln!(
        "{} sessions in {:.1?}: {total:#?}",
        outcomes.len(),
        t0.elapsed()
    );
    if count < DEFAULT_SEEDS {
        return;
    }
    // No vacuous pass: everything the simulator claims to exercise happened, many times.
    let at_least = |what: &str, got: u64, want: u64| {
        assert!(
            got >= want,
            "only {got} {what} over the seeds (want {want})"
        );
    };
    at_least("messages shown", total.shown, 5_000);
    at_least(
        "pair messages checked once settled",
        total.settled_checked,
        6_000,
    );
    at_least("Delivered receipts", total.delivered, 5_000);
    at_least("crashes", total.crashes, 600);
    at_least("crashes in the middle of work", total.mid_work_crashes, 200);
    at_least(
        "crashes right before or after recording a shown message",
        total.crashes_before_recording + total.crashes_after_recording,
        150,
    );
    at_least(
        "messages shown again after a restart and dropped by the history",
        total.shown_again_dropped,
        50,
    );
    at_least("restored delivery states", total.restored_states, 500);
    at_least(
        "writes lost with a crash before they were stored",
        total.writes_lost_in_crash,
        1,
    );
    at_least("relay restarts", total.relay_restarts, 400);
    at_least("connection drops", total.link_drops, 500);
    at_least("leaves", total.leaves, 400);
    at_least("resumed sessions", total.resumed, 600);
    at_least("key exchanges", total.key_exchanges, 3_000);
    at_least("aborted key exchanges", total.aborted, 1_000);
    at_least("newcomers", total.newcomers, 200);
    at_least(
        "sessions with a changed identity",
        total.changed_identity,
        250,
    );
    at_least("redirects", total.redirected, 250);
    at_least("man-in-the-middle windows", total.mitm_windows, 50);
    at_least("sessions with Mallory", total.mitm_sessions, 80);
    at_least("dropped payloads", total.dropped, 350);
    at_least("duplicated payloads", total.duplicated, 400);
    at_least("reordered payloads", total.delayed, 1_200);
    at_least("tampered payloads", total.tampered, 300);
    at_least("replayed payloads", total.replayed, 300);
    at_least("reflected payloads", total.reflected, 200);
    at_least("injected payloads", total.injected, 200);
    at_least("substituted payloads", total.substituted, 200);
    at_least("refused payloads", total.rejected, 600);
    at_least("payloads decrypted by the wire tap", total.tapped, 3_000);
    at_least("timer changes", total.timer_changes, 150);
    at_least(
        "try-again clicks after the client stopped",
        total.try_again,
        100,
    );
    at_least("suspensions after repeated aborts", total.suspended, 100);
}

#[test]
fn the_same_seed_gives_the_same_session() {
    for seed in [4242, 77] {
        let a = scenario::run(seed);
        let b = scenario::run(seed);
        assert_eq!(
            (a.elapsed, a.tally, &a.violations, &a.notes),
            (b.elapsed, b.tally, &b.violations, &b.notes)
        );
    }
}
