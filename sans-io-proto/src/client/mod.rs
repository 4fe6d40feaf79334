//! The client: one long-lived sans-IO state machine per user identity, across relay connections,
//! combining the relay framing (PROTOCOL.md §3), the handshake (§5), the session (§6) and the
//! conversation layer (§7: outbox, inbox, trust gate, timer, resumption).
//!
//! The driver (the desktop app's tokio task, or the simulator) runs the loop that str0m documents:
//!
//! ```text
//! loop {
//!     while let Some(out) = client.poll_output() { Transmit(bytes) -> write to the stream,
//!                                                  Persist{..}    -> store it (before going on),
//!                                                  Event(e)       -> show it }
//!     wait for: a connection is up / lost  -> client.handle_connected(now) / handle_disconnected(now)
//!               bytes from the stream      -> client.handle_input(&bytes, now)
//!               a user action              -> client.join(..) / send_text(..) / approve(..) / ...
//!               client.poll_timeout()      -> client.handle_timeout(now)
//! }
//! ```
//!
//! The client owns its RNG (any `CryptoRngCore`; the app passes the OS generator, the simulator a
//! seeded one) and never reads a clock: every entry point takes `now`.

mod aborts;
mod event;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use rand_core::CryptoRngCore;

pub use aborts::{ABORT_WINDOW, MAX_ABORTS};
pub use event::{Event, MessageState, Output, SecureInfo};

use crate::delivery::{
    Conversation, Entry, MAX_OUTBOX, MessageId, OutboxError, StateError, Stored,
};
use crate::envelope::{DataMessage, Envelope, HandshakeMessage};
use crate::frame::{ClientFrame, FrameDecoder, RelayFrame, RoomName};
use crate::handshake::{Handshake, HandshakeError};
use crate::identity::{Fingerprint, IdentityKeyPair};
use crate::session::{Content, EncryptError, MAX_ACK_IDS, RESUME_NONCE_LEN, Session};
use aborts::Aborts;

/// How often the client pings the relay to keep the connection (and its idle timer) alive.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);
/// After a failed key exchange, the later joiner (seat 1) rejoins after this delay ...
pub const RETRY_DELAY_SEAT_1: Duration = Duration::from_secs(1);
/// ... and the earlier one (seat 0) only if nothing happened for this long.
pub const RETRY_DELAY_SEAT_0: Duration = Duration::from_secs(5);
/// Consecutive failed key exchanges after which the client stops retrying by itself.
pub const MAX_RETRIES: u32 = 3;
/// How long a session is kept for resumption after the peer or the connection went away (§7.8).
pub const RESUME_WINDOW: Duration = Duration::from_secs(600);
/// How long a resumption attempt waits for the peer's answer (§7.8).
pub const RESUME_TIMEOUT: Duration = Duration::from_secs(5);
/// How long after the relay's `PeerJoined` a peer Commit may replace an established session (§7.8).
pub const COMMIT_GRACE: Duration = Duration::from_secs(10);
/// Contents kept while a session waits for the application's approval (§7.6).
pub const MAX_PENDING_UNAPPROVED: usize = 64;
/// After a redirect away from the room where our kept session's peer sits (our old seat still held
/// by a connection the relay has not yet seen die), the room is asked for again this often ...
pub const RECLAIM_INTERVAL: Duration = Duration::from_secs(3);
/// ... for at most this long (the relay notices a dead connection within seconds, §3).
pub const RECLAIM_FOR: Duration = Duration::from_secs(60);
/// Safety numbers kept (they cost 10 402 hashes each; they depend only on the two identities).
const SAFETY_NUMBER_CACHE: usize = 16;
/// A session whose sending chain reaches this many messages without a DH step (the peer has not
/// answered) is replaced by a new key exchange: past MAX_SKIP the peer could not follow (§7.4).
pub const RENEW_AFTER: u32 = 900;

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Our display name, sent to an approved peer inside the session (never to the relay).
    pub display_name: Option<String>,
    /// Whether to resume a session after a reconnect instead of a new key exchange (§7.8).
    pub resume: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            display_name: None,
            resume: true,
        }
    }
}

/// Why a message could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The outbox refused it (too long, full; PROTOCOL.md §7.4): it was not queued.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// A secure session and what the trust gate holds back.
struct Secure {
    session: Session,
    peer: Fingerprint,
    approved: bool,
    /// Contents received before approval: kept unshown and unacknowledged (§7.6).
    pending: Vec<(u64, Content)>,
    profile_sent: bool,
    last_used: Instant,
}

/// Where we stand with the peer.
enum Peer {
    /// Not in a room, or alone in it.
    None,
    /// Key exchange in progress.
    Handshaking(Box<Handshake>),
    /// Asking the peer to resume the kept session (§7.8).
    Resuming {
        secure: Box<Secure>,
        nonce: [u8; RESUME_NONCE_LEN],
        deadline: Instant,
    },
    /// Secure session.
    Secure(Box<Secure>),
    /// Too many aborted key exchanges: waiting for the user (§5.10).
    Suspended,
    /// The last key exchange failed; maybe a rejoin is scheduled.
    Failed { retry_at: Option<Instant> },
}

