"""Addresses as countries write them: after a residence cue, and `street, postal code town` lines
with the postal shapes the UPU lists (docs/redaction.md, "Names and places beyond the lists")."""

from __future__ import annotations

import re

import pytest

from approvals.redaction import Redactor

_PLACEHOLDER = re.compile(r"\[[A-Z]+-\d+(?::[0-9A-Za-z+]{1,8})?\]")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def _visible(redactor: Redactor, text: str) -> str:
    return _PLACEHOLDER.sub(" ", redactor.redact({"note": text}).value["note"])


@pytest.mark.parametrize(
    ("text", "gone", "kept"),
    [
        # after a residence cue: the street (house number before or after) and the town
        (
            "She lives at Kirkegata 12, LILLEHAMMER. Seen today.",
            ["Kirkegata", "12", "LILLEHAMMER"],
            ["She lives at", "Seen today."],
        ),
        (
            "Resides at 7 Birch Hollow, Cedar Falls; no stairs.",
            ["Birch", "Hollow", "Cedar", "Falls"],
            ["Resides at", "no stairs."],
        ),
        (
            "lives at Calle del Sol 4, Villanueva de la Serena.",
            ["Sol", "4", "Villanueva", "Serena"],
            ["lives at"],
        ),
        ("Home address: Οδός Ερμού 21, ΑΘΗΝΑ", ["Ερμού", "21", "ΑΘΗΝΑ"], ["Home address:"]),
        ("Lives at 4 Mill Lane, Norway", ["Mill", "4"], ["Norway"]),  # a country stays
        # `street, postal code town`, postal codes of other shapes
        ("moved to ul. Lipowa 3, 31-042 Kraków", ["Lipowa", "31-042", "Kraków"], ["moved to"]),
        ("Av. Paulista 900, 01310-100 São Paulo", ["Paulista", "900", "01310-100", "São"], []),
        ("Husova 8, 110 00 Praha nad Vltavou", ["Husova", "110 00", "Praha", "Vltavou"], []),
    ],
)
def test_address_is_redacted(redactor: Redactor, text: str, gone: list[str], kept: list[str]):
    visible = _visible(redactor, text)
    assert [g for g in gone if re.search(rf"(?<!\w){re.escape(g)}(?!\w)", visible)] == []
    assert [k for k in kept if k not in visible] == []


@pytest.mark.parametrize(
    "text",
    [
        "Lives at home with his wife; independent with ADLs.",
        "lives at home. Had 2 falls last year, none recent",
        "What is the address of the clinic? It opens at 9, closes at 5.",
        "Regression since commit f783aa7db3bc on ehr-db-01.corp. Fixed in v2.3",
    ],
)
def test_no_address_without_a_street(redactor: Redactor, text: str) -> None:
    assert redactor.redact({"note": text}).value["note"] == text
