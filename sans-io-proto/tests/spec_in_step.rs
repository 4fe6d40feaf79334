//! PROTOCOL.md is the single source of truth for the wire formats; this test reads its tables —
//! the envelope types and sizes (§4), the limits at a glance (§11), the content types (§7.2) — and
//! the framing and envelope headers (§3, §4), and checks each against the code, so the document and
//! the code cannot drift apart silently. Content type bytes are private to the code, so they are
//! checked on the wire: Data bodies written by the real code are read with the spec's keys
//! (`common::spec`), and bodies written from the spec's table are read by the real code.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use common::{pair, spec, text};
use sans_io_proto::client::{
    ABORT_WINDOW, MAX_ABORTS, MAX_PENDING_UNAPPROVED, RECLAIM_FOR, RECLAIM_INTERVAL, RENEW_AFTER,
    RESUME_TIMEOUT, RESUME_WINDOW,
};
use sans_io_proto::delivery::{
    MAX_HELD, MAX_HELD_BYTES, MAX_NUMBER, MAX_OUTBOX, MAX_OUTBOX_BYTES, MAX_STREAMS,
    MAX_UNCONFIRMED, MAX_UNCONFIRMED_BYTES, MessageId, RESEND_AFTER, RESEND_MAX, WINDOW,
};
use sans_io_proto::envelope::{
    BODY_BUCKET, DATA_OVERHEAD, E2E_VERSION, EnvelopeType, MAX_BODY_BUCKETS, PREFIX_LEN,
};
use sans_io_proto::frame::{FRAME_VERSION, HEADER_LEN, MAX_FRAME_BODY};
use sans_io_proto::handshake::{HANDSHAKE_TIMEOUT, MAX_EARLY_DATA};
use sans_io_proto::identity::{
    KEY_VISUAL_SIZE, QR_TEXT_PREFIX, SAFETY_NUMBER_DIGITS, SAS_BITS, SAS_EMOJI_COUNT,
};
use sans_io_proto::identity_file::Argon2Params;
use sans_io_proto::ratchet::{MAX_SKIP, MAX_SKIPPED_CHAINS, MAX_STORED_SKIPPED};
use sans_io_proto::session::{
    ContentError, MAX_ACK_IDS, MAX_EXPIRE_SECS, MAX_PADDING, MAX_PROFILE_NAME_LEN, MAX_TEXT_LEN,
    MIN_PADDING, REPLAY_WINDOW,
};
use sans_io_proto::{Content, DecryptError, Role};

const SPEC: &str = include_str!("../../PROTOCOL.md");

/// The text of the section whose heading starts with `heading` (up to the next heading of the
/// same or a higher level).
fn section(heading: &str) -> &'static str {
    let level = heading.chars().take_while(|&c| c == '#').count();
    let start = SPEC
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("PROTOCOL.md has no {heading:?}"));
    let rest = &SPEC[start + 1..];
    let end = rest
        .match_indices("\n#")
        .map(|(i, _)| i)
        .find(|&i| {
            let hashes = rest[i + 1..].chars().take_while(|&c| c == '#').count();
            hashes <= level
        })
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The cells of every table row of `text` (header and separator rows excluded).
fn table_rows(text: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = text
        .lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('|').trim().to_string())
                .collect()
        })
        .collect();
    rows.into_iter()
        .skip(2) // header, |---|
        .collect()
}

/// Every number in `text`, reading "65 536" as one number (a space followed by exactly three
/// digits is a thousands separator) and skipping digits that are part of a word ("UTF-8").
fn numbers(text: &str) -> Vec<u64> {
    let b = text.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-' || b[i - 1] == b'_') {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        let mut digits = String::new();
        while i < b.len() && b[i].is_ascii_digit() {
            digits.push(b[i] as char);
            i += 1;
        }
        while i < b.len()
            && b[i] == b' '
            && b.get(i + 1..i + 4)
                .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit)
        {
            digits.push_str(std::str::from_utf8(&b[i + 1..i + 4]).unwrap());
            i += 4;
        }
        out.push(digits.parse().unwrap());
    }
    out
}

fn hex_byte(cell: &str) -> u8 {
    u8::from_str_radix(cell.trim_start_matches("0x"), 16).unwrap_or_else(|_| panic!("{cell}"))
}

