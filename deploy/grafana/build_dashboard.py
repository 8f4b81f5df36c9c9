#!/usr/bin/python3
"""Generates deploy/grafana/beamline-router.json, the shipped Grafana dashboard.

observability.md §4: importable (schemaVersion >= 36), uid `beamline-router`, refresh 30 s,
variables `datasource`, `instance`, `tenant_id`. O4: every query names only metric families the
router of this build exports (tests/ops/check_ops_artifacts.sh checks that against a live
/metrics scrape). Rows of families that arrive later (circuit breakers, rate limits,
idempotency and backpressure with #5 and #4; NATS & JetStream, results and usage with #4) are
added by those issues here.

Edit this file, then regenerate:  /usr/bin/python3 deploy/grafana/build_dashboard.py
`--check` exits 1 when the JSON on disk differs from what this script generates.
Standard library only.
"""

import json
import os
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
I = 'instance=~"$instance"'
T = 'tenant_id=~"$tenant_id"'
RI = "$__rate_interval"

# Outcomes counted as server-side failures (same set as beamline_router:decide_error_ratio).
ERROR_OUTCOMES = "internal|overloaded|no_provider_available|assignment_not_persisted"


def target(expr, legend="", ref="A", instant=False, fmt=None):
    t = {
        "datasource": DS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if fmt:
        t["format"] = fmt
    return t


def targets(*pairs):
    return [target(e, l, chr(ord("A") + i)) for i, (e, l) in enumerate(pairs)]


class Layout:
    """Places panels left to right on Grafana's 24-column grid, wrapping into new lines."""

    def __init__(self):
        self.panels = []
        self.next_id = 1
        self.x = 0
        self.y = 0
        self.line_h = 0

    def _id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def row(self, title):
        self._newline()
        self.panels.append({
            "collapsed": False,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "id": self._id(),
            "panels": [],
            "title": title,
            "type": "row",
        })
        self.y += 1

    def _newline(self):
        if self.x:
            self.y += self.line_h
            self.x = 0
            self.line_h = 0

    def add(self, panel, w=8, h=8):
        if self.x + w > 24:
            self._newline()
        panel["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
        panel["id"] = self._id()
        self.x += w
        self.line_h = max(self.line_h, h)
        self.panels.append(panel)


def timeseries(title, description, tgts, unit="short", stack=False, thresholds=None, minimum=0,
               right_axis=None):
    """right_axis: (refId, unit) of a query drawn against a second y axis on the right."""
    steps = [{"color": "green", "value": None}]
    for value, color in thresholds or []:
        steps.append({"color": color, "value": value})
    custom = {
        "drawStyle": "line",
        "fillOpacity": 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stack else "none"},
        "thresholdsStyle": {"mode": "line" if thresholds else "off"},
    }
    defaults = {
        "custom": custom,
        "unit": unit,
        "thresholds": {"mode": "absolute", "steps": steps},
    }
    if minimum is not None:
        defaults["min"] = minimum
    overrides = []
    if right_axis:
        overrides.append({
            "matcher": {"id": "byFrameRefID", "options": right_axis[0]},
            "properties": [{"id": "unit", "value": right_axis[1]},
                           {"id": "custom.axisPlacement", "value": "right"}],
        })
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "options": {
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom",
                       "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": tgts,
        "title": title,
        "type": "timeseries",
    }


def stat(title, description, tgts, unit="short", mappings=None, thresholds=None,
         color_mode="value"):
    steps = [{"color": "green", "value": None}]
    for value, color in thresholds or []:
        steps.append({"color": color, "value": value})
    return {
        "datasource": DS,
        "description": description,
        "fieldConfig": {
            "defaults": {
                "mappings": mappings or [],
                "thresholds": {"mode": "absolute", "steps": steps},
                "unit": unit,
            },
            "overrides": [],
        },
        "options": {
            "colorMode": color_mode,
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        },
        "targets": tgts,
        "title": title,
        "type": "stat",
    }


def ok_fail_mapping(ok_text, fail_text):
    return [{
        "type": "value",
        "options": {
            "0": {"color": "red", "index": 1, "text": fail_text},
            "1": {"color": "green", "index": 0, "text": ok_text},
        },
    }]


def quantiles(metric, by, qs=(0.5, 0.95, 0.99)):
    sel = I
    grouping = ", ".join(list(by) + ["le"])
    out = []
    for q in qs:
        label = "p%g" % (q * 100)
        suffix = " ".join("{{%s}}" % b for b in by)
        out.append((
            "histogram_quantile(%g, sum by (%s) (rate(%s_bucket{%s}[%s])))"
            % (q, grouping, metric, sel, RI),
            (label + " " + suffix).strip(),
        ))
    return out


def build():
    L = Layout()

    # ------------------------------------------------------------------ Overview
    L.row("Overview")
    L.add(timeseries(
        "Decide rate by transport / outcome",
        "Decides finished per second (router_decide_requests_total), one increment per terminal "
        "outcome; DryRun excluded.",
        targets(("sum by (transport, outcome) (rate(router_decide_requests_total{%s}[%s]))"
                 % (I, RI), "{{transport}} {{outcome}}")),
        unit="reqps", stack=True))
    L.add(timeseries(
        "Decide error ratio",
        "Share of decides that ended " + ERROR_OUTCOMES.replace("|", ", ") + " (client errors "
        "excluded). Alert BeamlineRouterDecideErrors: 1% warning, 5% critical.",
        targets((
            "sum(rate(router_decide_requests_total{%s, outcome=~\"%s\"}[%s])) / "
            "sum(rate(router_decide_requests_total{%s}[%s]))" % (I, ERROR_OUTCOMES, RI, I, RI),
            "error ratio")),
        unit="percentunit", thresholds=[(0.01, "orange"), (0.05, "red")]))
    L.add(timeseries(
        "Decide latency p50 / p95 / p99",
        "histogram_quantile over router_decide_duration_seconds (fast buckets): handler start to "
        "response handed to the transport. Alert BeamlineRouterDecideLatencyP99: 5 ms / 50 ms.",
        targets(*quantiles("router_decide_duration_seconds", ["transport"])),
        unit="s", thresholds=[(0.005, "orange"), (0.05, "red")]))
    L.add(timeseries(
        "Decides in flight",
        "Decides being processed (router_decide_inflight).",
        targets(("sum by (transport) (router_decide_inflight{%s})" % I, "{{transport}}"))))
    L.add(stat(
        "Ready",
        "router_ready per replica: mirrors GET /ready (observability.md §7.2). Alert "
        "BeamlineRouterNotReady after 2m.",
        targets(("router_ready{%s}" % I, "{{instance}}")),
        mappings=ok_fail_mapping("ready", "NOT READY"),
        thresholds=[(0, "red"), (1, "green")], color_mode="background"), w=4)
    L.add(stat(
        "Readiness checks",
        "router_ready_check{check}: 1 pass, 0 fail, per replica and check.",
        targets(("router_ready_check{%s}" % I, "{{instance}} {{check}}")),
        mappings=ok_fail_mapping("ok", "FAIL"),
        thresholds=[(0, "red"), (1, "green")], color_mode="background"), w=4)
    L.add(timeseries(
        "gRPC Router calls by method / code",
        "router_grpc_requests_total for service Router (Decide, DryRun, ReportOutcome, ...).",
        targets(("sum by (method, code) (rate(router_grpc_requests_total{%s, service=\"Router\"}"
                 "[%s]))" % (I, RI), "{{method}} {{code}}")),
        unit="reqps"))

    # ----------------------------------------------------------------- Decisions
    L.row("Decisions")
    L.add(timeseries(
        "Decisions by reason",
        "Fresh decisions per second by reason (router_decisions_total); replays and DryRun "
        "excluded.",
        targets(("sum by (reason) (rate(router_decisions_total{%s, %s}[%s]))" % (I, T, RI),
                 "{{reason}}")),
        unit="ops", stack=True))
    L.add(timeseries(
        "Decisions by tenant / policy (top 10)",
        "router_decisions_total by tenant_id and policy_id; tenants beyond the label budget "
        "appear as `other`.",
        targets(("topk(10, sum by (tenant_id, policy_id) (rate(router_decisions_total{%s, %s}"
                 "[%s])))" % (I, T, RI), "{{tenant_id}} / {{policy_id}}")),
        unit="ops"))
    L.add(timeseries(
        "Provider selections by provider / reason",
        "router_provider_selections_total: which provider was chosen and why.",
        targets(("sum by (provider_id, reason) (rate(router_provider_selections_total{%s, %s}"
                 "[%s]))" % (I, T, RI), "{{provider_id}} ({{reason}})")),
        unit="ops", stack=True))
    L.add(timeseries(
        "Sticky hit ratio",
        "Live pin used / (pin used + no usable pin): router_sticky_hits_total and "
        "router_sticky_miss_total.",
        targets((
            "sum(rate(router_sticky_hits_total{%s, %s}[%s])) / (sum(rate(router_sticky_hits_total"
            "{%s, %s}[%s])) + sum(rate(router_sticky_miss_total{%s, %s}[%s])))"
            % (I, T, RI, I, T, RI, I, T, RI), "hit ratio")),
        unit="percentunit"))
    L.add(timeseries(
        "Sticky repins by reason",
        "Pins replaced because their provider was not a candidate (router_sticky_repins_total).",
        targets(("sum by (reason) (rate(router_sticky_repins_total{%s, %s}[%s]))" % (I, T, RI),
                 "{{reason}}")),
        unit="ops"))
    L.add(timeseries(
        "Sticky pins held / evictions",
        "router_sticky_entries (left axis) and router_sticky_evictions_total by reason "
        "(per second, right axis).",
        targets(("sum by (instance) (router_sticky_entries{%s})" % I, "pins {{instance}}"),
                ("sum by (reason) (rate(router_sticky_evictions_total{%s}[%s]))" % (I, RI),
                 "evicted/s {{reason}}")),
        right_axis=("B", "ops")))

    # ------------------------------------------------------------- Store & admin
    L.row("Store & admin")
    L.add(timeseries(
        "Admin requests by method / code",
        "router_grpc_requests_total for service RouterAdmin.",
        targets(("sum by (method, code) (rate(router_grpc_requests_total{%s, "
                 "service=\"RouterAdmin\"}[%s]))" % (I, RI), "{{method}} {{code}}")),
        unit="reqps"))
    L.add(timeseries(
        "Admin latency p95 by method",
        "router_admin_request_duration_seconds (io buckets).",
        targets(*quantiles("router_admin_request_duration_seconds", ["method"], qs=(0.95,))),
        unit="s"))
    L.add(timeseries(
        "Admin auth failures by reason",
        "router_admin_auth_failures_total: missing, invalid or disabled credentials (the "
        "admin.auth_failed log record names the peer).",
        targets(("sum by (reason) (increase(router_admin_auth_failures_total{%s}[%s]))"
                 % (I, RI), "{{reason}}"))))
    L.add(timeseries(
        "Policy store size",
        "router_policy_store_policies and router_policy_store_tenants of the live snapshot.",
        targets(("router_policy_store_policies{%s}" % I, "policies {{instance}}"),
                ("router_policy_store_tenants{%s}" % I, "tenants {{instance}}"))))
    L.add(stat(
        "Store version",
        "router_policy_store_version: store-wide change counter of the live snapshot. Replicas "
        "sharing a database converge to the same value.",
        targets(("router_policy_store_version{%s}" % I, "{{instance}}"))), w=4)
    L.add(stat(
        "Since last good reload",
        "time() - router_policy_store_last_reload_timestamp_seconds.",
        targets(("time() - router_policy_store_last_reload_timestamp_seconds{%s}" % I,
                 "{{instance}}")),
        unit="s"), w=4)
    L.add(timeseries(
        "Policy store reloads by trigger / result",
        "router_policy_store_reloads_total: snapshot publications at startup, after admin "
        "writes and after external changes.",
        targets(("sum by (trigger, result) (increase(router_policy_store_reloads_total{%s}[%s]))"
                 % (I, RI), "{{trigger}} {{result}}"))))
    L.add(timeseries(
        "Policy store reload duration p95",
        "router_policy_store_reload_duration_seconds: snapshot build time.",
        targets(*quantiles("router_policy_store_reload_duration_seconds", [], qs=(0.95,))),
        unit="s"))
    L.add(timeseries(
        "Store database size",
        "router_policy_store_db_bytes.",
        targets(("router_policy_store_db_bytes{%s}" % I, "{{instance}}")),
        unit="bytes"))
    L.add(timeseries(
        "Store errors / invalid rows",
        "router_policy_store_errors_total by op and router_policy_load_errors_total (rows "
        "skipped at load). Alert BeamlineRouterPolicyStoreErrors.",
        targets(("sum by (op) (increase(router_policy_store_errors_total{%s}[%s]))" % (I, RI),
                 "SQLite {{op}}"),
                ("sum(increase(router_policy_load_errors_total{%s}[%s]))" % (I, RI),
                 "invalid rows skipped"))))
    L.add(timeseries(
        "Config reloads (SIGHUP) by result",
        "router_config_reloads_total.",
        targets(("sum by (result) (increase(router_config_reloads_total{%s}[%s]))" % (I, RI),
                 "{{result}}"))))

    # ------------------------------------------------------------- Process & self
    L.row("Process & self")
    L.add(timeseries(
        "CPU (cores)",
        "rate(process_cpu_seconds_total): user + system CPU seconds per second.",
        targets(("rate(process_cpu_seconds_total{%s}[%s])" % (I, RI), "{{instance}}"))))
    L.add(timeseries(
        "Memory",
        "process_resident_memory_bytes and process_virtual_memory_bytes. Alert "
        "BeamlineRouterMemoryGrowth.",
        targets(("process_resident_memory_bytes{%s}" % I, "RSS {{instance}}"),
                ("process_virtual_memory_bytes{%s}" % I, "virtual {{instance}}")),
        unit="bytes"))
    L.add(timeseries(
        "File descriptors / threads",
        "process_open_fds against process_max_fds (alert BeamlineRouterFdPressure at 80%), and "
        "process_threads.",
        targets(("process_open_fds{%s}" % I, "open fds {{instance}}"),
                ("process_max_fds{%s}" % I, "max fds {{instance}}"),
                ("process_threads{%s}" % I, "threads {{instance}}"))))
    L.add(timeseries(
        "Log records by level",
        "router_log_records_total: records written per second.",
        targets(("sum by (level) (rate(router_log_records_total{%s}[%s]))" % (I, RI),
                 "{{level}}")),
        unit="ops"))
    L.add(timeseries(
        "Log records dropped / suppressed",
        "router_log_dropped_total (queue full; alert BeamlineRouterTelemetryDrops) and "
        "router_log_suppressed_total (rate-limited, summarised by log.suppressed).",
        targets(("sum by (level) (increase(router_log_dropped_total{%s}[%s]))" % (I, RI),
                 "dropped {{level}}"),
                ("sum by (level) (increase(router_log_suppressed_total{%s}[%s]))" % (I, RI),
                 "suppressed {{level}}"))))
    L.add(timeseries(
        "Spans exported / dropped",
        "router_tracing_spans_exported_total and router_tracing_spans_dropped_total by reason "
        "(alert BeamlineRouterTelemetryDrops).",
        targets(("sum(rate(router_tracing_spans_exported_total{%s}[%s]))" % (I, RI), "exported"),
                ("sum by (reason) (rate(router_tracing_spans_dropped_total{%s}[%s]))" % (I, RI),
                 "dropped {{reason}}")),
        unit="ops"))
    L.add(timeseries(
        "Span queue / OTLP export p95",
        "router_tracing_queue_spans (spans waiting, left axis) and the p95 of "
        "router_tracing_export_duration_seconds (right axis).",
        targets(("router_tracing_queue_spans{%s}" % I, "queued {{instance}}"),
                ("histogram_quantile(0.95, sum by (le) (rate("
                 "router_tracing_export_duration_seconds_bucket{%s}[%s])))" % (I, RI),
                 "export p95")),
        right_axis=("B", "s")))
    L.add(timeseries(
        "Metric series (top 10 families) / overflow",
        "router_metrics_series by family and observations redirected to `other` "
        "(router_metrics_series_overflow_total).",
        targets(("topk(10, max by (metric) (router_metrics_series{%s}))" % I, "{{metric}}"),
                ("sum by (metric) (increase(router_metrics_series_overflow_total{%s}[%s]))"
                 % (I, RI), "overflow {{metric}}"))))
    L.add(timeseries(
        "Scrape render time p99",
        "router_metrics_scrape_duration_seconds: time to render /metrics.",
        targets(*quantiles("router_metrics_scrape_duration_seconds", [], qs=(0.99,))),
        unit="s"))
    L.add(timeseries(
        "HTTP requests by path / code",
        "router_http_requests_total on the HTTP port (/metrics, /health, /ready, other).",
        targets(("sum by (path, code) (rate(router_http_requests_total{%s}[%s]))" % (I, RI),
                 "{{path}} {{code}}")),
        unit="reqps"))
    L.add(stat(
        "Uptime",
        "time() - process_start_time_seconds.",
        targets(("time() - process_start_time_seconds{%s}" % I, "{{instance}}")),
        unit="s"), w=4, h=6)
    build_info = {
        "datasource": DS,
        "description": "router_build_info: version, revision, build type and compiler per "
                       "replica.",
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True},
        "targets": [target("router_build_info{%s}" % I, "", instant=True, fmt="table")],
        "title": "Build",
        "transformations": [{
            "id": "organize",
            "options": {"excludeByName": {"Time": True, "Value": True, "__name__": True,
                                          "job": True}},
        }],
        "type": "table",
    }
    L.add(build_info, w=12, h=6)

    instance_query = "label_values(router_build_info, instance)"
    tenant_query = 'label_values(router_decisions_total{instance=~"$instance"}, tenant_id)'
    return {
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }]},
        "description": "beamline-router: decides, decisions, policy store, admin, process and "
                       "telemetry health of one or more replicas (docs/OBSERVABILITY.md).",
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [],
        "liveNow": False,
        "panels": L.panels,
        "refresh": "30s",
        "schemaVersion": 37,
        "style": "dark",
        "tags": ["beamline", "router"],
        "templating": {"list": [
            {
                "current": {},
                "hide": 0,
                "includeAll": False,
                "label": "Data source",
                "multi": False,
                "name": "datasource",
                "options": [],
                "query": "prometheus",
                "refresh": 1,
                "regex": "",
                "skipUrlSync": False,
                "type": "datasource",
            },
            {
                "allValue": ".*",
                "current": {},
                "datasource": DS,
                "definition": instance_query,
                "hide": 0,
                "includeAll": True,
                "label": "Instance",
                "multi": True,
                "name": "instance",
                "options": [],
                "query": {"query": instance_query, "refId": "StandardVariableQuery"},
                "refresh": 2,
                "regex": "",
                "skipUrlSync": False,
                "sort": 1,
                "type": "query",
            },
            {
                "allValue": ".*",
                "current": {},
                "datasource": DS,
                "definition": tenant_query,
                "hide": 0,
                "includeAll": True,
                "label": "Tenant",
                "multi": True,
                "name": "tenant_id",
                "options": [],
                "query": {"query": tenant_query, "refId": "StandardVariableQuery"},
                "refresh": 2,
                "regex": "",
                "skipUrlSync": False,
                "sort": 1,
                "type": "query",
            },
        ]},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "beamline-router",
        "uid": "beamline-router",
        "version": 1,
        "weekStart": "",
    }


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "beamline-router.json")
    text = json.dumps(build(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                print("%s is out of date: run /usr/bin/python3 %s" % (path, __file__))
                return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
