//! The app logic (`Controller`) driven without a window against a real relay on loopback.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_client::controller::{ConnectForm, Controller, Delivery, Screen, Settings};
use egui_client::trust_store::Trust;
use quic_relay::server::{Relay, RelayConfig, RelayHandle};

struct Env {
    _rt: tokio::runtime::Runtime,
    relay: Option<RelayHandle>,
    addr: String,
    pin: String,
    base: PathBuf,
}

fn env(tag: &str) -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let config = RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert_dir: None,
        ..RelayConfig::default()
    };
    let relay = rt.block_on(Relay::bind(config)).unwrap();
    let addr = relay.local_addr().to_string();
    let pin = quic_relay::cert::fingerprint_hex(&relay.fingerprint());
    let base = std::env::temp_dir().join(format!("e2e-client-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    Env {
        _rt: rt,
        relay: Some(relay),
        addr,
        pin,
        base,
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(r) = self.relay.take() {
            self._rt.block_on(r.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn controller(env: &Env, dir: &str, name: &str, room: &str) -> Controller {
    let settings = Settings {
        data_dir: env.base.join(dir),
        relay_cert_dir: None,
        pbkdf2_iterations: 1_000, // tests only; the app writes 600 000
        start_local_relay: false,
        form: ConnectForm {
            display_name: name.into(),
            passphrase: "correct horse battery".into(),
            passphrase_repeat: "correct horse battery".into(),
            relay: env.addr.clone(),
            pin: env.pin.clone(),
            room: room.into(),
        },
    };
    Controller::new(settings, Arc::new(|| {})).unwrap()
}

/// Polls the controllers until `done` holds (or fails the test after 20 s).
fn wait(cs: &mut [&mut Controller], what: &str, done: impl Fn(&[&mut Controller]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for c in cs.iter_mut() {
            c.poll();
        }
        if done(cs) {
            return;
        }
        if Instant::now() > deadline {
            let screens: Vec<_> = cs
                .iter()
                .map(|c| (c.screen().clone(), c.error().map(str::to_owned)))
                .collect();
            panic!("timed out waiting for {what}: {screens:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn two_clients_pair_verify_and_chat_both_ways() {
    let env = env("pair");
    let mut a = controller(&env, "a", "Alice", "garden");
    let mut b = controller(&env, "b", "Bob", "garden");
    a.connect();
    wait(&mut [&mut a], "alice waiting", |c| {
        *c[0].screen() == Screen::Waiting
    });
    b.connect();
    wait(&mut [&mut a, &mut b], "both secure", |c| {
        c.iter().all(|c| *c.screen() == Screen::Secure)
    });
    // Verification: the same safety number, emoji and key picture on both sides.
    let (va, vb) = (
        a.verification().unwrap().clone(),
        b.verification().unwrap().clone(),
    );
    assert_eq!(va.digits, vb.digits);
    assert_eq!(va.emoji, vb.emoji);
    assert_eq!(va.qr, vb.qr);
    assert_eq!(va.visual, vb.visual);
    assert_eq!(Some(va.peer_fingerprint), b.own_fingerprint());
    assert_eq!(a.trust(), Some(&Trust::FirstSeen));
    a.mark_verified();
    assert_eq!(a.trust(), Some(&Trust::Verified));
    // Names arrive inside the session.
    wait(&mut [&mut a, &mut b], "names", |c| {
        c[0].peer_name() == Some("Bob") && c[1].peer_name() == Some("Alice")
    });
    // Chat both ways, with delivery receipts.
    a.draft = "Hello Bob, this is Alice.\nSecond line.".into();
    a.send_draft();
    assert!(a.draft.is_empty());
    wait(&mut [&mut a, &mut b], "bob receives", |c| {
        c[1].messages()
            .iter()
            .any(|l| l.text == "Hello Bob, this is Alice.\nSecond line.")
    });
    wait(&mut [&mut a, &mut b], "alice's receipt", |c| {
        c[0].messages()
            .iter()
            .any(|l| l.mine && l.delivery == Some(Delivery::Delivered))
    });
    b.draft = "Hi Alice!".into();
    b.send_draft();
    wait(&mut [&mut a, &mut b], "alice receives", |c| {
        c[0].messages()
            .iter()
            .any(|l| l.text == "Hi Alice!" && l.sender.as_deref() == Some("Bob"))
    });
    // A second session later recognises the verified contact.
    drop(b);
    wait(&mut [&mut a], "alice waiting again", |c| {
        *c[0].screen() == Screen::Waiting
    });
    let mut b = controller(&env, "b", "Bob", "garden");
    b.connect();
    wait(&mut [&mut a, &mut b], "secure again", |c| {
        c.iter().all(|c| *c.screen() == Screen::Secure)
    });
    assert_eq!(a.trust(), Some(&Trust::Verified));
}

#[test]
fn a_third_client_is_redirected_and_told_where_it_is() {
    let env = env("third");
    let mut a = controller(&env, "a", "Alice", "crowded");
    let mut b = controller(&env, "b", "Bob", "crowded");
    let mut c = controller(&env, "c", "Carol", "crowded");
    a.connect();
    wait(&mut [&mut a], "alice waiting", |c| {
        *c[0].screen() == Screen::Waiting
    });
    b.connect();
    wait(&mut [&mut a, &mut b], "pair", |c| {
        c.iter().all(|c| *c.screen() == Screen::Secure)
    });
    c.connect();
    wait(&mut [&mut c], "carol waiting", |c| {
        *c[0].screen() == Screen::Waiting
    });
    assert_eq!(c.room(), Some("crowded-2"));
    assert!(
        c.notices()
            .iter()
            .any(|n| n.contains("\"crowded\" was full") && n.contains("crowded-2")),
        "{:?}",
        c.notices()
    );
}

#[test]
fn a_new_peer_with_another_identity_raises_the_warning_before_any_message() {
    let env = env("tofu");
    let mut a = controller(&env, "a", "Alice", "desk");
    let mut b = controller(&env, "b", "Bob", "desk");
    a.connect();
    wait(&mut [&mut a], "alice waiting", |c| {
        *c[0].screen() == Screen::Waiting
    });
    b.connect();
    wait(&mut [&mut a, &mut b], "pair", |c| {
        c.iter().all(|c| *c.screen() == Screen::Secure)
    });
    assert!(a.can_send());
    // Bob leaves; "Bob" comes back with a different identity (another computer, or an impostor).
    b.disconnect();
    wait(&mut [&mut a], "peer left", |c| {
        *c[0].screen() == Screen::Waiting
    });
    assert!(
        a.messages()
            .iter()
            .any(|l| l.sender.is_none() && l.text.contains("left"))
    );
    let mut impostor = controller(&env, "elsewhere", "Bob", "desk");
    impostor.connect();
    wait(
        &mut [&mut a, &mut impostor],
        "secure with the impostor",
        |c| c.iter().all(|c| *c.screen() == Screen::Secure),
    );
    assert!(
        matches!(a.trust(), Some(Trust::Changed { .. })),
        "{:?}",
        a.trust()
    );
    assert!(
        a.messages()
            .iter()
            .any(|l| l.sender.is_none() && l.text.contains("WARNING"))
    );
    // Nothing can be sent until the user compares and accepts.
    assert!(!a.can_send());
    a.draft = "secret plans".into();
    a.send_draft();
    assert_eq!(a.draft, "secret plans", "the draft must not be sent");
    assert!(a.error().unwrap().contains("identity changed"));
    a.accept_new_identity();
    assert!(a.can_send());
    a.send_draft();
    wait(
        &mut [&mut a, &mut impostor],
        "delivered after acceptance",
        |c| c[1].messages().iter().any(|l| l.text == "secret plans"),
    );
}

#[test]
fn bad_input_gets_clear_messages_not_panics() {
    let env = env("input");
    let mut c = controller(&env, "x", "Xavier", "room");
    c.form.room = "no spaces allowed".into();
    c.connect();
    assert!(c.error().unwrap().contains("room name"));
    c.form.room = "ok".into();
    c.form.relay = "not an address".into();
    c.connect();
    assert!(c.error().unwrap().contains("not a relay address"));
    c.form.relay = env.addr.clone();
    c.form.pin = "1234".into();
    c.connect();
    assert!(c.error().unwrap().contains("pin"));
    // A well-formed but wrong pin: refused by the relay check, reported as such.
    c.form.pin = "00".repeat(32);
    c.connect();
    wait(&mut [&mut c], "wrong pin reported", |c| {
        c[0].error()
            .is_some_and(|e| e.contains("different certificate"))
    });
    assert_eq!(*c.screen(), Screen::Connect);
    // Wrong passphrase for an existing identity.
    let mut again = controller(&env, "x", "Xavier", "room");
    again.form.passphrase = "not the passphrase".into();
    drop(c);
    again.connect();
    wait(&mut [&mut again], "wrong passphrase", |c| {
        c[0].error().is_some_and(|e| e.contains("Wrong passphrase"))
    });
    // An unreachable relay.
    let mut lonely = controller(&env, "y", "Yann", "room");
    lonely.form.relay = "127.0.0.1:9".into();
    lonely.connect();
    wait(&mut [&mut lonely], "unreachable", |c| {
        c[0].error().is_some() || matches!(c[0].screen(), Screen::RelayLost { .. })
    });
}
