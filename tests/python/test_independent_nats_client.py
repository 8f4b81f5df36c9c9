"""Independent NATS client acceptance test: nats-contracts.md §12 scenario 30.

A client that is not built on cnats (tests/python/nats_raw_client.py: the NATS text protocol over
a plain socket, Python standard library only) sends one decide with `push_assignment: true` to
a running router (the real binary) connected to a real `nats-server -js`, gets `ok: true`, and
reads the matching ExecAssignment back from the `CAF_ASSIGNMENTS` stream through the JetStream
API (`$JS.API.STREAM.MSG.GET.CAF_ASSIGNMENTS`), checking `Nats-Msg-Id == assignment_id` and the
§3.4 body. Also pins scenario 11 over the raw client (same idempotency key and payload twice ->
same decision and assignment, `replayed: true`, one stream message).

nats-server is started like the C++ harness does (`-js -p -1 --ports_file_dir <tmp>`, its port
read from `nats-server_<pid>.ports`); the test is skipped when no `nats-server` binary exists.

Run with Debian's interpreter:
    ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest discover -s tests/python \
        -p 'test_independent_nats_client.py' -v
"""

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

import grpc

from gen_stubs import load_protos
from nats_raw_client import NatsError, NatsRawClient
from router_fixture import ADMIN_SERVICE, RouterProcess

pb = load_protos()
F = pb.flow

ADMIN_KEY = "py-nats-admin-key-0123456789"
DECIDE_SUBJECT = "beamline.router.v1.decide"
ASSIGN_SUBJECT = "caf.exec.assign.v1"
STREAM = "CAF_ASSIGNMENTS"
P7030 = {"version": "1.0", "providers": [
    {"name": "p1", "weight": 70, "expected_latency_ms": 840, "cost": 0.0031},
    {"name": "p2", "weight": 30}]}
UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STARTUP_TIMEOUT_S = 20.0


