//! The screens, driven like a person would: egui_kittest finds widgets by their labels, types
//! and clicks. The peer on the other side is a headless controller.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_client::controller::{ConnectForm, Controller, Screen, Settings};
use egui_client::ui::ChatApp;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use quic_relay::server::{Relay, RelayConfig};

fn settings(base: &std::path::Path, dir: &str) -> Settings {
    Settings {
        data_dir: base.join(dir),
        relay_cert_dir: None,
        // Tests only: the app writes Argon2Params::DEFAULT (64 MiB, 3 passes).
        argon2: sans_io_proto::identity_file::Argon2Params {
            m_cost_kib: 8,
            t_cost: 1,
            lanes: 1,
        },
        start_local_relay: false,
        form: ConnectForm::default(),
    }
}

/// A harness on the app in strict-glyph mode: every label the app itself draws must have a glyph
/// in the bundled fonts, or the test panics.
fn harness(settings: Settings) -> Harness<'static, ChatApp> {
    Harness::builder()
        .with_size(egui::Vec2::new(1100.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = ChatApp::new(&cc.egui_ctx, settings).unwrap();
            app.glyph_policy = egui::MissingGlyphPolicy::Panic;
            app
        })
}

/// Steps the UI (and `others`) until a widget with a label containing `text` shows up.
fn step_until(h: &mut Harness<'static, ChatApp>, others: &mut [&mut Controller], text: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        h.step();
        for c in others.iter_mut() {
            c.poll();
        }
        if h.query_by_label_contains(text).is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "\"{text}\" never appeared; screen {:?}",
            h.state().controller.screen()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn type_into(h: &mut Harness<'static, ChatApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

#[test]
fn the_connect_screen_validates_what_people_type() {
    let base = std::env::temp_dir().join(format!("e2e-ui-connect-{}", std::process::id()));
    let mut h = harness(settings(&base, "a"));
    h.run_steps(3);
    for label in [
        "Display name",
        "Passphrase",
        "Relay address",
        "Certificate pin",
        "Room",
    ] {
        h.get_by_label(label);
    }
    // Nothing typed: a clear message.
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("Enter a display name");
    // A name shows the second passphrase field (a new identity will be created).
    type_into(&mut h, "Display name", "Alice");
    h.get_by_label("Repeat passphrase");
    type_into(&mut h, "Passphrase", "a long passphrase");
    type_into(&mut h, "Repeat passphrase", "a long passphrase");
    type_into(&mut h, "Room", "not valid!");
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("Enter a room name");
    assert_eq!(*h.state().controller.screen(), Screen::Connect);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn waiting_verify_and_chat_screens() {
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
    let base = std::env::temp_dir().join(format!("e2e-ui-chat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);

    let mut h = harness(settings(&base, "ui"));
    h.run_steps(2);
    type_into(&mut h, "Display name", "Alice");
    type_into(&mut h, "Passphrase", "a long passphrase");
    type_into(&mut h, "Repeat passphrase", "a long passphrase");
    h.get_by_label("Relay address").click();
    h.run_steps(1);
    h.state_mut().controller.form.relay = addr.clone(); // replace the default text
    type_into(&mut h, "Certificate pin", &pin);
    type_into(&mut h, "Room", "kitchen");
    h.get_by_label("Connect").click();
    // Waiting screen.
    step_until(&mut h, &mut [], "Waiting for peer...");

    // The peer arrives.
    let mut peer_settings = settings(&base, "peer");
    peer_settings.form = ConnectForm {
        display_name: "Bob".into(),
        passphrase: "another passphrase".into(),
        passphrase_repeat: "another passphrase".into(),
        relay: addr,
        pin,
        room: "kitchen".into(),
    };
    let mut bob = Controller::new(peer_settings, Arc::new(|| {})).unwrap();
    bob.connect();
    // Verify screen: safety number, emoji names, the verify button.
    step_until(&mut h, &mut [&mut bob], "Safety number");
    let digits = h.state().controller.verification().unwrap().digits.clone();
    h.get_by_label(&digits);
    h.get_by_label("Mark as verified").click();
    step_until(&mut h, &mut [&mut bob], "Verified contact");

    // Chat: type and press Enter.
    type_into(&mut h, "Message", "Hello from the window");
    h.key_press(egui::Key::Enter);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !bob
        .messages()
        .iter()
        .any(|l| l.text == "Hello from the window")
    {
        h.step();
        bob.poll();
        assert!(Instant::now() < deadline, "bob never received the message");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Bob answers; the window shows it with his name.
    bob.draft = "Hello window".into();
    bob.send_draft();
    step_until(&mut h, &mut [&mut bob], "Hello window");
    step_until(&mut h, &mut [&mut bob], "Bob:");
    // Untrusted text with characters no bundled font has must render (as boxes), not crash: the
    // app's real policy.
    h.state_mut().glyph_policy = ChatApp::new(&egui::Context::default(), settings(&base, "probe"))
        .unwrap()
        .glyph_policy;
    bob.draft = "漢字 ꙮ \u{10FFFD} 𓀀".into();
    bob.send_draft();
    step_until(&mut h, &mut [&mut bob], "漢字");
    drop(bob);
    drop(h);
    rt.block_on(relay.shutdown());
    let _ = std::fs::remove_dir_all(&base);
}
