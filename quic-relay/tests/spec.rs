//! PROTOCOL.md §3 is what an independent client is written from: this test reads its limits table
//! (§3.6), its error table (§3.3) and its transport figures (§3.1), and checks each against the
//! constants the relay runs with, so the document and the relay cannot drift apart silently.

use std::time::Duration;

use quic_relay::core::{FRAME_OVERHEAD, Limits};
use quic_relay::server::{
    CLOSE_LINGER, CONN_RESERVATION, CONTROL_ALLOWANCE, MAX_DATAGRAM, MAX_QUEUED_DATAGRAMS,
    MAX_REFUSALS,
};
use quic_relay::transport::{IDLE_TIMEOUT, KEEP_ALIVE, RECEIVE_WINDOW, SEND_WINDOW};
use sans_io_proto::frame::{ErrorCode, MAX_FRAME_BODY};

const SPEC: &str = include_str!("../../PROTOCOL.md");

fn section(start: &str, end: &str) -> &'static str {
    let from = SPEC
        .find(start)
        .unwrap_or_else(|| panic!("PROTOCOL.md has {start}"));
    let rest = &SPEC[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// The numbers of the value column of the §3.6 row whose first cell starts with `limit`
/// (digits with spaces as thousands separators; `a / b` gives two).
fn row(limit: &str) -> Vec<f64> {
    let table = section("### 3.6", "## 4.");
    let line = table
        .lines()
        .find(|l| l.trim_start_matches("| ").starts_with(limit))
        .unwrap_or_else(|| panic!("§3.6 has no row for {limit}"));
    let value = line.split('|').nth(2).expect("a value column");
    value
        .split('/')
        .map(|part| {
            let digits: String = part
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit() || *c == ' ')
                .filter(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("{limit}: no number in {part:?}"))
        })
        .collect()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[test]
fn the_limits_table_is_the_relays_defaults() {
    let d = Limits::default();
    assert_eq!(row("connections at once"), [d.max_connections as f64]);
    assert_eq!(row("memory bound"), [(d.max_memory >> 20) as f64]);
    assert_eq!(
        row("reservation per connection"),
        [(CONN_RESERVATION >> 10) as f64]
    );
    assert_eq!(
        row("outbound queue per seat"),
        [(d.queue_bytes >> 10) as f64]
    );
    assert_eq!(row("write-stall timeout"), [secs(d.write_stall_timeout)]);
    assert_eq!(row("stream deadline"), [secs(d.stream_timeout)]);
    assert_eq!(row("idle timeout"), [secs(d.idle_timeout)]);
    assert_eq!(
        row("QUIC idle timeout / keep-alive"),
        [secs(IDLE_TIMEOUT), secs(KEEP_ALIVE)]
    );
    assert_eq!(
        row("frames per second"),
        [d.frames_per_second, d.frame_burst]
    );
    assert_eq!(
        row("payload bytes per second"),
        [d.bytes_per_second, d.byte_burst]
    );
    assert_eq!(row("joins per second"), [d.joins_per_second, d.join_burst]);
    assert_eq!(row("rooms at once"), [d.max_rooms as f64]);
    assert_eq!(row("redirect tries"), [f64::from(d.max_redirect_tries)]);
    assert_eq!(row("frame body"), [MAX_FRAME_BODY as f64]);
    assert_eq!(row("strikes before a close"), [f64::from(d.max_strikes)]);
    assert_eq!(row("close linger"), [secs(CLOSE_LINGER)]);
    assert_eq!(row("refusals with an"), [MAX_REFUSALS as f64]);
    assert_eq!(
        row("datagrams waiting per connection"),
        [MAX_QUEUED_DATAGRAMS as f64, MAX_DATAGRAM as f64]
    );
}

#[test]
fn the_prose_figures_are_the_relays() {
    let transport = section("### 3.1", "### 3.2");
    for needle in [
        format!("receive window of **{} KiB**", RECEIVE_WINDOW >> 10),
        format!("at most **{} KiB** unacknowledged", SEND_WINDOW >> 10),
        format!("`max_idle_timeout` of\n  **{} s**", IDLE_TIMEOUT.as_secs()),
        format!("after **{} s** without", KEEP_ALIVE.as_secs()),
        format!(
            "within **{} s** of the handshake",
            Limits::default().stream_timeout.as_secs()
        ),
        format!("up to **{} s**", CLOSE_LINGER.as_secs()),
        format!(
            "`max_udp_payload_size` of **{},{:03}** bytes",
            MAX_DATAGRAM / 1000,
            MAX_DATAGRAM % 1000
        ),
        format!("at most **{MAX_QUEUED_DATAGRAMS}** waiting"),
        "ALPN `e2e-chat/1`".to_owned(),
    ] {
        assert!(transport.contains(&needle), "§3.1 does not say {needle:?}");
    }
    assert_eq!(quic_relay::ALPN, b"e2e-chat/1");
    let memory = section("### 3.6", "| limit |");
    let reservation = CONN_RESERVATION >> 10;
    let state = quic_relay::server::STATE_ALLOWANCE >> 10;
    for needle in [
        format!("reservation of **{reservation} KiB**"),
        format!("{state} KiB for its QUIC and TLS state"),
        format!("its {} KiB receive window", RECEIVE_WINDOW >> 10),
        format!("{} KiB send window", SEND_WINDOW >> 10),
        format!("{} KiB for room events", CONTROL_ALLOWANCE >> 10),
        format!("plus {FRAME_OVERHEAD} bytes of bookkeeping"),
        format!(
            "one queue's worth ({} KiB)",
            Limits::default().queue_bytes >> 10
        ),
        format!("Beyond {MAX_REFUSALS} such refusals"),
    ] {
        assert!(memory.contains(&needle), "§3.6 does not say {needle:?}");
    }
}

#[test]
fn the_error_table_is_the_codec() {
    let table = section("### 3.3", "### 3.4");
    let mut codes = 0;
    for line in table.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Ok(code) = cells[1].parse::<u16>() else {
            continue;
        };
        codes += 1;
        if code == 0 {
            continue;
        }
        let name = format!("{:?}", ErrorCode::from_u16(code));
        assert_eq!(name, cells[2], "code {code}");
        assert_eq!(ErrorCode::from_u16(code).to_u16(), code);
    }
    assert_eq!(codes, 13, "codes 0 to 12");
    assert!(matches!(ErrorCode::from_u16(13), ErrorCode::Unknown(13)));
}
