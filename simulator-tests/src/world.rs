//! The simulated world: a clock, a relay ([`RelayCore`]), users (each an [`App`] around one
//! long-lived `Client`), and a queue of timed deliveries, driven the way quinn-proto's test `Pair`
//! drives two endpoints: [`World::run_until`] jumps to the earliest wake-up (a queued delivery, a
//! client's or the relay's timer), handles it, drains every output it caused, checks the
//! invariants, and repeats.
//!
//! Client → relay frames travel in order with the link's latency (a QUIC stream). Relay → client
//! Payloads pass the fault model first while faults are on: the relay is the adversary, so that is
//! where drops, duplicates, delays, tampering, replays, reflections, injections, substitutions and
//! the man in the middle happen. Crashes, relay restarts, connection drops, leaves and newcomers are
//! scheduled actions.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use quic_relay::core::{ConnId, Limits, RelayCore, RelayOutput};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{Event, Fingerprint, MessageState, Output, SafetyNumber, SecureInfo};

use crate::app::{App, Mutation, PendingWrite, Trust};
use crate::faults::Faults;
use crate::frames::{self, Downstream, Upstream, UpstreamDecoder};
use crate::identities::identities;
use crate::invariants::{Ledger, SendRecord, Written};
use crate::mitm::Mitm;

/// The simulated wall clock's origin (2026-01-01T00:00:00Z), for `sent_at_ms`.
pub const EPOCH_MS: u64 = 1_767_225_600_000;
/// A session that takes more steps than this is stuck in a loop.
const MAX_STEPS: u64 = 3_000_000;
/// Steps at one instant after which a timer is taken to be spinning.
const MAX_STEPS_AT_ONE_INSTANT: u32 = 20_000;

/// One connection to one incarnation of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    epoch: u32,
    conn: ConnId,
}

/// Scripted user actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The app's process starts (restoring its disk) and connects.
    Start,
    /// A new connection for the running process.
    Connect,
    /// The user writes a message to its contact.
    Write,
    /// The user changes the disappearing-messages timer.
    SetTimer,
    /// The process dies: at once, or in the middle of its next work.
    Crash,
    /// An armed crash that has not struck yet strikes now.
    CrashNow,
    /// The connection drops (the process lives) and comes back later.
    DropLink,
    /// The user leaves the room, and rejoins shortly after.
    Leave,
    /// The user joins its room again after a Leave.
    Rejoin,
    /// The user asks for key exchanges again after the client stopped (`resume_key_exchanges`).
    TryAgain,
    /// The user goes back to the room it asked for (after a redirect).
    GoHome,
    /// The user leaves the simulation for good.
    Depart,
}

/// Scripted actions of the world itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorldAction {
    /// The relay restarts: every connection drops.
    RelayRestart {
        /// Whether it says `ShuttingDown` first.
        graceful: bool,
    },
    /// The (restarted) relay puts Mallory between the pair, once they met, for `len` (zero: until
    /// told to stop), if that can start before `until`.
    MitmStart {
        /// How long.
        len: Duration,
        /// Latest end.
        until: Duration,
        /// Whether to wait until the pair met.
        after_meeting: bool,
    },
    /// The relay restarts honest.
    MitmEnd,
    /// The payload faults end; newcomers depart.
    FaultsEnd,
    /// The settle phase's user actions: back to the room asked for, try again where stopped.
    Settle,
}

#[derive(Debug)]
enum What {
    ToRelay {
        user: usize,
        link: Link,
        frame: Upstream,
    },
    ToUser {
        user: usize,
        link: Link,
        bytes: Vec<u8>,
        payload: Option<Vec<u8>>,
    },
    RelayNotices {
        link: Link,
    },
    Act {
        user: usize,
        action: Action,
    },
    World(WorldAction),
}

struct Scheduled {
    at: Duration,
    seq: u64,
    what: What,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One simulated user.
pub struct User {
    /// A name for messages and traces.
    pub name: String,
    /// The app (client, disk, policy).
    pub app: App,
    /// Whether this user is one of the pair the session is about.
    pub is_pair: bool,
    /// Gone for good.
    pub departed: bool,
    link: Option<Link>,
    upstream: UpstreamDecoder,
    /// Last scheduled arrival on the relay → client link (keeps the link FIFO).
    link_clock: Duration,
    /// Texts written so far (names them).
    texts: u32,
    /// Write actions that waited for a contact or a running process.
    waits: u32,
}

/// What happened, counted (summed over seeds by the tests).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct Tally {
    pub written: u64,
    pub shown: u64,
    pub delivered: u64,
    pub writes_lost_in_crash: u64,
    pub key_exchanges: u64,
    pub resumed: u64,
    pub aborted: u64,
    pub failed: u64,
    pub suspended: u64,
    pub try_again: u64,
    pub go_home: u64,
    pub changed_identity: u64,
    pub rejected: u64,
    pub redirected: u64,
    pub waiting: u64,
    pub crashes: u64,
    pub mid_work_crashes: u64,
    pub crashes_before_recording: u64,
    pub crashes_after_recording: u64,
    pub shown_again_dropped: u64,
    pub restored_states: u64,
    pub relay_restarts: u64,
    pub link_drops: u64,
    pub leaves: u64,
    pub newcomers: u64,
    pub mitm_windows: u64,
    pub mitm_sessions: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub delayed: u64,
    pub tampered: u64,
    pub replayed: u64,
    pub reflected: u64,
    pub injected: u64,
    pub substituted: u64,
    pub tapped: u64,
    pub timer_changes: u64,
    pub persists: u64,
    pub settled_checked: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        macro_rules! add {
            ($($f:ident),*) => { $(self.$f += o.$f;)* };
        }
        add!(
            written,
            shown,
            delivered,
            writes_lost_in_crash,
            key_exchanges,
            resumed,
            aborted,
            failed,
            suspended,
            try_again,
            go_home,
            changed_identity,
            rejected,
            redirected,
            waiting,
            crashes,
            mid_work_crashes,
            crashes_before_recording,
            crashes_after_recording,
            shown_again_dropped,
            restored_states,
            relay_restarts,
            link_drops,
            leaves,
            newcomers,
            mitm_windows,
            mitm_sessions,
            dropped,
            duplicated,
            delayed,
            tampered,
            replayed,
            reflected,
            injected,
            substituted,
            tapped,
            timer_changes,
            persists,
            settled_checked
        );
    }
}

