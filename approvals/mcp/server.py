"""MCP tools over the SDK: an agent asks for approval, checks the state, reports the outcome.

Everything goes through AsyncApprovalsClient, so the agent's key and scopes apply exactly
as for any other client. A release token is handed to the agent only once it has been
verified offline against what this server submitted (the payload digest it recomputes), so
an agent can treat `release_verified: true` as "go".

The server remembers, for its own lifetime, what it submitted per request id: that is what
the token is checked against, and the token is kept for `report_executed`. A request
submitted elsewhere can be read, but its token is not vouched for here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.context import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp_types import CallToolResult, ToolAnnotations
from mcp_types import InputRequiredResult as _InputRequired
from pydantic import BaseModel, Field, ValidationError

from approvals.client import (
    Action,
    ApprovalsAPIError,
    AsyncApprovalsClient,
    ReleaseNotVerified,
)
from approvals.kit.validation import declared_names, describe, sentence

# MCP clients time a tool call out (often after a minute or two); longer waits are done by
# calling approval_status again.
MAX_WAIT_SECONDS = 600.0

INSTRUCTIONS = """\
Privileged actions (production SQL, data exports, infrastructure changes) need a human
approval first. Call request_approval with exactly what you are going to run (action,
resource, params) and why (justification). Run the action only when the answer has
release_verified true, and exactly as submitted; then call report_executed. When the answer
is pending, call approval_status (with wait_seconds) later. Denied, blocked, expired or
cancelled means: do not run it; tell the user the reason."""


class ApprovalState(BaseModel):
    """What the agent needs to decide its next step."""

    id: str
    status: str = Field(description="pending, approved, released, executed, denied, ...")
    verdict: str | None = Field(None, description="approved, auto_approved, denied, blocked, ...")
    decided_by: str | None = None
    reason: str | None = Field(None, description="The reviewer's or the policy's reason.")
    risk: str
    required_approvals: int
    approvals: int
    expires_at: datetime
    release_verified: bool = Field(
        False, description="True: the token was checked for exactly this payload; go ahead."
    )
    release_token: str | None = Field(None, description="Only when release_verified.")
    release_problem: str | None = None
    next_step: str


@dataclass
class _Submitted:
    action: str
    resource: str
    params: dict[str, Any]
    token: str | None = None


class _Server(MCPServer[Any]):
    """MCPServer whose argument errors follow kit.validation's rule.

    The library answers invalid arguments with str(ValidationError), which quotes every
    rejected value (`input_value={... 'ssn': ...}`) back to the agent, and through it to
    transcripts and logs; this answers with where and what only.
    """

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | _InputRequired:
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            tool = self._tool_manager.get_tool(name)
            known = declared_names(tool.parameters if tool else {})
            described = describe(cause.errors(), known, skip=frozenset())
            raise ToolError(
                f"Error executing tool {name}: invalid arguments: {sentence(described)}"
            ) from cause


def build_server(client: AsyncApprovalsClient) -> MCPServer[Any]:
    """The MCP server; the caller owns `client` (and closes it after the server stops)."""
    server: MCPServer[Any] = _Server(name="approvals", instructions=INSTRUCTIONS)
    submitted: dict[str, _Submitted] = {}

    async def state(action: Action) -> ApprovalState:
        mine = submitted.get(action.id)
        verified, problem = False, None
        if action.release_token and mine is not None:
            try:
                await client.verify_release(
                    action, action_name=mine.action, resource=mine.resource, params=mine.params
                )
                verified, mine.token = True, action.release_token
            except ReleaseNotVerified as exc:
                problem = f"{exc.reason}: {exc.detail}"
        elif action.release_token:
            problem = "submitted outside this MCP server: verify the token with the SDK"
        return ApprovalState(
            id=action.id,
            status=action.status,
            verdict=action.verdict,
            decided_by=action.decided_by,
            reason=action.decision_reason,
            risk=action.risk,
            required_approvals=action.required_approvals,
            approvals=action.approvals,
            expires_at=action.expires_at,
            release_verified=verified,
            release_token=action.release_token if verified else None,
            release_problem=problem,
            next_step=_next_step(action, verified, problem),
        )

    @server.tool(
        annotations=ToolAnnotations(title="Request a human approval", idempotent_hint=False)
    )
    async def request_approval(
        action: str,
        resource: str,
        justification: str,
        params: dict[str, Any] | None = None,
        environment: str = "prod",
        on_behalf_of: str | None = None,
        context: dict[str, Any] | None = None,
        wait_seconds: float = 0.0,
        idempotency_key: str | None = None,
    ) -> ApprovalState:
        """Ask a human to approve one privileged action before you run it.

        action: what will run, as a dotted name (sql.execute, s3.export, k8s.scale).
        resource: what it runs on (db.prod.encounters, s3://bucket/prefix).
        params: the exact command (e.g. {"sql": "..."}); the approval is bound to it.
        justification: why, in a sentence the reviewer will read.
        wait_seconds: how long to wait for the verdict (0: return at once; max 600).
        idempotency_key: reuse it when retrying the same request after an error.
        """
        try:
            made = await client.submit(
                action=action,
                resource=resource,
                params=params or {},
                justification=justification,
                environment=environment,
                on_behalf_of=on_behalf_of,
                context=context,
                idempotency_key=idempotency_key,
            )
            submitted[made.id] = _Submitted(action, resource, dict(params or {}))
            return await state(await _waited(client, made, wait_seconds))
        except ApprovalsAPIError as exc:
            raise ToolError(f"the approvals service refused: {exc.detail}") from None

    @server.tool(annotations=ToolAnnotations(title="Check an approval", read_only_hint=True))
    async def approval_status(id: str, wait_seconds: float = 0.0) -> ApprovalState:
        """The current state of a request from request_approval; wait up to wait_seconds
        (max 600) for it to be decided and released."""
        try:
            return await state(await _waited(client, await client.get(id), wait_seconds))
        except ApprovalsAPIError as exc:
            raise ToolError(f"the approvals service refused: {exc.detail}") from None

    @server.tool(annotations=ToolAnnotations(title="Report the outcome", idempotent_hint=False))
    async def report_executed(
        id: str,
        outcome: Literal["succeeded", "failed"] = "succeeded",
        detail: str | None = None,
    ) -> ApprovalState:
        """After running an approved action, report how it went (once per approval).
        detail: a short note (e.g. "1 row deleted"); it is redacted and kept in the audit trail."""
        mine = submitted.get(id)
        if mine is None or mine.token is None:
            raise ToolError("no verified release for this request here: call approval_status")
        try:
            return await state(await client.executed(id, mine.token, outcome, detail))
        except ApprovalsAPIError as exc:
            raise ToolError(f"the approvals service refused: {exc.detail}") from None

    return server


async def _waited(client: AsyncApprovalsClient, action: Action, wait_seconds: float) -> Action:
    wait = min(max(wait_seconds, 0.0), MAX_WAIT_SECONDS)
    if wait <= 0 or action.settled:  # settled: decided against, ended, or its token is here
        return action
    return await client.wait(action.id, timeout=wait)


def _next_step(action: Action, verified: bool, problem: str | None) -> str:
    if verified:
        return "Approved and verified: run exactly what you submitted, then call report_executed."
    if action.status == "executed":
        return "Done: the outcome is recorded."
    if problem:
        return f"Do NOT run it: the release could not be verified ({problem})."
    if action.pending:
        return "Waiting for a reviewer: call approval_status with wait_seconds later."
    if action.status in ("approved", "auto_approved"):
        return "Approved; the release token is being minted: call approval_status again."
    if action.verdict in ("denied", "blocked"):
        return "Do NOT run it: it was refused. Tell the user the reason."
    return f"Do NOT run it: the request is {action.verdict or action.status}."
