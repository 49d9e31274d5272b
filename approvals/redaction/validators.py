"""Check-digit and plausibility validators that keep the value detectors precise. Pure.

Each takes the matched text and answers yes/no; none keeps or logs what it saw.
"""

from __future__ import annotations

import datetime as dt

_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_DEA_FIRST = frozenset("ABCDEFGHJKLMPRSTUX")
# ASCII bytes that are not digits / not letters or digits: deleted in one C call (`ascii_only`).
NOT_DIGITS = bytes(b for b in range(128) if not chr(b).isdigit())
NOT_ALNUM = bytes(b for b in range(128) if not chr(b).isalnum())


def ascii_only(text: str, delete: bytes) -> str:
    """`text` (ASCII) without the bytes in `delete`: a per-character generator costs ~4× more,
    and on ASCII `str.isdigit`/`isalnum` accept exactly the bytes these tables keep."""
    return text.encode("ascii").translate(None, delete).decode("ascii")


def digits_of(text: str) -> str:
    if text.isascii():
        return ascii_only(text, NOT_DIGITS)
    return "".join(ch for ch in text if ch.isdigit())


# ASCII digit → its value / the digit sum of twice its value (Luhn's doubled positions).
_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))


def luhn_ok(digits: str) -> bool:
    if not digits.isdigit():
        return False
    if digits.isascii():  # `sum` over translated bytes: no Python step per digit
        raw = digits.encode("ascii")
        total = sum(raw[-1::-2].translate(_VALUE)) + sum(raw[-2::-2].translate(_DOUBLED))
        return total % 10 == 0
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_ok(text: str) -> bool:
    """Payment card: 13–19 digits, an issuer prefix (1 and 2: JCB, Mastercard 2-series), Luhn."""
    if text.isascii():  # the same test on bytes: a run of `1 1 1 …` tries one card per digit
        raw = text.encode("ascii").translate(None, NOT_DIGITS)
        if not 13 <= len(raw) <= 19 or not 49 <= raw[0] <= 54:  # "1"–"6"
            return False
        return (sum(raw[-1::-2].translate(_VALUE)) + sum(raw[-2::-2].translate(_DOUBLED))) % 10 == 0
    digits = digits_of(text)
    return 13 <= len(digits) <= 19 and digits[0] in "123456" and luhn_ok(digits)


def npi_ok(text: str) -> bool:
    """NPI: 10 digits starting 1 or 2, Luhn over the 80840 health-industry prefix (CMS)."""
    digits = digits_of(text)
    return len(digits) == 10 and digits[0] in "12" and luhn_ok("80840" + digits)


def dea_ok(text: str) -> bool:
    """DEA registration: 2 letters + 7 digits; (d1+d3+d5) + 2(d2+d4+d6) ends in d7."""
    value = text.upper()
    if len(value) != 9 or value[0] not in _DEA_FIRST or not value[2:].isdigit():
        return False
    d = [int(c) for c in value[2:]]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def vin_ok(text: str) -> bool:
    """North-American VIN: 17 chars without I/O/Q, position 9 is the weighted check digit."""
    value = text.upper()
    if len(value) != 17 or any(c not in _VIN_VALUES for c in value):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    total = sum(_VIN_VALUES[c] * w for c, w in zip(value, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return value[8] == ("X" if check == 10 else str(check))


def iban_ok(text: str) -> bool:
    """IBAN: country + 2 check digits + BBAN, mod 97 == 1 (ISO 13616)."""
    value = "".join(text.split()).upper()
    if not 15 <= len(value) <= 34 or not value[:2].isalpha() or not value[2:4].isdigit():
        return False
    rearranged = value[4:] + value[:4]
    if not rearranged.isalnum():
        return False
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def ssn_ok(text: str) -> bool:
    """SSA rules: area not 000, 666 or 9xx; group not 00; serial not 0000."""
    digits = digits_of(text)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def date_ok(year: int | None, month: int, day: int) -> bool:
    """A real calendar day; a missing year is checked against a leap year."""
    if year is not None and not 1880 <= year <= 2100:
        return False
    try:
        dt.date(year if year is not None else 2000, month, day)
    except ValueError:
        return False
    return True


def ipv4_ok(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 and len(p) <= 3 for p in parts)
