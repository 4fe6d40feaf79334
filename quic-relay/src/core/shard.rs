//! One shard of the room logic: the rooms whose family ([`super::redirect::shard_of`]) hashes to
//! it, their seats, redirects and pairings. A shard owns its rooms outright and talks to
//! connections only through messages ([`ShardRequest`] in, [`ShardOutput`] out), so the server
//! can run one per core, and a later cluster can run them anywhere.
//!
//! Payloads do not pass through the shard: when it pairs two seats it hands each the other's
//! handle (`H`: a connection id in the simulator, a mailbox and queue in the server; the shard
//! never looks inside) and the pairing's id, and the connections send payloads to each other
//! directly, tagged with the pairing. The receiver takes a payload only while it is still in that
//! pairing (PROTOCOL.md §3.5).
//!
//! ```text
//! handle_request(ShardRequest) ──► poll_output() -> ShardOutput { to: H, event: ShardEvent }
//! ```
//!
//! Rules (PROTOCOL.md §3.4): two seats per room; the first in is told `Waiting`, the second makes
//! both `PeerJoined`; a newcomer to a full room goes to the first of `name-2`, `name-3`, ... that
//! is not full; a pairing ends when either seat leaves.

use std::collections::{HashMap, VecDeque};

use sans_io_proto::frame::{ErrorCode, RelayFrame, RoomName};

use super::ConnId;
use super::redirect;

/// One pairing of two seats, unique within its shard. A payload names the pairing its sender was
/// in, so one sent to a peer that has since left (and maybe come back) is dropped, never delivered
/// into the next pairing. (Ids of different shards may coincide; a connection only ever compares
/// ids of the shard it sits in.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PairingId(pub u64);

/// A message from a connection to the shard that owns its room.
#[derive(Debug)]
pub enum ShardRequest<H> {
    /// Take a seat in `room` (or a redirect of it).
    Join {
        /// Who.
        conn: ConnId,
        /// The room asked for.
        room: RoomName,
        /// How to reach the connection.
        handle: H,
    },
    /// Give up the seat; answered with [`ShardEvent::Left`].
    Leave {
        /// Who.
        conn: ConnId,
    },
    /// The connection is gone: give up its seat, answer nothing.
    Disconnect {
        /// Who.
        conn: ConnId,
    },
}

/// What a shard tells one connection.
#[derive(Debug)]
pub enum ShardEvent<H> {
    /// A room event for the client: `Redirected`, `Joined`, `Waiting`, `PeerJoined`, `PeerLeft`,
    /// or an `Error` (`ServerFull`, `AlreadyInRoom`) answering a join.
    Frame(RelayFrame),
    /// The join is answered: seated in this room, or refused (after an `Error` frame).
    JoinDone(Option<RoomName>),
    /// The current peer (its pairing and how to reach it), or none.
    Paired(Option<(PairingId, H)>),
    /// The `Leave` is processed: nothing of the old room follows.
    Left,
}

/// One event for one connection.
#[derive(Debug)]
pub struct ShardOutput<H> {
    /// The connection.
    pub to: H,
    /// The event.
    pub event: ShardEvent<H>,
}

/// Counters of one shard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardStats {
    /// Rooms existing now.
    pub rooms: usize,
    /// Redirects so far.
    pub redirects: u64,
    /// Joins refused so far.
    pub refused: u64,
}

struct Seat<H> {
    conn: ConnId,
    handle: H,
}

struct Room<H> {
    seats: [Option<Seat<H>>; 2],
    pairing: Option<PairingId>,
}

impl<H> Room<H> {
    fn occupants(&self) -> usize {
        self.seats.iter().flatten().count()
    }
}

/// The rooms of one shard.
pub struct RoomShard<H> {
    max_rooms: usize,
    max_redirect_tries: u32,
    rooms: HashMap<RoomName, Room<H>>,
    /// The room each seated connection sits in.
    seated: HashMap<ConnId, RoomName>,
    next_pairing: u64,
    outputs: VecDeque<ShardOutput<H>>,
    stats: ShardStats,
}

