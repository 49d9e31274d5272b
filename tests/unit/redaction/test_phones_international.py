"""Phones of other countries, written from their numbering plans, with and without a cue.

The table follows ITU-T E.164 (country codes, `+CC` and the national significant number) and
the national formats the regulators publish (trunk prefix `0`, area codes in parentheses,
groups of 2–5 digits), using the ranges reserved for fiction or examples where a plan has them
(Ofcom 020 7946 0xxx / 07700 900xxx / 01632 960xxx, ACMA 02 5550 xxxx / 0491 570 xxx, ARCEP
01 99 00 xx xx). It decided against `phonenumbers` (docs/redaction.md, "Phones of every
country"): without knowing the country, a national number cannot be placed by it either.
"""

from __future__ import annotations

import re

import pytest

from approvals.redaction import Redactor

NUMBERS = [
    ("GB", "+44 20 7946 0958"), ("GB", "020 7946 0958"), ("GB", "07700 900123"),
    ("GB", "+44 7700 900123"), ("GB", "01632 960001"), ("GB", "+442079460958"),
    ("DE", "+49 30 901820"), ("DE", "030 901820"), ("DE", "+49 89 1234567"),
    ("DE", "089 1234567"), ("DE", "0151 23456789"), ("DE", "+49 151 23456789"),
    ("DE", "030/90182033"),
    ("FR", "+33 1 99 00 12 34"), ("FR", "01 99 00 12 34"), ("FR", "06 12 34 56 78"),
    ("FR", "+33 6 12 34 56 78"), ("FR", "01.99.00.12.34"),
    ("IT", "+39 06 1234 5678"), ("IT", "06 1234 5678"), ("IT", "347 123 4567"),
    ("IT", "+39 347 1234567"),
    ("ES", "+34 912 345 678"), ("ES", "912 345 678"), ("ES", "612 34 56 78"),
    ("NL", "+31 20 123 4567"), ("NL", "020-1234567"), ("NL", "06-12345678"),
    ("BR", "+55 11 91234-5678"), ("BR", "(11) 91234-5678"), ("BR", "(21) 2345-6789"),
    ("IN", "+91 98765 43210"), ("IN", "098765 43210"), ("IN", "022 2345 6789"),
    ("JP", "+81 3-1234-5678"), ("JP", "03-1234-5678"), ("JP", "090-1234-5678"),
    ("AU", "+61 2 5550 1234"), ("AU", "(02) 5550 1234"), ("AU", "0491 570 156"),
    ("MX", "+52 55 1234 5678"), ("MX", "55 1234 5678"),
    ("CN", "+86 10 1234 5678"), ("CN", "010 1234 5678"), ("CN", "138 0013 8000"),
    ("ZA", "+27 21 123 4567"), ("ZA", "021 123 4567"),
    ("PL", "+48 22 123 45 67"), ("PL", "22 123 45 67"), ("PL", "512 345 678"),
    ("CH", "+41 44 668 18 00"), ("CH", "044 668 18 00"),
    ("SE", "+46 8 123 456 78"), ("SE", "08-123 456 78"),
    ("US", "+1 617 555 0142"), ("US", "+16175550142"),
]  # fmt: skip
CONTEXTS = {
    "cue": {"note": "tel. {n}"},
    "prose": {"note": "reached her at {n} yesterday"},
    "alone": {"note": "{n}"},
    "neutral key": {"c2": "{n}"},
}
_PLACEHOLDER = re.compile(r"\[[A-Z]+-\d+(?::[0-9A-Za-z+]{1,8})?\]")


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_every_number_is_redacted(redactor: Redactor, context: str) -> None:
    leaked = []
    for country, number in NUMBERS:
        document = {k: v.format(n=number) for k, v in CONTEXTS[context].items()}
        out = _PLACEHOLDER.sub(" ", str(redactor.redact(document).value))
        if re.search(r"\d{2,}", out):  # a group of the number survived
            leaked.append((country, number, out))
    assert leaked == []
