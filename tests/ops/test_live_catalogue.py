"""The router's metric catalogue against the docs and against a live /metrics scrape.

observability.md §2.1 (one catalogue source printed by `beamline-router
--print-metrics-catalogue`, checked against docs/OBSERVABILITY.md; pre-initialisation of
enum-only families), §2.2 (labels and their classes), §2.3 (bucket layouts), O4 (nothing
exported that the catalogue does not declare as exported). Steps:

1. `beamline-router --print-metrics-catalogue` prints the JSON catalogue; saved and checked with
   `tests/ops/check_ops_artifacts.sh --catalogue-file <file>` (exit 0).
2. A live router's /metrics against that catalogue: every family marked exported is present,
   except families with an open-valued label (class tenant, open, or metric) that have no series
   yet; enum-only families (no labels included) and info families must be present, enum-only
   counters and histograms with every enum combination pre-initialised (enum gauges may show only
   the series that apply, e.g. the readiness checks this process runs); types, label names, enum
   values and histogram bounds match;
   nothing is exported that the catalogue does not mark exported.

A router without /metrics or without the JSON catalogue makes these tests FAIL with a message
saying so (never skip).
"""

import itertools
import json
import math
import os
import subprocess
import unittest

from live_support import (CHECK_OPS_ARTIFACTS, LiveTestError, drive_sample_traffic,
                          parse_exposition, router_binary, run_tool, scrape_metrics, start_router,
                          write_temp)
from gen_stubs import load_protos  # tests/python, put on sys.path by live_support

# Label classes whose values are created on demand (OBS §2.2): a family with such a label may have
# no series (and so be absent from /metrics) until something is recorded. `metric` is the family
# name of router_metrics_series / router_metrics_series_overflow_total (an overflow series exists
# only after an overflow).
ON_DEMAND_CLASSES = {"tenant", "open", "metric"}

# Families the spec wants absent in this test's setup: the router is started without nats.url,
# and router_nats_connection_status is "absent without NATS" (OBS §2.5).
ABSENT_WITHOUT_NATS = {"router_nats_connection_status"}

# Families whose enum combinations are pre-initialised through a filter (catalogue.cc
# GrpcMethodOfService: a gRPC method only within its own service), so the full cross product
# is not expected; every value of every label must still appear.
FILTERED_PREINIT = {"router_grpc_requests_total"}

OTHER = "other"  # OBS §2.2: an out-of-set enum value is exported as `other` in release builds