/// The world.
pub struct World {
    /// The seed everything derives from.
    pub seed: u64,
    rng: ChaCha20Rng,
    tap_rng: ChaCha20Rng,
    base: Instant,
    now: Duration,
    relay: RelayCore,
    epoch: u32,
    conns: BTreeMap<ConnId, usize>,
    /// The users.
    pub users: Vec<User>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    /// The payload faults (applied while [`Self::faults_on`]).
    pub faults: Faults,
    /// Whether payload faults apply now.
    pub faults_on: bool,
    /// Whether the settle phase began (users then ask again when their client stopped).
    pub settling: bool,
    latency: Duration,
    /// Payloads the relay forwarded, by sender (for replays and reflections).
    seen: Vec<(usize, Vec<u8>)>,
    foreign: &'static [Vec<u8>],
    /// What was written, shown and checked.
    pub ledger: Ledger,
    /// What happened.
    pub tally: Tally,
    /// Every frame on the wire, when recording (golden transcripts).
    pub trace: Option<Vec<String>>,
    /// What every user did and saw, when recording (`SIM_LOG=1` with `SIM_SEED`).
    pub log: Option<Vec<String>>,
    /// Mallory, while the relay puts her in the middle.
    pub mitm: Option<Mitm>,
    /// Newcomers (user indices) to start once both pair users have met someone.
    pub newcomers: Vec<usize>,
    /// Latest time a newcomer may arrive.
    pub newcomers_until: Duration,
    /// Whether Mallory forwards what she reads (trust-on-first-use scenario).
    pub mitm_forwards: bool,
    /// Probability that a crash strikes in the middle of work (set by the scenario).
    pub crash_mid_work: f64,
    approval_violations: BTreeSet<(usize, Fingerprint)>,
    steps: u64,
    steps_at_now: u32,
    last_step_at: Duration,
    /// Set when the session cannot go on (a spinning timer, too many steps).
    pub halted: bool,
    /// Whether the wire tap decrypts every payload (else only possible breaches).
    pub tap_all: bool,
    /// How long (ms) the relay takes to notice a dead connection. By default shorter than any
    /// reconnect, so that a reconnecting user finds its old seat free.
    pub notice_after: std::ops::Range<u64>,
    /// How long (ms) after a drop or a crash the user's app connects again.
    pub reconnect_after: std::ops::Range<u64>,
}

/// The safety number of two identities, computed once per pair (it costs 10,400 SHA-256).
fn safety_number(
    a: &sans_io_proto::PublicIdentity,
    b: &sans_io_proto::PublicIdentity,
) -> SafetyNumber {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<(Fingerprint, Fingerprint), SafetyNumber>>> =
        OnceLock::new();
    let key = (a.fingerprint(), b.fingerprint());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(n) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return n;
    }
    let n = SafetyNumber::new(a, b);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, n.clone());
    }
    n
}

impl World {
    /// An empty world for `seed` with these faults; `foreign` is a pool of payloads of another
    /// session for the relay to substitute.
    pub fn new(seed: u64, faults: Faults, foreign: &'static [Vec<u8>]) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let latency = Duration::from_millis(rng.gen_range(1..80));
        let mut ledger = Ledger::default();
        ledger.secret_identity("mallory", Mitm::identity());
        World {
            seed,
            tap_rng: ChaCha20Rng::seed_from_u64(!seed),
            rng,
            base: Instant::now(),
            now: Duration::ZERO,
            relay: RelayCore::new(Limits::default()),
            epoch: 0,
            conns: BTreeMap::new(),
            users: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            faults,
            faults_on: true,
            settling: false,
            latency,
            seen: Vec::new(),
            foreign,
            ledger,
            tally: Tally::default(),
            trace: None,
            log: None,
            mitm: None,
            newcomers: Vec::new(),
            newcomers_until: Duration::MAX,
            mitm_forwards: false,
            crash_mid_work: 0.0,
            approval_violations: BTreeSet::new(),
            steps: 0,
            steps_at_now: 0,
            last_step_at: Duration::ZERO,
            halted: false,
            tap_all: seed.is_multiple_of(4),
            notice_after: 0..1000,
            reconnect_after: 1500..4000,
        }
    }

