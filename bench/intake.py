"""Intake throughput: POST /v1/actions, GET /v1/actions/{id} and Idempotency-Key replays.

What it measures: the real service (`approvals serve`, i.e. `create_app` under uvicorn, one
process, jobs in-process, no Redis) on a fresh PostgreSQL database, driven over loopback by
`--connections` concurrent httpx clients sending a fixed number of requests. It prints
requests/s and p50/p99 latency per operation.

Baseline, measured in the same run: a minimal FastAPI + uvicorn app in its own process whose
endpoint does the work floor of a submit (parse the JSON body; in one transaction, INSERT a
comparable request row and one audit-like row, through a fixed pool of psycopg async
connections), and a GET that SELECTs that row by id. Each of our figures is printed as a ratio
to the baseline's figure for the same kind of operation (writes to the baseline POST, reads
to the baseline GET).

    PYTHONPATH=. /work/main/.venv/bin/python bench/intake.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb

from bench._common import (
    PYTHON,
    child_env,
    drop_database,
    free_port,
    fresh_database,
    latency_ms,
    machine,
    scratch_dir,
    spawn,
    stop,
    wait_for_port,
)

DATABASE = "approvals_bench"
BODY: dict[str, Any] = {
    "action": "sql.execute",
    "resource": "db.prod.encounters",
    "requester": "svc:nightly-etl",
    "environment": "prod",
    "justification": "remove a duplicated encounter (ticket CHG-1042)",
    "params": {"sql": "DELETE FROM encounters WHERE id = %(id)s", "args": {"id": 7}},
    "context": {
        "ticket": "CHG-1042",
        "sample_rows": [{"patient": "John Smith", "mrn": "12345678", "ward": "4B"}],
    },
    "tags": ["etl", "dedupe"],
}

# --- the baseline app: the work floor of a submit, nothing else ---------------------------

BASELINE_SCHEMA = """
CREATE TABLE IF NOT EXISTS floor_requests (
    id varchar(36) PRIMARY KEY, status varchar(20) NOT NULL, action varchar(200) NOT NULL,
    resource text NOT NULL, environment varchar(64) NOT NULL, requester varchar(320),
    justification text, params jsonb NOT NULL, context jsonb NOT NULL, tags jsonb NOT NULL,
    created_at timestamptz NOT NULL, expires_at timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS floor_audit (
    seq bigserial PRIMARY KEY, action_id varchar(36) NOT NULL, event_type varchar(40) NOT NULL,
    payload jsonb NOT NULL, occurred_at timestamptz NOT NULL);
"""


def serve_baseline(port: int, dsn: str, pool_size: int) -> None:
    """Run the baseline app (called in its own subprocess)."""
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connections = [await psycopg.AsyncConnection.connect(dsn) for _ in range(pool_size)]
        for connection in connections:
            pool.put_nowait(connection)
        yield
        for connection in connections:
            await connection.close()

    @contextlib.asynccontextmanager
    async def connection() -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        conn = await pool.get()
        try:
            yield conn
        finally:
            pool.put_nowait(conn)

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/actions")
    async def submit(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        action_id = str(uuid.uuid4())
        async with connection() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO floor_requests (id, status, action, resource, environment, "
                "requester, justification, params, context, tags, created_at, expires_at) "
                "VALUES (%s, 'pending', %s, %s, %s, %s, %s, %s, %s, %s, now(), "
                "now() + interval '1 hour')",
                (
                    action_id,
                    body["action"],
                    body["resource"],
                    body.get("environment", "prod"),
                    body.get("requester"),
                    body.get("justification"),
                    Jsonb(body.get("params", {})),
                    Jsonb(body.get("context", {})),
                    Jsonb(body.get("tags", [])),
                ),
            )
            await conn.execute(
                "INSERT INTO floor_audit (action_id, event_type, payload, occurred_at) "
                "VALUES (%s, 'requested', %s, now())",
                (action_id, Jsonb({"action": body["action"]})),
            )
        return JSONResponse({"id": action_id, "status": "pending"}, status_code=201)

    @app.get("/v1/actions/{action_id}")
    async def read(action_id: str) -> JSONResponse:
        async with connection() as conn:
            cursor = await conn.execute(
                "SELECT id, status, action, resource, environment, requester, justification, "
                "params, context, tags, created_at, expires_at FROM floor_requests WHERE id = %s",
                (action_id,),
            )
            row = await cursor.fetchone()
        if row is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        names = [d.name for d in cursor.description or []]
        return JSONResponse(
            {k: str(v) if k.endswith("_at") else v for k, v in zip(names, row, strict=True)}
        )

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- load generation ------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    statuses: Counter[int]
    ids: list[str]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


async def drive(
    name: str, base_url: str, headers: dict[str, str], calls: Sequence[Call], connections: int
) -> Result:
    """Send `calls` with `connections` concurrent clients; time each request."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    ids: list[str] = []
    next_call = iter(calls)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=60.0
    ) as client:

        async def one_client() -> None:
            for call in next_call:  # shared iterator: each call is sent once
                started = time.perf_counter()
                response = await client.request(
                    call.method, call.path, json=call.body, headers=call.headers
                )
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                if call.method == "POST" and response.status_code in (200, 201):
                    ids.append(response.json()["id"])

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(connections)))
        seconds = time.perf_counter() - started
    bad = {code: n for code, n in statuses.items() if code >= 300}
    if bad:
        raise RuntimeError(f"{name}: unexpected statuses {bad}")
    return Result(name, len(calls), seconds, latencies, statuses, ids)


