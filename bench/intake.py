"""Intake throughput: POST /v1/actions against the bare endpoint, in the same run.

What it measures: the real service (`approvals serve`, i.e. `create_app` under uvicorn, one
process) in two configurations, each driven over loopback by `--connections` concurrent httpx
clients: PostgreSQL + a Redis job queue with Slack enabled, as a production deployment runs
(each pending submit enqueues its card and requester-notice jobs on RQ; no worker runs during
the timed phase, so the machine's two cores serve the request path only), and the embedded
default (SQLite, jobs in-process, web page only: no card jobs, notices settled as skipped).
Then an auto-approved submit (environment `dev`) at one connection, sequentially: p50 and
whether the 201 carries the release token.

The bare endpoint (issue 14): FastAPI + uvicorn in its own process, whose POST parses the body
and does one INSERT of a comparable row through a fixed pool of psycopg async connections and
one RPUSH of its id to Redis. Rounds alternate bare / ours (`--rounds`), so both see the
same neighbours' load; each of our figures is printed as a ratio to the bare endpoint's
figure of the same round.

    PYTHONPATH=. .venv/bin/python bench/intake.py   # --requests 1000 --connections 16
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis.asyncio as aioredis
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
    percentile,
    scratch_dir,
    spawn,
    stop,
    wait_for_port,
)

DATABASE = "approvals_bench"
REDIS_URL = "redis://127.0.0.1:6379/6"  # the bench's own Redis database, flushed around runs
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
"""


def serve_baseline(port: int, dsn: str, pool_size: int) -> None:
    """Run the bare endpoint (called in its own subprocess)."""
    pool: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
    queue = aioredis.Redis.from_url(REDIS_URL)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        connections = [await psycopg.AsyncConnection.connect(dsn) for _ in range(pool_size)]
        for connection in connections:
            pool.put_nowait(connection)
        yield
        for connection in connections:
            await connection.close()
        await queue.aclose()

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
        await queue.rpush("floor_jobs", action_id)
        return JSONResponse({"id": action_id, "status": "pending"}, status_code=201)

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
    bodies: list[dict[str, Any]] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds the server process spent on these requests
    database_cpu: float = 0.0  # CPU seconds every PostgreSQL process spent meanwhile

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
    bodies: list[dict[str, Any]] = []
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
                    bodies.append(response.json())
                    ids.append(bodies[-1]["id"])

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(connections)))
        seconds = time.perf_counter() - started
    bad = {code: n for code, n in statuses.items() if code >= 300}
    if bad:
        raise RuntimeError(f"{name}: unexpected statuses {bad}")
    return Result(name, len(calls), seconds, latencies, statuses, ids, bodies)


async def make_submit_key(url: str, data_dir: Path) -> str:
    """A submit key, its webhook secret sealed with the key the server will read from
    `data_dir` (the server's own secret box)."""
    from approvals.clients import service as clients_service
    from approvals.clients.schemas import Scope
    from approvals.config import Settings
    from approvals.kit.db import create_engine, session_factory
    from approvals.runtime import secret_box

    settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)  # type: ignore[call-arg]
    engine = create_engine(url)
    try:
        created = await clients_service.create(
            session_factory(engine, secrets=secret_box(settings)),
            name="bench",
            scopes=[Scope.SUBMIT],
            identity="svc:bench@example.org",
        )
    finally:
        await engine.dispose()
    return created.api_key


def report(result: Result, baseline: Result | None) -> None:
    ratio = f"   {result.rate / baseline.rate:.2f}x {baseline.name}" if baseline else ""
    cpu = f"   {result.cpu / result.requests * 1000:.1f} CPU ms/req" if result.cpu else ""
    if result.database_cpu:
        cpu += f" (+{result.database_cpu / result.requests * 1000:.1f} in PostgreSQL)"
    print(
        f"  {result.name:<34} {result.rate:8.0f} req/s   {latency_ms(result.latencies)}{cpu}{ratio}"
    )


def database_cpu_seconds() -> dict[int, float]:
    """User + system CPU time so far of each PostgreSQL server process, by pid: what requests
    cost the database, whose CPU shares this machine's cores with the server under test."""
    found: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            head, tail = stat.read_text().rsplit(")", 1)
            if head.split("(", 1)[1].startswith("postgres"):
                fields = tail.split()
                ticks = int(fields[11]) + int(fields[12])
                found[int(stat.parent.name)] = ticks / os.sysconf("SC_CLK_TCK")
    return found


def database_cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes spent since `before` (a process that exited meanwhile is
    missed, one started meanwhile counts from zero)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in database_cpu_seconds().items())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): the cost of the requests it
    served, which the neighbours' load moves much less than wall-clock throughput."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Config:
    name: str
    database_url: str
    redis_url: str | None
    chat: bool = False  # a chat platform enabled: each pending submit owes card + notice jobs


