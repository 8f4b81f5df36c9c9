#!/usr/bin/python3
"""Unit tests of tests/ops/ops_check.py: the PromQL name extraction, the YAML subset reader, the
exposition reader, and that the checks fail on the mistakes they exist for (observability.md O4:
a panel or rule naming a metric the router does not export; §4 rule labels and annotations).

Run: /usr/bin/python3 -m unittest discover -s tests/ops -p 'test_*.py' -v
Standard library only; needs promtool for the end-to-end cases.
"""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import ops_check  # noqa: E402


class MetricNamesTest(unittest.TestCase):
    def test_selectors_functions_and_grouping(self):
        expr = ('histogram_quantile(0.99, sum by (transport, le) '
                '(rate(router_decide_duration_seconds_bucket{instance=~"$instance"}'
                '[$__rate_interval])))')
        self.assertEqual(ops_check.metric_names(expr), {"router_decide_duration_seconds_bucket"})

    def test_binary_operators_and_keywords(self):
        expr = ('sum without (reason) (rate(a_total[5m])) / on (instance) group_left '
                'sum(b_total offset 5m) > bool 0.5 or c == 1 and d unless e')
        self.assertEqual(ops_check.metric_names(expr), {"a_total", "b_total", "c", "d", "e"})

    def test_strings_labels_and_numbers_are_not_metrics(self):
        expr = ('label_replace(increase(x_total{reason="queue_full"}[30m]) > 0, "dropped", '
                '"spans", "", "") or time() - y_seconds > 1e3')
        self.assertEqual(ops_check.metric_names(expr), {"x_total", "y_seconds"})

    def test_recording_rule_names_with_colons(self):
        self.assertEqual(ops_check.metric_names("beamline_router:decide_error_ratio:rate5m > 0.01"),
                         {"beamline_router:decide_error_ratio:rate5m"})

    def test_variable_queries(self):
        self.assertEqual(ops_check.variable_query_expr("label_values(router_build_info, instance)"),
                         "router_build_info")
        self.assertIsNone(ops_check.variable_query_expr("label_values(instance)"))

    def test_grafana_variables_are_substituted(self):
        self.assertEqual(ops_check.grafana_to_promql('rate(a{i=~"$instance"}[$__rate_interval])'),
                         'rate(a{i=~".*"}[5m])')


class MiniYamlTest(unittest.TestCase):
    def parse(self, text):
        return ops_check.MiniYaml(text, "t.yml").parse()

    def test_rules_file_shape(self):
        doc = self.parse(
            "# comment\n"
            "groups:\n"
            "  - name: g\n"
            "    rules:\n"
            "      - alert: A\n"
            "        expr: |\n"
            "          up == 0\n"
            "            or x > 1\n"
            "        for: 1m\n"
            "        labels:\n"
            "          severity: critical  # trailing comment\n"
            "        annotations:\n"
            "          summary: \"a {{ $labels.instance }} # not a comment\"\n"
            "          other: 'it''s'\n"
            "      - record: r:x\n"
            "        expr: sum(x)\n"
            "targets: [\"127.0.0.1:9001\", b]\n"
            "map: {a: b, c: \"d\"}\n")
        rules = doc["groups"][0]["rules"]
        self.assertEqual(rules[0]["expr"], "up == 0\n  or x > 1\n")
        self.assertEqual(rules[0]["labels"], {"severity": "critical"})
        self.assertEqual(rules[0]["annotations"]["summary"],
                         "a {{ $labels.instance }} # not a comment")
        self.assertEqual(rules[0]["annotations"]["other"], "it's")
        self.assertEqual(rules[1], {"record": "r:x", "expr": "sum(x)"})
        self.assertEqual(doc["targets"], ["127.0.0.1:9001", "b"])
        self.assertEqual(doc["map"], {"a": "b", "c": "d"})

    def test_unsupported_multiline_scalar_is_an_error(self):
        with self.assertRaises(ops_check.YamlError):
            self.parse("a:\n  b: one\n    two\n")

    def test_shipped_rules_parse(self):
        doc = ops_check.load_yaml(os.path.join(ROOT, "deploy/prometheus/alerts.yml"))
        names = [r.get("alert") or r.get("record") for g in doc["groups"] for r in g["rules"]]
        self.assertIn("BeamlineRouterDown", names)
        self.assertIn("beamline_router:decide_error_ratio:rate5m", names)


