//! The simulator's golden transcript: a fault-free session with fixed identities and seed,
//! recorded frame by frame (client → relay and relay → client) in
//! `vectors/transcripts/sim-session-v1.txt`. Any unintended change of the framing, the handshake,
//! the ratchet, the relay's room logic or the client's behaviour fails here. Re-record after an
//! intended change with `UPDATE_GOLDEN=1 cargo test -p simulator-tests --test golden`.

use std::path::PathBuf;

#[test]
fn the_recorded_session_is_byte_exact() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/transcripts/sim-session-v1.txt");
    let mut got = String::from(
        "# e2e-chat v1 simulated session (simulator-tests scenario::golden_session): alice (identity 0)\n\
         # and bob (identity 1) join room 'golden', exchange keys and send 2 messages each, with an honest\n\
         # relay and no faults, world seed 7. One frame a line: direction, hex of the encoded frame.\n",
    );
    for line in simulator_tests::scenario::golden_session() {
        got.push_str(&line);
        got.push('\n');
    }
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let first = got.lines().zip(want.lines()).position(|(g, w)| g != w);
    assert!(
        got == want,
        "the session differs from {} at line {first:?}",
        path.display()
    );
    // The file holds the whole story: joins, pairing, the 8 handshake envelopes, 4 messages and
    // their 4 receipts, plus the profiles (display names) each side sends.
    let payloads = want.lines().filter(|l| l.contains(" 0103")).count();
    assert!(
        payloads >= 2 * (8 + 4 + 4 + 2),
        "only {payloads} payload frames recorded"
    );
}
