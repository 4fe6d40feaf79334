//! Unit tests of the identity file: both versions, every refusal, the bounds on work, and the
//! specification's numbers. Argon2id runs with tiny parameters (8 to 256 KiB) so the suite stays
//! fast; `Argon2Params::DEFAULT` is only compared with PROTOCOL.md, never run here.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::v2::ARGON2_RUNS;
use super::*;

/// Tiny parameters for tests: 8 KiB, one pass, one lane (no protection at all).
const FAST: Argon2Params = Argon2Params {
    m_cost_kib: 8,
    t_cost: 1,
    lanes: 1,
};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Test identity 0 of `vectors/identities/test-identities.txt` (RSA key generation is slow).
fn alice() -> IdentityKeyPair {
    let text = include_str!("../../../vectors/identities/test-identities.txt");
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .expect("a test identity");
    IdentityKeyPair::from_private_bytes(&hex::decode(line).expect("hex")).expect("valid key")
}

fn argon2_runs() -> u32 {
    ARGON2_RUNS.with(|runs| runs.get())
}

/// A field of the version 2 block of `vectors/identity-file/identity-files.txt`.
fn v2_vector(field: &str) -> String {
    let text = include_str!("../../../vectors/identity-file/identity-files.txt");
    let block = text
        .split("\n\n")
        .find(|b| b.lines().any(|l| l.trim() == "version = 2"))
        .expect("a version 2 block");
    block
        .lines()
        .filter_map(|l| l.split_once(" = "))
        .find(|(k, _)| k.trim() == field)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("field {field}"))
}

#[test]
fn version_2_round_trip() {
    let id = alice();
    let storage = StorageKey::generate(&mut rng(1));
    let file = seal(&id, &storage, "pass phrase", FAST, &mut rng(2)).unwrap();
    assert_eq!(file.len(), v2::FILE_LEN);
    assert_eq!(&file[..9], b"E2ECHATK\x02");
    let opened = open(&file, "pass phrase", &mut rng(3)).unwrap();
    assert_eq!(opened.identity.to_private_bytes(), id.to_private_bytes());
    assert_eq!(opened.storage_key.as_bytes(), storage.as_bytes());
    assert_eq!(opened.rewrite, None, "a version 2 file is never rewritten");
}

#[test]
fn sealing_twice_uses_a_fresh_salt() {
    let (id, storage) = (alice(), StorageKey::generate(&mut rng(1)));
    let a = seal(&id, &storage, "pw", FAST, &mut rng(2)).unwrap();
    let b = seal(&id, &storage, "pw", FAST, &mut rng(3)).unwrap();
    assert_ne!(a[18..34], b[18..34], "salt");
    assert_ne!(a[34..], b[34..], "ciphertext and tag");
}

#[test]
fn wrong_passphrase_is_one_error() {
    let file = seal(
        &alice(),
        &StorageKey::generate(&mut rng(1)),
        "right",
        FAST,
        &mut rng(2),
    )
    .unwrap();
    for wrong in ["wrong", "Right", "right ", ""] {
        assert_eq!(
            open(&file, wrong, &mut rng(3)).err(),
            Some(IdentityFileError::WrongPassphraseOrDamaged),
            "{wrong:?}"
        );
    }
}

/// Every single-bit change anywhere in the file is refused, with the error its place implies: the
/// parameters are authenticated (they are in the HKDF salt and under the tag), the ciphertext and
/// tag are under the tag, and the damaged file is reported like a wrong passphrase.
#[test]
fn every_flipped_bit_is_refused() {
    let file = seal(
        &alice(),
        &StorageKey::generate(&mut rng(1)),
        "pw",
        FAST,
        &mut rng(2),
    )
    .unwrap();
    for at in 0..file.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = file.clone();
            bad[at] ^= bit;
            let err = open(&bad, "pw", &mut rng(3)).expect_err("a flipped bit opened");
            let expected_any: &[IdentityFileError] = match at {
                0..=7 => &[IdentityFileError::NotAnIdentityFile],
                8 => &[
                    IdentityFileError::UnsupportedVersion(bad[8]),
                    // Version 1 has another length.
                    IdentityFileError::NotAnIdentityFile,
                ],
                9..=17 => &[
                    IdentityFileError::BadArgon2Params(Argon2Params {
                        m_cost_kib: u32::from_be_bytes([bad[9], bad[10], bad[11], bad[12]]),
                        t_cost: u32::from_be_bytes([bad[13], bad[14], bad[15], bad[16]]),
                        lanes: bad[17],
                    }),
                    IdentityFileError::WrongPassphraseOrDamaged,
                ],
                _ => &[IdentityFileError::WrongPassphraseOrDamaged],
            };
            assert!(
                expected_any.contains(&err),
                "byte {at} bit {bit:#x}: {err:?}"
            );
        }
    }
}