#[test]
fn the_number_parser_reads_the_spec_conventions() {
    assert_eq!(numbers("65 536 bytes"), [65_536]);
    assert_eq!(numbers("256 · k bytes, 1 ≤ k ≤ 254"), [256, 1, 254]);
    assert_eq!(numbers("1000 / 2000 / 5"), [1000, 2000, 5]);
    assert_eq!(
        numbers("1 000 entries, 4 MiB, numbers spanning < 1 024"),
        [1000, 4, 1024]
    );
    assert_eq!(numbers("0 ..= 31 536 000 s"), [0, 31_536_000]);
    assert_eq!(numbers("16 384 bytes of UTF-8"), [16_384]);
}

#[test]
fn envelope_table_matches_the_code_and_the_wire() {
    let s = section("## 4. End-to-end envelope");
    assert!(s.contains(&format!("e2e_version = 0x{E2E_VERSION:02x}")));
    let rows = table_rows(s);
    assert_eq!(
        rows.len(),
        EnvelopeType::ALL.len(),
        "one row per envelope type"
    );
    let wire = pair(3).wire;
    for row in &rows {
        let byte = hex_byte(&row[0]);
        let kind = EnvelopeType::from_byte(byte).unwrap_or_else(|| panic!("type {byte:#04x}"));
        assert_eq!(kind.to_byte(), byte);
        assert_eq!(
            format!("{kind:?}"),
            row[1],
            "type {byte:#04x} is named {}",
            row[1]
        );
        let size = numbers(&row[3]);
        match kind.handshake_body_len() {
            Some(len) => {
                assert_eq!(size, [len as u64], "{kind:?}");
                // And the real code sends exactly that.
                for (_, m) in wire.iter().filter(|(_, m)| m[1] == byte) {
                    assert_eq!(m.len(), PREFIX_LEN + len, "{kind:?} on the wire");
                    assert_eq!(m[0], E2E_VERSION);
                }
                assert!(
                    wire.iter().any(|(_, m)| m[1] == byte),
                    "{kind:?} never sent"
                );
            }
            None => {
                // "352 + 256·k, 1 ≤ k ≤ 254"
                assert_eq!(
                    size,
                    [
                        (DATA_OVERHEAD - PREFIX_LEN) as u64,
                        BODY_BUCKET as u64,
                        1,
                        MAX_BODY_BUCKETS as u64
                    ]
                );
            }
        }
    }
}

/// The value cell of the §11 row whose first cell starts with `name`.
fn limit(rows: &[Vec<String>], name: &str) -> Vec<u64> {
    let row = rows
        .iter()
        .find(|r| r[0].starts_with(name))
        .unwrap_or_else(|| panic!("§11 has no row for {name}"));
    numbers(&row[1])
}

