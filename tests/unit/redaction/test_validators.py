"""Check-digit validators against published examples and their one-digit corruptions."""

from __future__ import annotations

import pytest

from approvals.redaction import validators as v


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        (v.card_ok, "4111 1111 1111 1111", "4111 1111 1111 1112"),
        (v.npi_ok, "1234567893", "1234567890"),
        (v.dea_ok, "AB1234563", "AB1234567"),
        (v.vin_ok, "1HGCM82633A004352", "1HGCM82643A004352"),
        (v.iban_ok, "GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 33"),
        (v.ssn_ok, "123-45-6789", "666-45-6789"),
        (v.ipv4_ok, "10.1.2.3", "10.1.2.300"),
    ],
)
def test_validator_accepts_valid_and_rejects_corrupted(check, good, bad):
    assert check(good)
    assert not check(bad)


def test_date_plausibility():
    assert v.date_ok(2024, 2, 29)
    assert not v.date_ok(2023, 2, 29)
    assert not v.date_ok(1700, 1, 1)
