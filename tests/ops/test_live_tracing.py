"""End-to-end: trace propagation, DEBUG logging and redaction of one live router together.

observability.md §5.1/§5.2 (JSON log records, DEBUG event `decide.completed` carrying
`trace_id`), §5.3 (redaction of secret keys and `Bearer` values in logs and span attributes),
§6.1/§6.2 (W3C `traceparent` from gRPC metadata; a fresh 32-hex root otherwise; the trace id in
`RouteDecision.metadata["trace_id"]`), §6.4 (span `beamline.router.decide`, kind SERVER, with
`tenant_id` and `decide.outcome`) and §6.6 (OTLP/HTTP JSON export: POST <endpoint>/v1/traces,
`resourceSpans[].scopeSpans[].spans[]` with hex `traceId`/`spanId`/`parentSpanId`).

A tiny in-process OTLP/HTTP receiver (ThreadingHTTPServer on 127.0.0.1:0) captures every export
body; the router is started with `log.level = "debug"` and `tracing.otlp_endpoint` pointing at
it. All waiting is deadline-guarded polling, no fixed sleeps.

Run: ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest tests/ops/test_live_tracing.py -v
"""

import gzip
import http.server
import json
import os
import re
import threading
import sys
import unittest

# Importable both via `discover -s tests/ops` and as `tests/ops/test_live_tracing.py`.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from live_support import (DECIDE_PATH, decide_request_bytes, poll,  # noqa: E402
                          start_router)
from gen_stubs import load_protos  # noqa: E402  tests/python, put on sys.path by live_support

TENANT = "default_tenant"
POLICY = "default"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
SECRETS = ("SECRET1", "SECRET2", "SECRET3")
CONTEXT = {
    "api_key": "sk-live-SECRET1",                 # secret key -> "[REDACTED]"
    "authorization": "Bearer SECRET2.abc.def",    # secret key -> "[REDACTED]"
    "note": "please use Bearer SECRET3tok",       # value pattern -> "Bearer [REDACTED]"
    "user_id": "u1",                              # sticky key of the built-in policy
}
SPAN_NAME = "beamline.router.decide"
SPAN_KIND_SERVER = 2
TRACE_RE = re.compile(r"^[0-9a-f]{32}$")

WAIT_S = 10.0  # each polled condition; batch_interval_ms = 100 keeps exports quick


class _OtlpHandler(http.server.BaseHTTPRequestHandler):
    """Captures POST /v1/traces bodies (gunzipped when Content-Encoding: gzip)."""

    def do_POST(self):  # noqa: N802 (http.server naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
            body = gzip.decompress(body)
        self.server.record(self.path, self.headers.get("Content-Type", ""), body)
        reply = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):  # keep the test output quiet
        pass


class OtlpReceiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _OtlpHandler)
        self._lock = threading.Lock()
        self.requests = []  # (path, content type, body bytes)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)

    def record(self, path, content_type, body):
        with self._lock:
            self.requests.append((path, content_type, body))

    def snapshot(self):
        with self._lock:
            return list(self.requests)

    def spans(self):
        """Every span of every parsable /v1/traces body captured so far."""
        out = []
        for path, _, body in self.snapshot():
            if path.split("?", 1)[0] != "/v1/traces":
                continue
            try:
                doc = json.loads(body.decode("utf-8"))
            except ValueError:
                continue
            for rs in doc.get("resourceSpans") or ():
                for ss in rs.get("scopeSpans") or ():
                    out.extend(ss.get("spans") or ())
        return out


def attributes(span):
    """OTLP JSON attributes [{key, value: {stringValue|intValue|boolValue|...}}] as a dict."""
    out = {}
    for kv in span.get("attributes") or ():
        value = kv.get("value") or {}
        out[kv.get("key")] = next(iter(value.values()), None) if value else None
    return out


