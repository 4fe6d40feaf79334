//! The simulator's golden transcript: a fault-free session with fixed identities and seed,
//! recorded frame by frame (client → relay and relay → client, with the simulated time in ms) in
//! `vectors/transcripts/sim-session-v2.txt`: alice and bob meet, exchange keys, approve each other,
//! write two messages each; bob's connection drops, alice writes while he is away, he comes back and
//! the session resumes (no new key exchange) and delivers it. Any unintended change of the framing,
//! the handshake, the ratchet, the delivery layer, the relay's room logic or the client's behaviour
//! fails here. Re-record after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p simulator-tests --test golden`.

use std::path::PathBuf;

#[test]
fn the_recorded_session_is_byte_exact() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../vectors/transcripts/sim-session-v2.txt");
    let mut got = String::from(
        "# e2e-chat v2 simulated session (simulator-tests scenario::golden_session): alice (identity 0)\n\
         # and bob (identity 1) join room 'golden', exchange keys, approve each other (first contact)\n\
         # and write two messages each; bob's connection drops at 5 s, alice writes at 5.5 s, bob\n\
         # reconnects, the session resumes and the message is delivered. Honest relay, no faults, world\n\
         # seed 7. One frame a line: simulated ms, direction, hex of the encoded frame.\n",
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
    // The file holds the whole story: both sides' six handshake flights, five texts and their
    // acks, the two display names, two Resumes and two ResumeOks.
    let payloads = want.lines().filter(|l| l.contains(" 0103")).count();
    assert!(
        payloads >= 2 * (6 + 5 + 2 + 2),
        "only {payloads} payload frames recorded"
    );
}
