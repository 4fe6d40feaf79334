#!/usr/bin/env bash
# Runs every fuzz target for N seconds (default 120), starting from the kept corpus in
# vectors/fuzz-corpus/<target>/. Crashes land in fuzz/artifacts/<target>/: once fixed, copy each
# into vectors/fuzz-regressions/<target>/ so `cargo test` replays it
# (simulator-tests/tests/fuzz_regressions.rs).
#
#   scripts/fuzz-all.sh [seconds] [--keep-corpus]
#
# --keep-corpus: afterwards minimize each target's corpus (`cargo fuzz cmin`) and store it as the
# new vectors/fuzz-corpus/<target>/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"
secs=120
keep=0
for arg in "$@"; do
  case "$arg" in
    --keep-corpus) keep=1 ;;
    *) secs="$arg" ;;
  esac
done
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# libFuzzer's instrumentation flags are nightly-only; this lets the stable toolchain accept them.
export RUSTC_BOOTSTRAP=1
failed=()
for target in $(cargo fuzz list); do
  echo "== $target ($secs s)"
  mkdir -p "corpus/$target" "$root/vectors/fuzz-corpus/$target"
  if ! cargo fuzz run "$target" "corpus/$target" "$root/vectors/fuzz-corpus/$target" -- \
      -max_total_time="$secs" -rss_limit_mb=4096 >"/tmp/fuzz-$target.log" 2>&1; then
    failed+=("$target")
    grep -E "panicked|SUMMARY|Test unit written" "/tmp/fuzz-$target.log" || true
  fi
  grep -E "DONE" "/tmp/fuzz-$target.log" || true
done
if [ "$keep" = 1 ]; then
  for target in $(cargo fuzz list); do
    cp -n "$root/vectors/fuzz-corpus/$target/"* "corpus/$target/" 2>/dev/null || true
    cargo fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1
    rm -rf "$root/vectors/fuzz-corpus/$target"
    cp -r "corpus/$target" "$root/vectors/fuzz-corpus/$target"
    echo "kept $(ls "corpus/$target" | wc -l) inputs for $target"
  done
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "crashes in: ${failed[*]} (see fuzz/artifacts/)"
  exit 1
fi
