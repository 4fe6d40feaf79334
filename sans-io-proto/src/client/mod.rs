//! The client: one sans-IO state machine per relay connection, combining the relay framing
//! (PROTOCOL.md §3), the handshake (§5) and the session (§6).
//!
//! The driver (the desktop app's tokio task, or the simulator) runs the loop that str0m documents:
//!
//! ```text
//! loop {
//!     while let Some(out) = client.poll_output() { Transmit(bytes) -> write to the stream,
//!                                                  Event(e)       -> show it }
//!     wait for: bytes from the stream -> client.handle_input(&bytes, now)
//!               a user action        -> client.join(..) / client.send_text(..)
//!               client.poll_timeout() -> client.handle_timeout(now)
//! }
//! ```
//!
//! The client owns its RNG (any `CryptoRngCore`; the app passes the OS generator, the simulator a
//! seeded one) and never reads a clock: every entry point takes `now`.

mod event;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

pub use event::{Event, Output, SecureInfo};

use crate::envelope;
use crate::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName};
use crate::handshake::{Handshake, HandshakeError};
use crate::identity::IdentityKeyPair;
use crate::session::{Content, EncryptError, Session};

/// How often the client pings the relay to keep the connection (and its idle timer) alive.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// After a failed key exchange, the later joiner (seat 1) rejoins after this delay ...
pub const RETRY_DELAY_SEAT_1: Duration = Duration::from_secs(1);
/// ... and the earlier one (seat 0) only if nothing happened for this long.
pub const RETRY_DELAY_SEAT_0: Duration = Duration::from_secs(5);
/// Consecutive failed key exchanges after which the client stops retrying by itself.
pub const MAX_RETRIES: u32 = 3;

/// Client settings.
#[derive(Debug, Clone, Default)]
pub struct ClientConfig {
    /// Our display name, sent to the peer inside the session (never to the relay).
    pub display_name: Option<String>,
}

/// Why a message could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// There is no secure session (yet): nothing is ever sent in the clear.
    #[error("no secure session with a peer yet")]
    NotSecure,
    /// The message could not be encrypted (e.g. too long).
    #[error(transparent)]
    Encrypt(#[from] EncryptError),
}

/// Where we stand with the peer.
enum Peer {
    /// Not in a room, or alone in it.
    None,
    /// Key exchange in progress.
    Handshaking(Box<Handshake>),
    /// Secure session.
    Secure(Box<Session>),
    /// The last key exchange failed; maybe a rejoin is scheduled.
    Failed { retry_at: Option<Instant> },
}

/// A chat client's protocol state for one relay connection.
pub struct Client<R> {
    identity: IdentityKeyPair,
    config: ClientConfig,
    rng: R,
    decoder: FrameDecoder<RelayFrame>,
    room: Option<RoomName>,
    seat: Option<u8>,
    peer: Peer,
    retries: u32,
    outputs: VecDeque<Output>,
    next_ping: Instant,
    ping_nonce: u64,
    broken: bool,
}

impl<R: CryptoRngCore> Client<R> {
    /// A client with this identity, configuration and RNG.
    pub fn new(identity: IdentityKeyPair, config: ClientConfig, rng: R, now: Instant) -> Self {
        Client {
            identity,
            config,
            rng,
            decoder: FrameDecoder::default(),
            room: None,
            seat: None,
            peer: Peer::None,
            retries: 0,
            outputs: VecDeque::new(),
            next_ping: now + KEEPALIVE_INTERVAL,
            ping_nonce: 0,
            broken: false,
        }
    }

    // ---- getters ------------------------------------------------------------------------------

    /// Our identity.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The room we hold a seat in, if any.
    pub fn room(&self) -> Option<&RoomName> {
        self.room.as_ref()
    }

    /// The secure session, if there is one.
    pub fn session(&self) -> Option<&Session> {
        match &self.peer {
            Peer::Secure(s) => Some(s),
            _ => None,
        }
    }

    /// Whether messages can be sent.
    pub fn is_secure(&self) -> bool {
        matches!(self.peer, Peer::Secure(_))
    }

    /// Whether a key exchange is running.
    pub fn is_exchanging_keys(&self) -> bool {
        matches!(self.peer, Peer::Handshaking(_))
    }

    /// Whether a rejoin after a failed key exchange is scheduled.
    pub fn is_retry_scheduled(&self) -> bool {
        matches!(self.peer, Peer::Failed { retry_at: Some(_) })
    }

