"""What intake tells the policy about a request: one function for the service's submit and for
`approvals policy explain|test`, so a policy test judges exactly what production would.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from approvals.actions.schemas import ActionCreate
from approvals.kit.identity import identity_key
from approvals.policy.decision import RequestFacts
from approvals.policy.engine import LoadedPolicy
from approvals.policy.guardrails import GuardrailFinding, risk_of


class InvalidBody(ValueError):
    """A request body intake would refuse; the message names fields, never their values."""


def validate_body(body: Any) -> ActionCreate:
    """The intake schema applied to a plain JSON value (a file, a policy test case)."""
    try:
        return ActionCreate.model_validate(body)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'request'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
        raise InvalidBody("; ".join(problems)) from None


def request_facts(
    policy: LoadedPolicy, body: ActionCreate, submitter: str = ""
) -> tuple[RequestFacts, list[GuardrailFinding]]:
    """Guardrail findings on the raw params and the facts the policy matches on.

    `submitter` is the API client's identity, the requester when the body names none.
    """
    findings = policy.analyze(body.params)
    facts = RequestFacts(
        action=body.action,
        resource=body.resource,
        environment=body.environment,
        requester=identity_key(body.requester) or identity_key(submitter),
        on_behalf_of=identity_key(body.on_behalf_of) or None,
        tags=tuple(body.tags),
        risk=risk_of(findings),
        guardrail_codes=tuple(f.code for f in findings),
    )
    return facts, findings