class ExpositionTest(unittest.TestCase):
    def test_histogram_suffixes_map_to_their_family(self):
        text = (
            "# HELP a_seconds help\n# TYPE a_seconds histogram\n"
            'a_seconds_bucket{transport="grpc",le="0.1"} 1\n'
            'a_seconds_bucket{transport="grpc",le="+Inf"} 1\n'
            'a_seconds_sum{transport="grpc"} 0.05\na_seconds_count{transport="grpc"} 1\n'
            "# HELP b_total help\n# TYPE b_total counter\n"
            'b_total{path="/x\\"y"} 3\n'
            "# HELP c help\n# TYPE c gauge\n"
            "# HELP c_count help\n# TYPE c_count gauge\nc_count 2\n")
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write(text)
        try:
            types, labels = ops_check.parse_exposition(f.name)
        finally:
            os.unlink(f.name)
        self.assertEqual(types, {"a_seconds": "histogram", "b_total": "counter", "c": "gauge",
                                 "c_count": "gauge"})
        self.assertEqual(labels["a_seconds"], {"transport"})
        self.assertEqual(labels["b_total"], {"path"})
        names = ops_check.series_names(types)
        self.assertIn("a_seconds_bucket", names)
        self.assertNotIn("a_seconds", names)
        self.assertIn("c_count", names)


def exposition_from_docs(exclude=()):
    """A synthetic /metrics text with one series per family the docs mark exported."""
    docs = ops_check.load_docs_catalogue(os.path.join(ROOT, "docs/OBSERVABILITY.md"))
    out = []
    for name, row in sorted(docs.items()):
        if row["exported"] != "yes" or name in exclude:
            continue
        labels = ",".join('%s="x"' % l for l in row["labels"])
        out.append("# HELP %s h\n# TYPE %s %s" % (name, name, row["type"]))
        if row["type"] == "histogram":
            sep = "," if labels else ""
            out.append('%s_bucket{%s%sle="+Inf"} 0' % (name, labels, sep))
            out.append("%s_sum{%s} 0\n%s_count{%s} 0" % (name, labels, name, labels))
        else:
            out.append("%s{%s} 0" % (name, labels))
    return "\n".join(out) + "\n"


