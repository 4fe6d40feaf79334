//! The relay's rules as sans-IO state machines (quinn-proto style): no sockets, no clock, no
//! threads. The server ([`crate::server`]) runs exactly these pieces, spread over tasks; the
//! simulator and the fuzzers run them through [`RelayCore`], all in one place.
//!
//! - [`ConnState`] (`conn.rs`): one connection's rate shaping, idle timeout and strikes, and
//!   where it sits.
//! - [`RoomShard`] (`shard.rs`): the rooms of one shard: seats, redirects and pairings; paired
//!   connections send payloads to each other directly. Rooms are spread over shards by [`shard_of`] so that a room and its overflow rooms
//!   share one.
//! - [`RelayCore`] (here): N shards and all connections wired together synchronously, with the
//!   original single-object interface:
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

mod conn;
mod limits;
mod redirect;
mod shard;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

pub use conn::{Admit, ConnEvent, ConnId, ConnOutput, ConnState, ShardCall};
pub use limits::{FRAME_OVERHEAD, Limits, LimitsError, frame_cost};
pub use redirect::{shard_key, shard_of};
pub use shard::{PairingId, RoomShard, ShardEvent, ShardOutput, ShardRequest, ShardStats};

use sans_io_proto::frame::{ClientFrame, ErrorCode, FrameError, RelayFrame, RoomName};

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

/// Counters for logs, tests and the load tool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections currently counted (accepted and not yet closed).
    pub connections: usize,
    /// Rooms currently existing.
    pub rooms: usize,
    /// Payload frames relayed so far.
    pub relayed: u64,
    /// Payloads dropped so far because no peer was there (counted where the drop is noticed).
    pub dropped: u64,
    /// Redirects so far.
    pub redirects: u64,
    /// Joins refused so far.
    pub refused: u64,
    /// Bytes of memory committed now (server only; see [`Limits::max_memory`]).
    pub memory: usize,
}

/// Frames a driver without flow control may hand over beyond what the rates admit before the
/// connection is closed with `RateLimited`. The server never gets here: it stops reading instead.
pub const MAX_UNADMITTED: usize = 1024;

struct CoreConn {
    state: ConnState,
    /// The peer's connection and the pairing, as the shard announced them.
    peer: Option<(PairingId, ConnId)>,
    /// Frames handed over but not yet admitted (rate limit), oldest first.
    waiting: VecDeque<ClientFrame>,
    wake: Option<Instant>,
}

/// N shards and every connection in one deterministic object (the simulator's and the fuzzers'
/// relay). Shard calls are answered at once, so a `Join` or `Leave` never keeps the next frame
/// waiting here; rate limits do, as in the server.
pub struct RelayCore {
    limits: Limits,
    conns: HashMap<ConnId, CoreConn>,
    shards: Vec<RoomShard<ConnId>>,
    next_id: u64,
    outputs: VecDeque<RelayOutput>,
    relayed: u64,
    dropped: u64,
}

impl RelayCore {
    /// A relay with these limits and one shard.
    pub fn new(limits: Limits) -> Self {
        Self::with_shards(limits, 1)
    }

    /// A relay with these limits and `shards` shards (as the server runs with `--workers`).
    pub fn with_shards(limits: Limits, shards: usize) -> Self {
        let shards = shards.max(1);
        let per_shard = limits.max_rooms.div_ceil(shards);
        RelayCore {
            shards: (0..shards)
                .map(|_| RoomShard::new(per_shard, limits.max_redirect_tries))
                .collect(),
            limits,
            conns: HashMap::new(),
            next_id: 1,
            outputs: VecDeque::new(),
            relayed: 0,
            dropped: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Current counters.
    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            connections: self.conns.len(),
            relayed: self.relayed,
            dropped: self.dropped + self.conns.values().map(|c| c.state.dropped()).sum::<u64>(),
            ..Stats::default()
        };
        for shard in &self.shards {
            let st = shard.stats();
            s.rooms += st.rooms;
            s.redirects += st.redirects;
            s.refused += st.refused;
        }
        s
    }

    /// The room a connection sits in, if any (a closing connection has left its room).
    pub fn room_of(&self, conn: ConnId) -> Option<&RoomName> {
        self.conns
            .get(&conn)
            .filter(|c| !c.state.is_closed())
            .and_then(|c| c.state.room())
    }