/// A room asked for again after a redirect (see [`RECLAIM_INTERVAL`]).
#[derive(Debug, Clone)]
struct Reclaim {
    room: RoomName,
    next: Instant,
    until: Instant,
}

/// A chat client's protocol state.
pub struct Client<R> {
    identity: IdentityKeyPair,
    config: ClientConfig,
    rng: R,
    decoder: FrameDecoder<RelayFrame>,
    connected: bool,
    broken: bool,
    room: Option<RoomName>,
    seat: Option<u8>,
    /// The room of the parked session (where its peer may come back).
    parked_room: Option<RoomName>,
    /// Asking again for the parked session's room after a redirect away from it.
    reclaim: Option<Reclaim>,
    safety_numbers: VecDeque<(Fingerprint, crate::identity::SafetyNumber)>,
    peer: Peer,
    /// A session kept for resumption while the peer is away (§7.8).
    parked: Option<Box<Secure>>,
    approved: HashSet<Fingerprint>,
    conversations: HashMap<Fingerprint, Conversation>,
    aborts: Aborts,
    retries: u32,
    last_peer_joined: Option<Instant>,
    acks: Vec<MessageId>,
    outputs: VecDeque<Output>,
    next_ping: Instant,
    ping_nonce: u64,
}

impl<R: CryptoRngCore> Client<R> {
    /// A client with this identity, configuration and RNG (not connected yet).
    pub fn new(identity: IdentityKeyPair, config: ClientConfig, rng: R, now: Instant) -> Self {
        Client {
            identity,
            config,
            rng,
            decoder: FrameDecoder::default(),
            connected: false,
            broken: false,
            room: None,
            seat: None,
            parked_room: None,
            reclaim: None,
            safety_numbers: VecDeque::new(),
            peer: Peer::None,
            parked: None,
            approved: HashSet::new(),
            conversations: HashMap::new(),
            aborts: Aborts::default(),
            retries: 0,
            last_peer_joined: None,
            acks: Vec::new(),
            outputs: VecDeque::new(),
            next_ping: now + KEEPALIVE_INTERVAL,
            ping_nonce: 0,
        }
    }

    // ---- getters ------------------------------------------------------------------------------

    /// Our identity.
    pub fn identity(&self) -> &IdentityKeyPair {
        &self.identity
    }

    /// The room we hold (or want) a seat in, if any.
    pub fn room(&self) -> Option<&RoomName> {
        self.room.as_ref()
    }

    /// The current session, if there is one (also while it is being resumed, §7.8).
    pub fn session(&self) -> Option<&Session> {
        match &self.peer {
            Peer::Secure(s) | Peer::Resuming { secure: s, .. } => Some(&s.session),
            _ => None,
        }
    }

    /// The peer of the current secure session, and whether it is approved.
    pub fn secure_peer(&self) -> Option<(Fingerprint, bool)> {
        match &self.peer {
            Peer::Secure(s) => Some((s.peer, s.approved)),
            _ => None,
        }
    }

    /// Whether a secure session exists (approved or not).
    pub fn is_secure(&self) -> bool {
        matches!(self.peer, Peer::Secure(_))
    }

    /// Whether a key exchange (or a resumption) is running.
    pub fn is_exchanging_keys(&self) -> bool {
        matches!(self.peer, Peer::Handshaking(_) | Peer::Resuming { .. })
    }

    /// Whether a rejoin after a failed key exchange is scheduled.
    pub fn is_retry_scheduled(&self) -> bool {
        matches!(self.peer, Peer::Failed { retry_at: Some(_) })
    }

    /// Whether key exchanges are suspended after too many aborts (§5.10).
    pub fn is_suspended(&self) -> bool {
        matches!(self.peer, Peer::Suspended)
    }

    /// Whether the relay broke the framing: the driver must close the connection.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// The delivery state of a conversation.
    pub fn conversation(&self, peer: &Fingerprint) -> Option<&Conversation> {
        self.conversations.get(peer)
    }

    /// Whether `peer` is approved.
    pub fn is_approved(&self, peer: &Fingerprint) -> bool {
        self.approved.contains(peer)
    }

    // ---- commands -----------------------------------------------------------------------------

    /// Restores a conversation's stored delivery state (§7.10), before any message to or from that
    /// peer is handled. Returns the peer it belongs to.
    pub fn restore_conversation(&mut self, state: &[u8]) -> Result<Fingerprint, StateError> {
        let conv = Conversation::decode(state)?;
        let peer = *conv.peer();
        let unconfirmed = conv.unconfirmed().to_vec();
        self.conversations.insert(peer, conv);
        // Shown before a crash but never confirmed as recorded: shown again (the application
        // recognises the ids it did record, §7.5).
        for (id, stored) in unconfirmed {
            self.show(peer, id, stored);
        }
        Ok(peer)
    }

