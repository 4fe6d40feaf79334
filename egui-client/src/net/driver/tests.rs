//! Two drivers through an in-memory relay (two seats: Joined, Waiting, PeerJoined, PeerLeft,
//! payload forwarding), on a virtual clock: the order of stores, frames and events, a store that
//! fails, restarts from the stored state, approval, the timer, resumption.

use std::collections::HashMap;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sans_io_proto::frame::{ClientFrame, FrameDecoder, RelayFrame};

use super::*;
use crate::model::SendState;

/// One step of a driver's outputs, as the network task would see them.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Frame,
    Stored(Fingerprint),
    StoreFailed(Fingerprint),
    Event(NetEvent),
}

#[derive(Default)]
struct Side {
    frames: Vec<Vec<u8>>,
    trace: Vec<Step>,
    /// The last state stored per peer: the "disk".
    disk: HashMap<Fingerprint, Vec<u8>>,
    /// Whether stores fail.
    failing: bool,
}

impl Io for Side {
    fn transmit(&mut self, bytes: Vec<u8>) {
        self.trace.push(Step::Frame);
        self.frames.push(bytes);
    }

    fn persist(&mut self, peer: &Fingerprint, state: &[u8]) -> Result<(), String> {
        if self.failing {
            self.trace.push(Step::StoreFailed(*peer));
            return Err("disk full".into());
        }
        self.trace.push(Step::Stored(*peer));
        self.disk.insert(*peer, state.to_vec());
        Ok(())
    }

    fn emit(&mut self, event: NetEvent) {
        self.trace.push(Step::Event(event));
    }
}

struct World {
    now: Instant,
    drivers: [Option<Driver<ChaCha20Rng>>; 2],
    io: [Side; 2],
    connected: [bool; 2],
    seated: [bool; 2],
    decoders: [FrameDecoder<ClientFrame>; 2],
    seeds: u64,
}

fn fp(i: usize) -> Fingerprint {
    crate::test_identity(i).fingerprint()
}

fn room() -> RoomName {
    RoomName::new("garden").unwrap()
}

impl World {
    fn new() -> Self {
        World {
            now: Instant::now(),
            drivers: [None, None],
            io: [Side::default(), Side::default()],
            connected: [false; 2],
            seated: [false; 2],
            decoders: [FrameDecoder::default(), FrameDecoder::default()],
            seeds: 0,
        }
    }

    /// (Re)starts side `i` from its "disk", approving `approved`.
    fn open(&mut self, i: usize, approved: &[Fingerprint]) {
        self.drivers[i] = None;
        self.connected[i] = false;
        self.unseat(i);
        let states: Vec<(Fingerprint, Zeroizing<Vec<u8>>)> = self.io[i]
            .disk
            .iter()
            .map(|(k, v)| (*k, Zeroizing::new(v.clone())))
            .collect();
        self.seeds += 1;
        let opening = Opening {
            identity: crate::test_identity(i),
            display_name: ["Alice", "Bob"][i],
            states: &states,
            approved,
        };
        let rng = ChaCha20Rng::seed_from_u64(self.seeds);
        self.drivers[i] = Some(Driver::open(opening, rng, self.now, &mut self.io[i]));
    }

    fn d(&mut self, i: usize) -> (&mut Driver<ChaCha20Rng>, &mut Side, Instant) {
        (
            self.drivers[i].as_mut().expect("open"),
            &mut self.io[i],
            self.now,
        )
    }

    fn connect(&mut self, i: usize) {
        self.connected[i] = true;
        self.decoders[i] = FrameDecoder::default();
        let (d, io, now) = self.d(i);
        d.join(room(), now, io);
        d.connected(now, io);
        self.run();
    }

    /// The connection dies (the relay notices at once here).
    fn cut(&mut self, i: usize) {
        self.connected[i] = false;
        let (d, io, now) = self.d(i);
        d.disconnected(now, io);
        io.frames.clear();
        self.unseat(i);
        self.run();
    }

