//! Shared by the integration tests: fixed identities, settings in a temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use egui_client::app::Config;
use egui_client::app::connect::ConnectForm;
use egui_client::shell::Settings;
use sans_io_proto::IdentityKeyPair;

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
            pbkdf2_iterations: 1_000, // tests only; the app writes 600 000
            relay_cert_dir: None,
        },
        form,
        notifications: false,
    }
}

/// Stores identity `i` as the identity file of `name` under `data_dir` (1,000 PBKDF2 rounds),
/// so unlocking is real but fast.
pub fn plant_identity(data_dir: &Path, name: &str, i: usize, passphrase: &str) {
    let dir = data_dir
        .join("profiles")
        .join(egui_client::profile::dir_name(name));
    std::fs::create_dir_all(&dir).unwrap();
    let sealed =
        sans_io_proto::identity_file::seal(&identity(i), passphrase, 1_000, &mut rand::rngs::OsRng)
            .unwrap();
    std::fs::write(dir.join("identity.e2eid"), sealed).unwrap();
}
