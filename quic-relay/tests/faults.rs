//! The relay's fault handling over real QUIC on 127.0.0.1 (issue 11): a reader that never reads
//! while its peer floods, many of them against `max_memory`, a slow but steady reader, a crashed
//! peer, a dead relay, connections over the limits, and connections that never open a stream.
//! Every load is loopback only and bounded in bytes and time; the whole file runs in ~15 s.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Forwarder, T, connect, connect_via, peak_while, relay_with_workers};
use quic_relay::client::{RelayConnection, RelayReceiver, RelaySender};
use quic_relay::core::Limits;
use quic_relay::server::{CONN_RESERVATION, RelayHandle};
use sans_io_proto::frame::{ClientFrame, ErrorCode, RelayFrame};

/// The write-stall timeout of these tests.
const STALL: Duration = Duration::from_secs(1);
/// Payload size of the floods.
const CHUNK: usize = 60_000;

/// Rates high enough for a flood (the bursts still fit the queue).
fn flood_limits() -> Limits {
    Limits {
        write_stall_timeout: STALL,
        frames_per_second: 100_000.0,
        frame_burst: 200.0,
        bytes_per_second: 1e9,
        byte_burst: 64.0 * 1024.0,
        ..Limits::default()
    }
}

/// Two clients paired in `room`.
async fn pair(r: &RelayHandle, room: &str) -> (Client, Client) {
    let (mut a, mut b) = (connect(r).await, connect(r).await);
    a.join_until(room, RelayFrame::Waiting).await;
    b.join_until(room, RelayFrame::PeerJoined).await;
    while a.next().await != RelayFrame::PeerJoined {}
    (a, b)
}