    fn unseat(&mut self, i: usize) {
        if std::mem::replace(&mut self.seated[i], false) && self.seated[1 - i] {
            self.deliver(1 - i, RelayFrame::PeerLeft);
            self.deliver(1 - i, RelayFrame::Waiting);
        }
    }

    fn deliver(&mut self, i: usize, frame: RelayFrame) {
        if self.connected[i]
            && let Some(d) = self.drivers[i].as_mut()
        {
            d.input(&frame.to_bytes(), self.now, &mut self.io[i]);
        }
    }

    fn relay(&mut self, from: usize, frame: ClientFrame) {
        let other = 1 - from;
        match frame {
            ClientFrame::Join { room } => {
                self.seated[from] = true;
                self.deliver(
                    from,
                    RelayFrame::Joined {
                        room,
                        seat: from as u8,
                    },
                );
                if self.seated[other] {
                    self.deliver(from, RelayFrame::PeerJoined);
                    self.deliver(other, RelayFrame::PeerJoined);
                } else {
                    self.deliver(from, RelayFrame::Waiting);
                }
            }
            ClientFrame::Leave => self.unseat(from),
            ClientFrame::Payload(p) => {
                if self.seated[other] {
                    self.deliver(other, RelayFrame::Payload(p));
                }
            }
            ClientFrame::Ping(_) => {}
        }
    }

