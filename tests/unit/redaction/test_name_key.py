"""A bare `name` key: a person's name is redacted whole, an ops name stays (docs/redaction.md)."""

from __future__ import annotations

import pytest

from approvals.redaction import Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    "value", ["Cinzia", "Rafe Oduya", "van der Kruk", "KOWALCZYK, ZOFIA", "Mary-Ann O'Neil"]
)
def test_a_persons_name_is_redacted_whole(redactor: Redactor, value: str) -> None:
    assert redactor.redact({"name": value}).value == {"name": "[NAME-1]"}


@pytest.mark.parametrize("value", ["nightly-etl", "nightly etl job", "ehr-db-01", "etl_v2"])
def test_an_ops_name_is_kept(redactor: Redactor, value: str) -> None:
    assert redactor.redact({"name": value}).value == {"name": value}


def test_form_body_pairs_are_judged_by_their_key(redactor: Redactor) -> None:
    body = "name%3DRafe%20Oduya%26phone%3D%28953%29%20396-7300%26view%3Dsummary"
    out = redactor.redact({"q": body}).value["q"]
    assert out == "name%3D[NAME-1]%26phone%3D[PHONE-1]%26view%3Dsummary"
