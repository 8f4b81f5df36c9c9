"""Shared helpers of the live operations tests (tests/ops/test_live_*.py).

Reuses the Python router launcher of tests/python (``router_fixture.RouterProcess``: binary
``$ROUTER_BIN`` or ``<repo>/build/beamline-router``, ephemeral loopback ports, temp data dir) and
adds what the ops tests need on top of it:

- ``start_router()`` / ``scrape_metrics()``: a ready router and a ``GET /metrics`` that must
  answer 200 (observability.md §3). A router without ``/metrics`` makes the calling test FAIL
  with a message saying so; nothing here skips.
- ``parse_exposition()``: a small reader of the Prometheus text format 0.0.4 (families, types,
  samples with unescaped label values).
- ``PrometheusServer``: a real ``/usr/bin/prometheus`` on 127.0.0.1 with a free port, a temp TSDB
  and a generated configuration; ``query()`` / ``get_json()`` talk to its HTTP API.
- ``poll()``: the one waiting primitive: retries a probe until it succeeds or a deadline passes
  (no fixed sleeps; the short pause between attempts is bounded back-off).

Run with Debian's interpreter (``/usr/bin/python3``): grpcio and protobuf come from
python3-grpcio / python3-protobuf.
"""

import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import grpc

OPS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(OPS_DIR, "..", ".."))
PYTHON_TESTS_DIR = os.path.join(REPO_ROOT, "tests", "python")
if PYTHON_TESTS_DIR not in sys.path:
    sys.path.insert(0, PYTHON_TESTS_DIR)

from router_fixture import (ROUTER_SERVICE, RouterProcess,  # noqa: E402  pylint: disable=C0413
                            RouterStartError, router_binary)

CHECK_OPS_ARTIFACTS = os.path.join(OPS_DIR, "check_ops_artifacts.sh")
ALERTS_YML = os.path.join(REPO_ROOT, "deploy", "prometheus", "alerts.yml")
PROMETHEUS_BIN = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
PROMTOOL_BIN = os.environ.get("PROMTOOL", shutil.which("promtool") or "/usr/bin/promtool")
SCRAPE_JOB = "beamline-router"  # BeamlineRouterDown selects up{job="beamline-router"}
DECIDE_PATH = f"/{ROUTER_SERVICE}/Decide"

METRICS_WAIT_S = 10.0


class LiveTestError(AssertionError):
    """A precondition of a live test failed; the message says what and why."""


# ---------------------------------------------------------------------------- waiting


def poll(probe, timeout_s, what, interval_s=0.1):
    """Calls probe() until it returns a truthy value; returns that value.

    On timeout raises LiveTestError naming `what` and the last falsy value or exception, so a
    failure says what was awaited and what was seen instead.
    """
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except Exception as e:  # pylint: disable=broad-except
            last = e
        if time.monotonic() >= deadline:
            raise LiveTestError(f"timed out after {timeout_s:.0f}s waiting for {what}; "
                                f"last: {last!r}")
        # Bounded back-off between attempts of a deadline-guarded poll (not a fixed sleep).
        time.sleep(interval_s)


# ---------------------------------------------------------------------------- router


def start_router(config_text="", env=None):
    """A started, ready router (RouterProcess). Raises LiveTestError with diagnostics."""
    try:
        return RouterProcess(config_text, env).start()
    except RouterStartError as e:
        raise LiveTestError(f"could not start the router {router_binary()} "
                            f"(set ROUTER_BIN or build <repo>/build/beamline-router): {e}") from None


