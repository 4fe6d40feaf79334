//! The identity file against `vectors/identity-file/identity-files.txt`: a version 1 and a
//! version 2 file that `vectors/identity-file/generate.py` built from PROTOCOL.md §9 with an
//! independent implementation (OpenSSL's Argon2id, HKDF and AES through Python's `cryptography`,
//! Python's PBKDF2 and HMAC). Both open to the test identity, and sealing with the vector's random
//! bytes reproduces each file byte for byte.

mod common;

use common::{alice, hex_field, vector_blocks};
use rand_core::{CryptoRng, RngCore};
use sans_io_proto::identity_file::{
    self, Argon2Params, IdentityFileError, StorageKey, seal, seal_v1,
};

/// An "RNG" that hands out the given bytes, in order, and nothing more: it replays the random
/// draws of the vector (salt, IV) so the writer's output can be compared byte for byte.
struct Replay {
    bytes: Vec<u8>,
    at: usize,
}

impl Replay {
    fn new(parts: &[&[u8]]) -> Self {
        Replay {
            bytes: parts.concat(),
            at: 0,
        }
    }

    fn exhausted(&self) -> bool {
        self.at == self.bytes.len()
    }
}

impl RngCore for Replay {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        let end = self.at + dest.len();
        assert!(
            end <= self.bytes.len(),
            "the writer drew more randomness than the vector has"
        );
        dest.copy_from_slice(&self.bytes[self.at..end]);
        self.at = end;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for Replay {}

fn block(version: &str) -> std::collections::BTreeMap<String, String> {
    vector_blocks("identity-file/identity-files.txt")
        .into_iter()
        .find(|b| b["version"] == version)
        .unwrap_or_else(|| panic!("no version {version} vector"))
}

fn passphrase(v: &std::collections::BTreeMap<String, String>) -> String {
    String::from_utf8(hex_field(v, "passphrase")).expect("UTF-8 passphrase")
}

#[test]
fn version_2_vector_opens_and_reseals_byte_for_byte() {
    let v = block("2");
    let (file, pass) = (hex_field(&v, "file"), passphrase(&v));
    assert!(
        !pass.is_ascii(),
        "the vector pins the UTF-8 encoding of the passphrase"
    );
    assert_eq!(hex_field(&v, "private_key"), *alice().to_private_bytes());

    let unlocked = identity_file::open(&file, &pass, &mut Replay::new(&[])).expect("opens");
    assert_eq!(
        unlocked.identity.to_private_bytes(),
        alice().to_private_bytes()
    );
    assert_eq!(
        unlocked.storage_key.as_bytes().to_vec(),
        hex_field(&v, "storage_key")
    );
    assert!(unlocked.rewrite.is_none());

    let params = Argon2Params {
        m_cost_kib: v["m_cost_kib"].parse().unwrap(),
        t_cost: v["t_cost"].parse().unwrap(),
        lanes: v["lanes"].parse().unwrap(),
    };
    let storage = StorageKey::from_bytes(&hex_field(&v, "storage_key").try_into().unwrap());
    let mut rng = Replay::new(&[&hex_field(&v, "salt")]);
    let sealed = seal(alice(), &storage, &pass, params, &mut rng).expect("seals");
    assert!(rng.exhausted());
    assert_eq!(hex::encode(&sealed), v["file"]);

    // The same file under a normalization of the passphrase, or with another byte, is refused.
    let decomposed = pass.replace('ü', "u\u{308}");
    assert_ne!(decomposed, pass);
    for wrong in [decomposed.as_str(), "grüße, 🔑 v1"] {
        assert_eq!(
            identity_file::open(&file, wrong, &mut Replay::new(&[])).err(),
            Some(IdentityFileError::WrongPassphraseOrDamaged)
        );
    }
}

#[test]
fn version_1_vector_opens_reseals_and_is_rewritten() {
    let v = block("1");
    let (file, pass) = (hex_field(&v, "file"), passphrase(&v));
    assert_eq!(hex_field(&v, "private_key"), *alice().to_private_bytes());

    // The rewrite draws a storage key (32 bytes) then a salt (16 bytes).
    let (new_storage, new_salt) = ([0x5a; 32], [0xa5; 16]);
    let fast = Argon2Params {
        m_cost_kib: 16,
        t_cost: 1,
        lanes: 2,
    };
    let mut rng = Replay::new(&[&new_storage, &new_salt]);
    let unlocked = identity_file::open_with(&file, &pass, fast, &mut rng).expect("opens");
    assert!(rng.exhausted());
    assert_eq!(
        unlocked.identity.to_private_bytes(),
        alice().to_private_bytes()
    );
    assert_eq!(unlocked.storage_key.as_bytes(), &new_storage);
    let rewrite = unlocked.rewrite.expect("version 1 is rewritten");
    // Exactly what sealing the identity and the new key as version 2 gives.
    let expected = seal(
        alice(),
        &StorageKey::from_bytes(&new_storage),
        &pass,
        fast,
        &mut Replay::new(&[&new_salt]),
    )
    .unwrap();
    assert_eq!(rewrite, expected);

    let iterations = v["iterations"].parse().unwrap();
    let mut rng = Replay::new(&[&hex_field(&v, "salt"), &hex_field(&v, "iv")]);
    let sealed = seal_v1(alice(), &pass, iterations, &mut rng).expect("seals");
    assert!(rng.exhausted());
    assert_eq!(hex::encode(&sealed), v["file"]);
}

/// Measures an unlock with the default parameters (run in a release build:
/// `cargo test --release -p sans-io-proto --test identity_file -- --ignored --nocapture`).
/// The figures are in PROTOCOL.md §9.1.
#[test]
#[ignore = "timing; run by hand in a release build"]
fn unlock_time_with_default_parameters() {
    let mut rng = rand::rngs::OsRng;
    let storage = StorageKey::generate(&mut rng);
    let file = seal(
        alice(),
        &storage,
        "passphrase",
        Argon2Params::DEFAULT,
        &mut rng,
    )
    .unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = std::time::Instant::now();
        let unlocked = identity_file::open(&file, "passphrase", &mut rng).unwrap();
        times.push(start.elapsed());
        assert!(unlocked.rewrite.is_none());
    }
    times.sort();
    println!(
        "open (64 MiB, t = 3, 1 lane), 5 runs: {times:?}, median {:?}",
        times[2]
    );
}

/// Measures an unlock that asks for the most work a reader accepts (1 GiB, 10 passes, 8 lanes):
/// the bound on what a planted file can cost.
#[test]
#[ignore = "timing; run by hand in a release build"]
fn unlock_time_with_the_largest_accepted_parameters() {
    let mut rng = rand::rngs::OsRng;
    let storage = StorageKey::generate(&mut rng);
    let most = Argon2Params {
        m_cost_kib: Argon2Params::MAX_M_COST_KIB,
        t_cost: Argon2Params::MAX_T_COST,
        lanes: Argon2Params::MAX_LANES,
    };
    let planted = seal(alice(), &storage, "passphrase", most, &mut rng).unwrap();
    let start = std::time::Instant::now();
    identity_file::open(&planted, "passphrase", &mut rng).unwrap();
    println!(
        "open with the most work a file may ask (1 GiB, t = 10, 8 lanes): {:?}",
        start.elapsed()
    );
}
