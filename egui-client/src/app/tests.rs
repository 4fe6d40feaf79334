//! Unit tests of the app state: events in, effects out, no relay, no window, no threads.

use super::*;
use crate::app::connect::LocalRelay;
use crate::app::conversation::Entry;

const T0: u64 = 1_700_000_000_000;

fn fp(b: u8) -> Fingerprint {
    Fingerprint::from_bytes([b; 32])
}

fn form() -> ConnectForm {
    ConnectForm {
        display_name: "Alice".into(),
        passphrase: "long passphrase".into(),
        passphrase_repeat: "long passphrase".into(),
        room: "demo".into(),
        ..ConnectForm::default()
    }
}

fn new_app() -> App {
    App::new(
        Config {
            start_local_relay: true,
            pbkdf2_iterations: 1_000,
            relay_cert_dir: None,
        },
        form(),
        BTreeSet::new(),
        42,
        T0,
    )
}

fn drain(app: &mut App) -> Vec<Effect> {
    std::iter::from_fn(|| app.poll_effect()).collect()
}

/// An app that connected as Alice with `book` and `histories`, effects drained.
fn connected(book: ContactBook, histories: Vec<(Fingerprint, Vec<Message>)>) -> App {
    let mut app = new_app();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: book,
        histories,
        notices: vec![],
    })));
    drain(&mut app);
    app.handle_net(NetEvent::Connected { local_relay: false });
    app.handle_net(NetEvent::Joined {
        room: "demo".into(),
    });
    app.handle_net(NetEvent::Waiting);
    app
}

fn session(f: Fingerprint) -> NetEvent {
    NetEvent::Secure(Box::new(PeerSession {
        fingerprint: f,
        safety_number: "12345".repeat(12),
        sas: None,
        key_picture: [[1; 12]; 12],
    }))
}

fn book_with_bob(verified: bool) -> ContactBook {
    let mut b = ContactBook::default();
    b.met(fp(1), "demo", T0 - 10, Some("Bob"));
    b.set_verified(&fp(1), verified);
    b
}

fn approvals(effects: &[Effect]) -> Vec<Fingerprint> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Net(NetCommand::Approve(f)) => Some(*f),
            _ => None,
        })
        .collect()
}

fn saved_contacts(effects: &[Effect]) -> Option<ContactBook> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Save(SaveOp::Contacts(p)) => ContactBook::decode(p).ok(),
        _ => None,
    })
}

fn history_saves(effects: &[Effect], who: Fingerprint) -> usize {
    effects
        .iter()
        .filter(|e| matches!(e, Effect::Save(SaveOp::History { contact, .. }) if *contact == who))
        .count()
}

fn message(app: &mut App, from: Fingerprint, n: u64, text: &str) {
    app.handle_net(NetEvent::Message {
        from,
        id: MessageId::from_parts(99, n),
        text: text.into(),
        sent_at_ms: T0,
    });
}

// ---- connect form ---------------------------------------------------------------------------

#[test]
fn a_form_error_goes_away_when_the_form_changes() {
    let mut app = new_app();
    app.form.passphrase = "short".into();
    app.form.passphrase_repeat = "short".into();
    app.connect();
    assert!(app.form_error().unwrap().contains("at least 8"));
    assert!(drain(&mut app).is_empty(), "nothing starts on a bad form");
    app.form.display_name = "Alicia".into();
    assert_eq!(
        app.form_error(),
        None,
        "the message must not outlive the name it was about"
    );
}

#[test]
fn connect_unlocks_then_connects_and_wipes_the_passphrase() {
    let mut app = new_app();
    app.connect();
    let effects = drain(&mut app);
    let [Effect::Unlock(req)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(req.create);
    assert_eq!(req.display_name, "Alice");
    assert!(matches!(app.phase(), Phase::Busy(_)));
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: ContactBook::default(),
        histories: vec![],
        notices: vec!["moved".into()],
    })));
    assert!(app.form.passphrase.is_empty() && app.form.passphrase_repeat.is_empty());
    assert_eq!(app.warnings(), ["moved"]);
    let effects = drain(&mut app);
    let Some(Effect::Net(NetCommand::Connect(p))) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(p.room.as_str(), "demo");
    assert_eq!(p.local_relay, LocalRelay::StartIfNoneAnswers);
    // The same name again needs no second unlock.
    app.leave();
    drain(&mut app);
    app.connect();
    assert!(matches!(
        drain(&mut app).as_slice(),
        [Effect::Net(NetCommand::Connect(_))]
    ));
    assert!(app.identity_exists());
}

