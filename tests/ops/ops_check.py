#!/usr/bin/python3
"""Checks the shipped operations artefacts against the spec and against what the router exports.

observability.md O4 ("nothing is referenced that does not exist") and §4 (shipped alert rules
and dashboard). Called by tests/ops/check_ops_artifacts.sh after the promtool runs; usable on its
own:

  /usr/bin/python3 tests/ops/ops_check.py [--root DIR] [--metrics-file FILE]
                                          [--catalogue-file FILE]

--metrics-file FILE    a saved /metrics exposition of a running router: the exported names come
                       from it (and docs/OBSERVABILITY.md's catalogue is checked against it).
                       Without it, the exported names are the catalogue rows marked `yes`.
--catalogue-file FILE  output of `beamline-router --print-metrics-catalogue`: checked against
                       the docs catalogue (names, types, labels, exported).

Standard library only (Debian's /usr/bin/python3). Prints one line per check; exit 1 on any
failure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# --------------------------------------------------------------------------- spec facts (§4)

# Every alert of the §4 table: name -> sorted list of (for, severity), one per rule.
SPEC_ALERTS = {
    "BeamlineRouterDown": [("1m", "critical")],
    "BeamlineRouterNotReady": [("2m", "critical")],
    "BeamlineRouterDecideErrors": [("5m", "critical"), ("5m", "warning")],
    "BeamlineRouterDecideLatencyP99": [("10m", "warning"), ("5m", "critical")],
    "BeamlineRouterNoProvider": [("5m", "critical")],
    "BeamlineRouterBackpressureActive": [("1m", "warning"), ("5m", "critical")],
    "BeamlineRouterBreakerOpenTooLong": [("15m", "warning")],
    "BeamlineRouterBreakerFlapping": [("0m", "warning")],
    "BeamlineRouterBreakersOpenForTenant": [("2m", "critical")],
    "BeamlineRouterNatsDisconnected": [("1m", "critical")],
    "BeamlineRouterNatsReconnectChurn": [("0m", "warning")],
    "BeamlineRouterAssignmentPublishFailed": [("0m", "critical")],
    "BeamlineRouterAssignmentBacklog": [("2m", "warning")],
    "BeamlineRouterAssignmentRetries": [("10m", "warning")],
    "BeamlineRouterDLQGrowth": [("10m", "warning"), ("5m", "critical")],
    "BeamlineRouterDLQPublishFailing": [("0m", "critical")],
    "BeamlineRouterMaxDeliverExhausted": [("0m", "warning")],
    "BeamlineRouterConsumerBacklog": [("10m", "warning")],
    "BeamlineRouterUsageEmitFailing": [("0m", "warning")],
    "BeamlineRouterPolicyStoreErrors": [("0m", "warning")],
    "BeamlineRouterStreamDrift": [("10m", "warning")],
    "BeamlineRouterTelemetryDrops": [("0m", "warning")],
    "BeamlineRouterFdPressure": [("5m", "warning")],
    "BeamlineRouterMemoryGrowth": [("2h", "warning")],
}

SPEC_RECORDING_RULES = [
    "beamline_router:decide_requests:rate5m",
    "beamline_router:decide_latency_seconds:p99_5m",
    "beamline_router:decide_latency_seconds:p95_5m",
    "beamline_router:decide_error_ratio:rate5m",
]

# Series Prometheus itself produces for every target.
SYNTHETIC_SERIES = {"up"}

# Dashboard panels the issue requires (title substrings, case-insensitive).
REQUIRED_PANELS = [
    "decide rate", "decide latency p50 / p95 / p99", "in flight", "decisions by reason",
    "provider selections", "sticky hit ratio", "admin requests by method / code",
    "auth failures", "policy store size", "store version", "reloads", "ready", "cpu", "memory",
    "file descriptors", "log records dropped", "spans exported / dropped",
]

EXPORTED_VALUES = {"yes", "from #4", "from #5", "later"}

# --------------------------------------------------------------------------- reporting

FAILURES = []


def ok(msg):
    print("  ok    " + msg)


def fail(msg):
    FAILURES.append(msg)
    print("  FAIL  " + msg)


def warn(msg):
    print("  warn  " + msg)


def section(title):
    print("== " + title)


# --------------------------------------------------------------------------- minimal YAML


class YamlError(Exception):
    pass


def _strip_comment(s):
    """Removes a trailing ` # comment` outside quotes."""
    quote = None
    for i, ch in enumerate(s):
        if quote:
            if ch == "\\" and quote == '"':
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s.rstrip()


def _split_flow(s):
    parts, depth, quote, cur = [], 0, None, ""
    for ch in s:
        if quote:
            cur += ch
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _scalar(s, where):
    s = _strip_comment(s).strip()
    if not s:
        return None
    if s[0] == '"':
        if len(s) < 2 or s[-1] != '"':
            raise YamlError("%s: multi-line or unterminated double-quoted string" % where)
        try:
            return json.loads(s.replace("\\/", "/"))
        except ValueError as e:
            raise YamlError("%s: bad double-quoted string (%s)" % (where, e))
    if s[0] == "'":
        if len(s) < 2 or s[-1] != "'":
            raise YamlError("%s: multi-line or unterminated single-quoted string" % where)
        return s[1:-1].replace("''", "'")
    if s[0] == "[" and s[-1] == "]":
        return [_scalar(p, where) for p in _split_flow(s[1:-1])]
    if s[0] == "{" and s[-1] == "}":
        out = {}
        for p in _split_flow(s[1:-1]):
            k, _, v = p.partition(":")
            out[_scalar(k, where)] = _scalar(v, where)
        return out
    return s


_KEY_RE = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s#'"{\[][^:#]*?)\s*:(?:\s+(.*))?$""")


