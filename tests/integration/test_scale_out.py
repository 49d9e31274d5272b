"""Scale-out: two `approvals serve` processes and two `approvals worker` processes on one
PostgreSQL and one Redis, submitting and deciding through both at once.

Every request must end with exactly one outcome, the audit chain must come out gap-free and
intact with nothing waiting to be sealed (the processes' own sequencers seal it), and no event
may be lost: each request has its requested, policy, decision and follow-up events.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from approvals.audit.models import AuditEvent
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.builders import action_body
from tests.conftest import _empty, make_settings
from tests.integration.jobs.worker_processes import (
    approvals_env,
    free_port,
    kill,
    private_redis,
    start_worker,
)

pytestmark = pytest.mark.postgres

REQUESTS = 30
DECISIONS = {"approved", "denied"}


def _settings(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "APPROVALS_DATABASE_URL": database_url,
        "APPROVALS_REDIS_URL": redis_url,
        "APPROVALS_DATA_DIR": str(data_dir),  # one signing key for all four processes
        "APPROVALS_PUBLIC_URL": "http://approvals.test",
        "APPROVALS_RECONCILE_INTERVAL_SECONDS": "0.5",
        "APPROVALS_AUDIT_SEAL_INTERVAL_SECONDS": "0.1",
        "APPROVALS_SUBMIT_RATE_PER_MINUTE": "100000",
        "APPROVALS_SUBMIT_BURST": "100000",
        "APPROVALS_LOG_LEVEL": "info",
    }


def _serve(settings: dict[str, str], port: int, cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    env = approvals_env(settings)
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "approvals",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    pytest.fail(f"{url} never became ready:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def redis_url() -> Iterator[str]:
    with private_redis() as url:
        yield url


async def test_two_servers_and_two_workers_keep_one_outcome_and_one_whole_chain(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> None:
    runtime = Runtime(make_settings(postgres_url, tmp_path))
    await _empty(runtime)
    keys = {}
    for name, scope, identity in [
        ("etl", Scope.SUBMIT, "svc:etl@example.org"),
        ("bob", Scope.REVIEW, "bob@example.org"),
        ("carol", Scope.REVIEW, "carol@example.org"),
        ("auditor", Scope.AUDIT, "audit@example.org"),
    ]:
        created = await clients_service.create(
            runtime.db, name=name, scopes=[scope], identity=identity
        )
        keys[name] = created.api_key
    settings = _settings(postgres_url, redis_url, tmp_path / "data")
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for n in range(2):
            port = free_port()
            log = tmp_path / f"serve{n}.log"
            processes.append(_serve(settings, port, tmp_path, log))
            urls.append(f"http://127.0.0.1:{port}")
            await _ready(urls[-1], processes[-1], log)
        for n in range(2):
            processes.append(start_worker(settings, cwd=tmp_path, log=tmp_path / f"worker{n}.log"))
        clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in urls]

        def auth(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {keys[who]}"}

        async def submit(n: int) -> str:
            response = await clients[n % 2].post(
                "/v1/actions", json=action_body(context={"n": n}), headers=auth("etl")
            )
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        ids = await asyncio.gather(*(submit(n) for n in range(REQUESTS)))

        async def race(action_id: str, n: int) -> list[int]:
            """Bob approves through one server while carol denies through the other."""
            approve = clients[n % 2].post(
                f"/v1/actions/{action_id}/decisions",
                json={"verdict": "approve"},
                headers=auth("bob"),
            )
            deny = clients[(n + 1) % 2].post(
                f"/v1/actions/{action_id}/decisions",
                json={"verdict": "deny", "reason": "not now"},
                headers=auth("carol"),
            )
            return sorted(r.status_code for r in await asyncio.gather(approve, deny))

        answers = await asyncio.gather(*(race(i, n) for n, i in enumerate(ids)))
        assert all(codes == [200, 409] for codes in answers), answers

        # The workers release or reject each request; every process's sequencer seals.
        deadline = time.monotonic() + 120
        while True:
            statuses = Counter()
            for n, action_id in enumerate(ids):
                got = await clients[n % 2].get(f"/v1/actions/{action_id}", headers=auth("etl"))
                statuses[got.json()["status"]] += 1
            verify = await clients[0].get("/v1/audit/verify", headers=auth("auditor"))
            status = verify.json()
            if set(statuses) <= {"released", "rejected"} and status["pending_events"] == 0:
                break
            assert time.monotonic() < deadline, (statuses, status)
            await asyncio.sleep(0.3)
        for client in clients:
            await client.aclose()

        assert status["intact"] is True, status
        async with runtime.db() as session:
            total = await session.scalar(select(func.count()).select_from(AuditEvent))
            seqs = list(
                (await session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq))).scalars()
            )
            rows = list(
                (
                    await session.execute(
                        select(AuditEvent.action_id, AuditEvent.event_type).where(
                            AuditEvent.action_id.in_(ids)
                        )
                    )
                ).all()
            )
        assert seqs == list(range(1, total + 1))  # gap-free, every event sealed
        assert status["head_seq"] == status["events_checked"] == total
        by_request: dict[str, Counter[str]] = {i: Counter() for i in ids}
        for action_id, kind in rows:
            by_request[action_id][kind] += 1
        for action_id, kinds in by_request.items():
            assert kinds["requested"] == 1 and kinds["policy_evaluated"] == 1, kinds
            assert sum(kinds[k] for k in DECISIONS) == 1, (action_id, kinds)  # one outcome
            follow_up = "released" if kinds["approved"] else "rejected"
            assert kinds[follow_up] == 1, (action_id, kinds)
    finally:
        for process in processes:
            kill(process)
        await runtime.close()
