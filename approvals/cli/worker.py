"""`approvals worker`: run background work (card posts and updates, releases, expiry sweeps).

With APPROVALS_REDIS_URL: an RQ worker on the priority queues plus a reconciler thread.
Without: the same jobs in this process (outbox rows are leased, so several workers may share
one database; PostgreSQL skips rows another worker holds).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import structlog
import typer

from approvals.cli.common import settings_or_exit, with_runtime
from approvals.kit.logging import configure_logging

if TYPE_CHECKING:
    from approvals.runtime import Runtime


def worker(
    burst: Annotated[
        bool, typer.Option(help="Do what is queued or due now, then exit (tests, cron).")
    ] = False,
) -> None:
    """Process background work until stopped (Ctrl-C or SIGTERM finish the current job)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from approvals.jobs.queue import InProcessQueue
    from approvals.jobs.worker import run_worker

    settings = settings_or_exit()
    configure_logging(settings)
    if settings.redis_url:
        if burst:  # relay what is due first, so a burst run also picks up un-relayed rows
            with_runtime(_tick, settings)
        try:
            worked = run_worker(settings, settings.redis_url, burst=burst)
        except RedisConnectionError as exc:
            # Only a --burst run gets here (a long-running worker waits for Redis to return):
            # one log line (JSON under APPROVALS_LOG_JSON), not a traceback, and exit 1.
            structlog.get_logger(__name__).error(
                "worker.queue_unreachable", error=type(exc).__name__
            )
            raise typer.Exit(1) from None
        typer.echo("worked" if worked else "nothing to do")
        return

    async def work(runtime: Runtime) -> tuple[int, int]:
        if not burst:
            runtime.start_background()
            if settings.worker_health_port:
                from approvals.jobs.health_server import serve_health

                await serve_health(runtime, settings.host, settings.worker_health_port)
            await asyncio.Event().wait()
        expired, relayed = await _tick(runtime)
        if isinstance(runtime.queue, InProcessQueue):
            await runtime.queue.drain()
        return expired, relayed

    try:
        expired, relayed = with_runtime(work, settings)
    except KeyboardInterrupt:
        return
    typer.echo(f"expired {expired} request(s), ran {relayed} job(s)")


async def _tick(runtime: Runtime) -> tuple[int, int]:
    from approvals.jobs import reconciler

    return await reconciler.tick(
        runtime, runtime.queue, lease_seconds=runtime.settings.job_lease_seconds
    )
