"""Release or reject a decided request, once; record the requester's execution report.

One token per request: `issue` mints it and adds its row (primary key: the request). A request
policy auto-approves gets it in the submit's own transaction (through the actions port
`issue_release`), so the 201 carries it; every other approved request gets it here. The
release job (`settle`, in the job's own transaction, which also loads and finishes its outbox
row) locks the request row, mints the token unless intake already stored one, moves the status
and writes the callback delivery: a second run finds the status already moved and does
nothing. The delivery's outbox row is written leased to the job, which delivers it right after
the commit (`announce`: one queue hop fewer); the row stays the retry path if that attempt
fails or its process dies.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.actions import notices, repository
from approvals.actions.ports import ActionsDeps
from approvals.actions.states import Status
from approvals.audit import service as audit_service
from approvals.audit.service import NewEvent
from approvals.config import Settings
from approvals.errors import AlreadyDecided, Conflict, Forbidden, NotFound
from approvals.kit.clock import utc_now
from approvals.kit.db import is_postgres, transaction
from approvals.kit.ids import new_id
from approvals.outbox import service as outbox
from approvals.release.keys import Keyring
from approvals.release.models import CallbackDelivery, ReleaseToken
from approvals.release.tokens import InvalidReleaseToken, mint_release_token, verify_release_token

log = structlog.get_logger(__name__)

_REJECTED_FROM = (Status.DENIED, Status.EXPIRED, Status.CANCELLED, Status.BLOCKED)


class Signing(Protocol):
    """What minting needs: the issuer, the token lifetime and the signing keys."""

    @property
    def settings(self) -> Settings: ...

    @property
    def keyring(self) -> Keyring: ...


class ReleaseDeps(ActionsDeps, Signing, Protocol): ...


DeliverHeld = Callable[[str], Coroutine[Any, Any, None]]


class Releasable(Protocol):
    """What minting binds a token to: the stored request (a loaded row, or `_Subject`)."""

    @property
    def id(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def payload_digest(self) -> str: ...


class _Minted(Protocol):
    """A stored token as its `released` audit event describes it."""

    @property
    def jti(self) -> str: ...
    @property
    def kid(self) -> str: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class _StoredToken:
    jti: str
    kid: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Subject:
    """The request as a release reads it, with the token stored for it (if one is)."""

    id: str
    status: str
    client_id: str
    action: str
    resource: str
    payload_digest: str
    callback_url: str | None
    decided_by: str | None
    token: _StoredToken | None

    @classmethod
    def of(cls, row: Sequence[Any]) -> _Subject:
        """From a `_SUBJECT` row: the request's columns, then the token's (NULL if none)."""
        request = dict(zip(_REQUEST_FIELDS, row, strict=False))
        jti, kid, issued_at, expires_at = row[len(_REQUEST_FIELDS) :]
        token = None if jti is None else _StoredToken(jti, kid, issued_at, expires_at)
        return cls(**request, token=token)


_TOKENS = ReleaseToken.metadata.tables[ReleaseToken.__tablename__]
# The request and its stored token in one statement (a release used to read them in two).
_REQUEST_FIELDS = tuple(f.name for f in fields(_Subject) if f.name != "token")
_SUBJECT = (
    select(
        *(repository.ACTIONS.c[name] for name in _REQUEST_FIELDS),
        _TOKENS.c.jti,
        _TOKENS.c.kid,
        _TOKENS.c.issued_at,
        _TOKENS.c.expires_at,
    )
    .select_from(
        repository.ACTIONS.outerjoin(_TOKENS, _TOKENS.c.action_id == repository.ACTIONS.c.id)
    )
    .where(repository.ACTIONS.c.id == bindparam("action_id"))
)
# The request row is held until commit, so decisions and releases of one request queue (the
# token's side of the outer join cannot be locked, and needs no lock: its key is the request).
_SUBJECT_LOCKED = _SUBJECT.with_for_update(of=repository.ACTIONS)


async def _subject(session: AsyncSession, action_id: str) -> _Subject | None:
    query = _SUBJECT_LOCKED if is_postgres(session) else _SUBJECT
    row = (await session.execute(query, {"action_id": action_id})).first()
    return None if row is None else _Subject.of(row)


@dataclass(frozen=True, slots=True)
class Settled:
    """What a release wrote: the request's new status, and the callback owed (its outbox id)."""

    action_id: str
    status: Status
    callback_job: str | None


