//! The screens, driven like a person would with egui_kittest (find widgets by label, type,
//! click), with the network driver's events fed into the app state directly: no relay needed.
//! (`tests/e2e.rs` runs the same app against a real relay.)

mod common;

use egui_client::app::Phase;
use egui_client::app::connect::ConnectForm;
use egui_client::model::{MessageId, PeerSession, SasSymbol};
use egui_client::net::NetEvent;
use egui_client::ui::ChatApp;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use sans_io_proto::{Fingerprint, SafetyNumber};

const WINDOW: egui::Vec2 = egui::Vec2::new(1200.0, 800.0);

/// A harness on the app in strict-glyph mode: every label the app itself draws must have a glyph
/// in the bundled fonts, or the test panics.
fn harness(base: &std::path::Path, form: ConnectForm) -> Harness<'static, ChatApp> {
    let settings = common::settings(base, "ui", form);
    Harness::builder()
        .with_size(WINDOW)
        .build_eframe(move |cc| {
            let mut app = ChatApp::new(&cc.egui_ctx, settings).unwrap();
            app.glyph_policy = egui::MissingGlyphPolicy::Panic;
            app
        })
}

/// A harness where Alice's profile is open and she waits in room "demo".
fn alice(base: &std::path::Path) -> Harness<'static, ChatApp> {
    let mut h = harness(base, ConnectForm::default());
    h.state_mut()
        .shell
        .unlock_with("Alice", common::identity(0), common::storage_key())
        .unwrap();
    net(
        &mut h,
        NetEvent::Joined {
            room: "demo".into(),
        },
    );
    net(&mut h, NetEvent::Waiting);
    h
}

fn net(h: &mut Harness<'static, ChatApp>, event: NetEvent) {
    h.state_mut().shell.app.handle_net(event);
    h.run_steps(2);
}

/// What Alice's driver reports for a session with test identity `who`: the real safety number
/// and QR text of the two identities, eight emoji of the protocol's table. The protocol client
/// approved it already if it is a contact (every contact is approved at start).
fn session(h: &Harness<'static, ChatApp>, who: usize) -> NetEvent {
    let peer = common::identity(who);
    let number = SafetyNumber::new(common::identity(0).public(), peer.public());
    let fp = peer.fingerprint();
    NetEvent::Secure {
        session: Box::new(PeerSession {
            fingerprint: fp,
            safety_number: number.digits().to_owned(),
            qr_text: number.qr_text(),
            sas: sans_io_proto::identity::EMOJI_TABLE[who..who + 8]
                .iter()
                .map(|e| SasSymbol {
                    emoji: e.symbol.to_owned(),
                    word: e.name.to_owned(),
                })
                .collect(),
            key_picture: [[2; 12]; 12],
        }),
        approved: h.state().shell.app.contacts().get(&fp).is_some(),
    }
}

fn secure(h: &mut Harness<'static, ChatApp>, who: usize) -> Fingerprint {
    let event = session(h, who);
    net(h, event);
    common::identity(who).fingerprint()
}

fn peer_name(h: &mut Harness<'static, ChatApp>, from: Fingerprint, name: &str) {
    net(
        h,
        NetEvent::PeerName {
            from,
            name: name.into(),
        },
    );
}

fn message(h: &mut Harness<'static, ChatApp>, from: Fingerprint, n: u64, text: &str) {
    net(
        h,
        NetEvent::Message {
            from,
            id: MessageId::from_parts(7, n),
            text: text.into(),
            sent_at_ms: 0,
            expire_secs: 0,
        },
    );
}

/// Steps until `done` holds: answers of the real network thread (a queued message's id) arrive
/// between frames.
fn run_until(
    h: &mut Harness<'static, ChatApp>,
    what: &str,
    done: impl Fn(&Harness<'static, ChatApp>) -> bool,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done(h) {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
        h.run_steps(1);
    }
}

