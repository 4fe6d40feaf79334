//! The protocol client and what the app hears of it, with no sockets, threads or clock inside:
//! the network task ([`super::run`]) feeds it the connection's bytes and events and carries out
//! what it returns through [`Io`]; the tests below drive two of them through an in-memory relay.
//!
//! One [`Client`] per unlocked identity lives as long as the app: it keeps the outbox, the inbox
//! and the trust gate across connections (PROTOCOL.md §7). The driver keeps none of its own. It
//! upholds the client's one ordering rule: every `Output::Persist` is stored before the next output
//! is handled (§7.5, §7.10), so nothing shown or acknowledged is lost or shown twice after a crash.
//! If a state cannot be stored, nothing more may be acknowledged: the driver drops the connection
//! (the client forgets its queued frames) and keeps the state to write again before the next one.

use std::collections::BTreeMap;
use std::time::Instant;

use rand_core::CryptoRngCore;
use sans_io_proto::frame::{ErrorCode, RoomName};
use sans_io_proto::handshake::HandshakeError;
use sans_io_proto::{Client, ClientConfig, Event, Fingerprint, IdentityKeyPair, Output};
use zeroize::Zeroizing;

use super::NetEvent;
use crate::model::{MessageId, PeerSession};

/// Where the driver's outputs go.
pub(crate) trait Io {
    /// Bytes for the relay connection, in order (written after the current step).
    fn transmit(&mut self, bytes: Vec<u8>);
    /// Stores a delivery state, sealed and atomically, before anything else happens.
    fn persist(&mut self, peer: &Fingerprint, state: &[u8]) -> Result<(), String>;
    /// An event for the app.
    fn emit(&mut self, event: NetEvent);
}

/// What the driver needs to start a client.
pub(crate) struct Opening<'a> {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) display_name: &'a str,
    /// Stored delivery states, by the contact whose file held them.
    pub(crate) states: &'a [(Fingerprint, Zeroizing<Vec<u8>>)],
    /// Every identity the user accepted as a contact (§7.6).
    pub(crate) approved: &'a [Fingerprint],
}

/// The long-lived protocol client of one identity and the mapping of its events.
pub(crate) struct Driver<R> {
    client: Client<R>,
    /// Delivery states that could not be stored (latest per peer): written again before the next
    /// connection.
    unsaved: BTreeMap<Fingerprint, Zeroizing<Vec<u8>>>,
    /// Why the connection must be dropped (a state could not be stored), until the task did.
    drop_connection: Option<String>,
}

impl<R: CryptoRngCore> Driver<R> {
    /// A client for `opening.identity`: its stored conversations restored (the messages shown but
    /// never confirmed are shown again: the app recognises their ids) and its contacts approved,
    /// all before any connection.
    pub(crate) fn open(opening: Opening<'_>, rng: R, now: Instant, io: &mut dyn Io) -> Self {
        let name = opening.display_name.trim();
        let config = ClientConfig {
            display_name: (!name.is_empty()).then(|| name.to_owned()),
            resume: true,
        };
        let mut client = Client::new(opening.identity, config, rng, now);
        for (contact, state) in opening.states {
            // A state is restored only into the conversation of the contact its file is named
            // after (PROTOCOL.md §10.3): checked before the client takes it.
            let peer = sans_io_proto::delivery::Conversation::decode(state).map(|c| *c.peer());
            if peer.as_ref().is_ok_and(|p| p != contact) {
                io.emit(NetEvent::RestoreFailed {
                    contact: *contact,
                    reason: "the file holds another contact's state".into(),
                });
                continue;
            }
            if let Err(e) = client.restore_conversation(state) {
                io.emit(NetEvent::RestoreFailed {
                    contact: *contact,
                    reason: e.to_string(),
                });
            }
        }
        for fp in opening.approved {
            client.approve(fp, now);
        }
        let mut driver = Driver {
            client,
            unsaved: BTreeMap::new(),
            drop_connection: None,
        };
        driver.pump(io, now);
        driver
    }

    /// The protocol client (read only).
    pub(crate) fn client(&self) -> &Client<R> {
        &self.client
    }

