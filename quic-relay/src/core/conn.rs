//! One client connection's rules, as a sans-IO state machine: rate shaping, the idle timeout,
//! strikes, and where the connection sits (which shard, which pairing). The room logic itself
//! lives in the shards ([`super::RoomShard`]); a connection reaches them through
//! [`ConnOutput::ToShard`] and hears back through [`ConnState::handle_event`]. Payloads go to the
//! peer directly ([`ConnOutput::ToPeer`]); the peer takes them while [`ConnState::accepts`] their
//! pairing.
//!
//! ```text
//! admit(&frame, now) -> Admit::{Now, At(t), AfterShard}     (may the next frame be handled?)
//! handle_frame / handle_event / handle_decode_error / handle_timeout / shutdown
//!        ──► poll_output() -> Send(frame) | ToShard { shard, call } | ToPeer { pairing, body }
//!                              | Close(code)
//!        ──► poll_timeout() -> the idle deadline
//! ```
//!
//! The driver calls `admit` before handing over each frame and does not read further while the
//! answer is not `Now`: a frame over its rate waits unread (and QUIC flow control slows the
//! client), and the frames after a `Join` or `Leave` wait until the shard has answered it, so
//! every frame is handled in the room state it was sent in (PROTOCOL.md §3.5).

use std::collections::VecDeque;
use std::time::Instant;

use sans_io_proto::frame::{ClientFrame, ErrorCode, FrameError, RelayFrame, RoomName};

use super::limits::{Limits, TokenBucket};
use super::redirect::shard_of;
use super::shard::PairingId;

/// A connection's identifier inside the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What a connection asks of the shard that owns its room (the driver adds the connection's id
/// and handle to make a [`super::ShardRequest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardCall {
    /// Take a seat.
    Join(RoomName),
    /// Give up the seat.
    Leave,
}

/// What a connection's state machine asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnOutput {
    /// Send this frame to the client.
    Send(RelayFrame),
    /// Send this call to shard `shard`.
    ToShard {
        /// The shard's index.
        shard: usize,
        /// The call.
        call: ShardCall,
    },
    /// Hand this payload body to the peer of `pairing` (the handle the shard gave with it).
    ToPeer {
        /// The pairing the connection is in.
        pairing: PairingId,
        /// The body.
        body: Vec<u8>,
    },
    /// Close the connection with this code, after what was queued for it.
    Close(ErrorCode),
}

/// What the shard told the connection (the part of [`super::ShardEvent`] that concerns its state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnEvent {
    /// The join is answered: seated in this room, or refused.
    JoinDone(Option<RoomName>),
    /// Paired with a peer in this pairing, or alone.
    Paired(Option<PairingId>),
    /// The leave is processed.
    Left,
    /// A payload could not be delivered: its pairing was over when it reached the peer.
    Dropped,
}

/// Whether the next frame may be handled now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Yes.
    Now,
    /// Not before this instant (a rate limit): leave it unread until then.
    At(Instant),
    /// Not before the shard answers the previous `Join` or `Leave`.
    AfterShard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seat {
    None,
    Joining {
        shard: usize,
    },
    Seated {
        shard: usize,
        room: RoomName,
        pairing: Option<PairingId>,
    },
    Leaving {
        shard: usize,
    },
}

/// A connection's state.
pub struct ConnState {
    shards: usize,
    idle_timeout: std::time::Duration,
    max_frame_body: usize,
    max_strikes: u32,
    last_seen: Instant,
    joins: TokenBucket,
    frames: TokenBucket,
    bytes: TokenBucket,
    strikes: u32,
    seat: Seat,
    /// A `NotInRoom` was sent since the room state last changed: further dropped payloads are
    /// not answered again (PROTOCOL.md §3.5), so a sender racing a departed peer gets one error.
    told_no_peer: bool,
    dropped: u64,
    closed: bool,
    outputs: VecDeque<ConnOutput>,
}

