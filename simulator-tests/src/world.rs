//! The simulated world: a clock, a relay ([`RelayCore`]), clients ([`Client`]) and a network queue
//! of timed deliveries, advanced one event at a time (quinn-proto's test `Pair`, generalised).
//!
//! Client → relay frames travel in order (a QUIC stream). Relay → client Payload frames pass the
//! fault model first: the relay is the adversary, so that is where drops, duplicates, delays,
//! tampering, replays, reflections, injections and substitutions happen.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use quic_relay::core::{ConnId, Limits, RelayCore, RelayOutput};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName};
use sans_io_proto::{Client, ClientConfig, Event, IdentityKeyPair, Output, SecureInfo};

use crate::faults::Faults;
use crate::identities::identities;
use crate::invariants::Ledger;

/// Something scheduled to happen.
#[derive(Debug)]
enum What {
    /// A frame reaches the relay from a client's connection.
    ToRelay {
        client: usize,
        conn: ConnId,
        frame: ClientFrame,
    },
    /// Bytes reach a client from the relay.
    ToClient {
        client: usize,
        conn: ConnId,
        bytes: Vec<u8>,
    },
    /// A scripted action of a client.
    Action { client: usize, action: Action },
}

/// Scripted client actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Open a connection and join the client's room.
    Connect,
    /// Send the next chat message (if secure).
    SendText,
    /// Lose all state abruptly (process crash); the client reconnects later.
    Crash,
    /// Leave the room, then rejoin shortly after.
    Leave,
    /// Join again after a Leave.
    Rejoin,
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
pub struct SimClient {
    /// A name for messages and traces.
    pub name: String,
    /// Index into the fixed identities.
    pub identity: usize,
    /// The room this user asks for.
    pub room: RoomName,
    /// Chat messages still to send.
    pub to_send: u32,
    /// Messages sent so far.
    pub sent: u32,
    /// The current connection's protocol state (`None` while disconnected).
    pub client: Option<Client<ChaCha20Rng>>,
    /// The current connection.
    pub conn: Option<ConnId>,
    /// The current secure session, as announced by the client.
    pub secure: Option<SecureInfo>,
    /// Sequence numbers sent in the current session (for checking acks).
    pub session_seqs: std::collections::HashSet<u64>,
    upstream: FrameDecoder<ClientFrame>,
    connections: u64,
    /// Last scheduled arrival on the relay → client link (keeps the link FIFO).
    link_clock: Duration,
    /// Counters.
    pub stats: ClientStats,
}

/// What happened to one client.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientStats {
    /// Secure sessions established.
    pub secure: u32,
    /// Failed key exchanges.
    pub handshake_failures: u32,
    /// Messages received and shown.
    pub received: u32,
    /// Delivery receipts received.
    pub acked: u32,
    /// Payloads refused (forged, duplicate, ...).
    pub rejected: u32,
    /// Times redirected.
    pub redirected: u32,
}

/// The world.
pub struct World {
    /// The seed everything derives from.
    pub seed: u64,
    rng: ChaCha20Rng,
    base: Instant,
    now: Duration,
    relay: RelayCore,
    /// The users.
    pub clients: Vec<SimClient>,
    conn_owner: HashMap<ConnId, usize>,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    /// The fault probabilities in force.
    pub faults: Faults,
    latency: Duration,
    /// Payloads the relay has seen, by sender (for replays, reflections, substitutions).
    seen: Vec<(usize, Vec<u8>)>,
    /// Payloads from elsewhere, for substitution.
    foreign: Vec<Vec<u8>>,
    /// What was sent, received and checked.
    pub ledger: Ledger,
    /// Every frame on the wire, when recording (golden transcripts).
    pub trace: Option<Vec<String>>,
    /// Set by the man-in-the-middle scenario: Secure peers are then *expected* to be wrong, and
    /// what must hold instead is that the two sides' safety numbers differ.
    pub mitm: Option<crate::scenario::Mitm>,
}

impl World {
    /// An empty world for `seed` with these faults.
    pub fn new(seed: u64, faults: Faults, foreign: Vec<Vec<u8>>) -> World {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let latency = Duration::from_millis(rng.gen_range(1..80));
        World {
            seed,
            rng,
            base: Instant::now(),
            now: Duration::ZERO,
            relay: RelayCore::new(Limits::default()),
            clients: Vec::new(),
            conn_owner: HashMap::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            faults,
            latency,
            seen: Vec::new(),
            foreign,
            ledger: Ledger::default(),
            trace: None,
            mitm: None,
        }
    }