    /// Whether the driver may hand over more frames of `conn` now (a driver with flow control
    /// stops reading while this is false).
    pub fn wants_input(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.waiting.is_empty())
    }

    // ---- inputs -------------------------------------------------------------------------------

    /// A new connection.
    pub fn handle_connect(&mut self, now: Instant) -> Result<ConnId, ConnectError> {
        if self.conns.len() >= self.limits.max_connections {
            return Err(ConnectError::ServerFull);
        }
        let id = ConnId(self.next_id);
        self.next_id += 1;
        self.conns.insert(
            id,
            CoreConn {
                state: ConnState::new(&self.limits, self.shards.len(), now),
                peer: None,
                waiting: VecDeque::new(),
                wake: None,
            },
        );
        Ok(id)
    }

    /// A decoded frame from a connection.
    pub fn handle_frame(&mut self, conn: ConnId, frame: ClientFrame, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.state.is_closed() {
            return;
        }
        if c.waiting.len() >= MAX_UNADMITTED {
            c.waiting.clear();
            c.state.handle_overrun();
            self.drain_conn(conn);
            return;
        }
        c.waiting.push_back(frame);
        self.pump(conn, now);
    }

    /// The connection's bytes could not be decoded: tell it why and close it (framing is lost).
    pub fn handle_decode_error(&mut self, conn: ConnId, error: &FrameError) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.waiting.clear();
            c.state.handle_decode_error(error);
            self.drain_conn(conn);
        }
    }

    /// The connection is gone (closed by the peer, timed out, or after our `Close`).
    pub fn handle_disconnect(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.dropped += c.state.dropped();
        if let Some(shard) = c.state.shard() {
            self.call_shard(shard, ShardRequest::Disconnect { conn });
        }
    }

    /// Time passed: admit frames whose tokens are back, close idle connections.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.wake.is_some_and(|t| t <= now) || c.state.poll_timeout().is_some_and(|t| t <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        due.sort_unstable();
        for conn in due {
            self.pump(conn, now);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.state.handle_timeout(now);
                self.drain_conn(conn);
            }
        }
    }

    /// Tells every connection the relay is going away and closes them all (nobody is told
    /// `PeerLeft`: everyone is told `ShuttingDown`).
    pub fn shutdown(&mut self) {
        let mut all: Vec<ConnId> = self.conns.keys().copied().collect();
        all.sort_unstable();
        for conn in &all {
            if let Some(c) = self.conns.get_mut(conn) {
                c.waiting.clear();
                c.state.shutdown();
            }
        }
        for conn in all {
            self.drain_conn(conn);
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
        self.conns
            .values()
            .flat_map(|c| [c.wake, c.state.poll_timeout()])
            .flatten()
            .min()
    }

    // ---- wiring -------------------------------------------------------------------------------

    /// Hands `conn`'s waiting frames to its state as far as the rates admit.
    fn pump(&mut self, conn: ConnId, now: Instant) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            c.wake = None;
            let Some(frame) = c.waiting.front() else {
                return;
            };
            match c.state.admit(frame, now) {
                Admit::Now => {
                    let Some(frame) = c.waiting.pop_front() else {
                        return;
                    };
                    c.state.handle_frame(frame, now);
                    self.drain_conn(conn);
                }
                Admit::At(t) => {
                    c.wake = Some(t);
                    return;
                }
                // Shard calls are answered synchronously here; cannot persist.
                Admit::AfterShard => return,
            }
        }
    }

    /// Routes everything `conn`'s state wants done, and what that causes.
    fn drain_conn(&mut self, conn: ConnId) {
        while let Some(out) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.state.poll_output())
        {
            self.route_conn_output(conn, out);
        }
    }

    fn route_conn_output(&mut self, conn: ConnId, out: ConnOutput) {
        match out {
            ConnOutput::Send(frame) => self
                .outputs
                .push_back(RelayOutput::Send { to: conn, frame }),
            ConnOutput::Close(code) => {
                self.outputs.push_back(RelayOutput::Close { conn, code });
                // A closing connection leaves its room at once: its peer is told now, not when
                // the transport is finally gone.
                if let Some(shard) = self.conns.get(&conn).and_then(|c| c.state.shard()) {
                    self.call_shard(shard, ShardRequest::Disconnect { conn });
                }
            }
            ConnOutput::ToShard { shard, call } => {
                let request = match call {
                    ShardCall::Join(room) => ShardRequest::Join {
                        conn,
                        room,
                        handle: conn,
                    },
                    ShardCall::Leave => ShardRequest::Leave { conn },
                };
                self.call_shard(shard, request);
            }
            ConnOutput::ToPeer { pairing, body } => {
                // As in the server: straight to the peer the shard named, which takes it only
                // while still in that pairing.
                let to = self
                    .conns
                    .get(&conn)
                    .and_then(|c| c.peer)
                    .filter(|(p, _)| *p == pairing)
                    .map(|(_, to)| to)
                    .filter(|to| self.conns.get(to).is_some_and(|c| c.state.accepts(pairing)));
                match to {
                    Some(to) => {
                        self.relayed += 1;
                        self.outputs.push_back(RelayOutput::Send {
                            to,
                            frame: RelayFrame::Payload(body),
                        });
                    }
                    None => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            c.state.handle_event(ConnEvent::Dropped);
                        }
                        self.drain_conn(conn);
                    }
                }
            }
        }
    }

    /// Whether frames may still be sent to `conn` (nothing is, once it is closing).
    fn is_open(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| !c.state.is_closed())
    }

    fn call_shard(&mut self, shard: usize, request: ShardRequest<ConnId>) {
        let Some(s) = self.shards.get_mut(shard) else {
            return;
        };
        s.handle_request(request);
        let mut events = Vec::new();
        while let Some(out) = s.poll_output() {
            events.push(out);
        }
        for ShardOutput { to, event } in events {
            let state_event = match event {
                ShardEvent::Frame(frame) => {
                    if self.is_open(to) {
                        self.outputs.push_back(RelayOutput::Send { to, frame });
                    }
                    continue;
                }
                ShardEvent::JoinDone(room) => ConnEvent::JoinDone(room),
                ShardEvent::Paired(p) => {
                    if let Some(c) = self.conns.get_mut(&to) {
                        c.peer = p;
                    }
                    ConnEvent::Paired(p.map(|(id, _)| id))
                }
                ShardEvent::Left => ConnEvent::Left,
            };
            if let Some(c) = self.conns.get_mut(&to) {
                c.state.handle_event(state_event);
                self.drain_conn(to);
            }
        }
    }
}

#[cfg(test)]
mod tests;
