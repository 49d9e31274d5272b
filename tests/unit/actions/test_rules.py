"""Who may vote, and how votes add up."""

from __future__ import annotations

import pytest

from approvals.actions.rules import (
    Ballot,
    Refusal,
    Tally,
    refusal_for,
    tally,
)

ELIGIBLE = frozenset({"bob@example.org", "carol@example.org", "alice@example.org"})


class TestRefusal:
    @pytest.mark.parametrize(
        "approver",
        [
            "alice@example.org",
            "ALICE@Example.org",
            "  alice@example.org ",
            "mailto:alice@example.org",
        ],
    )
    def test_requester_cannot_approve_own_request_in_any_spelling(self, approver: str) -> None:
        found = refusal_for(
            approver,
            verdict="approve",
            requester_identities=["alice@example.org"],
            eligible=ELIGIBLE,
        )
        assert found is Refusal.SELF_APPROVAL

    def test_on_behalf_of_counts_as_requester(self) -> None:
        found = refusal_for(
            "alice@example.org",
            verdict="approve",
            requester_identities=["svc:etl", "Alice@Example.org"],
            eligible=ELIGIBLE,
        )
        assert found is Refusal.SELF_APPROVAL

    def test_outsider_is_not_eligible(self) -> None:
        found = refusal_for(
            "mallory@example.org",
            verdict="approve",
            requester_identities=["svc:etl"],
            eligible=ELIGIBLE,
        )
        assert found is Refusal.NOT_ELIGIBLE

    def test_group_member_may_vote(self) -> None:
        assert (
            refusal_for(
                "bob@example.org",
                verdict="deny",
                requester_identities=["svc:etl", ""],
                eligible=ELIGIBLE,
            )
            is None
        )

    def test_empty_requester_identities_do_not_match_an_empty_approver(self) -> None:
        found = refusal_for("", verdict="approve", requester_identities=["", ""], eligible=ELIGIBLE)
        assert found is Refusal.NOT_ELIGIBLE


class TestTally:
    @pytest.mark.parametrize(
        ("ballots", "required", "deny_ends", "expected"),
        [
            ([("bob", "approve")], 1, True, Tally.APPROVED),
            ([("bob", "approve")], 2, True, Tally.OPEN),
            ([("bob", "approve"), ("BOB", "approve")], 2, True, Tally.OPEN),
            ([("bob", "approve"), ("carol", "approve")], 2, True, Tally.APPROVED),
            ([("bob", "approve"), ("carol", "deny")], 2, True, Tally.DENIED),
            ([("bob", "deny")], 1, True, Tally.DENIED),
            ([("bob", "deny")], 1, False, Tally.OPEN),
            ([("bob", "deny"), ("carol", "approve")], 1, False, Tally.APPROVED),
            ([], 1, True, Tally.OPEN),
        ],
    )
    def test_tally(
        self, ballots: list[tuple[str, str]], required: int, deny_ends: bool, expected: Tally
    ) -> None:
        result = tally([Ballot(a, v) for a, v in ballots], required=required, deny_ends=deny_ends)
        assert result is expected


@pytest.mark.parametrize(
    "spelling",
    ["Alice <alice@example.org>", "ali\u200bce@example.org", "alice\uff20example.org"],
)
def test_another_spelling_of_the_requester_is_still_self_approval(spelling: str) -> None:
    refusal = refusal_for(
        "alice@example.org", verdict="approve", requester_identities=[spelling], eligible=ELIGIBLE
    )
    assert refusal is Refusal.SELF_APPROVAL
