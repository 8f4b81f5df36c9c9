"""More Python (grpcio) client tests of the beamline-router admin API.

Pins grpc-api.md §13 scenarios 27 (quota + audit rows), 28 (concurrent upsert/list/delete) and
30 (golden encodings with the predecessor's field numbers; GetAssignment without NATS), and
policy-and-decisions.md §12 scenario 10 (fixtures: an invalid fixture aborts startup; a restart
loads nothing and keeps changed keys). One router per TestCase class; no fixed sleeps.

Run with Debian's interpreter:
    ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest discover -s tests/python -v
"""

import concurrent.futures
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
import threading
import unittest

import grpc

from gen_stubs import load_protos
from router_fixture import (ADMIN_SERVICE, ROUTER_SERVICE, STARTUP_TIMEOUT_S, RouterProcess,
                            decode_fields, decode_status_details, router_binary)

pb = load_protos()
F = pb.flow
C = grpc.StatusCode

ADMIN_KEY = "py-admin-key-more-0123456789"
ADMIN_ENV = {"BEAMLINE_ROUTER_ADMIN_API_KEY": ADMIN_KEY}
DECIDE = f"/{ROUTER_SERVICE}/Decide"
SPEC_DIR = "/work/shared/spec"
EXAMPLES = os.path.join(SPEC_DIR, "examples")


def admin_call(router, method, request, user=None, key=ADMIN_KEY):
    md = [("x-api-key", key)]
    if user is not None:
        md.append(("x-user-id", user))
    resp_cls = getattr(F, f"{method}Response")
    resp, _ = router.unary(f"/{ADMIN_SERVICE}/{method}", request, resp_cls, md)
    return resp


def legacy_policy(policy_id, providers, sticky=False, version=0):
    return F.AdminPolicy(policy_id=policy_id, sticky=sticky, version=version,
                         providers=[F.AdminProvider(id=p, weight=w) for p, w in providers])


def upsert(router, tenant, policy, user=None):
    return admin_call(router, "UpsertPolicy", F.UpsertPolicyRequest(tenant_id=tenant,
                                                                    policy=policy), user)


def get_policy(router, tenant, policy_id):
    return admin_call(router, "GetPolicy",
                      F.GetPolicyRequest(tenant_id=tenant, policy_id=policy_id)).policy


def not_found(policy_id, tenant_id):
    return f'policy "{policy_id}" not found for tenant "{tenant_id}"'


def read_audit(data_dir):
    """All audit_log rows as dicts, read through a read-only sqlite3 connection (POL §10)."""
    db = os.path.join(data_dir, "policies.db")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM audit_log ORDER BY id")]
    finally:
        con.close()


class AdminTestCase(unittest.TestCase):
    CONFIG = ""
    ENV = ADMIN_ENV
    router = None

    @classmethod
    def setUpClass(cls):
        cls.router = RouterProcess(cls.CONFIG, cls.ENV).start()

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            cls.router.stop()
            cls.router = None

    def assertRpcError(self, fn, code, message=None, reason=None):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        err = cm.exception
        self.assertEqual(err.code(), code, f"details: {err.details()!r}")
        if message is not None:
            self.assertEqual(err.details(), message)
        details = decode_status_details(err)
        self.assertIsNotNone(details, "grpc-status-details-bin trailer missing (grpc-api.md §1)")
        self.assertEqual(details.status.code, code.value[0])
        self.assertEqual(details.status.message, err.details())
        self.assertEqual(len(details.error_infos), 1)
        self.assertEqual(details.error_info.domain, "beamline.router")
        if reason is not None:
            self.assertEqual(details.error_info.reason, reason)
        return err, details


# ============================================================================ §13.27 quota


