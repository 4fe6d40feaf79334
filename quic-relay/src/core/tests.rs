//! Unit tests of every room and connection rule on a fake clock, through [`RelayCore`] (one and
//! several shards) and, for what only a concurrent driver can see, through [`ConnState`] and
//! [`RoomShard`] directly.

use std::time::Duration;

use super::*;

fn room(name: &str) -> RoomName {
    RoomName::new(name).unwrap()
}

struct World {
    core: RelayCore,
    t0: Instant,
}

impl World {
    fn new(limits: Limits) -> Self {
        World {
            core: RelayCore::new(limits),
            t0: Instant::now(),
        }
    }

    fn sharded(limits: Limits, shards: usize) -> Self {
        World {
            core: RelayCore::with_shards(limits, shards),
            t0: Instant::now(),
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.t0 + Duration::from_millis(ms)
    }

    fn connect(&mut self) -> ConnId {
        self.core.handle_connect(self.t0).unwrap()
    }

    fn frame(&mut self, conn: ConnId, frame: ClientFrame) -> Vec<RelayOutput> {
        self.core.handle_frame(conn, frame, self.t0);
        self.drain()
    }

    fn drain(&mut self) -> Vec<RelayOutput> {
        std::iter::from_fn(|| self.core.poll_output()).collect()
    }

    fn join(&mut self, conn: ConnId, name: &str) -> Vec<RelayOutput> {
        self.frame(conn, ClientFrame::Join { room: room(name) })
    }
}

fn send(to: ConnId, frame: RelayFrame) -> RelayOutput {
    RelayOutput::Send { to, frame }
}

fn is_error(out: &[RelayOutput], to: ConnId, code: ErrorCode) -> bool {
    out.iter().any(|o| matches!(o, RelayOutput::Send { to: t, frame: RelayFrame::Error { code: c, .. } } if *t == to && *c == code))
}

fn closes(out: &[RelayOutput], conn: ConnId, code: ErrorCode) -> bool {
    out.contains(&RelayOutput::Close { conn, code })
}

#[test]
fn first_waits_second_pairs_both_are_told() {
    let mut w = World::new(Limits::default());
    let (a, b) = (w.connect(), w.connect());
    assert_eq!(
        w.join(a, "r"),
        vec![
            send(
                a,
                RelayFrame::Joined {
                    room: room("r"),
                    seat: 0
                }
            ),
            send(a, RelayFrame::Waiting)
        ]
    );
    assert_eq!(
        w.join(b, "r"),
        vec![
            send(
                b,
                RelayFrame::Joined {
                    room: room("r"),
                    seat: 1
                }
            ),
            send(a, RelayFrame::PeerJoined),
            send(b, RelayFrame::PeerJoined)
        ]
    );
}

#[test]
fn payloads_go_to_the_other_seat_only_and_are_not_echoed() {
    let mut w = World::new(Limits::default());
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    assert_eq!(
        w.frame(a, ClientFrame::Payload(vec![1, 2])),
        vec![send(b, RelayFrame::Payload(vec![1, 2]))]
    );
    assert_eq!(
        w.frame(b, ClientFrame::Payload(vec![3])),
        vec![send(a, RelayFrame::Payload(vec![3]))]
    );
    assert_eq!(w.core.stats().relayed, 2);
}

#[test]
fn a_third_is_redirected_and_pairs_with_a_fourth() {
    for shards in [1, 3] {
        let mut w = World::sharded(Limits::default(), shards);
        let ids: Vec<ConnId> = (0..4).map(|_| w.connect()).collect();
        w.join(ids[0], "r");
        w.join(ids[1], "r");
        assert_eq!(
            w.join(ids[2], "r"),
            vec![
                send(
                    ids[2],
                    RelayFrame::Redirected {
                        from: room("r"),
                        to: room("r-2")
                    }
                ),
                send(
                    ids[2],
                    RelayFrame::Joined {
                        room: room("r-2"),
                        seat: 0
                    }
                ),
                send(ids[2], RelayFrame::Waiting),
            ]
        );
        let out = w.join(ids[3], "r");
        assert_eq!(
            out[0],
            send(
                ids[3],
                RelayFrame::Redirected {
                    from: room("r"),
                    to: room("r-2")
                }
            )
        );
        assert!(
            out.contains(&send(ids[2], RelayFrame::PeerJoined))
                && out.contains(&send(ids[3], RelayFrame::PeerJoined))
        );
        // A fifth goes to r-3; one asking for r-2 directly goes to r-2-2, in the same shard.
        let e = w.connect();
        assert_eq!(
            w.join(e, "r")[0],
            send(
                e,
                RelayFrame::Redirected {
                    from: room("r"),
                    to: room("r-3")
                }
            )
        );
        let f = w.connect();
        assert_eq!(
            w.join(f, "r-2")[0],
            send(
                f,
                RelayFrame::Redirected {
                    from: room("r-2"),
                    to: room("r-2-2")
                }
            )
        );
        assert_eq!(w.core.stats().redirects, 4);
    }
}

#[test]
fn leaving_tells_the_peer_at_once_and_frees_the_seat() {
    let mut w = World::new(Limits::default());
    let (a, b, c) = (w.connect(), w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    // The leaver is told nothing; the peer learns at once.
    assert_eq!(
        w.frame(a, ClientFrame::Leave),
        vec![send(b, RelayFrame::PeerLeft), send(b, RelayFrame::Waiting)]
    );
    // A payload now has no peer: dropped, answered once.
    let out = w.frame(b, ClientFrame::Payload(vec![1]));
    assert!(is_error(&out, b, ErrorCode::NotInRoom));
    // The seat is free again: c takes it (no redirect) and b is told.
    let out = w.join(c, "r");
    assert_eq!(
        out[0],
        send(
            c,
            RelayFrame::Joined {
                room: room("r"),
                seat: 0
            }
        )
    );
    assert!(out.contains(&send(b, RelayFrame::PeerJoined)));
    // a may join again after leaving; the room is full now, so it is redirected.
    assert!(matches!(
        w.join(a, "r")[0],
        RelayOutput::Send {
            frame: RelayFrame::Redirected { .. },
            ..
        }
    ));
    // A dead connection counts as leaving.
    w.core.handle_disconnect(c);
    assert_eq!(
        w.drain(),
        vec![send(b, RelayFrame::PeerLeft), send(b, RelayFrame::Waiting)]
    );
    w.core.handle_disconnect(b);
    assert_eq!(w.core.stats().rooms, 1, "empty rooms disappear");
    // Leave while not seated: nothing happens, nothing is answered.
    let d = w.connect();
    assert!(w.frame(d, ClientFrame::Leave).is_empty());
}

#[test]
fn rule_violations_get_typed_errors_and_no_peer_is_reported_once_per_room_event() {
    let mut w = World::new(Limits::default());
    let (a, b) = (w.connect(), w.connect());
    assert!(is_error(
        &w.frame(a, ClientFrame::Payload(vec![1])),
        a,
        ErrorCode::NotInRoom
    ));
    assert!(
        w.frame(a, ClientFrame::Payload(vec![1])).is_empty(),
        "a second dropped payload is not answered again"
    );
    w.join(a, "r");
    assert!(is_error(
        &w.frame(a, ClientFrame::Payload(vec![1])),
        a,
        ErrorCode::NotInRoom
    ));
    assert!(w.frame(a, ClientFrame::Payload(vec![1])).is_empty());
    assert_eq!(w.core.stats().dropped, 4);
    assert!(is_error(&w.join(a, "s"), a, ErrorCode::AlreadyInRoom));
    assert_eq!(
        w.frame(a, ClientFrame::Ping(7)),
        vec![send(a, RelayFrame::Pong(7))]
    );
    // A relay frame from a client does not even decode (wrong direction).
    w.core
        .handle_decode_error(b, &FrameError::WrongDirection(0x13));
    let out = w.drain();
    assert!(is_error(&out, b, ErrorCode::MalformedFrame));
    assert!(closes(&out, b, ErrorCode::MalformedFrame));
    // Nothing from a closed connection is acted on.
    assert!(w.join(b, "q").is_empty());
    w.core
        .handle_decode_error(a, &FrameError::TooLarge { len: 1 << 20 });
    let out = w.drain();
    assert!(is_error(&out, a, ErrorCode::FrameTooLarge));
    assert!(closes(&out, a, ErrorCode::FrameTooLarge));
}

#[test]
fn rates_are_shaped_not_refused_frames_wait_for_their_tokens() {
    let mut w = World::new(Limits {
        join_burst: 2.0,
        joins_per_second: 1.0,
        ..Limits::default()
    });
    let a = w.connect();
    for _ in 0..2 {
        w.join(a, "r");
        w.frame(a, ClientFrame::Leave);
    }
    // Third join: over the join rate. It waits, unanswered, and nothing more is wanted.
    assert!(w.join(a, "r").is_empty());
    assert!(!w.core.wants_input(a));
    let wake = w
        .core
        .poll_timeout()
        .expect("a wake-up for the waiting join");
    assert!(wake > w.at(999) && wake <= w.at(1001), "{wake:?}");
    w.core.handle_timeout(wake);
    assert!(matches!(
        w.drain()[0],
        RelayOutput::Send {
            frame: RelayFrame::Joined { .. },
            ..
        }
    ));
    assert!(w.core.wants_input(a));

    // Frames: three pass at once (the frame burst), the rest follow at 10 per second; none is
    // lost, none is answered with an error, and the connection stays open.
    let mut w = World::new(Limits {
        frame_burst: 3.0,
        frames_per_second: 10.0,
        byte_burst: 1000.0,
        bytes_per_second: 1000.0,
        ..Limits::default()
    });
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    let mut got = 0;
    for i in 0..6u8 {
        let out = w.frame(b, ClientFrame::Payload(vec![i]));
        got += out.len();
        assert!(!out.iter().any(|o| matches!(o, RelayOutput::Close { .. })));
    }
    assert_eq!(
        got, 2,
        "the join used a frame token; two payloads pass at once"
    );
    let mut t = w.t0;
    while let Some(next) = w.core.poll_timeout().filter(|&n| n < w.at(10_000)) {
        t = next;
        w.core.handle_timeout(t);
        got += w.drain().len();
    }
    assert_eq!(got, 6, "every payload is relayed in the end");
    assert!(t >= w.at(350) && t <= w.at(450), "{t:?}");
    // Bytes: a 1,000-byte burst; a 3,000-byte payload passes from a full bucket and leaves a
    // debt of 2 s before the next one.
    let t = w.at(20_000);
    w.core
        .handle_frame(b, ClientFrame::Payload(vec![0; 3000]), t);
    assert_eq!(w.drain().len(), 1);
    w.core.handle_frame(b, ClientFrame::Payload(vec![1]), t);
    assert!(w.drain().is_empty());
    let next = w.core.poll_timeout().expect("waiting");
    assert!(next >= t + Duration::from_millis(2000), "{next:?}");
}

#[test]
fn a_driver_without_flow_control_that_overruns_the_rates_closes_the_connection() {
    let limits = Limits {
        frame_burst: 1.0,
        frames_per_second: 1.0,
        ..Limits::default()
    };
    let mut w = World::new(limits);
    let a = w.connect();
    let mut out = Vec::new();
    for i in 0..=(MAX_UNADMITTED as u64 + 1) {
        out.extend(w.frame(a, ClientFrame::Ping(i)));
    }
    assert!(is_error(&out, a, ErrorCode::RateLimited));
    assert!(closes(&out, a, ErrorCode::RateLimited));
}

#[test]
fn repeated_refused_joins_close_the_connection() {
    let mut w = World::new(Limits {
        max_rooms: 1,
        max_redirect_tries: 2,
        max_strikes: 3,
        ..Limits::default()
    });
    let (a, b, c) = (w.connect(), w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    let mut out = Vec::new();
    for _ in 0..3 {
        out.extend(w.join(c, "r"));
    }
    assert_eq!(
        out.iter()
            .filter(|o| matches!(
                o,
                RelayOutput::Send {
                    frame: RelayFrame::Error {
                        code: ErrorCode::ServerFull,
                        ..
                    },
                    ..
                }
            ))
            .count(),
        3
    );
    assert!(closes(&out, c, ErrorCode::ServerFull));
}

#[test]
fn idle_connections_are_closed_and_active_ones_kept() {
    let limits = Limits {
        idle_timeout: Duration::from_secs(10),
        stream_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let mut w = World::new(limits);
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    w.core.handle_frame(b, ClientFrame::Ping(1), w.at(9_000));
    w.drain();
    assert_eq!(w.core.poll_timeout(), Some(w.at(10_000)));
    w.core.handle_timeout(w.at(10_000));
    let out = w.drain();
    assert!(is_error(&out, a, ErrorCode::IdleTimeout));
    assert!(closes(&out, a, ErrorCode::IdleTimeout));
    assert!(out.contains(&send(b, RelayFrame::PeerLeft)));
    assert!(
        !out.iter()
            .any(|o| matches!(o, RelayOutput::Close { conn, .. } if *conn == b))
    );
    assert_eq!(w.core.room_of(a), None, "a closing connection has left");
}

#[test]
fn connection_and_room_caps() {
    let mut w = World::new(Limits {
        max_connections: 2,
        max_rooms: 1,
        max_redirect_tries: 5,
        ..Limits::default()
    });
    let (a, b) = (w.connect(), w.connect());
    assert_eq!(w.core.handle_connect(w.t0), Err(ConnectError::ServerFull));
    w.join(a, "r");
    // The only room is half full; another room cannot be created.
    assert!(is_error(&w.join(b, "s"), b, ErrorCode::ServerFull));
    assert!(matches!(
        w.join(b, "r")[0],
        RelayOutput::Send {
            frame: RelayFrame::Joined { .. },
            ..
        }
    ));
}

#[test]
fn a_flood_of_joiners_lands_in_distinct_rooms_of_two() {
    for shards in [1, 4] {
        let mut w = World::sharded(Limits::default(), shards);
        let ids: Vec<ConnId> = (0..51).map(|_| w.connect()).collect();
        for &id in &ids {
            w.join(id, "popular");
        }
        let mut per_room: HashMap<RoomName, usize> = HashMap::new();
        for &id in &ids {
            *per_room
                .entry(w.core.room_of(id).unwrap().clone())
                .or_default() += 1;
        }
        assert_eq!(per_room.len(), 26);
        assert!(per_room.values().all(|&n| n <= 2));
        assert_eq!(per_room.values().filter(|&&n| n == 1).count(), 1);
    }
}

#[test]
fn rooms_spread_over_shards_and_each_shard_keeps_its_share_of_the_room_limit() {
    let mut w = World::sharded(
        Limits {
            max_rooms: 8,
            max_redirect_tries: 0,
            ..Limits::default()
        },
        2,
    );
    // 4 rooms per shard: joining many distinct rooms fills both shards, never more than 8.
    let mut seated = 0;
    for i in 0..40 {
        let c = w.connect();
        let out = w.join(c, &format!("room{i}x"));
        if out.iter().any(|o| {
            matches!(
                o,
                RelayOutput::Send {
                    frame: RelayFrame::Joined { .. },
                    ..
                }
            )
        }) {
            seated += 1;
        }
    }
    assert_eq!(seated, 8);
    assert_eq!(w.core.stats().rooms, 8);
}

#[test]
fn shutdown_tells_everyone_and_nobody_is_told_peer_left() {
    let mut w = World::new(Limits::default());
    let (a, b, c) = (w.connect(), w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    w.core.shutdown();
    let out = w.drain();
    for x in [a, b, c] {
        assert!(is_error(&out, x, ErrorCode::ShuttingDown));
        assert!(closes(&out, x, ErrorCode::ShuttingDown));
    }
    assert!(!out.iter().any(|o| matches!(
        o,
        RelayOutput::Send {
            frame: RelayFrame::PeerLeft,
            ..
        }
    )));
}

// ---- the pieces, as the concurrent server drives them -------------------------------------------

#[test]
fn a_join_or_leave_holds_back_the_next_frame_until_the_shard_answers() {
    let t = Instant::now();
    let mut s = ConnState::new(&Limits::default(), 4, t);
    let join = ClientFrame::Join { room: room("r") };
    assert_eq!(s.admit(&join, t), Admit::Now);
    s.handle_frame(join, t);
    let shard = shard_of(&room("r"), 4);
    assert_eq!(
        s.poll_output(),
        Some(ConnOutput::ToShard {
            shard,
            call: ShardCall::Join(room("r"))
        })
    );
    let payload = ClientFrame::Payload(vec![1]);
    assert_eq!(s.admit(&payload, t), Admit::AfterShard);
    s.handle_event(ConnEvent::JoinDone(Some(room("r"))));
    s.handle_event(ConnEvent::Paired(Some(PairingId(7))));
    assert_eq!(s.admit(&payload, t), Admit::Now);
    s.handle_frame(payload, t);
    assert_eq!(
        s.poll_output(),
        Some(ConnOutput::ToPeer {
            pairing: PairingId(7),
            body: vec![1]
        })
    );
    assert!(s.accepts(PairingId(7)) && !s.accepts(PairingId(8)));
    s.handle_frame(ClientFrame::Leave, t);
    assert_eq!(
        s.poll_output(),
        Some(ConnOutput::ToShard {
            shard,
            call: ShardCall::Leave
        })
    );
    // Until the old room is left, a join elsewhere waits: nothing of the old room can then
    // arrive after the new room's Joined.
    assert_eq!(
        s.admit(&ClientFrame::Join { room: room("q") }, t),
        Admit::AfterShard
    );
    s.handle_event(ConnEvent::Left);
    assert_eq!(
        s.admit(&ClientFrame::Join { room: room("q") }, t),
        Admit::Now
    );
    assert_eq!(s.shard(), None);
}

#[test]
fn a_dropped_payload_is_reported_once_until_the_room_changes() {
    let t = Instant::now();
    let mut s = ConnState::new(&Limits::default(), 1, t);
    s.handle_frame(ClientFrame::Join { room: room("r") }, t);
    let _ = s.poll_output();
    s.handle_event(ConnEvent::JoinDone(Some(room("r"))));
    s.handle_event(ConnEvent::Paired(Some(PairingId(1))));
    for _ in 0..5 {
        s.handle_event(ConnEvent::Dropped);
    }
    let errors: Vec<_> = std::iter::from_fn(|| s.poll_output()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    s.handle_event(ConnEvent::Paired(None));
    s.handle_event(ConnEvent::Dropped);
    assert!(matches!(
        s.poll_output(),
        Some(ConnOutput::Send(RelayFrame::Error {
            code: ErrorCode::NotInRoom,
            ..
        }))
    ));
}

fn shard_events(s: &mut RoomShard<ConnId>) -> Vec<(ConnId, ShardEvent<ConnId>)> {
    std::iter::from_fn(|| s.poll_output())
        .map(|o| (o.to, o.event))
        .collect()
}

fn pairing_of(events: &[(ConnId, ShardEvent<ConnId>)], conn: ConnId) -> Option<PairingId> {
    events.iter().find_map(|(to, e)| match e {
        ShardEvent::Paired(Some((p, _))) if *to == conn => Some(*p),
        _ => None,
    })
}

#[test]
fn each_pairing_has_its_own_id_and_is_announced_after_both_peer_joined() {
    let mut s: RoomShard<ConnId> = RoomShard::new(10, 10);
    let (a, b) = (ConnId(1), ConnId(2));
    s.handle_request(ShardRequest::Join {
        conn: a,
        room: room("r"),
        handle: a,
    });
    s.handle_request(ShardRequest::Join {
        conn: b,
        room: room("r"),
        handle: b,
    });
    let ev = shard_events(&mut s);
    let first = pairing_of(&ev, a).expect("paired");
    assert_eq!(pairing_of(&ev, b), Some(first));
    assert!(
        ev.iter()
            .any(|(to, e)| *to == a && matches!(e, ShardEvent::Paired(Some((_, h))) if *h == b))
    );
    // PeerJoined for both comes before either learns the pairing (and can send into it).
    let peer_joined_last = ev
        .iter()
        .rposition(|(_, e)| matches!(e, ShardEvent::Frame(RelayFrame::PeerJoined)))
        .unwrap();
    let paired_first = ev
        .iter()
        .position(|(_, e)| matches!(e, ShardEvent::Paired(_)))
        .unwrap();
    assert!(peer_joined_last < paired_first);
    // b leaves and comes back: a new pairing; a is told in between.
    s.handle_request(ShardRequest::Leave { conn: b });
    let ev = shard_events(&mut s);
    assert!(
        ev.iter()
            .any(|(to, e)| *to == b && matches!(e, ShardEvent::Left))
    );
    assert!(
        ev.iter()
            .any(|(to, e)| *to == a && matches!(e, ShardEvent::Paired(None)))
    );
    s.handle_request(ShardRequest::Join {
        conn: b,
        room: room("r"),
        handle: b,
    });
    let second = pairing_of(&shard_events(&mut s), a).expect("paired again");
    assert_ne!(first, second);
}

#[test]
fn a_payload_of_an_ended_pairing_is_refused_by_the_receiver_and_reported_once() {
    // What the server does when a payload reaches a peer whose pairing changed meanwhile: the
    // receiver's state no longer accepts the old pairing; the sender is told Dropped.
    let t = Instant::now();
    let mut b = ConnState::new(&Limits::default(), 1, t);
    b.handle_frame(ClientFrame::Join { room: room("r") }, t);
    let _ = b.poll_output();
    b.handle_event(ConnEvent::JoinDone(Some(room("r"))));
    b.handle_event(ConnEvent::Paired(Some(PairingId(1))));
    assert!(b.accepts(PairingId(1)));
    b.handle_event(ConnEvent::Paired(None));
    assert!(!b.accepts(PairingId(1)));
    b.handle_event(ConnEvent::Paired(Some(PairingId(2))));
    assert!(!b.accepts(PairingId(1)) && b.accepts(PairingId(2)));
    b.shutdown();
    assert!(
        !b.accepts(PairingId(2)),
        "a closing connection takes nothing"
    );
}
