"""A loopback webhook receiver: records every delivery, answers from a script of statuses.

It verifies each signature the way a receiver following docs/release.md would, so a test
sees both what arrived and whether a real receiver would have accepted it. With `hang_first`
it holds the first delivery open (no answer) until `release()`, so a test can kill a worker in
the middle of a callback. Each delivery records its arrival time (`perf_counter`, for benches).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from approvals.release.webhooks import InvalidWebhookSignature, verify


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    received_at: float = 0.0

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class CallbackReceiver:
    secret: str = ""
    script: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    deliveries: list[Delivery] = field(default_factory=list)
    hang_first: bool = False
    hang_seconds: float = 120.0  # bound: a forgotten release() never hangs a test run forever

    def __post_init__(self) -> None:
        receiver = self
        self._released = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.perf_counter()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify(
                        body,
                        self.headers.get("X-Approvals-Signature"),
                        receiver.secret,
                        int(time.time()),
                    )
                    ok = True
                except InvalidWebhookSignature:
                    ok = False
                receiver.deliveries.append(
                    Delivery(self.path, dict(self.headers), body, ok, arrived)
                )
                if receiver.hang_first and len(receiver.deliveries) == 1:
                    receiver._released.wait(receiver.hang_seconds)
                    with contextlib.suppress(OSError):  # the sender may be dead by now
                        self.send_response(503)
                        self.end_headers()
                    return
                status, headers = receiver.script.popleft() if receiver.script else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/approvals"

    def answer(self, *statuses: int, retry_after: int | None = None) -> None:
        extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.script.extend((status, extra) for status in statuses)

    def release(self) -> None:
        """Let a hanging first delivery finish (answered 503, if its sender still listens)."""
        self._released.set()

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