#[test]
fn a_wrong_passphrase_is_shown_on_the_form() {
    let mut app = new_app();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::UnlockFailed("Wrong passphrase".into()));
    assert_eq!(*app.phase(), Phase::Connect);
    assert_eq!(app.form_error(), Some("Wrong passphrase"));
}

#[test]
fn a_mistyped_local_port_asks_before_starting_a_relay() {
    let mut app = new_app();
    app.form.relay = "127.0.0.1:1".into();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: ContactBook::default(),
        histories: vec![],
        notices: vec![],
    })));
    let effects = drain(&mut app);
    let Some(Effect::Net(NetCommand::Connect(p))) = effects.first() else {
        panic!()
    };
    assert_eq!(p.local_relay, LocalRelay::Never);
    app.handle_net(NetEvent::ConnectFailed {
        reason: "No relay answers at 127.0.0.1:1.".into(),
        retrying_in: None,
        offer_local_relay: true,
    });
    assert_eq!(*app.phase(), Phase::Connect);
    assert_eq!(
        app.local_relay_question().map(ToString::to_string),
        Some("127.0.0.1:1".into())
    );
    drain(&mut app);
    app.start_local_relay_here();
    let effects = drain(&mut app);
    let Some(Effect::Net(NetCommand::Connect(p))) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(p.local_relay, LocalRelay::StartIfNoneAnswers);
    assert_eq!(p.relay.port, 1);
}

#[test]
fn the_redirect_banner_goes_with_leave() {
    let mut app = connected(ContactBook::default(), vec![]);
    app.handle_net(NetEvent::Redirected {
        from: "demo".into(),
        to: "demo-2".into(),
    });
    assert!(app.redirect().unwrap().contains("\"demo-2\""));
    app.leave();
    assert_eq!(app.redirect(), None);
    assert_eq!(*app.phase(), Phase::Connect);
}

// ---- contacts and trust ---------------------------------------------------------------------

#[test]
fn a_known_contact_is_recognised_and_approved_in_any_room() {
    let mut app = new_app();
    app.form.room = "remote-test".into();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: book_with_bob(true),
        histories: vec![],
        notices: vec![],
    })));
    drain(&mut app);
    app.handle_net(session(fp(1)));
    let effects = drain(&mut app);
    assert_eq!(approvals(&effects), [fp(1)]);
    assert_eq!(app.status().text, "🔒 Secure with Bob ✔ verified");
    assert_eq!(app.status().tone, Tone::Good);
    assert_eq!(app.window_title(), "Bob (verified) — e2e-chat");
    let saved = saved_contacts(&effects).unwrap();
    assert!(saved.get(&fp(1)).unwrap().rooms.contains("remote-test"));
}

#[test]
fn a_new_identity_in_a_new_room_is_a_new_contact_approved_at_once() {
    let mut app = connected(ContactBook::default(), vec![]);
    app.handle_net(session(fp(7)));
    let effects = drain(&mut app);
    assert_eq!(approvals(&effects), [fp(7)]);
    assert!(app.status().text.contains("(not verified)"));
    // The name it gives becomes its petname.
    app.handle_net(NetEvent::PeerName("Carol".into()));
    let effects = drain(&mut app);
    assert_eq!(
        saved_contacts(&effects)
            .unwrap()
            .get(&fp(7))
            .unwrap()
            .petname,
        "Carol"
    );
    assert_eq!(app.window_title(), "Carol (not verified) — e2e-chat");
}

