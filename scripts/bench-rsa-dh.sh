#!/usr/bin/env bash
# RSA-2048 / DH-2048 speed against the `rsa` crate and OpenSSL, all in the same run, as ratios.
#
#   scripts/bench-rsa-dh.sh                      ours, the rsa crate, OpenSSL
#   ROUNDS=5 scripts/bench-rsa-dh.sh             OpenSSL, ours (and the baseline) alternated 5 times,
#                                                medians reported (robust to load changes)
#   BASELINE_REV=d24e61b scripts/bench-rsa-dh.sh also key generation and the full handshake of
#                                                that revision ("before"), built from `git archive`
#                                                in a temporary directory, with its own target
#                                                dir (target/baseline: the first run builds
#                                                every dependency once more)
#
# OpenSSL: `openssl speed -seconds 3 rsa2048 ffdh2048`, once as it is and once with AVX-512 IFMA
# masked off (OPENSSL_ia32cap=":~0x200000"). Its rsa2048 "sign" is the CRT private operation
# with blinding (and its own fault check); ours is OAEP decryption (the CRT private operation
# with a fresh blinding value, the m^e = c check, plus EME-OAEP decoding, a few microseconds).
# Its ffdh2048 "op" is one derivation in the RFC 7919 group with OpenSSL's default private-key
# length; ours uses 256-bit exponents in RFC 3526 group 14.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-target/bench-rsa-dh}
rm -rf "$OUT"
mkdir -p "$OUT"
SECONDS_PER=${OPENSSL_SECONDS:-3}
CRITERION=(--warm-up-time "${WARMUP:-1}" --measurement-time "${MEASURE:-5}" --output-format bencher)

cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
flags=$(grep -m1 "^flags" /proc/cpuinfo)
has() { case " $flags " in *" $1 "*) echo yes ;; *) echo no ;; esac; }
echo "CPU: $cpu (adx $(has adx), bmi2 $(has bmi2), avx2 $(has avx2), avx512ifma $(has avx512ifma)); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OpenSSL: $(openssl version)"

ROUNDS=${ROUNDS:-1}
if [ -n "${BASELINE_REV:-}" ]; then
    base=$(mktemp -d)
    trap 'rm -rf "$base"' EXIT
    git archive "$BASELINE_REV" | tar -x -C "$base"
fi
# The baseline must not share ours' target dir: cargo hashes a workspace member relative to its
# workspace root, so both builds wrote the same artifacts, and after the baseline's build ours
# looked fresh by mtime and was not rebuilt: later rounds and examples/cpu_time ran the
# baseline's code as "ours" (found on ct-fast: the cpu_time binary had no MULX/ADX code).
base_target=$(pwd)/target/baseline
# Each round runs OpenSSL, ours and the baseline one after the other; with ROUNDS > 1 the tables
# use the median over rounds, so a change of machine load hits every side alike.
for r in $(seq 1 "$ROUNDS"); do
    echo "== round $r of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    openssl speed -elapsed -seconds "$SECONDS_PER" rsa2048 ffdh2048 >"$OUT/openssl.$r.txt" 2>/dev/null
    OPENSSL_ia32cap=":~0x200000" openssl speed -elapsed -seconds "$SECONDS_PER" rsa2048 ffdh2048 \
        >"$OUT/openssl-noifma.$r.txt" 2>/dev/null
    cargo bench --locked -p sans-io-proto --bench rsa_dh -- "${CRITERION[@]}" \
        | tee "$OUT/ours.$r.txt" | grep "^test"
    cargo bench --locked -p sans-io-proto --bench protocol -- handshake "${CRITERION[@]}" \
        | tee "$OUT/ours-protocol.$r.txt" | grep "^test"
    if [ -n "${BASELINE_REV:-}" ]; then
        (cd "$base" && CARGO_TARGET_DIR="$base_target" cargo bench --locked -p sans-io-proto \
            --bench rsa_dh -- "keygen/ours|decrypt/ours|agree/ours" "${CRITERION[@]}") \
            | tee "$OUT/before.$r.txt" | grep "^test"
        (cd "$base" && CARGO_TARGET_DIR="$base_target" cargo bench --locked -p sans-io-proto \
            --bench protocol -- handshake "${CRITERION[@]}") | tee "$OUT/before-protocol.$r.txt" \
            | grep "^test"
    fi
done

# CPU time (what `openssl speed` reports without -elapsed): immune to waiting for a core on a
# loaded machine, so this is the comparison with OpenSSL to trust there.
cargo run --release --locked -p sans-io-proto --example cpu_time | tee "$OUT/cpu-ours.txt"
openssl speed -seconds "$SECONDS_PER" rsa2048 ffdh2048 >"$OUT/cpu-openssl.txt" 2>/dev/null
OPENSSL_ia32cap=":~0x200000" openssl speed -seconds "$SECONDS_PER" rsa2048 ffdh2048 \
    >"$OUT/cpu-openssl-noifma.txt" 2>/dev/null

python3 - "$OUT" "$cpu" "$ROUNDS" <<'PY'
import pathlib, re, statistics, sys
out, cpu, rounds = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

def median_over_rounds(parse, name):
    per_round = [parse(f"{name}.{r}.txt") for r in range(1, rounds + 1)]
    if isinstance(per_round[0], tuple):
        return tuple(statistics.median(x) for x in zip(*per_round))
    keys = set().union(*per_round)
    return {k: statistics.median([d[k] for d in per_round if k in d]) for k in keys}