async def settle(
    deps: ReleaseDeps, session: AsyncSession, action_id: str, *, held_for_seconds: int
) -> Settled | None:
    """Move a decided request to released (token minted) or rejected, in the caller's
    transaction (the release job's, which also loads and finishes its outbox row in it: one
    transaction per release). None: nothing (left) to do, an earlier run did it.

    `held_for_seconds`: the callback's outbox row is written leased to this run, which
    delivers it right after the commit (`announce`), instead of leaving it to a second queue
    hop; no other worker is offered it meanwhile unless this process dies."""
    action = await _subject(session, action_id)
    if action is None:
        return None
    current = Status(action.status)
    now = utc_now()
    if current in (Status.APPROVED, Status.AUTO_APPROVED):
        # Auto-approved: intake stored the token the requester holds already (rows from
        # before intake minted get theirs now). A person's approval is minted here.
        token: _Minted | None = action.token if current is Status.AUTO_APPROVED else None
        if token is None:
            votes = await repository.votes(session, action_id)
            approvers = sorted(v.approver for v in votes if v.verdict == "approve")
            token = issue(deps, session, action, approvers or [action.decided_by or "policy"], now)
        callback_job = await _finish_release(
            session, action, token, "system:worker", now, held_for_seconds
        )
        return Settled(action_id, Status.RELEASED, callback_job)
    if current in _REJECTED_FROM:
        await repository.transition(session, action_id, expected=current, to=Status.REJECTED)
        callback_job = _owe_callback(
            session, action_id, action.callback_url, Status.REJECTED, now, held_for_seconds
        )
        audit_service.add(
            session,
            [NewEvent(Status.REJECTED.value, "system:worker", action_id, {"from": current.value})],
        )
        return Settled(action_id, Status.REJECTED, callback_job)
    return None  # released, rejected or executed already: a duplicate run


async def announce(deps: ReleaseDeps, settled: Settled, *, deliver: DeliverHeld) -> None:
    """After the release's commit: wake waiters, relay the other rows it wrote (`committed`),
    then deliver the callback it owes."""
    released = settled.status is Status.RELEASED
    log.info("action.released" if released else "action.rejected", action_id=settled.action_id)
    await deps.committed(settled.action_id)
    if settled.callback_job is not None:
        await deliver(settled.callback_job)


def issue(
    deps: Signing,
    session: AsyncSession,
    action: Releasable,
    approvers: Sequence[str],
    now: datetime,
) -> ReleaseToken:
    """Mint the request's release token and add its row (never flushes or commits)."""
    minted = mint_release_token(
        deps.keyring,
        issuer=deps.settings.base_url,
        action_id=action.id,
        audience_client_id=action.client_id,
        action=action.action,
        resource=action.resource,
        payload_digest=action.payload_digest,
        approvers=approvers,
        ttl_seconds=deps.settings.release_token_ttl_seconds,
        now=now,
    )
    row = ReleaseToken(
        action_id=action.id,
        jti=minted.jti,
        kid=minted.kid,
        token=minted.token,
        issued_at=minted.issued_at,
        expires_at=minted.expires_at,
        used_at=None,
        outcome=None,
        outcome_detail=None,
    )
    session.add(row)
    return row