impl<H: Clone> RoomShard<H> {
    /// A shard holding at most `max_rooms` rooms, trying `max_redirect_tries` alternatives of a
    /// full room.
    pub fn new(max_rooms: usize, max_redirect_tries: u32) -> Self {
        RoomShard {
            max_rooms,
            max_redirect_tries,
            rooms: HashMap::new(),
            seated: HashMap::new(),
            next_pairing: 0,
            outputs: VecDeque::new(),
            stats: ShardStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ShardStats {
        ShardStats {
            rooms: self.rooms.len(),
            ..self.stats
        }
    }

    /// The room `conn` sits in, if it sits in this shard.
    pub fn room_of(&self, conn: ConnId) -> Option<&RoomName> {
        self.seated.get(&conn)
    }

    /// Handles one message.
    pub fn handle_request(&mut self, request: ShardRequest<H>) {
        match request {
            ShardRequest::Join { conn, room, handle } => self.join(conn, room, handle),
            ShardRequest::Leave { conn } => {
                let handle = self.vacate(conn);
                if let Some(handle) = handle {
                    self.emit(handle, ShardEvent::Left);
                }
            }
            ShardRequest::Disconnect { conn } => {
                self.vacate(conn);
            }
        }
    }

    /// The next event for a connection.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<ShardOutput<H>> {
        self.outputs.pop_front()
    }

    fn emit(&mut self, to: H, event: ShardEvent<H>) {
        self.outputs.push_back(ShardOutput { to, event });
    }

    fn frame(&mut self, to: &H, frame: RelayFrame) {
        self.emit(to.clone(), ShardEvent::Frame(frame));
    }

    fn join(&mut self, conn: ConnId, requested: RoomName, handle: H) {
        if self.seated.contains_key(&conn) {
            // The connection state never asks twice; answer like the protocol says anyway.
            self.frame(
                &handle,
                RelayFrame::error(ErrorCode::AlreadyInRoom, "leave the current room first"),
            );
            self.emit(handle, ShardEvent::JoinDone(None));
            return;
        }
        let Some(name) = self.find_room(&requested) else {
            self.stats.refused += 1;
            self.frame(
                &handle,
                RelayFrame::error(ErrorCode::ServerFull, "no room available"),
            );
            self.emit(handle, ShardEvent::JoinDone(None));
            return;
        };
        if name != requested {
            self.stats.redirects += 1;
            self.frame(
                &handle,
                RelayFrame::Redirected {
                    from: requested,
                    to: name.clone(),
                },
            );
        }
        let room = self.rooms.entry(name.clone()).or_insert_with(|| Room {
            seats: [None, None],
            pairing: None,
        });
        let seat = usize::from(room.seats[0].is_some());
        room.seats[seat] = Some(Seat {
            conn,
            handle: handle.clone(),
        });
        let peer = room.seats[1 - seat].as_ref().map(|s| s.handle.clone());
        let pairing = peer.as_ref().map(|_| {
            self.next_pairing += 1;
            PairingId(self.next_pairing)
        });
        room.pairing = pairing;
        self.seated.insert(conn, name.clone());
        self.frame(
            &handle,
            RelayFrame::Joined {
                room: name.clone(),
                seat: seat as u8,
            },
        );
        match (peer, pairing) {
            (Some(peer), Some(pairing)) => {
                // Frames first, then the pairing: whoever learns of the pairing can only send
                // into it after both clients' PeerJoined are queued.
                self.frame(&peer, RelayFrame::PeerJoined);
                self.frame(&handle, RelayFrame::PeerJoined);
                self.emit(handle.clone(), ShardEvent::JoinDone(Some(name)));
                self.emit(
                    peer.clone(),
                    ShardEvent::Paired(Some((pairing, handle.clone()))),
                );
                self.emit(handle, ShardEvent::Paired(Some((pairing, peer))));
            }
            _ => {
                self.frame(&handle, RelayFrame::Waiting);
                self.emit(handle, ShardEvent::JoinDone(Some(name)));
            }
        }
    }

    /// The requested room if it has a free seat (or does not exist and may be created), else the
    /// first such `name-N`.
    fn find_room(&self, requested: &RoomName) -> Option<RoomName> {
        let usable = |name: &RoomName| match self.rooms.get(name) {
            Some(room) => room.occupants() < 2,
            None => self.rooms.len() < self.max_rooms,
        };
        if usable(requested) {
            return Some(requested.clone());
        }
        (2..self.max_redirect_tries.saturating_add(2))
            .map(|n| redirect::alternative(requested, n))
            .find(|name| usable(name))
    }

    /// Frees `conn`'s seat and tells the other seat; returns `conn`'s handle if it was seated.
    fn vacate(&mut self, conn: ConnId) -> Option<H> {
        let name = self.seated.remove(&conn)?;
        let room = self.rooms.get_mut(&name)?;
        let mut own = None;
        for seat in room.seats.iter_mut() {
            if seat.as_ref().is_some_and(|s| s.conn == conn) {
                own = seat.take().map(|s| s.handle);
            }
        }
        room.pairing = None;
        let peer = room.seats.iter().flatten().next().map(|s| s.handle.clone());
        match peer {
            Some(peer) => {
                self.frame(&peer, RelayFrame::PeerLeft);
                self.frame(&peer, RelayFrame::Waiting);
                self.emit(peer, ShardEvent::Paired(None));
            }
            None => {
                self.rooms.remove(&name);
            }
        }
        own
    }
}
