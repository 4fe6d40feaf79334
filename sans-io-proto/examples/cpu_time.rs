//! User CPU time per operation (RSA-2048 OAEP decryption, DH-2048 agreement), measured the way
//! `openssl speed` does by default (user CPU time, not wall-clock), so that the two can be compared
//! on a loaded machine where wall-clock times include time spent waiting for a core.
//!
//! `cargo run --release -p sans-io-proto --example cpu_time` (run by `scripts/bench-rsa-dh.sh`).
//! Each operation runs for at least 3 seconds of CPU time; the user time comes from
//! `/proc/self/stat` (field 14, in clock ticks of 1/100 s on Linux).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sans_io_proto::crypto::dh::DhPrivateKey;
use sans_io_proto::crypto::rsa::RsaPrivateKey;

/// User CPU time of this process in seconds (Linux `/proc/self/stat`, `utime` field).
fn user_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let utime: f64 = rest
        .split(' ')
        .nth(11)
        .expect("utime field")
        .parse()
        .expect("number");
    utime / 100.0
}

fn per_op(label: &str, mut op: impl FnMut()) {
    let start = user_seconds();
    let mut n = 0u64;
    while user_seconds() - start < 3.0 {
        for _ in 0..10 {
            op();
        }
        n += 10;
    }
    let ms = (user_seconds() - start) * 1e3 / n as f64;
    println!("{label} {ms:.4} ms/op ({n} ops)");
}

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = RsaPrivateKey::generate(&mut rng);
    let ct = key
        .public_key()
        .oaep_encrypt(&mut rng, &[9u8; 32], b"label")
        .expect("encrypts");
    per_op("rsa2048_oaep_decrypt", || {
        std::hint::black_box(key.oaep_decrypt(&mut rng, &ct, b"label").expect("decrypts"));
    });
    let mut rng2 = ChaCha20Rng::seed_from_u64(2);
    let a = DhPrivateKey::generate(&mut rng2);
    let b = DhPrivateKey::generate(&mut rng2).public_key();
    per_op("dh2048_agree", || {
        std::hint::black_box(a.agree(&b).expect("agrees"));
    });
}