#[test]
fn limits_table_matches_the_code() {
    let rows = table_rows(section("## 11. Limits at a glance"));
    let secs = |d: Duration| d.as_secs();
    let mib = |n: usize| (n / (1024 * 1024)) as u64;
    let mut checked = Vec::new();
    let mut check = |name: &'static str, want: Vec<u64>| {
        assert_eq!(limit(&rows, name), want, "§11 {name}");
        checked.push(name);
    };
    check("relay frame body", vec![MAX_FRAME_BODY as u64]);
    check(
        "Data envelope body",
        vec![BODY_BUCKET as u64, 1, MAX_BODY_BUCKETS as u64],
    );
    check("text message", vec![MAX_TEXT_LEN as u64]);
    check("display name", vec![MAX_PROFILE_NAME_LEN as u64]);
    check("handshake timeout", vec![secs(HANDSHAKE_TIMEOUT)]);
    check("early Data kept", vec![MAX_EARLY_DATA as u64]);
    check(
        "aborted key exchanges",
        vec![MAX_ABORTS as u64, secs(ABORT_WINDOW) / 60],
    );
    check(
        "MAX_SKIP",
        vec![
            u64::from(MAX_SKIP),
            MAX_STORED_SKIPPED as u64,
            MAX_SKIPPED_CHAINS as u64,
        ],
    );
    // §6.4: the stored chains' header keys, HKr and NHKr.
    check("candidate header keys", vec![MAX_SKIPPED_CHAINS as u64 + 2]);
    check("replay window", vec![REPLAY_WINDOW]);
    check(
        "outbox per peer",
        vec![MAX_OUTBOX as u64, mib(MAX_OUTBOX_BYTES), WINDOW],
    );
    check("held", vec![MAX_HELD as u64, mib(MAX_HELD_BYTES)]);
    check("contents kept while", vec![MAX_PENDING_UNAPPROVED as u64]);
    check("ids per Ack", vec![MAX_ACK_IDS as u64]);
    check("resend after", vec![secs(RESEND_AFTER), secs(RESEND_MAX)]);
    check(
        "session kept for resumption",
        vec![secs(RESUME_WINDOW) / 60, secs(RESUME_TIMEOUT)],
    );
    check(
        "disappearing-messages timer",
        vec![0, u64::from(MAX_EXPIRE_SECS)],
    );
    check("sending chain renewed after", vec![u64::from(RENEW_AFTER)]);
    check("streams of a peer remembered", vec![MAX_STREAMS as u64]);
    check(
        "asking again for the kept session's room",
        vec![secs(RECLAIM_INTERVAL), secs(RECLAIM_FOR)],
    );
    check(
        "shown entries waiting",
        vec![
            MAX_UNCONFIRMED as u64,
            mib(MAX_UNCONFIRMED_BYTES),
            (MAX_UNCONFIRMED + MAX_HELD) as u64,
            mib(MAX_UNCONFIRMED_BYTES + MAX_HELD_BYTES),
        ],
    );
    let a = Argon2Params::DEFAULT;
    assert!(a.is_accepted());
    check(
        "Argon2id parameters accepted",
        vec![
            u64::from(Argon2Params::MIN_M_COST_KIB_PER_LANE),
            u64::from(Argon2Params::MAX_M_COST_KIB),
            u64::from(Argon2Params::MIN_T_COST),
            u64::from(Argon2Params::MAX_T_COST),
            u64::from(Argon2Params::MIN_LANES),
            u64::from(Argon2Params::MAX_LANES),
        ],
    );
    assert_eq!(MAX_OUTBOX_BYTES, 4 * 1024 * 1024);
    assert_eq!(MAX_HELD_BYTES, 4 * 1024 * 1024);
    assert_eq!(secs(ABORT_WINDOW) % 60, 0);
    assert_eq!(secs(RESUME_WINDOW) % 60, 0);
    let counters = rows
        .iter()
        .find(|r| r[0].starts_with("message numbers, timer versions"))
        .expect("§11 row for the counters");
    assert_eq!(counters[1], "< 2⁶³");
    assert_eq!(MAX_NUMBER, 1 << 63);
    checked.push("message numbers, timer versions");
    // Every row is checked here.
    let unchecked: Vec<&String> = rows
        .iter()
        .map(|r| &r[0])
        .filter(|n| !checked.iter().any(|c| n.starts_with(c)))
        .collect();
    assert!(
        unchecked.is_empty(),
        "new §11 rows need a check here: {unchecked:?}"
    );
}

#[test]
fn body_layout_and_padding_bounds_match_section_7_1() {
    let s = section("### 7.1 Body plaintext");
    assert!(
        s.contains("21+len pad  random bytes"),
        "fixed fields are 21 bytes"
    );
    assert!(s.contains(&format!("{MIN_PADDING} ≤ pad ≤ 779")));
    assert!(s.contains(&format!("outside {MIN_PADDING}..={MAX_PADDING}")));
    // §6.6: the envelope's fixed parts.
    let d = section("### 6.6 Data envelope");
    assert!(d.contains("2      16    hn"));
    assert!(d.contains("18     272   header_ct"));
    assert_eq!(DATA_OVERHEAD, 2 + 16 + 272 + 32 + 32);
}

#[test]
fn verification_values_match_section_8() {
    let s = section("## 8. Identity verification");
    assert!(s.contains(&format!("{SAFETY_NUMBER_DIGITS} digits")));
    assert!(s.contains(&format!("{SAS_EMOJI_COUNT} emoji")));
    assert!(s.contains(&format!("{SAS_BITS} bits")));
    assert!(s.contains(&format!("{KEY_VISUAL_SIZE}×{KEY_VISUAL_SIZE} grid")));
    assert!(s.contains(&format!("\n{QR_TEXT_PREFIX}\n")));
}