class QuotaAuditTest(AdminTestCase):
    """grpc-api.md §13.27, §5.2 row 4, §5.5; POL §10 (quota on new keys, audit of every attempt)."""

    CONFIG = "[policy_store]\nmax_policies_per_tenant = 2\n"
    T = "s27_tenant"

    def test_s27_quota_and_audit(self):
        user = "alice@example.com"
        self.assertTrue(upsert(self.router, self.T, legacy_policy("q1", [("openai", 1.0)]),
                               user).ok)
        self.assertTrue(upsert(self.router, self.T, legacy_policy("q2", [("openai", 1.0)]),
                               user).ok)
        self.assertRpcError(
            lambda: upsert(self.router, self.T, legacy_policy("q3", [("openai", 1.0)]), user),
            C.RESOURCE_EXHAUSTED,
            f'policy quota exceeded: tenant "{self.T}" has 2 policies (max 2)', "quota_exceeded")
        # Updating an existing key is not subject to the quota.
        self.assertTrue(upsert(self.router, self.T,
                               legacy_policy("q1", [("openai", 0.5), ("anthropic", 0.5)]),
                               user).ok)
        self.assertEqual(get_policy(self.router, self.T, "q1").version, 2)
        self.assertRpcError(lambda: get_policy(self.router, self.T, "q3"), C.NOT_FOUND,
                            not_found("q3", self.T))
        listed = admin_call(self.router, "ListPolicies", F.ListPoliciesRequest(tenant_id=self.T))
        self.assertEqual([p.policy_id for p in listed.policies], ["q1", "q2"])

        rows = [r for r in read_audit(self.router.data_dir) if r["tenant_id"] == self.T]
        summary = [(r["resource"], r["before_version"], r["after_version"], r["result"])
                   for r in rows]
        self.assertEqual(summary, [("policy/q1", 0, 1, "ok"), ("policy/q2", 0, 1, "ok"),
                                   ("policy/q3", 0, 0, "quota_exceeded"),
                                   ("policy/q1", 1, 2, "ok")])
        for r in rows:
            self.assertEqual(r["principal"], "admin")
            self.assertEqual(r["claimed_user"], user)
            self.assertEqual(r["action"], "upsert")
            for value in r.values():  # No key or key digest is ever recorded (§5.5).
                self.assertNotIn(ADMIN_KEY, str(value))

    def test_s27_other_tenant_has_its_own_quota(self):
        t = "s27_other"
        for pid in ("o1", "o2"):
            self.assertTrue(upsert(self.router, t, legacy_policy(pid, [("openai", 1.0)])).ok)
        self.assertRpcError(
            lambda: upsert(self.router, t, legacy_policy("o3", [("openai", 1.0)])),
            C.RESOURCE_EXHAUSTED, f'policy quota exceeded: tenant "{t}" has 2 policies (max 2)',
            "quota_exceeded")


# ============================================================================ §13.28 concurrency


def run_parallel(fns):
    """Runs every fn at once (released together by a barrier); returns results or exceptions."""
    barrier = threading.Barrier(len(fns))

    def wrap(fn):
        barrier.wait(timeout=30)
        try:
            return fn()
        except grpc.RpcError as e:
            return e

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(fns)) as pool:
        futures = [pool.submit(wrap, fn) for fn in fns]
        return [f.result(timeout=60) for f in futures]


