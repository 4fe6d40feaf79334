//! Shared by the integration tests: fixed identities, settings in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use egui_client::app::Config;
use egui_client::app::connect::ConnectForm;
use egui_client::shell::Settings;
use sans_io_proto::IdentityKeyPair;
use sans_io_proto::identity_file::{Argon2Params, StorageKey};

/// Argon2id as cheap as a reader accepts: unlocking is real but fast (tests only; the app
/// writes 64 MiB, 3 passes).
pub const FAST: Argon2Params = Argon2Params {
    m_cost_kib: 8,
    t_cost: 1,
    lanes: 1,
};

/// A fixed storage key for profiles opened with `Shell::unlock_with`.
pub fn storage_key() -> sans_io_proto::storage::StorageKey {
    sans_io_proto::storage::StorageKey::from_bytes(&[0x5a; 32])
}

/// A fixed test identity (0 alice, 1 bob, 2 mallory, 3 carol, ...): RSA key generation is slow.
pub fn identity(i: usize) -> IdentityKeyPair {
    let text = include_str!("../../../vectors/identities/test-identities.txt");
    let line = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .nth(i)
        .unwrap();
    IdentityKeyPair::from_private_bytes(&hex::decode(line.trim()).unwrap()).unwrap()
}

/// A fresh temporary directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("e2e-client-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Settings with a data directory under `base`, fast key derivation and no notifications.
pub fn settings(base: &Path, dir: &str, form: ConnectForm) -> Settings {
    Settings {
        data_dir: base.join(dir),
        config: Config {
            start_local_relay: false,
            argon2: FAST,
            relay_cert_dir: None,
        },
        form,
        notifications: false,
    }
}

/// Stores identity `i` with a fresh storage key as the identity file (version 2, [`FAST`]) of
/// `name` under `data_dir`, unless one is there already (a restart keeps its storage key).
pub fn plant_identity(data_dir: &Path, name: &str, i: usize, passphrase: &str) {
    let dir = data_dir
        .join("profiles")
        .join(egui_client::profile::dir_name(name));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("identity.e2eid");
    if path.exists() {
        return;
    }
    let mut rng = rand::rngs::OsRng;
    let key = StorageKey::generate(&mut rng);
    let sealed =
        sans_io_proto::identity_file::seal(&identity(i), &key, passphrase, FAST, &mut rng).unwrap();
    std::fs::write(path, sealed).unwrap();
}

/// A UDP forwarder between clients and a relay that can be cut: a network that goes dark both
/// ways (no packet, no close), as when a cable is pulled or a laptop sleeps, and comes back.
/// Each client address gets its own upstream socket, so a client that reconnects from a new
/// port is forwarded too.
pub struct Forwarder {
    /// Where clients connect.
    pub addr: std::net::SocketAddr,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Forwarder {
    /// Starts forwarding to `upstream` (on the current tokio runtime).
    pub async fn start(upstream: std::net::SocketAddr) -> Forwarder {
        use std::collections::HashMap;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        use tokio::net::UdpSocket;
        let front = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = front.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let flag = cut.clone();
        let task = tokio::spawn(async move {
            let mut backs: HashMap<std::net::SocketAddr, Arc<UdpSocket>> = HashMap::new();
            let mut buf = vec![0u8; 65_536];
            loop {
                let Ok((n, from)) = front.recv_from(&mut buf).await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) {
                    continue;
                }
                let back = match backs.get(&from) {
                    Some(b) => b.clone(),
                    None => {
                        let b = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
                        b.connect(upstream).await.unwrap();
                        let (reader, front, flag) = (b.clone(), front.clone(), flag.clone());
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 65_536];
                            while let Ok(n) = reader.recv(&mut buf).await {
                                if !flag.load(Ordering::SeqCst) {
                                    let _ = front.send_to(&buf[..n], from).await;
                                }
                            }
                        });
                        backs.insert(from, b.clone());
                        b
                    }
                };
                let _ = back.send(&buf[..n]).await;
            }
        });
        Forwarder { addr, cut, task }
    }

    /// Cuts the network (`true`) or brings it back.
    pub fn cut(&self, dark: bool) {
        self.cut.store(dark, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
