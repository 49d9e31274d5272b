"""Real `approvals worker` processes and private redis-servers for the worker tests.

Workers run from this checkout (PYTHONPATH), with only the APPROVALS_* settings a test
gives them, each in a session of its own so a kill reaps any child it forked as well.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path

import httpx
import pytest
import redis

from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.conftest import _empty, make_settings
from tests.fakes.callback_receiver import CallbackReceiver

ROOT = Path(__file__).resolve().parents[3]  # this checkout, not whichever one pip installed


def approvals_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of an `approvals` process a test starts: this one's without any
    APPROVALS_* setting (a developer's shell may hold some), this checkout importable, and
    exactly the test's `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPROVALS_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return {**env, **settings}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A redis-server of the test's own (never the machine's shared one), ready to answer."""
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(
        ["redis-server", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        with contextlib.suppress(redis.ConnectionError):
            if redis.Redis.from_url(url).ping():
                return server
        time.sleep(0.05)
    server.kill()
    raise RuntimeError(f"redis-server on port {port} did not start")


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    server = start_redis(free_port())
    try:
        yield f"redis://127.0.0.1:{server.args[2]}/0"  # args: redis-server --port N ...
    finally:
        server.terminate()
        server.wait(10)


def start_worker(
    settings: dict[str, str], *, cwd: Path, log: Path, burst: bool = False
) -> subprocess.Popen[bytes]:
    """`python -m approvals worker` with exactly `settings` as its APPROVALS_* environment."""
    env = approvals_env(settings)
    args = [sys.executable, "-m", "approvals", "worker", *(["--burst"] if burst else [])]
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's whole process group (only ours: each got a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def wait_until(condition: Callable[[], bool], seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"{what} did not happen within {seconds} s; worker output:\n{tail}")


async def etl_and_bob(runtime: Runtime, receiver: CallbackReceiver) -> tuple[dict[str, str], str]:
    """API keys for a submitter whose callbacks may reach loopback and a reviewer; the
    receiver learns the submitter's webhook secret. Returns (keys, the submitter's id)."""
    keys, etl_id = {}, ""
    for name, scope, identity, hosts in [
        ("etl", Scope.SUBMIT, "svc:etl", ["127.0.0.1"]),
        ("bob", Scope.REVIEW, "bob@example.org", []),
    ]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=[scope], identity=identity, callback_hosts=hosts
        )
        keys[name] = created.api_key
        if name == "etl":
            receiver.secret, etl_id = created.webhook_secret, created.client_id
    return keys, etl_id


@contextlib.asynccontextmanager
async def queue_away(
    database_url: str, tmp_path: Path, redis_url: str, **settings: object
) -> AsyncIterator[Runtime]:
    """A Runtime on an emptied database whose Redis (`redis_url`) does not answer: each
    commit's hand-over fails, as a crash right after the commit would leave it, and its rows
    wait for a claim (or for the test to run them). Callbacks may reach loopback."""
    runtime = Runtime(
        make_settings(
            database_url,
            tmp_path,
            redis_url=redis_url,
            callback_allow_addresses="127.0.0.1",
            **settings,
        )
    )
    await _empty(runtime)
    try:
        yield runtime
    finally:
        await runtime.close()


@contextlib.asynccontextmanager
async def api_over(
    runtime: Runtime, receiver: CallbackReceiver
) -> AsyncIterator[tuple[ApiClient, str]]:
    """The API of `runtime` in process, with the keys of `etl_and_bob`: (client, etl's id)."""
    keys, etl_id = await etl_and_bob(runtime, receiver)
    app = create_app(runtime.settings, runtime=runtime)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://approvals.test"
    ) as http:
        yield ApiClient(http, keys, runtime), etl_id