def http_get(url, timeout=5.0, headers=None):
    """(status, content-type, body text); HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return (resp.status, resp.headers.get("Content-Type", ""),
                    resp.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8", "replace")


def scrape_metrics(router, timeout_s=METRICS_WAIT_S):
    """GET /metrics on the router's HTTP port; returns the body once it answers 200.

    Fails (LiveTestError) when it never does: the message says /metrics is missing, which is
    what a router without the exposition (observability.md §3) looks like.
    """
    url = f"http://127.0.0.1:{router.http_port}/metrics"
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        try:
            code, ctype, body = http_get(url)
            if code == 200:
                return body
            last = (code, ctype, body[:300])
            # The router is ready (its HTTP server answers /ready), so 404/405 is final.
            if code in (404, 405):
                break
        except OSError as e:
            last = e
        if time.monotonic() >= deadline:
            break
        # Bounded back-off between attempts of a deadline-guarded poll (not a fixed sleep).
        time.sleep(0.1)
    raise LiveTestError(
        f"GET /metrics on the router's HTTP port ({url}) did not answer 200 (last: {last!r}). "
        f"The router does not serve the Prometheus exposition (observability.md §3): /metrics "
        f"must be wired on server.http_listen before the live ops tests can pass.")


def write_temp(text, suffix, directory=None):
    fd, path = tempfile.mkstemp(prefix="router-ops-", suffix=suffix, dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run_tool(args, stdin_path=None, timeout=120):
    """Runs a command; returns CompletedProcess with text stdout/stderr (stderr merged)."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        res = subprocess.run(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=timeout, cwd=REPO_ROOT)
    finally:
        if stdin_path:
            stdin.close()
    res.output = res.stdout.decode("utf-8", "replace")
    return res


def decide_request_bytes(pb, tenant_id, policy_id, context=None):
    return pb.flow.RouteRequest(message=pb.flow.Message(tenant_id=tenant_id),
                                policy_id=policy_id, context=context or {}).SerializeToString()


def decide(router, pb, tenant_id, policy_id, context=None, timeout=10.0):
    """One Router/Decide over the router's channel; returns RouteDecision or raises RpcError."""
    method = router.channel.unary_unary(DECIDE_PATH, request_serializer=None,
                                        response_deserializer=pb.flow.RouteDecision.FromString)
    return method(decide_request_bytes(pb, tenant_id, policy_id, context), timeout=timeout)


def drive_sample_traffic(router, pb):
    """A few decides so that the tenant/policy/provider-labelled families have series: the
    built-in fixture default_tenant/default is sticky on context `user_id` (a miss, then a hit),
    one decide without a session, one unknown policy (NOT_FOUND, policy_not_found)."""
    for ctx in ({"user_id": "ops-live-u1"}, {"user_id": "ops-live-u1"}, {}):
        decide(router, pb, "default_tenant", "default", ctx)
    try:
        decide(router, pb, "default_tenant", "no_such_policy_for_ops_test")
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
    else:
        raise LiveTestError("a Decide for an unknown policy succeeded")