/// Sends payloads of [`CHUNK`] bytes until `stop`; returns the sender, the bytes the stream took
/// and the longest single write (how long the relay held the sender back).
fn flood(
    mut tx: RelaySender,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(RelaySender, usize, Duration)> {
    tokio::spawn(async move {
        let payload = ClientFrame::Payload(vec![0x5a; CHUNK]);
        let (mut sent, mut longest) = (0, Duration::ZERO);
        while !stop.load(Ordering::SeqCst) {
            let t = Instant::now();
            let Ok(Ok(())) = tokio::time::timeout(T, tx.send_frame(&payload)).await else {
                break;
            };
            longest = longest.max(t.elapsed());
            sent += CHUNK + 6;
        }
        (tx, sent, longest)
    })
}

/// Reads frames until `want`; returns when it came.
async fn until(rx: &mut RelayReceiver, want: RelayFrame, within: Duration) -> Instant {
    tokio::time::timeout(within, async {
        loop {
            match rx.recv_frame().await {
                Ok(Some(f)) if f == want => return Instant::now(),
                Ok(Some(_)) => {}
                other => panic!("waiting for {want:?}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {want:?} within {within:?}"))
}

/// The QUIC application close code a client's connection ended with.
async fn close_code(tx: &RelaySender, within: Duration) -> u64 {
    match tokio::time::timeout(within, tx.connection().closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(close)) => close.error_code.into_inner(),
        Ok(other) => panic!("closed otherwise: {other}"),
        Err(_) => panic!("not closed within {within:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_never_reads_slows_its_sender_is_closed_after_the_stall_and_its_peer_is_told()
{
    let limits = flood_limits();
    let r = relay_with_workers(limits.clone(), 2).await;
    let (a, b) = pair(&r, "flood").await;
    // b never reads from here on; a floods it.
    let Client {
        tx: a_tx,
        rx: mut a_rx,
    } = a;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let flooding = flood(a_tx, stop.clone());
    let memory_peak = peak_while(|| r.stats().memory, async {
        let told = until(&mut a_rx, RelayFrame::PeerLeft, Duration::from_secs(10)).await;
        let waited = told - started;
        // Not before the stall timeout, and soon after it (b's 1.25 MB QUIC window fills first).
        assert!(waited >= STALL, "peer told after {waited:?}");
        assert!(
            waited < STALL + Duration::from_secs(3),
            "peer told after {waited:?}"
        );
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    // b was closed for real, with the SlowReader code.
    assert_eq!(
        close_code(&b.tx, T).await,
        u64::from(ErrorCode::SlowReader.to_u16())
    );
    // The relay never held more than both reservations, b's queue and a frame in each
    // direction: the flood was stopped at the relay's door, not buffered.
    let bound = 2 * CONN_RESERVATION + limits.queue_bytes + 2 * limits.max_frame_cost();
    assert!(
        memory_peak <= bound,
        "relay memory peaked at {memory_peak} > {bound}"
    );
    assert!(
        memory_peak > 2 * CONN_RESERVATION + CHUNK,
        "the queue did fill"
    );
    let (mut a_tx, sent, longest) = flooding.await.unwrap();
    // The sender was held back (a write waited for most of the stall), not cut.
    assert!(longest >= STALL / 2, "longest write {longest:?}");
    assert!(
        sent > 1_000_000,
        "only {sent} bytes taken before b was closed"
    );
    // b's memory is freed: only a's reservation (and a frame in flight) is left.
    tokio::time::timeout(T, async {
        while r.stats().memory > CONN_RESERVATION + limits.max_frame_cost() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("b's memory returned");
    assert_eq!(r.stats().connections, 1);
    // a is still served.
    a_tx.send_frame(&ClientFrame::Ping(9)).await.unwrap();
    until(&mut a_rx, RelayFrame::Pong(9), T).await;
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_non_readers_are_held_to_max_memory_and_newcomers_are_refused_with_an_error() {
    const PAIRS: usize = 4;
    let limits = Limits {
        // Every connection's reservation, plus room for about two full queues in total.
        max_memory: 2 * PAIRS * CONN_RESERVATION + 512 * 1024,
        ..flood_limits()
    };
    let r = relay_with_workers(limits.clone(), 2).await;
    let mut readers = Vec::new();
    let mut floods = Vec::new();
    let mut receivers = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for i in 0..PAIRS {
        let (a, b) = pair(&r, &format!("mem{i}")).await;
        readers.push(b);
        senders.push(a.tx);
        receivers.push(a.rx);
    }
    for tx in senders {
        floods.push(flood(tx, stop.clone()));
    }
    let started = Instant::now();
    // The floods fill the relay to its bound ...
    let full = limits.max_memory - CONN_RESERVATION;
    let peak = peak_while(|| r.stats().memory, async {
        while r.stats().memory <= full {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let peak = tokio::time::timeout(T, peak)
        .await
        .expect("the floods fill the relay");
    assert!(peak <= limits.max_memory);
    // ... and a newcomer is refused, reading why.
    let refused = RelayConnection::connect(r.local_addr(), r.fingerprint(), T)
        .await
        .unwrap();
    let (_refused_tx, mut refused_rx) = refused.split();
    match tokio::time::timeout(T, refused_rx.recv_frame()).await {
        Ok(Ok(Some(RelayFrame::Error { code, message }))) => {
            assert_eq!(code, ErrorCode::ServerFull);
            assert!(message.contains("memory"), "{message}");
        }
        other => panic!("expected a ServerFull error, got {other:?}"),
    }
    // Every flooder learns its reader is gone, after the stall timeout; the relay stayed
    // within its bound all along.
    let peak = peak_while(|| r.stats().memory, async {
        for rx in &mut receivers {
            until(rx, RelayFrame::PeerLeft, Duration::from_secs(10)).await;
        }
    })
    .await;
    assert!(peak <= limits.max_memory);
    assert!(started.elapsed() >= STALL);
    stop.store(true, Ordering::SeqCst);
    for b in &readers {
        assert_eq!(
            close_code(&b.tx, T).await,
            u64::from(ErrorCode::SlowReader.to_u16())
        );
    }
    for f in floods {
        let (_, _, longest) = f.await.unwrap();
        assert!(longest >= STALL / 2, "a flooder was not held back");
    }
    // Their memory is back, and newcomers are welcome again.
    tokio::time::timeout(T, async {
        while r.stats().memory > PAIRS * (CONN_RESERVATION + limits.max_frame_cost()) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the readers' memory returned");
    let mut late = connect(&r).await;
    late.send(ClientFrame::Ping(1)).await;
    assert_eq!(late.next().await, RelayFrame::Pong(1));
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_steady_reader_gets_everything_in_order_and_is_not_closed() {
    const N: usize = 150;
    let limits = flood_limits();
    let r = relay_with_workers(limits.clone(), 2).await;
    let (a, mut b) = pair(&r, "steady").await;
    let mut a_tx = a.tx;
    let sender = tokio::spawn(async move {
        for i in 0..N {
            let mut p = vec![0u8; 16 * 1024];
            p[..8].copy_from_slice(&(i as u64).to_be_bytes());
            a_tx.send_frame(&ClientFrame::Payload(p)).await.unwrap();
        }
        a_tx
    });
    let got = Arc::new(AtomicUsize::new(0));
    let counted = got.clone();
    let peak = peak_while(|| r.stats().memory, async move {
        for i in 0..N {
            // 2 ms per 16 KiB: a reader several times slower than the sender.
            tokio::time::sleep(Duration::from_millis(2)).await;
            match b.next().await {
                RelayFrame::Payload(p) => {
                    assert_eq!(u64::from_be_bytes(p[..8].try_into().unwrap()), i as u64);
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    assert_eq!(got.load(Ordering::SeqCst), N);
    let _a_tx = sender.await.unwrap();
    let bound = 2 * CONN_RESERVATION + limits.queue_bytes + 2 * limits.max_frame_cost();
    assert!(peak <= bound, "{peak} > {bound}");
    assert_eq!(r.stats().connections, 2, "nobody was closed");
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_peer_is_noticed_within_five_seconds_and_so_is_a_dead_relay() {
    let r = relay_with_workers(Limits::default(), 2).await;
    let link = Forwarder::start(r.local_addr()).await;
    let mut a = connect(&r).await;
    let mut b = connect_via(link.addr, &r).await;
    a.join_until("crash", RelayFrame::Waiting).await;
    b.join_until("crash", RelayFrame::PeerJoined).await;
    while a.next().await != RelayFrame::PeerJoined {}
    // b's machine dies: not a packet more either way, no close.
    let crashed = Instant::now();
    link.crash();
    let relay_side =
        async { until(&mut a.rx, RelayFrame::PeerLeft, Duration::from_secs(10)).await - crashed };
    let client_side = async {
        let end = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match b.rx.recv_frame().await {
                    Ok(Some(_)) => {}
                    other => return other.map(|_| ()),
                }
            }
        })
        .await
        .expect("b noticed its relay is gone");
        assert!(
            end.is_err(),
            "b's connection ended with an error (timed out)"
        );
        crashed.elapsed()
    };
    let (peer_left, relay_gone) = tokio::join!(relay_side, client_side);
    // The idle timeout (4 s) runs from the first unanswered keep-alive, sent at most 1 s after
    // the last packet heard, which itself came at most about 1 s before the crash.
    for (what, t) in [("PeerLeft", peer_left), ("dead relay", relay_gone)] {
        assert!(
            t >= Duration::from_millis(2900) && t <= Duration::from_millis(6000),
            "{what} after {t:?}"
        );
    }
    assert_eq!(a.next().await, RelayFrame::Waiting);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_limit_connections_read_their_error_and_streamless_ones_count_and_are_closed() {
    let stream_timeout = Duration::from_secs(1);
    let r = relay_with_workers(
        Limits {
            max_connections: 3,
            stream_timeout,
            ..Limits::default()
        },
        2,
    )
    .await;
    // Two QUIC connections that never open a stream hold two of the three slots.
    let endpoint = quic_relay::socket::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
    let (config, _) = quic_relay::pin::client_config(r.fingerprint()).unwrap();
    let mut silent = Vec::new();
    for _ in 0..2 {
        let c = endpoint
            .connect_with(config.clone(), r.local_addr(), quic_relay::SERVER_NAME)
            .unwrap()
            .await
            .unwrap();
        silent.push((c, Instant::now()));
    }
    let mut a = connect(&r).await;
    assert_eq!(r.stats().connections, 3);
    // A fourth is over the limit: it reads an Error frame, then the end of its stream.
    let fourth = RelayConnection::connect(r.local_addr(), r.fingerprint(), T)
        .await
        .unwrap();
    let (fourth_tx, mut fourth_rx) = fourth.split();
    match tokio::time::timeout(T, fourth_rx.recv_frame()).await {
        Ok(Ok(Some(RelayFrame::Error { code, message }))) => {
            assert_eq!(code, ErrorCode::ServerFull);
            assert!(message.contains("connections"), "{message}");
        }
        other => panic!("expected a ServerFull error, got {other:?}"),
    }
    assert!(!matches!(
        tokio::time::timeout(T, fourth_rx.recv_frame()).await,
        Ok(Ok(Some(_)))
    ));
    assert_eq!(
        close_code(&fourth_tx, T).await,
        u64::from(ErrorCode::ServerFull.to_u16())
    );
    // The silent ones are closed at the stream deadline, with the StreamTimeout code.
    for (c, opened) in &silent {
        match tokio::time::timeout(T, c.closed()).await {
            Ok(quinn::ConnectionError::ApplicationClosed(close)) => assert_eq!(
                close.error_code.into_inner(),
                u64::from(ErrorCode::StreamTimeout.to_u16())
            ),
            other => panic!("{other:?}"),
        }
        let after = opened.elapsed();
        assert!(
            after >= stream_timeout && after < stream_timeout * 3,
            "{after:?}"
        );
    }
    // Their slots are free again.
    tokio::time::timeout(T, async {
        while r.stats().connections > 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("slots released");
    let mut b = connect(&r).await;
    b.send(ClientFrame::Ping(2)).await;
    assert_eq!(b.next().await, RelayFrame::Pong(2));
    // Exactly one stream per connection: a second one is never granted.
    let conn = a.tx.connection().clone();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), conn.open_bi())
            .await
            .is_err(),
        "a second stream was granted"
    );
    a.send(ClientFrame::Ping(3)).await;
    assert_eq!(a.next().await, RelayFrame::Pong(3));
    r.shutdown().await;

    // Over the memory bound instead: refused the same way, saying why.
    let r = relay_with_workers(
        Limits {
            // Two reservations and the queue's worth of headroom each newcomer must leave.
            max_memory: 2 * CONN_RESERVATION + Limits::default().queue_bytes,
            ..Limits::default()
        },
        1,
    )
    .await;
    let (_x, _y) = (connect(&r).await, connect(&r).await);
    let third = RelayConnection::connect(r.local_addr(), r.fingerprint(), T)
        .await
        .unwrap();
    let (_third_tx, mut third_rx) = third.split();
    match tokio::time::timeout(T, third_rx.recv_frame()).await {
        Ok(Ok(Some(RelayFrame::Error { code, message }))) => {
            assert_eq!(code, ErrorCode::ServerFull);
            assert!(message.contains("memory"), "{message}");
        }
        other => panic!("expected a ServerFull error, got {other:?}"),
    }
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_held_back_longer_than_the_idle_timeout_is_not_idle() {
    let idle = Duration::from_millis(1500);
    let limits = Limits {
        idle_timeout: idle,
        stream_timeout: idle,
        write_stall_timeout: Duration::from_secs(10),
        ..flood_limits()
    };
    let r = relay_with_workers(limits, 2).await;
    let (a, mut b) = pair(&r, "held").await;
    let Client {
        tx: a_tx,
        rx: mut a_rx,
    } = a;
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood(a_tx, stop.clone());
    // b reads nothing for twice the idle timeout (it pings, so it is not idle itself): a's next
    // frame waits all that time.
    for n in 0..6 {
        tokio::time::sleep(idle / 3).await;
        b.send(ClientFrame::Ping(n)).await;
    }
    stop.store(true, Ordering::SeqCst);
    // Then b drains; a was held back, not idle, so nobody was closed.
    let drain = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match b.rx.recv_frame().await {
                Ok(Some(RelayFrame::Payload(_) | RelayFrame::Pong(_))) => {}
                other => panic!("{other:?}"),
            }
        }
    });
    let (a_tx, sent, longest) = tokio::select! {
        f = flooding => f.unwrap(),
        _ = drain => unreachable!(),
    };
    assert!(longest >= idle, "a was held back for {longest:?}");
    assert!(sent > 0);
    let mut a_tx = a_tx;
    a_tx.send_frame(&ClientFrame::Ping(4)).await.unwrap();
    until(&mut a_rx, RelayFrame::Pong(4), T).await;
    assert_eq!(r.stats().connections, 2);
    r.shutdown().await;
}