async def outbox_backlog(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cursor = await conn.execute("SELECT count(*) FROM outbox WHERE done_at IS NULL")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0


async def wait_for_jobs(dsn: str, timeout: float = 60.0) -> float:
    """Seconds until the in-process jobs of the submits are all done."""
    started = time.perf_counter()
    while await outbox_backlog(dsn) and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.1)
    return time.perf_counter() - started


async def make_submit_key(dsn: str) -> str:
    from approvals.clients import service as clients_service
    from approvals.clients.schemas import Scope
    from approvals.kit.db import create_engine, session_factory

    engine = create_engine(dsn)
    try:
        created = await clients_service.create(
            session_factory(engine),
            name="bench",
            scopes=[Scope.SUBMIT],
            identity="svc:bench@example.org",
        )
    finally:
        await engine.dispose()
    return created.api_key


def report(result: Result, baseline: Result | None) -> None:
    ratio = f"   {result.rate / baseline.rate:.2f}x {baseline.name}" if baseline else ""
    print(f"  {result.name:<34} {result.rate:8.0f} req/s   {latency_ms(result.latencies)}{ratio}")


async def run(args: argparse.Namespace, dsn: str, api_key: str) -> None:
    n, conns = args.requests, args.connections
    app_port, base_port = free_port(), free_port()
    with scratch_dir() as cwd:
        app = spawn(
            [PYTHON, "-m", "approvals", "serve", "--host", "127.0.0.1", "--port", str(app_port)],
            env=child_env(
                {
                    "APPROVALS_DATABASE_URL": dsn,
                    # the per-key submission budget would answer 429 to a benchmark
                    "APPROVALS_SUBMIT_RATE_PER_MINUTE": "1000000000",
                    "APPROVALS_SUBMIT_BURST": "1000000000",
                }
            ),
            cwd=cwd,
        )
        base = spawn(
            [PYTHON, __file__, "--serve-baseline", str(base_port), "--dsn", dsn, "-p", str(conns)],
            env=child_env(),
            cwd=cwd,
        )
        try:
            wait_for_port(app_port, app)
            wait_for_port(base_port, base)
            ours = f"http://127.0.0.1:{app_port}"
            floor = f"http://127.0.0.1:{base_port}"
            auth = {"Authorization": f"Bearer {api_key}"}
            post = [Call("POST", "/v1/actions", BODY)] * n
            warm = [Call("POST", "/v1/actions", BODY)] * args.warmup
            await drive("warm-up", floor, {}, warm, conns)
            await drive("warm-up", ours, auth, warm, conns)
            await wait_for_jobs(dsn)

            b_post = await drive("baseline POST", floor, {}, post, conns)
            a_post = await drive("POST /v1/actions (201)", ours, auth, post, conns)
            drained = await wait_for_jobs(dsn)
            b_get = await drive(
                "baseline GET",
                floor,
                {},
                [Call("GET", f"/v1/actions/{i}") for i in b_post.ids],
                conns,
            )
            a_get = await drive(
                "GET /v1/actions/{id} (200)",
                ours,
                auth,
                [Call("GET", f"/v1/actions/{i}") for i in a_post.ids],
                conns,
            )
            keys = [f"bench-{uuid.uuid4()}" for _ in range(n)]
            keyed = [Call("POST", "/v1/actions", BODY, {"Idempotency-Key": k}) for k in keys]
            a_key = await drive("POST + new Idempotency-Key (201)", ours, auth, keyed, conns)
            await wait_for_jobs(dsn)
            a_replay = await drive("POST replay of a key (200)", ours, auth, keyed, conns)
            if a_replay.statuses != Counter({200: n}) or a_key.statuses != Counter({201: n}):
                raise RuntimeError(f"idempotency: {a_key.statuses} then {a_replay.statuses}")
        finally:
            stop(app)
            stop(base)

    print("baseline (minimal FastAPI + psycopg, same machine, same run)")
    report(b_post, None)
    report(b_get, None)
    print("approvals (create_app under uvicorn, in-process jobs, PostgreSQL)")
    report(a_post, b_post)
    report(a_get, b_get)
    report(a_key, b_post)
    report(a_replay, b_get)
    print(f"\n  in-process card jobs of the POST phase finished {drained:.1f} s after it ended")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per operation")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("-p", "--pool-size", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.dsn, args.pool_size)
        return
    print(f"intake benchmark · {machine()}")
    print(f"  {args.requests} requests per operation, {args.connections} connections\n")
    dsn = fresh_database(DATABASE)  # migrations run their own event loop: before ours
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(BASELINE_SCHEMA)  # type: ignore[arg-type]
    try:
        asyncio.run(run(args, dsn, asyncio.run(make_submit_key(dsn))))
    finally:
        if not args.keep_database:
            drop_database(DATABASE)


if __name__ == "__main__":
    main()
