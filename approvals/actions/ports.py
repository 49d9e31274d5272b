"""What the actions service needs from the process around it (built by the Runtime)."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.kit.http import Guard
from approvals.policy.engine import LoadedPolicy
from approvals.redaction import Redactor


class PolicySource(Protocol):
    def current(self) -> LoadedPolicy: ...


class ActionsDeps(Protocol):
    @property
    def db(self) -> async_sessionmaker[AsyncSession]: ...

    @property
    def policies(self) -> PolicySource: ...

    def redactor_for(self, policy: LoadedPolicy) -> Redactor:
        """The redactor with this policy's `redaction:` extensions (built once per version)."""
        ...

    @property
    def callback_guard(self) -> Guard:
        """Which callback destinations may be reached (SSRF guard)."""
        ...

    async def committed(self, action_id: str, *, new: bool = False) -> None:
        """Called after each commit that changed `action_id`: relay its outbox, wake waiters.

        `new`: the commit created the request, whose id nobody has been told yet, so nobody
        can be waiting on it and no change is broadcast."""
        ...
