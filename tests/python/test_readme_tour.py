"""The README's "5-minute tour" run as written (issue #2 acceptance: "the README tour works as
written"; issue #4: decide over NATS with the same decision service).

The shell block under "## A 5-minute tour" in README.md is extracted and run by bash against a
real router (the built binary, admin key of config/local.toml) connected to a real
`nats-server -js`, both on free loopback ports. The only rewrites are the ones a reader's machine
does not need: the router's HTTP port (README: 127.0.0.1:9001) and the scratch files under /tmp
go to this test's own ports and temp dir; `beamline-routerctl` finds the router and NATS through
BEAMLINE_ROUTER_ADDR / BEAMLINE_ROUTER_NATS_URL. The test then checks the outputs the README's
comments promise, in order.

Run with Debian's interpreter:
    ROUTER_BIN=build/beamline-router /usr/bin/python3 -m unittest discover -s tests/python \\
        -p 'test_readme_tour.py' -v
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from gen_stubs import REPO_ROOT
from router_fixture import RouterProcess, router_binary
from test_independent_nats_client import NatsServer

LOCAL_CONFIG_KEYS = """
[[admin.keys]]
principal = "local"
key = "local-admin-key-0123456789"
grants = [{ tenant = "*", role = "admin" }]
"""


def tour_block():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## A 5-minute tour", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    if match is None:
        raise AssertionError("README.md: no ```sh block under '## A 5-minute tour'")
    return match.group(1)


@unittest.skipIf(shutil.which("nats-server") is None, "nats-server not installed")
class ReadmeTourTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="readme-tour-")
        self.nats = NatsServer().start()
        self.router = None
        try:
            config = LOCAL_CONFIG_KEYS + f'\n[nats]\nurl = "{self.nats.url}"\n'
            self.router = RouterProcess(config).start()
        except BaseException:
            self.tearDown()
            raise

    def tearDown(self):
        if self.router is not None:
            self.router.stop()
        self.nats.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_tour(self):
        script = tour_block()
        # The README's scratch files first: the build dir may itself live under /tmp.
        script = script.replace("/tmp/", self.tmp + "/")
        build_dir = os.path.dirname(router_binary())
        script = script.replace("$PWD/build", build_dir)
        script = script.replace("127.0.0.1:9001", f"127.0.0.1:{self.router.http_port}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEAMLINE_ROUTER_")}
        env["BEAMLINE_ROUTER_ADDR"] = f"127.0.0.1:{self.router.grpc_port}"
        env["BEAMLINE_ROUTER_NATS_URL"] = self.nats.url
        # No `set -e`: step 5 is meant to fail; stderr is merged so the error line is in order.
        proc = subprocess.run(["bash", "-c", script], cwd=str(REPO_ROOT), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        return proc.stdout.decode("utf-8", "replace")

    def test_tour_works_as_written(self):
        out = self.run_tour()
        expectations = [
            # 1. weighted first, then sticky for the same user_id
            r"provider_id: (openai|anthropic)\nreason: weighted",
            r"explanation\.step: ",
            r"provider_id: (openai|anthropic)\nreason: sticky",
            # 2. re-decision after a timeout on openai: the fallback rule moves on to anthropic
            r"provider_id: anthropic\nreason: fallback\npriority: 25",
            # 3. NATS: same decision service (sticky across transports), assignment stored
            r'"ok":true,"decision":\{"provider_id":"(openai|anthropic)","reason":"sticky"',
            r'"assignment":\{"status":"published","assignment_id":"[0-9a-f-]{36}"',
            r"request_id: tour-1\n(.*\n)*?state: published",
            # 4. own policy applied, used, read back, dry-run
            r"ok: true\ntenant_id: acme\npolicy_id: chat\nversion: 1",
            r"provider_id: anthropic\nreason: weighted",
            r"policy_id: chat\nversion: 1",
            r"status_code: 0\nstatus_name: OK",
            # 5. the bad policy, with the README's exact error line
            r"error: INVALID_ARGUMENT: providers\[1\]\.weight: mixes integer \(0-100\) and "
            r"fractional \(0-1\) weights; use one scale",
            # 6. health and metrics
            r'\{"status":"ready"',
            r'router_decide_requests_total\{transport="grpc",outcome="ok"\} [1-9]',
        ]
        pos = 0
        for pattern in expectations:
            match = re.compile(pattern).search(out, pos)
            self.assertIsNotNone(match, f"tour output lacks /{pattern}/ after offset {pos}:\n{out}")
            pos = match.end()


if __name__ == "__main__":
    unittest.main()
