//! Valgrind memcheck client requests for constant-time checking (Adam Langley's *ctgrind*,
//! 2010; Monocypher's `tests/ctgrind.c`; BearSSL's test harness).
//!
//! Mark a secret's bytes *undefined* with [`poison`] before handing it to the code under test:
//! memcheck then reports every conditional jump ("Conditional jump or move depends on
//! uninitialised value(s)") and every memory address ("Use of uninitialised value of size 8")
//! computed from it, which are exactly the two timing channels constant-time code must not have.
//! Values that are public by design are marked defined again with [`unpoison`].
//!
//! Outside valgrind each request is a few rotate instructions that leave their default result in
//! place (valgrind recognises the "magic" sequence; a real CPU executes it as no-ops), so the
//! crate is safe to link into any build.
//!
//! Only x86_64 issues the requests (valgrind's `valgrind.h` sequence for amd64); on other
//! architectures every function is a no-op and [`running_on_valgrind`] is false.
//!
//! `unsafe` is confined to the one `requests` module below.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[allow(unsafe_code)]
mod requests {
    /// `VG_USERREQ_TOOL_BASE('M', 'C')` (memcheck.h).
    const MEMCHECK_BASE: u64 = ((b'M' as u64) << 24) | ((b'C' as u64) << 16);
    /// `VG_USERREQ__MAKE_MEM_UNDEFINED`.
    pub(crate) const MAKE_MEM_UNDEFINED: u64 = MEMCHECK_BASE + 1;
    /// `VG_USERREQ__MAKE_MEM_DEFINED`.
    pub(crate) const MAKE_MEM_DEFINED: u64 = MEMCHECK_BASE + 2;
    /// `VG_USERREQ__RUNNING_ON_VALGRIND` (valgrind.h core request).
    pub(crate) const RUNNING_ON_VALGRIND: u64 = 0x1001;

    /// Issues a client request: `args = [request, a1..a5]` in memory pointed to by `rax`, the
    /// default result in `rdx`, then the special no-op preamble
    /// `rol rdi,3; rol rdi,13; rol rdi,61; rol rdi,51` (a total rotation of 128 bits, so `rdi` is
    /// unchanged) followed by `xchg rbx,rbx`, which valgrind's JIT treats as the request marker.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn request(default: u64, req: u64, a1: u64, a2: u64) -> u64 {
        let args: [u64; 6] = [req, a1, a2, 0, 0, 0];
        let mut result = default;
        // SAFETY: the sequence only rotates rdi by a multiple of 64 bits (net no-op) and swaps rbx
        // with itself; rax points to a live, initialised array the asm only reads; valgrind, when
        // present, writes the result to rdx, which is declared as an in/out operand.
        unsafe {
            core::arch::asm!(
                "rol rdi, 3",
                "rol rdi, 13",
                "rol rdi, 61",
                "rol rdi, 51",
                "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") result,
                out("rdi") _,
                options(nostack, preserves_flags),
            );
        }
        result
    }

    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn request(default: u64, _req: u64, _a1: u64, _a2: u64) -> u64 {
        default
    }
}

/// Takes `&mut`: the compiler must then assume the request may have changed the value and read
/// it again from memory afterwards, so the new definedness is what later code sees. (Through a
/// shared reference it may keep using a register copy made before the request, whose
/// definedness valgrind tracks separately.)
fn mem_request<T: ?Sized>(req: u64, value: &mut T) {
    let addr = (value as *mut T).cast::<u8>() as usize as u64;
    let len = core::mem::size_of_val(value) as u64;
    requests::request(0, req, addr, len);
}

/// Marks `value`'s bytes undefined (secret): branching on them, or indexing memory with them, is
/// reported by memcheck. The bytes themselves are not changed.
pub fn poison<T: ?Sized>(value: &mut T) {
    mem_request(requests::MAKE_MEM_UNDEFINED, value);
}

/// Marks `value`'s bytes defined (public) again.
pub fn unpoison<T: ?Sized>(value: &mut T) {
    mem_request(requests::MAKE_MEM_DEFINED, value);
}

/// Alias of [`unpoison`] for library code: a value that is public by design.
pub fn make_defined<T: ?Sized>(value: &mut T) {
    unpoison(value);
}

/// Whether this process runs under valgrind (0 outside it: the default result is kept).
pub fn running_on_valgrind() -> bool {
    requests::request(0, requests::RUNNING_ON_VALGRIND, 0, 0) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_harmless_outside_valgrind() {
        let mut secret = [1u8, 2, 3, 4];
        poison(&mut secret);
        unpoison(&mut secret);
        make_defined(&mut secret[..2]);
        assert_eq!(secret, [1, 2, 3, 4]);
        // `cargo test` does not run under valgrind; scripts/ctgrind.sh checks the other case.
        if std::env::var_os("CTGRIND_EXPECT_VALGRIND").is_none() {
            assert!(!running_on_valgrind());
        }
    }
}
