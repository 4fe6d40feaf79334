//! No secret survives in freed memory (issue 10 §4, issue 14).
//!
//! A capturing global allocator wraps `System`: while capture is on, every block handed back by
//! `dealloc` — and the old block of every `realloc`, which may be moved and freed — is copied
//! into a side store taken from `System` once, up front (so capturing never allocates through
//! the allocator it instruments). The scenario then runs the library's secret-handling paths
//! through their public APIs: RSA key generation, OAEP encrypt/decrypt, DH key generation and
//! agreement, a full handshake with messages both ways, identity-file seal and unlock. Every
//! secret the library produced is known from its test-only registry (`leak_check::note`, the
//! `leak-check` feature enabled by this crate's dev-dependency on itself), plus the secrets the
//! test chose (message bodies, the passphrase, an OAEP message). The freed bytes are searched for
//! each secret as big-endian bytes and reversed (the image of little-endian limbs of any width),
//! by every 16-byte window, so a partial copy is found too. The test fails on any hit.
//!
//! A self-test first frees an unwiped secret on purpose and requires the scan to find it (and a
//! wiped one not to be found), so the detector is known to work.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sans_io_proto::crypto::dh::DhPrivateKey;
use sans_io_proto::crypto::rsa::RsaPrivateKey;
use sans_io_proto::identity_file::{Argon2Params, StorageKey};
use sans_io_proto::{Content, Handshake, IdentityKeyPair, MessageId, identity_file, leak_check};
use zeroize::Zeroizing;

/// Size of the side store (virtual memory; only the pages written are ever touched).
const STORE_CAP: usize = 1 << 30;
/// Shortest window searched for.
const WINDOW: usize = 16;

static CAPTURE: AtomicBool = AtomicBool::new(false);
static STORE: AtomicUsize = AtomicUsize::new(0);
static USED: AtomicUsize = AtomicUsize::new(0);
static OVERFLOW: AtomicBool = AtomicBool::new(false);
/// Block boundaries (offset in the store, size), for the report: a fixed array, no allocation.
const MAX_BLOCKS: usize = 1 << 20;
static BLOCKS: AtomicUsize = AtomicUsize::new(0);
static NBLOCKS: AtomicUsize = AtomicUsize::new(0);

struct Capturing;

fn capture(ptr: *const u8, size: usize) {
    if !CAPTURE.load(Ordering::SeqCst) || size == 0 {
        return;
    }
    let base = STORE.load(Ordering::SeqCst);
    if base == 0 {
        return;
    }
    let at = USED.fetch_add(size, Ordering::SeqCst);
    if at + size > STORE_CAP {
        OVERFLOW.store(true, Ordering::SeqCst);
        return;
    }
    // SAFETY: `ptr` is a live block of `size` bytes about to be freed; the destination lies
    // inside the store (checked above) and was reserved for this copy by the fetch_add.
    unsafe { std::ptr::copy_nonoverlapping(ptr, (base + at) as *mut u8, size) };
    let i = NBLOCKS.fetch_add(1, Ordering::SeqCst);
    let blocks = BLOCKS.load(Ordering::SeqCst);
    if i < MAX_BLOCKS && blocks != 0 {
        // SAFETY: entry i of the boundary array, reserved by the fetch_add.
        unsafe { *(blocks as *mut [usize; 2]).add(i) = [at, size] };
    }
}