async def _finish_release(
    session: AsyncSession,
    action: _Subject,
    token: _Minted,
    actor: str,
    now: datetime,
    held_for_seconds: int | None,
) -> str | None:
    """Granted → released with the stored token: the status, the callback owed, the
    requester's notice and the audit event, in the caller's transaction (the new rows are
    added to the session: written with its other new rows). Returns the callback's outbox
    id, if one is owed."""
    action_id = action.id
    await repository.transition(
        session, action_id, expected=Status(action.status), to=Status.RELEASED
    )
    callback_job = _owe_callback(
        session, action_id, action.callback_url, Status.RELEASED, now, held_for_seconds
    )
    notices.owe(session, action_id, notices.RELEASED)
    payload = {
        "jti": token.jti,
        "kid": token.kid,
        "issued_at": token.issued_at.isoformat(),
        "expires_at": token.expires_at.isoformat(),
    }
    audit_service.add(session, [NewEvent(Status.RELEASED.value, actor, action_id, payload)])
    return callback_job


def _owe_callback(
    session: AsyncSession,
    action_id: str,
    callback_url: str | None,
    status: Status,
    now: datetime,
    held_for_seconds: int | None,
) -> str | None:
    if not callback_url:
        return None
    delivery_id = new_id()
    session.add(
        CallbackDelivery(
            id=delivery_id,
            action_id=action_id,
            event=status.value,
            state="pending",
            attempts=0,
            last_status=None,
            last_error=None,
            created_at=now,
            finished_at=None,
        )
    )
    return outbox.add(
        session,
        "callbacks.deliver",
        delivery_id,
        f"callbacks.deliver:{delivery_id}",
        held_for_seconds=held_for_seconds,
    )


@dataclass(frozen=True, slots=True)
class ReleaseView:
    client_id: str | None
    token: ReleaseToken | None
    deliveries: list[CallbackDelivery]


async def view(session: AsyncSession, action_id: str) -> ReleaseView:
    action = await repository.get(session, action_id)
    result = await session.execute(
        select(CallbackDelivery)
        .where(CallbackDelivery.action_id == action_id)
        .order_by(CallbackDelivery.created_at)
    )
    return ReleaseView(
        action.client_id if action else None,
        await session.get(ReleaseToken, action_id),
        list(result.scalars()),
    )


async def mark_executed(
    deps: ReleaseDeps,
    action_id: str,
    *,
    client_id: str,
    actor: str,
    token: str,
    outcome: str,
    detail: str | None,
) -> None:
    """The requester reports what happened, presenting its release token (single use)."""
    try:
        claims = verify_release_token(
            token, deps.keyring, issuer=deps.settings.base_url, audience=client_id, now=utc_now()
        )
    except InvalidReleaseToken as exc:
        raise Forbidden(f"the release token is not valid: {exc.reason.value}") from None
    if claims.action_id != action_id:
        raise Forbidden("the release token was issued for another request")
    async with transaction(deps.db) as session:
        action = await _subject(session, action_id)
        if action is None or action.client_id != client_id:
            raise NotFound("no action request with this id")
        if claims.payload_digest != action.payload_digest:
            raise Forbidden("the release token is bound to another payload")
        if action.status == Status.AUTO_APPROVED.value:
            # The requester ran on the token of its 201 before the release job got here: the
            # release is finished now, in this transaction (the job then finds nothing to do).
            stored = action.token
            if stored is not None and stored.jti == claims.jti:
                await _finish_release(session, action, stored, "system:api", utc_now(), None)
        used = await session.execute(
            update(ReleaseToken)
            .where(
                ReleaseToken.action_id == action_id,
                ReleaseToken.jti == claims.jti,
                ReleaseToken.used_at.is_(None),
            )
            .values(used_at=utc_now(), outcome=outcome, outcome_detail=detail)
        )
        if (used.rowcount or 0) != 1:  # type: ignore[attr-defined]
            raise Conflict("this release token was already used; a token works once")
        if not await repository.transition(
            session, action_id, expected=Status.RELEASED, to=Status.EXECUTED, execution=outcome
        ):
            raise AlreadyDecided(f"the request is {action.status}, not released")
        # After the released event, if this transaction added one: the commit's flush writes
        # new rows in the order they were added.
        audit_service.add(
            session,
            [
                NewEvent(
                    "executed",
                    actor,
                    action_id,
                    {"outcome": outcome, "jti": claims.jti, "has_detail": detail is not None},
                )
            ],
        )
    await deps.committed(action_id)
