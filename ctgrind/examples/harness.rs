//! Constant-time check harness (the *ctgrind* method: A. Langley 2010, Monocypher
//! `tests/ctgrind.c`, BearSSL): every secret input is marked **undefined** for valgrind's
//! memcheck, the secret-handling functions run, and memcheck reports any conditional jump or
//! memory address computed from a secret ("Conditional jump or move depends on uninitialised
//! value(s)", "Use of uninitialised value of size 8"). Values that are public by design are
//! declassified inside the library (`declassify`, each call commented) or, for outputs, here.
//!
//! Run it through `scripts/ctgrind.sh` (builds in release mode, installs valgrind if missing,
//! checks that the deliberately variable-time `selftest` IS reported, then that `check` is
//! clean). Modes:
//! - `check`: one pass over every target (the CI default, ~1 minute under valgrind);
//! - `check full`: several keys and inputs per target, including edge values (`CT_FULL=1`);
//! - `selftest`: a deliberately variable-time comparison; the checker must report it.
//!
//! The big-number back end is chosen by the library: `CTGRIND_BIGNUM_BACKEND=portable` or `adx`
//! forces one (the script runs `check` once with each; valgrind's emulated CPUID hides ADX, so
//! without the variable the portable code runs). The library prints the one it took.
//!
//! Outside valgrind the requests are no-ops, so `cargo run -p ctgrind --example harness -- check`
//! simply runs every target once (a correctness smoke test).

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore, SeedableRng};
use sans_io_proto::crypto::aes::{Aes256, Backend};
use sans_io_proto::crypto::ct::{ct_eq, ct_select};
use sans_io_proto::crypto::ct_targets as t;
use sans_io_proto::crypto::dh::DhPrivateKey;
use sans_io_proto::crypto::hmac::HmacSha256;
use sans_io_proto::crypto::rsa::RsaPrivateKey;

/// An RNG whose every output is marked secret (blinding values, exponents, bases).
struct PoisonRng(ChaCha20Rng);

