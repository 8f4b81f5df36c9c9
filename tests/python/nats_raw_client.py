"""A minimal NATS client over a plain TCP socket, Python standard library only.

Used by the independent-client acceptance test (nats-contracts.md §12 scenario 30): it shares no
code with cnats, the library the router is built on. It speaks the NATS client protocol text
commands (https://docs.nats.io/reference/reference-protocols/nats-protocol): INFO, CONNECT,
PUB, HPUB, SUB, UNSUB, MSG, HMSG, PING, PONG, +OK, -ERR. No TLS, no auth, no reconnect.

A background thread reads the socket and routes MSG/HMSG to per-subscription queues and answers
server PINGs. `request()` is core request/reply over a unique `_INBOX.` subject, and
`js_msg_get()` reads one stored message through the JetStream API subject
`$JS.API.STREAM.MSG.GET.<stream>`.
"""

import base64
import itertools
import json
import queue
import secrets
import socket
import threading

CRLF = b"\r\n"


class NatsError(RuntimeError):
    pass


class Msg:
    """One delivered message: subject, reply subject, headers (dict, case kept), data (bytes)."""

    def __init__(self, subject, reply, headers, data, status=None):
        self.subject = subject
        self.reply = reply
        self.headers = headers or {}
        self.data = data
        self.status = status  # e.g. "503" for "no responders"

    def header(self, name):
        """Header value by case-insensitive name, or None."""
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.data.decode("utf-8"))


def encode_headers(headers):
    out = b"NATS/1.0\r\n"
    for k, v in headers.items():
        out += f"{k}: {v}".encode("utf-8") + CRLF
    return out + CRLF


def parse_headers(block):
    """Parses a `NATS/1.0[ status]` header block; returns (status or None, dict)."""
    lines = block.decode("utf-8", "replace").split("\r\n")
    first = lines[0]
    status = None
    parts = first.split(" ", 2)
    if len(parts) >= 2 and parts[1].strip():
        status = parts[1].strip()
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        key, _, value = line.partition(":")
        headers[key.strip()] = value.strip()
    return status, headers