class NatsServer:
    """`nats-server -js` on an ephemeral port with a temporary store."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="nats-py-")
        self.proc = None
        self.port = None
        self._log = None

    def start(self):
        binary = shutil.which("nats-server")
        ports_dir = os.path.join(self.tmp, "ports")
        os.makedirs(ports_dir)
        self._log = open(os.path.join(self.tmp, "nats.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "-a", "127.0.0.1", "-p", "-1", "--ports_file_dir", ports_dir, "-js", "-sd",
             os.path.join(self.tmp, "js")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)
        ports_file = os.path.join(ports_dir, f"nats-server_{self.proc.pid}.ports")
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.proc.returncode}")
            try:
                with open(ports_file, encoding="utf-8") as f:
                    ports = json.load(f)
                url = ports["nats"][0]
                self.port = int(url.rsplit(":", 1)[1])
                return self
            except (OSError, ValueError, KeyError, IndexError):
                time.sleep(0.02)  # deadline poll for the ports file
        raise RuntimeError("nats-server ports file did not appear")

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        shutil.rmtree(self.tmp, ignore_errors=True)


@unittest.skipIf(shutil.which("nats-server") is None, "nats-server not installed")
class IndependentNatsClientTest(unittest.TestCase):
    nats = None
    router = None
    client = None

    @classmethod
    def setUpClass(cls):
        cls.nats = NatsServer().start()
        config = f'[nats]\nurl = "{cls.nats.url}"\n'
        try:
            cls.router = RouterProcess(config, {"BEAMLINE_ROUTER_ADMIN_API_KEY": ADMIN_KEY}).start()
            policy = F.AdminPolicy(policy_id="default", policy_json=json.dumps(P7030))
            cls.router.unary(f"/{ADMIN_SERVICE}/UpsertPolicy",
                             F.UpsertPolicyRequest(tenant_id="acme", policy=policy),
                             F.UpsertPolicyResponse, [("x-api-key", ADMIN_KEY)])
            cls.client = NatsRawClient("127.0.0.1", cls.nats.port)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.client is not None:
            cls.client.close()
            cls.client = None
        if cls.router is not None:
            cls.router.stop()
            cls.router = None
        if cls.nats is not None:
            cls.nats.stop()
            cls.nats = None

    def decide(self, body, timeout=8.0):
        reply = self.client.request(DECIDE_SUBJECT, json.dumps(body), timeout=timeout)
        return reply.json()

    def request_body(self, **extra):
        body = {"version": "1", "request_id": "py-" + uuid.uuid4().hex[:12], "tenant_id": "acme",
                "task": {"type": "chat.completion", "payload": {"prompt": "Summarise ticket 4711"}},
                "metadata": {"channel": "py-raw"}, "push_assignment": True}
        body.update(extra)
        return body

    def find_assignment(self, assignment_id):
        """The stream message whose Nats-Msg-Id is `assignment_id` (last by subject first, then
        a scan by sequence), or None."""
        try:
            subj, seq, headers, data = self.client.js_msg_get(STREAM, last_by_subj=ASSIGN_SUBJECT)
            if headers.get("Nats-Msg-Id") == assignment_id:
                return subj, seq, headers, data
        except NatsError:
            pass
        state = self.client.js_stream_info(STREAM)["state"]
        for seq in range(state.get("first_seq", 1), state.get("last_seq", 0) + 1):
            try:
                found = self.client.js_msg_get(STREAM, seq=seq)
            except NatsError:
                continue
            if found[2].get("Nats-Msg-Id") == assignment_id:
                return found
        return None

    def stream_ids(self):
        state = self.client.js_stream_info(STREAM)["state"]
        ids = []
        for seq in range(state.get("first_seq", 1), state.get("last_seq", 0) + 1):
            try:
                ids.append(self.client.js_msg_get(STREAM, seq=seq)[2].get("Nats-Msg-Id"))
            except NatsError:
                continue
        return ids

    def assertPushingDecideOk(self, resp):
        if not resp.get("ok") and resp.get("error", {}).get("code") == "unavailable" and \
                resp["error"].get("details", {}).get("reason") != "assignment_not_persisted":
            self.skipTest("assignment publishing (H1: NATS decide flow + assignment outbox) has "
                          f"not landed in this build: {resp}")
        self.assertTrue(resp.get("ok"), resp)

    # §12.30: one decide from an independent client, then its ExecAssignment from the stream.
    def test_s30_decide_and_read_assignment(self):
        body = self.request_body(trace_id="tr-python-raw")
        resp = self.decide(body)
        self.assertPushingDecideOk(resp)
        self.assertIn(resp["decision"]["provider_id"], ("p1", "p2"))
        self.assertEqual(resp["context"]["request_id"], body["request_id"])
        meta = resp["decision"]["metadata"]
        self.assertEqual(meta["tenant_id"], "acme")
        self.assertEqual(meta["policy_id"], "default")
        self.assertEqual(meta["decision_id"], resp["decision"]["decision_id"])
        assignment = resp["assignment"]
        self.assertEqual(assignment["status"], "published", resp)
        assignment_id = assignment["assignment_id"]
        self.assertRegex(assignment_id, UUID_V4)

        found = self.find_assignment(assignment_id)
        self.assertIsNotNone(found, f"no stream message with Nats-Msg-Id {assignment_id}")
        subject, _, headers, data = found
        self.assertEqual(subject, ASSIGN_SUBJECT)
        self.assertEqual(headers.get("Nats-Msg-Id"), assignment_id)
        self.assertEqual(headers.get("tenant_id"), "acme")
        self.assertEqual(headers.get("request_id"), body["request_id"])
        self.assertEqual(headers.get("trace_id"), "tr-python-raw")
        self.assertRegex(headers.get("traceparent", ""), r"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$")
        exec_assignment = json.loads(data)
        self.assertEqual(exec_assignment["version"], "1")
        self.assertEqual(exec_assignment["assignment_id"], assignment_id)
        self.assertEqual(exec_assignment["request_id"], body["request_id"])
        self.assertEqual(exec_assignment["tenant_id"], "acme")
        self.assertEqual(exec_assignment["decision_id"], resp["decision"]["decision_id"])
        self.assertEqual(exec_assignment["executor"],
                         {"provider_id": resp["decision"]["provider_id"], "channel": "nats"})
        self.assertEqual(exec_assignment["job"], body["task"])
        self.assertEqual(exec_assignment["metadata"], body["metadata"])
        self.assertEqual(exec_assignment["correlation"]["trace_id"], "tr-python-raw")

    # §12.11 over the independent client: same key and payload -> same decision and
    # assignment, replayed, one stream message; a different task -> IDEMPOTENCY_VIOLATION.
    def test_s11_idempotent_replay(self):
        key = "py-idem-" + uuid.uuid4().hex[:8]
        first = self.decide(self.request_body(idempotency_key=key))
        self.assertPushingDecideOk(first)
        second = self.decide(self.request_body(idempotency_key=key))
        self.assertTrue(second.get("ok"), second)
        self.assertEqual(second["decision"]["decision_id"], first["decision"]["decision_id"])
        self.assertEqual(second["assignment"]["assignment_id"],
                         first["assignment"]["assignment_id"])
        self.assertTrue(second["context"].get("replayed"))
        self.assertNotEqual(second["context"]["request_id"], first["context"]["request_id"])
        self.assertEqual(self.stream_ids().count(first["assignment"]["assignment_id"]), 1)

        other = self.request_body(idempotency_key=key)
        other["task"] = {"type": "chat.completion", "payload": {"prompt": "something else"}}
        violation = self.decide(other)
        self.assertFalse(violation["ok"], violation)
        self.assertEqual(violation["error"]["code"], "invalid_request")
        self.assertEqual(violation["error"].get("intake_error_code"), "IDEMPOTENCY_VIOLATION")
        self.assertNotIn("assignment", violation)

    # grpc-api §9 / §13.30: GetAssignment reads the correlation record (tenant-scoped); another
    # tenant's assignment and an unknown id are NOT_FOUND `assignment not found`.
    def test_get_assignment_tenant_scoped(self):
        body = self.request_body()
        resp = self.decide(body)
        self.assertPushingDecideOk(resp)
        assignment_id = resp["assignment"]["assignment_id"]
        md = [("x-api-key", ADMIN_KEY)]
        path = f"/{ADMIN_SERVICE}/GetAssignment"
        got, _ = self.router.unary(path, F.GetAssignmentRequest(
            tenant_id="acme", assignment_id=assignment_id), F.GetAssignmentResponse, md)
        a = got.assignment
        self.assertEqual(a.assignment_id, assignment_id)
        self.assertEqual(a.request_id, body["request_id"])
        self.assertEqual(a.tenant_id, "acme")
        self.assertEqual(a.policy_id, "default")
        self.assertEqual(a.provider_id, resp["decision"]["provider_id"])
        self.assertEqual(a.decision_id, resp["decision"]["decision_id"])
        self.assertEqual(a.subject, ASSIGN_SUBJECT)
        self.assertIn(a.state, ("published", "acked", "completed"))
        self.assertEqual(a.publish_fate, "published")
        self.assertGreater(a.stream_seq, 0)
        self.assertGreater(a.created_at_ms, 0)
        by_request, _ = self.router.unary(path, F.GetAssignmentRequest(
            tenant_id="acme", request_id=body["request_id"]), F.GetAssignmentResponse, md)
        self.assertEqual(by_request.assignment.assignment_id, assignment_id)
        for req in (F.GetAssignmentRequest(tenant_id="beta", assignment_id=assignment_id),
                    F.GetAssignmentRequest(tenant_id="acme",
                                           assignment_id=str(uuid.uuid4()))):
            with self.assertRaises(grpc.RpcError) as ctx:
                self.router.unary(path, req, F.GetAssignmentResponse, md)
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)
            self.assertEqual(ctx.exception.details(), "assignment not found")


@unittest.skipIf(shutil.which("nats-server") is None, "nats-server not installed")
class AssignmentLookupAcrossReplicasTest(unittest.TestCase):
    """§12.28 (lookup part) / §3.9 S10: GetAssignment on any replica finds any record; only the
    owning replica answers the S10 lookup."""

    def setUp(self):
        self.nats = NatsServer().start()
        self.routers = []
        self.client = None
        try:
            config = f'node_id = "{{}}"\n[nats]\nurl = "{self.nats.url}"\n'
            for name in ("router-a", "router-b"):
                r = RouterProcess(config.format(name),
                                  {"BEAMLINE_ROUTER_ADMIN_API_KEY": ADMIN_KEY}).start()
                self.routers.append(r)
                policy = F.AdminPolicy(policy_id="default", policy_json=json.dumps(P7030))
                r.unary(f"/{ADMIN_SERVICE}/UpsertPolicy",
                        F.UpsertPolicyRequest(tenant_id="acme", policy=policy),
                        F.UpsertPolicyResponse, [("x-api-key", ADMIN_KEY)])
            self.client = NatsRawClient("127.0.0.1", self.nats.port)
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        if self.client is not None:
            self.client.close()
        for r in self.routers:
            r.stop()
        self.nats.stop()

    @staticmethod
    def correlation_entries(router):
        code, text = router.http_get("/metrics")
        m = re.search(r"(?m)^router_correlation_entries (\S+)", text) if code == 200 else None
        return int(float(m.group(1))) if m else 0

    def test_s28_get_assignment_on_every_replica(self):
        md = [("x-api-key", ADMIN_KEY)]
        path = f"/{ADMIN_SERVICE}/GetAssignment"
        decided = []  # (request body, assignment_id)
        # Decide until each replica owns at least one record (the queue group spreads them;
        # router_correlation_entries tells who holds how many), at most 40 decides.
        for i in range(40):
            body = {"version": "1", "request_id": f"s10-{i}-" + uuid.uuid4().hex[:8],
                    "tenant_id": "acme", "task": {"type": "t", "payload": {"prompt": "x" * 16}},
                    "push_assignment": True}
            resp = json.loads(self.client.request(DECIDE_SUBJECT, json.dumps(body),
                                                  timeout=8.0).data)
            if not resp.get("ok"):
                self.skipTest(f"pushing decides not available in this build: {resp}")
            decided.append((body, resp["assignment"]["assignment_id"]))
            if i >= 3 and all(self.correlation_entries(r) > 0 for r in self.routers):
                break
        self.assertTrue(all(self.correlation_entries(r) > 0 for r in self.routers),
                        "every decide landed on one replica")
        self.assertEqual(sum(self.correlation_entries(r) for r in self.routers), len(decided))
        for body, assignment_id in decided:
            for r in self.routers:
                got, _ = r.unary(path, F.GetAssignmentRequest(
                    tenant_id="acme", assignment_id=assignment_id), F.GetAssignmentResponse, md)
                self.assertEqual(got.assignment.assignment_id, assignment_id)
                self.assertEqual(got.assignment.request_id, body["request_id"])
                by_request, _ = r.unary(path, F.GetAssignmentRequest(
                    tenant_id="acme", request_id=body["request_id"]),
                    F.GetAssignmentResponse, md)
                self.assertEqual(by_request.assignment.assignment_id, assignment_id)
                with self.assertRaises(grpc.RpcError) as ctx:
                    r.unary(path, F.GetAssignmentRequest(tenant_id="beta",
                                                         assignment_id=assignment_id),
                            F.GetAssignmentResponse, md)
                self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)

        # The raw S10 request: exactly one replica answers (the owner), within the deadline.
        inbox = "_INBOX.s10test"
        sid, q = self.client.subscribe(inbox)
        self.client.flush()
        self.client.publish("beamline.router.v1.internal.assignment.get",
                            json.dumps({"tenant_id": "acme", "assignment_id": assignment_id}),
                            reply=inbox)
        first = q.get(timeout=5.0)
        record = json.loads(first.data)
        self.assertEqual(record["assignment_id"], assignment_id)
        self.assertEqual(record["tenant_id"], "acme")
        self.assertIn(record["state"], ("published", "acked", "completed"))
        self.assertRaises(queue.Empty, q.get, timeout=0.3)  # no second answer
        self.client.unsubscribe(sid)


if __name__ == "__main__":
    unittest.main()