    /// Whether the relay broke the framing: the driver must close the connection.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    // ---- commands -----------------------------------------------------------------------------

    /// Asks the relay for a seat in `room`.
    pub fn join(&mut self, room: RoomName) {
        self.retries = 0;
        self.transmit(&ClientFrame::Join { room });
    }

    /// Gives up our seat (the session, if any, is destroyed).
    pub fn leave(&mut self) {
        self.peer = Peer::None;
        self.room = None;
        self.seat = None;
        self.transmit(&ClientFrame::Leave);
    }

    /// Encrypts and queues a text message; returns its sequence number (what
    /// [`Event::Delivered`] will name). `sent_at_ms` is the caller's wall clock.
    pub fn send_text(&mut self, text: &str, sent_at_ms: u64) -> Result<u64, SendError> {
        let Peer::Secure(session) = &mut self.peer else {
            return Err(SendError::NotSecure);
        };
        let out = session.encrypt(&Content::Text(text.to_owned()), sent_at_ms, &mut self.rng)?;
        self.transmit(&ClientFrame::Payload(out.envelope));
        Ok(out.seq)
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// Bytes read from the relay stream (any split).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if self.broken {
            return;
        }
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => self.handle_frame(frame, now),
                Ok(None) => break,
                Err(e) => {
                    self.broken = true;
                    self.peer = Peer::None;
                    self.event(Event::RelayProtocolViolation {
                        reason: e.to_string(),
                    });
                    break;
                }
            }
        }
    }

    /// One decoded frame from the relay.
    pub fn handle_frame(&mut self, frame: RelayFrame, now: Instant) {
        match frame {
            RelayFrame::Joined { room, seat } => {
                self.room = Some(room.clone());
                self.seat = Some(seat);
                self.event(Event::Joined { room, seat });
            }
            RelayFrame::Redirected { from, to } => self.event(Event::Redirected { from, to }),
            RelayFrame::Waiting => {
                self.peer = Peer::None;
                self.event(Event::WaitingForPeer);
            }
            RelayFrame::PeerJoined => self.start_handshake(now),
            RelayFrame::PeerLeft => {
                self.peer = Peer::None;
                self.event(Event::PeerLeft);
            }
            RelayFrame::Payload(bytes) => self.handle_payload(&bytes, now),
            RelayFrame::Pong(_) => {}
            RelayFrame::Error { code, message } => self.event(Event::RelayError { code, message }),
        }
    }

    /// Call at [`Self::poll_timeout`]: keepalive, handshake deadline, scheduled retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next_ping {
            self.ping_nonce = self.ping_nonce.wrapping_add(1);
            self.transmit(&ClientFrame::Ping(self.ping_nonce));
            self.next_ping = now + KEEPALIVE_INTERVAL;
        }
        match &mut self.peer {
            Peer::Handshaking(hs) => {
                if let Err(error) = hs.handle_timeout(now) {
                    self.handshake_failed(error, now);
                }
            }
            Peer::Failed { retry_at: Some(at) } if now >= *at => {
                self.peer = Peer::Failed { retry_at: None };
                if let Some(room) = self.room.clone() {
                    // Leave and rejoin: the relay tells the peer, and both restart from
                    // PeerJoined with fresh values (PROTOCOL.md §5.8).
                    self.transmit(&ClientFrame::Leave);
                    self.transmit(&ClientFrame::Join { room });
                }
            }
            _ => {}
        }
    }

    // ---- outputs ------------------------------------------------------------------------------

    /// The next thing to do: bytes to send or an event to show.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let peer = match &self.peer {
            Peer::Handshaking(hs) => hs.poll_timeout(),
            Peer::Failed { retry_at } => *retry_at,
            _ => None,
        };
        Some(peer.map_or(self.next_ping, |t| t.min(self.next_ping)))
    }

    // ---- internals ----------------------------------------------------------------------------

    fn transmit(&mut self, frame: &ClientFrame) {
        self.outputs.push_back(Output::Transmit(frame.to_bytes()));
    }

    fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn start_handshake(&mut self, now: Instant) {
        let hs = Handshake::new(&self.identity, &mut self.rng, now);
        self.peer = Peer::Handshaking(Box::new(hs));
        self.event(Event::KeyExchangeStarted);
        self.flush_handshake();
    }

    fn flush_handshake(&mut self) {
        let mut frames = Vec::new();
        if let Peer::Handshaking(hs) = &mut self.peer {
            while let Some(envelope) = hs.poll_transmit() {
                frames.push(ClientFrame::Payload(envelope));
            }
        }
        for frame in &frames {
            self.transmit(frame);
        }
    }

    fn handle_payload(&mut self, bytes: &[u8], now: Instant) {
        let kind = match envelope::parse(bytes) {
            Ok((kind, _)) => kind,
            Err(e) => {
                self.event(Event::Rejected {
                    error: crate::session::DecryptError::Ratchet(malformed(e)),
                });
                return;
            }
        };
        match &mut self.peer {
            Peer::Handshaking(hs) => {
                match hs.handle_message(bytes, &mut self.rng) {
                    Ok(()) => {}
                    Err(error) if error.is_fatal() => return self.handshake_failed(error, now),
                    // Duplicates, stale or malformed handshake messages: ignored.
                    Err(_) => {}
                }
                self.flush_handshake();
                self.finish_handshake_if_done();
            }
            Peer::Secure(session) => {
                if kind.is_handshake() {
                    // A late copy of a handshake message: the session is already confirmed.
                    return;
                }
                match session.decrypt(bytes, &mut self.rng) {
                    Ok(incoming) => self.deliver(incoming),
                    Err(error) => self.event(Event::Rejected { error }),
                }
            }
            // Nobody to talk to: a relay bug or a late frame from a departed peer.
            Peer::None | Peer::Failed { .. } => {}
        }
    }

    fn finish_handshake_if_done(&mut self) {
        let Peer::Handshaking(hs) = &mut self.peer else {
            return;
        };
        if !hs.is_established() {
            return;
        }
        let early = hs.take_early_data();
        let Peer::Handshaking(hs) = core::mem::replace(&mut self.peer, Peer::None) else {
            return;
        };
        let session = match hs.into_session() {
            Ok(session) => session,
            Err(hs) => {
                self.peer = Peer::Handshaking(hs);
                return;
            }
        };
        self.retries = 0;
        self.event(Event::Secure(Box::new(SecureInfo {
            peer: session.peer_identity().clone(),
            safety_number: session.safety_number(),
            key_visual: session.key_visual().clone(),
            role: session.role(),
        })));
        self.peer = Peer::Secure(Box::new(session));
        if let Some(name) = self.config.display_name.clone() {
            self.send_content(&Content::Profile(name));
        }
        for envelope in early {
            if let Peer::Secure(session) = &mut self.peer {
                match session.decrypt(&envelope, &mut self.rng) {
                    Ok(incoming) => self.deliver(incoming),
                    Err(error) => self.event(Event::Rejected { error }),
                }
            }
        }
    }

    fn deliver(&mut self, incoming: crate::session::Incoming) {
        match incoming.content {
            Content::Text(text) => {
                self.event(Event::Message {
                    seq: incoming.seq,
                    sent_at_ms: incoming.sent_at_ms,
                    text,
                });
                self.send_content(&Content::Ack(incoming.seq));
            }
            Content::Ack(seq) => self.event(Event::Delivered { seq }),
            Content::Profile(name) => self.event(Event::PeerName { name }),
        }
    }

    /// Sends protocol content (acks, profile); failures only mean the content is not sent.
    fn send_content(&mut self, content: &Content) {
        let Peer::Secure(session) = &mut self.peer else {
            return;
        };
        if let Ok(out) = session.encrypt(content, 0, &mut self.rng) {
            self.transmit(&ClientFrame::Payload(out.envelope));
        }
    }

    fn handshake_failed(&mut self, error: HandshakeError, now: Instant) {
        self.retries += 1;
        let retry_at = match self.seat {
            _ if self.retries > MAX_RETRIES => None,
            Some(1) => Some(now + RETRY_DELAY_SEAT_1),
            Some(_) => Some(now + RETRY_DELAY_SEAT_0),
            None => None,
        };
        self.peer = Peer::Failed { retry_at };
        self.event(Event::KeyExchangeFailed { error });
    }
}

fn malformed(_: crate::envelope::EnvelopeError) -> crate::ratchet::RatchetError {
    crate::ratchet::RatchetError::Malformed
}

impl<R> core::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let peer = match &self.peer {
            Peer::None => "none",
            Peer::Handshaking(_) => "exchanging keys",
            Peer::Secure(_) => "secure",
            Peer::Failed { .. } => "key exchange failed",
        };
        f.debug_struct("Client")
            .field("room", &self.room)
            .field("seat", &self.seat)
            .field("peer", &peer)
            .finish_non_exhaustive()
    }
}