    /// Moves frames until quiet.
    fn run(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            for i in 0..2 {
                let frames = std::mem::take(&mut self.io[i].frames);
                for bytes in frames {
                    moved = true;
                    if !self.connected[i] {
                        continue;
                    }
                    self.decoders[i].push(&bytes);
                    while let Ok(Some(frame)) = self.decoders[i].next_frame() {
                        self.relay(i, frame);
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
                .filter_map(|i| self.drivers[i].as_ref().and_then(Driver::poll_timeout))
                .filter(|t| *t <= end)
                .min();
            let Some(t) = next else { break };
            self.now = t.max(self.now);
            for i in 0..2 {
                let now = self.now;
                if let Some(d) = self.drivers[i].as_mut()
                    && d.poll_timeout().is_some_and(|t| t <= now)
                {
                    d.timeout(now, &mut self.io[i]);
                }
            }
            self.run();
        }
        self.now = end;
    }

    fn events(&self, i: usize) -> Vec<NetEvent> {
        self.io[i]
            .trace
            .iter()
            .filter_map(|s| match s {
                Step::Event(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    fn texts(&self, i: usize) -> Vec<String> {
        self.events(i)
            .into_iter()
            .filter_map(|e| match e {
                NetEvent::Message { text, .. } => Some(text),
                _ => None,
            })
            .collect()
    }

    /// Sends and returns the protocol's id.
    fn say(&mut self, i: usize, text: &str) -> MessageId {
        let to = fp(1 - i);
        let local = MessageId::from_parts(99, self.io[i].trace.len() as u64);
        let (d, io, now) = self.d(i);
        d.send(to, local, text, 1, now, io);
        self.run();
        self.events(i)
            .into_iter()
            .find_map(|e| match e {
                NetEvent::Queued { local: l, id, .. } if l == local => Some(id),
                _ => None,
            })
            .expect("queued")
    }

    /// The app's part: every shown message is recorded, then confirmed.
    fn confirm_all(&mut self, i: usize) {
        let ids: Vec<MessageId> = self
            .events(i)
            .into_iter()
            .filter_map(|e| match e {
                NetEvent::Message { id, .. } | NetEvent::Unsupported { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        let peer = fp(1 - i);
        let (d, io, now) = self.d(i);
        d.confirm_shown(&peer, &ids, now, io);
        self.run();
    }
}

/// Alice and Bob, contacts of each other, connected and secure.
fn pair() -> World {
    let mut w = World::new();
    w.open(0, &[fp(1)]);
    w.open(1, &[fp(0)]);
    w.connect(0);
    w.connect(1);
    for i in 0..2 {
        assert!(
            w.events(i)
                .iter()
                .any(|e| matches!(e, NetEvent::Secure { approved: true, .. })),
            "{:?}",
            w.events(i)
        );
    }
    w
}

fn state_of(w: &World, i: usize, id: MessageId) -> Vec<SendState> {
    w.events(i)
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::MessageState { id: x, state, .. } if x == id => Some(state),
            _ => None,
        })
        .collect()
}

#[test]
fn every_state_is_stored_before_the_next_output_and_the_id_comes_before_its_states() {
    let mut w = pair();
    let id = w.say(0, "hello Bob");
    assert_eq!(w.texts(1), ["hello Bob"]);
    assert_eq!(state_of(&w, 0, id), [SendState::Sent, SendState::Delivered]);
    for i in 0..2 {
        let trace = &w.io[i].trace;
        // Whatever changed the state was stored before anything that follows from it: each
        // Message is preceded by a store of its sender's conversation with no frame between
        // (the Ack goes out after the store).
        for (k, step) in trace.iter().enumerate() {
            if let Step::Event(NetEvent::Message { from, .. }) = step {
                let last_store = trace[..k]
                    .iter()
                    .rposition(|s| *s == Step::Stored(*from))
                    .expect("stored before shown");
                assert!(
                    !trace[last_store..k].contains(&Step::Frame),
                    "a frame between the store and the message"
                );
            }
        }
    }
    // On Alice's side: stored, then the frame carrying the message, then the app hears its id,
    // then its states.
    let trace = &w.io[0].trace;
    let queued = trace
        .iter()
        .position(|s| matches!(s, Step::Event(NetEvent::Queued { .. })))
        .unwrap();
    let first_state = trace
        .iter()
        .position(|s| matches!(s, Step::Event(NetEvent::MessageState { .. })))
        .unwrap();
    assert!(queued < first_state);
    let stored = trace[..queued]
        .iter()
        .rposition(|s| *s == Step::Stored(fp(1)))
        .unwrap();
    let frame = trace[..queued]
        .iter()
        .rposition(|s| *s == Step::Frame)
        .unwrap();
    assert!(
        stored < frame,
        "the message left before its state was stored"
    );
}

#[test]
fn a_state_that_cannot_be_stored_is_never_acknowledged_and_is_written_again_later() {
    let mut w = pair();
    w.io[1].failing = true;
    let before = w.io[1].trace.len();
    w.say(0, "one");
    let trace: Vec<Step> = w.io[1].trace[before..].to_vec();
    let failed = trace
        .iter()
        .position(|s| *s == Step::StoreFailed(fp(0)))
        .expect("the store was tried");
    assert!(
        !trace[failed..].contains(&Step::Frame),
        "a frame (the Ack) went out after a failed store: {trace:?}"
    );
    assert!(
        trace
            .iter()
            .any(|s| matches!(s, Step::Event(NetEvent::StorageFailed(r)) if r == "disk full"))
    );
    let (d, io, _) = w.d(1);
    assert_eq!(d.take_drop_connection().as_deref(), Some("disk full"));
    assert!(d.has_unsaved());
    assert_eq!(d.store_unsaved(io), Err("disk full".into()));
    // The disk works again: the latest state is written before any new connection.
    io.failing = false;
    assert_eq!(d.store_unsaved(io), Ok(()));
    assert!(!d.has_unsaved());
    assert!(w.io[1].disk.contains_key(&fp(0)));
    // Alice never got an Ack: "one" is still in her outbox, not delivered.
    let id = w
        .events(0)
        .into_iter()
        .find_map(|e| match e {
            NetEvent::Queued { id, .. } => Some(id),
            _ => None,
        })
        .unwrap();
    assert!(!state_of(&w, 0, id).contains(&SendState::Delivered));
}

#[test]
fn after_a_restart_unconfirmed_messages_are_shown_again_and_confirmed_ones_never() {
    let mut w = pair();
    w.say(0, "first");
    w.say(0, "second");
    assert_eq!(w.texts(1), ["first", "second"]);
    // Bob's app recorded only "first" before it crashed.
    let first = w
        .events(1)
        .into_iter()
        .find_map(|e| match e {
            NetEvent::Message { id, text, .. } if text == "first" => Some(id),
            _ => None,
        })
        .unwrap();
    let (d, io, now) = w.d(1);
    d.confirm_shown(&fp(0), &[first], now, io);
    w.io[1].trace.clear();
    w.open(1, &[fp(0)]);
    assert_eq!(
        w.texts(1),
        ["second"],
        "shown again: the app recognises its id"
    );
    w.confirm_all(1);
    w.io[1].trace.clear();
    w.open(1, &[fp(0)]);
    assert!(w.texts(1).is_empty());
    // Connected again: Alice's outbox is empty (both were acknowledged): nothing comes twice.
    w.connect(1);
    w.advance(Duration::from_secs(30));
    assert!(w.texts(1).is_empty(), "{:?}", w.texts(1));
}

#[test]
fn the_outbox_survives_a_restart_and_is_delivered_exactly_once() {
    let mut w = pair();
    w.cut(1);
    let a = w.say(0, "while you were away");
    assert_eq!(state_of(&w, 0, a), [SendState::WaitingForPeer]);
    assert!(w.events(0).contains(&NetEvent::PeerLeft));
    // Alice restarts from her disk, then Bob comes back.
    w.io[0].trace.clear();
    w.open(0, &[fp(1)]);
    w.connect(0);
    w.connect(1);
    w.advance(Duration::from_secs(30));
    assert_eq!(w.texts(1), ["while you were away"]);
    assert!(state_of(&w, 0, a).contains(&SendState::Delivered));
}

#[test]
fn a_session_comes_back_after_a_dropped_connection_without_a_key_exchange() {
    let mut w = pair();
    w.cut(0);
    let id = w.say(0, "written offline");
    assert_eq!(state_of(&w, 0, id), [SendState::WaitingForPeer]);
    w.io[0].trace.clear();
    w.io[1].trace.clear();
    w.connect(0);
    for i in 0..2 {
        assert!(
            w.events(i).iter().any(|e| *e
                == NetEvent::Resumed {
                    peer: fp(1 - i),
                    approved: true
                }),
            "{:?}",
            w.events(i)
        );
        assert!(
            !w.events(i)
                .iter()
                .any(|e| matches!(e, NetEvent::Secure { .. })),
            "a new key exchange"
        );
    }
    assert_eq!(w.texts(1), ["written offline"]);
    assert_eq!(state_of(&w, 0, id), [SendState::Sent, SendState::Delivered]);
}

#[test]
fn nothing_of_ours_reaches_an_identity_before_the_app_approves_it() {
    let mut w = World::new();
    // Alice has no contacts yet; Bob knows Alice.
    w.open(0, &[]);
    w.open(1, &[fp(0)]);
    w.connect(0);
    w.connect(1);
    assert!(w.events(0).iter().any(|e| matches!(
        e,
        NetEvent::Secure {
            approved: false,
            ..
        }
    )));
    // Bob writes; Alice's client holds it back until her app decides.
    w.say(1, "hi Alice");
    assert!(w.texts(0).is_empty());
    // Alice's display name has not reached Bob either.
    assert!(
        !w.events(1)
            .iter()
            .any(|e| matches!(e, NetEvent::PeerName { .. }))
    );
    let (d, io, now) = w.d(0);
    d.approve(&fp(1), now, io);
    w.run();
    assert_eq!(w.texts(0), ["hi Alice"]);
    assert!(w.events(1).contains(&NetEvent::PeerName {
        from: fp(0),
        name: "Alice".into()
    }));
}

#[test]
fn the_timer_is_heard_both_ways_and_a_refused_text_says_why() {
    let mut w = pair();
    let (d, io, now) = w.d(0);
    d.set_timer(&fp(1), 30, 5, now, io);
    w.run();
    assert!(w.events(0).contains(&NetEvent::TimerChanged {
        contact: fp(1),
        secs: 30,
        by_peer: false
    }));
    assert!(w.events(1).contains(&NetEvent::TimerChanged {
        contact: fp(0),
        secs: 30,
        by_peer: true
    }));
    // Messages now carry the timer.
    w.say(0, "burn");
    assert!(
        w.events(1).iter().any(
            |e| matches!(e, NetEvent::Message { text, expire_secs: 30, .. } if text == "burn")
        )
    );
    // Out of range: refused with the reason.
    let (d, io, now) = w.d(0);
    d.set_timer(&fp(1), u32::MAX, 5, now, io);
    assert!(w.events(0).iter().any(
        |e| matches!(e, NetEvent::TimerRefused { reason, .. } if reason.contains("one-year"))
    ));
    let local = MessageId::from_parts(1, 1);
    let (d, io, now) = w.d(0);
    d.send(fp(1), local, &"x".repeat(20_000), 1, now, io);
    assert!(w.events(0).iter().any(|e| matches!(e,
        NetEvent::SendRefused { local: l, reason, .. } if *l == local && reason.contains("20000 bytes"))));
}

#[test]
fn a_broken_store_on_open_and_a_foreign_state_are_reported() {
    let mut w = pair();
    w.say(0, "x");
    // Bob's disk: his state for Alice put under Carol's name, and garbage under Dave's.
    let state = w.io[1].disk[&fp(0)].clone();
    w.io[1].disk.clear();
    w.io[1].disk.insert(fp(3), state);
    w.io[1].disk.insert(fp(4), b"garbage".to_vec());
    w.io[1].trace.clear();
    w.open(1, &[fp(0)]);
    let failed: Vec<Fingerprint> = w
        .events(1)
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::RestoreFailed { contact, .. } => Some(contact),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "{:?}", w.events(1));
    assert!(failed.contains(&fp(3)) && failed.contains(&fp(4)));
    // The state filed under Carol's name was not taken in as Alice's conversation.
    let client = w.drivers[1].as_ref().unwrap().client();
    assert!(client.conversation(&fp(0)).is_none());
    assert!(client.conversation(&fp(3)).is_none());
}

#[test]
fn three_aborted_key_exchanges_in_ten_minutes_suspend_them_until_the_app_resumes() {
    let mut w = World::new();
    w.open(0, &[fp(1)]);
    w.connect(0);
    // A relay that announces a peer and takes it away again, three times in three minutes.
    for _ in 0..3 {
        w.advance(Duration::from_secs(60));
        w.deliver(0, RelayFrame::PeerJoined);
        w.run();
        w.deliver(0, RelayFrame::PeerLeft);
        w.deliver(0, RelayFrame::Waiting);
        w.run();
    }
    let told: Vec<NetEvent> = w
        .events(0)
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                NetEvent::KeyExchangeStarted
                    | NetEvent::KeyExchangeAborted { .. }
                    | NetEvent::KeyExchangesSuspended { .. }
            )
        })
        .collect();
    let aborted = |recent| NetEvent::KeyExchangeAborted {
        identity_revealed: false,
        recent,
    };
    assert_eq!(
        told,
        [
            NetEvent::KeyExchangeStarted,
            aborted(1),
            NetEvent::KeyExchangeStarted,
            aborted(2),
            NetEvent::KeyExchangeStarted,
            aborted(3),
        ]
    );
    // The next announced peer: the client is suspended, says so, starts nothing, sends nothing.
    w.advance(Duration::from_secs(60));
    let mark = w.io[0].trace.len();
    w.deliver(0, RelayFrame::PeerJoined);
    assert!(
        w.io[0].frames.is_empty(),
        "a suspended client answered a peer"
    );
    let after: Vec<&Step> = w.io[0].trace[mark..]
        .iter()
        .filter(|s| !matches!(s, Step::Stored(_)))
        .collect();
    assert_eq!(
        after,
        [&Step::Event(NetEvent::KeyExchangesSuspended { recent: 3 })]
    );
    w.deliver(0, RelayFrame::PeerLeft);
    w.deliver(0, RelayFrame::Waiting);
    w.run();
    // The user presses Try again; Bob arrives and the key exchange completes.
    let (d, io, now) = w.d(0);
    d.resume_key_exchanges(now, io);
    w.run();
    w.open(1, &[fp(0)]);
    w.connect(1);
    assert!(
        w.events(0)
            .iter()
            .any(|e| matches!(e, NetEvent::Secure { approved: true, .. })),
        "{:?}",
        w.events(0)
    );
}