#[test]
fn frame_header_matches_the_code() {
    let section = section("## 3. Client");
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

/// A session pair and the spec's view of the responder's first sending chain (`CK_R0`, `HK_R0`,
/// AD = TH): the responder's messages can be read, and new ones written, from the spec alone.
struct Tap {
    p: common::Pair,
    responder_is_a: bool,
    ck_r0: [u8; 32],
    hk_r0: [u8; 32],
    eph_r: Vec<u8>,
    ad: [u8; 32],
    /// Messages of the chain used so far.
    used: u32,
}

impl Tap {
    fn new(seed: u64) -> Tap {
        let p = pair(seed);
        let r = spec::rebuild(
            &p.wire,
            seed,
            seed ^ 0x5eed_5eed,
            common::alice(),
            common::bob(),
        );
        let responder_is_a = !r.a_is_initiator;
        assert_eq!(p.a.role() == Role::Responder, responder_is_a);
        Tap {
            responder_is_a,
            ck_r0: r.keys.ck_r0(),
            hk_r0: r.keys.hk_r0(),
            eph_r: spec::hello_fields(&r.agreed.hello_r).1.to_vec(),
            ad: r.th,
            used: 0,
            p,
        }
    }

    /// The real responder sends `c`; the spec reads the body's type byte and content.
    fn responder_sends(&mut self, c: &Content) -> spec::Body {
        let (s, rng) = if self.responder_is_a {
            (&mut self.p.a, &mut self.p.rng_a)
        } else {
            (&mut self.p.b, &mut self.p.rng_b)
        };
        let env = s.encrypt(c, 0, rng).unwrap().envelope;
        let header = spec::open_header(&self.hk_r0, &self.ad, &env).expect("HK_R0");
        assert_eq!(spec::header_counters(&header), (0, self.used));
        let mk = spec::chain_message_key(&self.ck_r0, self.used);
        self.used += 1;
        spec::parse_body(&spec::open_body(&mk, &self.ad, &env).expect("message key"))
    }

    /// The spec writes a body of type `kind` as the responder's next message; the real initiator
    /// decrypts it.
    fn initiator_reads(
        &mut self,
        kind: u8,
        seq: u64,
        content: &[u8],
    ) -> Result<Content, DecryptError> {
        let mk = spec::chain_message_key(&self.ck_r0, self.used);
        let header = spec::header(&self.eph_r, 0, self.used);
        self.used += 1;
        let env = spec::seal_data(
            &self.hk_r0,
            &mk,
            &self.ad,
            &[seq as u8; 16],
            &header,
            &spec::body(kind, seq, 0, content, 1),
        );
        let (s, rng) = if self.responder_is_a {
            (&mut self.p.b, &mut self.p.rng_b)
        } else {
            (&mut self.p.a, &mut self.p.rng_a)
        };
        s.decrypt(&env, rng).map(|m| m.content)
    }
}

#[test]
fn content_types_match_section_7_2_on_the_wire() {
    let rows = table_rows(section("### 7.2 Content types"));
    let table: BTreeMap<String, (String, bool)> = rows
        .iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[3].starts_with("yes"))))
        .collect();
    let id = MessageId {
        stream: 0x1234,
        number: 5,
    };
    let samples = [
        text(0x1234, 5, "hi"),
        Content::Ack(vec![id]),
        Content::Profile("Bob".into()),
        Content::Timer {
            id,
            version: 2,
            expire_secs: 60,
        },
        Content::Resume([7; 16]),
        Content::ResumeOk([8; 16]),
    ];
    let mut tap = Tap::new(4);
    for c in &samples {
        let name = format!("{c:?}");
        let name = name.split('(').next().unwrap();
        let (kind, _, _, _) = tap.responder_sends(c);
        let row = format!("0x{kind:02X}");
        let (spec_name, reliable) = table
            .get(&row)
            .unwrap_or_else(|| panic!("{name} is sent as {row}, which §7.2 does not list"));
        assert_eq!(spec_name, name, "{row}");
        assert_eq!(c.id().is_some(), *reliable, "{name}: reliable column");
    }
    // Content layouts of §7.2, read back from the wire.
    assert_eq!(
        tap.responder_sends(&text(9, 3, "héllo")).3,
        spec::text_content(9, 3, 0, "héllo")
    );
    let ack = tap.responder_sends(&Content::Ack(vec![id, id])).3;
    assert_eq!(ack, [&[2u8][..], &id.to_bytes(), &id.to_bytes()].concat());
    let timer = tap.responder_sends(&samples[3]).3;
    assert_eq!(
        timer,
        [
            &id.to_bytes()[..],
            &2u64.to_be_bytes(),
            &60u32.to_be_bytes()
        ]
        .concat()
    );

    // The other way: bodies written from the table are read by the real code.
    let mut seq = 100;
    let mut read = |kind: u8, content: &[u8]| {
        seq += 1;
        tap.initiator_reads(kind, seq, content)
    };
    assert_eq!(
        read(0x01, &spec::text_content(1, 1, 0, "from the spec")),
        Ok(text(1, 1, "from the spec"))
    );
    assert_eq!(read(0x03, b"Alice"), Ok(Content::Profile("Alice".into())));
    assert_eq!(read(0x05, &[3; 16]), Ok(Content::Resume([3; 16])));
    assert_eq!(read(0x06, &[4; 16]), Ok(Content::ResumeOk([4; 16])));
    // The reserved range 0x20..=0x3F: reliable, acknowledged and shown as unknown.
    assert!(table.contains_key("0x20..=0x3F"));
    for kind in [0x20u8, 0x2a, 0x3f] {
        let got = read(kind, &id.to_bytes()).unwrap();
        assert_eq!(got, Content::Unknown { kind, id });
        assert_eq!(got.id(), Some(id));
    }
    // Anything else is an unknown type.
    for kind in [0x00u8, 0x07, 0x1f, 0x40, 0xff] {
        assert_eq!(
            read(kind, &id.to_bytes()),
            Err(DecryptError::Content(ContentError::UnknownType(kind))),
            "{kind:#04x}"
        );
    }
    // A timer above the one-year bound is malformed (§7.2).
    let over = [
        &id.to_bytes()[..],
        &1u64.to_be_bytes(),
        &(MAX_EXPIRE_SECS + 1).to_be_bytes(),
    ]
    .concat();
    assert_eq!(
        read(0x04, &over),
        Err(DecryptError::Content(ContentError::Malformed))
    );
}

