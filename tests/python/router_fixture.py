"""Starts a real beamline-router process for the Python client tests.

The binary is ``$ROUTER_BIN`` or, failing that, ``<repo>/build/beamline-router``. Each
RouterProcess gets its own temporary directory (config file, ``--data-dir``, stderr capture),
listens on ephemeral loopback ports (``--grpc-listen 127.0.0.1:0 --http-listen 127.0.0.1:0``) and
learns them from the ``router.listening`` JSON log line on stdout (configuration.md §2-4,
observability.md §7.4). Startup waits, with a deadline and no fixed sleeps, for that line, then
for HTTP ``/ready`` = 200 and a connected gRPC channel. ``stop()`` sends SIGTERM, waits, then
SIGKILL, and always removes the temporary directory.

Helpers for unary calls, trailing metadata and the ``grpc-status-details-bin`` trailer
(``google.rpc.Status`` with ErrorInfo / BadRequest / RetryInfo, grpc-api.md §1) live here too.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import grpc

from gen_stubs import REPO_ROOT, load_protos

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
RPC_TIMEOUT_S = 10.0

ROUTER_SERVICE = "beamline.flow.v1.Router"
ADMIN_SERVICE = "beamline.flow.v1.RouterAdmin"


def router_binary():
    path = os.environ.get("ROUTER_BIN") or str(REPO_ROOT / "build" / "beamline-router")
    return os.path.abspath(path)


class RouterStartError(RuntimeError):
    pass


class RouterProcess:
    """One router process with its own temp dir. Use start()/stop() or a `with` block."""

    def __init__(self, config_text="", env=None, extra_args=None, wait_ready=True,
                 data_dir=None):
        self.config_text = config_text
        # Optional caller-owned --data-dir that survives stop() (restart scenarios).
        self.data_dir_override = data_dir
        self.env_overrides = dict(env or {})
        self.extra_args = list(extra_args or [])
        self.wait_ready = wait_ready
        self.proc = None
        self.tmp_dir = None
        self.grpc_port = None
        self.http_port = None
        self.channel = None
        self.returncode = None
        self.data_dir = None
        self._lines = []
        self._lines_cv = threading.Condition()
        self._reader = None
        self._stderr_file = None

    # ------------------------------------------------------------------ lifecycle

    def start(self):
        binary = router_binary()
        if not os.access(binary, os.X_OK):
            raise RouterStartError(f"router binary not found or not executable: {binary}")
        self.tmp_dir = tempfile.mkdtemp(prefix="router-py-")
        try:
            self._spawn(binary)
            self._await_listening()
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            grpc.channel_ready_future(self.channel).result(
                timeout=max(0.1, deadline - time.monotonic()))
            if self.wait_ready:
                self._await_ready(deadline)
        except BaseException as e:
            diag = self.diagnostics()
            self.stop()
            raise RouterStartError(f"router failed to start: {e!r}\n{diag}") from None
        return self

    def _spawn(self, binary):
        config_path = os.path.join(self.tmp_dir, "router.toml")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(self.config_text)
        data_dir = self.data_dir_override or os.path.join(self.tmp_dir, "data")
        self.data_dir = data_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith("BEAMLINE_ROUTER_")}
        env.update(self.env_overrides)
        args = [binary, "--config", config_path, "--grpc-listen", "127.0.0.1:0",
                "--http-listen", "127.0.0.1:0", "--data-dir", data_dir] + self.extra_args
        self._stderr_file = open(os.path.join(self.tmp_dir, "stderr.log"), "w+b")
        self.proc = subprocess.Popen(args, cwd=self.tmp_dir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._stderr_file)
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lines_cv:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._lines_cv.notify_all()
        with self._lines_cv:
            self._lines_cv.notify_all()

    def _await_listening(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        seen = 0
        with self._lines_cv:
            while True:
                while seen < len(self._lines):
                    line = self._lines[seen]
                    seen += 1
                    rec = _parse_json_line(line)
                    if rec and rec.get("event") == "router.listening":
                        self.grpc_port = int(rec["context"]["grpc_port"])
                        self.http_port = int(rec["context"]["http_port"])
                        return
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RouterStartError(f"router exited with {self.proc.returncode}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RouterStartError("timed out waiting for router.listening")
                self._lines_cv.wait(timeout=min(remaining, 0.2))

    def _await_ready(self, deadline):
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RouterStartError(f"router exited with {self.proc.returncode}")
            try:
                code, body = self.http_get("/ready", timeout=2.0)
                if code == 200:
                    return
                last = (code, body)
            except OSError as e:
                last = e
            # Bounded back-off while polling the readiness endpoint (not a fixed sleep).
            time.sleep(0.05)
        raise RouterStartError(f"timed out waiting for /ready (last: {last})")

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; always cleans up. Returns the exit code."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is not None and self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT_S)
            self.returncode = self.proc.returncode
            if self._reader is not None:
                self._reader.join(timeout=5)
            self.proc.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
        return self.returncode

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ observation

    def log_lines(self):
        with self._lines_cv:
            return list(self._lines)

    def wait_for_log(self, msg, timeout=STARTUP_TIMEOUT_S):
        """Waits (with a deadline) until a JSON log record with this `msg` has been printed."""
        deadline = time.monotonic() + timeout
        with self._lines_cv:
            while True:
                if any((_parse_json_line(l) or {}).get("event") == msg for l in self._lines):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return False
                self._lines_cv.wait(timeout=min(remaining, 0.2))

    def log_records(self):
        return [r for r in (_parse_json_line(l) for l in self.log_lines()) if r is not None]

    def stderr_text(self):
        if self._stderr_file is None:
            return ""
        self._stderr_file.flush()
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode("utf-8", "replace")

    def diagnostics(self):
        rc = self.proc.poll() if self.proc is not None else None
        out = "\n".join(self.log_lines()[-40:])
        return (f"binary={router_binary()} rc={rc}\n--- stdout (tail) ---\n{out}\n"
                f"--- stderr (tail) ---\n{self.stderr_text()[-4000:]}")

    def http_get(self, path, timeout=5.0):
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    # ------------------------------------------------------------------ calls

    def unary(self, path, request_bytes_or_msg, response_cls=None, metadata=None,
              timeout=RPC_TIMEOUT_S):
        """Calls `path`; returns (response, call). Raises grpc.RpcError on a non-OK status."""
        if hasattr(request_bytes_or_msg, "SerializeToString"):
            body = request_bytes_or_msg.SerializeToString()
        else:
            body = bytes(request_bytes_or_msg)
        method = self.channel.unary_unary(
            path, request_serializer=None,
            response_deserializer=(response_cls.FromString if response_cls else None))
        return method.with_call(body, metadata=metadata, timeout=timeout)


    def nghttp_unary(self, path, body, headers):
        """One gRPC call through the nghttp CLI, for header values grpcio refuses to send
        (e.g. a TAB). Returns (grpc-status int, grpc-message) from the trailers, or None if
        nghttp is not installed."""
        nghttp = shutil.which("nghttp")
        if nghttp is None:
            return None
        frame_path = os.path.join(self.tmp_dir, "nghttp-body.bin")
        with open(frame_path, "wb") as f:
            f.write(b"\x00" + len(body).to_bytes(4, "big") + body)
        args = [nghttp, "-v", "-H", "content-type: application/grpc", "-H", "te: trailers",
                "-d", frame_path]
        for k, v in headers:
            args += ["-H", f"{k}: {v}"]
        args.append(f"http://127.0.0.1:{self.grpc_port}{path}")
        res = subprocess.run(args, capture_output=True, text=True, timeout=RPC_TIMEOUT_S * 2)
        status = message = None
        for line in res.stdout.splitlines():
            if "recv" in line and "grpc-status:" in line:
                status = int(line.rsplit("grpc-status:", 1)[1].strip())
            elif "recv" in line and "grpc-message:" in line:
                message = line.rsplit("grpc-message:", 1)[1].strip()
        if status is None:
            raise RuntimeError(f"nghttp gave no grpc-status (rc {res.returncode}): "
                               f"{res.stdout[-2000:]} {res.stderr[-500:]}")
        return status, message


def _parse_json_line(line):
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) else None


# ---------------------------------------------------------------------- error decoding


def trailing_dict(call_or_error):
    """Trailing metadata as {key: [values]} (binary keys keep bytes values)."""
    out = {}
    for md in call_or_error.trailing_metadata() or ():
        out.setdefault(md.key, []).append(md.value)
    return out


def initial_dict(call):
    out = {}
    for md in call.initial_metadata() or ():
        out.setdefault(md.key, []).append(md.value)
    return out


class ErrorDetails:
    """Decoded grpc-status-details-bin: google.rpc.Status and its unpacked details."""

    def __init__(self, status, error_infos, bad_requests, retry_infos, unknown_types):
        self.status = status
        self.error_infos = error_infos
        self.bad_requests = bad_requests
        self.retry_infos = retry_infos
        self.unknown_types = unknown_types

    @property
    def error_info(self):
        return self.error_infos[0] if self.error_infos else None

    @property
    def violations(self):
        return [v for br in self.bad_requests for v in br.field_violations]


def decode_status_details(rpc_error):
    """Parses the grpc-status-details-bin trailer; returns ErrorDetails or None if absent."""
    pb = load_protos()
    values = trailing_dict(rpc_error).get("grpc-status-details-bin")
    if not values:
        return None
    status = pb.status.Status.FromString(values[0])
    infos, bads, retries, unknown = [], [], [], []
    for any_msg in status.details:
        type_name = any_msg.type_url.rsplit("/", 1)[-1]
        if type_name == "google.rpc.ErrorInfo":
            m = pb.details.ErrorInfo.FromString(any_msg.value)
            infos.append(m)
        elif type_name == "google.rpc.BadRequest":
            bads.append(pb.details.BadRequest.FromString(any_msg.value))
        elif type_name == "google.rpc.RetryInfo":
            retries.append(pb.details.RetryInfo.FromString(any_msg.value))
        else:
            unknown.append(any_msg.type_url)
    return ErrorDetails(status, infos, bads, retries, unknown)


# ---------------------------------------------------------------------- raw wire helpers


def encode_varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_string_field(field_number, text):
    data = text.encode("utf-8")
    return encode_varint((field_number << 3) | 2) + encode_varint(len(data)) + data


def decode_fields(data):
    """Minimal protobuf wire decoder: list of (field_number, wire_type, value)."""
    fields, i = [], 0
    while i < len(data):
        key, i = _read_varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _read_varint(data, i)
        elif wire == 2:
            length, i = _read_varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _read_varint(data, i):
    shift = result = 0
    while True:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
