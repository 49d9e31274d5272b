"""`require_approval`: a tool function (an AI agent's, a script's) that runs only once approved.

    from approvals.client import ApprovalsClient, require_approval

    client = ApprovalsClient("https://approvals.example.org", api_key, client_id=client_id)

    @require_approval(client, action="sql.execute", resource="db.prod.encounters",
                      justification="clean up duplicates the agent found", timeout=900)
    def run_sql(sql: str) -> int:
        ...

Each call submits its bound arguments as `params`, waits for the verdict (not at all when policy
auto-approves: the submit's answer carries the release token), verifies the release token
offline and only then runs the function, reporting the outcome with the token.

Why it works this way:
- One idempotency key per *call*, not per set of arguments: a submit retried after a network
  error returns the same request instead of asking twice, while two calls with the same
  arguments remain two actions, each needing its own approval (an approval must never be
  reusable to run something twice).
- The digest is recomputed from the arguments as they were sent, and the token is checked
  against it, its signature, issuer, audience and expiry. A token for other arguments, a
  tampered token or one signed by an unknown key raises ReleaseNotVerified; the function
  does not run. No path runs it without a verified token.
- When the caller's `timeout` passes, the request is cancelled: nobody should approve an
  action its caller has given up on (an approval nobody uses is worse than none).
- The outcome is reported with the token (single use). A failure inside the function is
  reported as `failed` with the exception's type only (messages may carry data), then
  re-raised. If reporting a success fails, the result is still returned and the problem
  logged: raising would invite a retry of an action that already ran.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ParamSpec, TypeVar, cast

import httpx

from approvals.client._async import AsyncApprovalsClient
from approvals.client._models import (
    DECIDED_NO,
    Action,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalsAPIError,
    ApprovalTimedOut,
)
from approvals.client._release import as_sent
from approvals.client._sync import ApprovalsClient

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)

Computed = str | Callable[[Mapping[str, Any]], str]


class _Request:
    """What one call submits, computed from the decorator's settings and the bound arguments."""

    def __init__(self, fn: Callable[..., Any], settings: dict[str, Any]) -> None:
        self.signature = inspect.signature(fn)
        self.settings = settings

    def build(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            kind = self.signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_KEYWORD:
                arguments.update(value)
            elif name not in self.settings["exclude"]:
                arguments[name] = list(value) if kind is inspect.Parameter.VAR_POSITIONAL else value
        params = as_sent(arguments)  # raises TypeError before anything is submitted
        fields = {
            key: (value(params) if callable(value) else value)
            for key, value in self.settings["fields"].items()
        }
        return {
            "action": self.settings["action"],
            "params": params,
            "idempotency_key": f"require-approval-{uuid.uuid4()}",
            **fields,
        }


def require_approval(
    client: ApprovalsClient | AsyncApprovalsClient,
    *,
    action: str,
    resource: Computed,
    justification: Computed | None = None,
    environment: str = "prod",
    on_behalf_of: str | None = None,
    requester: str | None = None,
    context: Mapping[str, Any] | None = None,
    tags: list[str] | None = None,
    ttl_seconds: int | None = None,
    timeout: float = 600.0,
    exclude: tuple[str, ...] = (),
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Gate a function behind a human approval; sync functions need an ApprovalsClient,
    coroutine functions an AsyncApprovalsClient.

    `resource` and `justification` may be functions of the call's params (e.g.
    `resource=lambda p: f"db.prod.{p['table']}"`). `exclude` names arguments kept out of
    `params` (they are then not bound by the approval: use it only for things like a logger).
    Raises ApprovalDenied (denied, or blocked by policy), ApprovalExpired (expired,
    cancelled; ApprovalTimedOut when `timeout` passed first), ReleaseNotVerified, or
    ApprovalsAPIError; in all of these the function has not run.
    """
    settings: dict[str, Any] = {
        "action": action,
        "exclude": frozenset(exclude),
        "timeout": timeout,
        "fields": {
            "resource": resource,
            "justification": justification,
            "environment": environment,
            "on_behalf_of": on_behalf_of,
            "requester": requester,
            "context": dict(context) if context is not None else None,
            "tags": tags,
            "ttl_seconds": ttl_seconds,
        },
    }

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        request = _Request(fn, settings)
        if inspect.iscoroutinefunction(fn):
            if not isinstance(client, AsyncApprovalsClient):
                raise TypeError(f"{fn.__name__} is async: pass an AsyncApprovalsClient")
            wrapped = _async_gate(cast(Callable[..., Awaitable[Any]], fn), client, request)
        else:
            if not isinstance(client, ApprovalsClient):
                raise TypeError(f"{fn.__name__} is not async: pass an ApprovalsClient")
            wrapped = _sync_gate(fn, client, request)
        return cast(Callable[P, R], functools.wraps(fn)(wrapped))

    return decorate


def _sync_gate(
    fn: Callable[..., Any], client: ApprovalsClient, request: _Request
) -> Callable[..., Any]:
    def gate(*args: Any, **kwargs: Any) -> Any:
        body, timeout = request.build(args, kwargs), request.settings["timeout"]
        try:
            submitted = client.submit(**body)
        except httpx.TransportError:  # same idempotency key: the same request, never two
            submitted = client.submit(**body)
        _refuse_unless_granted(submitted)
        # Auto-approved: the answer carries the token already; otherwise wait for it.
        final = submitted if submitted.settled else client.wait(submitted.id, timeout=timeout)
        if final.pending:
            raise _timed_out(final, _try(client.cancel, final.id))
        _refuse_unless_granted(final)
        client.verify_release(
            final, action_name=body["action"], resource=body["resource"], params=body["params"]
        )
        token = cast(str, final.release_token)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            _report(client.executed, final.id, token, "failed", type(exc).__name__)
            raise
        _report(client.executed, final.id, token, "succeeded")
        return result

    return gate


def _async_gate(
    fn: Callable[..., Awaitable[Any]], client: AsyncApprovalsClient, request: _Request
) -> Callable[..., Awaitable[Any]]:
    async def gate(*args: Any, **kwargs: Any) -> Any:
        body, timeout = request.build(args, kwargs), request.settings["timeout"]
        try:
            submitted = await client.submit(**body)
        except httpx.TransportError:  # same idempotency key: the same request, never two
            submitted = await client.submit(**body)
        _refuse_unless_granted(submitted)
        # Auto-approved: the answer carries the token already; otherwise wait for it.
        final = submitted if submitted.settled else await client.wait(submitted.id, timeout=timeout)
        if final.pending:
            try:
                cancelled: Action | None = await client.cancel(final.id)
            except ApprovalsAPIError:
                cancelled = None
            raise _timed_out(final, cancelled)
        _refuse_unless_granted(final)
        await client.verify_release(
            final, action_name=body["action"], resource=body["resource"], params=body["params"]
        )
        token = cast(str, final.release_token)
        try:
            result = await fn(*args, **kwargs)
        except Exception as exc:
            outcome = client.executed(final.id, token, "failed", type(exc).__name__)
            await _areport(outcome)
            raise
        await _areport(client.executed(final.id, token, "succeeded"))
        return result

    return gate


def _try(call: Callable[[str], Action], action_id: str) -> Action | None:
    try:
        return call(action_id)
    except ApprovalsAPIError:  # decided meanwhile: the caller's time is over all the same
        return None


def _timed_out(pending: Action, cancelled: Action | None) -> ApprovalTimedOut:
    done = "it was cancelled" if cancelled else "it could not be cancelled (decided meanwhile)"
    return ApprovalTimedOut(
        cancelled or pending, f"request {pending.id} was still pending at the timeout; {done}"
    )


def _refuse_unless_granted(action: Action) -> None:
    """Denied or blocked: ApprovalDenied. Ended without approval: ApprovalExpired."""
    if action.verdict in DECIDED_NO:
        raise ApprovalDenied(action)
    if not action.pending and not action.granted:
        raise ApprovalExpired(action)


def _report(executed: Callable[..., Action], *args: Any) -> None:
    try:
        executed(*args)
    except (ApprovalsAPIError, httpx.HTTPError) as exc:
        log.warning("could not report the outcome of an approved action: %s", exc)


async def _areport(call: Awaitable[Action]) -> None:
    try:
        await call
    except (ApprovalsAPIError, httpx.HTTPError) as exc:
        log.warning("could not report the outcome of an approved action: %s", exc)