def load_catalogue():
    """(parsed JSON, raw text) of `beamline-router --print-metrics-catalogue`."""
    binary = router_binary()
    if not os.access(binary, os.X_OK):
        raise LiveTestError(f"router binary not found or not executable: {binary} "
                            f"(set ROUTER_BIN or build <repo>/build/beamline-router)")
    res = subprocess.run([binary, "--print-metrics-catalogue"], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise LiveTestError(f"{binary} --print-metrics-catalogue exited {res.returncode}: "
                            f"{res.stderr[-2000:]}")
    try:
        doc = json.loads(res.stdout)
    except ValueError as e:
        raise LiveTestError(
            f"{binary} --print-metrics-catalogue did not print the JSON catalogue of OBS §2.1 "
            f"({e}); output starts with {res.stdout[:200]!r}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), list) or \
            not doc["metrics"]:
        raise LiveTestError(f"catalogue JSON has no non-empty `metrics` list: {res.stdout[:300]!r}")
    return doc, res.stdout


def fmt_bound(value):
    return "+Inf" if value == math.inf else repr(value)


class LiveCatalogueTest(unittest.TestCase):

    def setUp(self):
        self.tmp_files = []

    def tearDown(self):
        for path in self.tmp_files:
            try:
                os.unlink(path)
            except OSError:
                pass

    def test_catalogue_matches_docs(self):
        """OBS §2.1: the printed catalogue equals docs/OBSERVABILITY.md §1.4 (ops check)."""
        doc, text = load_catalogue()
        names = [m.get("name") for m in doc["metrics"]]
        self.assertEqual(len(names), len(set(names)), "each family declared once")
        self.assertEqual(names, sorted(names), "catalogue sorted by name")
        for m in doc["metrics"]:
            self.assertIn(m.get("type"), ("counter", "gauge", "histogram"), m.get("name"))
            self.assertIsInstance(m.get("exported"), bool, m.get("name"))
        path = write_temp(text, ".json")
        self.tmp_files.append(path)
        res = run_tool([CHECK_OPS_ARTIFACTS, "--catalogue-file", path], timeout=300)
        self.assertEqual(res.returncode, 0,
                         f"check_ops_artifacts.sh --catalogue-file exited {res.returncode}:\n"
                         f"{res.output[-8000:]}")

    def test_live_scrape_matches_catalogue(self):
        """OBS §2.1/§2.2/§2.3/O4: the live /metrics is exactly what the catalogue exports."""
        doc, _ = load_catalogue()
        catalogue = {m["name"]: m for m in doc["metrics"]}
        router = start_router()
        try:
            scrape_metrics(router)  # fails with a clear message while /metrics is missing
            # Decides first, so the tenant/policy/provider families have series to check too.
            drive_sample_traffic(router, load_protos())
            families = parse_exposition(scrape_metrics(router))
        finally:
            router.stop()

        problems = []
        # O4: nothing on /metrics that the catalogue does not declare as exported.
        for name in sorted(families):
            entry = catalogue.get(name)
            if entry is None:
                problems.append(f"{name}: on /metrics but not in the catalogue")
            elif not entry["exported"]:
                problems.append(f"{name}: on /metrics but the catalogue says exported=false")

        for name, entry in sorted(catalogue.items()):
            if not entry["exported"]:
                continue
            labels = entry.get("labels") or []
            classes = {l.get("class") for l in labels}
            fam = families.get(name)
            if fam is None or not fam.samples:
                if not classes & ON_DEMAND_CLASSES and name not in ABSENT_WITHOUT_NATS:
                    kind = "enum-only" if classes <= {"enum"} else f"label classes {sorted(classes)}"
                    problems.append(f"{name}: exported ({kind}) but has no series on /metrics; "
                                    f"OBS §2.1 requires it from startup")
                continue
            problems.extend(self._check_family(name, entry, fam, labels, classes))

        self.assertEqual(problems, [], "live /metrics vs --print-metrics-catalogue:\n  " +
                         "\n  ".join(problems))

    def _check_family(self, name, entry, fam, labels, classes):
        problems = []
        if fam.type != entry["type"]:
            problems.append(f"{name}: # TYPE {fam.type}, catalogue {entry['type']}")
        label_names = [l["name"] for l in labels]
        is_hist = entry["type"] == "histogram"
        enum_values = {l["name"]: list(l.get("values") or []) for l in labels
                       if l.get("class") == "enum"}
        combos = set()
        for sample, sample_labels, _ in fam.samples:
            expected = set(label_names) | ({"le"} if sample == name + "_bucket" else set())
            if set(sample_labels) != expected:
                problems.append(f"{name}: sample {sample}{sample_labels} has labels "
                                f"{sorted(sample_labels)}, catalogue {sorted(expected)}")
                continue
            for lname, allowed in enum_values.items():
                value = sample_labels[lname]
                if value not in allowed and value != OTHER:
                    problems.append(f"{name}: {lname}=\"{value}\" not in the catalogue's "
                                    f"values {allowed}")
            if not is_hist or sample == name + "_count":
                combos.add(tuple(sample_labels[n] for n in label_names))

        if is_hist:
            bounds = [float(b) for b in (entry.get("buckets") or {}).get("bounds") or []]
            want = bounds + [math.inf]
            for sample, sample_labels, _ in fam.series(name + "_count"):
                got = sorted(float(s[1]["le"].replace("+Inf", "inf"))
                             for s in fam.series(name + "_bucket", **sample_labels))
                if got != want:
                    problems.append(f"{name}{sample_labels}: buckets {[fmt_bound(b) for b in got]}"
                                    f", catalogue {[fmt_bound(b) for b in want]}")
                    break

        # OBS §2.1 pre-initialisation of enum-only families, "so rate()/increase() see the first
        # event": checked for counters and histograms. Enum gauges are values computed at scrape
        # and may export only the series that apply to this process (router_ready_check has
        # the readiness checks /ready lists: without nats.url, no `nats` check); the family must
        # still be present (checked above).
        if classes <= {"enum"} and entry["type"] in ("counter", "histogram"):
            value_sets = [enum_values[n] for n in label_names]
            if name in FILTERED_PREINIT:
                for i, lname in enumerate(label_names):
                    missing = set(value_sets[i]) - {c[i] for c in combos}
                    if missing:
                        problems.append(f"{name}: {lname} values never pre-initialised: "
                                        f"{sorted(missing)}")
            else:
                missing = [c for c in itertools.product(*value_sets) if c not in combos]
                if missing:
                    problems.append(f"{name}: {len(missing)} enum combinations not "
                                    f"pre-initialised, e.g. {dict(zip(label_names, missing[0]))}")
        return problems


if __name__ == "__main__":
    unittest.main()
