"""The core side of ReviewPort: what chat adapters call when a reviewer clicks.

Turns every refusal into a DecisionResult with a one-sentence reason and the current card, so
adapters only render; the decision itself is `actions.decisions.decide`, as for the API.
"""

from __future__ import annotations

from approvals.actions import decisions
from approvals.actions import service as actions_service
from approvals.actions.ports import ActionsDeps
from approvals.channels.base import DecisionAttempt, DecisionResult
from approvals.channels.cards import Card, build_card
from approvals.errors import ApprovalsError, NotFound


class CoreReview:
    def __init__(self, deps: ActionsDeps, public_url: str) -> None:
        self._deps = deps
        self._public_url = public_url

    async def card(self, action_id: str) -> Card | None:
        try:
            action = await actions_service.get(self._deps, action_id)
        except NotFound:
            return None
        return build_card(action, self._public_url)

    async def decide(self, attempt: DecisionAttempt) -> DecisionResult:
        try:
            action = await decisions.decide(
                self._deps,
                attempt.action_id,
                approver=attempt.approver_email,
                verdict=attempt.verdict,
                reason=attempt.reason,
                platform=attempt.platform,
            )
        except ApprovalsError as exc:
            return DecisionResult(False, _sentence(exc.detail), await self.card(attempt.action_id))
        card = build_card(action, self._public_url)
        if action.status.value == "pending":
            message = f"Your {attempt.verdict} is recorded: {card.progress}."
        else:
            message = f"Recorded. The request is now {action.status.value}."
        return DecisionResult(True, message, card)


def _sentence(detail: str) -> str:
    text = detail[:1].upper() + detail[1:]
    return text if text.endswith(".") else text + "."
