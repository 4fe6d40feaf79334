//! End to end: the real shell (state, network thread, unlock job, storage worker) against a real
//! relay on loopback. Few and slow on purpose; the behaviours are unit-tested in `src/app/tests.rs`
//! and `src/net/driver/tests.rs`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use egui_client::app::connect::ConnectForm;
use egui_client::app::conversation::Author;
use egui_client::app::{Phase, Tone};
use egui_client::model::SendState;
use egui_client::shell::Shell;
use quic_relay::server::{Relay, RelayConfig, RelayHandle};

struct Env {
    rt: tokio::runtime::Runtime,
    relay: Option<RelayHandle>,
    addr: String,
    pin: String,
    base: std::path::PathBuf,
}

fn env(tag: &str) -> Env {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let relay = rt
        .block_on(Relay::bind(RelayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            cert_dir: None,
            ..RelayConfig::default()
        }))
        .unwrap();
    let addr = relay.local_addr().to_string();
    let pin = quic_relay::cert::fingerprint_hex(&relay.fingerprint());
    Env {
        rt,
        relay: Some(relay),
        addr,
        pin,
        base: common::temp_dir(tag),
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(r) = self.relay.take() {
            self.rt.block_on(r.shutdown());
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

const PASS: &str = "correct horse battery";

/// A shell for `name` whose identity file (test identity `who`) is already on disk (planted the
/// first time: a restart finds it with its storage key).
fn shell(env: &Env, dir: &str, name: &str, who: usize, room: &str) -> Shell {
    shell_via(env, &env.addr, dir, name, who, room)
}

/// The same, reaching the relay at `relay` (a forwarder).
fn shell_via(env: &Env, relay: &str, dir: &str, name: &str, who: usize, room: &str) -> Shell {
    let settings = common::settings(
        &env.base,
        dir,
        ConnectForm {
            display_name: name.into(),
            passphrase: PASS.into(),
            passphrase_repeat: PASS.into(),
            relay: relay.into(),
            pin: env.pin.clone(),
            room: room.into(),
        },
    );
    common::plant_identity(&settings.data_dir, name, who, PASS);
    Shell::new(settings, std::sync::Arc::new(|| {})).unwrap()
}

/// Pumps the shells until `done` holds (or fails after 20 s).
fn wait(shells: &mut [&mut Shell], what: &str, done: impl Fn(&[&mut Shell]) -> bool) {
    wait_up_to(Duration::from_secs(20), shells, what, done);
}

/// Pumps the shells until `done` holds (or fails after `limit`).
fn wait_up_to(
    limit: Duration,
    shells: &mut [&mut Shell],
    what: &str,
    done: impl Fn(&[&mut Shell]) -> bool,
) {
    let deadline = Instant::now() + limit;
    loop {
        for s in shells.iter_mut() {
            s.pump();
        }
        if done(shells) {
            return;
        }
        if Instant::now() > deadline {
            let states: Vec<_> = shells
                .iter()
                .map(|s| {
                    (
                        s.app.phase().clone(),
                        s.app.form_error().map(str::to_owned),
                        s.app.error().map(str::to_owned),
                    )
                })
                .collect();
            panic!("timed out waiting for {what}: {states:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn secure(s: &Shell) -> bool {
    *s.app.phase() == Phase::Secure && s.app.peer().is_some()
}

fn history_file(
    base: &Path,
    dir: &str,
    profile: &str,
    peer: &sans_io_proto::Fingerprint,
) -> Vec<u8> {
    std::fs::read(
        base.join(dir)
            .join("profiles")
            .join(profile)
            .join("history")
            .join(format!("{}.e2es", peer.to_hex())),
    )
    .unwrap_or_default()
}

#[test]
fn two_windows_pair_verify_chat_and_meet_again_elsewhere_with_their_history() {
    let env = env("pair");
    let mut a = shell(&env, "a", "Alice", 0, "garden");
    let mut b = shell(&env, "b", "Bob", 1, "garden");
    a.app.connect();
    wait(&mut [&mut a], "alice waiting", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    b.app.connect();
    wait(&mut [&mut a, &mut b], "both secure", |s| {
        s.iter().all(|s| secure(s))
    });
    let (va, vb) = (
        a.app.peer().unwrap().verification.clone(),
        b.app.peer().unwrap().verification.clone(),
    );
    assert_eq!(va.safety_number, vb.safety_number);
    assert_eq!(va.qr_text(), vb.qr_text());
    // This key exchange's emoji and words: the same on both screens (nobody in the middle).
    assert_eq!(va.sas.len(), 8);
    assert_eq!(va.sas, vb.sas);
    assert_eq!(va.key_picture, vb.key_picture);
    assert_eq!(Some(va.peer), b.app.own_fingerprint());
    // New contacts, approved at once; names arrive inside the session.
    wait(&mut [&mut a, &mut b], "names", |s| {
        s[0].app.status().text.contains("Bob") && s[1].app.status().text.contains("Alice")
    });
    let bob = va.peer;
    a.app.set_verified(bob, true);
    assert_eq!(a.app.status().tone, Tone::Good);
    // Chat both ways, with delivery receipts.
    let text = "Hello Bob, this is Alice.\nSecond line: 漢字 שלום";
    a.app.draft = text.into();
    a.app.send_draft();
    wait(&mut [&mut a, &mut b], "bob receives", |s| {
        s[1].app.selected().is_some_and(|c| {
            c.messages()
                .any(|m| m.text == text && m.author == Author::Peer)
        })
    });
    wait(&mut [&mut a, &mut b], "alice's receipt", |s| {
        s[0].app
            .selected()
            .is_some_and(|c| c.messages().any(|m| m.state == Some(SendState::Delivered)))
    });
    b.app.draft = "Hi Alice!".into();
    b.app.send_draft();
    wait(&mut [&mut a, &mut b], "alice receives", |s| {
        s[0].app
            .selected()
            .is_some_and(|c| c.messages().any(|m| m.text == "Hi Alice!"))
    });
    // The history is on disk, sealed: no plaintext in it.
    wait(&mut [&mut a], "history written", |_| {
        history_file(&env.base, "a", "Alice", &bob).len() > 100
    });
    let file = history_file(&env.base, "a", "Alice", &bob);
    for needle in ["Hello Bob", "Hi Alice", "漢字", "שלום"] {
        assert!(
            !file.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in clear"
        );
    }
    // Bob closes his window; Alice hears of it at once (not after the relay's idle timeout) and
    // keeps the conversation on screen while waiting.
    let closed = Instant::now();
    drop(b);
    wait(&mut [&mut a], "alice waiting again", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    assert!(
        closed.elapsed() < Duration::from_secs(5),
        "{:?}",
        closed.elapsed()
    );
    assert!(
        a.app
            .selected()
            .unwrap()
            .messages()
            .any(|m| m.text == "Hi Alice!")
    );
    // Both meet again in another room after Bob restarts: recognised, verified, history back.
    a.app.leave();
    a.app.form.room = "elsewhere".into();
    a.app.connect();
    wait(&mut [&mut a], "alice waiting elsewhere", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    let mut b = shell(&env, "b", "Bob", 1, "elsewhere");
    b.app.connect();
    wait(&mut [&mut a, &mut b], "secure elsewhere", |s| {
        s.iter().all(|s| secure(s))
    });
    assert!(!a.app.warning_open());
    assert_eq!(a.app.status().text, "🔒 Secure with Bob ✔ verified");
    assert!(a.app.window_title().starts_with("Bob (verified)"));
    let restored: Vec<String> = b
        .app
        .selected()
        .unwrap()
        .messages()
        .map(|m| m.text.clone())
        .collect();
    assert!(
        restored.contains(&text.to_owned()) && restored.contains(&"Hi Alice!".to_owned()),
        "{restored:?}"
    );
}

#[test]
fn an_identity_in_bobs_room_that_is_not_bob_gets_nothing_until_accepted() {
    let env = env("impostor");
    let mut a = shell(&env, "a", "Alice", 0, "desk");
    let mut b = shell(&env, "b", "Bob", 1, "desk");
    a.app.connect();
    wait(&mut [&mut a], "alice waiting", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    b.app.connect();
    wait(&mut [&mut a, &mut b], "pair", |s| {
        s.iter().all(|s| secure(s))
    });
    let bob = a.app.peer().unwrap().fingerprint();
    // Bob's display name follows the key exchange (inside the session); until it arrives his
    // contact is named after his fingerprint.
    wait(&mut [&mut a, &mut b], "bob's name", |s| {
        s[0].app.name_of(&bob) == "Bob"
    });
    b.app.leave();
    wait(&mut [&mut a, &mut b], "bob left", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    drop(b);
    // "Bob" comes back with another identity.
    let mut m = shell(&env, "m", "Bob", 2, "desk");
    m.app.connect();
    wait(&mut [&mut a, &mut m], "secure with the impostor", |s| {
        s.iter().all(|s| secure(s))
    });
    assert!(a.app.warning_open());
    assert!(!a.app.status().text.contains("Secure"));
    assert!(
        a.app
            .status()
            .text
            .contains("not Bob, whom you met in this room")
    );
    // Alice writes to Bob: it waits for Bob, it does not go to the identity in his room.
    a.app.select(bob);
    a.app.draft = "for Bob only".into();
    a.app.send_draft();
    wait(&mut [&mut a, &mut m], "queued for Bob", |s| {
        s[0].app
            .conversation(&bob)
            .unwrap()
            .messages()
            .any(|m| m.text == "for Bob only" && m.state == Some(SendState::WaitingForPeer))
    });
    let mallory = m.app.own_fingerprint().unwrap();
    // Accepting makes a new contact; Bob's queued message still does not go to it.
    a.app.accept_peer();
    a.app.select(mallory);
    a.app.draft = "hello, whoever you are".into();
    a.app.send_draft();
    wait(
        &mut [&mut a, &mut m],
        "the accepted identity gets what was written to it",
        |s| {
            s[1].app
                .selected()
                .is_some_and(|c| c.messages().any(|m| m.text == "hello, whoever you are"))
        },
    );
    assert!(
        !m.app
            .selected()
            .unwrap()
            .messages()
            .any(|m| m.text == "for Bob only")
    );
    assert_eq!(a.app.name_of(&mallory), "Bob (2)");
}

#[test]
fn a_mistyped_local_port_asks_before_starting_a_relay_there() {
    let env = env("port");
    let mut s = shell(&env, "a", "Alice", 0, "lobby");
    // A free loopback port that nobody serves.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.app.form.relay = format!("127.0.0.1:{port}");
    s.app.form.pin.clear();
    // Allowed in general, but only at the default address without asking.
    let mut settings = common::settings(&env.base, "a", s.app.form.clone());
    settings.config.start_local_relay = true;
    settings.config.relay_cert_dir = Some(env.base.join("relay-cert"));
    drop(s);
    let mut s = Shell::new(settings, std::sync::Arc::new(|| {})).unwrap();
    s.app.connect();
    wait(&mut [&mut s], "the question", |s| {
        s[0].app.local_relay_question().is_some()
    });
    assert_eq!(*s.app.phase(), Phase::Connect);
    assert!(s.app.form_error().unwrap().contains("No relay answers"));
    assert!(!s.app.hosts_local_relay());
    // Nothing listens there: the port can still be taken.
    assert!(std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok());
    // The user says yes: a relay starts in the window at that address.
    s.app.start_local_relay_here();
    wait(&mut [&mut s], "waiting in the window's relay", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    assert!(s.app.hosts_local_relay());
}

#[test]
fn a_host_name_that_does_not_resolve_is_reported_as_such() {
    let env = env("dns");
    let mut s = shell(&env, "a", "Alice", 0, "lobby");
    s.app.form.relay = "nonsense.invalid:4433".into();
    s.app.connect();
    wait(&mut [&mut s], "the error", |s| {
        s[0].app.form_error().is_some()
    });
    let e = s.app.form_error().unwrap();
    assert!(
        e.contains("Cannot find the host \"nonsense.invalid\""),
        "{e}"
    );
    assert_eq!(*s.app.phase(), Phase::Connect);
}

/// How many lines of `s`'s conversation with `peer` carry `text`.
fn count(s: &Shell, peer: &sans_io_proto::Fingerprint, text: &str) -> usize {
    s.app
        .conversation(peer)
        .map_or(0, |c| c.messages().filter(|m| m.text == text).count())
}

fn state(s: &Shell, peer: &sans_io_proto::Fingerprint, text: &str) -> Option<SendState> {
    s.app.conversation(peer).and_then(|c| {
        c.messages()
            .find(|m| m.text == text && m.author == Author::Me)
            .and_then(|m| m.state.clone())
    })
}

/// Alice and Bob (Bob through `relay`), secure with each other in `room`.
fn pair(env: &Env, relay: &str, room: &str) -> (Shell, Shell) {
    let mut a = shell(env, "a", "Alice", 0, room);
    let mut b = shell_via(env, relay, "b", "Bob", 1, room);
    a.app.connect();
    wait(&mut [&mut a], "alice waiting", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    b.app.connect();
    wait(&mut [&mut a, &mut b], "both secure", |s| {
        s.iter().all(|s| secure(s))
    });
    (a, b)
}

#[test]
fn a_connection_that_goes_dark_shows_the_peer_offline_and_the_outbox_arrives_once_after() {
    let env = env("dark");
    let link = env
        .rt
        .block_on(common::Forwarder::start(env.addr.parse().unwrap()));
    let (mut a, mut b) = pair(&env, &link.addr.to_string(), "porch");
    let bob = a.app.peer().unwrap().fingerprint();
    let alice = b.app.peer().unwrap().fingerprint();
    a.app.draft = "before the dark".into();
    a.app.send_draft();
    wait(&mut [&mut a, &mut b], "delivered", |s| {
        state(s[0], &bob, "before the dark") == Some(SendState::Delivered)
    });
    // Bob's network goes dark: not a packet either way, no close. The relay and Bob notice by
    // the QUIC idle timeout of `quic_relay`'s transport (seconds; 30 s before the relay's
    // failure-detection work).
    link.cut(true);
    let dark = Instant::now();
    a.app.draft = "into the dark".into();
    a.app.send_draft();
    wait_up_to(
        Duration::from_secs(60),
        &mut [&mut a, &mut b],
        "both notice",
        |s| {
            *s[0].app.phase() == Phase::Waiting
                && matches!(s[1].app.phase(), Phase::RelayLost { .. })
        },
    );
    eprintln!("noticed after {:?}", dark.elapsed());
    assert_eq!(
        a.app.offline_notice().as_deref(),
        Some("Bob is offline: messages will be sent when they are back.")
    );
    wait(&mut [&mut a], "waiting again", |s| {
        state(s[0], &bob, "into the dark") == Some(SendState::WaitingForPeer)
    });
    assert!(
        b.app
            .offline_notice()
            .unwrap()
            .starts_with("You are offline")
    );
    b.app.draft = "written offline".into();
    b.app.send_draft();
    wait(&mut [&mut b], "bob's waits", |s| {
        state(s[0], &alice, "written offline") == Some(SendState::WaitingForPeer)
    });
    // The network is back: Bob reconnects by himself; both outboxes arrive, once each.
    link.cut(false);
    wait_up_to(
        Duration::from_secs(60),
        &mut [&mut a, &mut b],
        "both delivered",
        |s| {
            state(s[0], &bob, "into the dark") == Some(SendState::Delivered)
                && state(s[1], &alice, "written offline") == Some(SendState::Delivered)
        },
    );
    // A little longer: a resend would show up now.
    let settle = Instant::now() + Duration::from_secs(2);
    while Instant::now() < settle {
        a.pump();
        b.pump();
        std::thread::sleep(Duration::from_millis(20));
    }
    for (s, peer, text) in [
        (&b, &alice, "before the dark"),
        (&b, &alice, "into the dark"),
        (&a, &bob, "written offline"),
    ] {
        assert_eq!(count(s, peer, text), 1, "{text}");
    }
    assert!(secure(&a) && secure(&b));
}

#[test]
fn a_restart_from_the_stored_state_loses_nothing_and_shows_nothing_twice() {
    let env = env("restart");
    let (mut a, mut b) = pair(&env, &env.addr, "attic");
    let bob = a.app.peer().unwrap().fingerprint();
    let alice = b.app.peer().unwrap().fingerprint();
    a.app.draft = "one".into();
    a.app.send_draft();
    wait(&mut [&mut a, &mut b], "one delivered", |s| {
        state(s[0], &bob, "one") == Some(SendState::Delivered) && count(s[1], &alice, "one") == 1
    });
    // Bob closes his window; Alice writes two more, then closes hers too.
    drop(b);
    wait(&mut [&mut a], "alice alone", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    for text in ["two", "three"] {
        a.app.draft = text.into();
        a.app.send_draft();
    }
    wait(&mut [&mut a], "waiting", |s| {
        state(s[0], &bob, "three") == Some(SendState::WaitingForPeer)
    });
    drop(a);
    // Both start again from disk.
    let mut a = shell(&env, "a", "Alice", 0, "attic");
    a.app.connect();
    wait(&mut [&mut a], "alice back", |s| {
        *s[0].app.phase() == Phase::Waiting
    });
    for text in ["one", "two", "three"] {
        assert_eq!(count(&a, &bob, text), 1, "{text} after Alice's restart");
    }
    assert_eq!(state(&a, &bob, "two"), Some(SendState::WaitingForPeer));
    let mut b = shell(&env, "b", "Bob", 1, "attic");
    b.app.connect();
    wait(
        &mut [&mut a, &mut b],
        "delivered after both restarted",
        |s| {
            state(s[0], &bob, "three") == Some(SendState::Delivered)
                && state(s[0], &bob, "two") == Some(SendState::Delivered)
        },
    );
    // Bob answers, then restarts once more: his history holds each message once, and the
    // client does not show any of them again.
    b.app.draft = "got them".into();
    b.app.send_draft();
    wait(&mut [&mut a, &mut b], "answer", |s| {
        count(s[0], &bob, "got them") == 1
            && state(s[1], &alice, "got them") == Some(SendState::Delivered)
    });
    // Give the storage worker a moment to confirm what it recorded.
    let settle = Instant::now() + Duration::from_millis(500);
    while Instant::now() < settle {
        a.pump();
        b.pump();
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(b);
    let mut b = shell(&env, "b", "Bob", 1, "attic");
    b.app.connect();
    wait(&mut [&mut a, &mut b], "secure again", |s| {
        s.iter().all(|s| secure(s))
    });
    let settle = Instant::now() + Duration::from_secs(1);
    while Instant::now() < settle {
        a.pump();
        b.pump();
        std::thread::sleep(Duration::from_millis(20));
    }
    for text in ["one", "two", "three"] {
        assert_eq!(count(&b, &alice, text), 1, "{text} on Bob's side");
        assert_eq!(count(&a, &bob, text), 1, "{text} on Alice's side");
    }
    assert_eq!(count(&a, &bob, "got them"), 1);
    assert_eq!(count(&b, &alice, "got them"), 1);
}
