"""`kit.bulk.built` / `as_rows`: rows made without the ORM's events read and insert as ORM
objects would."""

from __future__ import annotations

from sqlalchemy import inspect

from approvals.actions.models import ActionRequest
from approvals.kit.bulk import as_rows, built


def test_a_built_instance_reads_like_a_constructed_one_and_belongs_to_no_session() -> None:
    made = built(ActionRequest, id="r1", status="pending", action="sql.execute")
    assert (made.id, made.status, made.action) == ("r1", "pending", "sql.execute")
    assert made.decided_by is None  # a column never given reads as unset
    assert inspect(made).session is None


def test_rows_carry_what_was_given_and_python_defaults_for_the_rest() -> None:
    table, rows = as_rows(
        built(ActionRequest, id="r1", status="pending"),
        built(ActionRequest, id="r2", status="pending", escalate_to=["ops"]),
    )
    assert table is ActionRequest.__table__
    assert [(row["id"], row["escalate_to"]) for row in rows] == [("r1", []), ("r2", ["ops"])]
    assert "decided_by" not in rows[0], "a column without a default is left to the database"