class MiniYaml:
    """Block-style YAML subset: mappings, sequences, plain/quoted one-line scalars, flow
    collections on one line, `|` / `>` block scalars. Enough for the rule files; anything else is
    an error rather than a silent mis-parse."""

    def __init__(self, text, name):
        self.lines = text.split("\n")
        self.name = name
        self.i = 0

    def _significant(self, i):
        while i < len(self.lines):
            raw = self.lines[i]
            st = raw.strip()
            if st and not st.startswith("#") and st != "---":
                return i
            i += 1
        return None

    @staticmethod
    def _indent(raw):
        return len(raw) - len(raw.lstrip(" "))

    def parse(self):
        i = self._significant(0)
        if i is None:
            return None
        self.i = i
        value = self._block(self._indent(self.lines[i]))
        rest = self._significant(self.i)
        if rest is not None:
            raise YamlError("%s:%d: unexpected content" % (self.name, rest + 1))
        return value

    def _block(self, indent):
        i = self._significant(self.i)
        raw = self.lines[i]
        if raw.strip().startswith("- ") or raw.strip() == "-":
            return self._sequence(indent)
        return self._mapping(indent)

    def _sequence(self, indent):
        out = []
        while True:
            i = self._significant(self.i)
            if i is None:
                break
            raw = self.lines[i]
            ind = self._indent(raw)
            st = raw.strip()
            if ind != indent or not (st.startswith("- ") or st == "-"):
                if ind > indent:
                    raise YamlError("%s:%d: bad indentation" % (self.name, i + 1))
                break
            rest = st[1:].lstrip()
            if not rest:
                self.i = i + 1
                nxt = self._significant(self.i)
                out.append(self._block(self._indent(self.lines[nxt])))
                continue
            if _KEY_RE.match(rest) and not rest.startswith(("[", "{")):
                # "- key: value": a mapping whose first line starts after the dash.
                item_indent = indent + (len(st) - len(rest))
                self.lines[i] = " " * item_indent + rest
                self.i = i
                out.append(self._mapping(item_indent))
            else:
                out.append(_scalar(rest, "%s:%d" % (self.name, i + 1)))
                self.i = i + 1
        return out

    def _mapping(self, indent):
        out = {}
        while True:
            i = self._significant(self.i)
            if i is None:
                break
            raw = self.lines[i]
            ind = self._indent(raw)
            st = raw.strip()
            if ind < indent or (ind == indent and st.startswith("- ")):
                break
            if ind > indent:
                raise YamlError("%s:%d: bad indentation" % (self.name, i + 1))
            m = _KEY_RE.match(st)
            if not m:
                raise YamlError("%s:%d: expected `key: value`" % (self.name, i + 1))
            key = _scalar(m.group(1), self.name)
            rest = (m.group(2) or "").strip()
            where = "%s:%d" % (self.name, i + 1)
            if key in out:
                raise YamlError("%s: duplicate key %r" % (where, key))
            self.i = i + 1
            rest_nc = _strip_comment(rest)
            if rest_nc[:1] in ("|", ">"):
                out[key] = self._block_scalar(indent, rest_nc)
            elif rest_nc == "":
                nxt = self._significant(self.i)
                if nxt is None:
                    out[key] = None
                    continue
                nind = self._indent(self.lines[nxt])
                nst = self.lines[nxt].strip()
                if nind > indent or (nind == indent and (nst.startswith("- ") or nst == "-")):
                    out[key] = self._block(nind)
                else:
                    out[key] = None
            else:
                nxt = self._significant(self.i)
                if nxt is not None and self._indent(self.lines[nxt]) > indent:
                    raise YamlError("%s: multi-line plain scalar is not supported" % where)
                out[key] = _scalar(rest, where)
        return out

    def _block_scalar(self, indent, header):
        style, chomp = header[0], header[1:2]
        body = []
        block_indent = None
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip() == "":
                body.append("")
                self.i += 1
                continue
            ind = self._indent(raw)
            if ind <= indent:
                break
            if block_indent is None:
                block_indent = ind
            body.append(raw[block_indent:])
            self.i += 1
        while body and body[-1] == "":
            body.pop()
        text = ("\n".join(body) if style == "|" else " ".join(b for b in body if b))
        return text if chomp == "-" else text + "\n"


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return MiniYaml(f.read(), os.path.basename(path)).parse()


