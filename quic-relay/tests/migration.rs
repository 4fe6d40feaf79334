//! Connection migration over real QUIC (issue 12): a client's UDP socket changes mid-chat (Wi-Fi to
//! cable, a NAT rebinding; here quinn's `Endpoint::rebind` onto a fresh socket with another port).
//! The relay follows the connection to its new address (QUIC path validation, RFC 9000 §9), so the
//! chat goes on in the same connection: the peer is never told `PeerLeft`, no key exchange runs
//! again, the session is not even resumed (it never stopped), and every message is shown exactly
//! once on the other side.
//!
//! Two long-lived sans-IO `Client`s (the desktop client's protocol engine) talk through an
//! in-process relay; the test is their driver: bytes from each QUIC stream go into
//! `Client::handle_input`, `Output::Transmit` goes out on the stream.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use quic_relay::client::{RelayConnection, RelaySender};
use quic_relay::core::Limits;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::frame::RoomName;
use sans_io_proto::{
    Client, ClientConfig, Event, Fingerprint, IdentityKeyPair, MessageState, Output,
};
use tokio::sync::mpsc;

/// The fixed test identities (RSA key generation is too slow to repeat in a test).
fn identities() -> Vec<IdentityKeyPair> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/identities/test-identities.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .take(2)
        .map(|l| IdentityKeyPair::from_private_bytes(&hex::decode(l).unwrap()).unwrap())
        .collect()
}

/// One user: the protocol engine, its QUIC endpoint (to rebind) and stream, what it saw.
struct Side {
    client: Client<ChaCha20Rng>,
    endpoint: quinn::Endpoint,
    tx: RelaySender,
    /// Stream bytes read by a task (`None`: the stream ended).
    rx: mpsc::UnboundedReceiver<Option<Vec<u8>>>,
    events: Vec<Event>,
}

