"""Independent Python (grpcio) client tests of the beamline-router gRPC API.

Pins the acceptance scenarios of grpc-api.md §13 that need no NATS, breakers, rate limits,
statistics or idempotency: 1-6, 11, 13, 14 (without breakers), 17 (validation), 18 (DryRun
in-band errors, no pin writes), 19-26 and 29, plus the HTTP /health and /ready endpoints
(observability.md §7). Every call goes through `channel.unary_unary` with raw bytes so that
undecodable bodies can be sent; error details are decoded from the `grpc-status-details-bin`
trailer by hand (google.rpc.Status + ErrorInfo / BadRequest).

Run with Debian's interpreter (grpcio is not installed for the pyenv python):
    ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest discover -s tests/python -v
"""

import hashlib
import json
import re
import time
import unittest

import grpc

from gen_stubs import load_protos
from router_fixture import (ADMIN_SERVICE, ROUTER_SERVICE, RPC_TIMEOUT_S, RouterProcess,
                            decode_fields, decode_status_details, encode_string_field,
                            initial_dict)

pb = load_protos()
F = pb.flow
C = grpc.StatusCode

ADMIN_KEY = "py-admin-key-0123456789"
DECIDE = f"/{ROUTER_SERVICE}/Decide"
REPORT = f"/{ROUTER_SERVICE}/ReportOutcome"
ADMIN_METHODS = ("UpsertPolicy", "DeletePolicy", "GetPolicy", "ListPolicies",
                 "GetCheckpointStatus", "GetValidatorsHealth", "DryRun",
                 "GetCircuitBreakerStates", "ResetCircuitBreaker", "GetAssignment")

# An undecodable protobuf body: field 1 with the invalid wire type 7.
GARBAGE = b"\x0f\xff\xff"

MSG_INVALID_REQUEST = "invalid request"
MSG_TENANT_EMPTY = "tenant_id cannot be empty"
MSG_TENANT_PATTERN = "tenant_id must match ^[A-Za-z0-9_.-]{1,255}$"
MSG_POLICY_PATTERN = "policy_id must match ^[A-Za-z0-9_.-]{1,255}$"
MSG_PROVIDER_PATTERN = "provider_id must match ^[A-Za-z0-9_.:/-]{1,128}$"
MSG_STATUS_ENUM = 'status must be one of "success", "error", "timeout", "cancelled"'
MSG_AUTH = "missing or invalid API key"
MSG_ADMIN_DISABLED = "admin API disabled: no admin key configured"
MSG_NOT_ALLOWED = "tenant not allowed"
NAME_PATTERN = "^[A-Za-z0-9_.:/-]{1,128}$"

UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TRACE_RE = re.compile(r"^[0-9a-f]{32}$")

P73 = [("openai", 0.7), ("anthropic", 0.3)]


def not_found(policy_id, tenant_id):
    return f'policy "{policy_id}" not found for tenant "{tenant_id}"'


def denied(permission, tenant_id):
    return f'permission denied: {permission} on tenant "{tenant_id}" required'


class RouterTestCase(unittest.TestCase):
    """One router process per TestCase class."""

    CONFIG = ""
    ENV = {"BEAMLINE_ROUTER_ADMIN_API_KEY": ADMIN_KEY}
    router = None

    @classmethod
    def setUpClass(cls):
        cls.router = RouterProcess(cls.CONFIG, cls.ENV).start()

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            cls.router.stop()
            cls.router = None

    # ------------------------------------------------------------------ calls

    def call(self, path, request, response_cls=None, metadata=None):
        return self.router.unary(path, request, response_cls, metadata)

    def decide(self, tenant, policy_id="", context=None, metadata=None, message=None):
        msg = message if message is not None else F.Message(tenant_id=tenant)
        req = F.RouteRequest(message=msg, policy_id=policy_id, context=context or {})
        resp, _ = self.call(DECIDE, req, F.RouteDecision, metadata)
        return resp

    def decide_with_call(self, request, metadata=None):
        return self.call(DECIDE, request, F.RouteDecision, metadata)

    def report(self, **fields):
        resp, _ = self.call(REPORT, F.ReportOutcomeRequest(**fields), F.ReportOutcomeResponse)
        return resp

    def admin(self, method, request, key=ADMIN_KEY, metadata=()):
        md = [("x-api-key", key)] if key is not None else []
        md.extend(metadata)
        resp_cls = getattr(F, f"{method}Response")
        resp, _ = self.call(f"/{ADMIN_SERVICE}/{method}", request, resp_cls, md)
        return resp

    def upsert_legacy(self, tenant, policy_id, providers, sticky=False, rules=(), version=0,
                      key=ADMIN_KEY):
        policy = F.AdminPolicy(
            policy_id=policy_id, sticky=sticky, version=version,
            providers=[F.AdminProvider(id=p, weight=w) for p, w in providers],
            rules=[F.AdminRule(match=m, fallback=fb, prefer=list(pref)) for m, fb, pref in rules])
        return self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id=tenant, policy=policy),
                          key=key)

    def upsert_json(self, tenant, policy_id, document, version=0, key=ADMIN_KEY):
        text = document if isinstance(document, str) else json.dumps(document)
        policy = F.AdminPolicy(policy_id=policy_id, policy_json=text, version=version)
        return self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id=tenant, policy=policy),
                          key=key)

    def get_policy(self, tenant, policy_id, key=ADMIN_KEY):
        return self.admin("GetPolicy", F.GetPolicyRequest(tenant_id=tenant, policy_id=policy_id),
                          key=key).policy

    # ------------------------------------------------------------------ assertions

    def assertRpcError(self, fn, code, message=None, reason=None, message_prefix=None):
        """Asserts fn() fails with `code` and (exact) `message`; checks the details trailer."""
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        err = cm.exception
        self.assertEqual(err.code(), code, f"details: {err.details()!r}")
        if message is not None:
            self.assertEqual(err.details(), message)
        if message_prefix is not None:
            self.assertTrue((err.details() or "").startswith(message_prefix),
                            f"{err.details()!r} does not start with {message_prefix!r}")
        details = decode_status_details(err)
        self.assertIsNotNone(details, "grpc-status-details-bin trailer missing (grpc-api.md §1)")
        self.assertEqual(details.status.code, code.value[0],
                         "google.rpc.Status.code differs from the RPC status")
        self.assertEqual(details.status.message, err.details(),
                         "google.rpc.Status.message differs from the RPC message")
        self.assertEqual(len(details.error_infos), 1, "exactly one ErrorInfo expected")
        self.assertEqual(details.error_info.domain, "beamline.router")
        if reason is not None:
            self.assertEqual(details.error_info.reason, reason)
        return err, details


# ============================================================================ Router.Decide


