//! The sessions the simulator runs: a random session per seed, the recorded golden session, and the
//! man-in-the-middle sessions.
//!
//! A random session: alice and bob (the pair) enter one room; the seed's [`Plan`] decides the
//! payload faults, the crashes, relay restarts, connection drops, leaves, newcomers (carol and dave,
//! who ask for the same room once the pair has met, take seats that free up and meet changed
//! identities) and a man-in-the-middle window, all before `faults_end`. Each pair user writes 1..=6
//! messages at random times (and sometimes changes the timer). Then the **settle phase**: faults
//! off, newcomers gone, five seconds later a user whose client stopped asks again and a user who was
//! redirected goes back to the room it asked for; after [`SETTLE`] the pair must have delivered
//! everything (invariant 6).

use std::sync::OnceLock;
use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::app::Mutation;
use crate::faults::{Faults, Plan, Profile};
use crate::frames;
use crate::mitm::Mitm;
use crate::world::{Action, Tally, World, WorldAction};

/// How long the pair has after the faults end (the last restart and reconnect happen at most a few
/// seconds after) before everything written must have been shown: time to reconnect (≤ 4 s), go
/// back to the room, resume or fail to resume (5 s), run a key exchange (or wait out one the faults
/// left hanging: 30 s), flush the outboxes and acknowledge.
pub const SETTLE: Duration = Duration::from_secs(60);

/// The result of one session.
#[derive(Debug)]
pub struct Outcome {
    /// The seed (replay with it).
    pub seed: u64,
    /// Its profile.
    pub profile: Profile,
    /// Broken invariants: empty means the session passed.
    pub violations: Vec<String>,
    /// What happened.
    pub tally: Tally,
    /// Simulated time taken.
    pub elapsed: Duration,
    /// Notes (failed key exchanges, relay errors, ...).
    pub notes: Vec<String>,
    /// What every user did and saw (only with `SIM_LOG=1`).
    pub log: Vec<String>,
}

impl Outcome {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Payloads of an unrelated session (carol and dave in another room), for the relay to substitute.
pub fn foreign_payloads() -> &'static [Vec<u8>] {
    static POOL: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut w = World::new(0x00f0_7e16, Faults::default(), &[]);
        w.trace = Some(Vec::new());
        let c = w.add_user("carol", 3, "elsewhere", true);
        let d = w.add_user("dave", 4, "elsewhere", true);
        w.schedule(c, Action::Start, Duration::ZERO);
        w.schedule(d, Action::Start, Duration::from_millis(5));
        for k in 0..3 {
            w.schedule(c, Action::Write, Duration::from_millis(2000 + 300 * k));
            w.schedule(d, Action::Write, Duration::from_millis(2100 + 300 * k));
        }
        w.run_until(Duration::from_secs(20));
        w.trace
            .unwrap_or_default()
            .iter()
            .filter(|line| line.contains(" -> relay "))
            .filter_map(|line| line.rsplit(' ').next())
            .filter_map(|h| hex::decode(h).ok())
            .flat_map(|bytes| frames::payloads_in(&bytes))
            .collect()
    })
}

/// Runs the session of one seed.
pub fn run(seed: u64) -> Outcome {
    run_with(seed, Mutation::None)
}

/// Runs the session of one seed with a deliberately broken app.
pub fn run_with(seed: u64, mutation: Mutation) -> Outcome {
    let mut picker = ChaCha20Rng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let profile = Profile::pick(&mut picker);
    let plan = profile.plan(&mut picker);
    run_plan(seed, profile, &plan, mutation, &mut picker)
}

fn at(picker: &mut ChaCha20Rng, from: Duration, to: Duration) -> Duration {
    if to <= from {
        return from;
    }
    Duration::from_millis(picker.gen_range(from.as_millis() as u64..to.as_millis() as u64))
}

