"""Statuses of an action request and the transitions allowed between them, as data. Pure."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    BLOCKED = "blocked"
    AUTO_APPROVED = "auto_approved"
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    RELEASED = "released"
    REJECTED = "rejected"
    EXECUTED = "executed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.APPROVED, Status.DENIED, Status.EXPIRED, Status.CANCELLED}),
    Status.AUTO_APPROVED: frozenset({Status.RELEASED}),
    Status.APPROVED: frozenset({Status.RELEASED}),
    Status.BLOCKED: frozenset({Status.REJECTED}),
    Status.DENIED: frozenset({Status.REJECTED}),
    Status.EXPIRED: frozenset({Status.REJECTED}),
    Status.CANCELLED: frozenset({Status.REJECTED}),
    Status.RELEASED: frozenset({Status.EXECUTED}),
    Status.REJECTED: frozenset(),
    Status.EXECUTED: frozenset(),
}

# Statuses a request may be created in (by intake, from the policy's outcome).
INITIAL: frozenset[Status] = frozenset({Status.PENDING, Status.BLOCKED, Status.AUTO_APPROVED})

# A decision has been reached: the requester's wait ends here.
DECIDED: frozenset[Status] = frozenset(Status) - {Status.PENDING}

# The human decision (or its absence) was positive.
GRANTED: frozenset[Status] = frozenset(
    {Status.APPROVED, Status.AUTO_APPROVED, Status.RELEASED, Status.EXECUTED}
)


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]
