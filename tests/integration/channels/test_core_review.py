"""What chat adapters get back from the core when a reviewer clicks."""

from __future__ import annotations

from approvals.channels.base import DecisionAttempt
from approvals.channels.review import CoreReview
from approvals.runtime import Runtime
from tests.builders import ApiClient


def _attempt(
    action_id: str, who: str, verdict: str = "approve", reason: str | None = None
) -> DecisionAttempt:
    return DecisionAttempt(action_id, who, verdict, reason, "slack")  # type: ignore[arg-type]


async def test_accepted_vote_returns_the_updated_card(api: ApiClient, runtime: Runtime) -> None:
    created = await api.create(action="s3.export", environment="prod")
    review = CoreReview(runtime, "http://approvals.test")
    first = await review.decide(_attempt(created["id"], "dana@example.org"))
    assert first.accepted
    assert first.message == ("Your approve is recorded: 1 of 2 from privacy-office, dba-oncall.")
    second = await review.decide(_attempt(created["id"], "bob@example.org"))
    assert second.message == "Recorded. The request is now approved."
    assert second.card is not None
    assert second.card.is_final
    assert [v.platform for v in second.card.votes] == ["slack", "slack"]


async def test_refusal_is_a_sentence_with_the_current_card(
    api: ApiClient, runtime: Runtime
) -> None:
    created = await api.create()
    review = CoreReview(runtime, "http://approvals.test")
    refused = await review.decide(_attempt(created["id"], "mallory@example.org"))
    assert not refused.accepted
    assert refused.message == "You are not in group dba-oncall; ask one of its members."
    assert refused.card is not None
    assert refused.card.status == "pending"
    assert refused.card.full_view_url == f"http://approvals.test/ui/actions/{created['id']}"


async def test_unknown_request_has_no_card(runtime: Runtime) -> None:
    review = CoreReview(runtime, "http://approvals.test")
    assert await review.card("00000000-0000-7000-8000-000000000000") is None
    result = await review.decide(_attempt("00000000-0000-7000-8000-000000000000", "bob@x.org"))
    assert not result.accepted
    assert result.card is None