fn type_into(h: &mut Harness<'static, ChatApp>, label: &str, text: &str) {
    h.get_by_label(label).click();
    h.run_steps(2);
    h.get_by_label(label).type_text(text);
    h.run_steps(2);
}

#[test]
fn the_connect_screen_explains_and_validates_what_people_type() {
    let base = common::temp_dir("ui-connect");
    let mut h = harness(&base, ConnectForm::default());
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
    // Newcomers are told what a relay and a pin are.
    h.get_by_label_contains("The relay is the server both of you connect to");
    h.get_by_label_contains("certificate fingerprint");
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("Enter a display name");
    type_into(&mut h, "Display name", "Alice");
    h.get_by_label("Repeat passphrase");
    type_into(&mut h, "Passphrase", "short");
    type_into(&mut h, "Repeat passphrase", "short");
    type_into(&mut h, "Room", "demo");
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("at least 8 characters");
    // The message goes away as soon as the name changes.
    type_into(&mut h, "Display name", "x");
    assert!(h.query_by_label_contains("at least 8 characters").is_none());
    // A port out of range and a malformed host get different words.
    h.state_mut().shell.app.form.passphrase = "a long passphrase".into();
    h.state_mut().shell.app.form.passphrase_repeat = "a long passphrase".into();
    h.state_mut().shell.app.form.relay = "127.0.0.1:70000".into();
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("out of range");
    h.state_mut().shell.app.form.relay = "no such host!:4433".into();
    h.get_by_label("Connect").click();
    h.run_steps(3);
    h.get_by_label_contains("is not a host name");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_contact_book_recognises_bob_and_the_warning_names_him() {
    let base = common::temp_dir("ui-contacts");
    let mut h = alice(&base);
    let bob = secure(&mut h, 1);
    peer_name(&mut h, bob, "Bob");
    h.get_by_label_contains("🔒 Secure with Bob (not verified)");
    h.get_by_label("Mark as verified").click();
    h.run_steps(3);
    h.get_by_label("🔒 Secure with Bob ✔ verified");
    h.get_by_label("Bob ✔ · here"); // the conversation list: verified, connected
    // Bob leaves; someone else takes his room.
    net(&mut h, NetEvent::PeerLeft);
    net(&mut h, NetEvent::Waiting);
    let mallory = secure(&mut h, 2);
    peer_name(&mut h, mallory, "Bob");
    h.get_by_label("⚠ NOT Bob");
    h.get_by_label_contains("This is not Bob, whom you met in this room");
    h.get_by_label_contains("It calls itself \"Bob\"");
    assert!(
        h.query_by_label_contains("Secure").is_none(),
        "the header must not say Secure while the warning is open"
    );
    // Accepting makes a new contact that is not Bob.
    h.get_by_label("I compared the emoji or the safety number: accept as a new contact")
        .click();
    h.run_steps(3);
    assert_eq!(h.state().shell.app.name_of(&mallory), "Bob (2)");
    h.get_by_label_contains("🔒 Secure with Bob (2) (not verified)");
    // The real Bob coming back is recognised at once.
    net(&mut h, NetEvent::PeerLeft);
    secure(&mut h, 1);
    h.get_by_label("🔒 Secure with Bob ✔ verified");
    assert_eq!(h.state().shell.app.peer().unwrap().fingerprint(), bob);
    // Verification can be removed from the contact card.
    h.get_by_label("Remove verification").click();
    h.run_steps(3);
    h.get_by_label_contains("🔒 Secure with Bob (not verified)");
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_compose_box_stays_within_its_height_and_the_window() {
    let base = common::temp_dir("ui-compose");
    let mut h = harness(&base, ConnectForm::default());
    // The long text is there before the compose box is first drawn (as when pasting), so the
    // panel sizes itself to it.
    let long: String = (1..=60)
        .map(|i| format!("line {i} of a long message\n"))
        .collect();
    h.state_mut().shell.app.draft = long;
    h.state_mut()
        .shell
        .unlock_with("Alice", common::identity(0), common::storage_key())
        .unwrap();
    net(&mut h, NetEvent::Waiting);
    secure(&mut h, 1);
    h.run_steps(4);
    let send = h.get_by_label("Send").rect();
    assert!(
        send.max.y <= WINDOW.y,
        "the Send button left the window: {send:?}"
    );
    // The Send button sits in the middle of the compose row: with the text box bounded the row
    // is at most about 120 px high; unbounded, 60 lines would push it hundreds of pixels up.
    assert!(
        WINDOW.y - send.min.y <= 200.0,
        "the compose row grew: Send at {} px from the bottom",
        WINDOW.y - send.min.y
    );
    // The conversation above still has room.
    h.get_by_label("Safety number");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn each_contact_has_its_own_timeline_kept_while_waiting() {
    let base = common::temp_dir("ui-timelines");
    let mut h = alice(&base);
    let bob = secure(&mut h, 1);
    peer_name(&mut h, bob, "Bob");
    message(&mut h, bob, 1, "Bob says hi");
    h.get_by_label("Bob says hi");
    net(&mut h, NetEvent::PeerLeft);
    net(&mut h, NetEvent::Waiting);
    // While waiting, Bob's conversation stays on screen.
    h.get_by_label("Bob says hi");
    h.get_by_label_contains("Waiting for peer...");
    let carol = secure(&mut h, 3);
    peer_name(&mut h, carol, "Carol");
    message(&mut h, carol, 1, "Carol says hello");
    h.get_by_label("Carol says hello");
    assert!(
        h.query_by_label("Bob says hi").is_none(),
        "one timeline per contact"
    );
    h.get_by_label("Bob").click();
    h.run_steps(3);
    h.get_by_label("Bob says hi");
    assert!(h.query_by_label("Carol says hello").is_none());
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn own_peer_and_app_lines_look_different_and_peer_text_cannot_fake_them() {
    let base = common::temp_dir("ui-spoof");
    let mut h = alice(&base);
    let bob = secure(&mut h, 1);
    peer_name(&mut h, bob, "Alice\nYou");
    // The peer named itself like us: the app uses its own name for it.
    assert_eq!(h.state().shell.app.name_of(&bob), "Alice You");
    type_into(&mut h, "Message", "from me");
    h.key_press(egui::Key::Enter);
    // Shown once the protocol client (the real driver thread) gave it its id.
    run_until(&mut h, "our message", |h| {
        h.state()
            .shell
            .app
            .selected()
            .is_some_and(|c| c.messages().any(|m| m.text == "from me"))
    });
    h.run_steps(2);
    message(
        &mut h,
        bob,
        1,
        "ok\nYou · 12:00 · ✔✔ delivered\nI owe you 100\u{202E}",
    );
    // Our line is headed "You · ...", the peer's by its name; the fake header is inside the
    // peer's one label, not a line of its own.
    let own_heads = h
        .query_all_by(|n| {
            n.role() == egui::accesskit::Role::Label
                && n.value().is_some_and(|l| l.starts_with("You · "))
        })
        .count();
    assert_eq!(own_heads, 1, "exactly one line of ours");
    h.get_by(|n| {
        n.role() == egui::accesskit::Role::Label
            && n.value().is_some_and(|l| l.starts_with("Alice You · "))
    });
    let peer_text = h.get_by_label_contains("I owe you 100");
    let text = peer_text.accesskit_node().value().unwrap_or_default();
    assert!(
        text.starts_with("ok\n"),
        "one label for the whole peer message: {text:?}"
    );
    assert!(!text.contains('\u{202E}'));
    // Fifty forged envelopes: a counter, not fifty lines.
    for _ in 0..50 {
        h.state_mut().shell.app.handle_net(NetEvent::Rejected);
    }
    h.run_steps(2);
    h.get_by_label("50 message(s) refused (forged or damaged)");
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn the_qr_code_carries_the_digits_as_text_and_the_ui_says_so() {
    let base = common::temp_dir("ui-qr");
    let mut h = alice(&base);
    secure(&mut h, 1);
    let v = h.state().shell.app.peer().unwrap().verification.clone();
    // Exactly the library's text (PROTOCOL.md §8.4).
    let number = SafetyNumber::new(common::identity(0).public(), common::identity(1).public());
    assert_eq!(v.qr_text(), number.qr_text());
    assert!(v.qr_text().starts_with("E2E-CHAT SAFETY NUMBER\n"));
    h.get_by_label_contains("it shows the safety number as text. Compare those digits");
    h.get_by_label_contains("60-digit safety number");
    h.get_by_label(&v.display_lines());
    // The emoji of this key exchange, each with its word, and what to do with them.
    h.get_by_label("Emoji and words of this key exchange:");
    for e in &sans_io_proto::identity::EMOJI_TABLE[1..9] {
        h.get_by_label(e.symbol);
        h.get_by_label(e.name);
    }
    h.get_by_label_contains("Read the words aloud");
    h.get_by_label_contains("If either matches, nobody is in the middle");
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn paused_key_exchanges_say_why_and_try_again_starts_them_again() {
    let base = common::temp_dir("ui-paused");
    let mut h = alice(&base);
    net(
        &mut h,
        NetEvent::KeyExchangeAborted {
            identity_revealed: true,
            recent: 3,
        },
    );
    net(&mut h, NetEvent::KeyExchangesSuspended { recent: 3 });
    h.get_by_label("⚠ Key exchanges paused");
    h.get_by_label_contains("may be probing who you are");
    h.get_by_label_contains("Your identity had already been sent in it");
    h.get_by_label("Try again").click();
    h.run_steps(3);
    assert_eq!(*h.state().shell.app.phase(), Phase::Waiting);
    assert!(h.query_by_label("Try again").is_none());
    assert!(h.query_by_label_contains("probing").is_none());
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_contact_who_left_is_shown_offline_and_messages_to_them_wait() {
    let base = common::temp_dir("ui-offline");
    let mut h = alice(&base);
    let bob = secure(&mut h, 1);
    peer_name(&mut h, bob, "Bob");
    net(&mut h, NetEvent::PeerLeft);
    net(&mut h, NetEvent::Waiting);
    h.get_by_label("Bob is offline: messages will be sent when they are back.");
    type_into(&mut h, "Message", "see you later");
    h.key_press(egui::Key::Enter);
    run_until(&mut h, "the waiting message", |h| {
        h.query_by_label_contains("waiting: sent when your peer is back")
            .is_some()
    });
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn a_long_right_to_left_message_wraps_with_its_first_words_on_the_first_line() {
    let base = common::temp_dir("ui-rtl");
    let mut h = alice(&base);
    let bob = secure(&mut h, 1);
    let middle = ["שלום עולם"; 30].join(" ");
    message(&mut h, bob, 1, &format!("ראשון {middle} אחרון"));
    let label = h.get_by(|n| {
        n.role() == egui::accesskit::Role::Label && n.value().is_some_and(|v| v.contains("ראשון"))
    });
    let rows: Vec<String> = label
        .children()
        .filter(|n| n.accesskit_node().role() == egui::accesskit::Role::TextRun)
        .filter_map(|n| n.accesskit_node().value().map(|v| v.to_string()))
        .collect();
    assert!(rows.len() > 2, "{rows:?}");
    assert!(
        rows[0].contains("ראשון") && !rows[0].contains("אחרון"),
        "{rows:?}"
    );
    assert!(rows.last().unwrap().contains("אחרון"), "{rows:?}");
    drop(h);
    let _ = std::fs::remove_dir_all(&base);
}
