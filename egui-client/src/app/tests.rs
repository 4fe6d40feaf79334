//! Unit tests of the app state: events in, effects out, no relay, no window, no threads.

use super::*;
use crate::app::connect::LocalRelay;
use crate::app::conversation::Entry;
use crate::model::SasSymbol;

const T0: u64 = 1_700_000_000_000;

/// Argon2id as cheap as the reader accepts (tests only).
const FAST: Argon2Params = Argon2Params {
    m_cost_kib: 8,
    t_cost: 1,
    lanes: 1,
};

/// A delivery store for tests where the app state never writes itself (the driver does).
struct NoStore;

impl DeliveryStore for NoStore {
    fn save(&self, _: &Fingerprint, _: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

fn unlocked(
    contacts: ContactBook,
    histories: Vec<(Fingerprint, Vec<Message>)>,
    deliveries: Vec<(Fingerprint, Zeroizing<Vec<u8>>)>,
) -> JobResult {
    JobResult::Unlocked(Box::new(Unlocked {
        display_name: "Alice".into(),
        identity: crate::test_identity(0),
        contacts,
        histories,
        deliveries,
        delivery_store: Arc::new(NoStore),
        notices: vec![],
    }))
}

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
            argon2: FAST,
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
    app.handle_job(unlocked(book, histories, vec![]));
    drain(&mut app);
    app.handle_net(NetEvent::Connected { local_relay: false });
    app.handle_net(NetEvent::Joined {
        room: "demo".into(),
    });
    app.handle_net(NetEvent::Waiting);
    app
}

/// What the driver reports for a session with `f` that the protocol client did not approve.
fn session(f: Fingerprint) -> NetEvent {
    secure(f, false)
}

fn secure(f: Fingerprint, approved: bool) -> NetEvent {
    NetEvent::Secure {
        session: Box::new(PeerSession {
            fingerprint: f,
            safety_number: "12345".repeat(12),
            qr_text: format!(
                "E2E-CHAT SAFETY NUMBER\n{}",
                ["12345 12345 12345 12345"; 3].join("\n")
            ),
            sas: (0..8)
                .map(|i| SasSymbol {
                    emoji: "🐶".into(),
                    word: format!("dog{i}"),
                })
                .collect(),
            key_picture: [[1; 12]; 12],
        }),
        approved,
    }
}

fn opened(effects: &[Effect]) -> Option<&OpenParams> {
    effects.iter().find_map(|e| match e {
        Effect::Net(NetCommand::Open(p)) => Some(&**p),
        _ => None,
    })
}

fn sends(effects: &[Effect]) -> Vec<(MessageId, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Net(NetCommand::Send { local, text, .. }) => Some((*local, text.clone())),
            _ => None,
        })
        .collect()
}

fn confirms(effects: &[Effect]) -> Vec<MessageId> {
    effects
        .iter()
        .flat_map(|e| match e {
            Effect::Net(NetCommand::ConfirmShown { ids, .. }) => ids.clone(),
            _ => vec![],
        })
        .collect()
}

fn history_confirms(effects: &[Effect]) -> Vec<MessageId> {
    effects
        .iter()
        .flat_map(|e| match e {
            Effect::Save(SaveOp::History { confirm, .. }) => confirm.clone(),
            _ => vec![],
        })
        .collect()
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
        expire_secs: 0,
    });
}

