"""The core side of ReviewPort: what chat adapters call when a reviewer clicks.

Turns every refusal into a DecisionResult with a one-sentence reason and the current card, so
adapters only render; the decision itself is `actions.decisions.decide`, as for the API.
"""

from __future__ import annotations

from approvals.actions import decisions, repository
from approvals.actions import service as actions_service
from approvals.actions.ports import ActionsDeps, PolicySource
from approvals.actions.reading import to_read
from approvals.actions.schemas import ActionRead
from approvals.actions.states import Status
from approvals.channels.base import DecisionAttempt, DecisionResult
from approvals.channels.cards import Card, build_card
from approvals.errors import ApprovalsError, NotFound, StepUpRequired
from approvals.identity import links
from approvals.kit.clock import utc_now
from approvals.kit.identity import identity_key

# How many of the newest pending requests a "waiting for you" list looks through. A queue
# deeper than this is an incident of its own; the web page's history shows the rest.
PENDING_SCAN = 500


def can_vote(action: ActionRead, who: str, policies: PolicySource) -> bool:
    """`who` may still cast a vote on this pending request: in an approver group, not its
    requester or on-behalf-of, and not voted yet (the decision itself re-checks all of it)."""
    me = identity_key(who)
    policy = policies.current()
    in_group = any(me in policy.members(group) for group in action.approver_groups)
    voted = any(identity_key(v.approver) == me for v in action.votes)
    return in_group and not _is_party(action, me) and not voted


def has_part(action: ActionRead, who: str, policies: PolicySource) -> bool:
    """`who` asked for it, it is on their behalf, or they are in one of its approver groups."""
    me = identity_key(who)
    policy = policies.current()
    return _is_party(action, me) or any(me in policy.members(g) for g in action.approver_groups)


def _is_party(action: ActionRead, me: str) -> bool:
    return bool(me) and me in {identity_key(i) for i in (action.requester, action.on_behalf_of)}


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

    def approvers_of(self, card: Card) -> list[str]:
        policy = self._deps.policies.current()
        members = {m for group in card.approver_groups for m in policy.members(group)}
        excluded = {
            identity_key(i)
            for i in (card.requester, card.on_behalf_of, *(v.approver for v in card.votes))
            if i
        }
        return sorted(m for m in members if identity_key(m) not in excluded)

    async def waiting_for(self, email: str, *, limit: int) -> list[Card]:
        async with self._deps.db() as session:
            rows = await repository.page(
                session, status=Status.PENDING, before_id=None, limit=PENDING_SCAN, client_id=None
            )
            votes = await repository.votes_for(session, [row.id for row in rows])
        now = utc_now()
        actions = [to_read(row, votes[row.id]) for row in rows]
        mine = [
            a for a in actions if a.expires_at > now and can_vote(a, email, self._deps.policies)
        ]
        mine.sort(key=lambda a: a.expires_at)
        return [build_card(a, self._public_url) for a in mine[:limit]]

    async def card_for(self, action_id: str, email: str) -> Card | None:
        try:
            action = await actions_service.get(self._deps, action_id)
        except NotFound:
            return None
        if not has_part(action, email, self._deps.policies):
            return None
        return build_card(action, self._public_url)

    async def decide(self, attempt: DecisionAttempt) -> DecisionResult:
        try:
            result = await decisions.cast(
                self._deps,
                attempt.action_id,
                approver=attempt.approver_email,
                verdict=attempt.verdict,
                reason=attempt.reason,
                platform=attempt.platform,
            )
        except StepUpRequired:
            # Chat gets a link only the clicking person can use, once, for ten minutes.
            token = await links.mint(
                self._deps.db, action_id=attempt.action_id, identity=attempt.approver_email
            )
            message = (
                "Approving this request needs step-up confirmation: open "
                f"{self._public_url.rstrip('/')}/ui/step-up/{token} (yours only, once, within "
                "10 minutes) and approve there. Deny still works here."
            )
            return DecisionResult(False, message, await self.card(attempt.action_id))
        except ApprovalsError as exc:
            return DecisionResult(False, _sentence(exc.detail), await self.card(attempt.action_id))
        action = result.action
        card = build_card(action, self._public_url)
        if result.repeat_of is not None:
            message = (
                f"You already voted {attempt.verdict} at {result.repeat_of:%Y-%m-%d %H:%M} UTC; "
                f"it counts once. The request is {action.status.value}."
            )
            return DecisionResult(True, message, card, repeated=True)
        if action.status.value == "pending":
            message = f"Your {attempt.verdict} is recorded: {card.progress}."
        else:
            message = f"Recorded. The request is now {action.status.value}."
        return DecisionResult(True, message, card)


def _sentence(detail: str) -> str:
    text = detail[:1].upper() + detail[1:]
    return text if text.endswith(".") else text + "."