/// Runs one session of `plan`.
pub fn run_plan(
    seed: u64,
    profile: Profile,
    plan: &Plan,
    mutation: Mutation,
    picker: &mut ChaCha20Rng,
) -> Outcome {
    let mut w = World::new(seed, plan.faults.clone(), foreign_payloads());
    if std::env::var_os("SIM_LOG").is_some() {
        w.log = Some(Vec::new());
    }
    w.crash_mid_work = plan.mid_work_crash;
    let room = format!("room-{}", seed % 97);
    let a = w.add_user("alice", 0, &room, true);
    let b = w.add_user("bob", 1, &room, true);
    let end = plan.faults_end;
    let s = Duration::from_secs;
    w.schedule(a, Action::Start, at(picker, s(0), s(1)));
    w.schedule(b, Action::Start, at(picker, s(0), s(2)));
    for user in [a, b] {
        for _ in 0..picker.gen_range(1..=6) {
            let t = at(picker, s(1), end);
            w.schedule(user, Action::Write, t);
        }
    }
    for _ in 0..plan.timer_changes {
        let user = [a, b][picker.gen_range(0..2)];
        let t = at(picker, s(2), end);
        w.schedule(user, Action::SetTimer, t);
    }
    // Churn, all before the faults end (restarts and reconnects follow within 4 s).
    let churn_end = end.saturating_sub(s(4));
    for (k, user) in [a, b].into_iter().enumerate() {
        for _ in 0..plan.crashes[k] {
            let t = at(picker, s(2), churn_end);
            w.schedule(user, Action::Crash, t);
        }
        for _ in 0..plan.link_drops[k] {
            let t = at(picker, s(2), churn_end);
            w.schedule(user, Action::DropLink, t);
        }
        for _ in 0..plan.leaves[k] {
            let t = at(picker, s(2), churn_end);
            w.schedule(user, Action::Leave, t);
        }
    }
    for _ in 0..plan.relay_restarts {
        let graceful = picker.gen_bool(plan.graceful);
        let t = at(picker, s(2), churn_end);
        w.schedule_world(WorldAction::RelayRestart { graceful }, t);
    }
    if plan.newcomers > 0 {
        let carol = w.add_user("carol", 3, &room, false);
        w.newcomers.push(carol);
        if plan.newcomers > 1 {
            let dave = w.add_user("dave", 4, &room, false);
            w.newcomers.push(dave);
        }
        w.newcomers_until = churn_end;
    }
    if plan.mitm_window && end > s(25) {
        let start = at(picker, s(5), end - s(20));
        let len = at(picker, s(5), s(12));
        let until = churn_end;
        let action = WorldAction::MitmStart {
            len,
            until,
            after_meeting: true,
        };
        w.schedule_world(action, start);
    }
    w.set_mutation(mutation);
    for user in [a, b] {
        w.users[user].app.crash_before_recording = plan.crash_before_recording;
        w.users[user].app.crash_after_recording = plan.crash_before_recording;
    }
    w.schedule_world(WorldAction::FaultsEnd, end);
    w.schedule_world(WorldAction::Settle, end + s(5));

    w.run_until(end + SETTLE);
    // Writes that waited for a contact (the pair met late) get their own settle time.
    let last_write = w
        .ledger
        .writes()
        .iter()
        .filter(|x| x.writer.is_some())
        .map(|x| x.at)
        .max()
        .unwrap_or_default();
    if last_write + SETTLE > w.elapsed() {
        w.run_until(last_write + SETTLE);
    }
    settle_checks(&mut w, [a, b]);
    finish(seed, profile, w)
}