class NatsRawClient:
    def __init__(self, host, port, timeout=5.0, name="nats-raw-client"):
        self._sock = socket.create_connection((host, port), timeout=timeout)
        self._sock.settimeout(None)
        self._file = self._sock.makefile("rb")
        self._wlock = threading.Lock()
        self._subs = {}
        self._sid = itertools.count(1)
        self._pongs = queue.Queue()
        self._errors = queue.Queue()
        self._closed = False
        line = self._file.readline()
        if not line.startswith(b"INFO "):
            raise NatsError(f"expected INFO, got {line!r}")
        self.server_info = json.loads(line[5:].decode("utf-8"))
        if not self.server_info.get("headers", False):
            raise NatsError("server does not support headers")
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "lang": "python-raw", "version": "0.1", "name": name}
        self._send(b"CONNECT " + json.dumps(connect).encode("utf-8") + CRLF)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.flush(timeout)

    # ------------------------------------------------------------------ wire

    def _send(self, data):
        with self._wlock:
            self._sock.sendall(data)

    def _read_loop(self):
        f = self._file
        try:
            while True:
                line = f.readline()
                if not line:
                    break
                line = line.rstrip(b"\r\n")
                if line.startswith(b"MSG "):
                    parts = line.split(b" ")
                    subject, sid = parts[1].decode(), int(parts[2])
                    reply = parts[3].decode() if len(parts) == 5 else None
                    size = int(parts[-1])
                    data = f.read(size + 2)[:size]
                    self._deliver(sid, Msg(subject, reply, {}, data))
                elif line.startswith(b"HMSG "):
                    parts = line.split(b" ")
                    subject, sid = parts[1].decode(), int(parts[2])
                    reply = parts[3].decode() if len(parts) == 6 else None
                    hsize, total = int(parts[-2]), int(parts[-1])
                    blob = f.read(total + 2)[:total]
                    status, headers = parse_headers(blob[:hsize])
                    self._deliver(sid, Msg(subject, reply, headers, blob[hsize:], status))
                elif line == b"PING":
                    self._send(b"PONG" + CRLF)
                elif line == b"PONG":
                    self._pongs.put(True)
                elif line.startswith(b"-ERR"):
                    self._errors.put(line.decode("utf-8", "replace"))
                # +OK and INFO updates are ignored.
        except (OSError, ValueError):
            pass
        finally:
            self._closed = True
            self._pongs.put(False)

    def _deliver(self, sid, msg):
        q = self._subs.get(sid)
        if q is not None:
            q.put(msg)

    # ------------------------------------------------------------------ API

    def flush(self, timeout=5.0):
        """PING and wait for the PONG: every earlier command has been processed."""
        self._send(b"PING" + CRLF)
        try:
            ok = self._pongs.get(timeout=timeout)
        except queue.Empty:
            raise NatsError("no PONG within timeout") from None
        if not ok:
            raise NatsError("connection closed")
        if not self._errors.empty():
            raise NatsError(self._errors.get())

    def subscribe(self, subject, queue_group=None):
        """Returns (sid, queue.Queue of Msg)."""
        sid = next(self._sid)
        q = queue.Queue()
        self._subs[sid] = q
        group = f" {queue_group}" if queue_group else ""
        self._send(f"SUB {subject}{group} {sid}".encode("utf-8") + CRLF)
        return sid, q

    def unsubscribe(self, sid):
        self._subs.pop(sid, None)
        self._send(f"UNSUB {sid}".encode("utf-8") + CRLF)

    def publish(self, subject, data=b"", reply=None, headers=None):
        if isinstance(data, str):
            data = data.encode("utf-8")
        reply_part = f" {reply}" if reply else ""
        if headers:
            hdr = encode_headers(headers)
            cmd = f"HPUB {subject}{reply_part} {len(hdr)} {len(hdr) + len(data)}"
            self._send(cmd.encode("utf-8") + CRLF + hdr + data + CRLF)
        else:
            cmd = f"PUB {subject}{reply_part} {len(data)}"
            self._send(cmd.encode("utf-8") + CRLF + data + CRLF)

    def request(self, subject, data=b"", headers=None, timeout=5.0):
        """Core request/reply: publishes with a fresh inbox as reply subject, returns the Msg."""
        inbox = "_INBOX." + secrets.token_hex(11)
        sid, q = self.subscribe(inbox)
        try:
            self.flush(timeout)  # the SUB is in place before the request goes out
            self.publish(subject, data, reply=inbox, headers=headers)
            try:
                msg = q.get(timeout=timeout)
            except queue.Empty:
                raise NatsError(f"request to {subject} timed out after {timeout} s") from None
            if msg.status == "503":
                raise NatsError(f"no responders on {subject}")
            return msg
        finally:
            self.unsubscribe(sid)

    def js_msg_get(self, stream, seq=None, last_by_subj=None, timeout=5.0):
        """JetStream direct read of one stored message. Returns (subject, seq, headers, data);
        raises NatsError with the API error when the message does not exist."""
        body = {"seq": seq} if seq is not None else {"last_by_subj": last_by_subj}
        reply = self.request(f"$JS.API.STREAM.MSG.GET.{stream}", json.dumps(body), timeout=timeout)
        resp = reply.json()
        if "error" in resp:
            raise NatsError(f"MSG.GET {stream} {body}: {resp['error']}")
        m = resp["message"]
        headers = {}
        if m.get("hdrs"):
            _, headers = parse_headers(base64.b64decode(m["hdrs"]))
        data = base64.b64decode(m["data"]) if m.get("data") else b""
        return m["subject"], m["seq"], headers, data

    def js_stream_info(self, stream, timeout=5.0):
        reply = self.request(f"$JS.API.STREAM.INFO.{stream}", b"", timeout=timeout)
        resp = reply.json()
        if "error" in resp:
            raise NatsError(f"STREAM.INFO {stream}: {resp['error']}")
        return resp

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._reader.join(timeout=2)
