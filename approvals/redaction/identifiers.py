"""Fail closed on identifiers: digit runs, letters mixed with digits and UUIDs are redacted
whatever their key or cue, unless they match a documented safe shape. Pure; used by
`shapes.ShapeScanner` and, for compact dates, by the walker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from approvals.redaction import validators as v
from approvals.redaction.detectors import Span
from approvals.redaction.search import byte_classes, classes_of
from approvals.redaction.vocabulary import QUANTITY_WORDS
from approvals.redaction.vocabulary import w as _words

# Tokens with four digits or more: fewer are never an identifier here (`E11`, `v2`, `x86`).
# `_tokens` finds them from their digits (`_FOUR_DIGITS`, led by a digit: `re` skips to digits)
# and reads the letters around; `(?<![A-Za-z0-9])(?=(?:[A-Za-z]*[0-9]){4})[A-Za-z0-9]+`,
# led by a look-behind, tried every position of the text.
_FOUR_DIGITS = re.compile(r"[0-9](?:[A-Za-z]*+[0-9]){3}")
_TOKEN_REST = re.compile(r"[A-Za-z0-9]*+")
_LETTERS_RUN = re.compile(r"[A-Za-z]*+")
_UUID = re.compile(
    r"(?<![0-9A-Fa-f-])[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    r"(?![0-9A-Fa-f-])"
)
# Hex digits as "h", `-` as itself, every other byte (of UTF-8: other characters too) as a
# blank: a UUID needs `_UUID_SHAPE` in it (a substring search), and `_UUID`, led by a
# look-behind, tries every position of text with four hyphens (dates, ranges, slugs).
_HEX_BYTES = byte_classes({"h": "0123456789abcdefABCDEF", "-": "-"})
_UUID_SHAPE = b"-".join(b"h" * n for n in (8, 4, 4, 4, 12))
# An operational key just before a UUID keeps it: `request_id=…`, `"trace_id": "…"`.
_OP_KEY = re.compile(
    r"(?i:\b(?:(?:request|trace|span|correlation|run|job|build|session|message|event"
    r"|idempotency|deploy(?:ment)?|task|execution|workflow|pipeline|commit|change)[ _-]?)?"
    r"(?:id|uuid|key))[\"']?[ \t]*[:=]?[ \t]*[\"']?$"
)
# The word before a digit run, and the first number of a range (`rows 123456789-123456799`).
_WORD_BEFORE = re.compile(r"(?P<w>[A-Za-z_]+)[\"']?[ \t]*[:=]?[ \t]*[\"']?(?:\d+[-–])?$")
_HEX_LENGTHS = frozenset((32, 40, 64, 128))
_K8S = frozenset("bcdfghjklmnpqrstvwxz2456789")
_AWS_PREFIXES = frozenset(
    _words("i vpc subnet sg ami vol snap eni igw rtb acl nat lt r eipalloc tgw vpce pcx fs db")
)
_UNITS = frozenset(
    _words(
        "ms us ns s sec secs m min mins h hr hrs d k kb mb gb tb kib mib gib tib b bytes px pt "
        "hz khz mhz ghz bps kbps mbps gbps rpm mg mcg ml l kg g x"
    )
)
_MIXED_MIN_DIGITS = 4
_NO_DIGITS = str.maketrans("", "", "0123456789")
_DIGITS_MIN = 6


def identifiers(text: str, found: Sequence[Span] = ()) -> list[Span]:
    """Values shaped like identifiers, whatever their key or cue (fail closed), but for the
    documented safe shapes (docs/redaction.md): operational UUIDs, hashes, versions, units.

    A run of digits that a detector's hit in `found` covers exactly is not judged again: its
    span would be the same stretch, merged into that hit and dropped (`text._merge` keeps the
    first of two equal spans, the detector's), and a run of digits is never a hash. 100 KB of
    `123456789 ` judged 10 000 SSNs again.
    """
    out: list[Span] = []
    claimed = {(s.start, s.end) for s in found if s.type}
    uuids = (
        [m.span() for m in _UUID.finditer(text)]
        if text.count("-") >= 4 and _UUID_SHAPE in classes_of(text, _HEX_BYTES)
        else []
    )
    for start, end in uuids:
        if _OP_KEY.search(text[max(0, start - 40) : start]) is None:
            out.append(Span(start, end, "ID", "identifier-shape"))
        else:
            out.append(Span(start, end, "", "operational-id"))
    for start, end in _tokens(text):
        if uuids and any(a <= start < b for a, b in uuids):
            continue
        token = text[start:end]
        if claimed and (start, end) in claimed and token.isdigit():
            continue
        span = _identifier(text, start, end, token)
        if span is not None:
            out.append(span)
    return out


def _tokens(text: str) -> list[tuple[int, int]]:
    """The runs of ASCII letters and digits that hold four digits or more, in order. The first
    four digits of such a run start at its first digit, which the search meets before any
    other of the run's (letters only before it); the run is then read back over its letters
    (on the reversed text, so a long run costs one match) and on to its end."""
    out: list[tuple[int, int]] = []
    backwards = ""
    size, pos = len(text), 0
    while (m := _FOUR_DIGITS.search(text, pos)) is not None:
        first = m.start()
        if not backwards:
            backwards = text[::-1]
        letters = _LETTERS_RUN.match(backwards, size - first)
        pos = _TOKEN_REST.match(text, m.end()).end()  # type: ignore[union-attr]
        out.append((first - (letters.end() - (size - first)), pos))  # type: ignore[union-attr]
    return out


def _identifier(text: str, start: int, end: int, token: str) -> Span | None:
    size = len(token)
    digits = size if token.isdigit() else size - len(token.translate(_NO_DIGITS))
    if digits == size:
        if digits < _DIGITS_MIN or _decimal(text, start, end) or _in_arn(text, start):
            return None
        window = text[max(0, start - 40) : start]
        before = _WORD_BEFORE.search(window) if _has_letter(window) else None
        if before is not None and before["w"].lower().rsplit("_", 1)[-1] in QUANTITY_WORDS:
            return None  # `rows 123456789`, `epoch 1733234567`, `duration_ms=1500000`
        date = compact_date(token)
        if date is not None:
            return Span(start, end, "DATE", "identifier-shape", date[0], date[1])
        if digits in (10, 11) and _nanp(token):
            return Span(start, end, "PHONE", "identifier-shape")
        return Span(start, end, "ID", "identifier-shape")
    lower = token.lower()
    if size in _HEX_LENGTHS and _hex(token):
        return Span(start, end, "", "hash")  # see `TextRedactor`: cuts nothing out of it
    if digits < _MIXED_MIN_DIGITS or _safe_mixed(text, start, token, lower):
        return None
    return Span(start, end, "ID", "identifier-shape")


def _decimal(text: str, start: int, end: int) -> bool:
    """Part of a decimal number, a version or a dotted address (`123456.78`, `1.2.345678`)."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 2]
    return (len(before) == 2 and before[1] == "." and before[0].isdigit()) or (
        len(after) == 2 and after[0] == "." and after[1].isdigit()
    )


def _has_letter(window: str) -> bool:
    return not window.isdigit() and window.lower() != window.upper()


def _in_arn(text: str, start: int) -> bool:
    """Inside an AWS ARN (`arn:aws:iam::123456789012:role/x`): the account id is technical."""
    found = text.rfind("arn:", max(0, start - 200), start)
    return found >= 0 and not any(c.isspace() for c in text[found:start])


def compact_date(token: str) -> tuple[str, str] | None:
    """YYYYMMDD, optionally followed by hhmm or hhmmss (HL7 and compact ISO timestamps)."""
    if len(token) not in (8, 12, 14):
        return None
    year, month, day = int(token[:4]), int(token[4:6]), int(token[6:8])
    if not 1880 <= year <= 2099 or not v.date_ok(year, month, day):
        return None
    if len(token) > 8 and not (int(token[8:10]) < 24 and int(token[10:12]) < 60):
        return None
    return f"{year:04}-{month:02}-{day:02}", str(year)


def _nanp(token: str) -> bool:
    digits = token[1:] if len(token) == 11 and token[0] == "1" else token
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def _hex(token: str) -> bool:
    return all(c in "0123456789abcdef" for c in token) or all(
        c in "0123456789ABCDEF" for c in token
    )


def _safe_mixed(text: str, start: int, token: str, lower: str) -> bool:
    """Letters mixed with digits that are not identifiers: short git SHAs, AWS resource ids,
    Kubernetes generated suffixes, numbers with a unit, versions (`v1234`), SHA-2 names."""
    size = len(token)
    before = text[start - 1] if start else ""
    prefix = text[max(0, start - 12) : start]
    if 7 <= size <= 12 and token == lower and _hex(token):
        return True  # a short git SHA
    if before == "-":
        word = re.search(r"([a-z0-9]+)-$", prefix)
        if word is not None and word.group(1) in _AWS_PREFIXES and _hex(token):
            return True
        if token == lower and size in (5, 8, 9, 10) and set(token) <= _K8S:
            return True
    digits_end = len(token) - len(token.lstrip("0123456789"))
    if 0 < digits_end < size and lower[digits_end:] in _UNITS:
        return True
    if lower[:1] == "v" and lower[1:].isdigit():
        return True
    return lower.startswith(("sha", "md5", "crc", "utf", "x86", "arm64", "ipv", "int", "uint"))