class DecideTest(RouterTestCase):
    """Router.Decide and ReportOutcome against built-in fixtures and admin-upserted policies."""

    def test_s01_unknown_policy_is_not_found(self):
        # §13.1: NOT_FOUND (never OK or INTERNAL), §3.1 step 6 message, tag policy_not_found.
        self.assertRpcError(lambda: self.decide("test_tenant", "test_policy"), C.NOT_FOUND,
                            not_found("test_policy", "test_tenant"), "policy_not_found")

    def test_s02_request_validation(self):
        # §13.2 and §3.1 step 1.
        self.assertRpcError(lambda: self.decide("", "p"), C.INVALID_ARGUMENT, MSG_TENANT_EMPTY,
                            "invalid_request")
        self.assertRpcError(lambda: self.call(DECIDE, F.RouteRequest(policy_id="p")),
                            C.INVALID_ARGUMENT, "missing message", "invalid_request")
        self.assertRpcError(lambda: self.call(DECIDE, GARBAGE), C.INVALID_ARGUMENT,
                            MSG_INVALID_REQUEST, "invalid_request")
        for bad in ("a b", ".", "..", "x" * 256, "t/1"):
            with self.subTest(tenant=bad):
                self.assertRpcError(lambda: self.decide(bad, "p"), C.INVALID_ARGUMENT,
                                    MSG_TENANT_PATTERN, "invalid_request")

    def test_s02_context_bounds(self):
        # §3.1 step 1: defaults 64 entries / 128-byte keys / 1024-byte values.
        many = {f"k{i}": "v" for i in range(65)}
        self.assertRpcError(lambda: self.decide("default_tenant", context=many),
                            C.INVALID_ARGUMENT, "context: at most 64 entries")
        self.assertRpcError(lambda: self.decide("default_tenant", context={"k" * 129: "v"}),
                            C.INVALID_ARGUMENT, "context: key exceeds 128 bytes")
        self.assertRpcError(lambda: self.decide("default_tenant", context={"big": "v" * 1025}),
                            C.INVALID_ARGUMENT, "context.big: exceeds 1024 bytes")
        ok = {f"k{i}": "v" * 1024 for i in range(63)}
        ok["k" * 128] = "v"
        self.assertEqual(self.decide("default_tenant", context=ok).metadata["k0"], "v" * 1024)

    def test_s03_weighted_policy(self):
        # §13.3: P(.7/.3) at (test_tenant_gateway, test_policy_gateway).
        self.assertTrue(self.upsert_legacy("test_tenant_gateway", "test_policy_gateway", P73).ok)
        seen = set()
        for _ in range(10):
            d = self.decide("test_tenant_gateway", "test_policy_gateway")
            self.assertIn(d.provider_id, {"openai", "anthropic"})
            self.assertEqual((d.reason, d.priority), ("weighted", 50))
            self.assertEqual(d.policy_version, 1)
            self.assertRegex(d.decision_id, UUID4_RE)
            self.assertFalse(d.HasField("explanation"))
            seen.add(d.decision_id)
        self.assertEqual(len(seen), 10, "decision_id must be fresh per decision")

    def test_s04_sticky_session(self):
        # §13.4, POL §3.2 S3/S4 and the explanation texts of POL §3.3.
        self.assertTrue(self.upsert_legacy("s04_tenant", "sticky_policy", P73, sticky=True).ok)
        ctx = {"session_id": "session_1", "detail_level": "detailed"}
        first = self.decide("s04_tenant", "sticky_policy", ctx)
        self.assertEqual((first.reason, first.priority), ("weighted", 50))
        self.assertIn("sticky: miss on session_id", first.explanation.steps)
        for _ in range(3):
            again = self.decide("s04_tenant", "sticky_policy", ctx)
            self.assertEqual(again.provider_id, first.provider_id)
            self.assertEqual((again.reason, again.priority), ("sticky", 100))
            self.assertIn(f"sticky: hit on session_id -> {first.provider_id}",
                          again.explanation.steps)
            for step in list(again.explanation.steps) + list(first.explanation.steps):
                self.assertNotIn("session_1", step, "session values never appear (POL §3.3)")
        # The same session under another policy is independent.
        self.assertTrue(self.upsert_legacy("s04_tenant", "sticky_policy_2", P73, sticky=True).ok)
        other = self.decide("s04_tenant", "sticky_policy_2", {"session_id": "session_1"})
        self.assertEqual(other.reason, "weighted")
        # Empty session value: not sticky, no error.
        nosess = self.decide("s04_tenant", "sticky_policy", {"session_id": ""})
        self.assertEqual(nosess.reason, "weighted")

    def test_s05_policy_id_resolution(self):
        # §13.5 and §3.1 step 2: field -> context policy_id -> "default".
        d = self.decide("default_tenant")
        self.assertEqual(d.metadata["policy_id"], "default")
        self.assertIn(d.provider_id, {"openai", "anthropic", "mistral"})
        self.assertEqual(d.policy_version, 1)
        self.assertEqual(d.metadata["policy_version"], "1")
        self.assertRpcError(lambda: self.decide("default_tenant", context={"policy_id": "other"}),
                            C.NOT_FOUND, not_found("other", "default_tenant"), "policy_not_found")
        d = self.decide("default_tenant", context={"policy_id": "circuit_breaker"})
        self.assertEqual(d.metadata["policy_id"], "circuit_breaker")
        # The request field wins over the context entry.
        d = self.decide("default_tenant", "legacy_format", {"policy_id": "other"})
        self.assertEqual(d.metadata["policy_id"], "legacy_format")
        self.assertIn(d.provider_id, {"openai", "mistral"})
        for where in ("field", "context"):
            with self.subTest(where=where):
                if where == "field":
                    fn = lambda: self.decide("default_tenant", "a b")
                else:
                    fn = lambda: self.decide("default_tenant", context={"policy_id": "a b"})
                self.assertRpcError(fn, C.INVALID_ARGUMENT, MSG_POLICY_PATTERN, "invalid_request")

    def test_s05_builtin_fixtures_present(self):
        # configuration.md: the built-in example policies load on first start as version 1.
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id="default_tenant"))
        ids = [p.policy_id for p in resp.policies]
        self.assertEqual(ids, sorted(["circuit_breaker", "complex_fallbacks", "default",
                                      "extensions", "least_latency", "legacy_format",
                                      "rate_limited"]))
        self.assertTrue(all(p.version == 1 for p in resp.policies))

    def test_s09_static_no_provider(self):
        # POL §3.2 S6 / POL §12.19: all weights 0 and no target -> FAILED_PRECONDITION;
        # with a rule target -> fallback/25.
        self.assertTrue(self.upsert_legacy("s09_tenant", "zero", [("a", 0.0), ("b", 0.0)]).ok)
        self.assertRpcError(
            lambda: self.decide("s09_tenant", "zero"), C.FAILED_PRECONDITION,
            'policy "zero" can never yield a provider (no positive weight and no fallback target)',
            "no_provider_configured")
        doc = {"version": "1.0", "providers": [{"name": "a", "weight": 0}],
               "fallbacks": [{"when": {}, "retry": 0, "to": "local_llm"}]}
        self.assertTrue(self.upsert_json("s09_tenant", "zero_fb", doc).ok)
        d = self.decide("s09_tenant", "zero_fb", {"explain": "true"})
        self.assertEqual((d.provider_id, d.reason, d.priority), ("local_llm", "fallback", 25))
        self.assertIn("fallback_chain: status=no_weighted_provider -> local_llm",
                      d.explanation.steps)

    def test_s11_redecision(self):
        # §13.11 / POL §3.2 S2 with rule {when:{status:["timeout"]}, retry:2, to:anthropic}.
        doc = {"version": "1.0",
               "providers": [{"name": "openai", "weight": 0.7},
                             {"name": "anthropic", "weight": 0.3}],
               "fallbacks": [{"when": {"status": ["timeout"]}, "retry": 2, "to": "anthropic"}]}
        self.assertTrue(self.upsert_json("s11_tenant", "redecide", doc).ok)
        base = {"status": "timeout", "previous_provider": "openai"}
        d = self.decide("s11_tenant", "redecide", base)
        self.assertEqual((d.provider_id, d.reason, d.priority), ("openai", "retry", 50))
        self.assertEqual(d.metadata["retry_attempt"], "1")
        self.assertEqual(d.metadata["retry_max"], "2")
        self.assertEqual(d.metadata["fallback_rule"], "0")
        # Default backoff: exponential, base 100 ms, jitter adds [0, delay/10].
        self.assertTrue(100 <= int(d.metadata["backoff_ms"]) <= 110, d.metadata["backoff_ms"])
        d = self.decide("s11_tenant", "redecide", dict(base, attempt="1"))
        self.assertEqual((d.provider_id, d.reason), ("openai", "retry"))
        self.assertEqual(d.metadata["retry_attempt"], "2")
        self.assertTrue(200 <= int(d.metadata["backoff_ms"]) <= 220, d.metadata["backoff_ms"])
        d = self.decide("s11_tenant", "redecide", dict(base, attempt="2", explain="true"))
        self.assertEqual((d.provider_id, d.reason, d.priority), ("anthropic", "fallback", 25))
        self.assertEqual(d.metadata["fallback_rule"], "0")
        self.assertIn(("openai", "retries_exhausted"),
                      [(e.provider_id, e.reason) for e in d.explanation.excluded_providers])
        self.assertIn("failure_path: status=timeout previous_provider=openai attempt=2",
                      d.explanation.steps)
        self.assertIn("failure_path: rule 0 -> fallback to anthropic", d.explanation.steps)
        # Alias current_provider behaves the same.
        d = self.decide("s11_tenant", "redecide", {"status": "timeout", "current_provider": "openai"})
        self.assertEqual((d.provider_id, d.reason), ("openai", "retry"))
        # status=success does not enter the failure path.
        d = self.decide("s11_tenant", "redecide", {"status": "success", "previous_provider": "openai"})
        self.assertEqual(d.reason, "weighted")
        for bad in ("x", "-1", "1001", "1.5"):
            with self.subTest(attempt=bad):
                self.assertRpcError(
                    lambda: self.decide("s11_tenant", "redecide", dict(base, attempt=bad)),
                    C.INVALID_ARGUMENT, "context.attempt: must be a non-negative integer",
                    "invalid_request")

    def test_s12_declared_expected_latency_and_cost(self):
        # §3.4: without statistics the policy-declared values are reported (12, declared part).
        doc = {"version": "1.0",
               "providers": [{"name": "openai", "weight": 100, "expected_latency_ms": 800,
                              "cost": 0.25}]}
        self.assertTrue(self.upsert_json("s12_tenant", "declared", doc).ok)
        d = self.decide("s12_tenant", "declared")
        self.assertEqual((d.provider_id, d.expected_latency_ms, d.expected_cost),
                         ("openai", 800, 0.25))
        self.assertTrue(self.upsert_legacy("s12_tenant", "undeclared", [("openai", 1.0)]).ok)
        d = self.decide("s12_tenant", "undeclared")
        self.assertEqual((d.expected_latency_ms, d.expected_cost), (0, 0.0))

    def test_s13_metadata_and_correlation(self):
        # §13.13 / §3.5.
        self.assertTrue(self.upsert_legacy("s13_tenant", "meta", P73).ok)
        ctx = {"tier": "gold", "custom": "x", "tenant_id": "spoofed"}
        for header in ("x-correlation-id", "correlation-id"):
            with self.subTest(header=header):
                d = self.decide("s13_tenant", "meta", ctx, metadata=[(header, "c1")])
                md = dict(d.metadata)
                self.assertEqual(md["correlation_id"], "c1")
                self.assertEqual(md["tenant_id"], "s13_tenant", "router keys win over context")
                self.assertEqual(md["policy_id"], "meta")
                self.assertEqual(md["policy_version"], "1")
                self.assertEqual(md["decision_id"], d.decision_id)
                self.assertRegex(md["decision_id"], UUID4_RE)
                self.assertRegex(md["trace_id"], TRACE_RE)
                self.assertEqual(md["tier"], "gold")
                self.assertEqual(md["custom"], "x")
                self.assertTrue(all(isinstance(v, str) for v in md.values()))
        # x-correlation-id wins over correlation-id.
        d = self.decide("s13_tenant", "meta", metadata=[("x-correlation-id", "c1"),
                                                        ("correlation-id", "c2")])
        self.assertEqual(d.metadata["correlation_id"], "c1")
        # No header: no correlation_id key; nothing but context and router keys.
        d = self.decide("s13_tenant", "meta", {"a": "1"})
        self.assertNotIn("correlation_id", d.metadata)
        self.assertEqual(set(d.metadata),
                         {"a", "tenant_id", "policy_id", "policy_version", "decision_id",
                          "trace_id"})
        # A header over 256 bytes is ignored.
        d = self.decide("s13_tenant", "meta", metadata=[("x-correlation-id", "c" * 257)])
        self.assertNotIn("correlation_id", d.metadata)

    def test_s13_trace_id_sources(self):
        # §13.13 and OBS §6.2 extraction order.
        tid = "4bf92f3577b34da6a3ce929d0e0e4736"
        tid2 = "0af7651916cd43dd8448eb211c80319c"
        tp = f"00-{tid}-00f067aa0ba902b7-01"
        tp2 = f"00-{tid2}-b7ad6b7169203331-01"
        d = self.decide("default_tenant", metadata=[("traceparent", tp)])
        self.assertEqual(d.metadata["trace_id"], tid)
        d = self.decide("default_tenant", context={"traceparent": tp2})
        self.assertEqual(d.metadata["trace_id"], tid2)
        d = self.decide("default_tenant", context={"traceparent": tp2},
                        metadata=[("traceparent", tp)])
        self.assertEqual(d.metadata["trace_id"], tid, "gRPC metadata comes before context")
        d = self.decide("default_tenant", context={"traceparent": tp2},
                        metadata=[("traceparent", tp.upper())])
        self.assertEqual(d.metadata["trace_id"], tid2, "invalid (uppercase) header is skipped")
        d = self.decide("default_tenant",
                        message=F.Message(tenant_id="default_tenant", trace_id=tid2))
        self.assertEqual(d.metadata["trace_id"], tid2)
        a = self.decide("default_tenant")
        b = self.decide("default_tenant")
        self.assertRegex(a.metadata["trace_id"], TRACE_RE)
        self.assertNotEqual(a.metadata["trace_id"], b.metadata["trace_id"], "new root each time")

    def test_s14_explanation(self):
        # §13.14 (no-breaker part) / §3.6 / POL §3.3 texts.
        self.assertTrue(self.upsert_legacy("s14_tenant", "explained", P73).ok)
        d = self.decide("s14_tenant", "explained")
        self.assertFalse(d.HasField("explanation"))
        self.assertEqual(len(d.explanation.steps), 0)
        d = self.decide("s14_tenant", "explained", {"explain": "maybe", "detail_level": "low"})
        self.assertFalse(d.HasField("explanation"), "unknown values are ignored")
        for ctx in ({"explain": "true"}, {"explain": "TRUE"}, {"detail_level": "detailed"},
                    {"detail_level": "verbose"}):
            with self.subTest(context=ctx):
                d = self.decide("s14_tenant", "explained", ctx)
                steps = list(d.explanation.steps)
                self.assertTrue(steps, "explanation requested but empty")
                self.assertEqual(steps[0], "policy: s14_tenant/explained v1, strategy weighted")
                self.assertIn(
                    f"weighted: 2 of 2 providers eligible, total weight 1.0 -> {d.provider_id}",
                    steps)
                self.assertTrue(all(re.match(r"^[a-z_]+: ", s) for s in steps), steps)
        # A zero-weight provider is excluded as zero_weight (fixture default: local_llm weight 0).
        d = self.decide("default_tenant", "default", {"explain": "true"})
        self.assertIn(("local_llm", "zero_weight"),
                      [(e.provider_id, e.reason) for e in d.explanation.excluded_providers])
        self.assertEqual(d.explanation.steps[0], "policy: default_tenant/default v1, strategy weighted")
        self.assertIn("sticky: no usable value for user_id", d.explanation.steps)

    def test_deadline_context(self):
        # §3.1 step 9 and §3.2 `deadline`.
        past = str(int(time.time() * 1000) - 60_000)
        future = str(int(time.time() * 1000) + 3_600_000)
        self.assertRpcError(lambda: self.decide("default_tenant", context={"deadline": past}),
                            C.DEADLINE_EXCEEDED, "deadline exceeded", "deadline_exceeded")
        self.assertEqual(self.decide("default_tenant", context={"deadline": future}).reason,
                         "weighted")
        self.assertRpcError(lambda: self.decide("default_tenant", context={"deadline": "soon"}),
                            C.INVALID_ARGUMENT, "context.deadline: must be an epoch-ms integer",
                            "invalid_request")

    def test_s17_report_outcome_validation(self):
        # §13.17 (validation part) and §4 order.
        cases = [
            (GARBAGE, MSG_INVALID_REQUEST),
            (F.ReportOutcomeRequest(provider_id="openai", status="success"), MSG_TENANT_EMPTY),
            (F.ReportOutcomeRequest(tenant_id="a b", provider_id="openai", status="success"),
             MSG_TENANT_PATTERN),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="", status="success"),
             MSG_PROVIDER_PATTERN),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="open ai", status="weird"),
             MSG_PROVIDER_PATTERN),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="p" * 129, status="success"),
             MSG_PROVIDER_PATTERN),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status="weird"),
             MSG_STATUS_ENUM),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status=""),
             MSG_STATUS_ENUM),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status="success",
                                    latency_ms=-1), "latency_ms must not be negative"),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status="success",
                                    cost=-0.5), "cost must be a finite non-negative number"),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status="success",
                                    cost=float("nan")), "cost must be a finite non-negative number"),
            (F.ReportOutcomeRequest(tenant_id="t", provider_id="openai", status="success",
                                    cost=float("inf")), "cost must be a finite non-negative number"),
        ]
        for req, message in cases:
            with self.subTest(request=str(req)[:80], message=message):
                self.assertRpcError(lambda: self.call(REPORT, req, F.ReportOutcomeResponse),
                                    C.INVALID_ARGUMENT, message, "invalid_request")

    def test_s17_report_outcome_accepts_valid_outcomes(self):
        # §4: every valid status/error_code is recorded; no breaker for the pair -> "".
        outcomes = [dict(status="success", latency_ms=400, cost=0.01),
                    dict(status="timeout"), dict(status="cancelled"),
                    dict(status="error", error_code="HTTP_404"),
                    dict(status="error", error_code="VALIDATION_ERROR"),
                    dict(status="error", error_code="RATE_LIMITED"),
                    dict(status="error", error_code="http-503"),
                    dict(status="error", error_code="")]
        for fields in outcomes:
            with self.subTest(**fields):
                resp = self.report(tenant_id="s17_tenant", provider_id="openai:gpt-4", **fields)
                self.assertTrue(resp.ok)
                self.assertEqual(resp.circuit_state, "")

    def test_s18_dry_run_in_band_errors(self):
        # §13.18 (unknown policy in-band 5) and §7.
        req = F.DryRunRequest(request=F.RouteRequest(
            message=F.Message(tenant_id="test_tenant"), policy_id="no_such_policy"))
        resp = self.admin("DryRun", req)
        self.assertEqual(resp.status_code, 5)
        self.assertEqual(resp.status_message, not_found("no_such_policy", "test_tenant"))
        self.assertFalse(resp.HasField("decision"))
        self.assertTrue(resp.HasField("explanation"))
        # Invalid attempt -> in-band 3.
        self.assertTrue(self.upsert_legacy("s18_tenant", "dry", P73, sticky=True).ok)
        bad = F.DryRunRequest(request=F.RouteRequest(
            message=F.Message(tenant_id="s18_tenant"), policy_id="dry",
            context={"attempt": "x", "status": "timeout"}))
        resp = self.admin("DryRun", bad)
        self.assertEqual((resp.status_code, resp.status_message),
                         (3, "context.attempt: must be a non-negative integer"))
        # RPC-level errors.
        self.assertRpcError(lambda: self.admin("DryRun", F.DryRunRequest()), C.INVALID_ARGUMENT,
                            "invalid DryRunRequest: request is required")
        self.assertRpcError(lambda: self.admin("DryRun", GARBAGE), C.INVALID_ARGUMENT,
                            "invalid DryRunRequest")
        no_tenant = F.DryRunRequest(request=F.RouteRequest(message=F.Message()))
        self.assertRpcError(lambda: self.admin("DryRun", no_tenant), C.INVALID_ARGUMENT,
                            MSG_TENANT_EMPTY)

    def test_s18_dry_run_has_no_side_effects(self):
        # §13.18 (pins part) / §7: DryRun writes no pin; a decision is fresh and unstored.
        self.assertTrue(self.upsert_legacy("s18b_tenant", "dry", P73, sticky=True).ok)
        ctx = {"session_id": "dry_session"}
        req = F.DryRunRequest(request=F.RouteRequest(
            message=F.Message(tenant_id="s18b_tenant"), policy_id="dry", context=ctx))
        ids = set()
        for _ in range(20):
            resp = self.admin("DryRun", req)
            self.assertEqual((resp.status_code, resp.status_message), (0, ""))
            self.assertTrue(resp.HasField("decision"))
            self.assertEqual(resp.decision.reason, "weighted", "DryRun must not write pins")
            self.assertFalse(resp.decision.HasField("explanation"))
            self.assertTrue(resp.explanation.steps)
            self.assertEqual(resp.explanation.steps[0], "policy: s18b_tenant/dry v1, strategy weighted")
            self.assertEqual(resp.decision.policy_version, 1)
            ids.add(resp.decision.decision_id)
        self.assertEqual(len(ids), 20)
        d = self.decide("s18b_tenant", "dry", ctx)
        self.assertEqual(d.reason, "weighted", "no pin may exist after DryRuns")
        self.assertNotIn(d.decision_id, ids)
        # Inline document: policy_version 0.
        inline = F.DryRunRequest(
            request=F.RouteRequest(message=F.Message(tenant_id="s18b_tenant"), policy_id="inline"),
            policy_json='{"version":"1.0","providers":[{"name":"solo","weight":100}]}')
        resp = self.admin("DryRun", inline)
        self.assertEqual(resp.status_code, 0, resp.status_message)
        self.assertEqual((resp.decision.provider_id, resp.decision.policy_version), ("solo", 0))
        # An invalid inline document is an RPC-level INVALID_ARGUMENT with its path.
        broken = F.DryRunRequest(request=inline.request,
                                 policy_json='{"version":"1.0","providers":[{"name":"a","weight":1.5}]}')
        self.assertRpcError(lambda: self.admin("DryRun", broken), C.INVALID_ARGUMENT,
                            "providers[0].weight: must be between 0.0 and 1.0")

    def test_s23_upsert_then_decide_then_delete(self):
        # §13.23: admin changes are visible to the next Decide on this replica.
        self.assertTrue(self.upsert_legacy("s23_tenant", "only_anthropic", [("anthropic", 1.0)]).ok)
        for _ in range(5):
            d = self.decide("s23_tenant", "only_anthropic")
            self.assertEqual((d.provider_id, d.reason, d.priority), ("anthropic", "weighted", 50))
        resp = self.admin("DeletePolicy", F.DeletePolicyRequest(tenant_id="s23_tenant",
                                                                policy_id="only_anthropic"))
        self.assertTrue(resp.ok)
        self.assertRpcError(lambda: self.decide("s23_tenant", "only_anthropic"), C.NOT_FOUND,
                            not_found("only_anthropic", "s23_tenant"), "policy_not_found")

    def test_http_health_and_ready(self):
        # OBS §7.1 / §7.2.
        code, body = self.router.http_get("/health")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body), {"status": "ok"})
        code, body = self.router.http_get("/ready")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(body)["status"], "ready")