/// Sends the draft and lets the driver give it protocol id (7, `n`).
fn send_and_queue(app: &mut App, n: u64) -> MessageId {
    app.send_draft();
    let effects = drain(app);
    let Some(Effect::Net(NetCommand::Send { contact, local, .. })) = effects
        .iter()
        .find(|e| matches!(e, Effect::Net(NetCommand::Send { .. })))
    else {
        panic!("{effects:?}")
    };
    let id = MessageId::from_parts(7, n);
    app.handle_net(NetEvent::Queued {
        contact: *contact,
        local: *local,
        id,
    });
    id
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
    let JobResult::Unlocked(mut u) = unlocked(ContactBook::default(), vec![], vec![]) else {
        unreachable!()
    };
    u.notices = vec!["moved".into()];
    app.handle_job(JobResult::Unlocked(u));
    assert!(app.form.passphrase.is_empty() && app.form.passphrase_repeat.is_empty());
    assert_eq!(app.warnings(), ["moved"]);
    let effects = drain(&mut app);
    // The protocol client of the identity starts first, then the connection.
    let [
        Effect::Net(NetCommand::Open(o)),
        Effect::Net(NetCommand::Connect(p)),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        o.identity.fingerprint(),
        crate::test_identity(0).fingerprint()
    );
    assert_eq!(o.display_name, "Alice");
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
    app.handle_job(unlocked(ContactBook::default(), vec![], vec![]));
    let effects = drain(&mut app);
    let Some(Effect::Net(NetCommand::Connect(p))) = effects.last() else {
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
    app.handle_job(unlocked(book_with_bob(true), vec![], vec![]));
    // Every contact is approved when the protocol client starts: no round trip later.
    assert_eq!(opened(&drain(&mut app)).unwrap().approved, [fp(1)]);
    app.handle_net(secure(fp(1), true));
    let effects = drain(&mut app);
    assert!(approvals(&effects).is_empty(), "approved already");
    assert_eq!(app.status().text, "🔒 Secure with Bob ✔ verified");
    assert_eq!(app.status().tone, Tone::Good);
    assert_eq!(app.window_title(), "Bob (verified) — e2e-chat");
    let saved = saved_contacts(&effects).unwrap();
    assert!(saved.get(&fp(1)).unwrap().rooms.contains("remote-test"));
    // Were the client not to know it (the book and the client disagree), the app approves it.
    app.handle_net(NetEvent::PeerLeft);
    app.handle_net(secure(fp(1), false));
    assert_eq!(approvals(&drain(&mut app)), [fp(1)]);
    assert!(!app.warning_open());
}

#[test]
fn a_new_identity_in_a_new_room_is_a_new_contact_approved_at_once() {
    let mut app = connected(ContactBook::default(), vec![]);
    app.handle_net(session(fp(7)));
    let effects = drain(&mut app);
    assert_eq!(approvals(&effects), [fp(7)]);
    assert!(app.status().text.contains("(not verified)"));
    // The name it gives becomes its petname.
    app.handle_net(NetEvent::PeerName {
        from: fp(7),
        name: "Carol".into(),
    });
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
    app.handle_net(NetEvent::PeerName {
        from: fp(2),
        name: "Bob".into(),
    });
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
    app.handle_net(secure(fp(1), true));
    assert!(approvals(&drain(&mut app)).is_empty());
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
fn sending_shows_the_message_under_its_protocol_id_with_each_state() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    app.draft = "hello Bob\nsecond line".into();
    app.send_draft();
    assert!(app.draft.is_empty());
    let effects = drain(&mut app);
    let [
        Effect::Net(NetCommand::Send {
            contact,
            local,
            text,
            ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!((*contact, text.as_str()), (fp(1), "hello Bob\nsecond line"));
    // Shown once the protocol client named it, not before.
    assert_eq!(app.conversation(&fp(1)).unwrap().messages().count(), 0);
    let id = MessageId::from_parts(7, 1);
    app.handle_net(NetEvent::Queued {
        contact: fp(1),
        local: *local,
        id,
    });
    assert_eq!(history_saves(&drain(&mut app), fp(1)), 1);
    let state = |app: &App| {
        app.conversation(&fp(1))
            .unwrap()
            .messages()
            .find(|m| m.id == id)
            .unwrap()
            .state
            .clone()
    };
    assert_eq!(state(&app), Some(SendState::Sending));
    for s in [SendState::Sent, SendState::Delivered] {
        app.handle_net(NetEvent::MessageState {
            contact: fp(1),
            id,
            state: s.clone(),
        });
        assert_eq!(state(&app), Some(s));
        assert_eq!(
            history_saves(&drain(&mut app), fp(1)),
            1,
            "each state is saved"
        );
    }
    // A late "waiting" does not undo a delivery.
    app.handle_net(NetEvent::MessageState {
        contact: fp(1),
        id,
        state: SendState::WaitingForPeer,
    });
    assert_eq!(state(&app), Some(SendState::Delivered));
}

#[test]
fn to_an_absent_contact_a_message_waits_and_the_app_says_they_are_offline() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    app.handle_net(NetEvent::PeerLeft);
    app.handle_net(NetEvent::Waiting);
    assert_eq!(
        app.offline_notice().as_deref(),
        Some("Bob is offline: messages will be sent when they are back.")
    );
    assert!(app.can_send());
    app.draft = "for later".into();
    let id = send_and_queue(&mut app, 1);
    app.handle_net(NetEvent::MessageState {
        contact: fp(1),
        id,
        state: SendState::WaitingForPeer,
    });
    let last = |app: &App| {
        app.conversation(&fp(1))
            .unwrap()
            .messages()
            .last()
            .unwrap()
            .clone()
    };
    assert_eq!(
        (last(&app).text.as_str(), last(&app).state),
        ("for later", Some(SendState::WaitingForPeer))
    );
    // Bob back: sent, then delivered.
    app.handle_net(secure(fp(1), true));
    assert_eq!(app.offline_notice(), None);
    app.handle_net(NetEvent::MessageState {
        contact: fp(1),
        id,
        state: SendState::Sent,
    });
    assert_eq!(last(&app).state, Some(SendState::Sent));
    // With the relay lost, we are the ones offline.
    app.handle_net(NetEvent::RelayLost {
        reason: "timed out".into(),
        retrying_in: Duration::from_secs(1),
    });
    assert!(app.offline_notice().unwrap().starts_with("You are offline"));
    // An identity that is no contact gets no such promise.
    app.select(fp(9));
    assert_eq!(app.offline_notice(), None);
}

#[test]
fn a_message_the_protocol_refuses_is_shown_failed_with_its_reason() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(session(fp(1)));
    drain(&mut app);
    let long = "x".repeat(sans_io_proto::session::MAX_TEXT_LEN + 1);
    app.draft = long.clone();
    app.send_draft();
    let effects = drain(&mut app);
    let [(local, _)] = sends(&effects)[..] else {
        panic!("{effects:?}")
    };
    app.handle_net(NetEvent::SendRefused {
        contact: fp(1),
        local,
        reason: "message is 16385 bytes; the limit is 16384".into(),
    });
    let m = app
        .conversation(&fp(1))
        .unwrap()
        .messages()
        .last()
        .unwrap()
        .clone();
    assert_eq!(m.id, local);
    assert_eq!(
        m.state,
        Some(SendState::Failed(
            "message is 16385 bytes; the limit is 16384".into()
        ))
    );
    // The text is back in the compose box, to shorten it.
    assert_eq!(app.draft, long);
    assert_eq!(history_saves(&drain(&mut app), fp(1)), 1);
    // An answer about nothing the app sent changes nothing.
    app.handle_net(NetEvent::Queued {
        contact: fp(1),
        local: MessageId::from_parts(1, 1),
        id: MessageId::from_parts(7, 7),
    });
    assert_eq!(app.conversation(&fp(1)).unwrap().messages().count(), 1);
}

#[test]
fn unsent_messages_of_a_history_without_a_delivery_record_are_queued_again_in_place() {
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
    app.handle_job(unlocked(
        book_with_bob(false),
        vec![(fp(1), c.messages().cloned().collect())],
        vec![],
    ));
    let effects = drain(&mut app);
    let queued = sends(&effects);
    assert_eq!(
        queued.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["queued"]
    );
    // Opened before the queue, so the client restores before it sends.
    let open = effects
        .iter()
        .position(|e| matches!(e, Effect::Net(NetCommand::Open(_))))
        .unwrap();
    let send = effects
        .iter()
        .position(|e| matches!(e, Effect::Net(NetCommand::Send { .. })))
        .unwrap();
    assert!(open < send);
    // The protocol's id replaces the old one in place: one line, not two.
    let id = MessageId::from_parts(7, 1);
    app.handle_net(NetEvent::Queued {
        contact: fp(1),
        local: queued[0].0,
        id,
    });
    let texts: Vec<(MessageId, String)> = app
        .conversation(&fp(1))
        .unwrap()
        .messages()
        .map(|m| (m.id, m.text.clone()))
        .collect();
    assert_eq!(
        texts,
        [
            (id, "queued".to_owned()),
            (MessageId::from_parts(5, 2), "done".to_owned())
        ]
    );
}

/// A stored delivery state of Alice's conversation with Bob whose outbox holds `waiting`.
fn delivery_state(waiting: &[&str]) -> (u64, Zeroizing<Vec<u8>>, Vec<MessageId>) {
    let mut rng = rand::rngs::OsRng;
    let mut conv = sans_io_proto::delivery::Conversation::new(fp(1), &mut rng);
    let ids = waiting
        .iter()
        .map(|t| MessageId::from(conv.queue_text(t, T0).unwrap()))
        .collect();
    (conv.own_stream(), conv.encode(), ids)
}

#[test]
fn after_a_restart_the_outbox_is_not_queued_twice_and_the_history_follows_it() {
    let (stream, state, ids) = delivery_state(&["still waiting", "written, then a crash"]);
    // The history knew the first (as sent), and one more that has since been acknowledged.
    let mut c = Conversation::new(fp(1));
    c.push_mine(
        MessageId::from_parts(stream, 100),
        "acknowledged",
        T0,
        Timer::Off,
        SendState::Sent,
    );
    c.push_mine(ids[0], "still waiting", T0, Timer::Off, SendState::Sent);
    let mut app = new_app();
    app.connect();
    drain(&mut app);
    app.handle_job(unlocked(
        book_with_bob(false),
        vec![(fp(1), c.messages().cloned().collect())],
        vec![(fp(1), state.clone())],
    ));
    let effects = drain(&mut app);
    assert!(
        sends(&effects).is_empty(),
        "the client's outbox resends them"
    );
    assert_eq!(
        opened(&effects).unwrap().states[0].1.as_slice(),
        state.as_slice()
    );
    assert_eq!(history_saves(&effects, fp(1)), 1);
    let states: Vec<(String, Option<SendState>)> = app
        .conversation(&fp(1))
        .unwrap()
        .messages()
        .map(|m| (m.text.clone(), m.state.clone()))
        .collect();
    assert_eq!(
        states,
        [
            ("acknowledged".to_owned(), Some(SendState::Delivered)),
            ("still waiting".to_owned(), Some(SendState::WaitingForPeer)),
            (
                "written, then a crash".to_owned(),
                Some(SendState::WaitingForPeer)
            ),
        ]
    );
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
    // Only with a contact.
    app.request_timer(fp(9), Timer::Secs30);
    assert!(app.error().unwrap().contains("only be set with a contact"));
    // Bob is away: the change is queued like a message (PROTOCOL.md §7.7).
    app.request_timer(fp(1), Timer::Secs30);
    let effects = drain(&mut app);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Net(NetCommand::SetTimer {
            secs: 30,
            at_ms: T0,
            ..
        })]
    ));
    app.select(fp(1));
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
    // The sender's timer travels with each message and decides when it goes.
    message(
        &mut app,
        fp(1),
        2,
        "sent before Bob's app heard of the timer: kept",
    );
    app.handle_net(NetEvent::Message {
        from: fp(1),
        id: MessageId::from_parts(99, 1),
        text: "burn after reading".into(),
        sent_at_ms: T0,
        expire_secs: 30,
    });
    assert_eq!(app.poll_timeout(), Some(T0 + 30_000));
    drain(&mut app);
    app.handle_timeout(T0 + 29_999);
    assert_eq!(history_saves(&drain(&mut app), fp(1)), 0);
    app.handle_timeout(T0 + 30_000);
    let effects = drain(&mut app);
    assert_eq!(app.selected().unwrap().messages().count(), 1);
    // The rewritten history no longer holds it.
    let plain = effects
        .iter()
        .find_map(|e| match e {
            Effect::Save(SaveOp::History { plaintext, .. }) => Some(plaintext.clone()),
            _ => None,
        })
        .unwrap();
    let left: Vec<String> = Conversation::decode_history(&plain)
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(left, ["sent before Bob's app heard of the timer: kept"]);
    // A value outside the menu, set by another app, is honoured and named.
    app.handle_net(NetEvent::TimerChanged {
        contact: fp(1),
        secs: 45,
        by_peer: true,
    });
    assert_eq!(app.contacts().get(&fp(1)).unwrap().timer, Timer::Other(45));
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text.starts_with("Bob set disappearing messages to 45 seconds"))));
    // Our own change, echoed by the client, says "You".
    app.handle_net(NetEvent::TimerChanged {
        contact: fp(1),
        secs: 0,
        by_peer: false,
    });
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text == "You turned disappearing messages off.")));
    // Above the protocol's one-year limit: ignored.
    app.handle_net(NetEvent::TimerChanged {
        contact: fp(1),
        secs: u32::MAX,
        by_peer: true,
    });
    assert_eq!(app.contacts().get(&fp(1)).unwrap().timer, Timer::Off);
    // A refused change is reported.
    app.handle_net(NetEvent::TimerRefused {
        contact: fp(1),
        reason: "1000 messages already wait".into(),
    });
    assert!(app.error().unwrap().contains("1000 messages already wait"));
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
    app.handle_job(unlocked(
        book_with_bob(false),
        vec![(fp(1), c.messages().cloned().collect())],
        vec![],
    ));
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
    // Recorded in memory: confirmed to the protocol client at once.
    assert_eq!(confirms(&effects), [MessageId::from_parts(99, 1)]);
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
    app.handle_net(NetEvent::PeerName {
        from: fp(1),
        name: "Alice\n12:00 You: \u{202E}hi".into(),
    });
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

