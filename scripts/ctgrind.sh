#!/usr/bin/env bash
# Constant-time check: runs the secret-handling code under valgrind memcheck with every secret
# marked undefined (the ctgrind method of A. Langley, Monocypher's tests/ctgrind.c and BearSSL).
# Any branch or memory index computed from a secret is reported as "Conditional jump or move
# depends on uninitialised value(s)" / "Use of uninitialised value" and fails the check.
#
#   scripts/ctgrind.sh            short run (CI default): every target once
#   CT_FULL=1 scripts/ctgrind.sh  full sweep: more keys and inputs, edge-shaped moduli
#
# Covered (ctgrind/examples/harness.rs): Montgomery multiplication, squaring and
# reduction (1024/2048-bit, secret moduli) in both back ends: the whole check runs once with the
# portable code and once with the MULX/ADX assembly (sans-io-proto/src/crypto/bignum/x86_64.rs),
# forced by CTGRIND_BIGNUM_BACKEND=portable|adx (valgrind's emulated CPUID hides ADX, so the
# library would otherwise pick the portable code; the ADX run is skipped, with a note, on a CPU
# without BMI2 and ADX); the fixed-window exponentiation; limb primitives
# (select, compare, conditional subtraction, products, small remainders); Fermat inversion and
# e^-1 mod (p-1); the constant-time Miller-Rabin; RSA key loading (n, dP, dQ, qInv) and OAEP
# decryption (blinded CRT private operation with secret blinding values, fault check, decoding)
# and encryption; DH key generation, restore and agreement; the portable bitsliced AES-256 (key
# schedule, blocks) and IGE both ways; HMAC-SHA256 verify (full and truncated); ct_eq, ct_select.
# Not covered, variable time by design and documented: the key-generation sieve, DH peer-value
# checks (public inputs), the blinding inverse of the masked, public value t.
#
# The script first runs a deliberately variable-time comparison and requires valgrind to report
# it, so a broken checker cannot pass silently. It installs valgrind (Debian) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "== installing valgrind"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq valgrind
fi

echo "== building the harness (release, feature ctgrind)"
cargo build --release --locked -p ctgrind --example harness
BIN=target/release/examples/harness
LOG_DIR=${CTGRIND_LOG_DIR:-target/ctgrind}
mkdir -p "$LOG_DIR"
VG=(valgrind --tool=memcheck --error-exitcode=97 --leak-check=no --track-origins=yes
    --num-callers=30 --read-inline-info=yes)

echo "== self-test: a deliberately variable-time comparison must be reported"
if CTGRIND_EXPECT_VALGRIND=1 "${VG[@]}" "$BIN" selftest >"$LOG_DIR/selftest.log" 2>&1; then
    cat "$LOG_DIR/selftest.log"
    echo "FAIL: valgrind did not report the variable-time self-test; the checker is not working"
    exit 1
fi
if ! grep -q "Conditional jump or move depends on uninitialised value" "$LOG_DIR/selftest.log"; then
    cat "$LOG_DIR/selftest.log"
    echo "FAIL: the self-test failed for another reason than the expected report"
    exit 1
fi
echo "ok: the self-test was reported"

MODE=(check)
if [ "${CT_FULL:-0}" = 1 ]; then MODE=(check full); fi
BACKENDS=(portable)
flags=$(grep -m1 "^flags" /proc/cpuinfo || true)
if [[ " $flags " == *" bmi2 "* && " $flags " == *" adx "* ]]; then
    BACKENDS+=(adx)
else
    echo "note: this CPU lacks BMI2/ADX: the MULX/ADX back end is not checked here"
fi
for backend in "${BACKENDS[@]}"; do
    LOG="$LOG_DIR/check-$backend.log"
    echo "== constant-time check: ${MODE[*]}, bignum back end $backend"
    if ! CTGRIND_BIGNUM_BACKEND=$backend "${VG[@]}" "$BIN" "${MODE[@]}" >"$LOG" 2>&1; then
        cat "$LOG"
        echo "FAIL: secret-dependent branches or memory accesses (see above)"
        exit 1
    fi
    grep -q "ctgrind: all targets ran" "$LOG" || { cat "$LOG"; exit 1; }
    # The library prints the back end it chose (feature ctgrind): the forced one must have run.
    grep -q "ctgrind: bignum back end: $backend" "$LOG" || {
        cat "$LOG"
        echo "FAIL: the $backend back end was not the one that ran"
        exit 1
    }
    tail -n 3 "$LOG"
    echo "ok: no secret-dependent branch or memory index ($backend)"
done