# ============================================================================ allowlist


class AllowlistTest(RouterTestCase):
    """§13.6: tenants.allowlist gates Decide and ReportOutcome (after validation)."""

    CONFIG = '[tenants]\nallowlist = ["default_tenant", "t1"]\n'

    def test_s06_decide_denied_for_unlisted_tenant(self):
        self.assertRpcError(lambda: self.decide("t2", "default"), C.PERMISSION_DENIED,
                            MSG_NOT_ALLOWED, "tenant_not_allowed")
        # Validation (steps 1-2) comes before the allowlist (step 3) ...
        self.assertRpcError(lambda: self.decide("t2", "a b"), C.INVALID_ARGUMENT,
                            MSG_POLICY_PATTERN)
        # ... and the allowlist before the lookup (step 6).
        self.assertRpcError(lambda: self.decide("t2", "missing"), C.PERMISSION_DENIED,
                            MSG_NOT_ALLOWED)
        self.assertRpcError(lambda: self.decide("t1", "missing"), C.NOT_FOUND,
                            not_found("missing", "t1"))
        self.assertEqual(self.decide("default_tenant").metadata["policy_id"], "default")

    def test_s06_report_outcome_denied_for_unlisted_tenant(self):
        self.assertRpcError(
            lambda: self.report(tenant_id="t2", provider_id="openai", status="success"),
            C.PERMISSION_DENIED, MSG_NOT_ALLOWED, "tenant_not_allowed")
        self.assertRpcError(
            lambda: self.report(tenant_id="t2", provider_id="openai", status="weird"),
            C.INVALID_ARGUMENT, MSG_STATUS_ENUM)
        self.assertTrue(self.report(tenant_id="t1", provider_id="openai", status="success").ok)

    def test_s06_dry_run_reports_denial_in_band(self):
        # §7: Decide's code 7 is in-band for DryRun.
        req = F.DryRunRequest(request=F.RouteRequest(message=F.Message(tenant_id="t2")))
        resp = self.admin("DryRun", req)
        self.assertEqual((resp.status_code, resp.status_message), (7, MSG_NOT_ALLOWED))
        self.assertFalse(resp.HasField("decision"))