/// Invariant 6 for the pair, once settled.
fn settle_checks(w: &mut World, [a, b]: [usize; 2]) {
    if w.halted {
        return;
    }
    let fa = w.users[a].app.fp;
    let fb = w.users[b].app.fp;
    if w.users[a].app.disk.contact != Some(fb) || w.users[b].app.disk.contact != Some(fa) {
        w.ledger.violation(format!(
            "settled, but the pair are not each other's contacts ({:?}, {:?})",
            w.users[a]
                .app
                .disk
                .contact
                .map(|f| f.to_hex()[..8].to_owned()),
            w.users[b]
                .app
                .disk
                .contact
                .map(|f| f.to_hex()[..8].to_owned())
        ));
        return;
    }
    let mut timers = Vec::new();
    for (x, y) in [(a, b), (b, a)] {
        let (fx, fy) = (w.users[x].app.fp, w.users[y].app.fp);
        let (nx, ny) = (w.users[x].name.clone(), w.users[y].name.clone());
        let Some(cy) = w.client(y) else {
            w.ledger
                .violation(format!("settled, but {ny}'s app is not running"));
            return;
        };
        let conv_y = cy.conversation(&fx).cloned();
        let next = conv_y.as_ref().map_or(1, |c| c.inbox().next());
        if conv_y.as_ref().is_some_and(|c| c.inbox().held() > 0) {
            w.ledger.violation(format!(
                "settled, but {ny} still holds messages beyond a gap"
            ));
        }
        let checked = w.ledger.check_settled((x, &nx, &fx), (y, &ny, &fy), next);
        w.tally.settled_checked += checked as u64;
        let conv_x = w.client(x).and_then(|c| c.conversation(&fy)).cloned();
        if conv_x.as_ref().is_some_and(|c| !c.outbox().is_empty()) {
            let left = conv_x.as_ref().map_or(0, |c| c.outbox().len());
            w.ledger.violation(format!(
                "settled, but {left} messages of {nx} still wait for an Ack from {ny}"
            ));
        }
        timers.push(conv_x.map(|c| (c.timer().expire_secs, c.timer().version)));
    }
    if let [Some(x), Some(y)] = timers[..]
        && x != y
    {
        w.ledger
            .violation(format!("settled, but the timers differ: {x:?} and {y:?}"));
    }
}

fn finish(seed: u64, profile: Profile, w: World) -> Outcome {
    let elapsed = w.elapsed();
    let mut violations = w.ledger.violations;
    if w.ledger.more_violations > 0 {
        violations.push(format!("... and {} more", w.ledger.more_violations));
    }
    Outcome {
        seed,
        profile,
        violations,
        tally: w.tally,
        elapsed,
        notes: w.ledger.notes,
        log: w.log.unwrap_or_default(),
    }
}

/// A fault-free session recorded frame by frame (the simulator's golden transcript): alice and bob
/// meet, write two messages each, bob's connection drops, alice writes while he is away, he comes
/// back and the session resumes.
pub fn golden_session() -> Vec<String> {
    let mut w = World::new(7, Faults::default(), &[]);
    w.trace = Some(Vec::new());
    let a = w.add_user("alice", 0, "golden", true);
    let b = w.add_user("bob", 1, "golden", true);
    let ms = Duration::from_millis;
    w.schedule(a, Action::Start, Duration::ZERO);
    w.schedule(b, Action::Start, ms(50));
    w.schedule(a, Action::Write, ms(2000));
    w.schedule(b, Action::Write, ms(2500));
    w.schedule(a, Action::Write, ms(3000));
    w.schedule(b, Action::Write, ms(3500));
    w.schedule(b, Action::DropLink, ms(5000));
    w.schedule(a, Action::Write, ms(5500));
    w.run_until(ms(15_000));
    settle_checks(&mut w, [a, b]);
    let violations = &w.ledger.violations;
    assert!(violations.is_empty(), "{violations:?}");
    assert_eq!(
        (w.tally.resumed, w.tally.key_exchanges, w.tally.shown),
        (2, 2, 5),
        "the golden session did not go as described"
    );
    w.trace.unwrap_or_default()
}

