"""A real HTTP server on loopback that records what the outbox sends it.

Paths choose the answer: ``/ok...`` 200, ``/fail...`` 500, ``/slow...`` 200 after
``server.slow_seconds``, ``/redirect...`` 302. Nothing leaves 127.0.0.1.
"""

import threading
import time
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: Message  # looked up case-insensitively, as HTTP header names are
    body: bytes
    at: float


@dataclass
class Endpoint:
    base: str
    slow_seconds: float = 2.0
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]


class _Handler(BaseHTTPRequestHandler):
    endpoint: Endpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.endpoint.lock:
            self.endpoint.requests.append(Received(self.path, self.headers, body, time.monotonic()))
        if self.path.startswith("/slow"):
            time.sleep(self.endpoint.slow_seconds)
        status = {"/fail": 500, "/redirect": 302}.get(self.path.rstrip("0123456789"), 200)
        payload = b"boom" if status == 500 else b"ok"
        try:
            self.send_response(status)
            if status == 302:
                self.send_header("Location", self.endpoint.url("/ok"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass  # the client gave up (timeout) before the answer

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def endpoint():
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.endpoint = Endpoint(base=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield handler.endpoint
    server.shutdown()
    server.server_close()