    /// The application durably recorded these shown messages (its history, or its screen when it
    /// keeps none): they will not be shown again after a restart (§7.5). Until then they stay in the
    /// stored state, and at most 1 024 (4 MiB) may wait: beyond, new messages are not accepted.
    pub fn confirm_shown(&mut self, peer: &Fingerprint, ids: &[MessageId]) {
        if self
            .conversations
            .get_mut(peer)
            .is_some_and(|c| c.confirm_shown(ids))
        {
            self.persist(*peer);
        }
    }

    /// Approves exactly this identity (§7.6): from now on what the user writes, the display name and
    /// acknowledgements go to it. Held contents of the current session are processed now.
    pub fn approve(&mut self, peer: &Fingerprint, now: Instant) {
        self.approved.insert(*peer);
        if let Some(parked) = &mut self.parked
            && parked.peer == *peer
        {
            parked.approved = true;
        }
        let (Peer::Secure(secure) | Peer::Resuming { secure, .. }) = &mut self.peer else {
            return;
        };
        if secure.peer != *peer || secure.approved {
            return;
        }
        secure.approved = true;
        self.run_approval(*peer, now);
    }

    /// The session's peer was just approved: the kept contents are processed in order, then the
    /// display name and the outbox go out (in a resumed session once the resumption completed).
    fn run_approval(&mut self, peer: Fingerprint, now: Instant) {
        let pending = match &mut self.peer {
            Peer::Secure(s) | Peer::Resuming { secure: s, .. } => core::mem::take(&mut s.pending),
            _ => return,
        };
        self.conversation_entry(peer);
        for (sent_at_ms, content) in pending {
            self.on_content(peer, sent_at_ms, content, now);
        }
        self.after_approval(now);
        self.flush_acks();
    }

    /// Withdraws an approval: nothing more is sent to that identity.
    pub fn revoke(&mut self, peer: &Fingerprint) {
        self.approved.remove(peer);
        if let Some(parked) = &mut self.parked
            && parked.peer == *peer
        {
            parked.approved = false;
        }
        if let Peer::Secure(secure) | Peer::Resuming { secure, .. } = &mut self.peer
            && secure.peer == *peer
        {
            secure.approved = false;
        }
    }

    /// Asks the relay for a seat in `room` (and again after every reconnect).
    pub fn join(&mut self, room: RoomName) {
        self.retries = 0;
        self.reclaim = None;
        if self.connected {
            // The relay refuses a Join while seated (§3): give up the current seat first.
            if self.seat.is_some() {
                self.transmit(&ClientFrame::Leave);
                self.seat = None;
            }
            self.transmit(&ClientFrame::Join { room: room.clone() });
        }
        self.room = Some(room);
    }

    /// Gives up our seat; the session, if any, is destroyed (no resumption).
    pub fn leave(&mut self, now: Instant) {
        self.end_peer(now, false);
        self.parked = None;
        self.room = None;
        self.seat = None;
        if self.connected {
            self.transmit(&ClientFrame::Leave);
        }
    }

    /// Queues a text for `to` (an identity, §7.4). It is sent now if an approved session with that
    /// identity exists, else when one does. Returns its id.
    pub fn send_text(
        &mut self,
        to: &Fingerprint,
        text: &str,
        sent_at_ms: u64,
        now: Instant,
    ) -> Result<MessageId, SendError> {
        let id = self.conversation_entry(*to).queue_text(text, sent_at_ms)?;
        self.queued(*to, id, now);
        Ok(id)
    }

    /// Changes the disappearing-messages timer of the conversation with `with` (§7.7).
    pub fn set_timer(
        &mut self,
        with: &Fingerprint,
        expire_secs: u32,
        sent_at_ms: u64,
        now: Instant,
    ) -> Result<MessageId, SendError> {
        let conv = self.conversation_entry(*with);
        let id = conv.queue_timer(expire_secs, sent_at_ms)?;
        let setting = conv.timer();
        self.event(Event::TimerChanged {
            with: *with,
            setting,
        });
        self.queued(*with, id, now);
        Ok(id)
    }

    /// After [`Event::KeyExchangesSuspended`]: the user asks to try again. The client leaves and
    /// rejoins its room, so both sides start over.
    pub fn resume_key_exchanges(&mut self, now: Instant) {
        self.aborts.clear();
        self.retries = 0;
        if matches!(self.peer, Peer::Suspended | Peer::Failed { .. }) {
            self.peer = Peer::None;
        }
        self.rejoin(now);
    }

    // ---- connection lifecycle -----------------------------------------------------------------

    /// A (new) connection to the relay is up: the client rejoins its room, if it has one.
    pub fn handle_connected(&mut self, now: Instant) {
        self.connected = true;
        self.broken = false;
        self.decoder = FrameDecoder::default();
        self.next_ping = now + KEEPALIVE_INTERVAL;
        if let Some(room) = self.room.clone() {
            self.transmit(&ClientFrame::Join { room });
        }
    }