class ConcurrencyTest(AdminTestCase):
    """grpc-api.md §13.28: writes are serialized; concurrent callers all get consistent results."""

    ONE = "s28_one"

    def keys(self):
        across = [(f"s28_t{i}", "shared") for i in range(10)]
        one = [(self.ONE, f"p{i:02d}") for i in range(10)]
        return across + one

    def test_s28_parallel_upsert_list_delete(self):
        keys = self.keys()

        def make_upsert(i, tenant, pid):
            weight = (i + 1) / 100.0
            policy = legacy_policy(pid, [("openai", weight), ("anthropic", 1.0 - weight)])
            return lambda: upsert(self.router, tenant, policy)

        results = run_parallel([make_upsert(i, t, p) for i, (t, p) in enumerate(keys)])
        for key, res in zip(keys, results):
            self.assertNotIsInstance(res, grpc.RpcError, f"{key}: {res!r}")
            self.assertTrue(res.ok, key)
        for i, (tenant, pid) in enumerate(keys):
            got = get_policy(self.router, tenant, pid)
            self.assertEqual(got.policy_id, pid)
            self.assertEqual(got.version, 1)
            self.assertEqual([p.id for p in got.providers], ["openai", "anthropic"])
            self.assertAlmostEqual(got.providers[0].weight, (i + 1) / 100.0, places=6)

        lists = run_parallel([
            lambda: admin_call(self.router, "ListPolicies",
                               F.ListPoliciesRequest(tenant_id=self.ONE))] * 5)
        expected_ids = [f"p{i:02d}" for i in range(10)]
        for res in lists:
            self.assertNotIsInstance(res, grpc.RpcError, repr(res))
            self.assertEqual([p.policy_id for p in res.policies], expected_ids)

        def make_delete(tenant, pid):
            req = F.DeletePolicyRequest(tenant_id=tenant, policy_id=pid)
            return lambda: admin_call(self.router, "DeletePolicy", req)

        deletes = [make_delete(t, p) for t, p in keys]
        for key, res in zip(keys, run_parallel(deletes)):
            self.assertNotIsInstance(res, grpc.RpcError, f"{key}: {res!r}")
            self.assertTrue(res.ok, key)
        for (tenant, pid), res in zip(keys, run_parallel(deletes)):
            self.assertIsInstance(res, grpc.RpcError, (tenant, pid))
            self.assertEqual(res.code(), C.NOT_FOUND)
            self.assertEqual(res.details(), not_found(pid, tenant))
        for tenant, pid in keys:
            self.assertRpcError(lambda: get_policy(self.router, tenant, pid), C.NOT_FOUND,
                                not_found(pid, tenant), "not_found")
        listed = admin_call(self.router, "ListPolicies", F.ListPoliciesRequest(tenant_id=self.ONE))
        self.assertEqual(len(listed.policies), 0)


# ============================================================================ §13.30 wire


def _key(number, wire):
    return _varint((number << 3) | wire)


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def f_bytes(number, data):
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return _key(number, 2) + _varint(len(data)) + data


def f_varint(number, value):
    return _key(number, 0) + _varint(value)


def f_double(number, value):
    return _key(number, 1) + struct.pack("<d", value)


def f_map_entry(number, key, value):
    return f_bytes(number, f_bytes(1, key) + f_bytes(2, value))


# Predecessor field numbers: Message{message_id=1, tenant_id=2, trace_id=3, message_type=4,
# payload=5, metadata=6 map, timestamp_ms=7}; RouteRequest{message=1, policy_id=2, context=3 map}.
GOLDEN_MESSAGE = (f_bytes(1, "msg-30") + f_bytes(2, "default_tenant") + f_bytes(3, "trace-30")
                  + f_bytes(4, "chat") + f_bytes(5, b"\x00\x01\xffpayload")
                  + f_map_entry(6, "origin", "py") + f_map_entry(6, "lang", "en")
                  + f_varint(7, 1700000000123))
GOLDEN_ROUTE_REQUEST = (f_bytes(1, GOLDEN_MESSAGE) + f_bytes(2, "default")
                        + f_map_entry(3, "user_id", "u-30") + f_map_entry(3, "region", "eu"))

# AdminPolicy{policy_id=1, providers=2 {id=1, weight=2 double}, sticky=3,
# rules=4 {match=1, prefer=2, fallback=3}}.
GOLDEN_ADMIN_POLICY = (f_bytes(1, "s30_policy")
                       + f_bytes(2, f_bytes(1, "openai") + f_double(2, 0.7))
                       + f_bytes(2, f_bytes(1, "anthropic") + f_double(2, 0.3))
                       + f_varint(3, 1)
                       + f_bytes(4, f_bytes(1, "status:timeout") + f_bytes(3, "anthropic")))
