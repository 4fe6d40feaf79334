//! Whole sessions under a seeded fault model, with invariants checked after every step.
//!
//! - `cargo test -p simulator-tests` runs 1,200 fixed seeds (all profiles) in seconds;
//! - `SIM_SEEDS=100000 [SIM_SEED_START=n]` runs more;
//! - `SIM_SEED=1234` replays one seed and prints its notes.
//!
//! A failing seed is printed with its profile and violations, and replays exactly.

use simulator_tests::faults::Profile;
use simulator_tests::scenario::{self, Outcome};

const DEFAULT_SEEDS: u64 = 1_200;

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

#[test]
fn fixed_seeds_hold_every_invariant() {
    if let Some(seed) = env_u64("SIM_SEED") {
        let o = scenario::run(seed);
        eprintln!(
            "seed {seed}: {:?}, {} sent, {} delivered once, {:?} simulated",
            o.profile, o.sent, o.delivered, o.elapsed
        );
        for (name, s) in &o.stats {
            eprintln!("  {name}: {s:?}");
        }
        for n in &o.notes {
            eprintln!("  note: {n}");
        }
        assert!(o.passed(), "seed {seed}: {:?}", o.violations);
        return;
    }
    let start = env_u64("SIM_SEED_START").unwrap_or(0);
    let count = env_u64("SIM_SEEDS").unwrap_or(DEFAULT_SEEDS);
    let outcomes = run_seeds((start..start + count).collect());
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| !o.passed()).collect();
    for o in &failed {
        eprintln!(
            "FAILED seed {} ({:?}): {:?}\n  replay: SIM_SEED={} cargo test -p simulator-tests --test sessions",
            o.seed, o.profile, o.violations, o.seed
        );
    }
    assert!(
        failed.is_empty(),
        "{} of {} seeds failed (see above)",
        failed.len(),
        outcomes.len()
    );

    // The run must have exercised what it claims to: every profile, real traffic, real attacks.
    let by = |p: Profile| outcomes.iter().filter(move |o| o.profile == p);
    for p in [
        Profile::Clean,
        Profile::Network,
        Profile::Malicious,
        Profile::Churn,
    ] {
        assert!(by(p).count() > 0, "no {p:?} session ran");
    }
    let total = |f: fn(&simulator_tests::world::ClientStats) -> u32, p: Profile| -> u32 {
        by(p)
            .flat_map(|o| o.stats.iter().map(move |(_, s)| f(s)))
            .sum()
    };
    assert!(
        by(Profile::Clean).map(|o| o.delivered).sum::<usize>() > 100,
        "clean sessions delivered little"
    );
    assert!(
        total(|s| s.rejected, Profile::Malicious) > 50,
        "the malicious relay's forgeries were not exercised"
    );
    assert!(
        total(|s| s.rejected, Profile::Network) > 10,
        "duplicates were not exercised"
    );
    assert!(
        total(|s| s.redirected, Profile::Churn) > 10,
        "redirects were not exercised"
    );
    assert!(
        total(|s| s.secure, Profile::Churn) > by(Profile::Churn).count() as u32 * 2,
        "re-keying after churn was not exercised"
    );
    let delivered: usize = outcomes.iter().map(|o| o.delivered).sum();
    let sent: usize = outcomes.iter().map(|o| o.sent).sum();
    eprintln!(
        "{} sessions: {sent} messages sent, {delivered} shown exactly once, none shown wrongly",
        outcomes.len()
    );
}

#[test]
fn a_man_in_the_middle_is_always_visible_in_the_safety_numbers() {
    for seed in 0..5 {
        let (outcome, read) = scenario::mitm_session(seed);
        assert!(outcome.passed(), "seed {seed}: {:?}", outcome.violations);
        // The attack is real (Mallory reads the traffic) ...
        assert!(
            !read.is_empty(),
            "seed {seed}: the MITM did not work at all"
        );
        // ... and the check above made sure both victims see different safety numbers.
    }
}

#[test]
fn the_same_seed_gives_the_same_session() {
    let a = scenario::run(4242);
    let b = scenario::run(4242);
    assert_eq!(
        (a.sent, a.delivered, a.elapsed, &a.stats),
        (b.sent, b.delivered, b.elapsed, &b.stats)
    );
}