def bencher_one(name):
    p = out / name
    res = {}
    if p.exists():
        for m in re.finditer(r"^test (\S+) \.\.\. bench:\s+([\d,]+) ns/iter", p.read_text(), re.M):
            res[m.group(1)] = int(m.group(2).replace(",", "")) / 1e6  # ms
    return res

def bencher(name):
    return median_over_rounds(bencher_one, name.removesuffix(".txt"))

def openssl(name):
    return median_over_rounds(openssl_one, name.removesuffix(".txt"))

def openssl_one(name):
    text = (out / name).read_text()
    # Times from the rates (the seconds columns are rounded to 4 decimals for ffdh).
    rsa = re.search(r"^rsa 2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)", text, re.M)
    dh = re.search(r"^2048 bits ffdh\s+[\d.]+s\s+([\d.]+)", text, re.M)
    return 1e3 / float(rsa.group(1)), 1e3 / float(dh.group(1))

ours = {**bencher("ours.txt"), **bencher("ours-protocol.txt")}
before = {**bencher("before.txt"), **bencher("before-protocol.txt")}
o_rsa, o_dh = openssl("openssl.txt")
n_rsa, n_dh = openssl("openssl-noifma.txt")
dec = ours["rsa2048_oaep/decrypt/ours"]
agree = ours["dh2048/agree/ours"]
print(f"\nCPU: {cpu}; median of {rounds} interleaved round(s)\n")
print("| operation | ours | reference | ours ÷ reference (time) |")
print("|---|---|---|---|")
print(f"| RSA-2048 private op (OAEP decrypt: CRT, blinded, fault check) | {dec:.3f} ms | `rsa` crate decrypt_blinded {ours['rsa2048_oaep/decrypt/rsa_crate']:.3f} ms | ×{dec / ours['rsa2048_oaep/decrypt/rsa_crate']:.2f} |")
print(f"| same | {dec:.3f} ms | OpenSSL rsa2048 sign {o_rsa:.3f} ms | ×{dec / o_rsa:.2f} |")
print(f"| same | {dec:.3f} ms | OpenSSL rsa2048 sign, IFMA masked {n_rsa:.3f} ms | ×{dec / n_rsa:.2f} (target ≤ ×1.5) |")
print(f"| RSA-2048 OAEP encrypt | {ours['rsa2048_oaep/encrypt/ours']:.3f} ms | `rsa` crate {ours['rsa2048_oaep/encrypt/rsa_crate']:.3f} ms | ×{ours['rsa2048_oaep/encrypt/ours'] / ours['rsa2048_oaep/encrypt/rsa_crate']:.2f} |")
print(f"| DH-2048 agreement (256-bit exponent) | {agree:.3f} ms | OpenSSL ffdh2048 {o_dh:.3f} ms | ×{agree / o_dh:.2f} (target ≤ ×1.5) |")
print(f"| same | {agree:.3f} ms | OpenSSL ffdh2048, IFMA masked {n_dh:.3f} ms | ×{agree / n_dh:.2f} |")
print(f"| DH-2048 key generation | {ours['dh2048/keygen/ours']:.3f} ms | num-bigint modpow floor {ours['dh2048/modpow_256bit_floor/num_bigint']:.3f} ms | ×{ours['dh2048/keygen/ours'] / ours['dh2048/modpow_256bit_floor/num_bigint']:.2f} |")
print(f"| RSA-2048 key generation (median) | {ours['rsa2048_keygen/ours']:.1f} ms | `rsa` crate {ours['rsa2048_keygen/rsa_crate']:.1f} ms | ×{ours['rsa2048_keygen/ours'] / ours['rsa2048_keygen/rsa_crate']:.2f} |")
cpu_ours = dict(re.findall(r"^(\S+) ([\d.]+) ms/op", (out / "cpu-ours.txt").read_text(), re.M))
c_rsa, c_dh = openssl_one("cpu-openssl.txt")
cn_rsa, cn_dh = openssl_one("cpu-openssl-noifma.txt")
d, a = float(cpu_ours["rsa2048_oaep_decrypt"]), float(cpu_ours["dh2048_agree"])
print("\nUser CPU time per operation (ours: examples/cpu_time.rs; OpenSSL: `openssl speed` without -elapsed)\n")
print("| operation | ours | OpenSSL | OpenSSL, IFMA masked | ours ÷ OpenSSL | ours ÷ OpenSSL without IFMA |")
print("|---|---|---|---|---|---|")
print(f"| RSA-2048 private op (OAEP decrypt) | {d:.3f} ms | {c_rsa:.3f} ms | {cn_rsa:.3f} ms | ×{d / c_rsa:.2f} | ×{d / cn_rsa:.2f} (target ≤ ×1.5) |")
print(f"| DH-2048 agreement | {a:.3f} ms | {c_dh:.3f} ms | {cn_dh:.3f} ms | ×{a / c_dh:.2f} (target ≤ ×1.5) | ×{a / cn_dh:.2f} |")
if before:
    print("\n| operation | before | after | after ÷ before (time) |")
    print("|---|---|---|---|")
    for key, label in [("rsa2048_keygen/ours", "RSA-2048 key generation (median)"),
                       ("rsa2048_oaep/decrypt/ours", "RSA-2048 OAEP decrypt"),
                       ("dh2048/agree/ours", "DH-2048 agreement"),
                       ("protocol/handshake_both_sides", "full handshake, both sides")]:
        if key in before and key in ours:
            print(f"| {label} | {before[key]:.3f} ms | {ours[key]:.3f} ms | ×{ours[key] / before[key]:.2f} |")
PY
