"""What an on-call engineer reads: one request id from the access log to the job and the audit
trail, JSON on every log line, HTTP and job metrics, and probes on the API and the worker.

Real processes: `approvals serve` and `approvals worker` on PostgreSQL and a private Redis.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from approvals.audit.models import AuditEvent
from approvals.clients import service as clients_service
from approvals.clients.schemas import Scope
from approvals.runtime import Runtime
from tests.builders import action_body
from tests.fakes.otlp_collector import OtlpCollector
from tests.integration.jobs.worker_processes import approvals_env, free_port, start_redis

TRACE = "trace-7f3a90c1"


@contextmanager
def _process(
    args: list[str], settings: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "approvals", *args],
            env=approvals_env(settings),
            cwd=log.parent,
            stdout=subprocess.DEVNULL,
            stderr=out,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _until_up(url: str, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 200 within {seconds} s")


def _json_lines(log: Path) -> list[dict[str, object]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{log.name}: a log line is not JSON: {line[:200]}")
    return parsed


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_one_request_id_follows_a_submit_through_logs_jobs_audit_and_metrics(
    database_url: str, runtime: Runtime, tmp_path: Path
) -> None:
    keys = {
        name: (
            await clients_service.create(runtime.db, name=name, scopes=[scope], identity=who)
        ).api_key
        for name, scope, who in [("etl", Scope.SUBMIT, "svc:etl@example.org")]
    }
    redis_server = start_redis(free_port())
    redis_url = f"redis://127.0.0.1:{redis_server.args[2]}/0"
    api_port, probe_port = free_port(), free_port()
    common = {
        "APPROVALS_DATABASE_URL": database_url,
        "APPROVALS_REDIS_URL": redis_url,
        "APPROVALS_DATA_DIR": str(tmp_path / "data"),
        "APPROVALS_LOG_JSON": "true",
        "APPROVALS_HOST": "127.0.0.1",
    }
    api_url, probe_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{probe_port}"
    api_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    try:
        with (
            _process(["serve", "--port", str(api_port)], common, api_log),
            _process(
                ["worker"], {**common, "APPROVALS_WORKER_HEALTH_PORT": str(probe_port)}, worker_log
            ) as worker,
        ):
            _until_up(f"{api_url}/readyz")
            _until_up(f"{probe_url}/readyz")
            async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
                auth = {"Authorization": f"Bearer {keys['etl']}"}
                created = await http.post(
                    "/v1/actions",
                    headers={**auth, "X-Request-ID": TRACE},
                    json=action_body(environment="dev", justification="nightly Jane Roe fix"),
                )
                assert created.status_code == 201, created.text
                assert created.headers["X-Request-ID"] == TRACE
                action_id = created.json()["id"]
                # The 201 carries the token: /wait answers at once; the worker's release job
                # then moves it on to released.
                waited = await http.get(f"/v1/actions/{action_id}/wait?timeout=30", headers=auth)
                assert waited.json()["release_token"] == created.json()["release_token"]
                await _until_released(http, action_id, auth)
                api_metrics = (await http.get("/metrics")).text
                probes = (await http.get(f"{probe_url}/readyz")).json()
                worker_metrics = (await http.get(f"{probe_url}/metrics")).text
            # Redis away: the API stays ready but says it is degraded (intake keeps its work in
            # the outbox); the worker is not ready, stays up retrying, and logs so.
            redis_server.terminate()
            redis_server.wait(10)
            degraded = httpx.get(f"{api_url}/readyz", timeout=10)
            worker_unready = httpx.get(f"{probe_url}/readyz", timeout=10)
            time.sleep(1)
            worker_alive = worker.poll() is None
    finally:
        if redis_server.poll() is None:
            redis_server.terminate()
            redis_server.wait(10)

    assert worker_alive
    assert worker_unready.status_code == 503
    assert worker_unready.headers["Retry-After"]
    assert degraded.status_code == 200
    assert degraded.json() == {
        "status": "degraded",
        "database": "ok",
        "queue": "unreachable",
        "policy": "ok",
    }
    assert probes["queue"] == "ok"
    assert 'approvals_http_request_duration_seconds_count{method="POST",route="/v1/actions"}' in (
        api_metrics
    )
    assert 'route="/v1/actions/{action_id}/wait",status="200"' in api_metrics
    assert 'approvals_job_duration_seconds_count{kind="release"} 1.0' in worker_metrics
    assert "approvals_queue_depth" in worker_metrics

    access = [
        line
        for line in _json_lines(api_log)
        if line["event"] == "http.request" and line.get("request_id") == TRACE
    ]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("POST", "/v1/actions", 201)
    ]
    assert isinstance(access[0]["duration_ms"], float)
    assert access[0]["client_id"]
    assert "Jane" not in api_log.read_text()  # never a body, even redacted
    job_lines = [line for line in _json_lines(worker_log) if line.get("request_id") == TRACE]
    assert any(line["event"] == "job.done" and line["kind"] == "release" for line in job_lines)

    async with runtime.db() as session:
        events = (
            await session.execute(select(AuditEvent).where(AuditEvent.action_id == action_id))
        ).scalars()
        traced = {event.event_type: event.payload.get("request_id") for event in events}
    assert traced and set(traced.values()) == {TRACE}, traced


async def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    http: httpx.AsyncClient,
) -> None:
    answer = await http.get("/healthz", headers={"X-Request-ID": "x" * 300})
    replaced = answer.headers["X-Request-ID"]
    assert len(replaced) == 32 and replaced != "x" * 300
    fresh = await http.get("/healthz")
    assert fresh.headers["X-Request-ID"] != replaced
    kept = await http.get("/healthz", headers={"X-Request-ID": "lb-0a1b.2c3d"})
    assert kept.headers["X-Request-ID"] == "lb-0a1b.2c3d"


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_one_submit_is_one_trace_from_the_api_to_its_job_in_the_worker(
    database_url: str, runtime: Runtime, tmp_path: Path
) -> None:
    key = (
        await clients_service.create(
            runtime.db, name="etl", scopes=[Scope.SUBMIT], identity="svc:etl@example.org"
        )
    ).api_key
    redis_server = start_redis(free_port())
    api_port = free_port()
    try:
        with OtlpCollector() as collector:
            common = {
                "APPROVALS_DATABASE_URL": database_url,
                "APPROVALS_REDIS_URL": f"redis://127.0.0.1:{redis_server.args[2]}/0",
                "APPROVALS_DATA_DIR": str(tmp_path / "data"),
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            }
            with (
                _process(["serve", "--port", str(api_port)], common, tmp_path / "serve.log"),
                _process(["worker"], common, tmp_path / "worker.log"),
            ):
                api_url = f"http://127.0.0.1:{api_port}"
                _until_up(f"{api_url}/readyz")
                auth = {"Authorization": f"Bearer {key}"}
                async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
                    created = await http.post(
                        "/v1/actions",
                        headers=auth,
                        json=action_body(environment="dev", justification="for Jane Roe"),
                    )
                    action_id = created.json()["id"]
                    await _until_released(http, action_id, auth)
            spans = list(collector.spans)  # both processes flushed on SIGTERM
    finally:
        redis_server.terminate()
        redis_server.wait(10)

    submit = [s for s in spans if s.name == "POST /v1/actions" and not s.parent_span_id]
    assert len(submit) == 1, [s.name for s in spans][:40]
    trace = [s for s in spans if s.trace_id == submit[0].trace_id]
    names = {s.name for s in trace}
    assert "job release" in names, names
    assert any("db.system" in s.attributes or "db.system.name" in s.attributes for s in trace)
    ids = {s.span_id for s in trace}
    assert all(s.parent_span_id in ids for s in trace if s is not submit[0])  # one tree
    job = next(s for s in trace if s.name == "job release")
    assert job.attributes["approvals.job.kind"] == "release"
    assert not any("Jane" in repr(s.attributes) for s in spans)


async def _until_released(http: httpx.AsyncClient, action_id: str, auth: dict[str, str]) -> None:
    """An auto-approved request has its token from the 201 on; the worker's release job then
    moves it to released (and that job is what these tests follow)."""
    for _ in range(300):
        state = (await http.get(f"/v1/actions/{action_id}", headers=auth)).json()
        if state["status"] == "released":
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not released by the worker: {state['status']}")
