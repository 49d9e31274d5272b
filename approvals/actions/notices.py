"""Direct messages owed to the people a request is for, so nobody has to poll for its fate.

The core only records *that* a state change is owed to the requester (a `RequesterNotice` row
and its outbox job, in the state change's own transaction); which platform knows the person
and how the message looks is the channels' business. Idempotent per (request, event): the
outbox dedupe key and the unique row both stop a second notice for the same change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.actions.models import RequesterNotice
from approvals.kit.bulk import built
from approvals.kit.clock import utc_now
from approvals.kit.identity import identity_key
from approvals.kit.ids import new_id
from approvals.outbox import service as outbox

KIND = "notify.requester"
POSTED, APPROVED, DENIED, EXPIRED, RELEASED = "posted", "approved", "denied", "expired", "released"
EVENTS = frozenset({POSTED, APPROVED, DENIED, EXPIRED, RELEASED})

# A person is a plain email address. Service identities (`svc:etl`, `svc:etl@example.org`,
# `system:ttl`) carry a scheme before a colon and are never looked up.
_PERSON = re.compile(r"^[^@:\s]+@[^@:\s]+\.[^@:\s]+$")


REACH = "actions.reach"


@dataclass(frozen=True, slots=True)
class Reach:
    """What this process can deliver beyond the database, carried in every session's `info`
    by the Runtime: whether any chat platform posts cards, and why no requester can be told
    anything right now (None: they can; the `notify.requester` job's own rule). Follow-up
    work that could only be a no-op is then settled in the state change's own transaction
    instead of costing a job (on a web-only deployment, the embedded default, five
    transactions per pending submit). The job would decide the same a moment later."""

    posts_cards: Callable[[], bool]
    notice_skip_reason: Callable[[], str | None]


def reach_of(session: AsyncSession) -> Reach | None:
    """None for a session the Runtime did not make: its follow-up work goes to jobs."""
    found = session.info.get(REACH)
    return found if isinstance(found, Reach) else None


def owe(session: AsyncSession, action_id: str, event: str) -> None:
    """Record the notice and its job inside the caller's transaction (never commits); a
    notice nobody can be sent is recorded as skipped at once, with the reason, and no job."""
    if event not in EVENTS:
        raise ValueError(f"unknown requester notice event {event!r}")
    reach = reach_of(session)
    why_not = reach.notice_skip_reason() if reach is not None else None
    notice_id = new_id()
    now = utc_now()
    session.add(
        built(  # no per-attribute events: every decided request writes one
            RequesterNotice,
            id=notice_id,
            action_id=action_id,
            event=event,
            state="pending" if why_not is None else "skipped",
            sent_to=[],
            detail=why_not,
            created_at=now,
            finished_at=None if why_not is None else now,
        )
    )
    if why_not is None:
        outbox.add(session, KIND, notice_id, f"{KIND}:{action_id}:{event}")


def people(requester: str, on_behalf_of: str | None) -> list[str]:
    """Who may be told: the requester and on_behalf_of when they are people, once each."""
    found: list[str] = []
    for identity in (requester, on_behalf_of or ""):
        value = identity_key(identity)
        if _PERSON.match(value) and value not in found:
            found.append(value)
    return found


async def get(session: AsyncSession, notice_id: str) -> RequesterNotice | None:
    query = select(RequesterNotice).where(RequesterNotice.id == notice_id)
    return (await session.execute(query)).scalar_one_or_none()


async def claim(session: AsyncSession, notice_id: str, *, lease_seconds: int) -> list[str] | None:
    """Lease a pending notice to this run while it sends, so a second run of the job does not
    send too; no lock is held across the platform calls. Returns who was told already, or None
    when the notice is no longer pending or another run's lease has not lapsed."""
    now = utc_now()
    result = await session.execute(
        update(RequesterNotice)
        .where(
            RequesterNotice.id == notice_id,
            RequesterNotice.state == "pending",
            or_(RequesterNotice.claimed_until.is_(None), RequesterNotice.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=lease_seconds))
        .returning(RequesterNotice.sent_to)
    )
    told = result.scalar_one_or_none()
    return None if told is None else list(told)


async def for_action(session: AsyncSession, action_id: str) -> list[RequesterNotice]:
    query = (
        select(RequesterNotice)
        .where(RequesterNotice.action_id == action_id)
        .order_by(RequesterNotice.created_at)
    )
    return list((await session.execute(query)).scalars())


async def finish(
    session: AsyncSession,
    notice_id: str,
    *,
    state: str,
    sent_to: Sequence[str],
    detail: str | None = None,
) -> None:
    """`state` pending keeps the row open for a retry while remembering who was told.
    Only a pending row changes: a notice already sent or skipped stays as it ended."""
    await session.execute(
        update(RequesterNotice)
        .where(RequesterNotice.id == notice_id, RequesterNotice.state == "pending")
        .values(
            state=state,
            sent_to=list(sent_to),
            detail=detail,
            finished_at=None if state == "pending" else utc_now(),
            claimed_until=None,
        )
    )