impl ConnState {
    /// A new connection under `limits`, whose rooms are spread over `shards` shards.
    pub fn new(limits: &Limits, shards: usize, now: Instant) -> Self {
        ConnState {
            shards: shards.max(1),
            idle_timeout: limits.idle_timeout,
            max_frame_body: limits.max_frame_body,
            max_strikes: limits.max_strikes,
            last_seen: now,
            joins: TokenBucket::new(limits.joins_per_second, limits.join_burst, now),
            frames: TokenBucket::new(limits.frames_per_second, limits.frame_burst, now),
            bytes: TokenBucket::new(limits.bytes_per_second, limits.byte_burst, now),
            strikes: 0,
            seat: Seat::None,
            told_no_peer: false,
            dropped: 0,
            closed: false,
            outputs: VecDeque::new(),
        }
    }

    // ---- getters ------------------------------------------------------------------------------

    /// The room the connection sits in, once the shard confirmed it.
    pub fn room(&self) -> Option<&RoomName> {
        match &self.seat {
            Seat::Seated { room, .. } => Some(room),
            _ => None,
        }
    }

    /// The shard that must hear of this connection's end (it sits, or may sit, in one of its
    /// rooms).
    pub fn shard(&self) -> Option<usize> {
        match self.seat {
            Seat::None => None,
            Seat::Joining { shard } | Seat::Seated { shard, .. } | Seat::Leaving { shard } => {
                Some(shard)
            }
        }
    }

    /// The pairing the connection is in, if any.
    pub fn pairing(&self) -> Option<PairingId> {
        match self.seat {
            Seat::Seated { pairing, .. } => pairing,
            _ => None,
        }
    }

    /// Payloads of this connection dropped so far for want of a peer.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Whether a payload sent within `pairing` may be delivered to this connection: it is still
    /// in that pairing (PROTOCOL.md §3.5) and open.
    pub fn accepts(&self, pairing: PairingId) -> bool {
        !self.closed && self.pairing() == Some(pairing)
    }

    /// Whether the connection is closing (no frame is acted on any more).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// Whether `frame` may be handled now (see the module documentation).
    pub fn admit(&mut self, frame: &ClientFrame, now: Instant) -> Admit {
        if self.closed {
            return Admit::Now; // handled as nothing
        }
        if matches!(self.seat, Seat::Joining { .. } | Seat::Leaving { .. }) {
            return Admit::AfterShard;
        }
        let mut at = self.frames.ready_at(1.0, now);
        let more = match frame {
            ClientFrame::Join { .. } => self.joins.ready_at(1.0, now),
            ClientFrame::Payload(body) => self.bytes.ready_at(body.len() as f64, now),
            ClientFrame::Leave | ClientFrame::Ping(_) => None,
        };
        if let Some(t) = more {
            at = Some(at.map_or(t, |a| a.max(t)));
        }
        at.map_or(Admit::Now, Admit::At)
    }

    /// A frame from the client, admitted by [`Self::admit`].
    pub fn handle_frame(&mut self, frame: ClientFrame, now: Instant) {
        if self.closed {
            return;
        }
        self.last_seen = now;
        self.frames.take(1.0, now);
        match frame {
            ClientFrame::Join { room } => self.join(room, now),
            ClientFrame::Leave => self.leave(),
            ClientFrame::Payload(body) => self.payload(body, now),
            ClientFrame::Ping(n) => self.send(RelayFrame::Pong(n)),
        }
    }

    /// An answer or notice from the connection's shard.
    pub fn handle_event(&mut self, event: ConnEvent) {
        match event {
            ConnEvent::JoinDone(Some(room)) => {
                if let Seat::Joining { shard } = self.seat {
                    self.seat = Seat::Seated {
                        shard,
                        room,
                        pairing: None,
                    };
                }
                self.told_no_peer = false;
            }
            ConnEvent::JoinDone(None) => {
                if matches!(self.seat, Seat::Joining { .. }) {
                    self.seat = Seat::None;
                }
                // The shard sent the reason (ServerFull or AlreadyInRoom).
                self.strike(ErrorCode::ServerFull);
            }
            ConnEvent::Paired(p) => {
                if let Seat::Seated { pairing, .. } = &mut self.seat {
                    *pairing = p;
                }
                self.told_no_peer = false;
            }
            ConnEvent::Left => {
                if matches!(self.seat, Seat::Leaving { .. }) {
                    self.seat = Seat::None;
                }
                self.told_no_peer = false;
            }
            ConnEvent::Dropped => self.no_peer(),
        }
    }