# ============================================================================ RouterAdmin


class AdminApiTest(RouterTestCase):
    """RouterAdmin with one admin principal (BEAMLINE_ROUTER_ADMIN_API_KEY)."""

    def test_s19_model_style_provider_id(self):
        # §13.19.
        resp = self.upsert_legacy("s19_tenant", "test_policy_1", [("openai:gpt-4", 1.0)])
        self.assertTrue(resp.ok)
        got = self.get_policy("s19_tenant", "test_policy_1")
        self.assertEqual(got.policy_id, "test_policy_1")
        self.assertEqual(got.version, 1)
        self.assertIn('"name":"openai:gpt-4"', got.policy_json)
        self.assertIn('"weight":1.0', got.policy_json)
        self.assertEqual([(p.id, p.weight) for p in got.providers], [("openai:gpt-4", 1.0)])
        for bad in ("open ai", "x" * 129):
            with self.subTest(provider=bad[:20]):
                _, details = self.assertRpcError(
                    lambda: self.upsert_legacy("s19_tenant", "test_policy_bad", [(bad, 1.0)]),
                    C.INVALID_ARGUMENT, f"providers[0].name: must match {NAME_PATTERN}",
                    "invalid_policy")
                self.assertEqual((details.violations[0].field, details.violations[0].description),
                                 ("providers[0].name", f"must match {NAME_PATTERN}"))
        self.assertRpcError(lambda: self.get_policy("s19_tenant", "test_policy_bad"),
                            C.NOT_FOUND, not_found("test_policy_bad", "s19_tenant"), "not_found")

    def test_s20_authentication_failures(self):
        # §13.20 / §5.1: one message for every failure, before decoding the body.
        cases = [
            [], [("x-api-key", "wrong-key")], [("x-api-key", "")],
            [("authorization", "Bearer")], [("authorization", "Bearer ")],
            [("authorization", "Bearer  ")],
            [("authorization", ADMIN_KEY)],                       # bare key
            [("authorization", f"Basic {ADMIN_KEY}")],            # other scheme
            [("authorization", f"Bearer{ADMIN_KEY}")],            # no space
            [("x-api-key", ""), ("authorization", f"Bearer {ADMIN_KEY}")],  # x-api-key wins
            [("x-api-key", ADMIN_KEY), ("x-api-key", ADMIN_KEY)],  # repeated
            [("x-api-key", "short")],
            [("x-api-key", ADMIN_KEY + "x")],
            [("x-api-key", ADMIN_KEY[:-1])],
        ]
        # grpcio refuses to send a TAB in a header value ("metadata was invalid"), so
        # `authorization: Bearer\t` goes through the nghttp CLI (HTTP/2 with gRPC framing).
        for value in ("Bearer\t",):
            with self.subTest(authorization=value):
                got = self.router.nghttp_unary(f"/{ADMIN_SERVICE}/GetPolicy", GARBAGE,
                                               [("authorization", value)])
                if got is None:
                    self.skipTest("nghttp (nghttp2-client) not installed")
                self.assertEqual(got, (C.UNAUTHENTICATED.value[0], MSG_AUTH))
        for md in cases:
            for body in (GARBAGE, F.GetPolicyRequest(tenant_id="t", policy_id="p")):
                with self.subTest(metadata=md, garbage=body is GARBAGE):
                    self.assertRpcError(
                        lambda: self.call(f"/{ADMIN_SERVICE}/GetPolicy", body,
                                          F.GetPolicyResponse, md),
                        C.UNAUTHENTICATED, MSG_AUTH, "unauthenticated")
        for method in ADMIN_METHODS:
            with self.subTest(method=method):
                self.assertRpcError(
                    lambda: self.call(f"/{ADMIN_SERVICE}/{method}", GARBAGE, None,
                                      [("x-api-key", "wrong-key")]),
                    C.UNAUTHENTICATED, MSG_AUTH, "unauthenticated")

    def test_s20_accepted_credentials(self):
        # §5.1: x-api-key, or authorization Bearer (scheme case-insensitive, >= 1 space).
        req = F.ListPoliciesRequest(tenant_id="default_tenant")
        for md in ([("x-api-key", ADMIN_KEY)], [("authorization", f"Bearer {ADMIN_KEY}")],
                   [("authorization", f"bearer {ADMIN_KEY}")],
                   [("authorization", f"BEARER   {ADMIN_KEY}")]):
            with self.subTest(metadata=md):
                resp = self.admin("ListPolicies", req, key=None, metadata=md)
                self.assertGreaterEqual(len(resp.policies), 7)

    def test_decode_and_required_fields(self):
        # §5.2 step 2 with a valid key.
        for method in ADMIN_METHODS:
            with self.subTest(method=method):
                self.assertRpcError(
                    lambda: self.call(f"/{ADMIN_SERVICE}/{method}", GARBAGE, None,
                                      [("x-api-key", ADMIN_KEY)]),
                    C.INVALID_ARGUMENT, f"invalid {method}Request", "invalid_request")
        self.assertRpcError(lambda: self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id="t")),
                            C.INVALID_ARGUMENT, "invalid UpsertPolicyRequest: policy is required",
                            "invalid_request")
        self.assertRpcError(lambda: self.admin("GetPolicy", F.GetPolicyRequest(tenant_id="t")),
                            C.INVALID_ARGUMENT, "invalid GetPolicyRequest: policy_id is required")
        self.assertRpcError(
            lambda: self.admin("DeletePolicy", F.DeletePolicyRequest(tenant_id="t")),
            C.INVALID_ARGUMENT, "invalid DeletePolicyRequest: policy_id is required")
        # §5.3 effective tenant.
        self.assertRpcError(lambda: self.admin("ListPolicies", F.ListPoliciesRequest()),
                            C.INVALID_ARGUMENT, MSG_TENANT_EMPTY)
        self.assertRpcError(
            lambda: self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id="a"),
                               metadata=[("x-tenant-id", "b")]),
            C.INVALID_ARGUMENT, "tenant_id mismatch between request and x-tenant-id header")
        self.assertRpcError(lambda: self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id="*")),
                            C.INVALID_ARGUMENT, MSG_TENANT_PATTERN)
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(),
                          metadata=[("x-tenant-id", "default_tenant")])
        self.assertGreaterEqual(len(resp.policies), 7)
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id="default_tenant"),
                          metadata=[("x-tenant-id", "default_tenant")])
        self.assertGreaterEqual(len(resp.policies), 7)
        bad_id = F.AdminPolicy(policy_id="a b", providers=[F.AdminProvider(id="x", weight=1.0)])
        self.assertRpcError(
            lambda: self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id="t", policy=bad_id)),
            C.INVALID_ARGUMENT, "policy_id: must match ^[A-Za-z0-9_.-]{1,255}$")
        empty_id = F.AdminPolicy(policy_id="", providers=[F.AdminProvider(id="x", weight=1.0)])
        self.assertRpcError(
            lambda: self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id="t", policy=empty_id)),
            C.INVALID_ARGUMENT)

    def test_s21_validation_errors(self):
        # §13.21 and POL §1.5 paths / texts, with BadRequest violations.
        cases = [
            (lambda: self.upsert_legacy("s21_tenant", "p", [("openai", 1.5)]),
             "providers[0].weight", "must be between 0.0 and 1.0"),
            (lambda: self.upsert_legacy("s21_tenant", "p", P73, rules=[("", "anthropic", ["x"])]),
             "rules[0].prefer", "unsupported"),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0","providers":'
                                      '[{"name":"a","weight":1.0}],"bogus_key":1}'),
             "bogus_key", "unknown key"),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0","providers":[{"name":'
                                      '"a","weight":1.0}],"circuit_breaker":{"enabled":true,'
                                      '"half_open_max_attempts":3}}'),
             "circuit_breaker.half_open_max_attempts",
             'unknown key (did you mean "half_open_max_calls"?)'),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0","providers":'
                                      '[{"id":"a","weight":1.0}]}'),
             "providers[0].id", 'unknown key (did you mean "name"?)'),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0","providers":'
                                      '[{"name":"a","weight":70},{"name":"b","weight":0.3}]}'),
             "providers[1].weight",
             "mixes integer (0-100) and fractional (0-1) weights; use one scale"),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0","providers":[]}'),
             "providers", "must not be empty"),
            (lambda: self.upsert_json("s21_tenant", "p", '{"version":"2.0","providers":'
                                      '[{"name":"a","weight":1.0}]}'),
             "version", 'unsupported DSL version "2.0"; supported: "1.0"'),
        ]
        for fn, path, text in cases:
            with self.subTest(path=path, text=text):
                _, details = self.assertRpcError(fn, C.INVALID_ARGUMENT, f"{path}: {text}",
                                                 "invalid_policy")
                self.assertTrue(1 <= len(details.violations) <= 20,
                                "BadRequest with 1..20 violations expected")
                self.assertEqual((details.violations[0].field, details.violations[0].description),
                                 (path, text))
        # Root-level missing providers (POL §12.6); the violation's path split is not pinned.
        _, details = self.assertRpcError(
            lambda: self.upsert_json("s21_tenant", "p", '{"version":"1.0"}'), C.INVALID_ARGUMENT,
            'providers: required (or legacy "weights")', "invalid_policy")
        self.assertTrue(details.violations)
        _, details = self.assertRpcError(
            lambda: self.upsert_json("s21_tenant", "p", '{"version":'), C.INVALID_ARGUMENT,
            message_prefix="$: invalid JSON at offset ")
        self.assertRpcError(lambda: self.get_policy("s21_tenant", "p"), C.NOT_FOUND,
                            not_found("p", "s21_tenant"))

    def test_s22_list_get_delete(self):
        # §13.22 / §6.3.
        t = "s22_tenant"
        for pid in ("test_policy_3", "test_policy_1", "test_policy_2"):
            self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id=t))
        self.assertEqual([p.policy_id for p in resp.policies],
                         ["test_policy_1", "test_policy_2", "test_policy_3"])
        for p in resp.policies:
            self.assertEqual(p.version, 1)
            self.assertEqual([(x.id, x.weight) for x in p.providers], P73)
            self.assertTrue(p.policy_json)
        for method, req in (("GetPolicy", F.GetPolicyRequest(tenant_id=t,
                                                             policy_id="non_existent_policy")),
                            ("DeletePolicy", F.DeletePolicyRequest(
                                tenant_id=t, policy_id="non_existent_policy"))):
            with self.subTest(method=method):
                self.assertRpcError(lambda: self.admin(method, req), C.NOT_FOUND,
                                    not_found("non_existent_policy", t), "not_found")
        delete = F.DeletePolicyRequest(tenant_id=t, policy_id="test_policy_2")
        self.assertTrue(self.admin("DeletePolicy", delete).ok)
        self.assertRpcError(lambda: self.admin("DeletePolicy", delete), C.NOT_FOUND,
                            not_found("test_policy_2", t), "not_found")
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id=t))
        self.assertEqual([p.policy_id for p in resp.policies], ["test_policy_1", "test_policy_3"])
        # Another tenant's policy is indistinguishable from none; empty tenant lists nothing.
        self.assertRpcError(lambda: self.get_policy("s22_other", "test_policy_1"), C.NOT_FOUND,
                            not_found("test_policy_1", "s22_other"))
        resp = self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id="s22_empty"))
        self.assertEqual(len(resp.policies), 0)

    def test_s25_legacy_round_trip(self):
        # §13.25 (a), (b): legacy rule round trip and re-upsert unchanged.
        t = "s25_tenant"
        self.assertTrue(self.upsert_legacy(
            t, "legacy", P73, rules=[("status:timeout|5xx", "anthropic", [])]).ok)
        got = self.get_policy(t, "legacy")
        self.assertEqual(got.version, 1)
        self.assertEqual([(p.id, p.weight) for p in got.providers], P73)
        self.assertFalse(got.sticky)
        self.assertEqual([(r.match, list(r.prefer), r.fallback) for r in got.rules],
                         [("status:timeout|5xx", [], "anthropic")])
        self.assertEqual(json.loads(got.policy_json), {
            "version": "1.0",
            "providers": [{"name": "openai", "weight": 0.7}, {"name": "anthropic", "weight": 0.3}],
            "fallbacks": [{"when": {"status": ["timeout", "5xx"]}, "to": "anthropic"}]})
        # Re-upserting the legacy view (policy_json cleared) is unchanged.
        legacy_view = F.AdminPolicy()
        legacy_view.CopyFrom(got)
        legacy_view.policy_json = ""
        legacy_view.version = 0
        self.assertTrue(self.admin("UpsertPolicy", F.UpsertPolicyRequest(
            tenant_id=t, policy=legacy_view)).ok)
        self.assertEqual(self.get_policy(t, "legacy").version, 1)
        # Re-upserting the whole reply (policy_json authoritative, version = current) too.
        self.assertTrue(self.admin("UpsertPolicy", F.UpsertPolicyRequest(tenant_id=t, policy=got)).ok)
        self.assertEqual(self.get_policy(t, "legacy").version, 1)

    def test_s25_canonical_policy_json(self):
        # §13.25 / §6.2: sorted keys, no whitespace, number lexemes kept.
        t = "s25b_tenant"
        doc = ('{ "version" : "1.0",\n  "sticky": {"ttl": "10m", "enabled": true},\n'
               '  "providers": [ {"weight": 0.70, "name": "openai"},'
               ' {"name": "anthropic", "weight": 0.3} ] }')
        self.assertTrue(self.upsert_json(t, "spaced", doc).ok)
        got = self.get_policy(t, "spaced")
        self.assertEqual(got.policy_json,
                         '{"providers":[{"name":"openai","weight":0.70},'
                         '{"name":"anthropic","weight":0.3}],'
                         '"sticky":{"enabled":true,"ttl":"10m"},"version":"1.0"}')
        self.assertEqual(got.version, 1)
        self.assertTrue(got.sticky)
        self.assertEqual([(p.id, p.weight) for p in got.providers], P73)
        self.assertTrue(self.upsert_json(t, "spaced", got.policy_json).ok)
        self.assertEqual(self.get_policy(t, "spaced").version, 1, "canonical re-upsert is a no-op")

    def test_s26_versions(self):
        # §13.26 / §6.4.
        t, pid = "s26_tenant", "versioned"
        self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        self.assertEqual(self.get_policy(t, pid).version, 1)
        self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        self.assertEqual(self.get_policy(t, pid).version, 1, "identical upsert keeps the version")
        self.assertTrue(self.upsert_legacy(t, pid, [("openai", 0.5), ("anthropic", 0.5)]).ok)
        self.assertEqual(self.get_policy(t, pid).version, 2)
        self.assertRpcError(lambda: self.upsert_legacy(t, pid, [("openai", 1.0)], version=1),
                            C.ABORTED, "version conflict: current version is 2", "version_conflict")
        self.assertEqual(self.get_policy(t, pid).version, 2)
        self.assertTrue(self.upsert_legacy(t, pid, [("openai", 0.4), ("anthropic", 0.6)],
                                           version=2).ok)
        self.assertEqual(self.get_policy(t, pid).version, 3)
        self.assertTrue(self.admin("DeletePolicy", F.DeletePolicyRequest(tenant_id=t,
                                                                         policy_id=pid)).ok)
        self.assertTrue(self.upsert_legacy(t, pid, [("openai", 1.0)]).ok)
        self.assertEqual(self.get_policy(t, pid).version, 4, "versions are never reused")
        d = self.decide(t, pid)
        self.assertEqual((d.policy_version, d.metadata["policy_version"]), (4, "4"))
        self.assertRpcError(lambda: self.upsert_legacy(t, "absent", [("openai", 1.0)], version=5),
                            C.ABORTED, "version conflict: current version is 0", "version_conflict")

    def test_s26_versions_exact_scenario(self):
        # §13.26 literally: v1, identical v1, changed v2, delete + re-create v3.
        t, pid = "s26b_tenant", "versioned"
        self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        self.assertEqual(self.get_policy(t, pid).version, 1)
        self.assertTrue(self.upsert_legacy(t, pid, [("openai", 1.0)]).ok)
        self.assertEqual(self.get_policy(t, pid).version, 2)
        self.assertRpcError(lambda: self.upsert_legacy(t, pid, P73, version=1), C.ABORTED,
                            "version conflict: current version is 2")
        self.assertTrue(self.admin("DeletePolicy", F.DeletePolicyRequest(tenant_id=t,
                                                                         policy_id=pid)).ok)
        self.assertTrue(self.upsert_legacy(t, pid, P73).ok)
        self.assertEqual(self.get_policy(t, pid).version, 3)
        d = self.decide(t, pid)
        self.assertEqual((d.policy_version, d.metadata["policy_version"]), (3, "3"))

    def test_s29_checkpoint_and_validators(self):
        # §13.29 / §10.
        st1 = self.admin("GetCheckpointStatus", F.GetCheckpointStatusRequest()).status
        self.assertEqual(st1.current_cp, "CP2-baseline")
        self.assertTrue(st1.cp2_plus_allowed)
        self.assertGreater(st1.updated_at_ms, 1_600_000_000_000)
        self.assertLessEqual(st1.updated_at_ms, int(time.time() * 1000))
        st2 = self.admin("GetCheckpointStatus", F.GetCheckpointStatusRequest()).status
        self.assertEqual(st2.updated_at_ms, st1.updated_at_ms, "updated_at_ms is stable")
        vh = self.admin("GetValidatorsHealth", F.GetValidatorsHealthRequest(tenant_id="ignored"))
        names = [v.name for v in vh.validators]
        self.assertEqual((names[0], vh.validators[0].status), ("grpc_health", "serving"))
        self.assertEqual(names[1:4], ["config", "store", "grpc"])
        self.assertNotIn("nats", names, "NATS is not configured")
        for v in vh.validators:
            self.assertEqual(v.status, "serving", v.name)
            self.assertGreater(v.timestamp_ms, 1_600_000_000_000)
        for method in ("GetCheckpointStatus", "GetValidatorsHealth"):
            with self.subTest(method=method):
                self.assertRpcError(
                    lambda: self.call(f"/{ADMIN_SERVICE}/{method}", b"", None, None),
                    C.UNAUTHENTICATED, MSG_AUTH, "unauthenticated")

    def test_s29_grpc_health(self):
        # §11 / OBS §7.3, with a hand-encoded grpc.health.v1.HealthCheckRequest.
        check = self.router.channel.unary_unary("/grpc.health.v1.Health/Check")
        for service in ("", ROUTER_SERVICE, ADMIN_SERVICE):
            with self.subTest(service=service):
                raw = check(encode_string_field(1, service) if service else b"",
                            timeout=RPC_TIMEOUT_S)
                fields = decode_fields(raw)
                self.assertEqual([(n, v) for n, w, v in fields if n == 1], [(1, 1)],
                                 f"expected SERVING, got {fields}")
        with self.assertRaises(grpc.RpcError) as cm:
            check(encode_string_field(1, "no.such.Service"), timeout=RPC_TIMEOUT_S)
        self.assertEqual(cm.exception.code(), C.NOT_FOUND)

    def test_s29_reflection_lists_services(self):
        # §11: grpc.reflection.v1alpha list_services (ServerReflectionRequest field 7).
        info = self.router.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        responses = list(info(iter([encode_string_field(7, "")]), timeout=RPC_TIMEOUT_S))
        self.assertEqual(len(responses), 1)
        names = []
        for number, _, value in decode_fields(responses[0]):
            if number == 6:  # list_services_response
                for n2, _, service in decode_fields(value):
                    if n2 == 1:
                        names += [v.decode() for n3, _, v in decode_fields(service) if n3 == 1]
        self.assertIn(ROUTER_SERVICE, names)
        self.assertIn(ADMIN_SERVICE, names)
        self.assertIn(ROUTER_SERVICE.encode(), responses[0])
        self.assertIn(ADMIN_SERVICE.encode(), responses[0])

    def test_router_methods_need_no_key(self):
        # §2: Router is unauthenticated; a bogus key changes nothing.
        d = self.decide("default_tenant", metadata=[("x-api-key", "wrong-key")])
        self.assertEqual(d.metadata["policy_id"], "default")
        _, call = self.decide_with_call(F.RouteRequest(message=F.Message(tenant_id="default_tenant")))
        self.assertNotIn("x-idempotent-replay", initial_dict(call))