    /// The simulated time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now
    }

    fn instant(&self) -> Instant {
        self.base + self.now
    }

    /// The world's RNG (scripts draw from it so that one seed decides everything).
    pub fn rng(&mut self) -> &mut ChaCha20Rng {
        &mut self.rng
    }

    /// Adds a user; returns its index.
    pub fn add_client(&mut self, name: &str, identity: usize, room: &str, to_send: u32) -> usize {
        self.clients.push(SimClient {
            name: name.to_owned(),
            identity,
            room: RoomName::new(room).unwrap_or_else(|e| panic!("bad room {room}: {e}")),
            to_send,
            sent: 0,
            client: None,
            conn: None,
            secure: None,
            session_seqs: Default::default(),
            upstream: FrameDecoder::new(),
            connections: 0,
            link_clock: Duration::ZERO,
            stats: ClientStats::default(),
        });
        self.clients.len() - 1
    }

    /// Schedules a scripted action `after` from now.
    pub fn schedule(&mut self, client: usize, action: Action, after: Duration) {
        self.push(self.now + after, What::Action { client, action });
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
            trace.push(line());
        }
    }

    /// Runs until nothing is scheduled before `limit` (keepalives aside), or `limit` is reached.
    pub fn run(&mut self, limit: Duration) {
        while let Some(at) = self.next_event_time() {
            if at > limit {
                break;
            }
            self.now = self.now.max(at);
            self.step();
            if self.busy_only_with_keepalives() {
                break;
            }
        }
    }

    /// True when nothing but timers is pending and no client is mid-handshake or has messages
    /// left to send while secure.
    fn busy_only_with_keepalives(&self) -> bool {
        self.queue.is_empty()
            && self.clients.iter().all(|c| match &c.client {
                None => true,
                Some(client) => {
                    !client.is_exchanging_keys()
                        && !client.is_retry_scheduled()
                        && (!client.is_secure() || c.to_send == 0)
                }
            })
    }

    fn next_event_time(&self) -> Option<Duration> {
        let queued = self.queue.peek().map(|Reverse(s)| s.at);
        let timers = self
            .clients
            .iter()
            .filter_map(|c| c.client.as_ref().and_then(|cl| cl.poll_timeout()))
            .chain(self.relay.poll_timeout())
            .map(|t| t.saturating_duration_since(self.base))
            .min();
        match (queued, timers) {
            (Some(q), Some(t)) => Some(q.min(t)),
            (q, t) => q.or(t),
        }
    }

    fn step(&mut self) {
        let now_instant = self.instant();
        // Timers first (they are due at or before the queue head).
        for i in 0..self.clients.len() {
            let due = self.clients[i]
                .client
                .as_ref()
                .and_then(|c| c.poll_timeout())
                .is_some_and(|t| t <= now_instant);
            if due {
                if let Some(c) = self.clients[i].client.as_mut() {
                    c.handle_timeout(now_instant);
                }
                self.drain_client(i);
            }
        }
        if self.relay.poll_timeout().is_some_and(|t| t <= now_instant) {
            self.relay.handle_timeout(now_instant);
            self.drain_relay();
        }
        let due = self.queue.peek().is_some_and(|Reverse(s)| s.at <= self.now);
        if !due {
            return;
        }
        let Some(Reverse(item)) = self.queue.pop() else {
            return;
        };
        match item.what {
            What::ToRelay {
                client,
                conn,
                frame,
            } => {
                if self.clients[client].conn != Some(conn) {
                    return; // the connection died meanwhile
                }
                if let ClientFrame::Payload(bytes) = &frame {
                    self.ledger
                        .scan_relay_payload(bytes, &self.clients, identities());
                    self.seen.push((client, bytes.clone()));
                }
                self.relay.handle_frame(conn, frame, now_instant);
                self.drain_relay();
            }
            What::ToClient {
                client,
                conn,
                bytes,
            } => {
                if self.clients[client].conn != Some(conn) {
                    return;
                }
                if let Some(c) = self.clients[client].client.as_mut() {
                    c.handle_input(&bytes, now_instant);
                }
                self.drain_client(client);
            }
            What::Action { client, action } => self.act(client, action),
        }
        self.ledger
            .check_after_step(&self.clients, self.mitm.is_some());
    }

    fn act(&mut self, i: usize, action: Action) {
        let now = self.instant();
        match action {
            Action::Connect => {
                if self.clients[i].client.is_some() {
                    return;
                }
                let Ok(conn) = self.relay.handle_connect(now) else {
                    return;
                };
                let c = &mut self.clients[i];
                c.connections += 1;
                let rng = ChaCha20Rng::seed_from_u64(
                    self.seed ^ ((i as u64) << 40) ^ (c.connections << 32),
                );
                let config = ClientConfig {
                    display_name: Some(c.name.clone()),
                };
                let mut client = Client::new(identities()[c.identity].clone(), config, rng, now);
                client.join(c.room.clone());
                c.client = Some(client);
                c.conn = Some(conn);
                c.secure = None;
                c.upstream = FrameDecoder::new();
                c.link_clock = self.now;
                self.conn_owner.insert(conn, i);
                self.drain_client(i);
            }
            Action::SendText => {
                let c = &mut self.clients[i];
                let (Some(client), Some(info)) = (c.client.as_mut(), c.secure.as_ref()) else {
                    return;
                };
                if c.to_send == 0 {
                    return;
                }
                let text = self
                    .ledger
                    .next_text(self.seed, &c.name, c.sent, &mut self.rng);
                match client.send_text(&text, 0) {
                    Ok(seq) => {
                        c.to_send -= 1;
                        c.sent += 1;
                        c.session_seqs.insert(seq);
                        self.ledger.sent(text, i, info.key_visual.as_bytes());
                    }
                    Err(e) => self
                        .ledger
                        .violation(format!("{}: send while secure failed: {e}", c.name)),
                }
                self.drain_client(i);
            }
            Action::Crash => {
                let after = Duration::from_millis(self.rng.gen_range(300..3000));
                self.disconnect(i, after);
            }
            Action::Leave => {
                if let Some(client) = self.clients[i].client.as_mut() {
                    client.leave();
                    self.clients[i].secure = None;
                    self.drain_client(i);
                    let after = Duration::from_millis(self.rng.gen_range(100..2000));
                    self.schedule(i, Action::Rejoin, after);
                }
            }
            Action::Rejoin => {
                let room = self.clients[i].room.clone();
                if let Some(client) = self.clients[i].client.as_mut() {
                    client.join(room);
                    self.drain_client(i);
                }
            }
        }
    }

    /// Drops a client's connection and state; it reconnects `after`.
    fn disconnect(&mut self, i: usize, after: Duration) {
        let c = &mut self.clients[i];
        let Some(conn) = c.conn.take() else { return };
        c.client = None;
        c.secure = None;
        self.conn_owner.remove(&conn);
        self.relay.handle_disconnect(conn);
        self.drain_relay();
        self.schedule(i, Action::Connect, after);
    }

    fn drain_client(&mut self, i: usize) {
        while let Some(out) = self.clients[i]
            .client
            .as_mut()
            .and_then(|c| c.poll_output())
        {
            match out {
                Output::Transmit(bytes) => self.client_sent(i, &bytes),
                Output::Event(event) => self.on_event(i, event),
            }
        }
        if self.clients[i]
            .client
            .as_ref()
            .is_some_and(|c| c.is_broken())
        {
            self.ledger.violation(format!(
                "{}: the honest relay broke the framing",
                self.clients[i].name
            ));
        }
    }

    fn client_sent(&mut self, i: usize, bytes: &[u8]) {
        let Some(conn) = self.clients[i].conn else {
            return;
        };
        let name = self.clients[i].name.clone();
        self.record(|| format!("{} -> relay {}", name, hex::encode(bytes)));
        if self.mitm.as_ref().is_some_and(|m| m.intercepts(i)) {
            // Payloads go to Mallory's client facing this victim instead of the relay.
            let mut frames = Vec::new();
            let c = &mut self.clients[i];
            c.upstream.push(bytes);
            while let Ok(Some(frame)) = c.upstream.next_frame() {
                frames.push(frame);
            }
            for frame in frames {
                match frame {
                    ClientFrame::Payload(p) => {
                        self.ledger
                            .scan_relay_payload(&p, &self.clients, identities());
                        let now = self.base + self.now;
                        let replies = self
                            .mitm
                            .as_mut()
                            .map(|m| m.from_victim(i, &p, now))
                            .unwrap_or_default();
                        self.mitm_replies(replies);
                    }
                    other => {
                        let at = self.now + self.latency;
                        self.push(
                            at,
                            What::ToRelay {
                                client: i,
                                conn,
                                frame: other,
                            },
                        );
                    }
                }
            }
            return;
        }
        let c = &mut self.clients[i];
        c.upstream.push(bytes);
        let mut frames = Vec::new();
        loop {
            match c.upstream.next_frame() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => {
                    self.ledger
                        .violation(format!("{name} sent bytes that are not frames: {e}"));
                    break;
                }
            }
        }
        for frame in frames {
            let at = self.now + self.latency;
            self.push(
                at,
                What::ToRelay {
                    client: i,
                    conn,
                    frame,
                },
            );
        }
    }

    /// Delivers what Mallory's clients send to their victims.
    fn mitm_replies(&mut self, replies: Vec<(usize, Vec<u8>)>) {
        for (victim, payload) in replies {
            if let Some(conn) = self.clients[victim].conn {
                let bytes = RelayFrame::Payload(payload).to_bytes();
                let at = self.link_time(victim, false);
                self.push(
                    at,
                    What::ToClient {
                        client: victim,
                        conn,
                        bytes,
                    },
                );
            }
        }
    }

    fn drain_relay(&mut self) {
        while let Some(out) = self.relay.poll_output() {
            match out {
                RelayOutput::Send { to, frame } => {
                    let Some(&i) = self.conn_owner.get(&to) else {
                        continue;
                    };
                    self.relay_sends(i, to, frame);
                }
                RelayOutput::Close { conn, code } => {
                    let Some(&i) = self.conn_owner.get(&conn) else {
                        continue;
                    };
                    self.ledger
                        .note(format!("relay closed {} ({code:?})", self.clients[i].name));
                    self.disconnect(i, Duration::from_secs(2));
                }
            }
        }
    }

    /// Arrival time on the relay → client link: FIFO unless `reorder`.
    fn link_time(&mut self, i: usize, reorder: bool) -> Duration {
        let base = self.now + self.latency;
        if reorder {
            return base + Duration::from_millis(self.rng.gen_range(50..3000));
        }
        let at = base.max(self.clients[i].link_clock);
        self.clients[i].link_clock = at;
        at
    }

    fn relay_sends(&mut self, i: usize, conn: ConnId, frame: RelayFrame) {
        if self.mitm.as_ref().is_some_and(|m| m.intercepts(i)) {
            match &frame {
                // The victim's real peer never reaches it: Mallory answers instead.
                RelayFrame::Payload(_) => return,
                RelayFrame::PeerJoined => {
                    let now = self.base + self.now;
                    let replies = self
                        .mitm
                        .as_mut()
                        .map(|m| m.peer_joined(i, now))
                        .unwrap_or_default();
                    self.relay_to_client(i, conn, &frame, false);
                    self.mitm_replies(replies);
                    return;
                }
                _ => {}
            }
        }
        let RelayFrame::Payload(payload) = frame else {
            self.relay_to_client(i, conn, &frame, false);
            return;
        };
        // The adversary's turn.
        let f = self.faults.clone();
        let mut deliveries: Vec<(Vec<u8>, bool)> = Vec::new();
        if !self.rng.gen_bool(f.drop) {
            let mut p = payload.clone();
            if self.rng.gen_bool(f.tamper) && !p.is_empty() {
                let bit = self.rng.gen_range(0..p.len() * 8);
                p[bit / 8] ^= 1 << (bit % 8);
                self.ledger.forged += 1;
            }
            let reorder = self.rng.gen_bool(f.delay);
            deliveries.push((p.clone(), reorder));
            if self.rng.gen_bool(f.duplicate) {
                deliveries.push((p, true));
            }
        }
        // Replay: an old payload of the peer's; reflect: one of the recipient's own.
        if self.rng.gen_bool(f.replay)
            && let Some(pick) = self.pick_seen(|from| from != i)
        {
            deliveries.push((pick, true));
        }
        if self.rng.gen_bool(f.reflect)
            && let Some(pick) = self.pick_seen(|from| from == i)
        {
            deliveries.push((pick, true));
        }
        if self.rng.gen_bool(f.inject) {
            let len = self.rng.gen_range(1..1200);
            let mut junk = vec![0u8; len];
            self.rng.fill(junk.as_mut_slice());
            if self.rng.gen_bool(0.5) && junk.len() > 2 {
                junk[0] = 0x01; // look like an envelope
                junk[1] = [0x01, 0x02, 0x03, 0x04, 0x10][self.rng.gen_range(0..5)];
            }
            deliveries.push((junk, false));
        }
        if self.rng.gen_bool(f.substitute) && !self.foreign.is_empty() {
            let pick = self.foreign[self.rng.gen_range(0..self.foreign.len())].clone();
            deliveries.push((pick, false));
        }
        for (p, reorder) in deliveries {
            self.relay_to_client(i, conn, &RelayFrame::Payload(p), reorder);
        }
    }

    /// A random payload the relay saw earlier from a client `from_ok` accepts.
    fn pick_seen(&mut self, from_ok: impl Fn(usize) -> bool) -> Option<Vec<u8>> {
        let candidates: Vec<&Vec<u8>> = self
            .seen
            .iter()
            .filter(|(from, _)| from_ok(*from))
            .map(|(_, p)| p)
            .collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.rng.gen_range(0..candidates.len())].clone())
    }

    /// Records and schedules one frame from the relay to client `i` over connection `conn`.
    fn relay_to_client(&mut self, i: usize, conn: ConnId, frame: &RelayFrame, reorder: bool) {
        let bytes = frame.to_bytes();
        let name = self.clients[i].name.clone();
        self.record(|| format!("relay -> {} {}", name, hex::encode(&bytes)));
        let at = self.link_time(i, reorder);
        self.push(
            at,
            What::ToClient {
                client: i,
                conn,
                bytes,
            },
        );
    }

    fn on_event(&mut self, i: usize, event: Event) {
        let now = self.now;
        match event {
            Event::Secure(info) => {
                let c = &mut self.clients[i];
                c.stats.secure += 1;
                c.session_seqs.clear();
                c.secure = Some(*info);
                self.ledger
                    .check_secure(i, &self.clients, &self.relay, self.mitm.as_ref());
                // Start talking: spread this client's messages over the next seconds.
                let pending = self.clients[i].to_send;
                for _ in 0..pending {
                    let after = Duration::from_millis(self.rng.gen_range(10..4000));
                    self.schedule(i, Action::SendText, after);
                }
            }
            Event::Message { text, .. } => {
                self.clients[i].stats.received += 1;
                self.ledger
                    .received(i, &text, &self.clients, self.mitm.is_some());
            }
            Event::Delivered { seq } => {
                let c = &mut self.clients[i];
                c.stats.acked += 1;
                if !c.session_seqs.contains(&seq) {
                    let name = c.name.clone();
                    self.ledger.violation(format!(
                        "{name}: receipt for seq {seq} it never sent in this session"
                    ));
                }
            }
            Event::KeyExchangeFailed { error } => {
                self.clients[i].stats.handshake_failures += 1;
                self.ledger.note(format!(
                    "{:?} {}: key exchange failed: {error}",
                    now, self.clients[i].name
                ));
            }
            Event::Rejected { .. } => self.clients[i].stats.rejected += 1,
            Event::Redirected { .. } => self.clients[i].stats.redirected += 1,
            Event::PeerLeft | Event::WaitingForPeer => self.clients[i].secure = None,
            Event::KeyExchangeStarted => self.clients[i].secure = None,
            Event::RelayProtocolViolation { reason } => {
                self.ledger.violation(format!(
                    "{}: relay framing broken: {reason}",
                    self.clients[i].name
                ));
            }
            Event::Joined { .. } | Event::PeerName { .. } | Event::RelayError { .. } => {}
        }
    }

    /// The relay's view: which connection sits opposite `i` in its room, if any.
    pub fn peer_of(&self, i: usize) -> Option<usize> {
        let conn = self.clients[i].conn?;
        let room = self.relay.room_of(conn)?;
        self.clients
            .iter()
            .enumerate()
            .find(|(j, c)| *j != i && c.conn.and_then(|cn| self.relay.room_of(cn)) == Some(room))
            .map(|(j, _)| j)
    }

    /// The identity of client `i`.
    pub fn identity_of(&self, i: usize) -> &'static IdentityKeyPair {
        &identities()[self.clients[i].identity]
    }
}