impl RngCore for PoisonRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
        ctgrind::poison(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for PoisonRng {}

fn limbs<const L: usize>(rng: &mut ChaCha20Rng) -> [u64; L] {
    core::array::from_fn(|_| rng.next_u64())
}

/// An odd value with its top bit set (a valid Montgomery modulus shape).
fn modulus<const L: usize>(rng: &mut ChaCha20Rng, all_ones_top: bool) -> [u64; L] {
    let mut n: [u64; L] = limbs(rng);
    n[0] |= 1;
    n[L - 1] |= 1 << 63;
    if all_ones_top {
        n[L - 1] = u64::MAX;
        n[L - 2] = u64::MAX;
    }
    n
}

/// Marks a value secret, returning it (the bytes are unchanged). Only for values without heap
/// parts: a `Vec`'s bytes are marked through its slice.
fn secret<T>(mut x: T) -> T {
    ctgrind::poison(&mut x);
    x
}

/// Marks a result public before the harness looks at it (values without heap parts).
fn public<T>(mut x: T) -> T {
    ctgrind::unpoison(&mut x);
    x
}

fn arithmetic(rng: &mut ChaCha20Rng, poison_rng: &mut PoisonRng, all_ones_top: bool) {
    // Montgomery multiplication / squaring / reduction, 1024 and 2048 bits, secret moduli.
    let n16 = modulus::<16>(rng, all_ones_top);
    let (a16, b16, w32) = (limbs::<16>(rng), limbs::<16>(rng), limbs::<32>(rng));
    let mut a16r = a16;
    a16r[15] >>= 1; // below n
    let r = public(t::montgomery_1024(
        &secret(n16),
        &secret(a16r),
        &secret(b16),
        &secret(w32),
    ));
    std::hint::black_box(r);
    let n32 = modulus::<32>(rng, all_ones_top);
    let (a32, b32) = (limbs::<32>(rng), limbs::<32>(rng));
    std::hint::black_box(public(t::montgomery_2048(
        &secret(n32),
        &secret(a32),
        &secret(b32),
    )));
    // Fixed-window exponentiation and the public-exponent ladder.
    std::hint::black_box(public(t::modexp_1024(
        &secret(n16),
        &secret(a16r),
        &secret(b16),
    )));
    // Limb primitives: select, compare, conditional subtraction, products, small remainder.
    let choice = rng.next_u64() & 1;
    std::hint::black_box(public(t::limb_primitives(
        &secret(a16),
        &secret(b16),
        &secret(n16),
        secret(choice),
    )));
    // Inversions modulo a secret prime-shaped modulus (Fermat; e⁻¹ mod p-1). The modulus need
    // not be prime for the timing question.
    let (inv, d) = t::inversions_1024(&secret(n16), &secret(a16r));
    std::hint::black_box((public(inv), public(d)));
    // Constant-time Miller–Rabin on a secret candidate with secret random bases.
    std::hint::black_box(public(t::miller_rabin_1024(&secret(n16), 2, poison_rng)));
}

fn rsa(key: &RsaPrivateKey, rng: &mut ChaCha20Rng, poison_rng: &mut PoisonRng) {
    // Loading the key from its secret encoding: n = p·q, dP, dQ (through e), qInv (Fermat), the
    // Montgomery constants of p and q, and the round-trip check.
    let mut bytes = key.to_bytes();
    ctgrind::poison(&mut bytes[1..]); // p || q; the version byte is public format

    let loaded = RsaPrivateKey::from_bytes(&bytes).expect("the key loads");
    // OAEP decryption: blinded CRT private operation (secret r and mask s from the poisoning
    // RNG), fault check, OAEP decoding. The message and seed of the encryption are secret too.
    let mut msg = [0u8; 32];
    rng.fill_bytes(&mut msg);
    let ct = loaded
        .public_key()
        .oaep_encrypt(poison_rng, &secret(msg), b"label")
        .expect("OAEP encrypts");
    let mut ct = ct;
    ctgrind::unpoison(&mut ct[..]); // the ciphertext is public
    let mut pt = loaded
        .oaep_decrypt(poison_rng, &ct, b"label")
        .expect("OAEP decrypts");
    ctgrind::unpoison(&mut pt[..]);
    assert_eq!(&pt[..], &msg[..], "OAEP round trip");
    // A wrong label: the failure path runs the same code and only the verdict is public.
    assert!(loaded.oaep_decrypt(poison_rng, &ct, b"other").is_err());
}

fn dh(poison_rng: &mut PoisonRng) {
    // Key generation (secret exponent from the poisoning RNG) and agreement.
    let a = DhPrivateKey::generate(poison_rng);
    let b = DhPrivateKey::generate(poison_rng);
    let s1 = a.agree(&b.public_key()).expect("agreement");
    let s2 = b.agree(&a.public_key()).expect("agreement");
    assert_eq!(public(*s1.as_bytes()), public(*s2.as_bytes()));
    // A restored key from secret bytes.
    let mut x = a.to_bytes();
    ctgrind::poison(&mut x[..]);
    let a2 = DhPrivateKey::from_bytes(&x).expect("restores");
    std::hint::black_box(public(
        *a2.agree(&b.public_key()).expect("agrees").as_bytes(),
    ));
}

fn symmetric(rng: &mut ChaCha20Rng) {
    // Portable (bitsliced) AES-256: key schedule, one block each way, IGE both ways.
    let mut key = [0u8; 32];
    rng.fill_bytes(&mut key);
    let aes = Aes256::with_backend(&secret(key), Backend::Portable).expect("portable back end");
    let mut block = [0u8; 16];
    rng.fill_bytes(&mut block);
    let mut b = secret(block);
    aes.encrypt_block(&mut b);
    aes.decrypt_block(&mut b);
    assert_eq!(public(b), block);
    let mut iv = [0u8; 32];
    rng.fill_bytes(&mut iv);
    let mut data = vec![0u8; 64];
    rng.fill_bytes(&mut data);
    let plain = data.clone();
    ctgrind::poison(&mut data[..]);
    let iv = secret(iv);
    aes.ige_encrypt(&iv, &mut data).expect("aligned");
    aes.ige_decrypt(&iv, &mut data).expect("aligned");
    ctgrind::unpoison(&mut data[..]);
    assert_eq!(data, plain);
    // HMAC-SHA256 with a secret key over secret data, verified against the right and a wrong
    // tag (the tag arrives from the network: public; the computed tag is secret).
    let mac_key = secret(key);
    let mut mac = HmacSha256::new(&mac_key);
    mac.update(&data);
    let tag = public(mac.clone().finalize());
    assert!(mac.clone().verify(&tag).is_ok());
    let mut wrong = tag;
    wrong[31] ^= 1;
    assert!(mac.clone().verify(&wrong).is_err());
    assert!(mac.verify_truncated(&tag[..16]).is_ok());
    // ct_eq and ct_select on secrets.
    let (x, y) = (secret(block), secret(key));
    std::hint::black_box(public(ct_eq(&x, &y[..16])));
    let mut out = [0u8; 16];
    ct_select(&x, &y[..16], secret(key[0] & 1 == 1), &mut out);
    std::hint::black_box(public(out));
}

/// Deliberately variable time: returns at the first differing byte. The checker must report the
/// branch on the secret.
#[inline(never)]
fn leaky_compare(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
    }
    true
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("check");
    let full = args.get(1).is_some_and(|a| a == "full");
    if !ctgrind::running_on_valgrind() {
        eprintln!("ctgrind: not running under valgrind; the targets run for correctness only");
    }
    let mut rng = ChaCha20Rng::seed_from_u64(0x00c7_9e1d);
    let mut poison_rng = PoisonRng(ChaCha20Rng::seed_from_u64(0x005e_c2e7));
    match mode {
        "selftest" => {
            let mut a = [0u8; 32];
            rng.fill_bytes(&mut a);
            let mut b = a;
            b[31] ^= 1;
            let same = leaky_compare(&secret(a), &b);
            println!("leaky_compare ran: {}", public(same));
        }
        "check" => {
            let rounds = if full { 8 } else { 1 };
            for i in 0..rounds {
                arithmetic(&mut rng, &mut poison_rng, i % 2 == 1);
            }
            // The key is generated outside the check (the sieve is variable time by design; its
            // Miller–Rabin is checked above) and then loaded from its secret encoding.
            let keys = if full { 3 } else { 1 };
            for _ in 0..keys {
                let key = RsaPrivateKey::generate(&mut rng);
                rsa(&key, &mut rng, &mut poison_rng);
            }
            for _ in 0..rounds {
                dh(&mut poison_rng);
                symmetric(&mut rng);
            }
            println!(
                "ctgrind: all targets ran ({})",
                if full { "full" } else { "short" }
            );
        }
        other => {
            eprintln!("usage: ctgrind [check [full] | selftest], got {other}");
            std::process::exit(2);
        }
    }
}
