"""Typed, consistent placeholders for one document: `[NAME-1]`, `[DATE-2:1961]`, `[ZIP-1:021]`.

One `Placeholders` lives for one `redact` call and is dropped with it, so values are never kept
across requests. Normalisation makes `John Smith` / `SMITH, JOHN` and `555-123-4567` /
`(555) 123-4567` share a placeholder. `PLACEHOLDER` recognises our own output (idempotence).
"""

from __future__ import annotations

import re

from approvals.redaction.validators import NOT_ALNUM, NOT_DIGITS, ascii_only

# Any typed placeholder (ours, or a custom type's), with an optional kept part after ':'.
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*-\d+(?::[0-9A-Za-z+]{1,8})?\]")
ONLY_PLACEHOLDERS = re.compile(
    r"\s*(?:(?:\[[A-Z][A-Z0-9_]*-\d+(?::[0-9A-Za-z+]{1,8})?\]|90\+)[\s,;/'\"]*)+"
)

# HHS Safe Harbor: 3-digit ZIP areas with 20,000 people or fewer become 000.
RESTRICTED_ZIP3 = frozenset(
    [
        "036",
        "059",
        "063",
        "102",
        "203",
        "556",
        "692",
        "790",
        "821",
        "823",
        "830",
        "831",
        "878",
        "879",
        "884",
        "890",
        "893",
    ]
)
_NAME_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_HONORIFICS = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "prof",
        "sir",
        "madam",
        "md",
        "rn",
        "np",
        "pa",
        "jr",
        "sr",
        "ii",
        "iii",
    ]
)


def zip3(text: str) -> str:
    digits = _digits(text)[:3]
    return "000" if len(digits) < 3 or digits in RESTRICTED_ZIP3 else digits


def normalise(type_: str, text: str) -> str:
    """The identity of a value for consistency: same person, number or day → same key."""
    if type_ == "NAME":
        if "," in text:
            last, _, rest = text.partition(",")
            text = f"{rest} {last}"
        tokens = [t.casefold() for t in _NAME_TOKEN.findall(text)]
        return " ".join(t for t in tokens if t not in _HONORIFICS) or text.casefold()
    if type_ in ("PHONE", "FAX"):
        digits = _digits(text)
        return digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
    if text.isascii():  # the same result as below; casefold is lower() on ASCII
        if type_ in ("SSN", "ACCOUNT", "ZIP"):
            return ascii_only(text, NOT_ALNUM).upper()
        return ascii_only(text, NOT_ALNUM).lower() or text.lower()
    if type_ in ("SSN", "ACCOUNT", "ZIP"):
        return "".join(ch for ch in text if ch.isalnum()).upper()
    return "".join(ch for ch in text.casefold() if ch.isalnum()) or text.casefold()


def _digits(text: str) -> str:
    if text.isascii():
        return ascii_only(text, NOT_DIGITS)
    return "".join(ch for ch in text if ch.isdigit())


class Placeholders:
    """Numbering per type; a lone first or last name reuses the full name it belongs to."""

    __slots__ = ("_by_value", "_counters", "_given", "_name_parts")

    def __init__(self) -> None:
        self._by_value: dict[tuple[str, str], int] = {}
        self._counters: dict[str, int] = {}
        self._name_parts: dict[str, int] = {}
        # What each call answered: asked again, `get` answers the same (a number once given is
        # kept, name parts are only ever added), so a value repeated across a document (10 000
        # SSNs in 100 KB) is normalised once.
        self._given: dict[tuple[str, str, str | None, str], str] = {}

    def get(self, type_: str, text: str, norm: str | None = None, keep: str = "") -> str:
        given = self._given.get((type_, text, norm, keep))
        if given is None:
            given = self._given[type_, text, norm, keep] = self._new(type_, text, norm, keep)
        return given

    def _new(self, type_: str, text: str, norm: str | None, keep: str) -> str:
        key = norm if norm is not None else normalise(type_, text)
        number = self._by_value.get((type_, key))
        if number is None and type_ == "NAME" and " " not in key:
            number = self._name_parts.get(key)
        if number is None:
            number = self._counters.get(type_, 0) + 1
            self._counters[type_] = number
            self._by_value[(type_, key)] = number
            if type_ == "NAME" and " " in key:
                for part in key.split():
                    self._name_parts.setdefault(part, number)
        suffix = f":{keep}" if keep else ""
        return f"[{type_}-{number}{suffix}]"