    /// The driver held the client's input back (memory, the peer's queue, a rate, a shard
    /// answer) until `now`: a client kept waiting is not idle, so its idle time starts again.
    pub fn handle_released(&mut self, now: Instant) {
        self.last_seen = self.last_seen.max(now);
    }

    /// The client's bytes could not be decoded: tell it why and close (framing is lost).
    pub fn handle_decode_error(&mut self, error: &FrameError) {
        let code = match error {
            FrameError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            FrameError::InvalidRoomName => ErrorCode::InvalidRoomName,
            _ => ErrorCode::MalformedFrame,
        };
        self.close_with_error(code, &error.to_string());
    }

    /// Time passed: close the connection if it has been idle too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if !self.closed && now >= self.last_seen + self.idle_timeout {
            self.close_with_error(ErrorCode::IdleTimeout, "no frame received for too long");
        }
    }

    /// The driver was handed more frames than the rates admit although it has no flow control to
    /// stop the client (never in the server, which stops reading instead): close.
    pub fn handle_overrun(&mut self) {
        self.close_with_error(
            ErrorCode::RateLimited,
            "frames sent faster than the rate limits allow",
        );
    }

    /// The relay is going away: tell the client and close.
    pub fn shutdown(&mut self) {
        self.close_with_error(ErrorCode::ShuttingDown, "the relay is shutting down");
    }

    // ---- outputs ------------------------------------------------------------------------------

    /// The next action for the driver.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<ConnOutput> {
        self.outputs.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next (rate-limit wake-ups come from [`Self::admit`]).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        (!self.closed).then(|| self.last_seen + self.idle_timeout)
    }

    // ---- rules --------------------------------------------------------------------------------

    fn send(&mut self, frame: RelayFrame) {
        self.outputs.push_back(ConnOutput::Send(frame));
    }

    fn close_with_error(&mut self, code: ErrorCode, message: &str) {
        if self.closed {
            return;
        }
        self.send(RelayFrame::error(code, message));
        self.closed = true;
        self.outputs.push_back(ConnOutput::Close(code));
    }

    /// Counts a non-closing error; too many close the connection.
    fn strike(&mut self, code: ErrorCode) {
        self.strikes += 1;
        if self.strikes >= self.max_strikes && !self.closed {
            self.closed = true;
            self.outputs.push_back(ConnOutput::Close(code));
        }
    }

    fn no_peer(&mut self) {
        self.dropped += 1;
        if !self.told_no_peer {
            self.told_no_peer = true;
            self.send(RelayFrame::error(
                ErrorCode::NotInRoom,
                "no peer: payloads are dropped until one joins",
            ));
        }
    }

    fn join(&mut self, room: RoomName, now: Instant) {
        if !matches!(self.seat, Seat::None) {
            self.send(RelayFrame::error(
                ErrorCode::AlreadyInRoom,
                "leave the current room first",
            ));
            return self.strike(ErrorCode::AlreadyInRoom);
        }
        self.joins.take(1.0, now);
        let shard = shard_of(&room, self.shards);
        self.seat = Seat::Joining { shard };
        self.outputs.push_back(ConnOutput::ToShard {
            shard,
            call: ShardCall::Join(room),
        });
    }

    fn leave(&mut self) {
        if let Seat::Seated { shard, .. } = self.seat {
            self.seat = Seat::Leaving { shard };
            self.outputs.push_back(ConnOutput::ToShard {
                shard,
                call: ShardCall::Leave,
            });
        }
        // Not seated: nothing to leave, nothing to answer.
    }

    fn payload(&mut self, body: Vec<u8>, now: Instant) {
        self.bytes.take(body.len() as f64, now);
        if body.len() > self.max_frame_body {
            self.send(RelayFrame::error(
                ErrorCode::FrameTooLarge,
                "payload larger than this relay accepts",
            ));
            return self.strike(ErrorCode::FrameTooLarge);
        }
        match self.seat {
            Seat::Seated {
                pairing: Some(pairing),
                ..
            } => self.outputs.push_back(ConnOutput::ToPeer { pairing, body }),
            _ => self.no_peer(),
        }
    }
}