# --------------------------------------------------------------------------- PromQL names

_FUNC_OR_KEYWORD = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
    "group_right", "inf", "nan", "atan2", "start", "end",
}


def metric_names(expr):
    """Metric names a PromQL expression selects (heuristic tokenizer, no full parser)."""
    s = expr
    s = re.sub(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'|`[^`]*`", '""', s)
    s = re.sub(r"\{[^{}]*\}", "{}", s)
    s = re.sub(r"\[[^\[\]]*\]", "[]", s)
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)", s):
        name = m.group(1)
        after = s[m.end():].lstrip()
        if after.startswith("("):
            continue  # function or aggregation
        if name.lower() in _FUNC_OR_KEYWORD:
            continue
        names.add(name)
    return names


def grafana_to_promql(expr):
    """Grafana template variables -> concrete values, so the expression parses as PromQL."""
    s = expr
    for var, value in (("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1h"),
                       ("${__rate_interval}", "5m")):
        s = s.replace(var, value)
    s = re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", s)
    return s


def variable_query_expr(query):
    """The PromQL part of a Grafana Prometheus variable query, or None."""
    q = query.strip()
    m = re.match(r"^label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q, re.S)
    if m:
        return m.group(1)
    if re.match(r"^label_values\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)$", q):
        return None
    m = re.match(r"^(?:query_result|metrics)\((.*)\)$", q, re.S)
    if m:
        return m.group(1)
    return q or None


# --------------------------------------------------------------------------- catalogue (docs)


def load_docs_catalogue(path):
    """Rows of the table whose header is `metric | type | labels | exported in this build | ...`.
    Returns {name: {"type", "layout", "labels", "exported"}}."""
    rows = {}
    in_table = False
    cols = None
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            st = line.strip()
            if not st.startswith("|"):
                in_table = False
                continue
            cells = [c.strip() for c in st.strip("|").split("|")]
            if not in_table:
                low = [c.lower() for c in cells]
                if low and low[0] == "metric" and any(c.startswith("exported") for c in low):
                    in_table = True
                    cols = {c: i for i, c in enumerate(low)}
                continue
            if set(st.replace("|", "").strip()) <= set("-: "):
                continue
            name = cells[0].strip("`")
            typ = cells[cols["type"]]
            m = re.match(r"^(counter|gauge|histogram|summary)(?:\s*\((\w+)\))?$", typ)
            exported_col = [i for c, i in cols.items() if c.startswith("exported")][0]
            exported = cells[exported_col].lower()
            if not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", name) or not m or \
                    exported not in EXPORTED_VALUES:
                fail("docs catalogue line %d not understood: %s" % (lineno, st[:100]))
                continue
            labels = re.findall(r"`([a-zA-Z_][a-zA-Z0-9_]*)`", cells[cols["labels"]])
            if name in rows:
                fail("docs catalogue lists %s twice (line %d)" % (name, lineno))
            rows[name] = {"type": m.group(1), "layout": m.group(2), "labels": labels,
                          "exported": exported}
    return rows


def series_names(families):
    """{family: type} -> set of series names a query may select."""
    out = set()
    for name, typ in families.items():
        if typ == "histogram":
            out.update({name + "_bucket", name + "_sum", name + "_count"})
        elif typ == "summary":
            out.update({name, name + "_sum", name + "_count"})
        else:
            out.add(name)
    return out


# --------------------------------------------------------------------------- exposition


def parse_exposition(path):
    """Returns ({family: type}, {family: set(label names)}) from a text-format scrape."""
    types = {}
    labels = {}
    samples = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.startswith("#"):
                m = re.match(r"^#\s+TYPE\s+(\S+)\s+(\S+)", line)
                if m:
                    types[m.group(1)] = m.group(2)
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+\S+", line)
            if not m:
                continue
            names = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"', m.group(2) or "")
            samples.append((m.group(1), names))
    for sample, names in samples:
        family = sample
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample[: -len(suffix)]
            if sample.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                family = base
                break
        types.setdefault(family, "untyped")
        labels.setdefault(family, set()).update(n for n in names if n != "le" and
                                                not (n == "quantile" and family != sample))
    for family in types:
        labels.setdefault(family, set())
    return types, labels


# --------------------------------------------------------------------------- checks


def check_alert_rules(root, exported_series):
    section("alert and recording rules (deploy/prometheus/alerts.yml, OBS §4)")
    path = os.path.join(root, "deploy/prometheus/alerts.yml")
    try:
        doc = load_yaml(path)
    except (YamlError, OSError) as e:
        fail("alerts.yml: %s" % e)
        return set()
    rules = [r for g in (doc or {}).get("groups") or [] for r in g.get("rules") or []]
    records = {r["record"]: r for r in rules if "record" in r}
    alerts = [r for r in rules if "alert" in r]
    raw_count = len(re.findall(r"^\s*- (alert|record):", open(path, encoding="utf-8").read(),
                               re.M))
    if raw_count == len(rules):
        ok("parsed %d rules (%d recording, %d alerting)" % (len(rules), len(records),
                                                             len(alerts)))
    else:
        fail("parsed %d rules but the file has %d `- alert:`/`- record:` lines"
             % (len(rules), raw_count))

    for name in SPEC_RECORDING_RULES:
        if name in records:
            ok("recording rule %s" % name)
        else:
            fail("recording rule %s (OBS §4) missing" % name)

    active = {}
    for r in alerts:
        name = r["alert"]
        where = "alert %s" % name
        labels = r.get("labels") or {}
        ann = r.get("annotations") or {}
        problems = []
        if labels.get("severity") not in ("warning", "critical"):
            problems.append("severity %r not warning|critical" % labels.get("severity"))
        if labels.get("service") != "beamline-router":
            problems.append('label service != "beamline-router"')
        for key in ("summary", "description"):
            if not str(ann.get(key) or "").strip():
                problems.append("annotation %s missing" % key)
        if "{{" not in str(ann.get("description") or ""):
            problems.append("description does not use $labels / $value")
        want_url = "docs/RUNBOOK.md#" + name.lower()
        if ann.get("runbook_url") != want_url:
            problems.append("runbook_url %r != %r" % (ann.get("runbook_url"), want_url))
        if not re.match(r"^(\d+[smhdwy])+$", str(r.get("for", "0m"))):
            problems.append("bad for %r" % r.get("for"))
        if problems:
            fail("%s: %s" % (where, "; ".join(problems)))
        else:
            ok("%s (%s, for %s): labels and annotations" % (where, labels.get("severity"),
                                                             r.get("for", "0m")))
        active.setdefault(name, []).append((str(r.get("for", "0m")), labels.get("severity")))

    for name, got in sorted(active.items()):
        want = SPEC_ALERTS.get(name)
        if want is None:
            fail("alert %s is not in the OBS §4 table" % name)
        elif sorted(got) != sorted(want):
            fail("alert %s: (for, severity) %s, spec says %s" % (name, sorted(got), sorted(want)))
        else:
            ok("alert %s: for/severity as in OBS §4 %s" % (name, sorted(want)))

    pending_path = os.path.join(root, "deploy/prometheus/alerts-pending.yml.disabled")
    pending = set()
    if os.path.exists(pending_path):
        with open(pending_path, encoding="utf-8") as f:
            pending = set(re.findall(r"^\s*- alert:\s*(\S+)", f.read(), re.M))
    for name in sorted(SPEC_ALERTS):
        if name in active:
            continue
        if name in pending:
            ok("alert %s waits in alerts-pending.yml.disabled" % name)
        else:
            fail("alert %s (OBS §4) neither in alerts.yml nor in alerts-pending.yml.disabled"
                 % name)
    for name in sorted(pending & set(active)):
        fail("alert %s is both active and pending" % name)

    section("metrics named by alerts.yml are exported (OBS O4)")
    for r in rules:
        rule_name = r.get("alert") or r.get("record")
        names = metric_names(str(r.get("expr", "")))
        if not names:
            fail("%s: no metric found in its expression" % rule_name)
        for n in sorted(names):
            if n in records:
                ok("%s -> %s (recording rule)" % (rule_name, n))
            elif n in SYNTHETIC_SERIES:
                ok("%s -> %s (Prometheus target series)" % (rule_name, n))
            elif n in exported_series:
                ok("%s -> %s" % (rule_name, n))
            else:
                fail("%s -> %s is not exported by the router" % (rule_name, n))
    return set(records)


def check_dashboard(root, exported_series):
    section("Grafana dashboard (deploy/grafana/beamline-router.json, OBS §4)")
    path = os.path.join(root, "deploy/grafana/beamline-router.json")
    try:
        with open(path, encoding="utf-8") as f:
            dash = json.load(f)
        ok("JSON parses")
    except (OSError, ValueError) as e:
        fail("dashboard JSON: %s" % e)
        return
    if dash.get("uid") == "beamline-router":
        ok("uid beamline-router")
    else:
        fail("uid %r != beamline-router" % dash.get("uid"))
    if isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36:
        ok("schemaVersion %d >= 36" % dash["schemaVersion"])
    else:
        fail("schemaVersion %r (need >= 36)" % dash.get("schemaVersion"))
    if dash.get("refresh") == "30s":
        ok("refresh 30s")
    else:
        fail("refresh %r != 30s" % dash.get("refresh"))

    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    for name in ("datasource", "instance", "tenant_id"):
        if name in variables:
            ok("variable %s" % name)
        else:
            fail("variable %s missing" % name)
    ds = variables.get("datasource") or {}
    if ds.get("type") == "datasource" and ds.get("query") == "prometheus":
        ok("variable datasource selects a Prometheus data source")
    else:
        fail("variable datasource must be type datasource, query prometheus")

    exprs = []  # (where, expr)
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        e = variable_query_expr(str(q or ""))
        if e:
            exprs.append(("variable %s" % name, e))
        if not _uses_ds_variable(v.get("datasource")):
            fail("variable %s does not use the ${datasource} variable" % name)

    panels = []
    for p in dash.get("panels") or []:
        panels.append(p)
        panels.extend(p.get("panels") or [])
    ids = [p.get("id") for p in panels]
    if len(ids) == len(set(ids)) and None not in ids:
        ok("%d panels with unique ids" % len(panels))
    else:
        fail("panel ids missing or not unique")
    titles = []
    for p in panels:
        title = p.get("title") or ""
        gp = p.get("gridPos") or {}
        if not title:
            fail("panel id %s has no title" % p.get("id"))
        if not (isinstance(gp.get("x"), int) and isinstance(gp.get("w"), int) and
                0 <= gp["x"] and gp["x"] + gp["w"] <= 24 and gp.get("h", 0) > 0):
            fail("panel %r: gridPos %r outside the 24-column grid" % (title, gp))
        if p.get("type") == "row":
            continue
        titles.append(title)
        if not _uses_ds_variable(p.get("datasource")):
            fail("panel %r does not use the ${datasource} variable" % title)
        targets = p.get("targets") or []
        if not targets:
            fail("panel %r has no query" % title)
        for t in targets:
            if not _uses_ds_variable(t.get("datasource", p.get("datasource"))):
                fail("panel %r query %s does not use ${datasource}" % (title, t.get("refId")))
            if not str(t.get("expr") or "").strip():
                fail("panel %r query %s has no expr" % (title, t.get("refId")))
                continue
            exprs.append(("panel %r/%s" % (title, t.get("refId")), t["expr"]))
    for want in REQUIRED_PANELS:
        hit = [t for t in titles if want in t.lower()]
        if hit:
            ok("required panel %r: %s" % (want, hit[0]))
        else:
            fail("required panel %r missing" % want)

    latency = [e for w, e in exprs if "router_decide_duration_seconds_bucket" in e and
               "histogram_quantile" in e]
    qs = {m for e in latency for m in re.findall(r"histogram_quantile\(\s*([0-9.]+)", e)}
    if {"0.5", "0.95", "0.99"} <= qs:
        ok("decide latency p50/p95/p99 via histogram_quantile over "
           "router_decide_duration_seconds_bucket")
    else:
        fail("decide latency quantiles found: %s (need 0.5, 0.95, 0.99)" % sorted(qs))

    check_promql_parses(exprs)

    section("metrics named by dashboard queries are exported (OBS O4)")
    for where, e in exprs:
        names = metric_names(e)
        if not names:
            fail("%s: no metric found in %r" % (where, e))
        for n in sorted(names):
            if n in exported_series:
                ok("%s -> %s" % (where, n))
            else:
                fail("%s -> %s is not exported by the router" % (where, n))


def _uses_ds_variable(ds):
    if isinstance(ds, dict):
        return ds.get("uid") in ("${datasource}", "$datasource")
    return ds in ("${datasource}", "$datasource")


def check_promql_parses(exprs):
    """Every dashboard query parses: promtool check rules on a generated rules file."""
    promtool = os.environ.get("PROMTOOL", "promtool")
    lines = ["groups:", "  - name: dashboard-queries", "    rules:"]
    for i, (_, e) in enumerate(exprs):
        lines.append("      - record: dashboard_query_%d" % i)
        lines.append("        expr: %s" % json.dumps(grafana_to_promql(e)))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        tmp = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", tmp], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
    except OSError as e:
        fail("cannot run promtool to parse the dashboard queries: %s" % e)
        return
    finally:
        os.unlink(tmp)
    if r.returncode == 0:
        ok("all %d dashboard queries parse as PromQL (promtool)" % len(exprs))
    else:
        fail("dashboard queries do not parse:\n%s" % r.stdout)
        for m in re.finditer(r"dashboard_query_(\d+)", r.stdout):
            where, e = exprs[int(m.group(1))]
            print("        %s: %s" % (where, e))


def check_docs_against_scrape(docs, types, labels):
    section("docs/OBSERVABILITY.md catalogue against the scrape")
    for fam in sorted(types):
        row = docs.get(fam)
        if row is None:
            fail("%s is exported but not in the docs catalogue" % fam)
            continue
        problems = []
        if row["exported"] != "yes":
            problems.append("docs say %r" % row["exported"])
        if types[fam] not in (row["type"], "untyped"):
            problems.append("type %s, docs say %s" % (types[fam], row["type"]))
        extra = labels.get(fam, set()) - set(row["labels"])
        if extra:
            problems.append("labels %s not in docs %s" % (sorted(extra), row["labels"]))
        if problems:
            fail("%s: %s" % (fam, "; ".join(problems)))
        else:
            ok("%s: documented as exported %s" % (fam, row["type"]))
    for fam in sorted(n for n, r in docs.items() if r["exported"] == "yes" and n not in types):
        warn("%s is marked exported in the docs but absent from this scrape" % fam)


def check_docs_against_catalogue(docs, path):
    section("docs/OBSERVABILITY.md catalogue against --print-metrics-catalogue")
    try:
        with open(path, encoding="utf-8") as f:
            cat = json.load(f)
    except (OSError, ValueError) as e:
        fail("catalogue JSON %s: %s" % (path, e))
        return
    entries = {m["name"]: m for m in cat.get("metrics", [])}
    for name in sorted(set(entries) | set(docs)):
        m, row = entries.get(name), docs.get(name)
        if m is None:
            fail("%s is in the docs but not in the router's catalogue" % name)
            continue
        if row is None:
            fail("%s is in the router's catalogue but not in the docs" % name)
            continue
        problems = []
        if m.get("type") != row["type"]:
            problems.append("type %s vs docs %s" % (m.get("type"), row["type"]))
        cat_labels = [l["name"] for l in m.get("labels") or []]
        if cat_labels != row["labels"]:
            problems.append("labels %s vs docs %s" % (cat_labels, row["labels"]))
        layout = (m.get("buckets") or {}).get("layout") if m.get("buckets") else None
        if layout != row["layout"]:
            problems.append("buckets %s vs docs %s" % (layout, row["layout"]))
        if bool(m.get("exported")) != (row["exported"] == "yes"):
            problems.append("exported %s vs docs %r" % (m.get("exported"), row["exported"]))
        if problems:
            fail("%s: %s" % (name, "; ".join(problems)))
        else:
            ok("%s matches" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.abspath(os.path.join(os.path.dirname(__file__),
                                                                   "..", "..")))
    ap.add_argument("--metrics-file")
    ap.add_argument("--catalogue-file")
    args = ap.parse_args()
    root = args.root

    section("catalogue (docs/OBSERVABILITY.md)")
    docs = load_docs_catalogue(os.path.join(root, "docs/OBSERVABILITY.md"))
    if docs:
        n_yes = sum(1 for r in docs.values() if r["exported"] == "yes")
        ok("%d families, %d marked exported in this build" % (len(docs), n_yes))
    else:
        fail("no catalogue table found in docs/OBSERVABILITY.md")

    if args.metrics_file:
        types, labels = parse_exposition(args.metrics_file)
        if not types:
            fail("no metric family in %s" % args.metrics_file)
        else:
            ok("exported names from %s: %d families" % (args.metrics_file, len(types)))
        exported = series_names(types)
    else:
        print("  (no --metrics-file: exported names are the docs rows marked `yes`)")
        exported = series_names({n: r["type"] for n, r in docs.items()
                                 if r["exported"] == "yes"})

    check_alert_rules(root, exported)
    check_dashboard(root, exported)
    if args.metrics_file:
        check_docs_against_scrape(docs, types, labels)
    if args.catalogue_file:
        check_docs_against_catalogue(docs, args.catalogue_file)

    print()
    if FAILURES:
        print("ops_check: %d FAILED" % len(FAILURES))
        for f in FAILURES:
            print("  - " + f.split("\n")[0])
        return 1
    print("ops_check: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
