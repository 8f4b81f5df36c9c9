"""Router.Decide idempotency from an independent Python (grpcio) client: grpc-api.md §3.7 and
§13 scenario 15. Same `idempotency_key` and request -> the byte-identical RouteDecision with
response header `x-idempotent-replay: true`; a different request -> ALREADY_EXISTS; 8 concurrent
identical calls -> one decision; the replays are counted in router_idempotency_hits_total.

Run with Debian's interpreter:
    ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest discover -s tests/python \
        -p 'test_grpc_idempotency.py' -v
"""

import json
import re
import threading
import unittest
import uuid

import grpc

from gen_stubs import load_protos
from router_fixture import ADMIN_SERVICE, ROUTER_SERVICE, RouterProcess, initial_dict

pb = load_protos()
F = pb.flow

ADMIN_KEY = "py-idem-admin-key-0123456789"
DECIDE = f"/{ROUTER_SERVICE}/Decide"
P73 = {"version": "1.0", "providers": [{"name": "openai", "weight": 0.7},
                                       {"name": "anthropic", "weight": 0.3}]}


class GrpcIdempotencyTest(unittest.TestCase):
    router = None

    @classmethod
    def setUpClass(cls):
        cls.router = RouterProcess("", {"BEAMLINE_ROUTER_ADMIN_API_KEY": ADMIN_KEY}).start()
        policy = F.AdminPolicy(policy_id="idem", policy_json=json.dumps(P73))
        cls.router.unary(f"/{ADMIN_SERVICE}/UpsertPolicy",
                         F.UpsertPolicyRequest(tenant_id="py_idem", policy=policy),
                         F.UpsertPolicyResponse, [("x-api-key", ADMIN_KEY)])

    @classmethod
    def tearDownClass(cls):
        if cls.router is not None:
            cls.router.stop()
            cls.router = None

    def request(self, key, payload=b"hello", message_id="m-1", extra=None):
        context = {"idempotency_key": key, "explain": "true"}
        context.update(extra or {})
        return F.RouteRequest(
            message=F.Message(tenant_id="py_idem", message_id=message_id, payload=payload),
            policy_id="idem", context=context)

    def raw_decide(self, req):
        """(response bytes, replay header present)."""
        body, call = self.router.unary(DECIDE, req)
        return body, initial_dict(call).get("x-idempotent-replay") == ["true"]

    # §13.15: byte-identical replay with the header; message_id is not part of the fingerprint.
    def test_s15_replay_is_byte_identical(self):
        key = "k-" + uuid.uuid4().hex
        first, replay = self.raw_decide(self.request(key))
        self.assertFalse(replay)
        decision = F.RouteDecision.FromString(first)
        self.assertTrue(decision.HasField("explanation"))
        for i in range(3):
            again, replay = self.raw_decide(self.request(key, message_id=f"m-{i + 2}"))
            self.assertTrue(replay)
            self.assertEqual(again, first)

    # §13.15 / §3.1 step 8: different request under the same key.
    def test_s15_different_request_is_already_exists(self):
        key = "k-" + uuid.uuid4().hex
        self.raw_decide(self.request(key, payload=b"a"))
        for other in (self.request(key, payload=b"b"),
                      self.request(key, payload=b"a", extra={"region": "eu"})):
            with self.assertRaises(grpc.RpcError) as ctx:
                self.router.unary(DECIDE, other)
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.ALREADY_EXISTS)
            self.assertEqual(ctx.exception.details(),
                             "idempotency_key reused with a different request")

    # §13.15: 8 concurrent identical calls -> one decision, the other 7 are replays.
    def test_s15_concurrent_identical_calls_make_one_decision(self):
        key = "k-" + uuid.uuid4().hex
        results = [None] * 8
        barrier = threading.Barrier(8)

        def call(i):
            channel = grpc.insecure_channel(f"127.0.0.1:{self.router.grpc_port}")
            try:
                method = channel.unary_unary(DECIDE)
                barrier.wait(timeout=10)
                body, c = method.with_call(self.request(key).SerializeToString(), timeout=10)
                results[i] = (body, initial_dict(c).get("x-idempotent-replay") == ["true"])
            finally:
                channel.close()

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(r is not None for r in results), results)
        self.assertEqual(len({body for body, _ in results}), 1)
        self.assertEqual(sum(1 for _, replay in results if not replay), 1)

    # OBS §2.5: replays and conflicts are counted per transport.
    def test_metrics_count_hits(self):
        key = "k-" + uuid.uuid4().hex
        self.raw_decide(self.request(key))
        self.raw_decide(self.request(key))
        code, text = self.router.http_get("/metrics")
        self.assertEqual(code, 200)
        m = re.search(r'^router_idempotency_hits_total\{transport="grpc"\} (\d+)', text, re.M)
        self.assertIsNotNone(m, "router_idempotency_hits_total{transport=grpc} not exported")
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertRegex(text, r"(?m)^router_idempotency_entries \d+")


if __name__ == "__main__":
    unittest.main()
