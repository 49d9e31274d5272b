"""The service for real over HTTP: uvicorn on a free loopback port in a background thread,
embedded mode (SQLite in a temporary folder, jobs in-process, no Redis), with API clients
made for the people a test names. For browsers, SDKs and MCP clients, which need a socket."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from approvals import migrate
from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import CreatedClient, Scope
from approvals.runtime import Runtime
from tests.conftest import make_settings

Person = tuple[str, Sequence[Scope], str]  # key name, scopes, identity


@dataclass(frozen=True)
class Running:
    url: str
    clients: dict[str, CreatedClient]
    app: FastAPI

    @property
    def keys(self) -> dict[str, str]:
        return {name: client.api_key for name, client in self.clients.items()}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    folder: Path, people: Sequence[Person], *, host_name: str = "127.0.0.1", **settings: object
) -> Iterator[Running]:
    """`host_name` is how browsers reach it (bound on 127.0.0.1 either way): WebAuthn and an
    OpenID provider's issuer need `localhost` throughout."""
    database = f"sqlite:///{folder / 'approvals.db'}"
    migrate.upgrade(database)
    port = _free_port()
    url = f"http://{host_name}:{port}"
    config = make_settings(database, folder, **{"public_url": url, **settings})

    async def seed() -> dict[str, CreatedClient]:
        runtime = Runtime(config)
        try:
            return {
                name: await clients_service.create(
                    runtime.db, name=name, scopes=list(scopes), identity=identity
                )
                for name, scopes, identity in people
            }
        finally:
            await runtime.close()

    clients = asyncio.run(seed())
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield Running(url, clients, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
