#!/usr/bin/env python3
"""`make bench-check`: compares a `make bench` run with the committed baseline of this machine
class (reliability-and-performance.md §1).

Usage:
  check.py summary RESULTS_DIR          writes RESULTS_DIR/summary.json from the Google Benchmark
                                        JSON files and the scripts' summary.txt ("key value")
  check.py compare BASELINE.json SUMMARY.json
  check.py machine-class                prints the class name of this machine

Fails (exit 1) on: a throughput figure below 90 % of the baseline, the gRPC p99 above 120 % of
the baseline, any allocation on the decide core, router RSS above 115 % of the baseline, a void
gRPC run or an unclean assignment audit. Figures missing from either side are reported, not
failed (e.g. a run with SKIP_NATS=1).
"""
import json
import os
import re
import statistics
import sys

# key -> (kind, label); kinds: throughput (-10 %), latency (+20 %), rss (+15 %), zero, flag
CHECKS = {
    "decide_core_sticky_hit_items_per_s": ("throughput", "P1 decide_core sticky_hit decisions/s"),
    "decide_core_allocs_max": ("zero", "P2 allocations per decision (max over the steady-state BM_DecideCore variants)"),
    "grpc_router_rps": ("throughput", "P3 gRPC router req/s"),
    "grpc_ratio_percent": ("throughput", "P3 gRPC router/echo ratio %"),
    "grpc_router_p99_us": ("latency", "P4 gRPC p99 at 5,000 req/s (us)"),
    "grpc_valid": ("flag", "gRPC run valid"),
    "nats_after_best": ("throughput", "P5 NATS after_publish best decisions/s"),
    "nats_immediate_best": ("throughput", "NATS immediate best decisions/s"),
    "nats_audit_clean": ("flag", "NATS assignments audit clean"),
    "grpc_router_rss_kb": ("rss", "router RSS after the gRPC runs (kB)"),
}


def machine_class():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    slug = re.sub(r"[^a-z0-9.]+", "-", model.lower()).strip("-")
    return f"{os.cpu_count()}cpu-{slug}"


def summarize(results_dir):
    out = {"machine_class": machine_class()}
    core = os.path.join(results_dir, "decide_core_bench.json")
    if os.path.exists(core):
        with open(core) as f:
            runs = [b for b in json.load(f)["benchmarks"] if b.get("run_type") == "iteration"]
        hit = [b["items_per_second"] for b in runs if b["name"].startswith("BM_DecideCore/sticky_hit")
               and "threads" not in b["name"]]
        if hit:
            out["decide_core_sticky_hit_items_per_s"] = statistics.median(hit)
        # sticky_miss pins a new session per call, so its table grows now and then (reported in
        # docs/PERFORMANCE.md, not a steady state).
        allocs = [b.get("allocs_per_decision", 0) for b in runs
                  if b["name"].startswith("BM_DecideCore/") and "sticky_miss" not in b["name"]]
        if allocs:
            out["decide_core_allocs_max"] = max(allocs)
    text = os.path.join(results_dir, "summary.txt")
    if os.path.exists(text):
        with open(text) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    try:
                        out[parts[0]] = float(parts[1])
                    except ValueError:
                        pass
    path = os.path.join(results_dir, "summary.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
        f.write("\n")
    return path


def compare(baseline_path, summary_path):
    with open(baseline_path) as f:
        base = json.load(f)
    with open(summary_path) as f:
        cur = json.load(f)
    if base.get("machine_class") != cur.get("machine_class"):
        print(f"note: baseline machine class {base.get('machine_class')} != {cur.get('machine_class')}")
    failed = 0
    print(f"| figure | baseline | this run | bound | verdict |\n|---|---|---|---|---|")
    for key, (kind, label) in CHECKS.items():
        b, c = base.get(key), cur.get(key)
        if c is None or (b is None and kind not in ("zero", "flag")):
            print(f"| {label} | {b} | {c} | | missing |")
            continue
        if kind == "throughput":
            bound, ok = f">= {0.9 * b:.1f}", c >= 0.9 * b
        elif kind == "latency":
            bound, ok = f"<= {1.2 * b:.1f}", c <= 1.2 * b
        elif kind == "rss":
            bound, ok = f"<= {1.15 * b:.0f}", c <= 1.15 * b
        elif kind == "zero":
            bound, ok = "0", c == 0
        else:
            bound, ok = "1", c == 1
        failed += not ok
        print(f"| {label} | {b} | {c:g} | {bound} | {'ok' if ok else 'FAIL'} |")
    print("bench-check: " + ("ok" if not failed else f"{failed} figure(s) out of bounds"))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 3 and argv[1] == "summary":
        print(summarize(argv[2]))
        return 0
    if len(argv) == 4 and argv[1] == "compare":
        return compare(argv[2], argv[3])
    if len(argv) == 2 and argv[1] == "machine-class":
        print(machine_class())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
