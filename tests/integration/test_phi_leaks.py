"""Plant PHI in a request, run the whole flow, and scan every store for it.

Stores: every table (PostgreSQL), Redis (keys and values, so job arguments too), the logs of
the API and of a worker process, /metrics, and API answers to bad input.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import text

from approvals.app import create_app
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.kit.logging import configure_logging
from approvals.runtime import Runtime
from tests.builders import ApiClient, action_body
from tests.conftest import TABLES, _empty, make_settings

REDIS_URL = "redis://127.0.0.1:6379/12"
PLANTED = [
    "123-45-6789",
    "jane.roe@gmail.com",
    "Jane Roe",
    "MRN-99812345",
    "1961-04-12",
    "555-867-5309",
]


def _context() -> dict[str, object]:
    return {
        "sample_rows": [
            {
                "patient_name": "Jane Roe",
                "mrn": "MRN-99812345",
                "dob": "1961-04-12",
                "phone": "555-867-5309",
            }
        ],
        "ticket": "requested by jane.roe@gmail.com, SSN 123-45-6789 on file",
    }


async def _dump_database(runtime: Runtime) -> str:
    parts = []
    async with runtime.engine.connect() as connection:
        for table in [*TABLES, "audit_head"]:
            rows = (await connection.execute(text(f"SELECT * FROM {table}"))).all()  # noqa: S608
            parts.append(repr(rows))
    return "\n".join(parts)


def _dump_redis() -> str:
    client = redis.Redis.from_url(REDIS_URL)
    parts = []
    for key in client.scan_iter():
        parts.append(key.decode(errors="replace"))
        kind = client.type(key).decode()
        if kind == "string":
            parts.append(repr(client.get(key)))
        elif kind == "hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == "list":
            parts.append(repr(client.lrange(key, 0, -1)))
        elif kind == "zset":
            parts.append(repr(client.zrange(key, 0, -1)))
        elif kind == "set":
            parts.append(repr(client.smembers(key)))
    return "\n".join(parts)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_planted_phi_is_in_no_store(
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = make_settings(database_url, tmp_path, redis_url=REDIS_URL)
    configure_logging(settings)
    caplog.set_level(logging.DEBUG)
    runtime = Runtime(settings)
    await _empty(runtime)
    keys = {
        name: (
            await clients_service.create(runtime.db, name=name, scopes=[scope], identity=who)
        ).api_key
        for name, scope, who in [
            ("etl", Scope.SUBMIT, "svc:etl"),
            ("bob", Scope.REVIEW, "bob@example.org"),
        ]
    }
    app = create_app(settings, runtime=runtime)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            api = ApiClient(http, keys)
            answers = []
            created = await api.create(
                context=_context(), justification="Jane Roe asked, SSN 123-45-6789"
            )
            answers.append(json.dumps(created))
            bad = await http.post(
                "/v1/actions",
                headers=api.auth("etl"),
                json=action_body(ttl_seconds="Jane Roe 123-45-6789", context=_context()),
            )
            answers.append(bad.text)
            decided = await api.decide(
                "bob", created["id"], "deny", "call jane.roe@gmail.com first"
            )
            answers.append(decided.text)
            answers.append((await http.get("/metrics")).text)
        env = {
            **os.environ,
            "APPROVALS_DATABASE_URL": database_url,
            "APPROVALS_REDIS_URL": REDIS_URL,
            "APPROVALS_DATA_DIR": str(tmp_path / "w"),
            "APPROVALS_LOG_LEVEL": "DEBUG",
        }
        worker = subprocess.run(
            [sys.executable, "-m", "approvals", "worker", "--burst"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert worker.returncode == 0, worker.stderr[-2000:]
        stores = {
            "database": await _dump_database(runtime),
            "redis": _dump_redis(),
            "api logs": caplog.text + capsys.readouterr().out,
            "worker logs": worker.stdout + worker.stderr,
            "api answers": "\n".join(answers),
        }
    finally:
        await runtime.close()
        redis.Redis.from_url(REDIS_URL).flushdb()
    assert "sample_rows" in stores["database"]  # the scan does read the stored request
    leaks = {
        (store, value)
        for store, dump in stores.items()
        for value in PLANTED
        if value.lower() in dump.lower()
    }
    assert not leaks, f"PHI found: {sorted(leaks)}"