#[test]
fn wrong_lengths_and_versions() {
    let file = seal(
        &alice(),
        &StorageKey::generate(&mut rng(1)),
        "pw",
        FAST,
        &mut rng(2),
    )
    .unwrap();
    let mut r = rng(3);
    let not_ours = Some(IdentityFileError::NotAnIdentityFile);
    assert_eq!(open(&[], "pw", &mut r).err(), not_ours);
    assert_eq!(open(b"E2ECHATK", "pw", &mut r).err(), not_ours);
    assert_eq!(open(&file[..file.len() - 1], "pw", &mut r).err(), not_ours);
    let mut longer = file.clone();
    longer.push(0);
    assert_eq!(open(&longer, "pw", &mut r).err(), not_ours);
    // A version 2 file's bytes relabelled version 1: the length is wrong for version 1.
    let mut as_v1 = file.clone();
    as_v1[8] = 1;
    assert_eq!(open(&as_v1, "pw", &mut r).err(), not_ours);
    for version in [0u8, 3, 0xff] {
        let mut other = file.clone();
        other[8] = version;
        assert_eq!(
            open(&other, "pw", &mut r).err(),
            Some(IdentityFileError::UnsupportedVersion(version))
        );
        // Whatever its length.
        assert_eq!(
            open(&other[..20], "pw", &mut r).err(),
            Some(IdentityFileError::UnsupportedVersion(version))
        );
    }
}

/// A file whose tag verifies but whose content is wrong: non-zero padding, or a private key that
/// does not decode (PROTOCOL.md §2.1), is `InvalidKey`, not a wrong passphrase.
#[test]
fn authenticated_but_invalid_content() {
    let id = alice();
    let key = id.to_private_bytes();
    let salt = [7u8; v2::SALT_LEN];

    let mut body = [0u8; v2::CT_LEN];
    body[..key.len()].copy_from_slice(&key);
    let good = v2::seal_body(&mut body.clone(), "pw", FAST, &salt).unwrap();
    assert!(
        open(&good, "pw", &mut rng(1)).is_ok(),
        "the helper seals valid files"
    );

    let mut padded = body;
    padded[v2::CT_LEN - 1] = 1;
    let mut not_a_key = body;
    not_a_key[0] = 0x02; // the encoding's tag byte (§2.1)
    let mut bad_prime = body;
    bad_prime[128] ^= 0x02; // p no longer matches n = p·q's checks
    for (name, body) in [
        ("padding", padded),
        ("encoding", not_a_key),
        ("key", bad_prime),
    ] {
        let file = v2::seal_body(&mut body.clone(), "pw", FAST, &salt).unwrap();
        assert_eq!(
            open(&file, "pw", &mut rng(1)).err(),
            Some(IdentityFileError::InvalidKey),
            "{name}"
        );
    }
}

/// PROTOCOL.md §9.1 states the writer's parameters and the reader's ranges; the constants must
/// say the same (the table rows and the limits table are read from the specification).
#[test]
fn default_params_and_ranges_match_protocol_md() {
    let spec = include_str!("../../../PROTOCOL.md");
    let section = spec
        .split("### 9.1 Version 2")
        .nth(1)
        .and_then(|s| s.split("### 9.2").next())
        .expect("PROTOCOL.md §9.1");
    // 65536 -> "65 536" (the specification groups digits with spaces).
    let grouped = |n: u32| {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(' ');
            }
            out.push(c);
        }
        out
    };
    let d = Argon2Params::DEFAULT;
    assert_eq!(
        d,
        Argon2Params {
            m_cost_kib: 65_536,
            t_cost: 3,
            lanes: 1
        }
    );
    assert_eq!(Argon2Params::default(), d);
    let rows = [
        format!(
            "(writer {} = {} MiB; reader accepts 8·lanes..={})",
            grouped(d.m_cost_kib),
            d.m_cost_kib / 1024,
            grouped(Argon2Params::MAX_M_COST_KIB)
        ),
        format!(
            "(writer {}; reader accepts {}..={})",
            d.t_cost,
            Argon2Params::MIN_T_COST,
            Argon2Params::MAX_T_COST
        ),
        format!(
            "(writer {}; reader accepts {}..={})",
            d.lanes,
            Argon2Params::MIN_LANES,
            Argon2Params::MAX_LANES
        ),
    ];
    for row in rows {
        assert!(section.contains(&row), "§9.1 does not say {row:?}");
    }
    let limits = format!(
        "| Argon2id parameters accepted | m {} · lanes ..= {} KiB, t {} ..= {}, lanes {} ..= {} |",
        Argon2Params::MIN_M_COST_KIB_PER_LANE,
        grouped(Argon2Params::MAX_M_COST_KIB),
        Argon2Params::MIN_T_COST,
        Argon2Params::MAX_T_COST,
        Argon2Params::MIN_LANES,
        Argon2Params::MAX_LANES
    );
    assert!(spec.contains(&limits), "§11 does not say {limits:?}");
    assert!(section.contains("Argon2id(passphrase, salt, m_cost, t_cost, lanes, 32)"));
    assert!(d.is_accepted());
}

