"""A loopback HTTP endpoint that takes each request and answers nothing until released.

It stands in for an S3 endpoint (or any HTTP sink) that has stalled: the connection is open,
the request was read, no response comes. `arrived` is set when the first request is read,
so a test can act exactly while a client waits on it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field


@dataclass
class StallingHttp:
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    stall_seconds: float = 60.0  # bound: a forgotten release() never hangs a test run forever

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by __exit__
                return
            threading.Thread(target=self._stall, args=(connection,), daemon=True).start()

    def _stall(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):
            connection.settimeout(5)
            connection.recv(65536)
            self.arrived.set()
            self.released.wait(self.stall_seconds)  # then close without answering

    def __enter__(self) -> StallingHttp:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.released.set()
        self._listener.close()
