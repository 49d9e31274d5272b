"""Every allowed and every forbidden transition of the request state machine."""

from __future__ import annotations

import itertools

import pytest

from approvals.actions.states import DECIDED, INITIAL, TRANSITIONS, Status, can_transition

ALLOWED = {
    (Status.PENDING, Status.APPROVED),
    (Status.PENDING, Status.DENIED),
    (Status.PENDING, Status.EXPIRED),
    (Status.PENDING, Status.CANCELLED),
    (Status.AUTO_APPROVED, Status.RELEASED),
    (Status.APPROVED, Status.RELEASED),
    (Status.BLOCKED, Status.REJECTED),
    (Status.DENIED, Status.REJECTED),
    (Status.EXPIRED, Status.REJECTED),
    (Status.CANCELLED, Status.REJECTED),
    (Status.RELEASED, Status.EXECUTED),
}
ALL_PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition(current: Status, target: Status) -> None:
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target"), [pair for pair in ALL_PAIRS if pair not in ALLOWED])
def test_forbidden_transition(current: Status, target: Status) -> None:
    assert not can_transition(current, target)


def test_every_status_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(Status)


def test_an_expired_or_denied_request_can_never_become_released() -> None:
    for start in (Status.EXPIRED, Status.DENIED, Status.BLOCKED, Status.CANCELLED):
        reachable, frontier = set(), {start}
        while frontier:
            state = frontier.pop()
            for nxt in TRANSITIONS[state] - reachable:
                reachable.add(nxt)
                frontier.add(nxt)
        assert Status.RELEASED not in reachable
        assert Status.APPROVED not in reachable


def test_requests_start_only_in_initial_statuses_and_pending_is_the_only_undecided() -> None:
    assert INITIAL == {Status.PENDING, Status.BLOCKED, Status.AUTO_APPROVED}
    assert Status.PENDING not in DECIDED
    assert len(DECIDED) == len(Status) - 1
