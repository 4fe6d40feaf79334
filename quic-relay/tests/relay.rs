//! Integration tests over real QUIC on 127.0.0.1 (ephemeral ports, in-memory certificates).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Client, T, connect, relay, room};
use quic_relay::client::{ConnectError, RelayConnection};
use quic_relay::core::Limits;
use quic_relay::server::{Relay, RelayConfig};
use sans_io_proto::frame::{ClientFrame, ErrorCode, RelayFrame};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_meet_and_exchange_payloads_both_ways() {
    let r = relay(Limits::default()).await;
    let (mut a, mut b) = (connect(&r).await, connect(&r).await);
    a.join("lobby").await;
    assert_eq!(
        a.next().await,
        RelayFrame::Joined {
            room: room("lobby"),
            seat: 0
        }
    );
    // (b joins only after a's answer, so the seats are known.)
    assert_eq!(a.next().await, RelayFrame::Waiting);
    b.join("lobby").await;
    assert_eq!(
        b.next().await,
        RelayFrame::Joined {
            room: room("lobby"),
            seat: 1
        }
    );
    assert_eq!(a.next().await, RelayFrame::PeerJoined);
    assert_eq!(b.next().await, RelayFrame::PeerJoined);
    for i in 0..20u8 {
        a.send(ClientFrame::Payload(vec![i; 100 + usize::from(i)]))
            .await;
        assert_eq!(
            b.next().await,
            RelayFrame::Payload(vec![i; 100 + usize::from(i)])
        );
        b.send(ClientFrame::Payload(vec![255 - i; 300])).await;
        assert_eq!(a.next().await, RelayFrame::Payload(vec![255 - i; 300]));
    }
    // A frame of the maximum size passes.
    a.send(ClientFrame::Payload(vec![7; 65_536])).await;
    assert_eq!(b.next().await, RelayFrame::Payload(vec![7; 65_536]));
    assert_eq!(r.stats().relayed, 41);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_is_redirected_and_pairs_with_a_fourth() {
    let r = relay(Limits::default()).await;
    let mut c: Vec<Client> = Vec::new();
    for _ in 0..4 {
        c.push(connect(&r).await);
    }
    c[0].join_and_wait("full").await;
    assert_eq!(c[0].next().await, RelayFrame::Waiting);
    c[1].join_and_wait("full").await;
    c[2].join("full").await;
    assert_eq!(
        c[2].next().await,
        RelayFrame::Redirected {
            from: room("full"),
            to: room("full-2")
        }
    );
    assert_eq!(
        c[2].next().await,
        RelayFrame::Joined {
            room: room("full-2"),
            seat: 0
        }
    );
    assert_eq!(c[2].next().await, RelayFrame::Waiting);
    c[3].join("full").await;
    assert_eq!(
        c[3].next().await,
        RelayFrame::Redirected {
            from: room("full"),
            to: room("full-2")
        }
    );
    assert_eq!(
        c[3].next().await,
        RelayFrame::Joined {
            room: room("full-2"),
            seat: 1
        }
    );
    assert_eq!(c[2].next().await, RelayFrame::PeerJoined);
    assert_eq!(c[3].next().await, RelayFrame::PeerJoined);
    c[3].send(ClientFrame::Payload(b"hi".to_vec())).await;
    assert_eq!(c[2].next().await, RelayFrame::Payload(b"hi".to_vec()));
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_rejoin_and_a_dead_peer() {
    let r = relay(Limits::default()).await;
    let (mut a, mut b) = (connect(&r).await, connect(&r).await);
    assert_eq!(
        a.join_and_wait("r").await,
        vec![RelayFrame::Joined {
            room: room("r"),
            seat: 0
        }]
    );
    assert_eq!(a.next().await, RelayFrame::Waiting);
    assert_eq!(
        b.join_and_wait("r").await,
        vec![RelayFrame::Joined {
            room: room("r"),
            seat: 1
        }]
    );
    assert_eq!(a.next().await, RelayFrame::PeerJoined);
    assert_eq!(b.next().await, RelayFrame::PeerJoined);
    b.send(ClientFrame::Leave).await;
    assert_eq!(a.next().await, RelayFrame::PeerLeft);
    assert_eq!(a.next().await, RelayFrame::Waiting);
    b.join("r").await;
    assert_eq!(
        b.next().await,
        RelayFrame::Joined {
            room: room("r"),
            seat: 1
        }
    );
    assert_eq!(a.next().await, RelayFrame::PeerJoined);
    assert_eq!(b.next().await, RelayFrame::PeerJoined);
    // b's connection dies: a is told at once.
    b.tx.close();
    assert_eq!(a.next().await, RelayFrame::PeerLeft);
    assert_eq!(a.next().await, RelayFrame::Waiting);
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_frames_get_typed_errors_and_the_relay_survives() {
    let r = relay(Limits::default()).await;
    let cases: Vec<(Vec<u8>, ErrorCode)> = vec![
        // body_len = 65 537: refused from the header alone.
        (vec![1, 0x03, 0, 1, 0, 1], ErrorCode::FrameTooLarge),
        (vec![9, 0x03, 0, 0, 0, 1, 0], ErrorCode::UnsupportedVersion),
        (vec![1, 0x77, 0, 0, 0, 0], ErrorCode::MalformedFrame),
        // Join with an invalid room name.
        (
            vec![1, 0x01, 0, 0, 0, 2, 1, b'/'],
            ErrorCode::InvalidRoomName,
        ),
        // Ping with a short body.
        (
            vec![1, 0x04, 0, 0, 0, 3, 1, 2, 3],
            ErrorCode::MalformedFrame,
        ),
    ];
    for (bytes, code) in cases {
        let mut c = connect(&r).await;
        c.tx.send_bytes(&bytes).await.unwrap();
        match c.next().await {
            RelayFrame::Error { code: got, .. } => assert_eq!(got, code, "{bytes:?}"),
            other => panic!("expected an error for {bytes:?}, got {other:?}"),
        }
        c.expect_closed().await;
    }
    // A client sending relay-only frames is refused too.
    let mut c = connect(&r).await;
    c.tx.send_bytes(&RelayFrame::PeerJoined.to_bytes())
        .await
        .unwrap();
    assert!(matches!(
        c.next().await,
        RelayFrame::Error {
            code: ErrorCode::MalformedFrame,
            ..
        }
    ));
    // Payload while not in a room: an error, not a close.
    let mut d = connect(&r).await;
    d.send(ClientFrame::Payload(vec![1])).await;
    assert!(matches!(
        d.next().await,
        RelayFrame::Error {
            code: ErrorCode::NotInRoom,
            ..
        }
    ));
    d.send(ClientFrame::Ping(5)).await;
    assert_eq!(d.next().await, RelayFrame::Pong(5));
    // And the relay still serves newcomers.
    let mut e = connect(&r).await;
    e.join("after").await;
    assert_eq!(
        e.next().await,
        RelayFrame::Joined {
            room: room("after"),
            seat: 0
        }
    );
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_joiners_lands_in_valid_rooms_of_two() {
    let r = relay(Limits::default()).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut c = connect(&r).await;
        c.join("flood").await;
        clients.push(c);
    }
    let mut rooms = std::collections::HashMap::<String, usize>::new();
    for c in &mut clients {
        loop {
            match c.next().await {
                RelayFrame::Joined { room, .. } => {
                    *rooms.entry(room.as_str().to_owned()).or_default() += 1;
                    break;
                }
                RelayFrame::Redirected { from, .. } => assert_eq!(from.as_str(), "flood"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(rooms.len(), 25);
    assert!(rooms.values().all(|&n| n == 2));
    assert!(
        rooms
            .keys()
            .all(|k| k == "flood" || k.starts_with("flood-"))
    );
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_client_is_timed_out() {
    let r = relay(Limits {
        idle_timeout: Duration::from_millis(700),
        stream_timeout: Duration::from_millis(700),
        ..Limits::default()
    })
    .await;
    let mut idle = connect(&r).await;
    let mut active = connect(&r).await;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    // The active client keeps pinging and survives.
    let mut n = 1;
    while tokio::time::Instant::now() < deadline {
        active.send(ClientFrame::Ping(n)).await;
        assert_eq!(active.next().await, RelayFrame::Pong(n));
        n += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(matches!(
        idle.next().await,
        RelayFrame::Error {
            code: ErrorCode::IdleTimeout,
            ..
        }
    ));
    idle.expect_closed().await;
    active.send(ClientFrame::Ping(0)).await;
    assert_eq!(active.next().await, RelayFrame::Pong(0));
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_wrong_pin_is_refused() {
    let r = relay(Limits::default()).await;
    let mut wrong = r.fingerprint();
    wrong[0] ^= 1;
    match RelayConnection::connect(r.local_addr(), wrong, T).await {
        Err(ConnectError::WrongPin) => {}
        Err(other) => panic!("expected WrongPin, got {other}"),
        Ok(_) => panic!("connected with a wrong pin"),
    }
    // Nothing listening: a clean, typed error too.
    let nobody: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert!(
        RelayConnection::connect(nobody, r.fingerprint(), Duration::from_millis(500))
            .await
            .is_err()
    );
    r.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_certificate_and_its_fingerprint() {
    let dir = std::env::temp_dir().join(format!("e2e-relay-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_dir: Some(dir.clone()),
        ..RelayConfig::default()
    };
    let first = Relay::bind(config.clone()).await.unwrap();
    let pin = first.fingerprint();
    first.shutdown().await;
    let second = Relay::bind(config.clone()).await.unwrap();
    assert_eq!(second.fingerprint(), pin);
    assert_eq!(quic_relay::cert::local_relay_pin(Some(&dir)), Some(pin));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("key.der"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the private key is readable by others");
    }
    second.shutdown().await;
    // A damaged key is a clear error, not a panic.
    std::fs::write(dir.join("key.der"), b"garbage").unwrap();
    let err = Relay::bind(config)
        .await
        .err()
        .expect("damaged key refused");
    assert!(err.to_string().contains("damaged"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_tells_clients() {
    let r = relay(Limits::default()).await;
    let mut a = connect(&r).await;
    r.shutdown().await;
    assert!(matches!(
        a.next().await,
        RelayFrame::Error {
            code: ErrorCode::ShuttingDown,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pin_is_the_sha256_of_the_whole_certificate_sent_in_tls() {
    use sha2::{Digest, Sha256};
    let r = relay(Limits::default()).await;
    let c = connect(&r).await;
    let chain =
        c.tx.connection()
            .peer_identity()
            .expect("the relay presented a certificate")
            .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
            .expect("a rustls certificate chain");
    assert_eq!(chain.len(), 1, "one self-signed certificate");
    let digest: [u8; 32] = Sha256::digest(chain[0].as_ref()).into();
    assert_eq!(digest, r.fingerprint());
    r.shutdown().await;
}
