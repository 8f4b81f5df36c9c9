"""End-to-end: the router's /metrics scraped by promtool and by a real Prometheus.

observability.md §3 (exposition, `promtool check metrics` exits 0), §4 (shipped rules load and
evaluate; every metric they name is exported, O4) and §2.5 (decide counters and latency
histogram). Steps:

a. scrape `GET /metrics` of a real router, save it, run `promtool check metrics` on it (exit 0)
   and `tests/ops/check_ops_artifacts.sh --metrics-file <file>` (exit 0);
b. start /usr/bin/prometheus on 127.0.0.1 (free port, temp TSDB) with a generated config that
   scrapes the router every 1 s as job `beamline-router` and loads deploy/prometheus/alerts.yml;
c. send 200 Decides (default_tenant / default) and a few unknown-policy Decides over gRPC;
d. poll Prometheus' HTTP API until the ok counter, the p99 of the decide histogram, the
   policy_not_found counter, `up`, the recording rules and the rule health are as expected, and
   no alert fires.

A router without /metrics makes these tests FAIL with a message saying so (never skip).
Run: /usr/bin/python3 -m unittest discover -s tests/ops -p 'test_*.py'
"""

import math
import os
import re
import unittest

import grpc

from live_support import (ALERTS_YML, CHECK_OPS_ARTIFACTS, PROMTOOL_BIN, REPO_ROOT, SCRAPE_JOB,
                          LiveTestError, PrometheusServer, decide, drive_sample_traffic, http_get,
                          parse_exposition, poll, run_tool, sample_value, scrape_metrics,
                          start_router, write_temp)
from gen_stubs import load_protos  # tests/python, put on sys.path by live_support

OK_DECIDES = 200
UNKNOWN_POLICY_DECIDES = 5
TENANT = "default_tenant"
POLICY = "default"
UNKNOWN_POLICY = "no_such_policy_for_ops_test"

PROM_DEADLINE_S = 30.0  # each Prometheus condition; the whole test stays well under a minute

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


RUNBOOK = os.path.join(REPO_ROOT, "docs", "RUNBOOK.md")
PENDING_ALERTS_YML = os.path.join(REPO_ROOT, "deploy", "prometheus", "alerts-pending.yml.disabled")
RUNBOOK_PREFIX = "docs/RUNBOOK.md#"


def runbook_anchors(path=RUNBOOK):
    """Anchors a Markdown renderer gives docs/RUNBOOK.md: GitHub-style heading slugs (lowercase,
    punctuation dropped, spaces to '-', repeats suffixed -1, -2, ...) and explicit
    <a id/name="...">."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors, counts = set(), {}
    in_fence = False
    for line in text.split("\n"):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m and not in_fence:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    anchors.update(re.findall(r'<a\s+(?:id|name)="([^"]+)"', text))
    return anchors


def runbook_urls(path):
    """{alert name: set of runbook_url annotations} of a rules file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = {}
    for block in re.split(r"^\s*-\s*(?=alert:|record:)", text, flags=re.M)[1:]:
        m = re.match(r"alert:\s*(\S+)", block)
        if not m:
            continue
        url = re.search(r'^\s*runbook_url:\s*"?([^"\n]+?)"?\s*$', block, re.M)
        out.setdefault(m.group(1), set()).add(url.group(1) if url else None)
    return out