// ---- protocol v2: approval policy, key exchanges, delivery ------------------------------------

/// An app that asked for `asked` (where `book` may have met someone) and was redirected to
/// `given`.
fn redirected(book: ContactBook, asked: &str, given: &str) -> App {
    let mut app = new_app();
    app.form.room = asked.into();
    app.connect();
    drain(&mut app);
    app.handle_job(unlocked(book, vec![], vec![]));
    drain(&mut app);
    app.handle_net(NetEvent::Connected { local_relay: false });
    app.handle_net(NetEvent::Redirected {
        from: asked.into(),
        to: given.into(),
    });
    app.handle_net(NetEvent::Joined { room: given.into() });
    app
}

#[test]
fn a_redirect_to_a_fresh_room_does_not_make_a_stranger_in_bobs_room_a_new_contact() {
    // Bob was met in "demo". The relay says "demo" is full and seats us in "demo-2", where
    // nobody was ever met, and a stranger arrives: judged by the room asked for, it is "not Bob".
    let mut app = redirected(book_with_bob(true), "demo", "demo-2");
    assert_eq!(app.room(), Some("demo-2"));
    app.handle_net(session(fp(2)));
    let effects = drain(&mut app);
    assert!(
        approvals(&effects).is_empty(),
        "approved behind the user's back"
    );
    assert!(app.warning_open());
    assert!(
        app.status()
            .text
            .contains("not Bob, whom you met in this room")
    );
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.level == NoticeLevel::Warning && n.text.contains("room \"demo\""))));
    // Accepted, it is recorded as met in the room asked for.
    app.accept_peer();
    let book = saved_contacts(&drain(&mut app)).unwrap();
    assert!(book.get(&fp(2)).unwrap().rooms.contains("demo"));
    assert_eq!(book.met_in("demo"), Some(fp(2)));
}