GOLDEN_ADMIN_POLICY_WITH_PREFER = (
    GOLDEN_ADMIN_POLICY + f_bytes(4, f_bytes(1, "") + f_bytes(2, "x") + f_bytes(2, "y")
                                  + f_bytes(3, "")))


class WireCompatTest(AdminTestCase):
    """grpc-api.md §13.30 and §1 (nothing renumbered); §9 GetAssignment without NATS."""

    def test_s30_route_request_golden_decodes_identically(self):
        parsed = F.RouteRequest()
        parsed.ParseFromString(GOLDEN_ROUTE_REQUEST)
        expected = F.RouteRequest(
            message=F.Message(message_id="msg-30", tenant_id="default_tenant",
                              trace_id="trace-30", message_type="chat",
                              payload=b"\x00\x01\xffpayload",
                              metadata={"origin": "py", "lang": "en"},
                              timestamp_ms=1700000000123),
            policy_id="default", context={"user_id": "u-30", "region": "eu"})
        self.assertEqual(parsed, expected)
        m = parsed.message
        self.assertEqual((m.message_id, m.tenant_id, m.trace_id, m.message_type),
                         ("msg-30", "default_tenant", "trace-30", "chat"))
        self.assertEqual(m.payload, b"\x00\x01\xffpayload")
        self.assertEqual(dict(m.metadata), {"origin": "py", "lang": "en"})
        self.assertEqual(m.timestamp_ms, 1700000000123)
        self.assertEqual(parsed.policy_id, "default")
        self.assertEqual(dict(parsed.context), {"user_id": "u-30", "region": "eu"})
        # And the generated class re-encodes to something the golden decoder agrees with.
        self.assertEqual(F.RouteRequest.FromString(expected.SerializeToString()), parsed)
        self.assertEqual(len(parsed.ListFields()), 3)

    def test_s30_admin_policy_golden_decodes_identically(self):
        parsed = F.AdminPolicy.FromString(GOLDEN_ADMIN_POLICY_WITH_PREFER)
        expected = F.AdminPolicy(
            policy_id="s30_policy", sticky=True,
            providers=[F.AdminProvider(id="openai", weight=0.7),
                       F.AdminProvider(id="anthropic", weight=0.3)],
            rules=[F.AdminRule(match="status:timeout", fallback="anthropic"),
                   F.AdminRule(match="", prefer=["x", "y"], fallback="")])
        self.assertEqual(parsed, expected)
        self.assertEqual([(p.id, p.weight) for p in parsed.providers],
                         [("openai", 0.7), ("anthropic", 0.3)])
        self.assertTrue(parsed.sticky)
        self.assertEqual([(r.match, list(r.prefer), r.fallback) for r in parsed.rules],
                         [("status:timeout", [], "anthropic"), ("", ["x", "y"], "")])
        self.assertEqual(parsed.policy_json, "")
        self.assertEqual(parsed.version, 0)
        # Generated encoding of the prefer-free policy is byte-identical to the golden one
        # (fields in number order, no packed/unknown surprises).
        self.assertEqual(F.AdminPolicy.FromString(GOLDEN_ADMIN_POLICY).SerializeToString(),
                         GOLDEN_ADMIN_POLICY)

    def test_s30_hand_encoded_route_request_decides(self):
        resp, _ = self.router.unary(DECIDE, GOLDEN_ROUTE_REQUEST, None)
        fields = {}
        for number, _wire, value in decode_fields(resp):
            fields.setdefault(number, []).append(value)
        decision = F.RouteDecision.FromString(resp)
        # Predecessor RouteDecision numbers: provider_id=1, reason=2, priority=3.
        self.assertEqual(fields[1], [decision.provider_id.encode()])
        self.assertEqual(fields[2], [decision.reason.encode()])
        self.assertIn(decision.provider_id, {"openai", "anthropic", "mistral"})
        self.assertIn(decision.reason, {"weighted", "sticky"})
        self.assertEqual(decision.metadata["tenant_id"], "default_tenant")
        self.assertEqual(decision.metadata["policy_id"], "default")
        self.assertEqual(decision.metadata["region"], "eu")
        # The fixture policy is sticky on user_id: the same golden request sticks.
        again = F.RouteDecision.FromString(self.router.unary(DECIDE, GOLDEN_ROUTE_REQUEST)[0])
        self.assertEqual(again.provider_id, decision.provider_id)
        self.assertEqual((again.reason, again.priority), ("sticky", 100))

    def test_s30_hand_encoded_admin_policy_upserts(self):
        body = f_bytes(1, "s30_tenant") + f_bytes(2, GOLDEN_ADMIN_POLICY)
        resp, _ = self.router.unary(f"/{ADMIN_SERVICE}/UpsertPolicy", body,
                                    F.UpsertPolicyResponse, [("x-api-key", ADMIN_KEY)])
        self.assertTrue(resp.ok)
        got = get_policy(self.router, "s30_tenant", "s30_policy")
        self.assertEqual([(p.id, p.weight) for p in got.providers],
                         [("openai", 0.7), ("anthropic", 0.3)])
        self.assertTrue(got.sticky)
        self.assertEqual([(r.match, r.fallback) for r in got.rules],
                         [("status:timeout", "anthropic")])
        self.assertEqual(got.version, 1)

    def test_s30_get_assignment_without_nats(self):
        msg = "assignment tracking disabled: NATS is not configured"
        for req in (F.GetAssignmentRequest(tenant_id="default_tenant", assignment_id="a-1"),
                    F.GetAssignmentRequest(tenant_id="default_tenant", request_id="r-1")):
            with self.subTest(req=str(req)):
                self.assertRpcError(lambda: admin_call(self.router, "GetAssignment", req),
                                    C.FAILED_PRECONDITION, msg, "assignments_disabled")


