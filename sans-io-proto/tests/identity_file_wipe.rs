//! The identity file leaves no secret in freed heap memory: a global allocator inspects every
//! block as it is freed while a version 2 file is sealed and opened and a version 1 file is opened
//! and rewritten. It checks that
//! - Argon2id's working memory (the caller-allocated blocks, from which `master` is computed) is
//!   all zeros when freed, and that it was seen at all (one block per Argon2id run);
//! - no freed block holds a storage key (the sealed one, or the one a version 1 upgrade draws),
//!   or the start of the plaintext private-key encoding
//!   (`0x01 || p[0..31]`, PROTOCOL.md §2.1) that the file encrypts.
//!
//! The RSA arithmetic's own temporaries (big-endian copies of `p`, `q`) are another module's
//! business (issue 10, item 4) and are not looked for here. One test in this binary, so no other
//! test's frees are scanned.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use common::{alice, rng};
use sans_io_proto::identity_file::{self, Argon2Params, StorageKey, seal, seal_v1};

const NEEDLE_LEN: usize = 32;

/// Armed only around the code under test.
static ARMED: AtomicBool = AtomicBool::new(false);
/// The secrets looked for (set before arming; atomics so the allocator needs no lock).
static STORAGE_KEY: [AtomicU8; NEEDLE_LEN] = [const { AtomicU8::new(0) }; NEEDLE_LEN];
/// The storage key the version 1 upgrade draws.
static NEW_STORAGE_KEY: [AtomicU8; NEEDLE_LEN] = [const { AtomicU8::new(0) }; NEEDLE_LEN];
static PLAINTEXT_START: [AtomicU8; NEEDLE_LEN] = [const { AtomicU8::new(0) }; NEEDLE_LEN];
/// Size in bytes of one Argon2id working memory for [`PARAMS`].
static ARGON2_MEMORY_LEN: AtomicUsize = AtomicUsize::new(0);

static STORAGE_KEY_HITS: AtomicUsize = AtomicUsize::new(0);
static PLAINTEXT_HITS: AtomicUsize = AtomicUsize::new(0);
static ARGON2_MEMORY_WIPED: AtomicUsize = AtomicUsize::new(0);
static ARGON2_MEMORY_DIRTY: AtomicUsize = AtomicUsize::new(0);

/// 72 KiB, one lane: 72 blocks of 1 KiB, an allocation size nothing else here makes.
const PARAMS: Argon2Params = Argon2Params {
    m_cost_kib: 72,
    t_cost: 1,
    lanes: 1,
};

struct Inspecting;

fn load(needle: &[AtomicU8; NEEDLE_LEN]) -> [u8; NEEDLE_LEN] {
    let mut out = [0u8; NEEDLE_LEN];
    for (o, n) in out.iter_mut().zip(needle) {
        *o = n.load(Ordering::Relaxed);
    }
    out
}

fn store(needle: &[AtomicU8; NEEDLE_LEN], bytes: &[u8]) {
    for (n, b) in needle.iter().zip(bytes) {
        n.store(*b, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` unchanged; `dealloc` only reads the block it is
// handed (valid for `layout.size()` bytes until it is passed on) before forwarding it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() > 0 {
            // SAFETY: `ptr` is a live allocation of `layout.size()` bytes until freed below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let (old, new) = (load(&STORAGE_KEY), load(&NEW_STORAGE_KEY));
            if block.windows(NEEDLE_LEN).any(|w| w == old || w == new) {
                STORAGE_KEY_HITS.fetch_add(1, Ordering::SeqCst);
            }
            if block
                .windows(NEEDLE_LEN)
                .any(|w| w == load(&PLAINTEXT_START))
            {
                PLAINTEXT_HITS.fetch_add(1, Ordering::SeqCst);
            }
            if layout.size() == ARGON2_MEMORY_LEN.load(Ordering::SeqCst) {
                if block.iter().all(|&b| b == 0) {
                    ARGON2_MEMORY_WIPED.fetch_add(1, Ordering::SeqCst);
                } else {
                    ARGON2_MEMORY_DIRTY.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

#[test]
fn no_secret_is_left_in_freed_memory() {
    // Everything the test itself allocates and frees, before arming.
    let id = alice();
    let private = id.to_private_bytes();
    let storage = StorageKey::generate(&mut rng(1));
    let storage_bytes = *storage.as_bytes();
    store(&STORAGE_KEY, &storage_bytes);
    store(&PLAINTEXT_START, &private[..NEEDLE_LEN]);
    // The upgrade's first random draw is its storage key.
    store(
        &NEW_STORAGE_KEY,
        StorageKey::generate(&mut rng(4)).as_bytes(),
    );
    ARGON2_MEMORY_LEN.store(72 * 1024, Ordering::SeqCst);
    let v1_file = seal_v1(id, "passphrase", 2, &mut rng(2)).unwrap();
    let mut v1_rng = rng(4);

    ARMED.store(true, Ordering::SeqCst);
    let file = seal(id, &storage, "passphrase", PARAMS, &mut rng(3)).unwrap();
    drop(storage);
    let unlocked = identity_file::open(&file, "passphrase", &mut rng(3)).unwrap();
    let same_key = *unlocked.storage_key.as_bytes() == storage_bytes;
    drop(unlocked);
    let upgraded = identity_file::open_with(&v1_file, "passphrase", PARAMS, &mut v1_rng).unwrap();
    let new_key = *upgraded.storage_key.as_bytes();
    let drawn_as_expected = new_key == load(&NEW_STORAGE_KEY);
    let rewrite = upgraded.rewrite.clone();
    drop(upgraded);
    let reopened = identity_file::open(&rewrite.unwrap(), "passphrase", &mut rng(5)).unwrap();
    let reopened_same = *reopened.storage_key.as_bytes() == new_key;
    drop(reopened);
    ARMED.store(false, Ordering::SeqCst);

    assert!(same_key && reopened_same, "the files did not round-trip");
    assert!(
        drawn_as_expected,
        "the upgrade's storage key is not the one looked for"
    );
    assert_eq!(
        ARGON2_MEMORY_WIPED.load(Ordering::SeqCst),
        4,
        "one wiped Argon2id memory per run: seal, open, rewrite, reopen"
    );
    assert_eq!(
        ARGON2_MEMORY_DIRTY.load(Ordering::SeqCst),
        0,
        "Argon2id memory freed without wiping"
    );
    assert_eq!(
        STORAGE_KEY_HITS.load(Ordering::SeqCst),
        0,
        "storage key in freed memory"
    );
    assert_eq!(
        PLAINTEXT_HITS.load(Ordering::SeqCst),
        0,
        "plaintext private key in freed memory"
    );

    // The scanner does find what it looks for: a secret freed unwiped is counted.
    ARMED.store(true, Ordering::SeqCst);
    drop(std::hint::black_box(storage_bytes.to_vec()));
    ARMED.store(false, Ordering::SeqCst);
    assert_eq!(STORAGE_KEY_HITS.load(Ordering::SeqCst), 1);
}