#[test]
fn a_new_identity_in_a_room_where_nobody_was_met_is_approved_even_after_a_redirect() {
    let mut app = redirected(book_with_bob(true), "lunch", "lunch-2");
    app.handle_net(session(fp(3)));
    let effects = drain(&mut app);
    assert_eq!(approvals(&effects), [fp(3)]);
    assert!(!app.warning_open());
    let book = saved_contacts(&effects).unwrap();
    assert!(book.get(&fp(3)).unwrap().rooms.contains("lunch"));
    assert_eq!(
        book.met_in("lunch-2"),
        None,
        "the relay's room is not the user's"
    );
}

#[test]
fn suspended_key_exchanges_explain_the_probing_and_wait_for_try_again() {
    let mut app = connected(book_with_bob(false), vec![]);
    for recent in 1..=2 {
        app.handle_net(NetEvent::KeyExchangeStarted);
        app.handle_net(NetEvent::KeyExchangeAborted {
            identity_revealed: recent == 2,
            recent,
        });
    }
    let note = app.exchange_note().unwrap().to_owned();
    assert!(
        note.starts_with(
            "A key exchange was cut off before it completed (2 in the last 10 minutes)."
        )
    );
    assert!(note.contains("Your identity had already been sent in it"));
    app.handle_net(NetEvent::KeyExchangesSuspended { recent: 3 });
    assert_eq!(*app.phase(), Phase::Suspended { recent: 3 });
    assert_eq!(app.status().tone, Tone::Warning);
    assert_eq!(app.status().text, "⚠ Key exchanges paused");
    let words = suspension_words(3);
    assert!(words.contains("3 key exchanges in the last 10 minutes"));
    assert!(words.contains("may be probing who you are"));
    assert!(words.contains("Try again"));
    // The relay's room events do not lift it.
    app.handle_net(NetEvent::PeerLeft);
    app.handle_net(NetEvent::Waiting);
    assert_eq!(*app.phase(), Phase::Suspended { recent: 3 });
    assert!(drain(&mut app).is_empty());
    // Only the user does.
    app.try_again();
    assert!(matches!(
        drain(&mut app).as_slice(),
        [Effect::Net(NetCommand::ResumeKeyExchanges)]
    ));
    assert_eq!(*app.phase(), Phase::Waiting);
    assert_eq!(app.exchange_note(), None);
    // Try again outside a stop does nothing.
    app.try_again();
    assert!(drain(&mut app).is_empty());
}