@unittest.skipUnless(shutil.which("promtool"), "promtool not installed")
class EndToEndTest(unittest.TestCase):
    """Runs the checks on a copy of the artefacts, mutated to contain one mistake."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ops-check-")
        for rel in ("deploy", "docs/OBSERVABILITY.md", "tests/ops"):
            src = os.path.join(ROOT, rel)
            dst = os.path.join(self.root, rel)
            if os.path.isdir(src):
                shutil.copytree(src, dst)
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(src, dst)

    def tearDown(self):
        shutil.rmtree(self.root)

    def run_check(self, *extra):
        r = subprocess.run([os.path.join(self.root, "tests/ops/check_ops_artifacts.sh")] +
                           list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        return r.returncode, r.stdout

    def edit(self, rel, old, new):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def edit_dashboard(self, mutate):
        path = os.path.join(self.root, "deploy/grafana/beamline-router.json")
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
        mutate(dash)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(dash, f, indent=2)
        # Keep the generator check green: point it at the mutated JSON.
        gen = os.path.join(self.root, "deploy/grafana/build_dashboard.py")
        with open(gen, "w", encoding="utf-8") as f:
            f.write("import sys\nsys.exit(0)\n")

    def write(self, text):
        path = os.path.join(self.root, "metrics.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_shipped_artefacts_pass(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)

    def test_shipped_artefacts_pass_against_a_scrape_of_the_documented_families(self):
        rc, out = self.run_check("--metrics-file", self.write(exposition_from_docs()))
        self.assertEqual(rc, 0, out)

    def test_panel_naming_a_later_family_fails(self):
        def mutate(dash):
            dash["panels"][1]["targets"][0]["expr"] = "router_extension_execution_total"
        self.edit_dashboard(mutate)
        rc, out = self.run_check()
        self.assertNotEqual(rc, 0)
        self.assertIn("router_extension_execution_total is not exported", out)

    def test_bare_histogram_name_fails(self):
        def mutate(dash):
            dash["panels"][1]["targets"][0]["expr"] = "rate(router_decide_duration_seconds[5m])"
        self.edit_dashboard(mutate)
        rc, out = self.run_check()
        self.assertNotEqual(rc, 0)
        self.assertIn("router_decide_duration_seconds is not exported", out)

    def test_invalid_promql_in_a_panel_fails(self):
        def mutate(dash):
            dash["panels"][1]["targets"][0]["expr"] = "sum(rate(router_ready[5m]"
        self.edit_dashboard(mutate)
        rc, out = self.run_check()
        self.assertNotEqual(rc, 0)
        self.assertIn("dashboard queries do not parse", out)

    def test_family_missing_from_the_scrape_fails(self):
        metrics = self.write(exposition_from_docs(exclude=("router_ready",)))
        rc, out = self.run_check("--metrics-file", metrics)
        self.assertNotEqual(rc, 0)
        self.assertIn("BeamlineRouterNotReady -> router_ready is not exported", out)
        self.assertIn("panel 'Ready'/A -> router_ready is not exported", out)

    def test_undocumented_scraped_family_fails(self):
        metrics = self.write(exposition_from_docs() +
                             "# HELP router_surprise_total h\n# TYPE router_surprise_total "
                             "counter\nrouter_surprise_total 1\n")
        rc, out = self.run_check("--metrics-file", metrics)
        self.assertNotEqual(rc, 0)
        self.assertIn("router_surprise_total is exported but not in the docs catalogue", out)

    def test_later_family_marked_yes_in_docs_fails_scrape_comparison(self):
        metrics = self.write(exposition_from_docs() +
                             "# HELP router_extension_execution_total h\n# TYPE "
                             "router_extension_execution_total counter\n"
                             "router_extension_execution_total 1\n")
        rc, out = self.run_check("--metrics-file", metrics)
        self.assertNotEqual(rc, 0)
        self.assertIn("router_extension_execution_total: docs say 'later'", out)

    def test_wrong_severity_and_runbook_fail(self):
        rel = "deploy/prometheus/alerts.yml"
        self.edit(rel, 'runbook_url: "docs/RUNBOOK.md#beamlinerouterfdpressure"',
                  'runbook_url: "docs/RUNBOOK.md#fd"')
        rc, out = self.run_check()
        self.assertNotEqual(rc, 0)
        self.assertIn("alert BeamlineRouterFdPressure: runbook_url", out)

    def test_missing_spec_alert_fails(self):
        rel = "deploy/prometheus/alerts-pending.yml.disabled"
        self.edit(rel, "- alert: BeamlineRouterUsageEmitFailing", "- alert: SomethingElse")
        rc, out = self.run_check()
        self.assertNotEqual(rc, 0)
        self.assertIn("BeamlineRouterUsageEmitFailing (OBS §4) neither in alerts.yml", out)

    def test_catalogue_file_comparison(self):
        docs = ops_check.load_docs_catalogue(os.path.join(ROOT, "docs/OBSERVABILITY.md"))
        metrics = []
        for name, row in sorted(docs.items()):
            metrics.append({
                "name": name, "type": row["type"], "help": "h",
                "labels": [{"name": l, "class": "enum", "values": []} for l in row["labels"]],
                "buckets": {"layout": row["layout"], "bounds": []} if row["layout"] else None,
                "exported": row["exported"] == "yes",
            })
        path = os.path.join(self.root, "catalogue.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"metrics": metrics}, f)
        rc, out = self.run_check("--catalogue-file", path)
        self.assertEqual(rc, 0, out)
        metrics[0]["exported"] = not metrics[0]["exported"]
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"metrics": metrics}, f)
        rc, out = self.run_check("--catalogue-file", path)
        self.assertNotEqual(rc, 0)
        self.assertIn("%s: exported" % metrics[0]["name"], out)


if __name__ == "__main__":
    unittest.main()
