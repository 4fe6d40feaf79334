//! Unit tests of every room rule on a fake clock.

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
    let mut w = World::new(Limits::default());
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
    // A fifth goes to r-3.
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
    assert_eq!(w.core.stats().redirects, 3);
}

#[test]
fn leaving_tells_the_peer_at_once_and_frees_the_seat() {
    let mut w = World::new(Limits::default());
    let (a, b, c) = (w.connect(), w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    assert_eq!(
        w.frame(a, ClientFrame::Leave),
        vec![send(b, RelayFrame::PeerLeft), send(b, RelayFrame::Waiting)]
    );
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
}

#[test]
fn rule_violations_get_typed_errors() {
    let mut w = World::new(Limits::default());
    let (a, b) = (w.connect(), w.connect());
    assert!(is_error(
        &w.frame(a, ClientFrame::Payload(vec![1])),
        a,
        ErrorCode::NotInRoom
    ));
    w.join(a, "r");
    assert!(is_error(
        &w.frame(a, ClientFrame::Payload(vec![1])),
        a,
        ErrorCode::NotInRoom
    ));
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
    assert!(out.contains(&RelayOutput::Close {
        conn: b,
        code: ErrorCode::MalformedFrame
    }));
    // Nothing from a closed connection is acted on.
    assert!(w.join(b, "q").is_empty());
    w.core
        .handle_decode_error(a, &FrameError::TooLarge { len: 1 << 20 });
    let out = w.drain();
    assert!(is_error(&out, a, ErrorCode::FrameTooLarge));
    assert!(out.contains(&RelayOutput::Close {
        conn: a,
        code: ErrorCode::FrameTooLarge
    }));
}

#[test]
fn join_and_payload_rates_are_limited_and_abuse_closes() {
    let limits = Limits {
        join_burst: 2.0,
        joins_per_second: 1.0,
        payload_burst: 3.0,
        payloads_per_second: 1.0,
        max_strikes: 3,
        ..Limits::default()
    };
    let mut w = World::new(limits);
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.frame(a, ClientFrame::Leave);
    w.join(a, "r");
    w.frame(a, ClientFrame::Leave);
    assert!(is_error(&w.join(a, "r"), a, ErrorCode::RateLimited));
    // After a second a token is back.
    w.core
        .handle_frame(a, ClientFrame::Join { room: room("r") }, w.at(1000));
    assert!(matches!(
        w.drain()[0],
        RelayOutput::Send {
            frame: RelayFrame::Joined { .. },
            ..
        }
    ));
    w.join(b, "r");
    for _ in 0..3 {
        w.frame(b, ClientFrame::Payload(vec![0]));
    }
    let out = w.frame(b, ClientFrame::Payload(vec![0]));
    assert!(is_error(&out, b, ErrorCode::RateLimited));
    w.frame(b, ClientFrame::Payload(vec![0]));
    let out = w.frame(b, ClientFrame::Payload(vec![0]));
    assert!(
        out.contains(&RelayOutput::Close {
            conn: b,
            code: ErrorCode::RateLimited
        }),
        "{out:?}"
    );
    assert!(
        out.contains(&send(a, RelayFrame::PeerLeft)),
        "the peer learns the abuser left"
    );
}

#[test]
fn idle_connections_are_closed_and_active_ones_kept() {
    let limits = Limits {
        idle_timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    let mut w = World::new(limits);
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.join(b, "r");
    w.core.handle_frame(b, ClientFrame::Ping(1), w.at(9_000));
    w.drain();
    assert!(w.core.poll_timeout().is_some());
    w.core.handle_timeout(w.at(10_000));
    let out = w.drain();
    assert!(is_error(&out, a, ErrorCode::IdleTimeout));
    assert!(out.contains(&RelayOutput::Close {
        conn: a,
        code: ErrorCode::IdleTimeout
    }));
    assert!(out.contains(&send(b, RelayFrame::PeerLeft)));
    assert!(
        !out.iter()
            .any(|o| matches!(o, RelayOutput::Close { conn, .. } if *conn == b))
    );
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
    let mut w = World::new(Limits::default());
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

#[test]
fn shutdown_tells_everyone() {
    let mut w = World::new(Limits::default());
    let (a, b) = (w.connect(), w.connect());
    w.join(a, "r");
    w.core.shutdown();
    let out = w.drain();
    for c in [a, b] {
        assert!(is_error(&out, c, ErrorCode::ShuttingDown));
        assert!(out.contains(&RelayOutput::Close {
            conn: c,
            code: ErrorCode::ShuttingDown
        }));
    }
}