@contextlib.contextmanager
def serving(config: Config, cwd: Any) -> Any:
    port = free_port()
    env = {
        "APPROVALS_DATABASE_URL": config.database_url,
        "APPROVALS_DATA_DIR": str(cwd / "data"),
        # the per-key submission budget would answer 429 to a benchmark
        "APPROVALS_SUBMIT_RATE_PER_MINUTE": "1000000000",
        "APPROVALS_SUBMIT_BURST": "1000000000",
        "APPROVALS_LOG_LEVEL": "WARNING",
    }
    if config.redis_url:
        env["APPROVALS_REDIS_URL"] = config.redis_url
    if config.chat:
        # Slack enabled, as in production, so a pending submit writes and enqueues its card
        # and requester-notice jobs (no worker runs them here: the Web API address is a closed
        # loopback port that nothing calls during the timed rounds).
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",
            "APPROVALS_SLACK_CHANNEL": "C0BENCH",
            "APPROVALS_SLACK_TEAM_ID": "T0BENCH",
        }
    app = spawn(
        [PYTHON, "-m", "approvals", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=child_env(env),
        cwd=cwd,
    )
    try:
        wait_for_port(port, app)
        yield f"http://127.0.0.1:{port}", app.pid
    finally:
        stop(app)


async def queued_jobs() -> int:
    """Jobs waiting on the bench's RQ queues (nothing runs them during the rounds)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter("rq:queue:*")]
        return sum([await client.llen(key) for key in keys])
    finally:
        await client.aclose()


async def flush_redis() -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def measure(
    args: argparse.Namespace, config: Config, floor: tuple[str, int], cwd: Any
) -> list[tuple[Result, Result]]:
    """Alternating rounds: (bare, ours) per round."""
    n, conns = args.requests, args.connections
    api_key = await make_submit_key(config.database_url, cwd / "data")
    auth = {"Authorization": f"Bearer {api_key}"}
    post = [Call("POST", "/v1/actions", BODY)] * n
    warm = [Call("POST", "/v1/actions", BODY)] * args.warmup
    rounds = []
    with serving(config, cwd) as (ours, pid):
        await drive("warm-up", ours, auth, warm, conns)
        for number in range(1, args.rounds + 1):
            spent, database = cpu_seconds(floor[1]), database_cpu_seconds()
            bare = await drive(f"bare POST, round {number}", floor[0], {}, post, conns)
            bare.cpu = cpu_seconds(floor[1]) - spent
            bare.database_cpu = database_cpu_since(database)
            spent, database = cpu_seconds(pid), database_cpu_seconds()
            mine = await drive(f"{config.name} POST, round {number}", ours, auth, post, conns)
            mine.cpu = cpu_seconds(pid) - spent
            mine.database_cpu = database_cpu_since(database)
            if config.redis_url:
                print(
                    f"  round {number}: {await queued_jobs()} jobs enqueued on RQ for {n} submits"
                )
            rounds.append((bare, mine))
            await flush_redis()
        auto = [Call("POST", "/v1/actions", {**BODY, "environment": "dev"})] * args.single
        spent = cpu_seconds(pid)
        one = await drive(f"{config.name} auto-approved, 1 connection", ours, auth, auto, 1)
        one.cpu = cpu_seconds(pid) - spent
        tokens = sum(1 for body in one.bodies if body.get("release_token"))
        rounds.append((one, one))
        print(
            f"  {config.name}: auto-approved at 1 connection: {latency_ms(one.latencies)}, "
            f"{one.cpu / one.requests * 1000:.1f} CPU ms/req; "
            f"release token in {tokens} of {len(one.bodies)} 201 answers"
        )
    return rounds


async def run(args: argparse.Namespace, dsn: str) -> None:
    base_port = free_port()
    with scratch_dir() as cwd:
        sqlite_path = cwd / "approvals.db"
        from approvals import migrate

        await asyncio.to_thread(migrate.upgrade, f"sqlite:///{sqlite_path}")
        configs = [
            Config("PostgreSQL + Redis", dsn, REDIS_URL, chat=True),
            Config("SQLite, embedded", f"sqlite:///{sqlite_path}", None),
        ]
        configs = [
            c for c, key in zip(configs, ("postgres", "sqlite"), strict=True) if key in args.only
        ]
        base = spawn(
            [PYTHON, __file__, "--serve-baseline", str(base_port), "--dsn", dsn, "-p", "16"],
            env=child_env(),
            cwd=cwd,
        )
        try:
            wait_for_port(base_port, base)
            floor = (f"http://127.0.0.1:{base_port}", base.pid)
            await drive("warm-up", floor[0], {}, [Call("POST", "/v1/actions", BODY)] * 100, 16)
            results = {c.name: await measure(args, c, floor, cwd) for c in configs}
        finally:
            stop(base)
            await flush_redis()
    print()
    for name, rounds in results.items():
        print(name)
        for bare, mine in rounds[:-1]:
            report(bare, None)
            report(mine, bare)
            ratio_p99 = percentile(mine.latencies, 99) / percentile(bare.latencies, 99)
            print(f"  {'':<34} p99 ratio {ratio_p99:.2f}x bare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="per round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--single", type=int, default=200, help="auto-approved, 1 connection")
    parser.add_argument(
        "--only", nargs="+", choices=("postgres", "sqlite"), default=["postgres", "sqlite"]
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--serve-baseline", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("-p", "--pool-size", type=int, default=16, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.dsn, args.pool_size)
        return
    print(f"intake benchmark · {machine()}")
    print(f"  {args.requests} requests per round, {args.connections} connections\n")
    dsn = fresh_database(DATABASE)  # migrations run their own event loop: before ours
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(BASELINE_SCHEMA)  # type: ignore[arg-type]
    try:
        asyncio.run(run(args, dsn))
    finally:
        if not args.keep_database:
            drop_database(DATABASE)


if __name__ == "__main__":
    main()