/// Every claim in README.md and PROTOCOL.md names its test: each `*.rs` file (and script) they
/// cite must exist, so a renamed or deleted test cannot leave a claim without evidence.
#[test]
fn every_test_the_documents_cite_exists() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // Where a bare `name.rs` may live.
    let dirs = [
        "sans-io-proto/tests",
        "sans-io-proto/src",
        "quic-relay/tests",
        "quic-relay/src",
        "simulator-tests/tests",
        "simulator-tests/src",
        "egui-client/tests",
        "egui-client/src",
        "ctgrind/examples",
    ];
    fn find(dir: &std::path::Path, name: &str) -> bool {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return false;
        };
        entries.flatten().any(|e| {
            let p = e.path();
            if p.is_dir() {
                find(&p, name)
            } else {
                p.file_name().is_some_and(|n| n == name)
            }
        })
    }
    let mut cited = 0;
    for doc in ["README.md", "PROTOCOL.md", "quic-relay/README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for quoted in text.split('`').skip(1).step_by(2) {
            let path = quoted.trim();
            let is_file = path.ends_with(".rs") || path.ends_with(".sh");
            if !is_file || path.contains(' ') || path.contains('*') {
                continue;
            }
            cited += 1;
            let direct =
                root.join(path).is_file() || dirs.iter().any(|d| root.join(d).join(path).is_file());
            let name = path.rsplit('/').next().unwrap_or(path);
            let found = direct || dirs.iter().any(|d| find(&root.join(d), name));
            assert!(found, "{doc} cites `{path}`, which does not exist");
        }
    }
    assert!(
        cited >= 20,
        "only {cited} files cited: the parser missed them"
    );
}
