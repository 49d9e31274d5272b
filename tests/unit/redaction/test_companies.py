"""Company names are kept, people joined by an ampersand are not (docs/redaction.md)."""

from __future__ import annotations

import pytest

from approvals.redaction import Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    "text",
    [
        "Coverage through Procter & Gamble.",
        "Implant by Black & Decker, lot 4",
        "Billed to Stryker International; device from Medtronic Diagnostics",
    ],
)
def test_company_is_kept(redactor: Redactor, text: str) -> None:
    assert redactor.redact({"note": text}).value["note"] == text


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Visited by John & Mary", ["John", "Mary"]),  # first names: a couple
        ("Ana & Kowalski Smith called", ["Kowalski", "Smith"]),  # a surname follows
        ("Seen by Drs. Okafor & Lindqvist", ["Okafor", "Lindqvist"]),
    ],
)
def test_people_joined_by_an_ampersand_are_redacted(
    redactor: Redactor, text: str, gone: list[str]
) -> None:
    out = redactor.redact({"note": text}).value["note"]
    assert [g for g in gone if g in out] == []