/// The reader refuses parameters outside the accepted ranges before running Argon2id (so a
/// planted file cannot make it work more than the stated maximum), and the writer refuses them
/// too; the edges of the ranges are accepted.
#[test]
fn params_out_of_range_are_refused_without_running_argon2() {
    let file = seal(
        &alice(),
        &StorageKey::generate(&mut rng(1)),
        "pw",
        FAST,
        &mut rng(2),
    )
    .unwrap();
    let p = |m_cost_kib, t_cost, lanes| Argon2Params {
        m_cost_kib,
        t_cost,
        lanes,
    };
    let refused = [
        p(7, 1, 1),
        p(0, 1, 1),
        p(15, 1, 2), // below 8 KiB per lane
        p(63, 3, 8),
        p(1_048_577, 1, 1),
        p(u32::MAX, 1, 1),
        p(8, 0, 1),
        p(8, 11, 1),
        p(65_536, u32::MAX, 1),
        p(8, 1, 0),
        p(72, 1, 9),
        p(u32::MAX, u32::MAX, u8::MAX),
    ];
    for params in refused {
        assert!(!params.is_accepted(), "{params:?}");
        let mut planted = file.clone();
        planted[9..13].copy_from_slice(&params.m_cost_kib.to_be_bytes());
        planted[13..17].copy_from_slice(&params.t_cost.to_be_bytes());
        planted[17] = params.lanes;
        let before = argon2_runs();
        let err = Some(IdentityFileError::BadArgon2Params(params));
        assert_eq!(open(&planted, "pw", &mut rng(3)).err(), err);
        let storage = StorageKey::generate(&mut rng(4));
        assert_eq!(
            seal(&alice(), &storage, "pw", params, &mut rng(5)).err(),
            err
        );
        // Nor as the parameters of a version 1 file's rewrite.
        let v1 = seal_v1(&alice(), "pw", 1, &mut rng(6)).unwrap();
        assert_eq!(open_with(&v1, "pw", params, &mut rng(7)).err(), err);
        assert_eq!(argon2_runs(), before, "{params:?}: Argon2id ran");
    }
    for accepted in [
        p(8, 1, 1),
        p(16, 1, 2),
        p(64, 1, 8),
        p(1_048_576, 10, 8),
        p(65_536, 3, 1),
    ] {
        assert!(accepted.is_accepted(), "{accepted:?}");
    }
    // The counter does count: one run per open of a valid file.
    let before = argon2_runs();
    open(&file, "pw", &mut rng(3)).unwrap();
    assert_eq!(argon2_runs(), before + 1);
}

#[test]
fn version_1_opens_and_comes_back_as_version_2() {
    let id = alice();
    let old = seal_v1(&id, "old pass", 3, &mut rng(1)).unwrap();
    assert_eq!(old.len(), v1::FILE_LEN);
    assert_eq!(&old[..9], b"E2ECHATK\x01");

    let opened = open_with(&old, "old pass", FAST, &mut rng(2)).unwrap();
    assert_eq!(opened.identity.to_private_bytes(), id.to_private_bytes());
    let rewrite = opened
        .rewrite
        .clone()
        .expect("a version 1 file is rewritten");
    assert_eq!(rewrite.len(), v2::FILE_LEN);
    assert_eq!(&rewrite[..9], b"E2ECHATK\x02");
    assert_eq!(
        rewrite[9..18],
        [0, 0, 0, 8, 0, 0, 0, 1, 1],
        "the given parameters"
    );

    // The rewrite is the same identity, under the same passphrase, with the same storage key.
    let again = open(&rewrite, "old pass", &mut rng(3)).unwrap();
    assert_eq!(again.identity.to_private_bytes(), id.to_private_bytes());
    assert_eq!(again.storage_key.as_bytes(), opened.storage_key.as_bytes());
    assert_eq!(again.rewrite, None);

    // Each unlock of a version 1 file draws a new storage key (the caller keeps the first rewrite).
    let twice = open_with(&old, "old pass", FAST, &mut rng(4)).unwrap();
    assert_ne!(twice.storage_key.as_bytes(), opened.storage_key.as_bytes());

    // `open` rewrites with the default parameters.
    assert_eq!(
        v2_params_of(
            &open(&old, "old pass", &mut rng(5))
                .unwrap()
                .rewrite
                .unwrap()
        ),
        Argon2Params::DEFAULT
    );
}

