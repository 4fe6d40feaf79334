//! Golden transcript (PROTOCOL.md): with fixed identities and fixed RNG seeds, a full handshake
//! plus a few messages each way produces byte-exact envelopes, kept in
//! `vectors/transcripts/handshake-v1.txt`. Any unintended change of the wire format or the key
//! schedule fails here. To re-record after an *intended* change: `UPDATE_GOLDEN=1 cargo test -p
//! sans-io-proto --test golden_transcript`, and say why in the commit.

mod common;

use common::{From, pair, vectors_dir};

const FILE: &str = "transcripts/handshake-v1.txt";

fn render() -> String {
    let mut p = pair(2026);
    let mut wire = p.wire.clone();
    for (i, text) in [
        "hello bob",
        "hello alice",
        "how are you?",
        "fine, and the ratchet?",
    ]
    .iter()
    .enumerate()
    {
        if i % 2 == 0 {
            wire.push((From::A, p.a_to_b(text)));
        } else {
            wire.push((From::B, p.b_to_a(text)));
        }
    }
    let mut out = String::from(
        "# e2e-chat v1 golden transcript: identities 0 (A, alice) and 1 (B, bob) of\n\
         # vectors/identities/test-identities.txt, ChaCha20Rng seeds 2026 (A) and 2026^0x5eed5eed (B).\n\
         # Handshake (8 envelopes) then Data: A 'hello bob', B 'hello alice', A 'how are you?',\n\
         # B 'fine, and the ratchet?'. One envelope a line: sender, hex.\n",
    );
    out.push_str(&format!(
        "# safety number {}\n",
        p.a.safety_number().digits()
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
    let path = vectors_dir().join(FILE);
    let got = render();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if got != want {
        let first = got.lines().zip(want.lines()).position(|(g, w)| g != w);
        panic!(
            "transcript differs from {FILE} (first differing line: {first:?}); see the file header"
        );
    }
    // And the recording is self-consistent: 8 handshake envelopes, then 4 Data envelopes.
    let kinds: Vec<&str> = want
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| &l[2..6])
        .collect();
    assert_eq!(
        kinds,
        [
            "0101", "0101", "0102", "0102", "0103", "0103", "0104", "0104", "0110", "0110", "0110",
            "0110"
        ]
    );
}