class LiveTracingTest(unittest.TestCase):
    """One router exporting to one receiver; the two Decides share them."""

    def setUp(self):
        self.pb = load_protos()
        self.receiver = OtlpReceiver().start()
        self.addCleanup(self.receiver.stop)
        config = (
            '[log]\nlevel = "debug"\n'
            "[tracing]\n"
            f'otlp_endpoint = "{self.receiver.endpoint}"\n'
            "sample_ratio = 1.0\n"
            "batch_interval_ms = 100\n")
        self.router = start_router(config)
        self.addCleanup(self.router.stop)

    def decide(self, context, metadata=None):
        method = self.router.channel.unary_unary(
            DECIDE_PATH, request_serializer=None,
            response_deserializer=self.pb.flow.RouteDecision.FromString)
        return method(decide_request_bytes(self.pb, TENANT, POLICY, context),
                      metadata=metadata, timeout=10.0)

    def completed_with_trace(self, trace_id):
        return [r for r in self.router.log_records()
                if r.get("event") == "decide.completed" and r.get("trace_id") == trace_id]

    def span_with_trace(self, trace_id):
        return [s for s in self.receiver.spans()
                if s.get("name") == SPAN_NAME and s.get("traceId") == trace_id]

    def test_traceparent_log_span_and_redaction(self):
        # -- 1. Decide with an incoming traceparent (§6.2) and secret-bearing context (§5.3).
        decision = self.decide(CONTEXT, metadata=[("traceparent", TRACEPARENT)])
        self.assertEqual(decision.metadata["trace_id"], TRACE_ID,
                         "RouteDecision.metadata[trace_id] must be the extracted trace id")

        records = poll(lambda: self.completed_with_trace(TRACE_ID), WAIT_S,
                       f"a decide.completed log record with trace_id {TRACE_ID}")
        self.assertEqual(records[0].get("level"), "DEBUG", records[0])
        self.assertEqual(records[0].get("tenant_id"), TENANT, records[0])
        # The record carries the request context, redacted (§5.3): the secrets did reach the
        # logger, so the leak checks below are not vacuous.
        record_text = json.dumps(records[0])
        self.assertIn('"[REDACTED]"', record_text, records[0])
        self.assertIn("Bearer [REDACTED]", record_text, records[0])

        spans = poll(lambda: self.span_with_trace(TRACE_ID), WAIT_S,
                     f"an exported {SPAN_NAME} span with traceId {TRACE_ID}")
        span = spans[0]
        self.assertEqual(span.get("parentSpanId"), PARENT_SPAN_ID, span)
        self.assertEqual(span.get("kind"), SPAN_KIND_SERVER, span)
        self.assertRegex(span.get("spanId", ""), r"^[0-9a-f]{16}$")
        self.assertNotEqual(span.get("spanId"), PARENT_SPAN_ID, span)
        attrs = attributes(span)
        self.assertEqual(attrs.get("tenant_id"), TENANT, attrs)
        self.assertEqual(attrs.get("decide.outcome"), "ok", attrs)

        # -- 2. Decide without traceparent: a fresh root trace id, also exported (§6.1, §6.6).
        fresh = self.decide({"user_id": "u2"}).metadata["trace_id"]
        self.assertRegex(fresh, TRACE_RE)
        self.assertNotEqual(fresh, "0" * 32)
        self.assertNotEqual(fresh, TRACE_ID)
        fresh_spans = poll(lambda: self.span_with_trace(fresh), WAIT_S,
                           f"an exported {SPAN_NAME} span with the fresh traceId {fresh}")
        self.assertFalse(fresh_spans[0].get("parentSpanId"), fresh_spans[0])

        # -- 3. Redaction: no secret in the router's output nor in any OTLP body (§5.3).
        # Stop first so the log writer's queue is flushed (§5.4) and all output is in. stop()
        # deletes the temp dir holding the stderr capture, so keep our own handle on it.
        with open(os.path.join(self.router.tmp_dir, "stderr.log"), "rb") as stderr_file:
            self.router.stop()
            stderr_text = stderr_file.read().decode("utf-8", "replace")
        output = "\n".join(self.router.log_lines()) + "\n" + stderr_text
        self.assertTrue(any("decide.completed" in line for line in self.router.log_lines()))
        for secret in SECRETS:
            self.assertNotIn(secret, output, f"{secret} leaked into the router's output")
        bodies = self.receiver.snapshot()
        self.assertTrue(bodies)
        for path, ctype, body in bodies:
            self.assertTrue(ctype.startswith("application/json"), (path, ctype))
            text = body.decode("utf-8", "replace")
            for secret in SECRETS:
                self.assertNotIn(secret, text, f"{secret} leaked into an OTLP body to {path}")


if __name__ == "__main__":
    unittest.main()