#[test]
fn an_unknown_identity_where_bob_was_met_is_not_bob_and_nothing_is_sent() {
    let mut app = connected(book_with_bob(true), vec![]);
    app.handle_net(session(fp(2)));
    let effects = drain(&mut app);
    assert!(
        approvals(&effects).is_empty(),
        "no approval without the user"
    );
    assert!(app.warning_open());
    let status = app.status();
    assert_eq!(status.tone, Tone::Warning);
    assert!(!status.text.contains("Secure"), "{}", status.text);
    assert!(status.text.contains("not Bob, whom you met in this room"));
    assert!(!app.window_title().contains("verified"));
    // The warning in the conversation names the contact.
    let conv = app.selected().unwrap();
    assert_eq!(conv.contact, fp(2));
    assert!(
        conv.entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.level == NoticeLevel::Warning && n.text.contains("This is not Bob")))
    );
    // Its chosen name does not make it Bob.
    app.handle_net(NetEvent::PeerName("Bob".into()));
    assert_eq!(app.name_of(&fp(2)), "unknown identity 02020202");
    // Sending is blocked and says why.
    assert!(!app.can_send());
    app.draft = "the plans".into();
    app.send_draft();
    assert_eq!(app.draft, "the plans");
    assert!(app.error().unwrap().contains("not accepted"));
    assert!(
        drain(&mut app)
            .iter()
            .all(|e| !matches!(e, Effect::Net(NetCommand::Send { .. })))
    );
    // The user accepts: approved, a new contact that is not Bob.
    app.accept_peer();
    let effects = drain(&mut app);
    assert_eq!(approvals(&effects), [fp(2)]);
    let book = saved_contacts(&effects).unwrap();
    assert_eq!(book.get(&fp(2)).unwrap().petname, "Bob (2)");
    assert!(!book.get(&fp(2)).unwrap().verified);
    assert_eq!(book.met_in("demo"), Some(fp(2)));
    assert!(app.status().text.starts_with("🔒 Secure with Bob (2)"));
    assert!(app.can_send());
}

#[test]
fn the_real_bob_coming_back_after_an_accepted_impostor_is_recognised() {
    let mut book = book_with_bob(true);
    book.met(fp(2), "demo", T0, Some("Mallory")); // accepted earlier in Bob's room
    let mut app = connected(book, vec![]);
    app.handle_net(session(fp(1)));
    assert_eq!(approvals(&drain(&mut app)), [fp(1)]);
    assert!(!app.warning_open());
    assert_eq!(app.status().text, "🔒 Secure with Bob ✔ verified");
}

#[test]
fn verification_can_be_given_and_removed() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    app.set_verified(fp(1), true);
    assert!(
        saved_contacts(&drain(&mut app))
            .unwrap()
            .get(&fp(1))
            .unwrap()
            .verified
    );
    assert_eq!(app.status().tone, Tone::Good);
    app.set_verified(fp(1), false);
    assert!(
        !saved_contacts(&drain(&mut app))
            .unwrap()
            .get(&fp(1))
            .unwrap()
            .verified
    );
    assert!(app.status().text.contains("(not verified)"));
    assert!(app.rename(fp(1), "Robert").is_ok());
    assert_eq!(app.name_of(&fp(1)), "Robert");
}

// ---- conversations ----------------------------------------------------------------------------

#[test]
fn each_contact_has_its_own_timeline_and_it_stays_visible_while_waiting() {
    let mut book = book_with_bob(false);
    book.met(fp(3), "lunch", T0, Some("Carol"));
    let mut app = connected(book, vec![]);
    app.handle_net(session(fp(1)));
    message(&mut app, fp(1), 1, "from Bob");
    app.handle_net(NetEvent::PeerLeft);
    app.handle_net(NetEvent::Waiting);
    assert_eq!(*app.phase(), Phase::Waiting);
    // Bob's conversation is still shown while waiting.
    let conv = app.selected().unwrap();
    assert_eq!(conv.contact, fp(1));
    assert!(conv.messages().any(|m| m.text == "from Bob"));
    assert!(
        conv.entries()
            .iter()
            .any(|e| matches!(e, Entry::Notice(n) if n.text == "Bob left."))
    );
    // Carol arrives: her messages go to her timeline only.
    app.handle_net(session(fp(3)));
    message(&mut app, fp(3), 1, "from Carol");
    let carol: Vec<_> = app
        .conversation(&fp(3))
        .unwrap()
        .messages()
        .map(|m| m.text.clone())
        .collect();
    let bob: Vec<_> = app
        .conversation(&fp(1))
        .unwrap()
        .messages()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(carol, ["from Carol"]);
    assert_eq!(bob, ["from Bob"]);
    let list = app.conversation_list();
    assert_eq!(list.len(), 2);
    assert!(list[0].connected && list[0].name == "Carol");
}

#[test]
fn unread_counts_title_marker_and_notification_without_focus() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    message(&mut app, fp(1), 1, "seen at once");
    assert_eq!(app.selected().unwrap().unread, 0);
    assert!(
        !drain(&mut app)
            .iter()
            .any(|e| matches!(e, Effect::Notify { .. }))
    );
    app.set_focused(false);
    message(&mut app, fp(1), 2, "while away");
    message(&mut app, fp(1), 3, "and again");
    assert_eq!(app.selected().unwrap().unread, 2);
    assert!(app.window_title().starts_with("(2) Bob"));
    let notes: Vec<String> = drain(&mut app)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Notify { body, .. } => Some(body),
            _ => None,
        })
        .collect();
    assert_eq!(notes, ["New message from Bob", "New message from Bob"]);
    assert!(
        notes.iter().all(|n| !n.contains("away")),
        "no message text in notifications"
    );
    app.set_focused(true);
    assert_eq!(app.selected().unwrap().unread, 0);
    assert!(!app.window_title().starts_with('('));
}

