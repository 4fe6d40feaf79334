//! The relay's room logic as a sans-IO state machine (quinn-proto style): inputs are connections,
//! frames, disconnects and the time; outputs are frames to send and connections to close.
//!
//! ```text
//! handle_connect / handle_frame / handle_decode_error / handle_disconnect / handle_timeout
//!        ──► poll_output() -> Send { to, frame } | Close { conn, code }
//!        ──► poll_timeout() -> when to call handle_timeout
//! ```
//!
//! Rules (PROTOCOL.md §3): two seats per room; the first in is told `Waiting`, the second makes
//! both `PeerJoined`; a newcomer to a full room is redirected to the first room among `name-2`,
//! `name-3`, ... that is not full; payloads go from one seat to the other and are never stored.

mod limits;
mod redirect;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub use limits::Limits;
use limits::TokenBucket;
use sans_io_proto::frame::{ClientFrame, ErrorCode, FrameError, RelayFrame, RoomName};

/// A connection's identifier inside the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What the core asks its driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutput {
    /// Send `frame` to `to`.
    Send {
        /// The connection.
        to: ConnId,
        /// The frame.
        frame: RelayFrame,
    },
    /// Close the connection (after sending what was queued for it) with this code.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        code: ErrorCode,
    },
}

/// Why a connection was refused outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// Too many connections.
    #[error("the relay is full")]
    ServerFull,
}

/// Counters for logs and the load tool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections currently open.
    pub connections: usize,
    /// Rooms currently existing.
    pub rooms: usize,
    /// Payload frames relayed so far.
    pub relayed: u64,
    /// Redirects so far.
    pub redirects: u64,
    /// Limit breaches so far.
    pub limit_hits: u64,
}

struct Conn {
    room: Option<RoomName>,
    last_seen: Instant,
    joins: TokenBucket,
    payloads: TokenBucket,
    strikes: u32,
    closed: bool,
}

#[derive(Default)]
struct Room {
    seats: [Option<ConnId>; 2],
}

impl Room {
    fn occupants(&self) -> usize {
        self.seats.iter().flatten().count()
    }
}

/// How often idle connections are looked for.
const SWEEP_INTERVAL: Duration = Duration::from_millis(500);

/// The relay's complete state: connections, rooms and queued outputs.
pub struct RelayCore {
    limits: Limits,
    conns: HashMap<ConnId, Conn>,
    rooms: HashMap<RoomName, Room>,
    next_id: u64,
    outputs: VecDeque<RelayOutput>,
    next_sweep: Option<Instant>,
    stats: Stats,
}

