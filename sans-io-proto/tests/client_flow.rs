//! The long-lived `Client` end to end through a minimal in-test relay (two seats, PeerJoined /
//! PeerLeft, payload forwarding): approval gate, outbox and acks, resumption after a reconnect, a
//! crash with restored delivery state, the timer (PROTOCOL.md §5.10, §7).

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{alice, bob, rng};
use rand_chacha::ChaCha20Rng;
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName};
use sans_io_proto::{Client, ClientConfig, Event, Fingerprint, MessageState, Output};

struct Side {
    client: Client<ChaCha20Rng>,
    connected: bool,
    /// Last stored delivery state per peer (what the app would keep on disk).
    disk: HashMap<Fingerprint, Vec<u8>>,
    events: Vec<Event>,
    /// Whether a Persist came before each Message event (exactly-once across crashes needs it).
    persisted_before_show: bool,
}

struct World {
    now: Instant,
    sides: [Side; 2],
    decoders: [FrameDecoder<ClientFrame>; 2],
    seated: [bool; 2],
}

fn side(id: usize, name: &str, seed: u64, now: Instant) -> Side {
    let identity = if id == 0 { alice() } else { bob() };
    Side {
        client: Client::new(
            identity.clone(),
            ClientConfig {
                display_name: Some(name.into()),
                resume: true,
            },
            rng(seed),
            now,
        ),
        connected: false,
        disk: HashMap::new(),
        events: Vec::new(),
        persisted_before_show: true,
    }
}

impl World {
    fn new() -> Self {
        let now = Instant::now();
        World {
            now,
            sides: [side(0, "Alice", 1, now), side(1, "Bob", 2, now)],
            decoders: [FrameDecoder::default(), FrameDecoder::default()],
            seated: [false, false],
        }
    }

    fn send_to(&mut self, i: usize, frame: RelayFrame) {
        if self.sides[i].connected {
            let now = self.now;
            self.sides[i].client.handle_input(&frame.to_bytes(), now);
        }
    }

    /// The relay's reaction to a client frame.
    fn relay(&mut self, from: usize, frame: ClientFrame) {
        let other = 1 - from;
        match frame {
            ClientFrame::Join { room } => {
                self.seated[from] = true;
                self.send_to(
                    from,
                    RelayFrame::Joined {
                        room,
                        seat: from as u8,
                    },
                );
                if self.seated[other] {
                    self.send_to(from, RelayFrame::PeerJoined);
                    self.send_to(other, RelayFrame::PeerJoined);
                } else {
                    self.send_to(from, RelayFrame::Waiting);
                }
            }
            ClientFrame::Leave => self.unseat(from),
            ClientFrame::Payload(p) if self.seated[other] => {
                self.send_to(other, RelayFrame::Payload(p));
            }
            _ => {}
        }
    }

    fn unseat(&mut self, i: usize) {
        if std::mem::replace(&mut self.seated[i], false) && self.seated[1 - i] {
            self.send_to(1 - i, RelayFrame::PeerLeft);
            self.send_to(1 - i, RelayFrame::Waiting);
        }
    }

    fn connect(&mut self, i: usize) {
        self.sides[i].connected = true;
        self.decoders[i] = FrameDecoder::default();
        let now = self.now;
        self.sides[i].client.handle_connected(now);
    }

    fn disconnect(&mut self, i: usize) {
        self.sides[i].connected = false;
        let now = self.now;
        self.sides[i].client.handle_disconnected(now);
        self.unseat(i);
        self.run();
    }

    /// Drains every output until quiet.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..2 {
                while let Some(out) = self.sides[i].client.poll_output() {
                    moved = true;
                    match out {
                        Output::Transmit(bytes) => {
                            if !self.sides[i].connected {
                                continue;
                            }
                            self.decoders[i].push(&bytes);
                            while let Ok(Some(frame)) = self.decoders[i].next_frame() {
                                self.relay(i, frame);
                            }
                        }
                        Output::Persist { peer, state } => {
                            self.sides[i].disk.insert(peer, state.to_vec());
                        }
                        Output::Event(e) => {
                            if let Event::Message { from, id, .. } = &e {
                                // The state that records it must already be on "disk".
                                let stored = self.sides[i].disk.contains_key(from);
                                self.sides[i].persisted_before_show &= stored;
                                // The app records it (here: the event list), then confirms.
                                let (from, id) = (*from, *id);
                                self.sides[i].client.confirm_shown(&from, &[id]);
                            }
                            self.sides[i].events.push(e);
                        }
                    }
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the world did not settle");
    }

    fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        loop {
            let next = (0..2)
                .filter_map(|i| self.sides[i].client.poll_timeout())
                .filter(|t| *t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = t.max(self.now);
            for i in 0..2 {
                let now = self.now;
                if self.sides[i]
                    .client
                    .poll_timeout()
                    .is_some_and(|t| t <= now)
                {
                    self.sides[i].client.handle_timeout(now);
                }
            }
            self.run();
        }
        self.now = end;
    }

    fn fp(&self, i: usize) -> Fingerprint {
        self.sides[i].client.identity().fingerprint()
    }

    fn texts(&self, i: usize) -> Vec<String> {
        self.sides[i]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    fn count(&self, i: usize, f: impl Fn(&Event) -> bool) -> usize {
        self.sides[i].events.iter().filter(|e| f(e)).count()
    }

    fn approve_both(&mut self) {
        let (a, b) = (self.fp(0), self.fp(1));
        let now = self.now;
        self.sides[0].client.approve(&b, now);
        self.sides[1].client.approve(&a, now);
        self.run();
    }

    fn say(&mut self, i: usize, text: &str) {
        let to = self.fp(1 - i);
        let now = self.now;
        self.sides[i].client.send_text(&to, text, 0, now).unwrap();
        self.run();
    }
}

fn room() -> RoomName {
    RoomName::new("flow").unwrap()
}

fn connected_pair() -> World {
    let mut w = World::new();
    for i in 0..2 {
        w.connect(i);
        w.sides[i].client.join(room());
    }
    w.run();
    w
}

#[test]
fn nothing_flows_before_approval_then_everything_does_exactly_once() {
    let mut w = connected_pair();
    assert!(w.sides[0].client.is_secure() && w.sides[1].client.is_secure());
    assert_eq!(w.sides[0].client.secure_peer(), Some((w.fp(1), false)));
    // Written before approval: waits, is not shown on the other side.
    w.say(0, "early");
    assert!(w.texts(1).is_empty());
    assert_eq!(
        w.count(0, |e| matches!(
            e,
            Event::MessageState {
                state: MessageState::Waiting,
                ..
            }
        )),
        1
    );
    w.approve_both();
    assert_eq!(w.texts(1), ["early"]);
    assert_eq!(
        w.count(
            1,
            |e| matches!(e, Event::PeerName { name, .. } if name == "Alice")
        ),
        1
    );
    assert_eq!(
        w.count(0, |e| matches!(
            e,
            Event::MessageState {
                state: MessageState::Delivered,
                ..
            }
        )),
        1
    );
    w.say(1, "hi Alice");
    w.say(0, "hi Bob");
    assert_eq!(w.texts(0), ["hi Alice"]);
    assert_eq!(w.texts(1), ["early", "hi Bob"]);
    assert!(
        w.sides[0]
            .client
            .conversation(&w.fp(1))
            .unwrap()
            .outbox()
            .is_empty()
    );
    assert!(w.sides[1].persisted_before_show && w.sides[0].persisted_before_show);
    // Resends after the backoff do not show anything twice.
    w.advance(Duration::from_secs(120));
    assert_eq!(w.texts(1), ["early", "hi Bob"]);
}

#[test]
fn a_reconnect_resumes_the_session_and_flushes_what_waited() {
    let mut w = connected_pair();
    w.approve_both();
    w.say(0, "before");
    let exchanges = w.count(0, |e| matches!(e, Event::Secure(_)));
    w.disconnect(1);
    assert_eq!(w.count(0, |e| matches!(e, Event::PeerLeft)), 1);
    w.say(0, "while you were away");
    assert_eq!(w.texts(1), ["before"]);
    w.advance(Duration::from_secs(2));
    w.connect(1);
    w.run();
    assert_eq!(w.count(0, |e| matches!(e, Event::Resumed { .. })), 1);
    assert_eq!(w.count(1, |e| matches!(e, Event::Resumed { .. })), 1);
    assert_eq!(
        w.count(0, |e| matches!(e, Event::Secure(_))),
        exchanges,
        "no new key exchange"
    );
    assert_eq!(w.texts(1), ["before", "while you were away"]);
}

#[test]
fn a_crash_falls_back_to_a_key_exchange_and_shows_nothing_twice() {
    let mut w = connected_pair();
    w.approve_both();
    w.say(0, "one");
    w.say(0, "two");
    // Bob's process dies: a fresh Client restores only what it stored.
    w.disconnect(1);
    let disk = w.sides[1].disk.clone();
    let now = w.now;
    let mut fresh = side(1, "Bob", 99, now);
    for state in disk.values() {
        fresh.client.restore_conversation(state).unwrap();
    }
    fresh.client.approve(&w.fp(0), now);
    fresh.disk = disk;
    w.sides[1] = fresh;
    // Alice writes while Bob is gone.
    w.say(0, "three");
    w.connect(1);
    w.sides[1].client.join(room());
    w.run();
    // Resume is refused (Bob lost the session), a key exchange runs, Alice approves again.
    w.advance(Duration::from_secs(6));
    assert!(w.sides[1].client.is_secure());
    let a = w.fp(0);
    assert_eq!(w.sides[1].client.secure_peer(), Some((a, true)));
    assert_eq!(
        w.texts(1),
        ["three"],
        "only the new message is shown by the new process"
    );
    // Alice's side now shows all three delivered.
    assert_eq!(
        w.count(0, |e| matches!(
            e,
            Event::MessageState {
                state: MessageState::Delivered,
                ..
            }
        )),
        3
    );
}

#[test]
fn the_timer_is_agreed_through_the_protocol() {
    let mut w = connected_pair();
    w.approve_both();
    let b = w.fp(1);
    let now = w.now;
    w.sides[0].client.set_timer(&b, 300, 0, now).unwrap();
    w.run();
    let secs_at_bob = w.sides[1]
        .client
        .conversation(&w.fp(0))
        .unwrap()
        .timer()
        .expire_secs;
    assert_eq!(secs_at_bob, 300);
    w.say(1, "disappearing");
    let got = w.sides[0].events.iter().find_map(|e| match e {
        Event::Message { expire_secs, .. } => Some(*expire_secs),
        _ => None,
    });
    assert_eq!(got, Some(300));
}

#[test]
fn a_crash_between_storing_and_recording_shows_the_message_again_not_never() {
    let mut w = connected_pair();
    w.approve_both();
    w.say(0, "before");
    // Bob's app stores the state for the next message, then dies before recording it: simulated by
    // taking the stored state right after the Persist, before the Message event is confirmed.
    let a = w.fp(0);
    let to = w.fp(1);
    let now = w.now;
    w.sides[0]
        .client
        .send_text(&to, "the message", 0, now)
        .unwrap();
    // Drive Alice's output to Bob by hand, and stop Bob's app at its Persist.
    let mut disk_at_crash = None;
    for _ in 0..100 {
        while let Some(out) = w.sides[0].client.poll_output() {
            if let Output::Transmit(bytes) = out {
                w.decoders[0].push(&bytes);
                while let Ok(Some(frame)) = w.decoders[0].next_frame() {
                    w.relay(0, frame);
                }
            }
        }
        while let Some(out) = w.sides[1].client.poll_output() {
            if let Output::Persist { state, .. } = out {
                disk_at_crash.get_or_insert(state.to_vec());
            }
        }
        if disk_at_crash.is_some() {
            break;
        }
    }
    let state = disk_at_crash.expect("Bob stored the state");
    let mut fresh = side(1, "Bob", 77, now);
    fresh.client.restore_conversation(&state).unwrap();
    fresh.client.approve(&a, now);
    w.sides[1] = fresh;
    w.run();
    assert_eq!(
        w.texts(1),
        ["the message"],
        "shown again after the restart, from the stored state"
    );
}

/// Found by the simulator (10,000 seeds, "Churn"): a user leaves right after joining, so the relay
/// handles the Join and then the Leave; the `Joined` / `Waiting` / `PeerJoined` answering the Join
/// arrive after `leave`. The client must not believe them (it holds no seat), so that joining again
/// asks the relay for a seat instead of waiting in a room it is not in.
#[test]
fn room_events_answering_a_join_taken_back_are_ignored() {
    let now = Instant::now();
    let mut c = side(0, "Alice", 7, now).client;
    c.handle_connected(now);
    c.join(room());
    c.leave(now);
    while c.poll_output().is_some() {}
    for frame in [
        RelayFrame::Joined {
            room: room(),
            seat: 0,
        },
        RelayFrame::PeerJoined,
        RelayFrame::Waiting,
    ] {
        c.handle_frame(frame, now);
    }
    assert_eq!(c.room(), None, "a late Joined gave the client a seat");
    assert!(
        !c.is_exchanging_keys(),
        "a late PeerJoined started a key exchange"
    );
    let mut outputs = Vec::new();
    while let Some(o) = c.poll_output() {
        outputs.push(o);
    }
    assert!(
        outputs.is_empty(),
        "answers to a taken-back Join produced {outputs:?}"
    );
    // Joining again asks the relay.
    c.join(room());
    let mut decoder = FrameDecoder::<ClientFrame>::default();
    while let Some(o) = c.poll_output() {
        if let Output::Transmit(bytes) = o {
            decoder.push(&bytes);
        }
    }
    let mut frames = Vec::new();
    while let Ok(Some(f)) = decoder.next_frame() {
        frames.push(f);
    }
    assert_eq!(frames, vec![ClientFrame::Join { room: room() }]);
}
