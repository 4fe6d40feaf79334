//! Golden transcript (PROTOCOL.md): with fixed identities and fixed RNG seeds, a full v2 handshake
//! plus messages each way produces byte-exact envelopes, kept in
//! `vectors/transcripts/handshake-v2.txt`. Any unintended change of the wire format or the key
//! schedule fails here (`vectors_v2.rs` explains every value of the same handshake). To re-record
//! after an *intended* change: `UPDATE_GOLDEN=1 cargo test -p sans-io-proto --test
//! golden_transcript`, and say why in the commit.

mod common;

use common::{From, pair};

const FILE: &str = "transcripts/handshake-v2.txt";
/// The seed of `common::pair` (A: 2026, B: 2026 ^ 0x5eed5eed).
pub const SEED: u64 = 2026;
/// The texts sent after the handshake, alternately by A and B.
pub const TEXTS: [&str; 4] = [
    "hello bob",
    "hello alice",
    "how are you?",
    "fine, and the ratchet?",
];

fn render() -> String {
    let mut p = pair(SEED);
    let mut wire = p.wire.clone();
    for (i, text) in TEXTS.iter().enumerate() {
        if i % 2 == 0 {
            wire.push((From::A, p.a_to_b(text)));
        } else {
            wire.push((From::B, p.b_to_a(text)));
        }
    }
    let mut out = String::from(
        "# e2e-chat v2 golden transcript (PROTOCOL.md §4-§7): identities 0 (A, alice) and 1 (B, bob)\n\
         # of vectors/identities/test-identities.txt, ChaCha20Rng seeds 2026 (A) and 2026^0x5eed5eed (B),\n\
         # envelopes delivered in order (sans-io-proto/tests/common/mod.rs `pair`).\n\
         # Handshake (8 envelopes: 2 Commit, 2 Hello, RespIdentity, InitAuth, RespAuth, InitConfirm),\n\
         # then Data: A 'hello bob', B 'hello alice', A 'how are you?', B 'fine, and the ratchet?'\n\
         # (Text contents, stream 0xa for A and 0xb for B, number = seq, sent_at_ms 0).\n\
         # Every intermediate value of this handshake: handshake-v2-values.txt. One envelope a line:\n\
         # sender, hex.\n",
    );
    out.push_str(&format!(
        "# A is the {:?}; safety number {}; SAS {}\n",
        p.a.role(),
        p.a.safety_number().digits(),
        p.a.sas().words().join(" ")
    ));
    for (from, m) in wire {
        out.push_str(&format!(
            "{} {}\n",
            if from == From::A { "A" } else { "B" },
            hex::encode(m)
        ));
    }
    out
}

#[test]
fn handshake_and_messages_are_byte_exact() {
    let got = render();
    common::golden::check_against_file(FILE, &got);
    // And the recording is self-consistent: the 8 handshake envelopes in protocol order, then 4
    // Data envelopes alternating A, B, all version 2.
    let lines: Vec<(&str, &str)> = got
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| (&l[..1], &l[2..6]))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|(_, k)| *k).collect();
    assert_eq!(
        kinds,
        [
            "0201", "0201", "0202", "0202", "0203", "0204", "0205", "0206", "0210", "0210", "0210",
            "0210"
        ]
    );
    let senders: String = lines[8..].iter().map(|(s, _)| *s).collect();
    assert_eq!(senders, "ABAB");
}