    /// The simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    fn wall_ms(&self) -> u64 {
        EPOCH_MS + self.now.as_millis() as u64
    }

    /// Adds a user with fixed identity `identity` who enters `room`; returns its index.
    pub fn add_user(&mut self, name: &str, identity: usize, room: &str, pair: bool) -> usize {
        let room = RoomName::new(room).unwrap_or_else(|e| panic!("bad room {room}: {e}"));
        let id = &identities()[identity];
        self.ledger.secret_identity(name, id);
        self.users.push(User {
            name: name.to_owned(),
            app: App::new(identity, id, room, name),
            is_pair: pair,
            departed: false,
            link: None,
            upstream: UpstreamDecoder::default(),
            link_clock: Duration::ZERO,
            texts: 0,
            waits: 0,
        });
        self.users.len() - 1
    }

    /// Makes every user's app carry `mutation`.
    pub fn set_mutation(&mut self, mutation: Mutation) {
        for u in &mut self.users {
            u.app.mutation = mutation;
        }
    }

    /// Schedules a user action `after` from now.
    pub fn schedule(&mut self, user: usize, action: Action, after: Duration) {
        self.push(self.now + after, What::Act { user, action });
    }

    /// Schedules a world action `after` from now.
    pub fn schedule_world(&mut self, action: WorldAction, after: Duration) {
        self.push(self.now + after, What::World(action));
    }

    fn push(&mut self, at: Duration, what: What) {
        self.seq += 1;
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            what,
        }));
    }

    fn record(&mut self, line: impl FnOnce() -> String) {
        if let Some(trace) = &mut self.trace {
            let ms = self.now.as_millis();
            trace.push(format!("{ms:>7} {}", line()));
        }
    }

    fn log(&mut self, line: impl FnOnce() -> String) {
        if let Some(log) = &mut self.log {
            let ms = self.now.as_millis();
            log.push(format!("{ms:>7} {}", line()));
        }
    }

    fn ms(&mut self, range: std::ops::Range<u64>) -> Duration {
        Duration::from_millis(self.rng.gen_range(range))
    }

    // ---- the step loop ------------------------------------------------------------------------

    /// Runs every wake-up up to `end`, then sets the clock to `end`.
    pub fn run_until(&mut self, end: Duration) {
        while !self.halted {
            match self.next_wakeup() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.step();
                }
                _ => break,
            }
        }
        self.now = self.now.max(end);
    }

    fn next_wakeup(&self) -> Option<Duration> {
        let queued = self.queue.peek().map(|Reverse(s)| s.at);
        let clients = self
            .users
            .iter()
            .filter_map(|u| u.app.client.as_ref().and_then(|c| c.poll_timeout()));
        let mallory = self
            .mitm
            .iter()
            .flat_map(|m| m.mallory.iter().filter_map(|c| c.poll_timeout()));
        let timers = clients
            .chain(mallory)
            .chain(self.relay.poll_timeout())
            .map(|t| t.saturating_duration_since(self.base))
            .min();
        match (queued, timers) {
            (Some(q), Some(t)) => Some(q.min(t)),
            (q, t) => q.or(t),
        }
    }

    fn step(&mut self) {
        self.steps += 1;
        if self.now == self.last_step_at {
            self.steps_at_now += 1;
        } else {
            self.steps_at_now = 0;
            self.last_step_at = self.now;
        }
        if self.steps > MAX_STEPS || self.steps_at_now > MAX_STEPS_AT_ONE_INSTANT {
            self.ledger.violation(format!(
                "{:?}: the session does not advance ({} steps, {} at this instant): a timer spins",
                self.now, self.steps, self.steps_at_now
            ));
            self.halted = true;
            return;
        }
        let now = self.instant();
        // Timers first (they are due at or before the queue head).
        for i in 0..self.users.len() {
            let due = self.users[i]
                .app
                .client
                .as_ref()
                .and_then(|c| c.poll_timeout())
                .is_some_and(|t| t <= now);
            if due {
                if let Some(c) = self.users[i].app.client.as_mut() {
                    c.handle_timeout(now);
                }
                self.drain(i);
            }
        }
        for side in 0..2 {
            let due = self
                .mitm
                .as_ref()
                .is_some_and(|m| m.mallory[side].poll_timeout().is_some_and(|t| t <= now));
            if due {
                if let Some(m) = self.mitm.as_mut() {
                    m.mallory[side].handle_timeout(now);
                }
                self.drain_mallory(side);
            }
        }
        if self.relay.poll_timeout().is_some_and(|t| t <= now) {
            self.relay.handle_timeout(now);
            self.drain_relay();
        }
        if self.queue.peek().is_some_and(|Reverse(s)| s.at <= self.now)
            && let Some(Reverse(item)) = self.queue.pop()
        {
            self.handle(item.what);
        }
        self.check_after_step();
    }

    fn handle(&mut self, what: What) {
        let now = self.instant();
        match what {
            What::ToRelay { user, link, frame } => {
                if self.users[user].link != Some(link) {
                    return; // the connection died meanwhile
                }
                if let Some(p) = frames::upstream_payload(&frame) {
                    self.seen.push((user, p.to_vec()));
                }
                self.relay.handle_frame(link.conn, frame, now);
                self.drain_relay();
            }
            What::ToUser {
                user,
                link,
                bytes,
                payload,
            } => {
                if self.users[user].link != Some(link) || self.users[user].app.client.is_none() {
                    return;
                }
                if let Some(p) = &payload {
                    self.tap(user, p);
                }
                if let Some(c) = self.users[user].app.client.as_mut() {
                    c.handle_input(&bytes, now);
                }
                self.drain(user);
            }
            What::RelayNotices { link } => {
                if link.epoch == self.epoch && self.conns.remove(&link.conn).is_some() {
                    self.relay.handle_disconnect(link.conn);
                    self.drain_relay();
                }
            }
            What::Act { user, action } => self.act(user, action),
            What::World(action) => self.world_act(action),
        }
    }

    // ---- user actions -------------------------------------------------------------------------

    fn act(&mut self, i: usize, action: Action) {
        if self.users[i].departed {
            return;
        }
        let name = self.users[i].name.clone();
        self.log(|| format!("{name} does {action:?}"));
        let now = self.instant();
        match action {
            Action::Start => self.start(i),
            Action::Connect => self.connect(i),
            Action::Write | Action::SetTimer => self.write(i, action),
            Action::Crash => {
                if self.users[i].app.client.is_none() {
                    return;
                }
                let mid_work = self.rng.gen_bool(self.crash_mid_work);
                if mid_work {
                    // Strike before the 1st..6th next output; at the latest in 0.5..3 s.
                    self.users[i].app.crash_in = Some(self.rng.gen_range(0..6));
                    let after = self.ms(500..3000);
                    self.schedule(i, Action::CrashNow, after);
                } else {
                    self.crash(i, false);
                }
            }
            Action::CrashNow => {
                if self.users[i].app.crash_in.is_some() {
                    self.crash(i, false);
                }
            }
            Action::DropLink => {
                let Some(link) = self.users[i].link.take() else {
                    return;
                };
                self.tally.link_drops += 1;
                if let Some(c) = self.users[i].app.client.as_mut() {
                    c.handle_disconnected(now);
                }
                self.relay_notices_later(link);
                let after = self.ms(self.reconnect_after.clone());
                self.schedule(i, Action::Connect, after);
                self.drain(i);
            }
            Action::Leave => {
                let Some(c) = self.users[i].app.client.as_mut() else {
                    return;
                };
                c.leave(now);
                self.tally.leaves += 1;
                self.drain(i);
                let after = self.ms(100..3000);
                self.schedule(i, Action::Rejoin, after);
            }
            Action::Rejoin => {
                let room = self.users[i].app.room.clone();
                // (A restart in between already joined.)
                if let Some(c) = self.users[i].app.client.as_mut()
                    && c.room().is_none()
                {
                    c.join(room);
                }
                self.drain(i);
            }
            Action::TryAgain => {
                let app = &mut self.users[i].app;
                let Some(c) = app.client.as_mut() else { return };
                if !app.stuck {
                    return;
                }
                app.stuck = false;
                c.resume_key_exchanges(now);
                self.tally.try_again += 1;
                self.drain(i);
            }
            Action::GoHome => {
                // Only a user the relay seated elsewhere than its pair partner, and not in the
                // room it asked for, goes back.
                let seat = |w: &World, j: usize| {
                    w.users[j]
                        .link
                        .filter(|l| l.epoch == w.epoch)
                        .and_then(|l| w.relay.room_of(l.conn).cloned())
                };
                let partner = (0..self.users.len()).find(|&j| j != i && self.users[j].is_pair);
                let mine = seat(self, i);
                let together = mine.is_some() && partner.is_some_and(|j| seat(self, j) == mine);
                let app = &mut self.users[i].app;
                let home = app.room.clone();
                let Some(c) = app.client.as_mut() else { return };
                if together || mine.is_none() || mine.as_ref() == Some(&home) {
                    return;
                }
                c.leave(now);
                c.join(home);
                self.tally.go_home += 1;
                self.drain(i);
            }
            Action::Depart => {
                self.users[i].departed = true;
                self.users[i].app.client = None;
                if let Some(link) = self.users[i].link.take()
                    && link.epoch == self.epoch
                    && self.conns.remove(&link.conn).is_some()
                {
                    self.relay.handle_disconnect(link.conn);
                    self.drain_relay();
                }
            }
        }
    }

    /// The process starts from its disk, and connects.
    fn start(&mut self, i: usize) {
        if self.users[i].app.client.is_some() {
            return;
        }
        let id = &identities()[self.users[i].app.identity];
        let seed = self.seed ^ ((i as u64) << 40);
        let now = self.instant();
        match self.users[i].app.start(id, seed, now) {
            Ok(n) => self.tally.restored_states += n as u64,
            Err(e) => self
                .ledger
                .violation(format!("{}: restart failed: {e}", self.users[i].name)),
        }
        // The user enters the room again (the app remembers which).
        let room = self.users[i].app.room.clone();
        if let Some(c) = self.users[i].app.client.as_mut() {
            c.join(room);
        }
        self.connect(i);
    }

    /// A new connection for the running process; it (re)joins its room.
    fn connect(&mut self, i: usize) {
        if self.users[i].link.is_some() || self.users[i].app.client.is_none() {
            return;
        }
        let now = self.instant();
        let Ok(conn) = self.relay.handle_connect(now) else {
            self.ledger.violation(format!(
                "{}: the relay refused a connection",
                self.users[i].name
            ));
            return;
        };
        let link = Link {
            epoch: self.epoch,
            conn,
        };
        self.conns.insert(conn, i);
        let u = &mut self.users[i];
        u.link = Some(link);
        u.upstream = UpstreamDecoder::default();
        u.link_clock = self.now;
        if let Some(c) = u.app.client.as_mut() {
            c.handle_connected(now);
        }
        self.drain(i);
    }

    /// The user writes (a text, or a timer change) to its contact, if it has one and the app runs;
    /// otherwise it tries again a little later.
    fn write(&mut self, i: usize, action: Action) {
        let now = self.instant();
        let wall = self.wall_ms();
        let u = &mut self.users[i];
        let (Some(c), Some(to)) = (u.app.client.as_mut(), u.app.disk.contact) else {
            u.waits += 1;
            if u.waits < 500 {
                let after = Duration::from_millis(self.rng.gen_range(1000..3000));
                self.schedule(i, action, after);
            }
            return;
        };
        let result = if action == Action::Write {
            u.texts += 1;
            let text = Ledger::next_text(self.seed, &u.name, u.texts, &mut self.rng);
            c.send_text(&to, &text, wall, now)
                .map(|id| (id, Some(text)))
        } else {
            let secs = [0, 30, 3600, 86_400][self.rng.gen_range(0..4)];
            self.tally.timer_changes += 1;
            c.set_timer(&to, secs, wall, now).map(|id| (id, None))
        };
        match result {
            Ok((id, text)) => u.app.pending_writes.push(PendingWrite { id, to, text }),
            Err(e) => {
                let name = u.name.clone();
                self.ledger
                    .violation(format!("{:?} {name}: a write was refused: {e}", self.now));
            }
        }
        self.drain(i);
    }

    /// The process dies; the relay notices the dead connection a little later; the user restarts
    /// the app after a while.
    fn crash(&mut self, i: usize, mid_work: bool) {
        self.tally.crashes += 1;
        if mid_work {
            self.tally.mid_work_crashes += 1;
        }
        let lost = self.users[i].app.crash();
        self.tally.writes_lost_in_crash += lost.len() as u64;
        if let Some(link) = self.users[i].link.take() {
            self.relay_notices_later(link);
        }
        let after = self.ms(self.reconnect_after.clone());
        self.schedule(i, Action::Start, after);
    }

    fn relay_notices_later(&mut self, link: Link) {
        let after = self.ms(self.notice_after.clone());
        self.push(self.now + after, What::RelayNotices { link });
    }

    // ---- world actions ------------------------------------------------------------------------

    fn world_act(&mut self, action: WorldAction) {
        self.log(|| format!("world: {action:?}"));
        match action {
            WorldAction::RelayRestart { graceful } => self.relay_restart(graceful),
            WorldAction::MitmStart {
                len,
                until,
                after_meeting,
            } => {
                let pair: Vec<usize> = (0..self.users.len())
                    .filter(|&i| self.users[i].is_pair)
                    .collect();
                let [a, b] = pair[..] else { return };
                let met = pair
                    .iter()
                    .all(|&i| self.users[i].app.disk.contact.is_some());
                if after_meeting && !met {
                    // Mallory waits until the pair met (else she would be their first contact).
                    if self.now + len + Duration::from_secs(1) < until {
                        let action = WorldAction::MitmStart {
                            len,
                            until,
                            after_meeting,
                        };
                        self.schedule_world(action, Duration::from_secs(1));
                    }
                    return;
                }
                if len > Duration::ZERO {
                    self.schedule_world(WorldAction::MitmEnd, len);
                }
                self.tally.mitm_windows += 1;
                self.relay_restart(false);
                let seed = self.seed ^ self.tally.mitm_windows;
                self.mitm = Some(Mitm::new([a, b], seed, self.mitm_forwards, self.instant()));
            }
            WorldAction::MitmEnd => {
                self.relay_restart(false);
                self.mitm = None;
            }
            WorldAction::FaultsEnd => {
                self.faults_on = false;
                self.settling = true;
                for i in 0..self.users.len() {
                    if !self.users[i].is_pair {
                        self.act(i, Action::Depart);
                    }
                }
            }
            WorldAction::Settle => {
                for i in 0..self.users.len() {
                    if self.users[i].is_pair {
                        self.act(i, Action::TryAgain);
                        self.act(i, Action::GoHome);
                    }
                }
                // The users keep an eye on it.
                self.schedule_world(WorldAction::Settle, Duration::from_secs(5));
            }
        }
    }

    /// A new relay incarnation: every connection drops; every running process reconnects after a
    /// while.
    fn relay_restart(&mut self, graceful: bool) {
        self.tally.relay_restarts += 1;
        let now = self.instant();
        if graceful {
            // Its goodbye reaches the clients before the connections close.
            self.relay.shutdown();
            while let Some(out) = self.relay.poll_output() {
                if let RelayOutput::Send { to, frame } = out
                    && let Some(&i) = self.conns.get(&to)
                    && self.users[i].link.is_some_and(|l| l.conn == to)
                {
                    let bytes = frames::encode_downstream(&frame);
                    if let Some(c) = self.users[i].app.client.as_mut() {
                        c.handle_input(&bytes, now);
                    }
                    self.drain(i);
                }
            }
        }
        self.relay = RelayCore::new(Limits::default());
        self.epoch += 1;
        self.conns.clear();
        for i in 0..self.users.len() {
            if self.users[i].link.take().is_none() {
                continue;
            }
            if let Some(c) = self.users[i].app.client.as_mut() {
                c.handle_disconnected(now);
            }
            self.drain(i);
            let after = self.ms(300..3000);
            self.schedule(i, Action::Connect, after);
        }
        if let Some(m) = self.mitm.as_mut() {
            for c in &mut m.mallory {
                c.handle_disconnected(now);
                c.handle_connected(now);
            }
        }
        for side in 0..2 {
            self.drain_mallory(side);
        }
    }

    // ---- outputs of a user's client -----------------------------------------------------------

    /// Handles every output of user `i`'s client, in order, until there is none (or it crashes).
    fn drain(&mut self, i: usize) {
        loop {
            let Some(out) = self.users[i]
                .app
                .client
                .as_mut()
                .and_then(|c| c.poll_output())
            else {
                break;
            };
            let app = &mut self.users[i].app;
            let before_recording =
                app.crash_before_recording && matches!(out, Output::Event(Event::Message { .. }));
            if before_recording {
                app.crash_before_recording = false;
                self.tally.crashes_before_recording += 1;
            }
            if before_recording || app.crash_point() {
                let name = self.users[i].name.clone();
                self.log(|| format!("{name} crashes in the middle of work"));
                self.crash(i, true);
                return;
            }
            match out {
                Output::Transmit(bytes) => self.client_sent(i, &bytes),
                Output::Persist { peer, state } => self.persist(i, peer, &state),
                Output::Event(event) => self.on_event(i, event),
            }
        }
        if self.users[i]
            .app
            .client
            .as_ref()
            .is_some_and(|c| c.is_broken())
        {
            let name = self.users[i].name.clone();
            self.ledger.violation(format!(
                "{name}: the relay's framing broke (the relay is honest about framing)"
            ));
        }
    }

    /// A `Persist` output: stored on the disk in output order; it commits the writes it covers.
    fn persist(&mut self, i: usize, peer: Fingerprint, state: &[u8]) {
        self.tally.persists += 1;
        let at = self.now;
        let u = &mut self.users[i];
        u.app.store(peer, state);
        let (committed, rest): (Vec<PendingWrite>, Vec<PendingWrite>) =
            std::mem::take(&mut u.app.pending_writes)
                .into_iter()
                .partition(|w| w.to == peer);
        u.app.pending_writes = rest;
        let from = u.app.fp;
        for w in committed {
            self.tally.written += u64::from(w.text.is_some());
            self.ledger.written(Written {
                writer: Some(i),
                from,
                to: w.to,
                id: w.id,
                text: w.text,
                at,
            });
        }
    }

    /// Bytes a client wrote to its connection.
    fn client_sent(&mut self, i: usize, bytes: &[u8]) {
        let Some(link) = self.users[i].link else {
            return;
        };
        let name = self.users[i].name.clone();
        self.record(|| format!("{name} -> relay {}", hex::encode(bytes)));
        let frames = match self.users[i].upstream.feed(bytes) {
            Ok(frames) => frames,
            Err(e) => {
                return self
                    .ledger
                    .violation(format!("{name} sent bytes that are not frames: {e}"));
            }
        };
        let contact = self.users[i].app.disk.contact;
        let side = self.mitm.as_ref().and_then(|m| m.side(i));
        for frame in frames {
            if let Some(p) = frames::upstream_payload(&frame) {
                self.ledger.scan_relay(p);
                self.ledger.sent(
                    p,
                    SendRecord {
                        sender: Some(i),
                        approved: contact,
                    },
                );
                if let Some(side) = side {
                    // Mallory's client facing this victim gets it instead of the relay.
                    let now = self.instant();
                    let frame = frames::downstream_payload_frame(p.to_vec());
                    if let Some(m) = self.mitm.as_mut() {
                        m.mallory[side].handle_frame(frame, now);
                    }
                    self.drain_mallory(side);
                    continue;
                }
            }
            let at = self.now + self.latency;
            self.push(
                at,
                What::ToRelay {
                    user: i,
                    link,
                    frame,
                },
            );
        }
    }

    fn on_event(&mut self, i: usize, event: Event) {
        let now = self.instant();
        let at = self.now;
        let name = self.users[i].name.clone();
        self.log(|| {
            let e: String = format!("{event:?}").chars().take(160).collect();
            format!("{name} sees {e}")
        });
        match event {
            Event::Secure(info) => self.on_secure(i, &info),
            Event::Resumed { peer, approved } => {
                self.tally.resumed += 1;
                let app = &mut self.users[i].app;
                app.stuck = false;
                if approved != app.approved_here.contains(&peer) {
                    self.ledger.violation(format!(
                        "{at:?} {name}: resumed with approved={approved}, but the app approved {:?}",
                        app.approved_here
                    ));
                }
                let (_, approve) = app.decide(&peer);
                if approve && let Some(c) = app.client.as_mut() {
                    app.approved_here.insert(peer);
                    c.approve(&peer, now);
                }
            }
            Event::Message { from, id, text, .. } => {
                // The history first: a message shown again after a restart (never confirmed) is
                // recognised by its id.
                let app = &mut self.users[i].app;
                let dedupe = app.mutation != Mutation::NoDedupe;
                if dedupe && app.disk.history.contains(&(from, id)) {
                    self.tally.shown_again_dropped += 1;
                } else {
                    app.disk.history.insert((from, id));
                    let times = if app.mutation == Mutation::ShowTwice {
                        2
                    } else {
                        1
                    };
                    let (fp, approved) = (app.fp, app.policy_approves(&from));
                    for _ in 0..times {
                        self.tally.shown += 1;
                        self.ledger
                            .shown(at, i, &name, &fp, &from, id, &text, approved);
                    }
                }
                let app = &mut self.users[i].app;
                if let Some(c) = app.client.as_mut() {
                    c.confirm_shown(&from, &[id]);
                    if app.crash_after_recording && !app.crash_before_recording {
                        // Dies before the confirmation (the next output) is stored.
                        app.crash_after_recording = false;
                        app.crash_in = Some(0);
                        self.tally.crashes_after_recording += 1;
                    }
                }
            }
            Event::UnsupportedMessage { .. } => self.ledger.violation(format!(
                "{at:?} {name} showed an unsupported message (nobody sends one)"
            )),
            Event::MessageState { to, id, state } => match state {
                MessageState::Delivered => {
                    self.tally.delivered += 1;
                    let from = self.users[i].app.fp;
                    let receiver = self.users.iter().position(|u| u.app.fp == to);
                    let state = receiver.map(|r| {
                        let disk = &self.users[r].app.disk.conversations;
                        (r, disk.get(&from).map(Vec::as_slice))
                    });
                    self.ledger.delivered(at, (i, &name, &from), &to, id, state);
                }
                MessageState::Waiting => self.tally.waiting += 1,
                MessageState::Sent => {}
            },
            Event::PeerName { from, name: shown } => {
                let app = &self.users[i].app;
                if !app.policy_approves(&from) {
                    self.ledger.violation(format!(
                        "{at:?} {name} showed the display name of an identity it did not approve"
                    ));
                }
                let real = self
                    .users
                    .iter()
                    .find(|u| u.app.fp == from)
                    .map(|u| u.app.display_name.clone())
                    .or_else(|| (from == Mitm::fingerprint()).then(|| "mallory".to_owned()));
                if real.as_deref() != Some(shown.as_str()) {
                    self.ledger.violation(format!(
                        "{at:?} {name} showed a display name that is not the sender's"
                    ));
                }
            }
            Event::Rejected { .. } => self.tally.rejected += 1,
            Event::Redirected { .. } => self.tally.redirected += 1,
            Event::KeyExchangeAborted { .. } => self.tally.aborted += 1,
            Event::KeyExchangeFailed {
                error, retrying, ..
            } => {
                self.tally.failed += 1;
                self.ledger
                    .note(format!("{at:?} {name}: key exchange failed: {error}"));
                if !retrying {
                    self.stopped(i);
                }
            }
            Event::KeyExchangesSuspended { recent } => {
                self.tally.suspended += 1;
                self.ledger.note(format!(
                    "{at:?} {name}: key exchanges suspended after {recent} aborts"
                ));
                self.stopped(i);
            }
            Event::RelayError { code, message } => self
                .ledger
                .note(format!("{at:?} {name}: relay error {code:?}: {message}")),
            Event::RelayProtocolViolation { reason } => self
                .ledger
                .violation(format!("{at:?} {name}: relay framing broken: {reason}")),
            Event::Joined { .. }
            | Event::WaitingForPeer
            | Event::PeerLeft
            | Event::KeyExchangeStarted
            | Event::TimerChanged { .. } => {}
        }
    }

    /// The client stopped by itself and waits for the user: during the settle phase the user asks
    /// again a second later.
    fn stopped(&mut self, i: usize) {
        self.users[i].app.stuck = true;
        if self.settling {
            self.schedule(i, Action::TryAgain, Duration::from_secs(1));
        }
    }

    fn on_secure(&mut self, i: usize, info: &SecureInfo) {
        self.tally.key_exchanges += 1;
        let now = self.instant();
        let at = self.now;
        let name = self.users[i].name.clone();
        let fp = info.peer.fingerprint();
        let own = identities()[self.users[i].app.identity].public();
        if info.safety_number != safety_number(own, &info.peer) {
            self.ledger.violation(format!(
                "{at:?} {name}: the safety number is not the one of the two identities"
            ));
        }
        let is_mallory = fp == Mitm::fingerprint();
        let is_user = self
            .users
            .iter()
            .any(|u| u.app.fp == fp && u.app.fp != own.fingerprint());
        if is_mallory {
            self.tally.mitm_sessions += 1;
            if self.mitm.is_none() {
                self.ledger.violation(format!(
                    "{at:?} {name}: secure with Mallory, who is not there"
                ));
            }
        } else if !is_user {
            self.ledger.violation(format!(
                "{at:?} {name}: secure with an identity no other user has"
            ));
        }
        let app = &mut self.users[i].app;
        if info.approved != app.approved_here.contains(&fp) {
            self.ledger.violation(format!(
                "{at:?} {name}: the session says approved={}, but the app approved {:?}",
                info.approved, app.approved_here
            ));
        }
        let (trust, approve) = app.decide(&fp);
        app.stuck = false;
        if trust == Trust::Changed {
            self.tally.changed_identity += 1;
        }
        if approve && let Some(c) = app.client.as_mut() {
            app.approved_here.insert(fp);
            c.approve(&fp, now);
        }
        if trust == Trust::FirstSeen {
            self.maybe_start_newcomers();
        }
    }

    /// Newcomers arrive once both pair users have met someone (so that the pair's first contact
    /// is each other).
    fn maybe_start_newcomers(&mut self) {
        let met = self
            .users
            .iter()
            .filter(|u| u.is_pair)
            .all(|u| u.app.disk.contact.is_some());
        if !met || self.newcomers.is_empty() {
            return;
        }
        for n in std::mem::take(&mut self.newcomers) {
            let after = self.ms(500..10_000);
            if self.now + after < self.newcomers_until {
                self.tally.newcomers += 1;
                self.schedule(n, Action::Start, after);
                let writes = self.rng.gen_range(0..=2);
                for _ in 0..writes {
                    let later = after + self.ms(500..15_000);
                    self.schedule(n, Action::Write, later);
                }
            }
        }
    }

    // ---- the relay ----------------------------------------------------------------------------

    fn drain_relay(&mut self) {
        while let Some(out) = self.relay.poll_output() {
            match out {
                RelayOutput::Send { to, frame } => {
                    let Some(&i) = self.conns.get(&to) else {
                        continue;
                    };
                    let link = Link {
                        epoch: self.epoch,
                        conn: to,
                    };
                    if self.users[i].link == Some(link) {
                        self.relay_sends(i, link, frame);
                    }
                }
                RelayOutput::Close { conn, code } => {
                    let Some(i) = self.conns.remove(&conn) else {
                        continue;
                    };
                    self.relay.handle_disconnect(conn);
                    let name = self.users[i].name.clone();
                    self.ledger
                        .note(format!("{:?} relay closed {name} ({code:?})", self.now));
                    if self.users[i].link.is_some_and(|l| l.conn == conn) {
                        self.users[i].link = None;
                        let now = self.instant();
                        if let Some(c) = self.users[i].app.client.as_mut() {
                            c.handle_disconnected(now);
                        }
                        self.drain(i);
                        self.schedule(i, Action::Connect, Duration::from_secs(2));
                    }
                }
            }
        }
    }

    /// The adversary's turn: what the relay does with a frame for user `i`.
    fn relay_sends(&mut self, i: usize, link: Link, frame: Downstream) {
        if let Some(side) = self.mitm.as_ref().and_then(|m| m.side(i)) {
            if frames::downstream_payload(&frame).is_some() {
                return; // the real peer never reaches a victim: Mallory answers instead
            }
            let to_mallory = if frames::is_peer_joined(&frame) {
                Some(frames::peer_joined())
            } else if frames::is_peer_gone(&frame) {
                Some(frames::peer_left())
            } else {
                None
            };
            self.deliver(i, link, &frame, false);
            if let Some(f) = to_mallory {
                let now = self.instant();
                if let Some(m) = self.mitm.as_mut() {
                    m.mallory[side].handle_frame(f, now);
                }
                self.drain_mallory(side);
            }
            return;
        }
        let Some(payload) = frames::downstream_payload(&frame).map(<[u8]>::to_vec) else {
            return self.deliver(i, link, &frame, false);
        };
        if !self.faults_on {
            return self.deliver(i, link, &frame, false);
        }
        let f = self.faults.clone();
        let mut deliveries: Vec<(Vec<u8>, bool)> = Vec::new();
        if self.rng.gen_bool(f.drop) {
            self.tally.dropped += 1;
        } else {
            let mut p = payload;
            if self.rng.gen_bool(f.tamper) && !p.is_empty() {
                let bit = self.rng.gen_range(0..p.len() * 8);
                p[bit / 8] ^= 1 << (bit % 8);
                self.tally.tampered += 1;
            }
            let reorder = self.rng.gen_bool(f.delay);
            self.tally.delayed += u64::from(reorder);
            if self.rng.gen_bool(f.duplicate) {
                self.tally.duplicated += 1;
                deliveries.push((p.clone(), true));
            }
            deliveries.push((p, reorder));
        }
        // Replay: an old payload of another user's; reflect: one of the recipient's own.
        if self.rng.gen_bool(f.replay)
            && let Some(pick) = self.pick_seen(|from| from != i)
        {
            self.tally.replayed += 1;
            deliveries.push((pick, true));
        }
        if self.rng.gen_bool(f.reflect)
            && let Some(pick) = self.pick_seen(|from| from == i)
        {
            self.tally.reflected += 1;
            deliveries.push((pick, true));
        }
        if self.rng.gen_bool(f.inject) {
            self.tally.injected += 1;
            let len = self.rng.gen_range(1..1200);
            let mut junk = vec![0u8; len];
            self.rng.fill(junk.as_mut_slice());
            if self.rng.gen_bool(0.5) && junk.len() > 2 {
                // Shaped like a v2 envelope of a random type, sometimes of the right size.
                junk[0] = 0x02;
                junk[1] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10][self.rng.gen_range(0..7)];
            }
            deliveries.push((junk, false));
        }
        if self.rng.gen_bool(f.substitute) && !self.foreign.is_empty() {
            self.tally.substituted += 1;
            let pick = self.foreign[self.rng.gen_range(0..self.foreign.len())].clone();
            deliveries.push((pick, false));
        }
        for (p, reorder) in deliveries {
            self.deliver(i, link, &frames::downstream_payload_frame(p), reorder);
        }
    }

    /// A random payload the relay saw earlier from a user `from_ok` accepts.
    fn pick_seen(&mut self, from_ok: impl Fn(usize) -> bool) -> Option<Vec<u8>> {
        let candidates: Vec<usize> = (0..self.seen.len())
            .filter(|&k| from_ok(self.seen[k].0))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let k = candidates[self.rng.gen_range(0..candidates.len())];
        Some(self.seen[k].1.clone())
    }

    /// Schedules one frame from the relay to user `i`: FIFO on the link unless `reorder`.
    fn deliver(&mut self, i: usize, link: Link, frame: &Downstream, reorder: bool) {
        let bytes = frames::encode_downstream(frame);
        let name = self.users[i].name.clone();
        self.record(|| format!("relay -> {name} {}", hex::encode(&bytes)));
        let base = self.now + self.latency;
        let at = if reorder {
            base + self.ms(50..3000)
        } else {
            let at = base.max(self.users[i].link_clock);
            self.users[i].link_clock = at;
            at
        };
        let payload = frames::downstream_payload(frame).map(<[u8]>::to_vec);
        self.push(
            at,
            What::ToUser {
                user: i,
                link,
                bytes,
                payload,
            },
        );
    }

    // ---- Mallory ------------------------------------------------------------------------------

    fn drain_mallory(&mut self, side: usize) {
        let now = self.instant();
        let at = self.now;
        loop {
            let Some(m) = self.mitm.as_mut() else { return };
            let victim = m.victims[side];
            let Some(out) = m.mallory[side].poll_output() else {
                return;
            };
            match out {
                Output::Transmit(bytes) => {
                    let Some(link) = self.users[victim].link else {
                        continue;
                    };
                    for p in frames::payloads_in(&bytes) {
                        self.ledger.sent(
                            &p,
                            SendRecord {
                                sender: None,
                                approved: None,
                            },
                        );
                        self.deliver(victim, link, &frames::downstream_payload_frame(p), false);
                    }
                }
                Output::Persist { .. } => {}
                Output::Event(event) => self.mallory_event(side, event, now, at),
            }
        }
    }

    /// What Mallory's client learns. She approves every victim (she wants to read), writes each one
    /// message, and in `forward` mode passes on what she reads. Whatever reaches her from a victim
    /// who did not approve her is a breach of the trust gate.
    fn mallory_event(&mut self, side: usize, event: Event, now: Instant, at: Duration) {
        let Some(m) = self.mitm.as_mut() else { return };
        let victim = m.victims[side];
        let victim_fp = self.users[victim].app.fp;
        let other_fp = self.users[m.victims[1 - side]].app.fp;
        let approved_by_victim = self.users[victim].app.policy_approves(&Mitm::fingerprint());
        let vname = self.users[victim].name.clone();
        let mut breach = None;
        let mut writes: Vec<(Fingerprint, usize, String)> = Vec::new();
        match event {
            Event::Secure(info) => {
                let fp = info.peer.fingerprint();
                m.mallory[side].approve(&fp, now);
                m.written += 1;
                writes.push((
                    victim_fp,
                    side,
                    format!("mallory#{} to {vname} s{}", m.written, self.seed),
                ));
            }
            Event::Message { text, .. } => {
                m.read.push(text.clone());
                breach = Some("a text");
                if m.forward {
                    m.written += 1;
                    writes.push((other_fp, 1 - side, format!("fwd#{} {text}", m.written)));
                }
            }
            Event::PeerName { .. } => {
                m.profiles += 1;
                breach = Some("its display name");
            }
            Event::MessageState {
                state: MessageState::Delivered,
                ..
            } => {
                m.acks += 1;
                breach = Some("an Ack");
            }
            _ => {}
        }
        if let Some(what) = breach
            && !approved_by_victim
        {
            self.ledger.violation(format!(
                "{at:?} Mallory received {what} from {vname}, who never approved her"
            ));
        }
        let from = Mitm::fingerprint();
        for (to, side, text) in writes {
            let Some(m) = self.mitm.as_mut() else { return };
            let wall = EPOCH_MS + at.as_millis() as u64;
            if let Ok(id) = m.mallory[side].send_text(&to, &text, wall, now) {
                self.ledger.written(Written {
                    writer: None,
                    from,
                    to,
                    id,
                    text: Some(text),
                    at,
                });
            }
        }
    }

    // ---- invariants checked on the side -------------------------------------------------------

    /// The wire tap (invariant 4): a copy of the receiving session decrypts what arrives. In one
    /// seed in four it decrypts everything; in the others only what a gate breach could be: an
    /// envelope its sender sent while its app approved another identity than the receiver's, or
    /// none (a DH ratchet step costs milliseconds, and the tap would double them).
    fn tap(&mut self, i: usize, payload: &[u8]) {
        if !self.tap_all && !self.ledger.might_breach(payload, &self.users[i].app.fp) {
            return;
        }
        let Some(session) = self.users[i].app.client.as_ref().and_then(|c| c.session()) else {
            return;
        };
        let mut copy = session.clone();
        let Ok(incoming) = copy.decrypt(payload, &mut self.tap_rng) else {
            return;
        };
        let from = copy.peer_identity().fingerprint();
        let sender_name = self
            .users
            .iter()
            .find(|u| u.app.fp == from)
            .map(|u| u.app.display_name.clone());
        let u = &self.users[i];
        self.ledger.tapped(
            self.now,
            (&u.name, &u.app.fp),
            &from,
            &incoming.content,
            payload,
            sender_name.as_deref(),
        );
        self.tally.tapped = self.ledger.tapped;
    }

    /// After every step: a session the client treats as approved is one the app approved, and the
    /// policy approves (invariant 4, through the client's state).
    fn check_after_step(&mut self) {
        for i in 0..self.users.len() {
            let app = &self.users[i].app;
            let Some((fp, true)) = app.client.as_ref().and_then(|c| c.secure_peer()) else {
                continue;
            };
            if (!app.approved_here.contains(&fp) || !app.policy_approves(&fp))
                && self.approval_violations.insert((i, fp))
            {
                let name = self.users[i].name.clone();
                self.ledger.violation(format!(
                    "{:?} {name}: the client treats {} as approved, but the app's policy does not",
                    self.now,
                    &fp.to_hex()[..8]
                ));
            }
        }
    }

    // ---- getters for the scenarios --------------------------------------------------------------

    /// The client of user `i`, if its process runs.
    pub fn client(&self, i: usize) -> Option<&sans_io_proto::Client<ChaCha20Rng>> {
        self.users[i].app.client.as_ref()
    }

    /// Mallory's state, if she is in the middle now.
    pub fn mallory(&self) -> Option<&Mitm> {
        self.mitm.as_ref()
    }
}