impl RelayCore {
    /// A relay with these limits.
    pub fn new(limits: Limits) -> Self {
        RelayCore {
            limits,
            conns: HashMap::new(),
            rooms: HashMap::new(),
            next_id: 1,
            outputs: VecDeque::new(),
            next_sweep: None,
            stats: Stats::default(),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        Stats {
            connections: self.conns.len(),
            rooms: self.rooms.len(),
            ..self.stats
        }
    }

    /// The room a connection sits in, if any.
    pub fn room_of(&self, conn: ConnId) -> Option<&RoomName> {
        self.conns.get(&conn).and_then(|c| c.room.as_ref())
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// A new connection (its stream is open).
    pub fn handle_connect(&mut self, now: Instant) -> Result<ConnId, ConnectError> {
        if self.conns.len() >= self.limits.max_connections {
            self.stats.limit_hits += 1;
            return Err(ConnectError::ServerFull);
        }
        let id = ConnId(self.next_id);
        self.next_id += 1;
        let l = &self.limits;
        self.conns.insert(
            id,
            Conn {
                room: None,
                last_seen: now,
                joins: TokenBucket::new(l.joins_per_second, l.join_burst, now),
                payloads: TokenBucket::new(l.payloads_per_second, l.payload_burst, now),
                strikes: 0,
                closed: false,
            },
        );
        self.next_sweep.get_or_insert(now + SWEEP_INTERVAL);
        Ok(id)
    }

    /// A decoded frame from a connection.
    pub fn handle_frame(&mut self, conn: ConnId, frame: ClientFrame, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.closed {
            return;
        }
        c.last_seen = now;
        match frame {
            ClientFrame::Join { room } => self.join(conn, room, now),
            ClientFrame::Leave => self.leave(conn),
            ClientFrame::Payload(data) => self.payload(conn, data, now),
            ClientFrame::Ping(n) => self.send(conn, RelayFrame::Pong(n)),
        }
    }

    /// The connection's bytes could not be decoded: tell it why and close it (framing is lost).
    pub fn handle_decode_error(&mut self, conn: ConnId, error: &FrameError) {
        let code = match error {
            FrameError::UnsupportedVersion(_) => ErrorCode::UnsupportedVersion,
            FrameError::TooLarge { .. } => ErrorCode::FrameTooLarge,
            FrameError::InvalidRoomName => ErrorCode::InvalidRoomName,
            _ => ErrorCode::MalformedFrame,
        };
        self.stats.limit_hits += 1;
        self.error(conn, code, &error.to_string());
        self.close(conn, code);
    }

    /// The connection is gone (closed by the peer, timed out, or after our `Close`).
    pub fn handle_disconnect(&mut self, conn: ConnId) {
        self.leave(conn);
        self.conns.remove(&conn);
    }

    /// Time passed: close idle connections.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_sweep.is_some_and(|t| now < t) {
            return;
        }
        let idle = self.limits.idle_timeout;
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| !c.closed && now.saturating_duration_since(c.last_seen) >= idle)
            .map(|(id, _)| *id)
            .collect();
        for conn in expired {
            self.error(conn, ErrorCode::IdleTimeout, "no traffic for too long");
            self.close(conn, ErrorCode::IdleTimeout);
        }
        self.next_sweep = if self.conns.is_empty() {
            None
        } else {
            Some(now + SWEEP_INTERVAL)
        };
    }

    /// Tells every connection the relay is going away and closes them all.
    pub fn shutdown(&mut self) {
        let all: Vec<ConnId> = self.conns.keys().copied().collect();
        for conn in all {
            self.error(conn, ErrorCode::ShuttingDown, "the relay is shutting down");
            self.close(conn, ErrorCode::ShuttingDown);
        }
    }

    // ---- outputs ------------------------------------------------------------------------------

    /// The next action for the driver.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<RelayOutput> {
        self.outputs.pop_front()
    }

    /// When to call [`Self::handle_timeout`] next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_sweep
    }

    // ---- rules --------------------------------------------------------------------------------

    fn send(&mut self, to: ConnId, frame: RelayFrame) {
        self.outputs.push_back(RelayOutput::Send { to, frame });
    }

    fn error(&mut self, to: ConnId, code: ErrorCode, message: &str) {
        self.send(
            to,
            RelayFrame::Error {
                code,
                message: message.to_owned(),
            },
        );
    }

    fn close(&mut self, conn: ConnId, code: ErrorCode) {
        self.leave(conn);
        if let Some(c) = self.conns.get_mut(&conn)
            && !c.closed
        {
            c.closed = true;
            self.outputs.push_back(RelayOutput::Close { conn, code });
        }
    }

    /// Counts a limit breach; too many close the connection.
    fn strike(&mut self, conn: ConnId, code: ErrorCode, message: &str) {
        self.stats.limit_hits += 1;
        self.error(conn, code, message);
        let max = self.limits.max_strikes;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.strikes += 1;
            if c.strikes >= max {
                self.close(conn, code);
            }
        }
    }

    fn join(&mut self, conn: ConnId, requested: RoomName, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.room.is_some() {
            return self.error(
                conn,
                ErrorCode::AlreadyInRoom,
                "leave the current room first",
            );
        }
        if !c.joins.take(now) {
            return self.strike(conn, ErrorCode::RateLimited, "too many joins");
        }
        let Some(room) = self.find_room(&requested) else {
            return self.strike(conn, ErrorCode::ServerFull, "no room available");
        };
        if room != requested {
            self.stats.redirects += 1;
            self.send(
                conn,
                RelayFrame::Redirected {
                    from: requested,
                    to: room.clone(),
                },
            );
        }
        let entry = self.rooms.entry(room.clone()).or_default();
        let seat = usize::from(entry.seats[0].is_some());
        entry.seats[seat] = Some(conn);
        let peer = entry.seats[1 - seat];
        if let Some(c) = self.conns.get_mut(&conn) {
            c.room = Some(room.clone());
        }
        self.send(
            conn,
            RelayFrame::Joined {
                room,
                seat: seat as u8,
            },
        );
        match peer {
            Some(peer) => {
                self.send(peer, RelayFrame::PeerJoined);
                self.send(conn, RelayFrame::PeerJoined);
            }
            None => self.send(conn, RelayFrame::Waiting),
        }
    }

    /// The requested room if it has a free seat (or does not exist and may be created), else the
    /// first such `name-N`.
    fn find_room(&self, requested: &RoomName) -> Option<RoomName> {
        let usable = |name: &RoomName| match self.rooms.get(name) {
            Some(room) => room.occupants() < 2,
            None => self.rooms.len() < self.limits.max_rooms,
        };
        if usable(requested) {
            return Some(requested.clone());
        }
        (2..self.limits.max_redirect_tries.saturating_add(2))
            .map(|n| redirect::alternative(requested, n))
            .find(|name| usable(name))
    }

    fn leave(&mut self, conn: ConnId) {
        let Some(room_name) = self.conns.get_mut(&conn).and_then(|c| c.room.take()) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&room_name) else {
            return;
        };
        for seat in room.seats.iter_mut() {
            if *seat == Some(conn) {
                *seat = None;
            }
        }
        let remaining: Vec<ConnId> = room.seats.iter().flatten().copied().collect();
        if remaining.is_empty() {
            self.rooms.remove(&room_name);
        }
        for peer in remaining {
            self.send(peer, RelayFrame::PeerLeft);
            self.send(peer, RelayFrame::Waiting);
        }
    }

    fn payload(&mut self, conn: ConnId, data: Vec<u8>, now: Instant) {
        if data.len() > self.limits.max_frame_body {
            return self.strike(conn, ErrorCode::FrameTooLarge, "payload too large");
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.payloads.take(now) {
            return self.strike(conn, ErrorCode::RateLimited, "too many messages");
        }
        let peer = c
            .room
            .as_ref()
            .and_then(|name| self.rooms.get(name))
            .and_then(|room| room.seats.iter().flatten().copied().find(|&s| s != conn));
        match peer {
            Some(peer) => {
                self.stats.relayed += 1;
                self.send(peer, RelayFrame::Payload(data));
            }
            None => self.error(conn, ErrorCode::NotInRoom, "no peer to relay to"),
        }
    }
}

#[cfg(test)]
mod tests;
