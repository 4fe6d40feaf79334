//! Constant-time helpers: comparisons whose running time depends only on the lengths of their
//! inputs, never on their contents (so a MAC check leaks nothing about how many bytes matched).

/// Whether `a == b`, in time that depends only on `a.len()` and `b.len()`.
///
/// Every byte is visited and differences are OR-ed together; the final value is passed through
/// [`core::hint::black_box`] so the optimiser cannot turn the loop into an early exit.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= core::hint::black_box(x ^ y);
    }
    core::hint::black_box(diff) == 0
}

/// Constant-time select of bytes: `if choice { b } else { a }` for each byte, without a branch on
/// `choice` (used where a secret bit decides which value is kept).
pub fn ct_select(a: &[u8], b: &[u8], choice: bool, out: &mut [u8]) {
    let mask = 0u8.wrapping_sub(u8::from(core::hint::black_box(choice)));
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        *o = x ^ (mask & (x ^ y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equality() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        for i in 0..32 {
            let mut x = [7u8; 32];
            x[i] ^= 0x80;
            assert!(!ct_eq(&x, &[7u8; 32]));
        }
    }

    #[test]
    fn select() {
        let mut out = [0u8; 3];
        ct_select(b"abc", b"xyz", false, &mut out);
        assert_eq!(&out, b"abc");
        ct_select(b"abc", b"xyz", true, &mut out);
        assert_eq!(&out, b"xyz");
    }
}