// SAFETY: every call is forwarded to `System` with the same arguments; capturing only reads the
// block being freed before `System` frees it.
unsafe impl GlobalAlloc for Capturing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        capture(ptr, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The old block may be moved and freed with its contents: capture it (conservatively,
        // also when it grows in place).
        capture(ptr, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Capturing = Capturing;

fn start_capture() {
    if STORE.load(Ordering::SeqCst) == 0 {
        let layout = Layout::from_size_align(STORE_CAP, 4096).unwrap();
        // SAFETY: a non-zero size layout; the block is kept for the life of the process.
        let base = unsafe { System.alloc(layout) };
        assert!(!base.is_null(), "could not reserve the capture store");
        STORE.store(base as usize, Ordering::SeqCst);
        let layout = Layout::array::<[usize; 2]>(MAX_BLOCKS).unwrap();
        // SAFETY: as above.
        let blocks = unsafe { System.alloc(layout) };
        assert!(!blocks.is_null());
        BLOCKS.store(blocks as usize, Ordering::SeqCst);
    }
    NBLOCKS.store(0, Ordering::SeqCst);
    USED.store(0, Ordering::SeqCst);
    OVERFLOW.store(false, Ordering::SeqCst);
    CAPTURE.store(true, Ordering::SeqCst);
}

fn stop_capture() -> &'static [u8] {
    CAPTURE.store(false, Ordering::SeqCst);
    assert!(
        !OVERFLOW.load(Ordering::SeqCst),
        "capture store overflowed: not every freed block was searched"
    );
    let used = USED.load(Ordering::SeqCst).min(STORE_CAP);
    // SAFETY: the first `used` bytes of the store were written by `capture`, and capture is off,
    // so nothing writes them while the slice lives (until the next start_capture, which the test
    // calls only after it is done with the slice).
    unsafe { std::slice::from_raw_parts(STORE.load(Ordering::SeqCst) as *const u8, used) }
}

/// The freed block holding store offset `at`: (size, offset inside the block).
fn block_of(at: usize) -> Option<(usize, usize)> {
    let n = NBLOCKS.load(Ordering::SeqCst).min(MAX_BLOCKS);
    let blocks = BLOCKS.load(Ordering::SeqCst);
    // SAFETY: the first n entries were written by `capture`; capture is off.
    let blocks = unsafe { std::slice::from_raw_parts(blocks as *const [usize; 2], n) };
    let mut sorted: Vec<[usize; 2]> = blocks.to_vec();
    sorted.sort();
    let i = sorted.partition_point(|b| b[0] <= at).checked_sub(1)?;
    let [start, size] = sorted[i];
    (at < start + size).then_some((size, at - start))
}

/// Every known secret: (kind, bytes).
type Secrets = Vec<(String, Vec<u8>)>;

/// Searches `freed` for every 16-byte window of every secret (big-endian and byte-reversed).
/// Returns the kinds found, with the number of hits.
fn scan(freed: &[u8], secrets: &Secrets) -> Vec<(String, usize)> {
    // All windows of all images, mapped to the secret's index; a 2^24-bit filter on the first
    // eight bytes keeps the scan to one probe per offset in the common case.
    let mut windows: HashMap<[u8; WINDOW], (usize, usize)> = HashMap::new();
    let mut filter = vec![0u64; 1 << 18];
    let slot = |w: &[u8]| {
        let x = u64::from_le_bytes(w[..8].try_into().unwrap());
        (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize
    };
    for (i, (_, bytes)) in secrets.iter().enumerate() {
        // An all-zero or short secret would match anything or nothing useful.
        if bytes.len() < WINDOW || bytes.iter().all(|&b| b == 0) {
            continue;
        }
        let reversed: Vec<u8> = bytes.iter().rev().copied().collect();
        for image in [bytes.as_slice(), reversed.as_slice()] {
            for (offset, w) in image.windows(WINDOW).enumerate() {
                // Skip windows that are mostly one byte value (leading zeros of a number).
                if w.iter().filter(|&&b| b == w[0]).count() > WINDOW / 2 {
                    continue;
                }
                windows.insert(w.try_into().unwrap(), (i, offset));
                let s = slot(w);
                filter[s / 64] |= 1 << (s % 64);
            }
        }
    }
    let mut hits = vec![0usize; secrets.len()];
    if freed.len() >= WINDOW {
        for at in 0..=freed.len() - WINDOW {
            let w = &freed[at..at + WINDOW];
            let s = slot(w);
            if filter[s / 64] >> (s % 64) & 1 == 0 {
                continue;
            }
            if let Some(&(i, offset)) = windows.get(<&[u8; WINDOW]>::try_from(w).unwrap()) {
                if hits[i] < 3 && std::env::var_os("LEAK_DETAIL").is_some() {
                    eprintln!(
                        "{}: window at secret offset {offset} in freed block (size, at) {:?}",
                        secrets[i].0,
                        block_of(at)
                    );
                }
                hits[i] += 1;
            }
        }
    }
    let mut found: HashMap<String, usize> = HashMap::new();
    for (i, n) in hits.into_iter().enumerate() {
        if n > 0 {
            *found.entry(secrets[i].0.clone()).or_default() += n;
        }
    }
    let mut found: Vec<_> = found.into_iter().collect();
    found.sort();
    found
}

fn registry() -> Secrets {
    leak_check::secrets()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// The detector finds a secret freed unwiped, and does not find one that was wiped.
fn self_test() {
    leak_check::clear();
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let mut leaked = [0u8; 48];
    let mut wiped = [0u8; 48];
    rng.fill_bytes(&mut leaked);
    rng.fill_bytes(&mut wiped);
    start_capture();
    {
        let v = leaked.to_vec(); // freed without wiping
        std::hint::black_box(&v);
        let w = Zeroizing::new(wiped.to_vec()); // wiped before it is freed
        std::hint::black_box(&w);
        // A partial copy: the middle 20 bytes, reversed (a little-endian image).
        let part: Vec<u8> = leaked[10..30].iter().rev().copied().collect();
        std::hint::black_box(&part);
    }
    let freed = stop_capture();
    let secrets: Secrets = vec![
        ("deliberately leaked".into(), leaked.to_vec()),
        ("wiped".into(), wiped.to_vec()),
    ];
    let found = scan(freed, &secrets);
    assert_eq!(
        found.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["deliberately leaked"],
        "the self-test must find exactly the unwiped secret: {found:?}"
    );
    // The unwiped vector and the reversed partial copy are both found.
    assert!(found[0].1 >= 2, "{found:?}");
}

#[test]
fn no_secret_is_left_in_freed_memory() {
    self_test();

    leak_check::clear();
    let mut rng = ChaCha20Rng::seed_from_u64(2024);
    let passphrase = "correct horse battery staple, in freed memory?";
    let bodies = [
        "first secret message body from alice to bob",
        "bob answers with a second secret message body",
        "alice again: a third message body, also secret",
        "and bob's last words, the fourth message body",
    ];
    let oaep_message = *b"an OAEP-encapsulated 32-byte key";
    // Everything the scenario returns to the caller is kept alive until after the scan (the
    // caller's memory is the caller's business); the vector is reserved up front so that it
    // never reallocates.
    let mut kept: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(64);

    start_capture();
    let now = Instant::now();
    // RSA key generation (two identities) and the private-key encoding round trip.
    let alice_id = IdentityKeyPair::generate(&mut rng);
    let bob_id = IdentityKeyPair::generate(&mut rng);
    // OAEP encrypt / decrypt.
    let rsa = RsaPrivateKey::from_bytes(&alice_id.to_private_bytes()).unwrap();
    let ct = rsa
        .public_key()
        .oaep_encrypt(&mut rng, &oaep_message, b"label")
        .unwrap();
    let pt = rsa.oaep_decrypt(&mut rng, &ct, b"label").unwrap();
    assert_eq!(&pt[..], &oaep_message[..]);
    kept.push(Box::new(pt));
    // DH key generation and agreement.
    let x = DhPrivateKey::generate(&mut rng);
    let y = DhPrivateKey::generate(&mut rng);
    let s1 = x.agree(&y.public_key()).unwrap();
    let s2 = y.agree(&x.public_key()).unwrap();
    assert_eq!(s1.as_bytes(), s2.as_bytes());
    kept.push(Box::new((x, y, s1, s2)));
    // A full handshake and a few messages each way.
    let mut alice = Handshake::new(&alice_id, &mut rng, now);
    let mut bob = Handshake::new(&bob_id, &mut rng, now);
    for _ in 0..8 {
        while let Some(m) = alice.poll_transmit() {
            bob.handle_bytes(&m, &mut rng).unwrap();
        }
        while let Some(m) = bob.poll_transmit() {
            alice.handle_bytes(&m, &mut rng).unwrap();
        }
        if alice.is_established() && bob.is_established() {
            break;
        }
    }
    let mut alice = alice.into_session().unwrap();
    let mut bob = bob.into_session().unwrap();
    for (i, body) in bodies.iter().enumerate() {
        let (from, to) = if i % 2 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let content = Content::Text {
            id: MessageId {
                stream: 1,
                number: i as u64 + 1,
            },
            expire_secs: 0,
            text: body.to_string(),
        };
        let wire = from.encrypt(&content, 0, &mut rng).unwrap();
        kept.push(Box::new(content));
        let got = to.decrypt(&wire.envelope, &mut rng).unwrap();
        // Compared in place: a `to_string()` here would free a copy of the plaintext itself.
        assert!(matches!(&got.content, Content::Text { text, .. } if text == body));
        kept.push(Box::new(got));
    }
    // Identity file: seal and unlock.
    let storage_key = StorageKey::generate(&mut rng);
    let params = Argon2Params {
        m_cost_kib: 64,
        t_cost: 1,
        lanes: 1,
    };
    let file = identity_file::seal(&alice_id, &storage_key, passphrase, params, &mut rng).unwrap();
    let opened = identity_file::open(&file, passphrase, &mut rng).unwrap();
    assert_eq!(opened.identity.fingerprint(), alice_id.fingerprint());
    assert_eq!(opened.storage_key.as_bytes(), storage_key.as_bytes());
    kept.push(Box::new((opened, storage_key)));
    // Drop the library's own state while capturing: its destructors must wipe.
    drop((alice, bob, rsa, alice_id, bob_id));
    let freed = stop_capture();

    let mut secrets = registry();
    assert!(!leak_check::overflowed(), "the secret registry overflowed");
    let kinds: std::collections::BTreeSet<&str> = secrets.iter().map(|(k, _)| k.as_str()).collect();
    for expected in [
        "rsa.p",
        "rsa.q",
        "rsa.p-1",
        "rsa.q-1",
        "rsa.dP",
        "rsa.dQ",
        "rsa.qInv(mont)",
        "rsa.oaep EM",
        "rsa.oaep seed",
        "rsa.oaep message",
        "rsa.oaep EM (decrypt)",
        "rsa.blinding r^-1",
        "dh.x",
        "dh.shared",
        "handshake.session okm",
        "handshake.hiding okm",
        "ratchet.root step okm",
        "ratchet.chain key",
        "ratchet.message key",
        "etm key set",
        "identity_file.argon2 output",
    ] {
        assert!(
            kinds.contains(expected),
            "no secret of kind {expected} was noted: {kinds:?}"
        );
    }
    secrets.push(("passphrase".into(), passphrase.as_bytes().to_vec()));
    for (i, body) in bodies.iter().enumerate() {
        secrets.push((format!("message body {i}"), body.as_bytes().to_vec()));
    }
    eprintln!(
        "scanned {} freed bytes for {} secrets",
        freed.len(),
        secrets.len()
    );
    let found = scan(freed, &secrets);
    assert!(found.is_empty(), "secrets found in freed memory: {found:?}");
    drop(kept);
}
