"""bench/check.py (`make bench-check`): the regression bounds of reliability-and-performance.md §1
(throughput -10 %, p99 +20 %, any decide-core allocation, RSS +15 %) and the summary it builds
from a results directory."""
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import check  # noqa: E402

BASE = {
    "machine_class": "2cpu-test",
    "decide_core_sticky_hit_items_per_s": 1_200_000,
    "decide_core_allocs_max": 0,
    "grpc_router_rps": 27_000,
    "grpc_ratio_percent": 70,
    "grpc_router_p99_us": 900,
    "grpc_valid": 1,
    "nats_after_best": 20_000,
    "nats_immediate_best": 22_000,
    "nats_audit_clean": 1,
    "grpc_router_rss_kb": 40_000,
}


class BenchCheckTest(unittest.TestCase):
    def run_compare(self, current):
        with tempfile.TemporaryDirectory() as d:
            base, cur = os.path.join(d, "base.json"), os.path.join(d, "cur.json")
            with open(base, "w") as f:
                json.dump(BASE, f)
            with open(cur, "w") as f:
                json.dump(current, f)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = check.compare(base, cur)
            return rc, out.getvalue()

    def test_same_figures_pass(self):
        rc, out = self.run_compare(dict(BASE))
        self.assertEqual(rc, 0, out)
        self.assertIn("bench-check: ok", out)

    def test_each_bound(self):
        cases = {
            "nats_after_best": 17_999,  # < 90 %
            "grpc_router_p99_us": 1_081,  # > 120 %
            "decide_core_allocs_max": 0.001,  # any allocation
            "grpc_router_rss_kb": 46_001,  # > 115 %
            "nats_audit_clean": 0,
            "grpc_valid": 0,
        }
        for key, value in cases.items():
            with self.subTest(key=key):
                rc, out = self.run_compare(dict(BASE, **{key: value}))
                self.assertEqual(rc, 1, out)
                self.assertIn("FAIL", out)

    def test_within_bounds_pass(self):
        rc, out = self.run_compare(dict(BASE, nats_after_best=18_000, grpc_router_p99_us=1_080,
                                        grpc_router_rss_kb=46_000))
        self.assertEqual(rc, 0, out)

    def test_slow_host_makes_router_misses_inconclusive(self):
        base = dict(BASE, grpc_echo_rps=38_000, nats_echo_best=200_000, grpc_echo_p99_us=1_000)
        slow = dict(base, grpc_echo_rps=30_000, grpc_router_rps=20_000)  # echo -21 %
        with tempfile.TemporaryDirectory() as d:
            paths = [os.path.join(d, n) for n in ("base.json", "cur.json", "ok.json", "alloc.json")]
            for path, data in zip(paths, (base, slow, dict(base),
                                          dict(slow, decide_core_allocs_max=1))):
                with open(path, "w") as f:
                    json.dump(data, f)
            for cur, want, text in ((paths[1], 3, "inconclusive"), (paths[2], 0, "bench-check: ok"),
                                    (paths[3], 1, "out of bounds")):
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    rc = check.compare(paths[0], cur)
                self.assertEqual(rc, want, out.getvalue())
                self.assertIn(text, out.getvalue())
        self.assertIn("SLOW HOST", out.getvalue())

    def test_targets_are_printed(self):
        rc, out = self.run_compare(dict(BASE, grpc_router_p99_us=1_000, nats_after_best=25_000))
        self.assertIn("target P4 gRPC p99 at 5,000 req/s (us): 1000 (pass: < 1000) MISS", out)
        self.assertIn("target P5 NATS after_publish best/s: 25000 (pass: >= 20000) pass", out)
        self.assertIn("target P1 decide_core sticky_hit decisions/s: 1.2e+06", out)

    def test_missing_figure_is_reported_not_failed(self):
        current = dict(BASE)
        del current["nats_after_best"]
        rc, out = self.run_compare(current)
        self.assertEqual(rc, 0, out)
        self.assertIn("missing", out)

    def test_summary_from_a_results_dir(self):
        with tempfile.TemporaryDirectory() as d:
            runs = [
                {"name": "BM_DecideCore/sticky_hit", "run_type": "iteration",
                 "items_per_second": v, "allocs_per_decision": 0} for v in (1.0e6, 1.2e6, 1.1e6)
            ] + [{"name": "BM_DecideCore/sticky_miss", "run_type": "iteration",
                  "items_per_second": 9e5, "allocs_per_decision": 0.0002}] + [
                {"name": f"BM_HostMemoryLatency/{w}", "run_type": "iteration", "cpu_time": t,
                 "time_unit": "ns"} for w, t in (("before", 90.0), ("before", 95.0), ("after", 99.0))
            ]
            with open(os.path.join(d, "decide_core_bench.json"), "w") as f:
                json.dump({"benchmarks": runs}, f)
            with open(os.path.join(d, "summary.txt"), "w") as f:
                f.write("nats_after_best 20463\ngrpc_router_p99_us 888\n")
            out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "check.py"),
                                  "summary", d], check=True, capture_output=True, text=True)
            with open(out.stdout.strip()) as f:
                s = json.load(f)
        self.assertEqual(s["decide_core_sticky_hit_items_per_s"], 1.1e6)  # median
        self.assertEqual(s["decide_core_allocs_max"], 0)  # sticky_miss (table growth) excluded
        self.assertEqual(s["decide_core_host_mem_ns"], 95.0)  # median, before and after
        self.assertEqual(s["nats_after_best"], 20463)
        self.assertEqual(s["grpc_router_p99_us"], 888)

    def test_committed_baseline_parses(self):
        d = os.path.join(ROOT, "bench", "baseline")
        names = [n for n in os.listdir(d) if n.endswith(".json")]
        self.assertTrue(names)
        for n in names:
            with open(os.path.join(d, n)) as f:
                b = json.load(f)
            self.assertEqual(n, b["machine_class"] + ".json")
            self.assertGreaterEqual(b["nats_after_best"], 20_000)


if __name__ == "__main__":
    unittest.main()
