//! Helpers of the relay's integration tests: a relay on an ephemeral port, a client with typed
//! frame I/O, and a UDP forwarder that can "crash" (silently drop everything) on demand.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quic_relay::client::{RelayConnection, RelayReceiver, RelaySender};
use quic_relay::core::Limits;
use quic_relay::server::{Relay, RelayConfig, RelayHandle};
use sans_io_proto::frame::{ClientFrame, RelayFrame, RoomName};
use tokio::net::UdpSocket;

pub const T: Duration = Duration::from_secs(5);

pub async fn relay(limits: Limits) -> RelayHandle {
    let config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_dir: None,
        limits,
        workers: 2,
    };
    Relay::bind(config).await.unwrap()
}

pub struct Client {
    pub tx: RelaySender,
    pub rx: RelayReceiver,
}

pub async fn connect(relay: &RelayHandle) -> Client {
    let conn = RelayConnection::connect(relay.local_addr(), relay.fingerprint(), T)
        .await
        .unwrap();
    let (tx, rx) = conn.split();
    let mut c = Client { tx, rx };
    assert_eq!(
        c.next().await,
        RelayFrame::Pong(0),
        "the connect-time Ping is answered"
    );
    c
}

impl Client {
    pub async fn next(&mut self) -> RelayFrame {
        tokio::time::timeout(T, self.rx.recv_frame())
            .await
            .expect("a frame in time")
            .unwrap()
            .expect("stream open")
    }

    pub async fn send(&mut self, frame: ClientFrame) {
        self.tx.send_frame(&frame).await.unwrap();
    }

    pub async fn join(&mut self, room: &str) {
        self.send(ClientFrame::Join {
            room: RoomName::new(room).unwrap(),
        })
        .await;
    }

    /// Joins and waits for the relay's answer up to `Joined` (frames of different connections
    /// reach the relay in any order, so tests that care about seats wait for each join).
    pub async fn join_and_wait(&mut self, room: &str) -> Vec<RelayFrame> {
        self.join(room).await;
        let mut got = Vec::new();
        loop {
            let f = self.next().await;
            let done = matches!(f, RelayFrame::Joined { .. });
            got.push(f);
            if done {
                return got;
            }
        }
    }

    /// Expects the stream to end (the relay closed us) within the timeout.
    pub async fn expect_closed(&mut self) {
        let end = tokio::time::timeout(T, async {
            loop {
                match self.rx.recv_frame().await {
                    Ok(Some(_)) => continue,
                    _ => return,
                }
            }
        })
        .await;
        assert!(end.is_ok(), "the relay did not close the connection");
    }
}

pub fn room(s: &str) -> RoomName {
    RoomName::new(s).unwrap()
}

/// A relay with `workers` shards.
pub async fn relay_with_workers(limits: Limits, workers: usize) -> RelayHandle {
    let config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_dir: None,
        limits,
        workers,
    };
    Relay::bind(config).await.unwrap()
}

/// Connects through `addr` (e.g. a [`Forwarder`]) to `relay`, answering the connect-time Ping.
pub async fn connect_via(addr: SocketAddr, relay: &RelayHandle) -> Client {
    let conn = RelayConnection::connect(addr, relay.fingerprint(), T)
        .await
        .unwrap();
    let (tx, rx) = conn.split();
    let mut c = Client { tx, rx };
    assert_eq!(c.next().await, RelayFrame::Pong(0));
    c
}

impl Client {
    /// Joins `name` and reads up to `PeerJoined` (the second seat) or `Waiting` (the first).
    pub async fn join_until(&mut self, name: &str, last: RelayFrame) {
        self.join(name).await;
        while self.next().await != last {}
    }
}

/// A UDP forwarder between one client and the relay. `crash` makes it drop every datagram both
/// ways from then on, as a powered-off machine or a pulled cable would: nothing is closed, QUIC
/// just stops hearing from the other side.
/// It also remembers the relay's connection ID the client last used (the destination ID of its
/// short-header packets; the relay's are 8 bytes).
pub struct Forwarder {
    pub addr: SocketAddr,
    alive: Arc<std::sync::atomic::AtomicBool>,
    cid: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    pub async fn start(relay: SocketAddr) -> Forwarder {
        let outer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let inner = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = outer.local_addr().unwrap();
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let live = alive.clone();
        let cid = Arc::new(std::sync::Mutex::new(None));
        let seen = cid.clone();
        let task = tokio::spawn(async move {
            let mut client = None;
            let (mut a, mut b) = (vec![0u8; 65_536], vec![0u8; 65_536]);
            loop {
                tokio::select! {
                    Ok((n, from)) = outer.recv_from(&mut a) => {
                        client = Some(from);
                        if n > 9 && a[0] & 0x80 == 0 {
                            *seen.lock().unwrap() = Some(a[1..9].to_vec());
                        }
                        if live.load(std::sync::atomic::Ordering::SeqCst) {
                            let _ = inner.send_to(&a[..n], relay).await;
                        }
                    }
                    Ok((n, _)) = inner.recv_from(&mut b) => {
                        if let (Some(to), true) = (client, live.load(std::sync::atomic::Ordering::SeqCst)) {
                            let _ = outer.send_to(&b[..n], to).await;
                        }
                    }
                }
            }
        });
        Forwarder {
            addr,
            alive,
            cid,
            task,
        }
    }

    /// The relay's connection ID the client last sent to, once it has sent a short-header packet.
    pub fn client_cid(&self) -> Option<Vec<u8>> {
        self.cid.lock().unwrap().clone()
    }

    pub fn crash(&self) {
        self.alive.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Samples `f` every 5 ms until `stop` resolves; returns the largest value seen.
pub async fn peak_while<F: Fn() -> usize>(
    f: F,
    stop: impl std::future::Future<Output = ()>,
) -> usize {
    tokio::pin!(stop);
    let mut peak = f();
    loop {
        tokio::select! {
            () = &mut stop => return peak.max(f()),
            () = tokio::time::sleep(Duration::from_millis(5)) => peak = peak.max(f()),
        }
    }
}
