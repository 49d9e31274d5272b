"""Job bodies, by outbox kind. Each loads its row by id, acts idempotently, and records.

Every task may run twice or die half-way: cards are posted once per (platform, channel)
because refs are stored and checked, and updates re-render the current state.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals import metrics, telemetry
from approvals.actions import messages
from approvals.actions import service as actions_service
from approvals.actions.ports import ActionsDeps
from approvals.actions.schemas import ActionRead
from approvals.channels.base import Channel, MessageRef, PostIncomplete
from approvals.channels.cards import Card, build_card
from approvals.config import Settings
from approvals.jobs import notify
from approvals.kit import tracing
from approvals.kit.bulk import insert_added
from approvals.kit.clock import utc_now
from approvals.kit.db import transaction
from approvals.outbox import service as outbox
from approvals.outbox.service import RetryLater
from approvals.release import callbacks
from approvals.release import service as release_service
from approvals.release.keys import Keyring

log = structlog.get_logger(__name__)


class TaskContext(ActionsDeps, Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def keyring(self) -> Keyring: ...

    @property
    def channels(self) -> Mapping[str, Channel]: ...

    @property
    def callback_tls(self) -> ssl.SSLContext: ...


Handler = Callable[[TaskContext, str], Awaitable[None]]
"""Does the work of one outbox row, given the row's `target_id`; the runner marks it done."""
AfterCommit = Callable[[], Awaitable[None]]
Settling = Callable[[TaskContext, AsyncSession, str], Awaitable[AfterCommit | None]]
"""A job whose work is one transaction writes in the runner's: the one that loaded its outbox
row and marks it done, so the release job on every approval costs one transaction, not three.
What it returns runs after the commit (waking waiters, delivering the callback it owes)."""


class CopiesPending(Exception):
    """Some card copies failed transiently; the job is retried (with backoff) for them."""


async def post_cards(ctx: TaskContext, action_id: str) -> None:
    if not ctx.channels:
        return  # web-only: the page reads the database, nothing to post
    await _post_copies(ctx, action_id, lambda action: action.channels)


async def _post_copies(
    ctx: TaskContext, action_id: str, wanted_by: Callable[[ActionRead], list[str]]
) -> None:
    """Post every copy not yet posted or dead-lettered, store each posted one at once.

    A copy that failed for good is dead-lettered (audited, never retried); one that failed
    transiently makes the job retry while the request is pending, and is dead-lettered with
    its last error once it no longer is (a card nobody can vote on helps no one).
    """
    action = await actions_service.get(ctx, action_id)
    card = build_card(action, ctx.settings.base_url)
    done = {(m.platform, m.channel_id) for m in await messages.posted(ctx.db, action_id)}
    done |= await messages.undeliverable(ctx.db, action_id)
    retry: dict[tuple[str, str], str] = {}
    for name, channel in ctx.channels.items():
        wanted = platform_targets(wanted_by(action), name)
        if wanted is None:
            continue
        targets = [t for t in dict.fromkeys(t or channel.default_target for t in wanted) if t]
        if len(targets) < len(wanted):
            log.warning("cards.no_default_channel", action_id=action_id, platform=name)
        targets = [t for t in targets if (name, t) not in done]
        if not targets:
            continue
        gone: dict[str, str] = {}
        try:
            refs = await channel.post(card, targets)
        except PostIncomplete as incomplete:
            refs, gone = incomplete.posted, incomplete.gone
            retry.update({(name, t): code for t, code in incomplete.retry.items()})
        await messages.record_posted(
            ctx.db,
            action_id,
            [(ref.platform, ref.channel_id, ref.message_id, ref.service_url) for ref in refs],
        )
        for target, code in gone.items():
            await messages.record_undeliverable(ctx.db, action_id, name, target, code)
    if not retry:
        return
    if action.status.value == "pending" and action.expires_at > utc_now():
        raise CopiesPending(", ".join(f"{p}:{t} {code}" for (p, t), code in retry.items()))
    for (name, target), code in retry.items():
        await messages.record_undeliverable(
            ctx.db, action_id, name, target, f"{code}; gave up: the request is no longer pending"
        )


def platform_targets(channels: list[str], platform: str) -> list[str] | None:
    """What the rule's `channels` ask of one platform.

    None: not at all. Otherwise the channel ids to post to, "" standing for the platform's
    configured default: `slack:C123` names a channel, a bare `slack` the default (both may
    be given). A rule that names no channels at all posts to every enabled platform's default.
    """
    if not channels:
        return [""]
    wanted = [c.split(":", 1)[1] for c in channels if c.startswith(f"{platform}:")]
    if platform in channels:
        wanted.append("")
    return wanted or None


async def update_cards(ctx: TaskContext, action_id: str) -> None:
    if not ctx.channels:
        return  # web-only: the page reads the database, nothing to post
    action = await actions_service.get(ctx, action_id)
    card = build_card(action, ctx.settings.base_url)
    stored = await messages.posted(ctx.db, action_id)
    failed: Exception | None = None
    for name, channel in ctx.channels.items():
        refs = [
            MessageRef(m.platform, m.channel_id, m.message_id, m.service_url)
            for m in stored
            if m.platform == name
        ]
        try:
            if refs:
                await channel.update(refs, card)
        except Exception as exc:  # one platform down must not leave the others stale
            failed = exc
    if failed is not None:
        raise failed  # the job is retried; re-rendering every copy is idempotent


@runtime_checkable
class Reminding(Protocol):
    """Platforms that can nudge under an existing card (a thread reply) implement this."""

    async def remind(self, refs: Sequence[MessageRef], card: Card, note: str) -> None: ...