#[test]
fn sending_reports_each_state_and_queues_for_an_absent_contact() {
    let mut book = book_with_bob(false);
    book.met(fp(3), "lunch", T0, Some("Carol"));
    let mut app = connected(book, vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    app.draft = "hello Bob\nsecond line".into();
    app.send_draft();
    assert!(app.draft.is_empty());
    let effects = drain(&mut app);
    let id = effects
        .iter()
        .find_map(|e| match e {
            Effect::Net(NetCommand::Send {
                contact, id, text, ..
            }) => {
                assert_eq!(*contact, fp(1));
                assert_eq!(text, "hello Bob\nsecond line");
                Some(*id)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(history_saves(&effects, fp(1)), 1);
    let state = |app: &App| {
        app.conversation(&fp(1))
            .unwrap()
            .messages()
            .last()
            .unwrap()
            .state
            .clone()
    };
    assert_eq!(state(&app), Some(SendState::Sending));
    for s in [SendState::Sent, SendState::Delivered] {
        app.handle_net(NetEvent::MessageState {
            id,
            state: s.clone(),
        });
        assert_eq!(state(&app), Some(s));
    }
    // To Carol, who is not here: waiting in the outbox.
    app.select(fp(3));
    app.draft = "for later".into();
    app.send_draft();
    let carol = app
        .conversation(&fp(3))
        .unwrap()
        .messages()
        .last()
        .unwrap()
        .clone();
    assert_eq!(carol.state, Some(SendState::WaitingForPeer));
    // Too long: refused with the reason, draft kept.
    app.draft = "x".repeat(sans_io_proto::session::MAX_TEXT_LEN + 1);
    app.send_draft();
    assert!(app.error().unwrap().contains("too long"));
    assert!(!app.draft.is_empty());
}

#[test]
fn unsent_messages_go_back_to_the_outbox_after_a_restart() {
    let mut c = Conversation::new(fp(1));
    c.push_mine(
        MessageId::from_parts(5, 1),
        "queued",
        T0,
        Timer::Off,
        SendState::WaitingForPeer,
    );
    c.push_mine(
        MessageId::from_parts(5, 2),
        "done",
        T0,
        Timer::Off,
        SendState::Delivered,
    );
    let mut app = new_app();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: book_with_bob(false),
        histories: vec![(fp(1), c.messages().cloned().collect())],
        notices: vec![],
    })));
    let sends: Vec<String> = drain(&mut app)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Net(NetCommand::Send { text, .. }) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(sends, ["queued"]);
}

#[test]
fn refused_envelopes_are_counted_not_listed() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    let before = app.selected().unwrap().entries().len();
    for _ in 0..50 {
        app.handle_net(NetEvent::Rejected);
    }
    assert_eq!(app.rejected(), 50);
    assert_eq!(app.selected().unwrap().entries().len(), before);
    // A new session starts the count again.
    app.handle_net(session(fp(1)));
    assert_eq!(app.rejected(), 0);
}

// ---- disappearing messages and history --------------------------------------------------------