    /// When [`Self::timeout`] is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout()
    }

    /// Whether delivery states wait to be stored again.
    pub(crate) fn has_unsaved(&self) -> bool {
        !self.unsaved.is_empty()
    }

    /// Why the connection must be dropped now, once.
    pub(crate) fn take_drop_connection(&mut self) -> Option<String> {
        self.drop_connection.take()
    }

    // ---- the connection -------------------------------------------------------------------------

    /// A relay connection is up (the client joins its room).
    pub(crate) fn connected(&mut self, now: Instant, io: &mut dyn Io) {
        self.client.handle_connected(now);
        self.pump(io, now);
    }

    /// The connection is gone.
    pub(crate) fn disconnected(&mut self, now: Instant, io: &mut dyn Io) {
        self.client.handle_disconnected(now);
        self.pump(io, now);
    }

    /// Bytes from the relay.
    pub(crate) fn input(&mut self, bytes: &[u8], now: Instant, io: &mut dyn Io) {
        self.client.handle_input(bytes, now);
        self.pump(io, now);
    }

    /// The time came.
    pub(crate) fn timeout(&mut self, now: Instant, io: &mut dyn Io) {
        self.client.handle_timeout(now);
        self.pump(io, now);
    }

    // ---- the app's commands ---------------------------------------------------------------------

    /// The room to be in (asked for again after every reconnect).
    pub(crate) fn join(&mut self, room: RoomName, now: Instant, io: &mut dyn Io) {
        self.client.join(room);
        self.pump(io, now);
    }

    /// Leaves the room; the session is destroyed (no resumption).
    pub(crate) fn leave(&mut self, now: Instant, io: &mut dyn Io) {
        self.client.leave(now);
        self.pump(io, now);
    }

    /// Queues a text: the app hears its id ([`NetEvent::Queued`]) before any state of it, or why
    /// it was refused ([`NetEvent::SendRefused`]).
    pub(crate) fn send(
        &mut self,
        contact: Fingerprint,
        local: MessageId,
        text: &str,
        sent_at_ms: u64,
        now: Instant,
        io: &mut dyn Io,
    ) {
        match self.client.send_text(&contact, text, sent_at_ms, now) {
            Ok(id) => {
                // The state holding the message is stored (and the message possibly sent) first;
                // the app hears its id before its first state.
                let mut deferred = Deferred {
                    inner: io,
                    events: Vec::new(),
                };
                self.pump(&mut deferred, now);
                let Deferred { inner, events } = deferred;
                inner.emit(NetEvent::Queued {
                    contact,
                    local,
                    id: id.into(),
                });
                for e in events {
                    inner.emit(e);
                }
            }
            Err(e) => {
                io.emit(NetEvent::SendRefused {
                    contact,
                    local,
                    reason: e.to_string(),
                });
                self.pump(io, now);
            }
        }
    }

    /// The app approved this identity (§7.6).
    pub(crate) fn approve(&mut self, fp: &Fingerprint, now: Instant, io: &mut dyn Io) {
        self.client.approve(fp, now);
        self.pump(io, now);
    }

    /// The app recorded these shown messages (§7.5).
    pub(crate) fn confirm_shown(
        &mut self,
        contact: &Fingerprint,
        ids: &[MessageId],
        now: Instant,
        io: &mut dyn Io,
    ) {
        let ids: Vec<sans_io_proto::MessageId> = ids.iter().map(|id| id.to_protocol()).collect();
        self.client.confirm_shown(contact, &ids);
        self.pump(io, now);
    }

    /// Changes a conversation's disappearing-messages timer (§7.7).
    pub(crate) fn set_timer(
        &mut self,
        contact: &Fingerprint,
        secs: u32,
        at_ms: u64,
        now: Instant,
        io: &mut dyn Io,
    ) {
        if let Err(e) = self.client.set_timer(contact, secs, at_ms, now) {
            io.emit(NetEvent::TimerRefused {
                contact: *contact,
                reason: e.to_string(),
            });
        }
        self.pump(io, now);
    }

    /// After a suspension or a failed key exchange: the user asks to try again (§5.10).
    pub(crate) fn resume_key_exchanges(&mut self, now: Instant, io: &mut dyn Io) {
        self.client.resume_key_exchanges(now);
        self.pump(io, now);
    }

    /// Writes the states that could not be stored. Whether all are stored now.
    pub(crate) fn store_unsaved(&mut self, io: &mut dyn Io) -> Result<(), String> {
        while let Some((peer, state)) = self.unsaved.pop_first() {
            if let Err(e) = io.persist(&peer, &state) {
                self.unsaved.insert(peer, state);
                return Err(e);
            }
        }
        Ok(())
    }

    // ---- outputs --------------------------------------------------------------------------------

    /// Handles every output of the client, in order: a Persist is stored before the next output.
    pub(crate) fn pump(&mut self, io: &mut dyn Io, now: Instant) {
        while let Some(out) = self.client.poll_output() {
            match out {
                Output::Transmit(bytes) => io.transmit(bytes),
                Output::Persist { peer, state } => match io.persist(&peer, &state) {
                    Ok(()) => {
                        // The latest state supersedes one that failed before.
                        self.unsaved.remove(&peer);
                    }
                    Err(reason) => {
                        self.unsaved.insert(peer, state);
                        if self.drop_connection.is_none() {
                            io.emit(NetEvent::StorageFailed(reason.clone()));
                            self.drop_connection = Some(reason);
                        }
                        // Nothing more may reach the relay: an Ack for what is not stored would
                        // lose it after a crash. The client forgets its queued frames.
                        self.client.handle_disconnected(now);
                    }
                },
                Output::Event(event) => {
                    if let Some(e) = map_event(event) {
                        io.emit(e);
                    }
                }
            }
        }
    }
}

