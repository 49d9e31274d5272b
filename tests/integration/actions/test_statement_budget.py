"""A submit's own transaction stays within its statement budget (docs/architecture.md).

Statements are counted by SQLAlchemy's `before_cursor_execute` on the service's engine and
grouped by the transaction they ran in; BEGIN and COMMIT are not counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from approvals.runtime import Runtime
from tests.builders import ApiClient

# The request row, its requester-notice rows, its audit events (one executemany), its outbox
# rows (one executemany). Nothing is read: no head lock, no lookup.
SUBMIT_STATEMENT_BUDGET = 4


class Transactions:
    """Every statement the engine runs, grouped by the transaction it ran in."""

    def __init__(self) -> None:
        self._open: dict[int, list[str]] = {}
        self.done: list[list[str]] = []

    def begin(self, connection: Any) -> None:
        self._open[id(connection)] = []

    def statement(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if id(connection) in self._open:
            self._open[id(connection)].append(" ".join(statement.split()[:3]))

    def commit(self, connection: Any) -> None:
        self.done.append(self._open.pop(id(connection), []))

    def containing(self, prefix: str) -> list[str]:
        (found,) = [t for t in self.done if any(s.startswith(prefix) for s in t)]
        return found


@pytest.mark.parametrize("environment", ["prod", "dev"], ids=["pending", "auto_approved"])
async def test_a_submit_commits_in_four_statements(
    api: ApiClient, runtime: Runtime, environment: str
) -> None:
    await api.create()  # warm: first-use queries (policy, caches) are not the budget's
    seen = Transactions()
    engine = runtime.engine.sync_engine
    listeners = [("begin", seen.begin), ("before_cursor_execute", seen.statement)]
    listeners.append(("commit", seen.commit))
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        created = await api.create(environment=environment)
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)
    assert created["status"] == ("pending" if environment == "prod" else "auto_approved")
    submit = seen.containing("INSERT INTO action_requests")
    assert len(submit) <= SUBMIT_STATEMENT_BUDGET, submit
    assert not [s for s in submit if s.startswith("SELECT")], submit  # no lock, no read
