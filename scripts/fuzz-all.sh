#!/usr/bin/env bash
# Runs every fuzz target (or those named) for N seconds each (default 120), one after the other, one
# libFuzzer process each (the machine is shared), starting from the kept corpus in
# vectors/fuzz-corpus/<target>/. Crashes land in fuzz/artifacts/<target>/: once fixed, copy each into
# vectors/fuzz-regressions/<target>/ so `cargo test` replays it
# (simulator-tests/tests/fuzz_regressions.rs).
#
#   scripts/fuzz-all.sh [seconds] [--keep-corpus] [target ...]
#
# --keep-corpus: afterwards minimize each target's corpus (`cargo fuzz cmin`) and store it as the new
# vectors/fuzz-corpus/<target>/, keeping the genuine `seed-*` inputs under their names.
# The build uses CARGO_BUILD_JOBS=1 unless set; the build stays in fuzz/target.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
secs=120
keep=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --keep-corpus) keep=1 ;;
    [0-9]*) secs="$arg" ;;
    *) targets+=("$arg") ;;
  esac
done
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer's instrumentation flags are nightly-only; this lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)
cargo fuzz build
failed=()
for target in "${targets[@]}"; do
  echo "== $target ($secs s)"
  mkdir -p "corpus/$target" "$root/vectors/fuzz-corpus/$target"
  log="${TMPDIR:-/tmp}/fuzz-$target.log"
  # The script targets run real DH and RSA work per input (tens of executions a second): let them
  # use the genuine seeds' length at once instead of growing the length limit slowly.
  extra=()
  case "$target" in
    client_input|handshake_message|ratchet_ops) extra=(-len_control=0 -max_len=512) ;;
  esac
  if ! cargo fuzz run "$target" "corpus/$target" "$root/vectors/fuzz-corpus/$target" -- \
      -max_total_time="$secs" -rss_limit_mb=4096 -print_final_stats=1 "${extra[@]}" \
      >"$log" 2>&1; then
    failed+=("$target")
    grep -E "panicked|SUMMARY|Test unit written" "$log" || true
  fi
  grep -E "^Done|stat::number_of_executed_units|stat::average_exec_per_sec|cov: .* ft: " "$log" | tail -4 || true
done
if [ "$keep" = 1 ]; then
  for target in "${targets[@]}"; do
    kept="$root/vectors/fuzz-corpus/$target"
    seeds="$(mktemp -d)"
    cp "$kept"/seed-* "$seeds"/ 2>/dev/null || true
    cp -n "$kept"/* "corpus/$target/" 2>/dev/null || true
    cargo fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1
    rm -rf "$kept"
    cp -r "corpus/$target" "$kept"
    # The genuine seeds keep their names (a test checks them); drop cmin's copies of them.
    for s in "$seeds"/seed-*; do
      [ -e "$s" ] || continue
      rm -f "$kept/$(sha1sum "$s" | cut -d' ' -f1)"
      cp "$s" "$kept/"
    done
    rm -rf "$seeds"
    echo "kept $(ls "$kept" | wc -l) inputs for $target"
  done
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes in: ${failed[*]} (see fuzz/artifacts/ and ${TMPDIR:-/tmp}/fuzz-<target>.log)"
  exit 1
fi
