#!/usr/bin/env python3
"""Google Benchmark JSON -> a docs/PERFORMANCE.md table (reliability-and-performance.md §1).

Usage: bench_table.py RESULT.json [...]
With repetitions, one row per benchmark: the median of CPU time and items/s with min-max, and
the user counters (allocs_per_decision, ...) of the median; without, one row per run.
"""
import json
import statistics
import sys


def fmt_time(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.1f} ns"


def fmt_rate(v):
    if v >= 1e6:
        return f"{v / 1e6:.2f} M/s"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k/s"
    return f"{v:.0f}/s"


SKIP = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
        "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
        "time_unit", "items_per_second", "bytes_per_second", "aggregate_name",
        "aggregate_unit", "label", "error_occurred", "error_message"}
UNIT = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}


def main(paths):
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        runs = {}
        order = []
        for b in data.get("benchmarks", []):
            if b.get("run_type") != "iteration":
                continue
            name = b.get("run_name", b["name"])
            if name not in runs:
                runs[name] = []
                order.append(name)
            runs[name].append(b)
        ctx = data.get("context", {})
        print(f"`{path}` ({ctx.get('date', '')}, {ctx.get('num_cpus', '?')} CPUs at "
              f"{ctx.get('mhz_per_cpu', '?')} MHz, load {ctx.get('load_avg', '')})")
        print()
        print("| benchmark | CPU time (median) | min-max | items/s (median) | counters |")
        print("|---|---|---|---|---|")
        for name in order:
            reps = runs[name]
            cpu = [r["cpu_time"] * UNIT.get(r.get("time_unit", "ns"), 1) for r in reps]
            med = statistics.median(cpu)
            items = [r.get("items_per_second", 0) for r in reps]
            mid = min(reps, key=lambda r: abs(r["cpu_time"] * UNIT.get(r.get("time_unit", "ns"), 1) - med))
            counters = ", ".join(
                f"{k} {mid[k]:.3g}" for k in sorted(mid) if k not in SKIP and isinstance(mid[k], (int, float)))
            err = " (error: " + mid.get("error_message", "") + ")" if mid.get("error_occurred") else ""
            print(f"| {name} | {fmt_time(med)} | {fmt_time(min(cpu))} - {fmt_time(max(cpu))} | "
                  f"{fmt_rate(statistics.median(items)) if any(items) else ''} | {counters}{err} |")
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