    /// The connection is gone (closed, timed out, or dropped by the driver after a violation).
    /// A secure session is kept for resumption (§7.8); a running key exchange is aborted.
    pub fn handle_disconnected(&mut self, now: Instant) {
        self.connected = false;
        self.seat = None;
        self.end_peer(now, true);
        // Frames queued for the dead connection are meaningless now.
        self.outputs.retain(|o| !matches!(o, Output::Transmit(_)));
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
                    self.end_peer(now, true);
                    self.event(Event::RelayProtocolViolation {
                        reason: e.to_string(),
                    });
                    break;
                }
            }
        }
        self.flush_acks();
        self.renew_if_stuck(now);
    }

    /// One decoded frame from the relay.
    pub fn handle_frame(&mut self, frame: RelayFrame, now: Instant) {
        let room_event = matches!(
            frame,
            RelayFrame::Joined { .. }
                | RelayFrame::Redirected { .. }
                | RelayFrame::Waiting
                | RelayFrame::PeerJoined
                | RelayFrame::PeerLeft
        );
        if room_event && self.room.is_none() {
            // Answers to a Join we took back with `leave` (the relay handles our Join, then our
            // Leave, in order): we hold no seat, whatever these say (§3.4). Believing a late
            // `Joined` would leave the client sure of a seat the relay has already freed.
            return;
        }
        match frame {
            RelayFrame::Joined { room, seat } => {
                self.seat = Some(seat);
                if self.reclaim.as_ref().is_some_and(|r| r.room == room) {
                    self.reclaim = None;
                }
                self.room = Some(room.clone());
                self.event(Event::Joined { room, seat });
            }
            RelayFrame::Redirected { from, to } => {
                // We are in `to` now; a rejoin after a reconnect asks for it again, unless `from` is
                // where our kept session's peer sits: then our old seat there is probably held by a
                // connection the relay has not yet seen die, and `from` is asked for again a few
                // times (`RECLAIM_INTERVAL`) while we are alone.
                if self.parked_room.as_ref() == Some(&from) && self.parked.is_some() {
                    let until = self.reclaim.as_ref().map_or(now + RECLAIM_FOR, |r| r.until);
                    self.reclaim = Some(Reclaim {
                        room: from.clone(),
                        next: now + RECLAIM_INTERVAL,
                        until,
                    });
                }
                self.room = Some(to.clone());
                self.event(Event::Redirected { from, to });
            }
            RelayFrame::Waiting => {
                self.end_peer(now, true);
                self.event(Event::WaitingForPeer);
            }
            RelayFrame::PeerJoined => {
                // Someone is with us: no more asking for another room.
                self.reclaim = None;
                self.on_peer_joined(now);
            }
            RelayFrame::PeerLeft => {
                self.end_peer(now, true);
                self.event(Event::PeerLeft);
            }
            RelayFrame::Payload(bytes) => self.handle_payload(&bytes, now),
            RelayFrame::Pong(_) => {}
            RelayFrame::Error { code, message } => self.event(Event::RelayError { code, message }),
        }
        self.flush_acks();
    }

    /// Call at [`Self::poll_timeout`]: keepalive, deadlines, retries, resends.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(r) = &mut self.reclaim
            && now >= r.next
        {
            if now >= r.until || !self.connected {
                self.reclaim = None;
            } else if matches!(self.peer, Peer::None) {
                r.next = now + RECLAIM_INTERVAL;
                let room = r.room.clone();
                self.transmit(&ClientFrame::Leave);
                self.transmit(&ClientFrame::Join { room });
            } else {
                r.next = now + RECLAIM_INTERVAL;
            }
        }
        if self.connected && now >= self.next_ping {
            self.ping_nonce = self.ping_nonce.wrapping_add(1);
            self.transmit(&ClientFrame::Ping(self.ping_nonce));
            self.next_ping = now + KEEPALIVE_INTERVAL;
        }
        if let Some(parked) = &self.parked
            && now >= parked.last_used + RESUME_WINDOW
        {
            self.parked = None;
        }
        match &mut self.peer {
            Peer::Handshaking(hs) => {
                let revealed = hs.identity_revealed();
                if let Err(error) = hs.handle_timeout(now) {
                    self.handshake_failed(error, revealed, now);
                }
            }
            Peer::Resuming { deadline, .. } if now >= *deadline => {
                // The peer did not answer: it has no state, or the relay dropped it.
                self.peer = Peer::None;
                self.start_handshake(now);
            }
            Peer::Failed { retry_at: Some(at) } if now >= *at => {
                self.peer = Peer::Failed { retry_at: None };
                if self.aborts.suspended(now) {
                    self.suspend(now);
                } else {
                    self.rejoin(now);
                }
            }
            Peer::Secure(_) => self.send_due(now),
            _ => {}
        }
        self.renew_if_stuck(now);
    }

    // ---- outputs ------------------------------------------------------------------------------

    /// The next thing to do: bytes to send, state to store, or an event to show.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let peer = match &self.peer {
            Peer::Handshaking(hs) => hs.poll_timeout(),
            Peer::Resuming { deadline, .. } => Some(*deadline),
            Peer::Failed { retry_at } => *retry_at,
            Peer::Secure(s) if s.approved => self
                .conversations
                .get(&s.peer)
                .and_then(|c| c.outbox().next_deadline()),
            _ => None,
        };
        let parked = self.parked.as_ref().map(|p| p.last_used + RESUME_WINDOW);
        let reclaim = self.reclaim.as_ref().map(|r| r.next);
        [
            Some(self.next_ping).filter(|_| self.connected),
            peer,
            parked,
            reclaim,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- internals: plumbing ------------------------------------------------------------------

    fn transmit(&mut self, frame: &ClientFrame) {
        self.outputs.push_back(Output::Transmit(frame.to_bytes()));
    }

    fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    fn persist(&mut self, peer: Fingerprint) {
        if let Some(conv) = self.conversations.get(&peer) {
            let state = conv.encode();
            self.outputs.push_back(Output::Persist { peer, state });
        }
    }

    fn conversation_entry(&mut self, peer: Fingerprint) -> &mut Conversation {
        let rng = &mut self.rng;
        self.conversations
            .entry(peer)
            .or_insert_with(|| Conversation::new(peer, rng))
    }

    fn rejoin(&mut self, _now: Instant) {
        if let (true, Some(room)) = (self.connected, self.room.clone()) {
            // Leave and rejoin: the relay tells the peer, and both restart from PeerJoined.
            self.transmit(&ClientFrame::Leave);
            self.transmit(&ClientFrame::Join { room });
        }
    }

    /// Encrypts `content` in the current session and queues it for the relay.
    fn send_in_session(&mut self, content: &Content, sent_at_ms: u64) -> Result<(), EncryptError> {
        let (Peer::Secure(secure) | Peer::Resuming { secure, .. }) = &mut self.peer else {
            return Ok(());
        };
        let out = secure.session.encrypt(content, sent_at_ms, &mut self.rng)?;
        self.outputs.push_back(Output::Transmit(
            ClientFrame::Payload(out.envelope).to_bytes(),
        ));
        Ok(())
    }

    // ---- internals: room events ---------------------------------------------------------------

    /// The peer is gone or the exchange is cut: abort a running key exchange, keep a secure
    /// session for resumption (if `park`), and tell the user which messages now wait.
    fn end_peer(&mut self, now: Instant, park: bool) {
        match core::mem::replace(&mut self.peer, Peer::None) {
            Peer::Handshaking(hs) => {
                if !hs.is_established() {
                    self.abort(hs.identity_revealed(), now);
                }
            }
            Peer::Secure(secure) | Peer::Resuming { secure, .. } => {
                let peer = secure.peer;
                if !secure.approved {
                    // A session the app never approved is, for the limit of §5.10, a probe that
                    // completed with an identity the relay chose.
                    self.abort(true, now);
                }
                if park && self.config.resume {
                    self.parked = Some(secure);
                    self.parked_room = self.room.clone();
                }
                self.waiting(peer);
            }
            Peer::Suspended => self.peer = Peer::Suspended,
            Peer::Failed { retry_at } => self.peer = Peer::Failed { retry_at },
            Peer::None => {}
        }
    }

    fn abort(&mut self, identity_revealed: bool, now: Instant) {
        let recent = self.aborts.record(now);
        self.event(Event::KeyExchangeAborted {
            identity_revealed,
            recent,
        });
    }

    /// Every unacknowledged message to `peer` is waiting again.
    fn waiting(&mut self, peer: Fingerprint) {
        let ids: Vec<MessageId> = match self.conversations.get(&peer) {
            Some(conv) => conv
                .outbox()
                .entries()
                .filter(|e| e.is_sent())
                .map(|e| MessageId {
                    stream: conv.own_stream(),
                    number: e.stored.number,
                })
                .collect(),
            None => return,
        };
        if let Some(conv) = self.conversations.get_mut(&peer) {
            conv.outbox.reset_sending();
        }
        for id in ids {
            self.event(Event::MessageState {
                to: peer,
                id,
                state: MessageState::Waiting,
            });
        }
    }

    fn on_peer_joined(&mut self, now: Instant) {
        self.last_peer_joined = Some(now);
        let was_suspended = matches!(self.peer, Peer::Suspended);
        self.end_peer(now, true);
        // Suspended stays suspended until the user asks (§5.10), whatever the window says now.
        if was_suspended || self.aborts.suspended(now) {
            self.suspend(now);
            return;
        }
        match self.parked.take() {
            Some(mut secure) if self.config.resume && now < secure.last_used + RESUME_WINDOW => {
                // §7.8: ask the peer to resume the kept session.
                let mut nonce = [0u8; RESUME_NONCE_LEN];
                self.rng.fill_bytes(&mut nonce);
                secure.approved = self.approved.contains(&secure.peer);
                self.peer = Peer::Resuming {
                    secure,
                    nonce,
                    deadline: now + RESUME_TIMEOUT,
                };
                self.event(Event::KeyExchangeStarted);
                if self.send_in_session(&Content::Resume(nonce), 0).is_err() {
                    self.peer = Peer::None;
                    self.start_handshake(now);
                }
            }
            _ => self.start_handshake(now),
        }
    }

    fn start_handshake(&mut self, now: Instant) {
        self.parked = None;
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

    // ---- internals: payloads ------------------------------------------------------------------

    fn handle_payload(&mut self, bytes: &[u8], now: Instant) {
        let envelope = match Envelope::decode(bytes) {
            Ok(envelope) => envelope,
            Err(e) => {
                let error = HandshakeError::from(e);
                if let (HandshakeError::PeerVersion(_), Peer::Handshaking(hs)) =
                    (&error, &self.peer)
                {
                    let revealed = hs.identity_revealed();
                    self.handshake_failed(error, revealed, now);
                } else {
                    self.event(Event::Rejected {
                        error: crate::session::DecryptError::Ratchet(
                            crate::ratchet::RatchetError::Malformed,
                        ),
                    });
                }
                return;
            }
        };
        match envelope {
            Envelope::Handshake(m) => self.on_handshake_message(&m, now),
            Envelope::Data(m) => self.on_data(&m, now),
        }
    }

    fn on_handshake_message(&mut self, m: &HandshakeMessage<'_>, now: Instant) {
        let is_commit = m.kind() == crate::envelope::EnvelopeType::Commit;
        match &mut self.peer {
            Peer::Handshaking(hs) => {
                let result = hs.handle_message(m, &mut self.rng);
                let revealed = hs.identity_revealed();
                match result {
                    Ok(()) => {}
                    Err(error) if error.is_fatal() => {
                        return self.handshake_failed(error, revealed, now);
                    }
                    // Duplicates, stale or malformed handshake messages: ignored.
                    Err(_) => {}
                }
                self.flush_handshake();
                self.finish_handshake_if_done(now);
            }
            // §7.8: the peer has no state for the kept session: run a key exchange instead.
            Peer::Resuming { .. } if is_commit => {
                self.peer = Peer::None;
                self.start_handshake(now);
                self.on_handshake_message(m, now);
            }
            // A peer Commit replaces an established session only right after PeerJoined, and once
            // per PeerJoined (§7.8); the session's end is accounted like any other (§5.10).
            Peer::Secure(_)
                if is_commit
                    && self
                        .last_peer_joined
                        .is_some_and(|t| now.saturating_duration_since(t) < COMMIT_GRACE) =>
            {
                self.last_peer_joined = None;
                self.end_peer(now, false);
                if self.aborts.suspended(now) {
                    return self.suspend(now);
                }
                self.start_handshake(now);
                self.on_handshake_message(m, now);
            }
            // Late copies, or a relay injecting handshake messages into a session: ignored.
            _ => {}
        }
    }

    fn on_data(&mut self, m: &DataMessage<'_>, now: Instant) {
        let result = match &mut self.peer {
            Peer::Handshaking(hs) => {
                // Data from before the peer's Commit belongs to a session we no longer hold (§7.8).
                let _ = hs.handle_data(m.raw());
                return;
            }
            Peer::Secure(secure) | Peer::Resuming { secure, .. } => {
                let result = secure.session.decrypt_message(m, &mut self.rng);
                if result.is_ok() {
                    secure.last_used = now;
                }
                result
            }
            // Nobody to talk to: a relay bug or a late frame from a departed peer.
            Peer::None | Peer::Failed { .. } | Peer::Suspended => return,
        };
        match result {
            Ok(incoming) => self.on_incoming(incoming.sent_at_ms, incoming.content, now),
            Err(error) if error.is_duplicate() => {}
            Err(error) => self.event(Event::Rejected { error }),
        }
    }

    /// An authenticated content in the current (or resuming) session.
    fn on_incoming(&mut self, sent_at_ms: u64, content: Content, now: Instant) {
        match content {
            // §7.8: answer a Resume, whatever our state, with the peer's nonce.
            Content::Resume(nonce) => {
                let _ = self.send_in_session(&Content::ResumeOk(nonce), 0);
                return;
            }
            Content::ResumeOk(echo) => return self.on_resume_ok(&echo, now),
            _ => {}
        }
        let peer = match &mut self.peer {
            Peer::Secure(secure) | Peer::Resuming { secure, .. } => {
                if !secure.approved {
                    // §7.6: kept unshown and unacknowledged until the application approves.
                    if secure.pending.len() < MAX_PENDING_UNAPPROVED {
                        secure.pending.push((sent_at_ms, content));
                    }
                    return;
                }
                secure.peer
            }
            _ => return,
        };
        self.on_content(peer, sent_at_ms, content, now);
    }

    /// The peer echoed our Resume nonce: the kept session is live again (§7.8).
    fn on_resume_ok(&mut self, echo: &[u8; RESUME_NONCE_LEN], now: Instant) {
        let matches = matches!(&self.peer, Peer::Resuming { nonce, .. } if crate::crypto::ct::ct_eq(nonce, echo));
        if !matches {
            return;
        }
        let Peer::Resuming { mut secure, .. } = core::mem::replace(&mut self.peer, Peer::None)
        else {
            return;
        };
        // The approval set is the truth (the app may have changed it while we waited).
        secure.approved = self.approved.contains(&secure.peer);
        let (peer, approved) = (secure.peer, secure.approved);
        self.peer = Peer::Secure(secure);
        self.retries = 0;
        self.event(Event::Resumed { peer, approved });
        if approved {
            if let Some(conv) = self.conversations.get_mut(&peer) {
                conv.outbox.reset_sending();
            }
            self.run_approval(peer, now);
        }
    }

    /// An approved peer's content (§7.4–7.7).
    fn on_content(&mut self, peer: Fingerprint, sent_at_ms: u64, content: Content, _now: Instant) {
        match content {
            Content::Ack(ids) => {
                let conv = self.conversation_entry(peer);
                let delivered: Vec<MessageId> =
                    ids.into_iter().filter(|id| conv.acknowledge(id)).collect();
                if delivered.is_empty() {
                    return;
                }
                self.persist(peer);
                for id in delivered {
                    self.event(Event::MessageState {
                        to: peer,
                        id,
                        state: MessageState::Delivered,
                    });
                }
            }
            Content::Profile(name) => self.event(Event::PeerName { from: peer, name }),
            Content::Resume(_) | Content::ResumeOk(_) => {}
            reliable => {
                let Some((id, stored)) = crate::delivery::stored_of(reliable, sent_at_ms) else {
                    return;
                };
                let own = self.identity.fingerprint();
                let received = self.conversation_entry(peer).receive(id, stored, &own);
                // Stored before it is shown or acknowledged (§7.5); a duplicate changes nothing.
                if received.changed {
                    self.persist(peer);
                }
                for (id, stored) in received.shown {
                    self.show(peer, id, stored);
                }
                if let Some(setting) = received.timer_changed {
                    self.event(Event::TimerChanged {
                        with: peer,
                        setting,
                    });
                }
                if received.ack {
                    self.acks.push(id);
                }
            }
        }
    }

    fn show(&mut self, from: Fingerprint, id: MessageId, stored: Stored) {
        match stored.entry {
            Entry::Text { expire_secs, text } => self.event(Event::Message {
                from,
                id,
                sent_at_ms: stored.sent_at_ms,
                expire_secs,
                text: text.as_str().to_owned(),
            }),
            // A Timer's effect is reported by TimerChanged when it wins (§7.7).
            Entry::Timer { .. } => {}
            Entry::Unknown { kind } => self.event(Event::UnsupportedMessage { from, id, kind }),
        }
    }

    /// Sends the collected acknowledgements, at most [`MAX_ACK_IDS`] per Ack (approved sessions only).
    fn flush_acks(&mut self) {
        if self.acks.is_empty() {
            return;
        }
        let approved =
            matches!(&self.peer, Peer::Secure(s) | Peer::Resuming { secure: s, .. } if s.approved);
        let acks = core::mem::take(&mut self.acks);
        if !approved {
            return;
        }
        for chunk in acks.chunks(MAX_ACK_IDS) {
            let _ = self.send_in_session(&Content::Ack(chunk.to_vec()), 0);
        }
    }

    /// A message was queued: store the state first, then send it if an approved session is there.
    fn queued(&mut self, to: Fingerprint, id: MessageId, now: Instant) {
        self.persist(to);
        let live = matches!(&self.peer, Peer::Secure(s) if s.peer == to && s.approved);
        if live {
            self.send_due(now);
            self.renew_if_stuck(now);
        } else {
            self.event(Event::MessageState {
                to,
                id,
                state: MessageState::Waiting,
            });
        }
    }

    /// The sending chain is near MAX_SKIP without an answer from the peer: end the session (no
    /// resumption: it is the chain that is stuck) and rejoin, so both sides run a new key exchange
    /// (§7.4). Called at the end of every entry point that may send.
    fn renew_if_stuck(&mut self, now: Instant) {
        let stuck =
            matches!(&self.peer, Peer::Secure(s) if s.session.sending_chain_len() >= RENEW_AFTER);
        if stuck {
            self.end_peer(now, false);
            self.parked = None;
            self.rejoin(now);
        }
    }

    /// Sends the outbox entries that are due (never sent in this session, or past their backoff).
    fn send_due(&mut self, now: Instant) {
        let Peer::Secure(secure) = &self.peer else {
            return;
        };
        if !secure.approved {
            return;
        }
        let peer = secure.peer;
        let Some(conv) = self.conversations.get(&peer) else {
            return;
        };
        let due: Vec<(MessageId, Content, u64, bool)> = conv
            .outbox()
            .due(now)
            .into_iter()
            .filter_map(|n| {
                let e = conv.outbox().get(n)?;
                let content = conv.content_of(e)?;
                let id = content.id()?;
                Some((id, content, e.stored.sent_at_ms, e.is_sent()))
            })
            .take(MAX_OUTBOX)
            .collect();
        for (id, content, sent_at_ms, was_sent) in due {
            if self.send_in_session(&content, sent_at_ms).is_err() {
                return;
            }
            if let Some(conv) = self.conversations.get_mut(&peer) {
                conv.outbox.mark_sent(id.number, now);
            }
            if !was_sent {
                self.event(Event::MessageState {
                    to: peer,
                    id,
                    state: MessageState::Sent,
                });
            }
        }
    }

    /// Once an identity is approved in a session: the display name, then the outbox.
    fn after_approval(&mut self, now: Instant) {
        if let Peer::Secure(secure) = &mut self.peer
            && !secure.profile_sent
        {
            secure.profile_sent = true;
            if let Some(name) = self.config.display_name.clone() {
                let _ = self.send_in_session(&Content::Profile(name), 0);
            }
        }
        self.send_due(now);
    }

    fn finish_handshake_if_done(&mut self, now: Instant) {
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
        let peer = session.peer_identity().fingerprint();
        let approved = self.approved.contains(&peer);
        let safety_number = self.safety_number(&session);
        self.event(Event::Secure(Box::new(SecureInfo {
            peer: session.peer_identity().clone(),
            safety_number,
            sas: *session.sas(),
            key_visual: session.key_visual().clone(),
            role: session.role(),
            approved,
        })));
        self.peer = Peer::Secure(Box::new(Secure {
            session,
            peer,
            approved,
            pending: Vec::new(),
            profile_sent: false,
            last_used: now,
        }));
        if approved {
            self.conversation_entry(peer);
            if let Some(conv) = self.conversations.get_mut(&peer) {
                conv.outbox.reset_sending();
            }
            self.after_approval(now);
        }
        for envelope in early {
            if let Ok(Envelope::Data(m)) = Envelope::decode(&envelope) {
                self.on_data(&m, now);
            }
        }
    }

    /// A key exchange ended with a fatal error: it counts as an abort (PROTOCOL.md §5.10), and a retry
    /// is scheduled unless the error says retrying cannot help or the client is now suspended.
    /// The safety number with the session's peer, from the cache (§8.1: it depends only on the
    /// two identities and costs 10 402 hashes).
    fn safety_number(&mut self, session: &Session) -> crate::identity::SafetyNumber {
        let peer = session.peer_identity().fingerprint();
        if let Some((_, n)) = self.safety_numbers.iter().find(|(fp, _)| *fp == peer) {
            return n.clone();
        }
        let n = session.safety_number();
        if self.safety_numbers.len() >= SAFETY_NUMBER_CACHE {
            self.safety_numbers.pop_front();
        }
        self.safety_numbers.push_back((peer, n.clone()));
        n
    }

    fn handshake_failed(&mut self, error: HandshakeError, identity_revealed: bool, now: Instant) {
        self.retries += 1;
        let recent = self.aborts.record(now);
        let suspended = self.aborts.suspended(now);
        let retry_at = match self.seat {
            _ if suspended || !error.is_retryable() || self.retries > MAX_RETRIES => None,
            Some(1) => Some(now + RETRY_DELAY_SEAT_1),
            Some(_) => Some(now + RETRY_DELAY_SEAT_0),
            None => None,
        };
        self.peer = Peer::Failed { retry_at };
        self.event(Event::KeyExchangeFailed {
            error,
            retrying: retry_at.is_some(),
            identity_revealed,
            recent,
        });
        if suspended {
            self.suspend(now);
        }
    }

    /// Stops starting key exchanges until the user asks again (§5.10).
    fn suspend(&mut self, now: Instant) {
        if !matches!(self.peer, Peer::Suspended) {
            self.peer = Peer::Suspended;
            let recent = self.aborts.recent(now);
            self.event(Event::KeyExchangesSuspended { recent });
        }
    }
}

impl<R> core::fmt::Debug for Client<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let peer = match &self.peer {
            Peer::None => "none",
            Peer::Handshaking(_) => "exchanging keys",
            Peer::Resuming { .. } => "resuming",
            Peer::Secure(_) => "secure",
            Peer::Suspended => "key exchanges suspended",
            Peer::Failed { .. } => "key exchange failed",
        };
        f.debug_struct("Client")
            .field("room", &self.room)
            .field("seat", &self.seat)
            .field("peer", &peer)
            .finish_non_exhaustive()
    }
}