def rule_names(path):
    """(alert names, record names) declared in a rules file (`- alert: X` / `- record: X`)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    alerts = set(re.findall(r"^\s*-\s*alert:\s*(\S+)\s*$", text, re.M))
    records = set(re.findall(r"^\s*-\s*record:\s*(\S+)\s*$", text, re.M))
    groups = set(re.findall(r"^\s*-\s*name:\s*(\S+)\s*$", text, re.M))
    return alerts, records, groups


class LivePrometheusTest(unittest.TestCase):
    """One router per class; Prometheus per test that needs it."""

    router = None

    @classmethod
    def setUpClass(cls):
        cls.pb = load_protos()
        cls.router = start_router()

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            cls.router.stop()
            cls.router = None

    def setUp(self):
        self.tmp_files = []

    def tearDown(self):
        for path in self.tmp_files:
            try:
                os.unlink(path)
            except OSError:
                pass

    def save(self, text, suffix):
        path = write_temp(text, suffix)
        self.tmp_files.append(path)
        return path

    def scrape(self):
        return parse_exposition(scrape_metrics(self.router))

    # ------------------------------------------------------------------ a. promtool + O4

    def test_a_scrape_passes_promtool_and_ops_check(self):
        """OBS §3: promtool check metrics exits 0; O4/§4: every rule and dashboard metric is in
        the live scrape (check_ops_artifacts.sh --metrics-file exits 0)."""
        scrape_metrics(self.router)  # fails with a clear message while /metrics is missing
        # Some traffic first, so the tenant/policy/provider-labelled families have series whose
        # labels the ops check compares with the docs catalogue.
        drive_sample_traffic(self.router, self.pb)
        body = scrape_metrics(self.router)
        path = self.save(body, ".prom")

        code, ctype, _ = http_get(f"http://127.0.0.1:{self.router.http_port}/metrics")
        self.assertEqual(code, 200)
        self.assertEqual(ctype, CONTENT_TYPE, "OBS §3 Content-Type of /metrics")
        self.assertTrue(body.endswith("\n"), "OBS §3: the exposition ends with a newline")

        res = run_tool([PROMTOOL_BIN, "check", "metrics"], stdin_path=path)
        self.assertEqual(res.returncode, 0,
                         f"promtool check metrics exited {res.returncode} on the live scrape "
                         f"(OBS §3 requires 0):\n{res.output[-4000:]}")

        res = run_tool([CHECK_OPS_ARTIFACTS, "--metrics-file", path], timeout=300)
        self.assertEqual(res.returncode, 0,
                         f"check_ops_artifacts.sh --metrics-file exited {res.returncode}:\n"
                         f"{res.output[-8000:]}")

        # Exposition shape on the live output (OBS §3): HELP and TYPE on every family,
        # histogram +Inf bucket equal to _count in the same scrape.
        families = parse_exposition(body)
        problems = []
        for name, fam in families.items():
            if fam.type is None or fam.help is None:
                problems.append(f"{name}: missing # HELP or # TYPE")
            if fam.type != "histogram":
                continue
            for sample, labels, value in fam.series(name + "_count"):
                inf = fam.series(name + "_bucket", le="+Inf", **labels)
                if len(inf) != 1 or inf[0][2] != value:
                    problems.append(f"{name}{labels}: +Inf bucket {inf} != _count {value}")
        self.assertEqual(problems, [], "exposition problems in the live scrape")

    # ------------------------------------------------------------------ b-e. real Prometheus

    def decide(self, policy_id):
        return decide(self.router, self.pb, TENANT, policy_id)

    def test_b_prometheus_scrapes_decide_metrics_and_evaluates_rules(self):
        """A real Prometheus scrapes the router every second with the shipped alerts.yml: the
        decide counter and latency histogram answer the queries the rules and dashboard use,
        every rule evaluates without error, and nothing fires on a healthy router."""
        before = self.scrape()  # fails with a clear message while /metrics is missing
        ok_before = sample_value(before, "router_decide_requests_total", outcome="ok")
        nf_before = sample_value(before, "router_decide_requests_total",
                                 outcome="policy_not_found")
        self.assertIn("router_decide_requests_total", before,
                      "router_decide_requests_total missing from /metrics")
        self.assertTrue(
            before["router_decide_requests_total"].series(transport="grpc", outcome="ok"),
            "OBS §2.1: router_decide_requests_total{transport=\"grpc\",outcome=\"ok\"} must be "
            "pre-initialised (exist with 0 before the first decide)")

        with PrometheusServer(self.router.http_port) as prom:
            job = f'job="{SCRAPE_JOB}"'
            # Baseline: Prometheus has scraped once, with the pre-initialised decide series,
            # before any traffic, so rate() sees the increase.
            poll(lambda: prom.query_one(f"up{{{job}}}") == 1.0, PROM_DEADLINE_S,
                 f"first successful scrape (up{{{job}}} == 1)\n{prom.log_text()[-2000:]}")
            poll(lambda: prom.query(
                f'router_decide_requests_total{{{job},transport="grpc",outcome="ok"}}'),
                PROM_DEADLINE_S, "router_decide_requests_total in Prometheus")

            # c. traffic
            providers = set()
            for _ in range(OK_DECIDES):
                providers.add(self.decide(POLICY).provider_id)
            self.assertNotIn("", providers, "every ok Decide names a provider")
            for _ in range(UNKNOWN_POLICY_DECIDES):
                with self.assertRaises(grpc.RpcError) as ctx:
                    self.decide(UNKNOWN_POLICY)
                self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)

            # The router's own counters: exactly one increment per decide (OBS O3).
            after = self.scrape()
            self.assertEqual(
                sample_value(after, "router_decide_requests_total", transport="grpc",
                             outcome="ok") - ok_before, OK_DECIDES,
                "router_decide_requests_total{outcome=ok} delta on /metrics")
            self.assertEqual(
                sample_value(after, "router_decide_requests_total", transport="grpc",
                             outcome="policy_not_found") - nf_before, UNKNOWN_POLICY_DECIDES,
                "router_decide_requests_total{outcome=policy_not_found} delta on /metrics")
            hist_count = sample_value(after, "router_decide_duration_seconds",
                                      "router_decide_duration_seconds_count", transport="grpc")
            self.assertGreaterEqual(hist_count, OK_DECIDES + UNKNOWN_POLICY_DECIDES,
                                    "every decide observed in router_decide_duration_seconds")

            # d. Prometheus sees it
            ok_expr = 'sum(router_decide_requests_total{outcome="ok"})'
            poll(lambda: (prom.query_one(ok_expr) or 0) >= ok_before + OK_DECIDES,
                 PROM_DEADLINE_S, f"{ok_expr} >= {ok_before + OK_DECIDES}")

            nf_expr = 'sum(router_decide_requests_total{outcome="policy_not_found"})'
            poll(lambda: (prom.query_one(nf_expr) or 0) >= nf_before + UNKNOWN_POLICY_DECIDES,
                 PROM_DEADLINE_S, f"{nf_expr} >= {nf_before + UNKNOWN_POLICY_DECIDES}")

            p99_expr = ("histogram_quantile(0.99, sum by (le) "
                        "(rate(router_decide_duration_seconds_bucket[1m])))")
            p99 = poll(lambda: self._finite(prom.query_one(p99_expr)), PROM_DEADLINE_S,
                       f"a finite {p99_expr}")
            self.assertTrue(0 < p99[0] <= 1.0, f"decide p99 {p99[0]} s not in (0, 1] s")

            self.assertEqual(prom.query_one(f"up{{{job}}}"), 1.0, f"up{{{job}}}")

            # Rules: every group and rule of alerts.yml loaded and evaluated without error.
            alerts, records, groups = rule_names(ALERTS_YML)
            rules_state = poll(lambda: self._rules_evaluated(prom, alerts | records),
                               PROM_DEADLINE_S, "every rule of alerts.yml evaluated (health ok)")
            self.assertEqual(set(rules_state["groups"]), groups,
                             "rule groups loaded from alerts.yml")
            self.assertEqual(rules_state["bad"], [], "rules with health != ok or an error")

            # Every loaded alert links to an existing runbook section (OBS §4 runbook_url).
            anchors = runbook_anchors()
            bad_links = []
            for g in prom.get_json("/api/v1/rules")["groups"]:
                for r in g["rules"]:
                    if r.get("type") != "alerting":
                        continue
                    url = r.get("annotations", {}).get("runbook_url", "")
                    if url != RUNBOOK_PREFIX + r["name"].lower() or \
                            url[len(RUNBOOK_PREFIX):] not in anchors:
                        bad_links.append((r["name"], url))
            self.assertEqual(bad_links, [], "loaded alerts whose runbook_url has no RUNBOOK.md "
                                            "section")

            # Recording rules computed from the live series.
            rate_rule = 'beamline_router:decide_requests:rate5m{transport="grpc",outcome="ok"}'
            poll(lambda: (prom.query_one(rate_rule) or 0) > 0, PROM_DEADLINE_S,
                 f"{rate_rule} > 0")
            p99_rule = 'beamline_router:decide_latency_seconds:p99_5m{transport="grpc"}'
            rec_p99 = poll(lambda: self._finite(prom.query_one(p99_rule)), PROM_DEADLINE_S,
                           f"a finite {p99_rule}")
            self.assertTrue(0 < rec_p99[0] <= 1.0, f"{p99_rule} = {rec_p99[0]}")
            # Only client errors (policy_not_found) were sent: the error ratio is 0.
            ratio_rule = "beamline_router:decide_error_ratio:rate5m"
            ratio = poll(lambda: self._finite(prom.query_one(ratio_rule)), PROM_DEADLINE_S,
                         f"a finite {ratio_rule}")
            self.assertEqual(ratio[0], 0.0, f"{ratio_rule} with only client errors")

            # A healthy router fires nothing.
            firing = [(a["labels"].get("alertname"), a["labels"], a.get("value"))
                      for a in prom.get_json("/api/v1/alerts")["alerts"]
                      if a.get("state") == "firing"]
            self.assertEqual(firing, [], "alerts firing against a healthy router")

    @staticmethod
    def _finite(value):
        """(value,) when value is a finite float, so poll() accepts 0.0 too."""
        return (value,) if value is not None and math.isfinite(value) else None

    @staticmethod
    def _rules_evaluated(prom, expected_names):
        data = prom.get_json("/api/v1/rules")
        groups, seen, bad = [], set(), []
        for g in data["groups"]:
            groups.append(g["name"])
            for r in g["rules"]:
                seen.add(r["name"])
                health = r.get("health")
                if health == "unknown":
                    return None  # not evaluated yet
                if health != "ok" or r.get("lastError"):
                    bad.append((r["name"], health, r.get("lastError")))
        missing = expected_names - seen
        if missing:
            raise LiveTestError(f"rules of alerts.yml not loaded by Prometheus: {sorted(missing)}")
        return {"groups": groups, "bad": bad}


class RunbookTest(unittest.TestCase):
    """docs/RUNBOOK.md has the section every alert's runbook_url points at (OBS §4), for the
    active rules and for those waiting in alerts-pending.yml.disabled. Needs no router."""

    def test_every_alert_has_a_runbook_section(self):
        anchors = runbook_anchors()
        for path in (ALERTS_YML, PENDING_ALERTS_YML):
            urls = runbook_urls(path)
            self.assertTrue(urls, f"no alert found in {path}")
            for alert, links in sorted(urls.items()):
                with self.subTest(alert=alert, file=os.path.basename(path)):
                    self.assertEqual(links, {RUNBOOK_PREFIX + alert.lower()},
                                     "runbook_url is docs/RUNBOOK.md#<alertname-lowercase>")
                    self.assertIn(alert.lower(), anchors, "docs/RUNBOOK.md has no such section")

    def test_runbook_sections_cover_the_four_headings(self):
        """Each alert section says what it means, likely causes, first steps, remediation."""
        with open(RUNBOOK, encoding="utf-8") as f:
            text = f.read()
        alerts = set(runbook_urls(ALERTS_YML)) | set(runbook_urls(PENDING_ALERTS_YML))
        sections = re.split(r"^## ", text, flags=re.M)[1:]
        by_name = {s.split("\n", 1)[0].strip(): s for s in sections}
        for alert in sorted(alerts):
            with self.subTest(alert=alert):
                self.assertIn(alert, by_name, "section heading `## <AlertName>`")
                for part in ("**Meaning.**", "**Likely causes.**", "**First steps.**",
                             "**Remediation.**"):
                    self.assertIn(part, by_name[alert])


if __name__ == "__main__":
    unittest.main()