# ============================================================================ admin disabled


class AdminDisabledTest(RouterTestCase):
    """§13.20: no principal configured -> every admin RPC is UNAUTHENTICATED admin_disabled."""

    ENV = {}

    def test_s20_every_admin_method_disabled(self):
        for method in ADMIN_METHODS:
            for md in (None, [("x-api-key", ADMIN_KEY)], [("authorization", "Bearer x")]):
                with self.subTest(method=method, metadata=md):
                    self.assertRpcError(
                        lambda: self.call(f"/{ADMIN_SERVICE}/{method}", GARBAGE, None, md),
                        C.UNAUTHENTICATED, MSG_ADMIN_DISABLED, "admin_disabled")

    def test_router_still_serves(self):
        self.assertEqual(self.decide("default_tenant").metadata["policy_id"], "default")


# ============================================================================ RBAC


def _sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


OPERATOR_KEY = "operator-key-000001"
VIEWER_KEY = "viewer-key-0000001"
OTHER_ADMIN_KEY = "other-admin-key-001"
MIXED_KEY = "mixed-key-00000001"
HASHED_VIEWER_KEY = "hashed-viewer-key-1"


class RbacTest(RouterTestCase):
    """§13.24 / §5.4: roles per tenant from [[admin.keys]], plus the env admin on `*`."""

    CONFIG = f"""
[[admin.keys]]
principal = "operator1"
key = "{OPERATOR_KEY}"
grants = [{{ tenant = "test_tenant", role = "operator" }}]

[[admin.keys]]
principal = "viewer1"
key = "{VIEWER_KEY}"
grants = [{{ tenant = "test_tenant", role = "viewer" }}]

[[admin.keys]]
principal = "other-admin"
key = "{OTHER_ADMIN_KEY}"
grants = [{{ tenant = "other_tenant", role = "admin" }}]

[[admin.keys]]
principal = "mixed"
key = "{MIXED_KEY}"
grants = [{{ tenant = "*", role = "viewer" }}, {{ tenant = "test_tenant", role = "operator" }}]

[[admin.keys]]
principal = "hashed-viewer"
key_sha256 = "{_sha256(HASHED_VIEWER_KEY)}"
grants = [{{ tenant = "test_tenant", role = "viewer" }}]
"""

    T = "test_tenant"

    def _upsert(self, key, pid, tenant=None):
        return self.upsert_legacy(tenant or self.T, pid, P73, key=key)

    def _get(self, key, pid, tenant=None):
        return self.get_policy(tenant or self.T, pid, key=key)

    def _list(self, key, tenant=None, metadata=()):
        return self.admin("ListPolicies", F.ListPoliciesRequest(tenant_id=tenant or self.T),
                          key=key, metadata=metadata)

    def _delete(self, key, pid, tenant=None):
        return self.admin("DeletePolicy", F.DeletePolicyRequest(tenant_id=tenant or self.T,
                                                                policy_id=pid), key=key)

    def _dry_run(self, key, tenant=None, metadata=()):
        req = F.DryRunRequest(request=F.RouteRequest(
            message=F.Message(tenant_id=tenant or self.T), policy_id="rbac_base"))
        return self.admin("DryRun", req, key=key, metadata=metadata)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def setUp(self):
        # A policy every role can read (idempotent upsert by the env admin).
        self.assertTrue(self._upsert(ADMIN_KEY, "rbac_base").ok)

    def test_s24_admin(self):
        self.assertTrue(self._upsert(ADMIN_KEY, "by_admin").ok)
        self.assertEqual(self._get(ADMIN_KEY, "by_admin").version, 1)
        self.assertIn("by_admin", [p.policy_id for p in self._list(ADMIN_KEY).policies])
        self.assertEqual(self._dry_run(ADMIN_KEY).status_code, 0)
        self.assertTrue(self._delete(ADMIN_KEY, "by_admin").ok)

    def test_s24_operator(self):
        self.assertTrue(self._upsert(OPERATOR_KEY, "by_operator").ok)
        self.assertEqual(self._get(OPERATOR_KEY, "by_operator").version, 1)
        self.assertIn("by_operator", [p.policy_id for p in self._list(OPERATOR_KEY).policies])
        self.assertEqual(self._dry_run(OPERATOR_KEY).status_code, 0)
        self.assertRpcError(lambda: self._delete(OPERATOR_KEY, "by_operator"),
                            C.PERMISSION_DENIED, denied("delete", self.T), "permission_denied")
        self.assertEqual(self._get(ADMIN_KEY, "by_operator").version, 1, "still there")
        # Operator has no role on other tenants.
        self.assertRpcError(lambda: self._list(OPERATOR_KEY, "other_tenant"),
                            C.PERMISSION_DENIED, denied("read", "other_tenant"))

    def test_s24_viewer(self):
        for key in (VIEWER_KEY, HASHED_VIEWER_KEY):
            with self.subTest(key=key):
                self.assertEqual(self._get(key, "rbac_base").policy_id, "rbac_base")
                self.assertIn("rbac_base", [p.policy_id for p in self._list(key).policies])
                resp = self._dry_run(key)
                self.assertEqual(resp.status_code, 0, resp.status_message)
                self.assertRpcError(lambda: self._upsert(key, "by_viewer"), C.PERMISSION_DENIED,
                                    denied("write", self.T), "permission_denied")
                self.assertRpcError(lambda: self._delete(key, "rbac_base"), C.PERMISSION_DENIED,
                                    denied("delete", self.T), "permission_denied")
                # RBAC (step 3) comes before validation (step 5).
                self.assertRpcError(
                    lambda: self.upsert_legacy(self.T, "bad", [("openai", 1.5)], key=key),
                    C.PERMISSION_DENIED, denied("write", self.T))
                # x-user-id grants nothing.
                self.assertRpcError(
                    lambda: self.admin("DeletePolicy", F.DeletePolicyRequest(
                        tenant_id=self.T, policy_id="rbac_base"), key=key,
                        metadata=[("x-user-id", "admin")]),
                    C.PERMISSION_DENIED, denied("delete", self.T))
                # Breaker reset is a write (§2).
                self.assertRpcError(
                    lambda: self.admin("ResetCircuitBreaker", F.ResetCircuitBreakerRequest(
                        tenant_id=self.T, provider_id="openai"), key=key),
                    C.PERMISSION_DENIED, denied("write", self.T))
        self.assertRpcError(lambda: self._get(ADMIN_KEY, "by_viewer"), C.NOT_FOUND,
                            not_found("by_viewer", self.T))

    def test_s24_no_role_on_tenant(self):
        # Admin only on other_tenant -> PERMISSION_DENIED on test_tenant for everything.
        k = OTHER_ADMIN_KEY
        self.assertRpcError(lambda: self._get(k, "rbac_base"), C.PERMISSION_DENIED,
                            denied("read", self.T), "permission_denied")
        self.assertRpcError(lambda: self._list(k), C.PERMISSION_DENIED, denied("read", self.T))
        self.assertRpcError(lambda: self._upsert(k, "x"), C.PERMISSION_DENIED,
                            denied("write", self.T))
        self.assertRpcError(lambda: self._delete(k, "rbac_base"), C.PERMISSION_DENIED,
                            denied("delete", self.T))
        # DryRun checks read on request.message.tenant_id; the header is ignored.
        self.assertRpcError(lambda: self._dry_run(k, metadata=[("x-tenant-id", "other_tenant")]),
                            C.PERMISSION_DENIED, denied("read", self.T))
        # Its own tenant works; tenant errors (step 2) come before RBAC (step 3).
        self.assertTrue(self._upsert(k, "mine", tenant="other_tenant").ok)
        self.assertTrue(self._delete(k, "mine", tenant="other_tenant").ok)
        self.assertRpcError(
            lambda: self._list(k, metadata=[("x-tenant-id", "other_tenant")]),
            C.INVALID_ARGUMENT, "tenant_id mismatch between request and x-tenant-id header")
        # Header fallback selects the tenant for RBAC.
        self.assertRpcError(
            lambda: self.admin("ListPolicies", F.ListPoliciesRequest(), key=k,
                               metadata=[("x-tenant-id", self.T)]),
            C.PERMISSION_DENIED, denied("read", self.T))
        # Any valid key may read checkpoint status and validator health.
        self.assertTrue(self.admin("GetCheckpointStatus", F.GetCheckpointStatusRequest(),
                                   key=k).status.current_cp)
        self.assertEqual(self.admin("GetValidatorsHealth", F.GetValidatorsHealthRequest(),
                                    key=k).validators[0].name, "grpc_health")

    def test_s24_roles_are_a_union(self):
        # viewer on `*` + operator on test_tenant.
        self.assertTrue(self._upsert(MIXED_KEY, "by_mixed").ok)
        self.assertRpcError(lambda: self._delete(MIXED_KEY, "by_mixed"), C.PERMISSION_DENIED,
                            denied("delete", self.T))
        self.assertEqual(len(self._list(MIXED_KEY, "default_tenant").policies), 7)
        self.assertRpcError(lambda: self._upsert(MIXED_KEY, "x", tenant="default_tenant"),
                            C.PERMISSION_DENIED, denied("write", "default_tenant"))

    def test_s24_admin_user_header_changes_nothing(self):
        md = [("x-user-id", "alice@example.com")]
        resp = self.admin("UpsertPolicy", F.UpsertPolicyRequest(
            tenant_id=self.T, policy=F.AdminPolicy(
                policy_id="with_user", providers=[F.AdminProvider(id="openai", weight=1.0)])),
            metadata=md)
        self.assertTrue(resp.ok)
        self.assertTrue(self.admin("DeletePolicy", F.DeletePolicyRequest(
            tenant_id=self.T, policy_id="with_user"), metadata=md).ok)


# ============================================================================ lifecycle


class LifecycleTest(unittest.TestCase):
    """OBS §5 log catalogue and §7.4: startup log lines; SIGTERM drains and exits 0."""

    def test_sigterm_exits_cleanly(self):
        router = RouterProcess("", {}).start()
        try:
            self.assertEqual(router.http_get("/health")[0], 200)
            listening = [r for r in router.log_records() if r.get("event") == "router.listening"]
            self.assertEqual(len(listening), 1)
            self.assertEqual(listening[0]["level"], "INFO")
            self.assertEqual(listening[0]["component"], "router")
            self.assertRegex(listening[0]["timestamp"],
                             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertTrue(router.wait_for_log("router.ready"), "router.ready never logged")
        finally:
            rc = router.stop()
        self.assertEqual(rc, 0, "graceful shutdown exits 0")
        msgs = [r.get("event") for r in router.log_records()]
        self.assertIn("router.starting", msgs)
        self.assertIn("router.shutdown.begin", msgs)
        self.assertIn("router.shutdown.complete", msgs)


if __name__ == "__main__":
    unittest.main()