fn v2_params_of(file: &[u8]) -> Argon2Params {
    Argon2Params {
        m_cost_kib: u32::from_be_bytes([file[9], file[10], file[11], file[12]]),
        t_cost: u32::from_be_bytes([file[13], file[14], file[15], file[16]]),
        lanes: file[17],
    }
}

#[test]
fn version_1_refusals() {
    let old = seal_v1(&alice(), "pw", 2, &mut rng(1)).unwrap();
    let mut r = rng(2);
    assert_eq!(
        open_with(&old, "wrong", FAST, &mut r).err(),
        Some(IdentityFileError::WrongPassphraseOrDamaged)
    );
    for at in [13, 40, 100, v1::FILE_LEN - 1] {
        let mut bad = old.clone();
        bad[at] ^= 1;
        assert_eq!(
            open_with(&bad, "pw", FAST, &mut r).err(),
            Some(IdentityFileError::WrongPassphraseOrDamaged),
            "byte {at}"
        );
    }
    for iterations in [0, v1::MAX_ITERATIONS + 1, u32::MAX] {
        let mut planted = old.clone();
        planted[9..13].copy_from_slice(&iterations.to_be_bytes());
        assert_eq!(
            open_with(&planted, "pw", FAST, &mut r).err(),
            Some(IdentityFileError::BadIterations(iterations))
        );
    }
    assert_eq!(
        open_with(&old[..v1::FILE_LEN - 1], "pw", FAST, &mut r).err(),
        Some(IdentityFileError::NotAnIdentityFile)
    );
}

/// Our Argon2id (the crate, run in memory we allocate and wipe) and HKDF give the `master` and
/// `keys` of the version 2 vector, which an independent implementation (OpenSSL through Python's
/// `cryptography`) computed from PROTOCOL.md §9.1.
#[test]
fn argon2id_and_hkdf_match_the_independent_vector() {
    let hex = |field: &str| hex::decode(v2_vector(field)).expect("hex");
    let passphrase = hex("passphrase");
    let salt: [u8; v2::SALT_LEN] = hex("salt").try_into().expect("16-byte salt");
    let params = Argon2Params {
        m_cost_kib: v2_vector("m_cost_kib").parse().expect("m"),
        t_cost: v2_vector("t_cost").parse().expect("t"),
        lanes: v2_vector("lanes").parse().expect("lanes"),
    };
    let mut master = [0u8; v2::MASTER_LEN];
    v2::argon2id(&passphrase, &salt, params, &mut master).unwrap();
    assert_eq!(master.to_vec(), hex("master"));
    let file = hex("file");
    let keys = crate::etm::derive_array::<96>(
        &file[..v2::HEADER_LEN],
        &master,
        crate::labels::IDENTITY_FILE,
    );
    assert_eq!(keys.to_vec(), hex("keys"));
}

#[test]
fn debug_prints_no_secret() {
    let storage = StorageKey::from_bytes(&[0xab; 32]);
    assert_eq!(format!("{storage:?}"), "StorageKey(..)");
    let file = seal(&alice(), &storage, "pw", FAST, &mut rng(1)).unwrap();
    let unlocked = open(&file, "pw", &mut rng(2)).unwrap();
    let shown = format!("{unlocked:?}");
    assert!(shown.contains("StorageKey(..)"), "{shown}");
    assert!(
        !shown.contains("abab") && !shown.contains("171, 171"),
        "{shown}"
    );
    let p_hex = hex::encode(&alice().to_private_bytes()[1..17]);
    assert!(!shown.contains(&p_hex), "{shown}");
}

/// The refusal messages a user sees name the problem.
#[test]
fn error_messages() {
    let e = IdentityFileError::BadArgon2Params(Argon2Params {
        m_cost_kib: 2_000_000,
        t_cost: 3,
        lanes: 1,
    });
    assert!(e.to_string().contains("2000000 KiB"), "{e}");
    assert_eq!(
        IdentityFileError::WrongPassphraseOrDamaged.to_string(),
        "wrong passphrase, or the identity file is damaged"
    );
}
