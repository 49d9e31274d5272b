"""Helpers shared by the benchmark scripts: ports, databases, processes, statistics.

Every benchmark runs on loopback against the shared PostgreSQL server, in a database it
creates fresh (and drops afterwards), with subprocesses that import this worktree's package.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Settings the services read from the environment: never inherit a developer's values.
_FOREIGN_ENV_PREFIXES = ("APPROVALS_", "SLACK_", "Microsoft")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fresh_database(name: str, *, migrate: bool = True) -> str:
    """Drop and create database `name` on the shared server; migrate it to head."""
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_SERVER}/{name}"
    if migrate:
        from approvals import migrate as migrations

        migrations.upgrade(url)
    return url


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a benchmark subprocess: this worktree first on the import path,
    no inherited approvals / chat settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV_PREFIXES)}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(extra or {})
    return env


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """An empty working directory, so no `.env` file is picked up by Settings."""
    path = Path(tempfile.mkdtemp(prefix="approvals-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def spawn(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a subprocess; its output goes to `log` (or is discarded)."""
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and fixed arguments)
            list(args), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (graceful), then SIGKILL if it does not exit in time. Only our own child."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: Sequence[float]) -> str:
    """`p50 x ms, p99 y ms` for latencies given in seconds."""
    p50, p99 = percentile(seconds, 50) * 1000, percentile(seconds, 99) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"load average {load:.2f} at start"
    )
