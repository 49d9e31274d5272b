"""Hypothesis drives random sequences of submits, votes, cancels and expiries through the
real service on SQLite, and checks the invariants after every step."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import update

from approvals import migrate
from approvals.actions import decisions, repository
from approvals.actions import service as actions_service
from approvals.actions.models import ActionRequest
from approvals.actions.schemas import ActionCreate
from approvals.actions.states import TRANSITIONS, Status
from approvals.audit import service as audit_service
from approvals.clients import service as clients_service
from approvals.clients.models import Client
from approvals.clients.schemas import Scope
from approvals.errors import ApprovalsError
from approvals.kit.clock import utc_now
from approvals.kit.identity import identity_key
from approvals.kit.ids import new_id
from approvals.runtime import Runtime
from tests.conftest import make_settings

PEOPLE = ["bob@example.org", "dana@example.org", "mallory@example.org"]  # eligible, eligible, not
SHAPES = [  # demo policy: 1 of dba-oncall (defaults), 2 for prod exports, auto in dev
    {"action": "sql.execute", "environment": "staging"},
    {"action": "s3.export", "environment": "prod"},
    {"action": "sql.execute", "environment": "dev"},
]

# One database for every example (migrating per example would dominate the run time);
# each example checks only the requests it created.
_FOLDER = Path(tempfile.mkdtemp(prefix="approvals-sm-"))
_URL = f"sqlite:///{_FOLDER / 'sm.db'}"
migrate.upgrade(_URL)


def _reachable(start: Status) -> set[Status]:
    seen: set[Status] = set()
    frontier = [start]
    while frontier:
        for nxt in TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.runtime = Runtime(make_settings(_URL, _FOLDER))
        self.client = self._run(self._client())
        self.ids: list[str] = []
        self.seen: dict[str, Status] = {}

    def _run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    async def _client(self) -> Client:
        created = await clients_service.create(
            self.runtime.db, name=f"etl-{new_id()}", scopes=[Scope.SUBMIT], identity="svc:etl"
        )
        async with self.runtime.db() as session:
            client = await session.get(Client, created.client_id)
        assert client is not None
        return client

    @rule(shape=st.sampled_from(SHAPES), behalf=st.sampled_from([None, *PEOPLE]))
    def submit(self, shape: dict[str, str], behalf: str | None) -> None:
        body = ActionCreate(resource="db.x", on_behalf_of=behalf, ttl_seconds=600, **shape)
        result = self._run(actions_service.submit(self.runtime, self.client, body))
        self.ids.append(result.action.id)

    @precondition(lambda self: self.ids)
    @rule(
        pick=st.integers(0, 50),
        who=st.sampled_from(PEOPLE),
        verdict=st.sampled_from(["approve", "deny"]),
    )
    def vote(self, pick: int, who: str, verdict: str) -> None:
        action_id = self.ids[pick % len(self.ids)]
        # Refusals are expected; the invariants say what must hold regardless.
        with contextlib.suppress(ApprovalsError):
            self._run(
                decisions.decide(
                    self.runtime,
                    action_id,
                    approver=who,
                    verdict=verdict,
                    reason="because",
                    platform="api",
                )
            )

    @precondition(lambda self: self.ids)
    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        with contextlib.suppress(ApprovalsError):
            self._run(decisions.cancel(self.runtime, self.ids[pick % len(self.ids)], self.client))

    @precondition(lambda self: self.ids)
    @rule(pick=st.integers(0, 50))
    def ttl_runs_out(self, pick: int) -> None:
        """Time passes for one request (its deadline moves into the past), then the sweep.
        Only a pending request is aged: moving the deadline of one already decided would
        rewrite its history (an expiry recorded before its own deadline)."""
        self._run(self._age(self.ids[pick % len(self.ids)]))
        self._run(decisions.expire_due(self.runtime))

    async def _age(self, action_id: str) -> None:
        async with self.runtime.engine.begin() as connection:
            await connection.execute(
                update(ActionRequest)
                .where(ActionRequest.id == action_id, ActionRequest.status == Status.PENDING)
                .values(expires_at=utc_now() - timedelta(seconds=1))
            )

    @invariant()
    def every_request_is_consistent(self) -> None:
        self._run(self._check())

    async def _check(self) -> None:
        async with self.runtime.db() as session:
            for action_id in self.ids:
                action = await repository.get(session, action_id)
                assert action is not None
                status = Status(action.status)
                before = self.seen.get(action_id)
                # Jobs (release, reject) may take a request several steps on between checks.
                assert before in (None, status) or status in _reachable(before)
                self.seen[action_id] = status
                votes = await repository.votes(session, action_id)
                voters = [v.approver for v in votes]
                assert len(voters) == len(set(voters)), "one vote per person"
                barred = {
                    identity_key(action.requester),
                    identity_key(action.on_behalf_of),
                    action.submitted_by,
                }
                assert not barred & set(voters), "no self-approval, ever"
                approvals = {v.approver for v in votes if v.verdict == "approve"}
                assert (status is Status.PENDING) == (action.verdict is None)
                if action.verdict == Status.APPROVED:
                    assert len(approvals) >= action.required_approvals
                    assert action.decided_at is not None
                if status is Status.PENDING:
                    assert len(approvals) < action.required_approvals
                if action.verdict == Status.EXPIRED:
                    assert action.decided_at is not None
                    assert action.decided_at >= action.expires_at
                    assert not approvals or len(approvals) < action.required_approvals

    async def _chain_intact(self) -> None:
        async with self.runtime.db() as session:
            assert await audit_service.verify_all(session) is None

    def teardown(self) -> None:
        self._run(self._chain_intact())
        self.loop.run_until_complete(self.runtime.close())
        self.loop.close()


Lifecycle.TestCase.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
)
TestLifecycle = Lifecycle.TestCase