#[test]
fn a_peer_on_protocol_1_is_named_and_not_retried_other_failures_are() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(NetEvent::KeyExchangeFailed {
        reason: "handshake authentication failed".into(),
        peer_version: None,
        retrying: true,
        identity_revealed: false,
        recent: 1,
    });
    assert_eq!(*app.phase(), Phase::ExchangingKeys);
    let note = app.exchange_note().unwrap();
    assert!(note.contains("(handshake authentication failed); trying again"));
    assert!(note.contains("Your identity had not been sent in it."));
    app.handle_net(NetEvent::KeyExchangeFailed {
        reason: "the peer speaks end-to-end protocol version 1".into(),
        peer_version: Some(1),
        retrying: false,
        identity_revealed: false,
        recent: 2,
    });
    let Phase::ExchangeFailed { reason } = app.phase().clone() else {
        panic!("{:?}", app.phase())
    };
    assert!(reason.contains("protocol 1") && reason.contains("ask them to update"));
    app.try_again();
    assert!(matches!(
        drain(&mut app).as_slice(),
        [Effect::Net(NetCommand::ResumeKeyExchanges)]
    ));
    // A secure session clears the note.
    app.handle_net(secure(fp(1), true));
    assert_eq!(app.exchange_note(), None);
}

#[test]
fn a_shown_message_is_confirmed_only_once_its_history_is_on_disk() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(secure(fp(1), true));
    drain(&mut app);
    message(&mut app, fp(1), 1, "one");
    message(&mut app, fp(1), 2, "two");
    let effects = drain(&mut app);
    assert!(
        confirms(&effects).is_empty(),
        "confirmed before it was recorded"
    );
    assert_eq!(
        history_confirms(&effects),
        [MessageId::from_parts(99, 1), MessageId::from_parts(99, 2)]
    );
    // The storage worker wrote them: now the protocol client may forget them.
    app.handle_job(JobResult::HistorySaved {
        contact: fp(1),
        confirm: vec![MessageId::from_parts(99, 1), MessageId::from_parts(99, 2)],
    });
    let effects = drain(&mut app);
    assert!(matches!(effects.as_slice(),
        [Effect::Net(NetCommand::ConfirmShown { contact, ids })]
            if *contact == fp(1) && ids.len() == 2));
    // A failed write confirms nothing (the message is shown again after a restart).
    message(&mut app, fp(1), 3, "three");
    drain(&mut app);
    app.handle_job(JobResult::SaveFailed("disk full".into()));
    assert!(confirms(&drain(&mut app)).is_empty());
}

