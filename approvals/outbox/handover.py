"""Outbox rows handed to the job queue by the process that committed them, with no claim.

Before, every commit that wrote follow-up work kicked the relay, whose claim transaction
(a `SELECT … FOR UPDATE SKIP LOCKED` and an UPDATE of the batch) leased the rows just
written before enqueuing them: five database round trips per burst of commits, in the web
process, for rows this very process had just written. Now a row is written already leased to
its writer (`next_attempt_at` = now + the job lease), remembered by the session, and moved to
this process's hand-over list when the transaction commits; the relay enqueues the list as it
is. A row whose writer dies before the hand-over, or whose enqueue fails, is offered again by
the reconciler's claim once the lease lapses: delayed by at most one lease, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

HANDOVER = "outbox.handover"
_WRITTEN = "outbox.written"


# The attempt number of a hand-over in the job's id (`outbox-<id>-0`); a claim counts from 1.
ATTEMPT = 0


@dataclass(frozen=True, slots=True)
class Written:
    """A row to enqueue after the commit."""

    id: str
    kind: str


class Handover:
    """Rows committed in this process and not yet given to the queue (one per Runtime)."""

    def __init__(self, lease_seconds: int) -> None:
        self.lease_seconds = lease_seconds
        self._ready: list[list[Written]] = []

    def add(self, rows: list[Written]) -> None:
        """One commit's rows (they may share a job)."""
        self._ready.append(rows)

    def take(self) -> list[list[Written]]:
        """The rows of each commit since the last call, by commit."""
        ready, self._ready = self._ready, []
        return ready


def of(session: AsyncSession) -> Handover | None:
    """The session's hand-over (sessions of the Runtime have one; others are relayed)."""
    found = session.info.get(HANDOVER)
    return found if isinstance(found, Handover) else None


def remember(session: AsyncSession, row: Written) -> None:
    session.info.setdefault(_WRITTEN, []).append(row)


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    found = session.info.get(HANDOVER)
    if written and isinstance(found, Handover):
        found.add(written)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
