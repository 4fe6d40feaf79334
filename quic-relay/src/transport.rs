//! QUIC transport settings of the relay and of the clients' connection helper (PROTOCOL.md §3.1):
//! failure detection within about 5 s, one bidirectional stream, small flow-control windows.
//!
//! **Failure detection.** A QUIC endpoint restarts its idle timer whenever a packet of the other
//! side arrives (RFC 9000 §10.1); when it runs out, the connection is gone without a word. Both
//! sides offer a [`IDLE_TIMEOUT`] of 5 s (the connection uses the smaller offer) and send a
//! keep-alive PING after [`KEEP_ALIVE`] (1.5 s) without sending anything else, which the other
//! side acknowledges. A live peer is therefore heard from at least every 1.5 s or so, three times
//! per timeout, so one or two lost packets do not end a connection; a crashed one (power off,
//! killed process, unplugged cable) is declared dead 5 s after the last packet it sent. The relay
//! then tells the other seat `PeerLeft` at once, and a client knows its relay is gone.

use std::sync::Arc;
use std::time::Duration;

/// Idle timeout offered by both sides: a connection that hears nothing for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Silence after which a side sends a QUIC PING to keep the other side's idle timer running.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);
/// Receive window of the one stream and of the whole connection, on the relay: what a client may
/// send beyond what the relay has read. When the relay stops reading (back-pressure), QUIC holds
/// at most this much and the client's writes block.
pub const RECEIVE_WINDOW: u32 = 32 * 1024;
/// Bytes the relay lets QUIC hold unacknowledged towards one client.
pub const SEND_WINDOW: u32 = 32 * 1024;

fn base() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    // Both constants are small and valid QUIC idle timeouts; `ok()` keeps QUIC's default
    // otherwise.
    t.max_idle_timeout(IDLE_TIMEOUT.try_into().ok());
    t.keep_alive_interval(Some(KEEP_ALIVE));
    // Streams the *other* side may open: none by default (set per side below).
    t.max_concurrent_bidi_streams(0u32.into());
    t.max_concurrent_uni_streams(0u32.into());
    t.datagram_receive_buffer_size(None);
    t.datagram_send_buffer_size(0);
    t
}

/// The relay's transport: [`base`] plus small windows, so one connection's QUIC buffers stay
/// within its memory reservation ([`crate::server::CONN_RESERVATION`]).
pub fn relay_transport() -> Arc<quinn::TransportConfig> {
    let mut t = base();
    // One client-opened bidirectional stream, nothing else (PROTOCOL.md §3.1).
    t.max_concurrent_bidi_streams(1u32.into());
    t.stream_receive_window(RECEIVE_WINDOW.into());
    t.receive_window(RECEIVE_WINDOW.into());
    t.send_window(u64::from(SEND_WINDOW));
    // No path MTU discovery: datagrams stay at QUIC's 1,200 bytes. Chat frames are small, and
    // quinn keeps a send buffer of one MTU per connection: 1.3 KiB less per idle connection
    // (BENCHMARKS.md, relay memory).
    t.mtu_discovery_config(None);
    Arc::new(t)
}

/// The clients' transport (the connection helper in [`crate::client`]): the same failure
/// detection; the relay may open no stream; QUIC's default windows.
pub fn client_transport() -> Arc<quinn::TransportConfig> {
    Arc::new(base())
}