#[test]
fn a_message_shown_again_after_a_restart_appears_once_and_is_confirmed() {
    let mut c = Conversation::new(fp(1));
    c.push_peer(
        MessageId::from_parts(99, 1),
        "recorded before the crash",
        T0,
        T0,
        Timer::Off,
    );
    let mut app = connected(
        book_with_bob(false),
        vec![(fp(1), c.messages().cloned().collect())],
    );
    app.select(fp(1));
    app.set_focused(false);
    drain(&mut app);
    // The protocol client shows again what it never heard was recorded.
    message(&mut app, fp(1), 1, "recorded before the crash");
    message(&mut app, fp(1), 2, "never recorded");
    let texts: Vec<String> = app
        .selected()
        .unwrap()
        .messages()
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(texts, ["recorded before the crash", "never recorded"]);
    assert_eq!(app.selected().unwrap().unread, 1, "the old one is not new");
    let effects = drain(&mut app);
    let notifications = effects
        .iter()
        .filter(|e| matches!(e, Effect::Notify { .. }))
        .count();
    assert_eq!(notifications, 1, "no notification for the old one");
    assert_eq!(
        history_confirms(&effects),
        [MessageId::from_parts(99, 1), MessageId::from_parts(99, 2)]
    );
}

#[test]
fn a_resumed_session_keeps_its_verification_and_needs_no_approval() {
    let mut app = connected(book_with_bob(true), vec![]);
    app.handle_net(secure(fp(1), true));
    let before = app.peer().unwrap().verification.clone();
    app.handle_net(NetEvent::PeerLeft);
    app.handle_net(NetEvent::Waiting);
    app.handle_net(NetEvent::KeyExchangeStarted);
    drain(&mut app);
    app.handle_net(NetEvent::Resumed {
        peer: fp(1),
        approved: true,
    });
    assert_eq!(*app.phase(), Phase::Secure);
    assert_eq!(app.peer().unwrap().verification, before);
    assert_eq!(app.status().text, "🔒 Secure with Bob ✔ verified");
    assert!(approvals(&drain(&mut app)).is_empty());
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text.contains("same secure session goes on"))));
    // A resumption of nothing this run saw is ignored.
    app.handle_net(NetEvent::Resumed {
        peer: fp(5),
        approved: true,
    });
    assert_eq!(app.peer().unwrap().fingerprint(), fp(1));
}

#[test]
fn unsupported_messages_storage_and_restore_failures_are_told() {
    let mut app = connected(book_with_bob(false), vec![]);
    app.handle_net(secure(fp(1), true));
    drain(&mut app);
    app.handle_net(NetEvent::Unsupported {
        from: fp(1),
        id: MessageId::from_parts(99, 9),
        kind: 0x21,
    });
    assert!(app.selected().unwrap().entries().iter().any(|e| matches!(e,
        Entry::Notice(n) if n.text.contains("cannot show (type 0x21)"))));
    assert_eq!(confirms(&drain(&mut app)), [MessageId::from_parts(99, 9)]);
    app.handle_net(NetEvent::StorageFailed("No space left on device".into()));
    assert!(app.error().unwrap().contains("could not be saved"));
    assert!(app.error().unwrap().contains("No space left on device"));
    app.handle_net(NetEvent::RestoreFailed {
        contact: fp(1),
        reason: "damaged".into(),
    });
    assert!(
        app.warnings()
            .iter()
            .any(|w| w.contains("with Bob could not be restored"))
    );
}
