"""What the actions service needs from the process around it (built by the Runtime)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.actions.models import ActionRequest
from approvals.kit.http import Guard
from approvals.policy.engine import LoadedPolicy
from approvals.redaction import Redactor


class PolicySource(Protocol):
    def current(self) -> LoadedPolicy: ...


@dataclass(frozen=True, slots=True)
class IssuedRelease:
    """A release token minted inside the caller's transaction; `token` goes to the requester
    only, the ids and times may be audited."""

    token: str
    jti: str
    kid: str
    issued_at: datetime
    expires_at: datetime


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

    def issue_release(
        self, session: AsyncSession, action: ActionRequest, approvers: Sequence[str]
    ) -> IssuedRelease:
        """Mint `action`'s one release token and add its row to `session` (never flushes or
        commits): the release domain owns the keys and the token table."""
        ...

    async def committed(self, action_id: str, *, created: bool = False) -> None:
        """Called after each commit that changed `action_id`: relay its outbox, wake waiters.
        `created`: the commit made the request; nobody can be waiting on an id not yet
        answered, so there is nobody to wake (no change-feed round trip on the submit)."""
        ...
