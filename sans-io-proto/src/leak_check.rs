//! Test-only registry of secrets, for the freed-memory test (`tests/freed_memory.rs`).
//!
//! Secret-producing code calls [`note`] with a kind and the secret's bytes. Without the
//! `leak-check` feature (every shipped build) `note` is an empty inline function and compiles to
//! nothing. With it, the bytes are copied into a fixed static buffer; **no heap allocation** is
//! made, so the registry itself never leaves copies in freed memory for the test to trip over.
//! The test reads the registry back with [`secrets`] after its scenario ran.

/// Records a secret (no-op without the `leak-check` feature).
#[inline(always)]
pub fn note(kind: &'static str, bytes: &[u8]) {
    #[cfg(feature = "leak-check")]
    imp::note(kind, bytes);
    #[cfg(not(feature = "leak-check"))]
    let _ = (kind, bytes);
}

#[cfg(feature = "leak-check")]
pub use imp::{clear, overflowed, secrets};

#[cfg(feature = "leak-check")]
mod imp {
    use std::sync::Mutex;

    const DATA: usize = 8 << 20;
    const ENTRIES: usize = 1 << 16;

    struct Registry {
        data: [u8; DATA],
        used: usize,
        entries: [(&'static str, usize, usize); ENTRIES],
        count: usize,
        overflowed: bool,
    }

    static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
        data: [0; DATA],
        used: 0,
        entries: [("", 0, 0); ENTRIES],
        count: 0,
        overflowed: false,
    });

    pub(super) fn note(kind: &'static str, bytes: &[u8]) {
        let Ok(mut r) = REGISTRY.lock() else {
            return;
        };
        if r.count == ENTRIES || r.used + bytes.len() > DATA {
            r.overflowed = true;
            return;
        }
        let (at, i) = (r.used, r.count);
        r.data[at..at + bytes.len()].copy_from_slice(bytes);
        r.entries[i] = (kind, at, bytes.len());
        r.used += bytes.len();
        r.count += 1;
    }

    /// Forgets everything recorded so far (and the overflow flag).
    pub fn clear() {
        if let Ok(mut r) = REGISTRY.lock() {
            let used = r.used;
            r.data[..used].fill(0);
            r.used = 0;
            r.count = 0;
            r.overflowed = false;
        }
    }

    /// Whether a secret was dropped because the registry was full.
    pub fn overflowed() -> bool {
        REGISTRY.lock().map(|r| r.overflowed).unwrap_or(true)
    }

    /// Everything recorded since the last [`clear`] (allocates: call it after the scenario).
    pub fn secrets() -> Vec<(&'static str, Vec<u8>)> {
        let Ok(r) = REGISTRY.lock() else {
            return Vec::new();
        };
        r.entries[..r.count]
            .iter()
            .map(|&(kind, at, len)| (kind, r.data[at..at + len].to_vec()))
            .collect()
    }
}