# ---------------------------------------------------------------------------- exposition

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$")
_LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(value):
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            n = value[i + 1]
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(n, "\\" + n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_labels(text):
    labels, pos = {}, 0
    text = text or ""
    while pos < len(text):
        m = _LABEL_RE.match(text, pos)
        if not m:
            raise ValueError(f"cannot parse labels {text!r} at {pos}")
        labels[m.group(1)] = _unescape(m.group(2))
        pos = m.end()
    return labels


def parse_value(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    return float(text)


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []  # (sample name, {label: value}, float)

    def series(self, sample_name=None, **match):
        """Samples of this family (optionally of one sample name) whose labels match."""
        return [s for s in self.samples
                if (sample_name is None or s[0] == sample_name)
                and all(s[1].get(k) == v for k, v in match.items())]


def parse_exposition(text):
    """{family name: Family} from a text-format scrape. `_bucket`/`_sum`/`_count` samples go to
    their histogram family when a `# TYPE <base> histogram` line declared it."""
    families = {}
    order = []

    def fam(name):
        if name not in families:
            families[name] = Family(name)
            order.append(name)
        return families[name]

    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                fam(parts[2]).type = parts[3].strip() if len(parts) > 3 else None
            elif len(parts) >= 3 and parts[1] == "HELP":
                fam(parts[2]).help = parts[3] if len(parts) > 3 else ""
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            raise ValueError(f"line {lineno} is not a sample: {line!r}")
        sample, labels, value = m.group(1), parse_labels(m.group(3)), parse_value(m.group(4))
        family = sample
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample[: -len(suffix)]
            if sample.endswith(suffix) and base in families and \
                    families[base].type in ("histogram", "summary"):
                family = base
                break
        fam(family).samples.append((sample, labels, value))
    return families


def sample_value(families, family, sample_name=None, **labels):
    """Sum of the matching samples' values (0 when none match or the family is absent)."""
    f = families.get(family)
    if f is None:
        return 0.0
    return sum(v for _, _, v in f.series(sample_name or family, **labels))


# ---------------------------------------------------------------------------- prometheus


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROMETHEUS_CONFIG = """\
# Generated by tests/ops/live_support.py for one live test run.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s

rule_files:
  - {rules}

scrape_configs:
  - job_name: {job}
    metrics_path: /metrics
    scheme: http
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
"""


class PrometheusServer:
    """A real Prometheus on 127.0.0.1:<free port> with its own temp dir. start()/stop()."""

    READY_TIMEOUT_S = 30.0

    def __init__(self, target_port, rule_files=(ALERTS_YML,), job=SCRAPE_JOB):
        self.target_port = target_port
        self.rule_files = list(rule_files)
        self.job = job
        self.tmp_dir = None
        self.proc = None
        self.port = None
        self._log = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        if not os.access(PROMETHEUS_BIN, os.X_OK):
            raise LiveTestError(f"{PROMETHEUS_BIN} not found (Debian package prometheus)")
        self.tmp_dir = tempfile.mkdtemp(prefix="router-ops-prom-")
        config_path = os.path.join(self.tmp_dir, "prometheus.yml")
        rules = "\n  - ".join(json.dumps(p) for p in self.rule_files)
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(PROMETHEUS_CONFIG.format(rules=rules, job=self.job,
                                             target_port=self.target_port))
        try:
            # The free port may be taken between probing and binding: retry with a new one.
            for attempt in range(3):
                self.port = free_port()
                self._spawn(config_path)
                if self._await_ready(last_attempt=(attempt == 2)):
                    return self
                self._kill()
        except BaseException:
            self.stop()
            raise
        self.stop()
        raise LiveTestError("Prometheus could not bind a free port after 3 attempts")

    def _spawn(self, config_path):
        storage = os.path.join(self.tmp_dir, f"tsdb-{self.port}")
        if self._log is not None:
            self._log.close()
        self._log = open(os.path.join(self.tmp_dir, "prometheus.log"), "w+b")
        args = [PROMETHEUS_BIN, f"--web.listen-address=127.0.0.1:{self.port}",
                f"--storage.tsdb.path={storage}", f"--config.file={config_path}"]
        self.proc = subprocess.Popen(args, cwd=self.tmp_dir, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT)

    def _await_ready(self, last_attempt):
        """True once /-/ready answers 200; False when the process died of a taken port."""
        deadline = time.monotonic() + self.READY_TIMEOUT_S
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log_text()
                if "address already in use" in log and not last_attempt:
                    return False
                raise LiveTestError(f"Prometheus exited with {self.proc.returncode}:\n"
                                    f"{log[-3000:]}")
            try:
                code, _, body = http_get(self.base_url + "/-/ready", timeout=2.0)
                if code == 200:
                    return True
                last = (code, body[:200])
            except OSError as e:
                last = e
            # Bounded back-off while polling the readiness endpoint (not a fixed sleep).
            time.sleep(0.1)
        raise LiveTestError(f"Prometheus not ready after {self.READY_TIMEOUT_S:.0f}s "
                            f"(last: {last!r}):\n{self.log_text()[-3000:]}")

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def stop(self):
        self._kill()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    # ------------------------------------------------------------------ HTTP API

    def get_json(self, path, **params):
        url = self.base_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        code, _, body = http_get(url, timeout=5.0)
        try:
            doc = json.loads(body)
        except ValueError:
            raise LiveTestError(f"GET {url}: status {code}, not JSON: {body[:300]!r}") from None
        if code != 200 or doc.get("status") != "success":
            raise LiveTestError(f"GET {url}: status {code}: {body[:500]}")
        return doc["data"]

    def query(self, expr):
        """Instant query; returns the vector as [(labels dict, float value)]."""
        data = self.get_json("/api/v1/query", query=expr)
        if data.get("resultType") == "scalar":
            return [({}, parse_value(data["result"][1]))]
        if data.get("resultType") != "vector":
            raise LiveTestError(f"query {expr!r}: unexpected result type {data.get('resultType')}")
        return [(r["metric"], parse_value(r["value"][1])) for r in data["result"]]

    def query_one(self, expr):
        """The value of a query expected to return exactly one series, else None."""
        result = self.query(expr)
        return result[0][1] if len(result) == 1 else None