async def remind(ctx: TaskContext, action_id: str) -> None:
    if not ctx.channels:
        return  # web-only: the page reads the database, nothing to post
    action = await actions_service.get(ctx, action_id)
    if action.status.value != "pending":
        return
    card = build_card(action, ctx.settings.base_url)
    stored = await messages.posted(ctx.db, action_id)
    note = f"Still waiting for a decision; expires {action.expires_at:%H:%M UTC}."
    for name, channel in ctx.channels.items():
        refs = [
            MessageRef(m.platform, m.channel_id, m.message_id, m.service_url)
            for m in stored
            if m.platform == name
        ]
        if refs and isinstance(channel, Reminding):
            await channel.remind(refs, card, note)


async def escalate(ctx: TaskContext, action_id: str) -> None:
    """Post the card to the rule's `escalate_to` channels (once per channel: refs are stored)."""
    if not ctx.channels:
        return  # web-only: the page reads the database, nothing to post
    action = await actions_service.get(ctx, action_id)
    if action.status.value != "pending" or not action.escalate_to:
        return
    await _post_copies(ctx, action_id, lambda found: found.escalate_to)


async def release(ctx: TaskContext, session: AsyncSession, action_id: str) -> AfterCommit | None:
    held = ctx.settings.job_lease_seconds
    settled = await release_service.settle(ctx, session, action_id, held_for_seconds=held)
    if settled is None:
        return None

    async def deliver(callback_job: str) -> None:
        # The callback is the work this release owes next, and this worker is already here:
        # deliver it now rather than after a second queue hop. `run` records the outcome on
        # its outbox row as for any job, so a failure is retried by the relay under the same
        # delivery id, and a crash here is re-offered when the row's lease lapses.
        await run(ctx, callback_job)

    async def announce() -> None:
        await release_service.announce(ctx, settled, deliver=deliver)

    return announce


async def deliver_callback(ctx: TaskContext, delivery_id: str) -> None:
    await callbacks.deliver(ctx, delivery_id)


async def notify_requester(ctx: TaskContext, notice_id: str) -> None:
    await notify.notify_requester(ctx, ctx.settings, ctx.channels, notice_id)


SETTLING: dict[str, Settling] = {"release": release}
HANDLERS: dict[str, Handler] = {
    "callbacks.deliver": deliver_callback,
    "cards.post": post_cards,
    "cards.update": update_cards,
    "cards.remind": remind,
    "cards.escalate": escalate,
    "notify.requester": notify_requester,
}


def _backoff(attempts: int) -> float:
    return float(min(300, 2 ** min(attempts, 8)))


async def run(ctx: TaskContext, outbox_id: str) -> None:
    """Run one outbox row's job; failures are recorded and retried with backoff."""
    db: async_sessionmaker[AsyncSession] = ctx.db
    async with db() as session:
        row = await outbox.unfinished(session, outbox_id)
        if row is None:
            return
        settling = SETTLING.get(row.kind)
        if settling is not None:
            with _job_scope(row):
                await _settle(ctx, session, row, settling)
            return
    with _job_scope(row):
        await _run_handler(ctx, row)


@contextmanager
def _job_scope(row: outbox.Unfinished) -> Iterator[None]:
    """The job's logs carry the writing request's id; its span continues that request's."""
    with (
        tracing.bound_request_id(row.request_id),
        telemetry.job_span(row.kind, row.id, row.traceparent),
    ):
        yield


async def _settle(
    ctx: TaskContext, session: AsyncSession, row: outbox.Unfinished, settling: Settling
) -> None:
    started = time.perf_counter()
    try:
        with metrics.job_duration.labels(kind=row.kind).time():
            after = await settling(ctx, session, row.target_id)
            await outbox.mark_done(session, row.id)
            # Its new rows, last: no ORM flush, and on SQLite the COMMIT goes with them.
            await insert_added(session, standalone=False)
            await session.commit()
    except Exception as exc:
        await session.rollback()
        await _failed(ctx, row, exc)
        return
    _done(row, started)
    if after is not None:  # the commit gave the connection back: no transaction spans this
        await after()


async def _run_handler(ctx: TaskContext, row: outbox.Unfinished) -> None:
    handler = HANDLERS.get(row.kind)
    if handler is None:
        log.error("job.unknown_kind", kind=row.kind, outbox_id=row.id)
        return
    started = time.perf_counter()
    try:
        with metrics.job_duration.labels(kind=row.kind).time():
            await handler(ctx, row.target_id)
    except Exception as exc:
        await _failed(ctx, row, exc)
        return
    async with transaction(ctx.db) as session:
        await outbox.mark_done(session, row.id)
    _done(row, started)


async def _failed(ctx: TaskContext, row: outbox.Unfinished, exc: Exception) -> None:
    """Record the failure on the row: the relay offers it again after the backoff, or when a
    RetryLater asked (e.g. a receiver's Retry-After)."""
    metrics.jobs.labels(kind=row.kind, result="retry").inc()
    if isinstance(exc, RetryLater):
        error, seconds = exc.reason, exc.seconds
    else:
        log.warning(
            "job.failed",
            kind=row.kind,
            outbox_id=row.id,
            attempts=row.attempts,
            error=type(exc).__name__,
        )
        error, seconds = type(exc).__name__, _backoff(row.attempts)
    async with transaction(ctx.db) as session:
        await outbox.mark_failed(session, row.id, error=error, retry_in_seconds=seconds)


def _done(row: outbox.Unfinished, started: float) -> None:
    metrics.jobs.labels(kind=row.kind, result="done").inc()
    metrics.job_latency.labels(kind=row.kind).observe((utc_now() - row.created_at).total_seconds())
    log.info(
        "job.done",
        kind=row.kind,
        outbox_id=row.id,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