# ============================================================================ POL §12.10 fixtures


def write_fixture(root, tenant, policy_id, src_path):
    os.makedirs(os.path.join(root, tenant), exist_ok=True)
    shutil.copyfile(src_path, os.path.join(root, tenant, f"{policy_id}.json"))


def fixtures_config(fixtures_dir):
    return f'[policy_store]\nfixtures_dir = "{fixtures_dir}"\n'


class InvalidFixtureTest(unittest.TestCase):
    """POL §12.10 first half: an invalid fixture aborts startup with `<file>: <path>: <text>`,
    exit code 1 (configuration.md exit codes)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="router-py-badfix-")
        fixtures = os.path.join(cls.tmp, "fixtures")
        write_fixture(fixtures, "t1", "p1",
                      os.path.join(EXAMPLES, "invalid", "weight_out_of_range.json"))
        config = os.path.join(cls.tmp, "router.toml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(fixtures_config(fixtures))
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEAMLINE_ROUTER_")}
        env.update(ADMIN_ENV)
        args = [router_binary(), "--config", config, "--grpc-listen", "127.0.0.1:0",
                "--http-listen", "127.0.0.1:0", "--data-dir", os.path.join(cls.tmp, "data")]
        try:
            cls.result = subprocess.run(args, cwd=cls.tmp, env=env, stdin=subprocess.DEVNULL,
                                        capture_output=True, timeout=STARTUP_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:  # process killed by subprocess.run
            cls.result = e

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def output(self):
        r = self.result
        return ((r.stdout or b"") + b"\n" + (r.stderr or b"")).decode("utf-8", "replace")

    def test_pol10_invalid_fixture_exits_1(self):
        self.assertIsInstance(self.result, subprocess.CompletedProcess,
                              f"router did not exit: {self.output()[-2000:]}")
        self.assertEqual(self.result.returncode, 1, self.output()[-2000:])

    def test_pol10_invalid_fixture_message(self):
        self.assertIn("p1.json: providers[1].weight: must be between 0 and 100", self.output())


class FixtureRestartTest(unittest.TestCase):
    """POL §12.10 second half and grpc-api.md §6.3/§6.4: fixtures load once at version 1 by
    `system:fixtures`; on a restart a changed key keeps its version, a deleted one stays deleted,
    and nothing is reloaded."""

    FIXTURES = (("fa", "p1", "default.json"), ("fa", "p2", "legacy_format.json"),
                ("fb", "p3", "rate_limited.json"))
    router = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="router-py-fix-")
        cls.data_dir = os.path.join(cls.tmp, "data")
        fixtures = os.path.join(cls.tmp, "fixtures")
        for tenant, pid, src in cls.FIXTURES:
            write_fixture(fixtures, tenant, pid, os.path.join(EXAMPLES, src))
        config = fixtures_config(fixtures)
        try:
            first = RouterProcess(config, ADMIN_ENV, data_dir=cls.data_dir)
            with first:
                cls.first_versions = {(t, p): get_policy(first, t, p).version
                                      for t, p, _ in cls.FIXTURES}
                cls.first_json = {(t, p): get_policy(first, t, p).policy_json
                                  for t, p, _ in cls.FIXTURES}
                changed = legacy_policy("p1", [("openai", 0.25), ("mistral", 0.75)])
                cls.changed_ok = upsert(first, "fa", changed, "carol").ok
                cls.changed = get_policy(first, "fa", "p1")
                cls.deleted_ok = admin_call(first, "DeletePolicy", F.DeletePolicyRequest(
                    tenant_id="fb", policy_id="p3")).ok
            cls.audit_after_first = read_audit(cls.data_dir)
            cls.router = RouterProcess(config, ADMIN_ENV, data_dir=cls.data_dir).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            cls.router.stop()
            cls.router = None
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_first_start_loads_fixtures_at_version_1(self):
        self.assertEqual(set(self.first_versions.values()), {1})
        loads = [r for r in self.audit_after_first if r["action"] == "fixture_load"]
        self.assertEqual(sorted((r["tenant_id"], r["resource"]) for r in loads),
                         [("fa", "policy/p1"), ("fa", "policy/p2"), ("fb", "policy/p3")])
        for r in loads:
            self.assertEqual((r["principal"], r["before_version"], r["after_version"]),
                             ("system:fixtures", 0, 1))
        self.assertTrue(self.changed_ok)
        self.assertTrue(self.deleted_ok)
        self.assertEqual(self.changed.version, 2)

    def test_changed_key_keeps_changed_version_after_restart(self):
        got = get_policy(self.router, "fa", "p1")
        self.assertEqual(got.version, 2)
        self.assertEqual(got.policy_json, self.changed.policy_json)
        self.assertEqual([(p.id, p.weight) for p in got.providers],
                         [("openai", 0.25), ("mistral", 0.75)])
        self.assertNotEqual(got.policy_json, self.first_json[("fa", "p1")])

    def test_untouched_fixture_unchanged_after_restart(self):
        got = get_policy(self.router, "fa", "p2")
        self.assertEqual(got.version, 1)
        self.assertEqual(got.policy_json, self.first_json[("fa", "p2")])

    def test_deleted_fixture_stays_deleted(self):
        with self.assertRaises(grpc.RpcError) as cm:
            get_policy(self.router, "fb", "p3")
        self.assertEqual(cm.exception.code(), C.NOT_FOUND)
        self.assertEqual(cm.exception.details(), not_found("p3", "fb"))

    def test_second_start_loads_nothing(self):
        rows = read_audit(self.data_dir)
        self.assertEqual(rows, self.audit_after_first,
                         "the second start must not write audit rows (no fixture reload)")
        listed = admin_call(self.router, "ListPolicies", F.ListPoliciesRequest(tenant_id="fa"))
        self.assertEqual([(p.policy_id, p.version) for p in listed.policies],
                         [("p1", 2), ("p2", 1)])


if __name__ == "__main__":
    unittest.main()
