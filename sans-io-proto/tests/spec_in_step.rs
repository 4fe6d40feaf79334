//! PROTOCOL.md is the single source of truth for the wire formats; this test reads its "Limits at
//! a glance" table (§9) and the framing header (§3) and checks every number against the constants
//! the code uses, so the document and the code cannot drift apart silently.

use sans_io_proto::frame::{FRAME_VERSION, HEADER_LEN, MAX_FRAME_BODY};
use sans_io_proto::handshake::{HANDSHAKE_TIMEOUT, MAX_EARLY_DATA};
use sans_io_proto::ratchet::{MAX_SKIP, MAX_SKIPPED_CHAINS, MAX_STORED_SKIPPED};
use sans_io_proto::session::{MAX_PROFILE_NAME_LEN, MAX_TEXT_LEN, REPLAY_WINDOW};

const SPEC: &str = include_str!("../../PROTOCOL.md");

/// The first number of each ' / '-separated part of the value column of the §9 row whose
/// first cell starts with `limit`.
fn limit_row(limit: &str) -> Vec<u64> {
    let section = SPEC
        .split("## 9. Limits at a glance")
        .nth(1)
        .expect("PROTOCOL.md has §9");
    let row = section
        .lines()
        .find(|l| l.trim_start_matches("| ").starts_with(limit))
        .unwrap_or_else(|| panic!("§9 has no row for {limit}"));
    let value = row.split('|').nth(2).expect("a value column");
    value
        .split('/')
        .map(|part| {
            // The first number: digits, with spaces as thousands separators ("65 536 bytes").
            let digits: String = part
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit() || c.is_whitespace())
                .filter(char::is_ascii_digit)
                .collect();
            digits
                .parse()
                .unwrap_or_else(|_| panic!("{limit}: no number in {part:?}"))
        })
        .collect()
}

#[test]
fn limits_table_matches_the_code() {
    assert_eq!(limit_row("relay frame body"), [MAX_FRAME_BODY as u64]);
    assert_eq!(limit_row("text message"), [MAX_TEXT_LEN as u64]);
    assert_eq!(limit_row("display name"), [MAX_PROFILE_NAME_LEN as u64]);
    assert_eq!(
        limit_row("handshake timeout"),
        [HANDSHAKE_TIMEOUT.as_secs()]
    );
    assert_eq!(limit_row("early Data buffered"), [MAX_EARLY_DATA as u64]);
    assert_eq!(
        limit_row("MAX_SKIP"),
        [
            u64::from(MAX_SKIP),
            MAX_STORED_SKIPPED as u64,
            MAX_SKIPPED_CHAINS as u64
        ]
    );
    assert_eq!(limit_row("replay window"), [REPLAY_WINDOW]);
    assert_eq!(
        limit_row("client keepalive"),
        [sans_io_proto::client::KEEPALIVE_INTERVAL.as_secs()]
    );
}

#[test]
fn frame_header_matches_the_code() {
    let section = SPEC.split("## 3.").nth(1).expect("PROTOCOL.md has §3");
    assert!(section.contains(&format!("version   = 0x{FRAME_VERSION:02x}")));
    // The body starts right after the header: "<HEADER_LEN>      n     body".
    assert!(
        section
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [&HEADER_LEN.to_string(), "n", "body"]),
        "§3 does not put the body at offset {HEADER_LEN}"
    );
}
