//! The relay: rooms of two clients over QUIC, forwarding opaque end-to-end encrypted payloads.
//!
//! - [`core`]: the rules as sans-IO state machines (a connection's [`core::ConnState`], a shard of
//!   rooms [`core::RoomShard`], both wired together in [`core::RelayCore`]), deterministic and
//!   socket-free, so the simulator drives exactly what the server runs.
//! - [`server`]: the quinn/tokio server around them ([`server::Relay`]): room shards on N workers,
//!   one task per connection, back-pressure and a relay-wide memory bound; embeddable (the
//!   desktop client starts one in-process when no relay runs locally).
//! - [`transport`]: the QUIC settings of both sides (keep-alive and idle timeout for failure
//!   detection within about 5 s, one stream).
//! - [`cert`] and [`pin`]: the relay's self-signed certificate and the clients' pinned verifier.
//! - [`client`]: a small connection helper shared by tests, the load tool and the desktop client.
//!
//! The relay never holds a key of the clients and never stores a payload.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cert;
pub mod client;
pub mod core;
pub mod pin;
pub mod server;
pub mod socket;
pub mod transport;

/// ALPN protocol name of the relay.
pub const ALPN: &[u8] = b"e2e-chat/1";
/// Default UDP port.
pub const DEFAULT_PORT: u16 = 4433;
/// Server name clients use for TLS (the pin, not the name, authenticates the relay).
pub const SERVER_NAME: &str = "localhost";