#[test]
fn the_timer_is_agreed_then_applies_and_expired_messages_go_from_disk() {
    let mut app = connected(book_with_bob(false), vec![]);
    // Not connected with Bob: the timer cannot be agreed.
    app.request_timer(fp(1), Timer::Secs30);
    assert!(app.error().unwrap().contains("agreed with your peer"));
    app.handle_net(session(fp(1)));
    drain(&mut app);
    app.request_timer(fp(1), Timer::Secs30);
    let effects = drain(&mut app);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Net(NetCommand::SetTimer { secs: 30, .. })]
    ));
    // Nothing changes until the protocol says both sides agreed.
    assert_eq!(app.contacts().get(&fp(1)).unwrap().timer, Timer::Off);
    app.handle_net(NetEvent::TimerChanged {
        contact: fp(1),
        secs: 30,
        by_peer: true,
    });
    assert_eq!(app.contacts().get(&fp(1)).unwrap().timer, Timer::Secs30);
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text.starts_with("Bob set disappearing messages to 30 seconds"))));
    message(&mut app, fp(1), 1, "burn after reading");
    assert_eq!(app.poll_timeout(), Some(T0 + 30_000));
    drain(&mut app);
    app.handle_timeout(T0 + 29_999);
    assert_eq!(history_saves(&drain(&mut app), fp(1)), 0);
    app.handle_timeout(T0 + 30_000);
    let effects = drain(&mut app);
    assert_eq!(app.selected().unwrap().messages().count(), 0);
    // The rewritten history no longer holds it.
    let plain = effects
        .iter()
        .find_map(|e| match e {
            Effect::Save(SaveOp::History { plaintext, .. }) => Some(plaintext.clone()),
            _ => None,
        })
        .unwrap();
    assert!(Conversation::decode_history(&plain).unwrap().is_empty());
    // An unknown timer value from the wire is ignored.
    app.handle_net(NetEvent::TimerChanged {
        contact: fp(1),
        secs: 31,
        by_peer: true,
    });
    assert_eq!(app.contacts().get(&fp(1)).unwrap().timer, Timer::Secs30);
}

#[test]
fn messages_expired_while_closed_are_deleted_at_start() {
    let mut c = Conversation::new(fp(1));
    c.push_peer(
        MessageId::from_parts(5, 1),
        "old",
        0,
        T0 - 100_000,
        Timer::Secs30,
    );
    c.push_peer(
        MessageId::from_parts(5, 2),
        "kept",
        0,
        T0 - 100_000,
        Timer::Off,
    );
    let mut app = new_app();
    app.connect();
    drain(&mut app);
    app.handle_job(JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts: book_with_bob(false),
        histories: vec![(fp(1), c.messages().cloned().collect())],
        notices: vec![],
    })));
    let effects = drain(&mut app);
    assert_eq!(history_saves(&effects, fp(1)), 1);
    let texts: Vec<_> = app
        .conversation(&fp(1))
        .unwrap()
        .messages()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["kept"]);
}

#[test]
fn history_can_be_turned_off_per_contact() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    app.set_keep_history(fp(1), false);
    let effects = drain(&mut app);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Save(SaveOp::DeleteHistory(f)) if *f == fp(1)))
    );
    assert!(
        !saved_contacts(&effects)
            .unwrap()
            .get(&fp(1))
            .unwrap()
            .keep_history
    );
    message(&mut app, fp(1), 1, "not kept on disk");
    let effects = drain(&mut app);
    assert_eq!(history_saves(&effects, fp(1)), 0);
    // Still shown in memory.
    assert!(
        app.selected()
            .unwrap()
            .messages()
            .any(|m| m.text == "not kept on disk")
    );
    app.set_keep_history(fp(1), true);
    assert_eq!(history_saves(&drain(&mut app), fp(1)), 1);
}

#[test]
fn an_unapproved_identity_gets_no_history_on_disk() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(2)));
    drain(&mut app);
    message(&mut app, fp(2), 1, "hello from a stranger");
    assert_eq!(history_saves(&drain(&mut app), fp(2)), 0);
}

// ---- display spoofing -------------------------------------------------------------------------

#[test]
fn peer_text_cannot_pass_for_our_lines_or_notices() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    // A display name with newlines, bidi overrides and our name in it.
    app.handle_net(NetEvent::PeerName("Alice\n12:00 You: \u{202E}hi".into()));
    let name = app.peer().unwrap().display_name.clone().unwrap();
    assert!(!name.contains('\n') && !name.contains('\u{202E}'));
    // Bob keeps the petname the book has (names chosen by a peer never replace it when set by
    // the user; here the book's "Bob" was the peer's earlier name and is not duplicated).
    message(
        &mut app,
        fp(1),
        1,
        "ok\n12:01 You: I agree to pay\nℹ Secure session with Bob, verified contact.\u{2067}",
    );
    let conv = app.selected().unwrap();
    let Some(Entry::Message(m)) = conv.entries().last() else {
        panic!()
    };
    assert_eq!(
        m.author,
        conversation::Author::Peer,
        "one peer message, all its lines"
    );
    assert!(!m.text.contains('\u{2067}'));
    // Notices come only from the app: no peer text became one.
    assert!(!conv.entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text.contains("I agree to pay"))));
    // A relay's error text is one cleaned line.
    app.handle_net(NetEvent::RelayError("bad\n\u{202E}thing".into()));
    assert_eq!(app.error(), Some("The relay reported: bad thing"));
}