/// Passes frames and states through at once and holds the events back.
struct Deferred<'a> {
    inner: &'a mut dyn Io,
    events: Vec<NetEvent>,
}

impl Io for Deferred<'_> {
    fn transmit(&mut self, bytes: Vec<u8>) {
        self.inner.transmit(bytes);
    }

    fn persist(&mut self, peer: &Fingerprint, state: &[u8]) -> Result<(), String> {
        self.inner.persist(peer, state)
    }

    fn emit(&mut self, event: NetEvent) {
        self.events.push(event);
    }
}

/// What the app hears of a protocol event.
fn map_event(event: Event) -> Option<NetEvent> {
    Some(match event {
        Event::Joined { room, .. } => NetEvent::Joined {
            room: room.as_str().to_owned(),
        },
        Event::Redirected { from, to } => NetEvent::Redirected {
            from: from.as_str().to_owned(),
            to: to.as_str().to_owned(),
        },
        Event::WaitingForPeer => NetEvent::Waiting,
        Event::PeerLeft => NetEvent::PeerLeft,
        Event::KeyExchangeStarted => NetEvent::KeyExchangeStarted,
        Event::KeyExchangeAborted {
            identity_revealed,
            recent,
        } => NetEvent::KeyExchangeAborted {
            identity_revealed,
            recent,
        },
        Event::KeyExchangesSuspended { recent } => NetEvent::KeyExchangesSuspended { recent },
        Event::KeyExchangeFailed {
            error,
            retrying,
            identity_revealed,
            recent,
        } => NetEvent::KeyExchangeFailed {
            peer_version: match error {
                HandshakeError::PeerVersion(v) => Some(v),
                _ => None,
            },
            reason: error.to_string(),
            retrying,
            identity_revealed,
            recent,
        },
        Event::Secure(info) => NetEvent::Secure {
            session: Box::new(PeerSession::new(
                info.peer.fingerprint(),
                &info.safety_number,
                &info.sas,
                &info.key_visual,
            )),
            approved: info.approved,
        },
        Event::Resumed { peer, approved } => NetEvent::Resumed { peer, approved },
        Event::Message {
            from,
            id,
            sent_at_ms,
            expire_secs,
            text,
        } => NetEvent::Message {
            from,
            id: id.into(),
            text,
            sent_at_ms,
            expire_secs,
        },
        Event::UnsupportedMessage { from, id, kind } => NetEvent::Unsupported {
            from,
            id: id.into(),
            kind,
        },
        Event::MessageState { to, id, state } => NetEvent::MessageState {
            contact: to,
            id: id.into(),
            state: state.into(),
        },
        Event::TimerChanged { with, setting } => NetEvent::TimerChanged {
            contact: with,
            secs: setting.expire_secs,
            by_peer: setting.source == sans_io_proto::delivery::TimerSource::Peer,
        },
        Event::PeerName { from, name } => NetEvent::PeerName { from, name },
        Event::Rejected { error } => {
            if error.is_duplicate() {
                return None;
            }
            NetEvent::Rejected
        }
        Event::RelayError { code, message } => {
            // Sent when we leave a room the relay already took us out of: nothing to tell.
            if code == ErrorCode::NotInRoom {
                return None;
            }
            NetEvent::RelayError(format!("{message} ({code:?})"))
        }
        Event::RelayProtocolViolation { reason } => NetEvent::RelayViolation(reason),
    })
}

#[cfg(test)]
mod tests;
