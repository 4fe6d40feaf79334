#!/usr/bin/env python3
"""Prints Markdown tables from criterion's results (target/criterion), with every 'ours*'
benchmark compared to every other benchmark of the same group and parameter *from the same run*.

    python3 scripts/bench_table.py [--root TARGET_DIR] [GROUP_PREFIX ...]

Ratio = reference time / our time: above 1 means ours is faster.
"""
import json
import pathlib
import sys

args = sys.argv[1:]
target = pathlib.Path(__file__).resolve().parent.parent / "target"
if args[:1] == ["--root"]:
    target = pathlib.Path(args[1])
    args = args[2:]
root = target / "criterion"
prefixes = args
rows = {}
for bench in root.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = json.loads((bench.parent / "estimates.json").read_text())
    group = meta["group_id"]
    if prefixes and not any(group.startswith(p) for p in prefixes):
        continue
    func = meta.get("function_id") or ""
    param = meta.get("value_str") or ""
    # function ids like "encrypt/ours" put the operation before the implementation.
    if "/" in func:
        op, impl = func.split("/", 1)
        key = (group, op + (" " + param if param else ""))
    else:
        impl = func
        key = (group, param)
    median_ns = est["median"]["point_estimate"]
    tp = meta.get("throughput") or {}
    size = tp.get("Bytes")
    rows.setdefault(key, {})[impl] = (median_ns, size)


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


for (group, param), impls in sorted(rows.items()):
    title = f"{group} {param}".strip()
    print(f"\n**{title}**\n")
    print("| implementation | median | throughput | ratios (reference time / ours) |")
    print("|---|---|---|---|")
    for impl, (ns, size) in sorted(impls.items(), key=lambda kv: kv[1][0]):
        thr = f"{size / ns * 1e3:.1f} MB/s" if size else ""
        ratios = ""
        if impl.startswith("ours"):
            ratios = ", ".join(
                f"{other}: ×{ons / ns:.2f}" for other, (ons, _) in sorted(impls.items()) if not other.startswith("ours")
            )
        print(f"| {impl} | {fmt_time(ns)} | {thr} | {ratios} |")