/// The man-in-the-middle session. Phase 1 (20 s): an honest relay; alice and bob meet and talk
/// (unless `first_meeting`, when Mallory is there from the start). Phase 2 (30 s): the relay
/// restarts and puts Mallory in the middle; everyone writes. Phase 3: the relay restarts honest
/// and the pair settles.
///
/// Returns the outcome, what Mallory read, and the short authentication strings each victim saw in
/// its sessions with her.
pub fn mitm_session(
    seed: u64,
    first_meeting: bool,
    mutation: Mutation,
) -> (Outcome, Vec<String>, [Vec<u64>; 2]) {
    let mut w = World::new(seed, Faults::default(), &[]);
    w.faults_on = false;
    w.mitm_forwards = first_meeting;
    let a = w.add_user("alice", 0, "target", true);
    let b = w.add_user("bob", 1, "target", true);
    w.set_mutation(mutation);
    let s = Duration::from_secs;
    let ms = Duration::from_millis;
    let forever = WorldAction::MitmStart {
        len: Duration::ZERO,
        until: Duration::MAX,
        after_meeting: !first_meeting,
    };
    if first_meeting {
        w.schedule_world(forever, Duration::ZERO);
    }
    w.schedule(a, Action::Start, ms(10));
    w.schedule(b, Action::Start, ms(40));
    for k in 0..2 {
        w.schedule(a, Action::Write, s(3) + ms(700 * k));
        w.schedule(b, Action::Write, s(4) + ms(700 * k));
    }
    if !first_meeting {
        w.schedule_world(forever, s(20));
        for k in 0..3 {
            w.schedule(a, Action::Write, s(26) + ms(900 * k));
            w.schedule(b, Action::Write, s(27) + ms(900 * k));
        }
        w.schedule_world(WorldAction::MitmEnd, s(50));
    }
    let mut sas: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
    let mut read = Vec::new();
    // Run in small slices to watch the victims' sessions with Mallory.
    let horizon = if first_meeting { s(40) } else { s(50) };
    while w.elapsed() < horizon {
        let next = w.elapsed() + ms(100);
        w.run_until(next);
        if let Some(m) = w.mallory() {
            read.clone_from(&m.read);
            for (k, &v) in [a, b].iter().enumerate() {
                if let Some(c) = w.client(v)
                    && let Some(session) = c.session()
                    && session.peer_identity().fingerprint() == Mitm::fingerprint()
                    && !sas[k].contains(&session.sas().value())
                {
                    sas[k].push(session.sas().value());
                }
            }
        }
    }
    if !first_meeting {
        w.run_until(s(50) + SETTLE);
        settle_checks(&mut w, [a, b]);
    }
    let outcome = finish(seed, Profile::Malicious, w);
    (outcome, read, sas)
}

/// A connection drops and the user reconnects (after 1 s) before the relay noticed the old
/// connection died (after 5 s, the keep-alive detection time): the relay still holds the user's
/// old seat, so the new connection is redirected to `name-2`, and when the old seat is freed the
/// peer waits alone in `name`. Nobody moves (the apps are hands-off); after `wait`, are they
/// together again, and was everything delivered?
pub fn early_reconnect(seed: u64, wait: Duration) -> (Outcome, bool) {
    reconnect(seed, wait, 5000)
}

/// The same with the relay noticing the dead connection after 500 ms, before the reconnect.
pub fn early_reconnect_noticed(seed: u64, wait: Duration) -> (Outcome, bool) {
    reconnect(seed, wait, 500)
}

fn reconnect(seed: u64, wait: Duration, notice_ms: u64) -> (Outcome, bool) {
    let mut w = World::new(seed, Faults::default(), &[]);
    w.faults_on = false;
    w.notice_after = notice_ms..notice_ms + 1;
    w.reconnect_after = 1000..1001;
    let a = w.add_user("alice", 0, "early", true);
    let b = w.add_user("bob", 1, "early", true);
    let s = Duration::from_secs;
    w.schedule(a, Action::Start, Duration::ZERO);
    w.schedule(b, Action::Start, Duration::from_millis(30));
    w.schedule(a, Action::Write, s(2));
    w.schedule(b, Action::DropLink, s(5));
    w.schedule(a, Action::Write, s(8));
    w.run_until(s(5) + wait);
    settle_checks(&mut w, [a, b]);
    let together = w.users[a]
        .app
        .client
        .as_ref()
        .and_then(|c| c.room().cloned())
        == w.users[b]
            .app
            .client
            .as_ref()
            .and_then(|c| c.room().cloned());
    (finish(seed, Profile::Churn, w), together)
}
