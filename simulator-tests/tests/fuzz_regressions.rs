//! Replays the kept fuzz inputs through the same checks the `cargo fuzz` targets run
//! (`simulator_tests::fuzz_checks`), on every `cargo test`:
//!
//! - `vectors/fuzz-regressions/<target>/`: inputs that once crashed a target (fixed since);
//! - `vectors/fuzz-corpus/<target>/`: the libFuzzer corpus of each target after `cargo fuzz cmin`,
//!   i.e. the smallest input set that still reaches every code edge the fuzzer found.
//!
//! Each check panics when an invariant breaks (a forged message decrypts, a frame re-encodes
//! differently, a relay room overflows, ...), so a regression fails this test and names the file.

use std::path::{Path, PathBuf};

use simulator_tests::fuzz_checks::TARGETS;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

/// Every file of `<kind>/<target>/`, checking that each subdirectory names a real target (a typo
/// would otherwise silently skip its inputs).
fn inputs(kind: &str) -> Vec<(String, PathBuf)> {
    let root = vectors().join(kind);
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(&root) else {
        return out;
    };
    for dir in dirs {
        let dir = dir.expect("readable directory entry").path();
        if !dir.is_dir() {
            continue;
        }
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "{}: no fuzz target is called {name}",
            dir.display()
        );
        for file in std::fs::read_dir(&dir).expect("readable target directory") {
            let file = file.expect("readable entry").path();
            if file.is_file() {
                out.push((name.clone(), file));
            }
        }
    }
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let all = inputs(kind);
    for (target, file) in &all {
        let check = TARGETS
            .iter()
            .find(|(t, _)| t == target)
            .map(|(_, f)| *f)
            .expect("known");
        let data = std::fs::read(file).expect("readable input");
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks an invariant again",
            file.display()
        );
    }
    all.len()
}

#[test]
fn kept_fuzz_inputs_keep_every_invariant() {
    // Former crash inputs (none so far: every run is listed in BENCHMARKS.md), then the corpus.
    let crashes = replay("fuzz-regressions");
    let corpus = replay("fuzz-corpus");
    // Every target has a kept corpus; an empty one would mean this test checks nothing for it.
    for (target, _) in TARGETS {
        let dir = vectors().join("fuzz-corpus").join(target);
        let count = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(count > 0, "{}: no corpus kept for {target}", dir.display());
    }
    eprintln!("replayed {crashes} former crash inputs and {corpus} corpus inputs");
}

/// The checks are not vacuous: each one that can be handed a breaking input panics on it.
#[test]
fn checks_catch_a_broken_invariant() {
    use simulator_tests::fuzz_checks::{established, session_decrypt};
    // A genuine envelope is not "forged bytes": the session_decrypt check must reject it.
    let (alice, _) = established();
    let mut alice = alice.clone();
    let mut rng = <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(3);
    let content = sans_io_proto::Content::Profile("genuine".into());
    let genuine = alice
        .encrypt(&content, 0, &mut rng)
        .expect("encrypt")
        .envelope;
    let outcome = std::panic::catch_unwind(|| session_decrypt(&genuine));
    assert!(
        outcome.is_err(),
        "session_decrypt accepted a genuine message as 'never decrypts'"
    );
}

/// The genuine seeds are what they claim to be, so the fuzzer (and this replay) start from inputs
/// that reach past every MAC:
/// - every all-zero handshake script completes its handshake, and the all-zero client script shows
///   all of bob's texts (a flipped byte in them does not);
/// - the corpus holds the current genuine seeds (`WRITE_FUZZ_SEEDS=1` rewrites them after a protocol
///   change);
/// - a version 1 identity file (3 PBKDF2 iterations) and a version 2 one (Argon2id with 8 KiB and one
///   pass, written by `vectors/identity-file/generate.py`'s independent implementation), both under
///   the fuzz check's passphrase, open to the key the private-key seed encodes, and the public-key
///   seed matches it; the version 1 seed comes back with its version 2 rewrite (PROTOCOL.md §9.2).
#[test]
fn genuine_seeds_are_accepted() {
    use sans_io_proto::identity_file::{self, Argon2Params, IdentityFileError};
    use sans_io_proto::{IdentityKeyPair, PublicIdentity};
    use simulator_tests::fuzz_checks::{genuine_seeds, run_client_input, run_handshake_message};

    let seeds = genuine_seeds();
    let write = std::env::var_os("WRITE_FUZZ_SEEDS").is_some();
    for (target, name, input) in &seeds {
        let path = vectors().join("fuzz-corpus").join(target).join(name);
        if write {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("corpus dir");
            std::fs::write(&path, input).expect("seed written");
        }
        let kept = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with WRITE_FUZZ_SEEDS=1)", path.display()));
        assert_eq!(
            &kept,
            input,
            "{}: stale genuine seed (WRITE_FUZZ_SEEDS=1)",
            path.display()
        );
        match *target {
            "handshake_message" => {
                assert!(run_handshake_message(input), "{name} does not complete");
                let mut bent = input.clone();
                bent[1] = 2; // the next genuine message with a byte flipped
                assert!(
                    !run_handshake_message(&bent),
                    "{name} completes with a flipped byte"
                );
            }
            "client_input" => {
                assert_eq!(
                    run_client_input(input),
                    3,
                    "{name} does not show bob's texts"
                );
                let mut refuse = input.clone();
                refuse[0] = 1; // alice's app approves nobody
                assert_eq!(run_client_input(&refuse), 0, "shown without approval");
            }
            _ => {}
        }
    }
    assert!(
        seeds
            .iter()
            .filter(|(t, _, _)| *t == "handshake_message")
            .count()
            >= 6
    );

    let dir = vectors().join("fuzz-corpus/identity_file");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("seed file");
    let fast = Argon2Params {
        m_cost_kib: 8,
        t_cost: 1,
        lanes: 1,
    };
    let mut rng = rand::rngs::OsRng;
    let private = IdentityKeyPair::from_private_bytes(&read("seed-private-key")).expect("key");
    let public = PublicIdentity::from_bytes(&read("seed-public-key")).expect("public key");
    assert_eq!(private.public().as_bytes(), public.as_bytes());
    for (seed, version) in [("seed-sealed-file", 1), ("seed-sealed-file-v2", 2)] {
        let file = read(seed);
        assert_eq!(file[8], version, "{seed}");
        let opened = identity_file::open_with(&file, "passphrase", fast, &mut rng).expect("opens");
        assert_eq!(
            opened.identity.to_private_bytes(),
            private.to_private_bytes()
        );
        assert_eq!(opened.rewrite.is_some(), version == 1, "{seed}");
        assert_eq!(
            identity_file::open_with(&file, "wrong passphrase", fast, &mut rng).err(),
            Some(IdentityFileError::WrongPassphraseOrDamaged)
        );
    }
}
