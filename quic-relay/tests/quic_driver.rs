//! The relay's own QUIC driver (src/server/quic.rs, over quinn-proto) over real UDP: connections
//! of every kind end and are forgotten by the endpoint, hostile datagrams do not disturb a chat,
//! half-open handshakes do not keep their slot, stateless answers go out, shutdown lets go of
//! everything.
//!
//! [`RelayHandle::quic_connections`] is what the endpoint still holds (quinn-proto's count, which
//! the endpoint task checks against its own routing map in debug builds); `stats().connections`
//! is the slots under `--max-connections`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Forwarder, T, connect, connect_via, relay};
use quic_relay::client::RelayConnection;
use quic_relay::core::Limits;
use quic_relay::server::RelayHandle;
use quinn_proto as proto;
use rand::{Rng, SeedableRng};
use sans_io_proto::frame::{ClientFrame, ErrorCode, RelayFrame};
use tokio::net::UdpSocket;

/// Waits until `f` holds, or panics with `what` after `within`.
async fn eventually(within: Duration, what: &str, f: impl Fn() -> bool) {
    let until = tokio::time::Instant::now() + within;
    while !f() {
        assert!(tokio::time::Instant::now() < until, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the relay holds no connection: no slot taken, none left in the QUIC endpoint.
async fn all_forgotten(r: &RelayHandle, within: Duration, what: &str) {
    eventually(within, what, || {
        r.stats().connections == 0 && r.quic_connections() == 0
    })
    .await;
}

/// Two clients seated together in `name`.
async fn pair(r: &RelayHandle, a: &mut Client, b: &mut Client, name: &str) {
    a.join_until(name, RelayFrame::Waiting).await;
    b.join_until(name, RelayFrame::PeerJoined).await;
    assert_eq!(a.next().await, RelayFrame::PeerJoined);
    let _ = r;
}

/// `n` payloads each way, each answered before the next.
async fn chat(a: &mut Client, b: &mut Client, n: u8) {
    for i in 0..n {
        a.send(ClientFrame::Payload(vec![i; 200])).await;
        assert_eq!(b.next().await, RelayFrame::Payload(vec![i; 200]));
        b.send(ClientFrame::Payload(vec![!i; 300])).await;
        assert_eq!(a.next().await, RelayFrame::Payload(vec![!i; 300]));
    }
}

// ---- (a) every way a connection ends, and the endpoint forgets it ------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_ended_every_way_are_all_forgotten_and_the_relay_keeps_serving() {
    let r = relay(Limits {
        max_connections: 4,
        ..Limits::default()
    })
    .await;
    // Graceful, twice over: the client closes its connection (code 0, and an application code).
    let closed = connect(&r).await;
    let coded = connect(&r).await;
    // Abrupt: the client's machine vanishes (nothing is closed, the relay hears nothing more).
    let fwd = Forwarder::start(r.local_addr()).await;
    let crashed = connect_via(fwd.addr, &r).await;
    // And one whose whole client endpoint is dropped at once.
    let dropped = connect(&r).await;
    assert_eq!(r.stats().connections, 4);
    assert_eq!(r.quic_connections(), 4);
    // Over --max-connections: refused with an Error frame it can read, then closed.
    let mut refused = connect_refused(&r).await;
    assert_eq!(
        refused.next().await,
        RelayFrame::Error {
            code: ErrorCode::ServerFull,
            message: "the relay is full (too many connections)".into()
        }
    );
    refused.expect_closed().await;

    closed.tx.close();
    coded.tx.connection().close(7u32.into(), b"gone");
    fwd.crash();
    drop(dropped);
    drop(refused);
    // The idle timeout (4 s) ends the crashed one; everything is drained soon after.
    all_forgotten(
        &r,
        Duration::from_secs(8),
        "every connection is given back and forgotten by the endpoint",
    )
    .await;
    drop((closed, coded, crashed, fwd));

    // The relay still serves, up to its limit again.
    let (mut a, mut b) = (connect(&r).await, connect(&r).await);
    pair(&r, &mut a, &mut b, "after").await;
    chat(&mut a, &mut b, 5).await;
    assert_eq!(r.quic_connections(), 2);
    r.shutdown().await;
}

/// A connection over the limit: no Pong is expected, the Error frame comes first.
async fn connect_refused(r: &RelayHandle) -> Client {
    let conn = RelayConnection::connect(r.local_addr(), r.fingerprint(), T)
        .await
        .unwrap();
    let (tx, rx) = conn.split();
    Client { tx, rx }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_short_connections_leave_nothing_behind() {
    let r = relay(Limits::default()).await;
    for round in 0..3 {
        let mut clients = Vec::new();
        for _ in 0..20 {
            clients.push(connect(&r).await);
        }
        assert_eq!(r.quic_connections(), 20, "round {round}");
        for (i, c) in clients.iter().enumerate() {
            if i % 2 == 0 {
                c.tx.close();
            }
        }
        drop(clients);
        all_forgotten(
            &r,
            Duration::from_secs(3),
            "closed connections are drained and forgotten",
        )
        .await;
    }
    r.shutdown().await;
}

// ---- (b) hostile datagrams --------------------------------------------------------------------

/// Sends hostile datagrams at `to` from its own thread until `stop`: random bytes, datagrams
/// longer than the relay takes, short-header packets for unknown connection IDs, Initial-looking
/// packets for random IDs, packets of unknown QUIC versions, and garbage aimed at `target` (a live
/// connection's ID). Returns how many it sent.
fn flood(to: SocketAddr, target: Vec<u8>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut sent = 0usize;
        let mut buf = vec![0u8; 9000];
        while !stop.load(Ordering::Relaxed) {
            let len = match sent % 6 {
                0 => {
                    let n = rng.gen_range(1..1500);
                    rng.fill(&mut buf[..n]);
                    n
                }
                1 => {
                    let n = rng.gen_range(1473..9000);
                    rng.fill(&mut buf[..n]);
                    n
                }
                2 => {
                    // Short header, random 8-byte connection ID: stateless-reset territory.
                    rng.fill(&mut buf[..1200]);
                    buf[0] = 0x40 | (buf[0] & 0x3f);
                    1200
                }
                3 => {
                    // Long header, Initial, version 1, random IDs, garbage payload.
                    rng.fill(&mut buf[..1200]);
                    buf[0] = 0xc0 | (buf[0] & 0x0f);
                    buf[1..5].copy_from_slice(&1u32.to_be_bytes());
                    buf[5] = 8;
                    buf[14] = 8;
                    1200
                }
                4 => {
                    // Long header of an unknown version: version negotiation.
                    rng.fill(&mut buf[..1200]);
                    buf[0] |= 0x80;
                    buf[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
                    buf[5] = 8;
                    buf[14] = 8;
                    1200
                }
                _ => {
                    // Garbage under a live connection's ID.
                    let n = rng.gen_range(30..1400);
                    rng.fill(&mut buf[..n]);
                    buf[0] = 0x40 | (buf[0] & 0x3f);
                    buf[1..9].copy_from_slice(&target);
                    n
                }
            };
            if socket.send_to(&buf[..len], to).is_ok() {
                sent += 1;
            }
            if sent.is_multiple_of(64) {
                // Loopback is faster than any link: keep the flood heavy, not unbounded.
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        sent
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_hostile_datagrams_does_not_stop_a_chat() {
    let r = relay(Limits::default()).await;
    let fwd = Forwarder::start(r.local_addr()).await;
    let mut a = connect_via(fwd.addr, &r).await;
    let mut b = connect(&r).await;
    pair(&r, &mut a, &mut b, "flooded").await;
    let target = fwd.client_cid().expect("a's connection ID seen");

    let stop = Arc::new(AtomicBool::new(false));
    let flooder = flood(r.local_addr(), target, stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    chat(&mut a, &mut b, 30).await;
    // Keep it up for a while, with the keep-alives as the only traffic: the connection survives.
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(started.elapsed())).await;
    chat(&mut a, &mut b, 5).await;
    assert_eq!(r.quic_connections(), 2, "no garbage became a connection");
    assert_eq!(r.stats().connections, 2);
    stop.store(true, Ordering::Relaxed);
    let sent = flooder.join().unwrap();
    assert!(sent > 10_000, "the flood was a flood ({sent} datagrams)");
    chat(&mut a, &mut b, 3).await;
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_versions_get_version_negotiation_and_a_forgotten_connection_a_stateless_reset() {
    let r = relay(Limits::default()).await;
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = [0u8; 2048];

    let mut vn = vec![0u8; 1200];
    vn[0] = 0xc0;
    vn[1..5].copy_from_slice(&0x1a2a_3a4au32.to_be_bytes());
    vn[5] = 8;
    vn[6..14].copy_from_slice(b"dcid-vn!");
    vn[14] = 8;
    vn[15..23].copy_from_slice(b"scid-vn!");
    s.send_to(&vn, r.local_addr()).await.unwrap();
    let n = tokio::time::timeout(T, s.recv(&mut buf))
        .await
        .expect("a version negotiation in time")
        .unwrap();
    assert!(buf[0] & 0x80 != 0, "a long header");
    assert_eq!(buf[1..5], [0; 4], "version 0: version negotiation");
    assert_eq!(&buf[6..14], b"scid-vn!", "addressed to the sender's ID");
    let versions: Vec<u32> = buf[23..n]
        .chunks(4)
        .map(|v| u32::from_be_bytes(v.try_into().unwrap()))
        .collect();
    assert!(versions.contains(&1), "QUIC v1 offered: {versions:x?}");

    // A connection ID the relay issued, of a connection it has forgotten: a stateless reset
    // (RFC 9000 §10.3), smaller than what incited it.
    let fwd = Forwarder::start(r.local_addr()).await;
    let c = connect_via(fwd.addr, &r).await;
    let cid = fwd.client_cid().expect("the connection ID seen");
    c.tx.close();
    drop(c);
    eventually(T, "the closed connection is forgotten", || {
        r.quic_connections() == 0
    })
    .await;
    let mut short = vec![0x55u8; 100];
    short[0] = 0x41;
    short[1..9].copy_from_slice(&cid);
    s.send_to(&short, r.local_addr()).await.unwrap();
    let n = tokio::time::timeout(T, s.recv(&mut buf))
        .await
        .expect("a stateless reset in time")
        .unwrap();
    assert!(n < short.len(), "smaller than what incited it");
    assert_eq!(buf[0] & 0xc0, 0x40, "looks like a short-header packet");

    // Neither made a connection.
    assert_eq!(r.quic_connections(), 0);
    assert_eq!(r.stats().connections, 0);
    r.shutdown().await;
}

// ---- (c) handshakes that never complete -------------------------------------------------------

/// A QUIC client driven by hand: it never hears the relay's answers.
struct Mute {
    endpoint: proto::Endpoint,
    conn: proto::Connection,
    socket: UdpSocket,
    relay: SocketAddr,
}

impl Mute {
    async fn new(r: &RelayHandle) -> Mute {
        let mut endpoint = proto::Endpoint::new(
            Arc::new(proto::EndpointConfig::default()),
            None,
            false,
            None,
        );
        let (config, _) = quic_relay::pin::client_config(r.fingerprint()).unwrap();
        let (_, conn) = endpoint
            .connect(Instant::now(), config, r.local_addr(), "localhost")
            .unwrap();
        Mute {
            endpoint,
            conn,
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            relay: r.local_addr(),
        }
    }

    /// Sends what the client has to send (its Initial, or a PING in an Initial packet).
    async fn send(&mut self) -> usize {
        let mut sent = 0;
        let mut buf = Vec::new();
        while let Some(t) = self.conn.poll_transmit(Instant::now(), 1, &mut buf) {
            assert!(t.size >= 1200, "client Initials are padded");
            self.socket
                .send_to(&buf[..t.size], self.relay)
                .await
                .unwrap();
            sent += 1;
            buf.clear();
        }
        let _ = &self.endpoint;
        sent
    }

    /// The relay's next datagram to this client (waiting up to `T`).
    async fn answer(&self) -> Vec<u8> {
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout(T, self.socket.recv(&mut buf))
            .await
            .expect("an answer in time")
            .unwrap();
        buf.truncate(n);
        buf
    }

    /// Whether the relay answered (its Initial), without waiting.
    fn answered(&self) -> bool {
        let mut buf = [0u8; 2048];
        matches!(self.socket.try_recv(&mut buf), Ok(n) if n > 0 && buf[0] & 0x80 != 0)
    }
}

#[tokio::test]
async fn a_handshake_that_never_completes_gives_its_slot_back_within_the_idle_timeout() {
    let r = relay(Limits::default()).await;
    let mut mute = Mute::new(&r).await;
    assert_eq!(mute.send().await, 1, "one Initial datagram");
    let sent = Instant::now();
    eventually(T, "the Initial is accepted", || r.stats().connections == 1).await;
    assert_eq!(r.quic_connections(), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(mute.answered(), "the relay answered the Initial");
    // Nothing more is sent: QUIC's idle timeout (4 s) ends it, and nothing remains.
    all_forgotten(
        &r,
        Duration::from_secs(6),
        "the half-open connection is released",
    )
    .await;
    let held = sent.elapsed();
    assert!(
        held >= Duration::from_secs(3),
        "held until the idle timeout, not dropped at once ({held:?})"
    );
    // And the relay still takes connections.
    let mut c = connect(&r).await;
    c.send(ClientFrame::Ping(9)).await;
    assert_eq!(c.next().await, RelayFrame::Pong(9));
    r.shutdown().await;
}

#[tokio::test]
async fn a_handshake_kept_alive_by_initial_pings_does_not_hold_its_slot() {
    // Initial packets are readable by anyone (their keys come from the connection ID), and every
    // one of them restarts QUIC's idle timer: a client that sends a PING in an Initial every
    // second keeps a handshake open for ever unless the relay bounds the handshake itself.
    let r = relay(Limits {
        stream_timeout: Duration::from_secs(2),
        ..Limits::default()
    })
    .await;
    let mut mute = Mute::new(&r).await;
    mute.send().await;
    let start = Instant::now();
    eventually(T, "the Initial is accepted", || r.stats().connections == 1).await;
    let mut released = None;
    while start.elapsed() < Duration::from_secs(6) {
        tokio::time::sleep(Duration::from_millis(800)).await;
        mute.conn.ping();
        assert!(mute.send().await >= 1, "a PING in an Initial packet");
        if released.is_none() && r.stats().connections == 0 {
            released = Some(start.elapsed());
        }
    }
    let released = released.expect("the slot is given back while the client keeps pinging");
    assert!(
        released < Duration::from_secs(4),
        "released by the handshake deadline, not by chance ({released:?})"
    );
    // Once it stops, the closed connection is drained and forgotten.
    eventually(Duration::from_secs(5), "the endpoint forgets it", || {
        r.quic_connections() == 0
    })
    .await;
    r.shutdown().await;
}

// ---- shutdown ---------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_every_connection_and_lets_go_of_the_port() {
    let r = relay(Limits::default()).await;
    let addr = r.local_addr();
    let (mut a, mut b) = (connect(&r).await, connect(&r).await);
    pair(&r, &mut a, &mut b, "bye").await;
    // One more in the middle of its handshake.
    let mut mute = Mute::new(&r).await;
    mute.send().await;
    eventually(T, "all three accepted", || r.quic_connections() == 3).await;
    // (Each reader holds its client whole: a dropped sending half would finish the stream.)
    let readers = [a, b].map(|c| {
        tokio::spawn(async move {
            let mut c = c;
            loop {
                match c.rx.recv_frame().await {
                    Ok(Some(RelayFrame::Error { code, .. })) => return Some(code),
                    Ok(Some(_)) => continue,
                    _ => return None,
                }
            }
        })
    });
    let started = Instant::now();
    r.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(6));
    for reader in readers {
        assert_eq!(reader.await.unwrap(), Some(ErrorCode::ShuttingDown));
    }
    // Every connection task is gone and with it the socket: the port is free again.
    port_freed(addr, "the relay's UDP port is released after shutdown").await;
}

// ---- (d) address validation under pressure ----------------------------------------------------

#[tokio::test]
async fn once_half_the_slots_are_taken_a_newcomer_must_answer_a_retry_first() {
    let r = relay(Limits {
        max_connections: 4,
        ..Limits::default()
    })
    .await;
    // Below half: an Initial is accepted directly (the answer is an Initial, type 0b00).
    let mut first = Mute::new(&r).await;
    first.send().await;
    let answer = first.answer().await;
    assert_eq!(answer[0] & 0xb0, 0x80, "a long-header Initial answer");
    eventually(T, "the first Initial takes a slot", || {
        r.stats().connections == 1
    })
    .await;
    let _a = connect(&r).await;
    assert_eq!(r.stats().connections, 2);

    // Half taken: a spoofable Initial gets a Retry (long header, type 0b11) and no slot.
    let mut spoofed = Mute::new(&r).await;
    spoofed.send().await;
    let answer = spoofed.answer().await;
    assert_eq!(answer[0] & 0xb0, 0xb0, "a Retry packet");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.stats().connections, 2, "a Retry costs the relay no slot");

    // A real client follows the Retry by itself and gets in.
    let mut b = connect(&r).await;
    b.send(ClientFrame::Ping(7)).await;
    assert_eq!(b.next().await, RelayFrame::Pong(7));
    assert_eq!(r.stats().connections, 3);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_handle_shuts_the_relay_down_and_frees_its_port() {
    let r = relay(Limits::default()).await;
    let addr = r.local_addr();
    let mut a = connect(&r).await;
    a.send(ClientFrame::Ping(1)).await;
    assert_eq!(a.next().await, RelayFrame::Pong(1));
    drop(r);
    assert_eq!(
        a.next().await,
        RelayFrame::Error {
            code: ErrorCode::ShuttingDown,
            message: "the relay is shutting down".into()
        }
    );
    port_freed(
        addr,
        "the relay's UDP port is released once its handle is gone",
    )
    .await;
}

/// Waits (up to 5 s) until `addr` can be bound again: the relay has let go of its socket.
async fn port_freed(addr: SocketAddr, what: &str) {
    eventually(Duration::from_secs(5), what, || {
        std::net::UdpSocket::bind(addr).is_ok()
    })
    .await;
}