impl Side {
    async fn connect(
        identity: IdentityKeyPair,
        seed: u64,
        relay: SocketAddr,
        pin: [u8; 32],
    ) -> Side {
        let endpoint = quic_relay::socket::client_endpoint("127.0.0.1:0".parse().unwrap()).unwrap();
        let conn = RelayConnection::connect_on(&endpoint, relay, pin, common::T)
            .await
            .unwrap();
        let (tx, mut reader) = conn.split();
        let (feed, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                match reader.recv_bytes().await {
                    Ok(Some(bytes)) => {
                        if feed.send(Some(bytes)).is_err() {
                            return;
                        }
                    }
                    _ => {
                        let _ = feed.send(None);
                        return;
                    }
                }
            }
        });
        let now = Instant::now();
        let mut client = Client::new(
            identity,
            ClientConfig {
                display_name: None,
                resume: true,
            },
            ChaCha20Rng::seed_from_u64(seed),
            now,
        );
        client.handle_connected(now);
        client.join(RoomName::new("migration").unwrap());
        Side {
            client,
            endpoint,
            tx,
            rx,
            events: Vec::new(),
        }
    }

    fn fp(&self) -> Fingerprint {
        self.client.identity().fingerprint()
    }

    /// Writes pending frames, records events (confirming shown messages, as an app does after
    /// recording them) and runs due timers.
    async fn flush(&mut self) {
        let now = Instant::now();
        if self.client.poll_timeout().is_some_and(|t| t <= now) {
            self.client.handle_timeout(now);
        }
        while let Some(out) = self.client.poll_output() {
            match out {
                Output::Transmit(bytes) => self.tx.send_bytes(&bytes).await.unwrap(),
                Output::Persist { .. } => {}
                Output::Event(e) => {
                    if let Event::Message { from, id, .. } = &e {
                        let (from, id) = (*from, *id);
                        self.client.confirm_shown(&from, &[id]);
                    }
                    self.events.push(e);
                }
            }
        }
    }

    fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|e| f(e)).count()
    }

    fn texts(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Message { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Drives both sides until `done` holds (or fails after `limit`).
async fn run_until(sides: &mut [Side; 2], limit: Duration, done: impl Fn(&[Side; 2]) -> bool) {
    let end = Instant::now() + limit;
    loop {
        for s in sides.iter_mut() {
            s.flush().await;
        }
        if done(sides) {
            return;
        }
        assert!(Instant::now() < end, "not done within {limit:?}");
        let [a, b] = sides;
        let got = tokio::time::timeout(Duration::from_millis(20), async {
            tokio::select! {
                x = a.rx.recv() => (0, x),
                x = b.rx.recv() => (1, x),
            }
        })
        .await;
        if let Ok((i, bytes)) = got {
            match bytes.flatten() {
                Some(bytes) => sides[i].client.handle_input(&bytes, Instant::now()),
                None => panic!("side {i}'s connection ended"),
            }
        }
    }
}

/// Alice writes each of `texts` to Bob, Bob replies "reply <text>" to each.
fn say_both_ways(sides: &mut [Side; 2], texts: &[String]) {
    let (fa, fb) = (sides[0].fp(), sides[1].fp());
    for text in texts {
        let now = Instant::now();
        sides[0].client.send_text(&fb, text, 0, now).unwrap();
        sides[1]
            .client
            .send_text(&fa, &format!("reply {text}"), 0, now)
            .unwrap();
    }
}

fn delivered(s: &Side) -> usize {
    s.count(|e| {
        matches!(
            e,
            Event::MessageState {
                state: MessageState::Delivered,
                ..
            }
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_changing_address_mid_chat_keeps_its_session() {
    let relay = common::relay(Limits::default()).await;
    let (addr, pin) = (relay.local_addr(), relay.fingerprint());
    let ids = identities();
    let mut sides = [
        Side::connect(ids[0].clone(), 1, addr, pin).await,
        Side::connect(ids[1].clone(), 2, addr, pin).await,
    ];
    let (fa, fb) = (sides[0].fp(), sides[1].fp());

    // Meet, exchange keys, approve each other (first contact).
    run_until(&mut sides, Duration::from_secs(30), |s| {
        s.iter().all(|s| s.client.is_secure())
    })
    .await;
    let now = Instant::now();
    sides[0].client.approve(&fb, now);
    sides[1].client.approve(&fa, now);
    let before: Vec<String> = (0..3).map(|i| format!("before {i}")).collect();
    say_both_ways(&mut sides, &before);
    run_until(&mut sides, Duration::from_secs(10), |s| {
        s.iter().all(|s| delivered(s) == 3)
    })
    .await;

    // Alice's address changes: a new UDP socket on another port replaces the old one, which is
    // closed (packets the relay sends to the old address are lost from now on).
    let old_addr = sides[0].endpoint.local_addr().unwrap();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sides[0].endpoint.rebind(socket).unwrap();
    let after = sides[0].endpoint.local_addr().unwrap();
    assert_ne!(old_addr.port(), after.port(), "the address did not change");

    // Written right after the move, in both directions, and more after a quiet spell longer
    // than the relay's idle timeout (4 s, §3): the connection must live on the new path.
    let moved: Vec<String> = (0..3).map(|i| format!("moved {i}")).collect();
    say_both_ways(&mut sides, &moved);
    run_until(&mut sides, Duration::from_secs(10), |s| {
        s.iter().all(|s| delivered(s) == 6)
    })
    .await;
    let quiet = Instant::now() + Duration::from_secs(6);
    run_until(&mut sides, Duration::from_secs(8), |_| {
        Instant::now() >= quiet
    })
    .await;
    let last = vec!["after the quiet".to_string()];
    say_both_ways(&mut sides, &last);
    run_until(&mut sides, Duration::from_secs(10), |s| {
        s.iter().all(|s| delivered(s) == 7)
    })
    .await;

    // Everything shown exactly once, in order; the same connection and session throughout.
    let want_b: Vec<String> = [before, moved, last].concat();
    let want_a: Vec<String> = want_b.iter().map(|t| format!("reply {t}")).collect();
    assert_eq!(sides[1].texts(), want_b);
    assert_eq!(sides[0].texts(), want_a);
    for (i, s) in sides.iter().enumerate() {
        assert_eq!(
            s.count(|e| matches!(e, Event::PeerLeft)),
            0,
            "side {i} was told the peer left"
        );
        assert_eq!(
            s.count(|e| matches!(e, Event::KeyExchangeStarted)),
            1,
            "side {i} ran a second key exchange"
        );
        assert_eq!(
            s.count(|e| matches!(e, Event::Secure(_))),
            1,
            "side {i} got a second session"
        );
        assert_eq!(
            s.count(|e| matches!(e, Event::Resumed { .. })),
            0,
            "side {i} resumed instead of carrying on"
        );
        assert_eq!(
            s.count(|e| matches!(e, Event::Rejected { .. })),
            0,
            "side {i} refused a payload"
        );
    }
    // The relay still sees exactly the two original connections in one room.
    assert_eq!(sides[0].tx.connection().remote_address(), addr);
    assert!(sides[0].tx.connection().close_reason().is_none());
    assert!(sides[1].tx.connection().close_reason().is_none());
}
