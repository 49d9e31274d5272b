"""Value detectors for free text: one combined regex, one pass, validators on each hit. Pure.

`ValueDetectors.spans` returns what to replace (never logs or keeps it). A hit whose validator
says no is dropped and the scan resumes one character later, so a shorter detector can still
match inside it (an internal URL's path, a non-PHI `key=value`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import NamedTuple

from approvals.redaction import validators as v
from approvals.redaction.candidates import key_starts, numeric_split, word_starts
from approvals.redaction.keys import text_key_type
from approvals.redaction.patterns import (
    CONTEXT_TYPES,
    CONTEXT_WORDS,
    GATES,
    KV_OPERATOR,
    MONTH_NUMBER,
    MONTH_WORDS,
    PARTS,
    US_STATES,
    street_pattern,
)
from approvals.redaction.placeholders import ONLY_PLACEHOLDERS, zip3
from approvals.redaction.search import Features, Finder, Gate, Member, MultiSearch


class Span(NamedTuple):
    """One stretch of text to replace. A tuple, not a dataclass: a document makes dozens, and a
    frozen dataclass's `__init__` costs several times a tuple's."""

    start: int
    end: int
    type: str  # "" marks a protected span: one of our placeholders, left alone
    detector: str
    norm: str | None = None  # identity for consistent numbering; None: derived from the text
    keep: str = ""  # the part Safe Harbor allows to keep (a year, three ZIP digits)
    literal: str | None = None  # a fixed replacement instead of a placeholder (ages: "90+")


Handler = Callable[[re.Match[str]], list[Span] | None]

_INTERNAL_SUFFIXES = (".internal", ".local", ".lan", ".corp", ".intranet", ".localdomain",
                      ".svc", ".cluster.local", ".home.arpa", ".test", ".example")  # fmt: skip
# Code systems FHIR and HL7 documents name in every coding (`"system": "http://loinc.org"`).
_TERMINOLOGY_HOSTS = frozenset(
    ("loinc.org", "snomed.info", "unitsofmeasure.org", "hl7.org", "terminology.hl7.org",
     "www.nlm.nih.gov", "www.ama-assn.org", "www.cms.gov", "www.who.int", "fhir.org", "www.hl7.org")
)  # fmt: skip
_VERSION = re.compile(r"v?\d+(?:\.\d+)+(?:[-+][\w.]+)?", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(18|19|20)\d\d(?!\d)")
_NAME_VALUE = re.compile(r"[^\W\d_][^\W\d_'’ .,%-]{0,59}")
_ADDRESS_TAIL = re.compile(r"[^\n;|{}\]\[\"]{0,120}")
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9]+")
_DATE_TAIL = re.compile(r"[^\s,;)(&'\"]*")
_WORDY = frozenset(("NAME", "ADDRESS", "EMAIL", "URL", "PHOTO", "BIOMETRIC"))
_MIN_DIGITS = {"PHONE": 7, "FAX": 7, "VEHICLE": 1, "PHOTO": 0}
# A context word joined to its value by a hyphen (`MRN-99812345`) needs this many digits.
_MIN_HYPHENATED_DIGITS = 6
# The patterns read at most this much of an unquoted `key=value` value and of a URL after its
# scheme (patterns.py); a longer one is read on only once accepted, see `_Runs` and `_h_url`.
_KV_CAP = 64
_KV_RUN = re.compile(r"[^\s,;)(&'\"/?#]*")
_URL_CAP = 300
_URL_RUN = re.compile(r"[^\s\"'<>\]\[)(]*")
_URL_HOST_END = re.compile(r"[/?#:@]")
# Longest DNS name (RFC 1035): a longer "host" is no internal service name, so it is redacted.
_MAX_HOST = 253


def _year2(text: str) -> int:
    value = int(text)
    if len(text) == 4:
        return value
    # Two-digit years: no clock here (pure), so a fixed pivot: 00–30 → 2000s, else 1900s.
    return 2000 + value if value <= 30 else 1900 + value


def _date_span(m: re.Match[str], year: int | None, month: int, day: int | None) -> list[Span]:
    if year is None:
        norm = f"--{month:02}-{day:02}"
    else:
        norm = f"{year:04}-{month:02}" + (f"-{day:02}" if day is not None else "")
    keep = str(year) if year is not None else ""
    return [Span(m.start(), m.end(), "DATE", "date", norm, keep)]


# Detectors that start at a digit run (or "(" / "+" / two letters before one): searched as one
# alternation, tried only where `candidates.numeric_split` says one of them can start, and not
# where it would only match a card number that fails its check.
_NUMERIC = frozenset(
    ("iso", "ssn", "num", "agen", "ipv4", "iban", "card", "dea", "phone", "phonep", "street")
)


def _entries(parts: list[tuple[str, str]]) -> list[tuple[tuple[Member, ...], Gate, Finder | None]]:
    # `mdy` and `mon` start at a month word (led by `\b`, case-blind: `re` has no prefix for
    # them), so they are tried where one is, as `ctx` is at its context words.
    months = word_starts(MONTH_WORDS)
    finders: dict[str, Finder] = {
        "ctx": word_starts(CONTEXT_WORDS), "kv": key_starts, "mdy": months, "mon": months
    }  # fmt: skip
    numeric = tuple(part for part in parts if part[0] in _NUMERIC)
    entries: list[tuple[tuple[Member, ...], Gate, Finder | None]] = [
        (numeric, Gate(digit=True), None)
    ]
    entries += [((p,), GATES[p[0]], finders.get(p[0])) for p in parts if p[0] not in _NUMERIC]
    return entries


_KEY_RUN = re.compile(r"[A-Za-z0-9_.-]*")
_MAX_KEY = 41  # the `kvk` group: a letter and at most 40 more
_KV_OP = re.compile(KV_OPERATOR)


def _kv_split(
    text: str, starts: list[int], memo: dict[str, str | None]
) -> tuple[list[int], frozenset[int]]:
    """The `key=value` starts to try, and those whose key names no PHI type: `_kv` rejects
    their pairs whatever the value (`a=a=a=…`, `ab:ab:…`), so they are never tried.

    The key of a pair starting at `s` is the whole run of key characters there (the operator
    cannot start inside it), so it is known before matching. A run no key can be (too long, not
    led by a letter) is dropped: the pattern cannot match there, so it shadows nothing.
    """
    keys = [_KEY_RUN.match(text, s).group() for s in starts]  # type: ignore[union-attr]
    for key in set(keys).difference(memo):
        if len(key) <= _MAX_KEY and key[:1].isalpha():
            memo[key] = text_key_type(key)
    live = [s for s, key in zip(starts, keys, strict=True) if memo.get(key) is not None]
    # `memo.get(key, "")`: a run no key can be is neither tried nor doomed (nothing to shadow).
    dead = {s for s, key in zip(starts, keys, strict=True) if memo.get(key, "") is None}
    if live:
        values = _Values(text)
        kept = [s for s in live if not values.rejected(s, _KEY_RUN.match(text, s).end(), memo)]  # type: ignore[union-attr]
        if len(kept) < len(live):
            dead.update(set(live).difference(kept))
            live = kept
    return live, frozenset(dead)


class _Values:
    """Which unquoted values `_kv` rejects under a PHI key, read without matching the pair:
    no digit under a key whose values are numbers (`ssn=ssn=…`, `mrn: mrn: …`), no name under
    a name key (`name=name=…`). The value of a pair is the run of value characters after its
    operator, read as `_kv` reads it (`_Runs`: once per run, however many pairs share it)."""

    __slots__ = ("_runs", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._runs = _Runs()

    def rejected(self, start: int, key_end: int, memo: dict[str, str | None]) -> bool:
        text = self._text
        op = _KV_OP.match(text, key_end)
        if op is None:
            return False  # the pattern decides (it cannot match: no operator)
        value = op.end()
        if text.startswith(("'", '"', "[", "90+"), value):
            return False  # quoted, or maybe only placeholders: `_kv` reads it
        runs = self._runs
        runs.read(text, value)
        end = runs.end
        if end == value:
            return False  # no value: the pattern cannot match
        type_ = memo[text[start:key_end]]
        if type_ == "NAME":
            return not (_NAME_VALUE.fullmatch(text, value, end) and text[value].isupper())
        return type_ not in _WORDY and runs.last_digit < value


class _Runs:
    """The run of unquoted-value characters under the scan, read once per run.

    Every `key=value` pair that starts inside one run (`a=b=c=…`, `ssn=ssn=…`) has its value end
    where the run ends, so a pair that is rejected (no digit, not a name) costs O(1) instead of
    a rescan to the end of the run: that rescan made such text take time quadratic in its
    length (99 KB of `ab:` took 19 s). Lives for one `ValueDetectors.spans` call.
    """

    __slots__ = ("end", "last_digit", "start")

    def __init__(self) -> None:
        self.start = self.end = self.last_digit = -1

    def read(self, text: str, pos: int) -> None:
        """Make `end` the run's end after `pos`, `last_digit` its last digit (< pos: none)."""
        if self.start <= pos < self.end:
            return  # inside the run read last: no stop character in it, same end, same digits
        end = _KV_RUN.match(text, pos).end()  # type: ignore[union-attr]
        last = end - 1
        while last >= pos and not text[last].isdigit():
            last -= 1
        self.start, self.end, self.last_digit = pos, end, last


class ValueDetectors:
    """Compiled once per Redactor: the combined pattern plus custom (TYPE, regex) pairs."""

    __slots__ = ("_custom", "_handlers", "_pattern", "_search")

    def __init__(
        self, street_suffixes: frozenset[str], custom: tuple[tuple[str, re.Pattern[str]], ...]
    ) -> None:
        parts = [*PARTS[:-1], ("street", street_pattern(street_suffixes)), PARTS[-1]]
        # The combined pattern reads whole values (`date_of`); scanning uses `MultiSearch`,
        # which finds the same matches in the same order, faster.
        self._pattern = re.compile("|".join(f"(?P<{name}>{src})" for name, src in parts))
        self._search = MultiSearch(
            _entries(parts),
            [name for name, _ in parts],
            splits={"kv": _kv_split},
            splitters={"iso": numeric_split},
        )
        self._custom = custom
        self._handlers: dict[str, Handler] = {
            name: getattr(self, f"_h_{name}") for name, _ in parts if name != "kv"
        }

    def spans(self, text: str, key_memo: dict[str, str | None], features: Features) -> list[Span]:
        found: list[Span] = []
        pending, doomed = self._search.start(text, features, key_memo)
        pos, step = 0, self._search.next
        runs: _Runs | None = None
        while pending:
            m, pending = step(text, pending, pos, doomed)
            if m is None:
                break
            name = m.lastgroup
            consumed = 0
            if name == "kv":
                runs = runs or _Runs()
                result, consumed = self._kv(m, key_memo, runs)
            else:
                result = self._handlers[name](m) if name is not None else None
            if result is None:
                pos = m.start() + 1
                continue
            found.extend(result)
            pos = max(m.end(), consumed, result[-1].end if result else 0, m.start() + 1)
        for type_, pattern in self._custom:
            found.extend(Span(c.start(), c.end(), type_, "custom") for c in pattern.finditer(text)
                         if c.end() > c.start())  # fmt: skip
        return found

    def date_of(self, value: str) -> tuple[str | None, str]:
        """Normalised date and year of a whole value, for dates found under a DATE key."""
        m = self._pattern.fullmatch(value.strip())
        if m is not None and m.lastgroup in ("iso", "num", "mdy", "dmy", "mon"):
            spans = self._handlers[m.lastgroup](m)
            if spans:
                return spans[0].norm, spans[0].keep
        year = _YEAR.search(value)
        return None, year.group() if year else ""

    # Handlers: a list of spans to replace, [] to consume without replacing, None to reject.

    def _h_ph(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "", "placeholder")]

    def _h_img(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "PHOTO", "base64-image")]

    def _h_email(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "EMAIL", "email")]

    def _h_url(self, m: re.Match[str]) -> list[Span] | None:
        # The match holds the scheme and at most _URL_CAP characters: enough to decide on the
        # host, so rejecting an internal URL never reads to the end of a long run (`http://a`
        # repeated 10,000 times took seconds when every one was read to the end).
        text, end = m.string, m.end()
        longer = end < len(text) and _URL_RUN.match(text, end, end + 1).end() > end  # type: ignore[union-attr]
        head = m.group() if longer else m.group().rstrip(".,;:!?")
        host_end = _URL_HOST_END.search(rest := head.split("://", 1)[-1])
        host = (rest if host_end is None else rest[: host_end.start()]).lower()
        if not (longer and host_end is None and len(host) > _MAX_HOST) and (
            "." not in host or host.endswith(_INTERNAL_SUFFIXES) or host == "localhost"
        ):
            return None  # an internal service: keep it, scan its path for identifiers
        if longer:
            end = _URL_RUN.match(text, end).end()  # type: ignore[union-attr]
        url = text[m.start() : end].rstrip(".,;:!?")
        if host in _TERMINOLOGY_HOSTS and "?" not in url:
            return []  # a code system's URI (FHIR `system`): names a vocabulary, not a person
        return [Span(m.start(), m.start() + len(url), "URL", "url")]

    def _h_mac(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "DEVICE", "mac")]

    def _h_iso(self, m: re.Match[str]) -> list[Span] | None:
        year, month, day = int(m["iy"]), int(m["im"]), int(m["id"])
        return _date_span(m, year, month, day) if v.date_ok(year, month, day) else None

    def _h_ssn(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "SSN", "ssn")] if v.ssn_ok(m.group()) else None

    def _h_num(self, m: re.Match[str]) -> list[Span] | None:
        a, b, year_text = int(m["na"]), int(m["nb"]), m["ny"]
        if m["nsep"] == "." and len(year_text) != 4:
            return None  # 1.2.24 is a version, not a date
        year = _year2(year_text)
        month, day = (a, b) if a <= 12 else (b, a)  # US order first; day-first when it must be
        return _date_span(m, year, month, day) if v.date_ok(year, month, day) else None

    def _h_mdy(self, m: re.Match[str]) -> list[Span] | None:
        month, day = MONTH_NUMBER[m["mm"][:3].lower()], int(m["md"])
        year = int(m["my"]) if m["my"] else None
        return _date_span(m, year, month, day) if v.date_ok(year, month, day) else None

    def _h_dmy(self, m: re.Match[str]) -> list[Span] | None:
        month, day, year = MONTH_NUMBER[m["dm"][:3].lower()], int(m["dd"]), int(m["dy"])
        return _date_span(m, year, month, day) if v.date_ok(year, month, day) else None

    def _h_mon(self, m: re.Match[str]) -> list[Span] | None:
        return _date_span(m, int(m["oy"]), MONTH_NUMBER[m["om"][:3].lower()], None)

    def _h_age(self, m: re.Match[str], group: str = "aa") -> list[Span] | None:
        if int(m[group]) <= 89:
            return None  # ages up to 89 are not identifying under Safe Harbor
        return [Span(m.start(group), m.end(group), "AGE", "age", literal="90+")]

    def _h_agen(self, m: re.Match[str]) -> list[Span] | None:
        return self._h_age(m, "ab")

    def _kv(
        self, m: re.Match[str], memo: dict[str, str | None], runs: _Runs
    ) -> tuple[list[Span] | None, int]:
        """Spans (None: rejected) and where the consumed value ends."""
        key = m["kvk"]
        if key in memo:
            type_ = memo[key]
        else:
            type_ = memo[key] = text_key_type(key)
        if type_ is None:
            return None, 0
        text, raw, start, end = m.string, m["kvv"], m.start("kvv"), m.end("kvv")
        quoted, digit = raw[:1] in ("'", '"'), True
        if quoted:
            start, end = start + 1, end - 1
            only = ("[" in raw or "90+" in raw) and ONLY_PLACEHOLDERS.fullmatch(
                raw, 1, len(raw) - 1
            )
        else:
            if len(raw) < _KV_CAP:
                digit = any(ch.isdigit() for ch in raw)
            else:  # a long value: its end and digits from the run, without reading it again
                runs.read(text, start)
                end, digit = runs.end, runs.last_digit >= start
            # Unquoted values hold no blank, so only placeholders means one first.
            only = text.startswith(("[", "90+"), start) and ONLY_PLACEHOLDERS.fullmatch(
                text, start, end
            )
        if start == end or only:
            return [], end
        if not quoted and type_ not in _WORDY and not digit:
            return None, 0  # `e.patient_id = p.id`: a column on both sides, not an identifier
        if type_ == "NAME" and not (
            _NAME_VALUE.fullmatch(text, start, end) and (quoted or text[start].isupper())
        ):
            return None, 0
        value = text[start:end]
        if type_ == "DATE" and not quoted:  # 03/04/1961: the slash that ends a path ends no date
            tail = _DATE_TAIL.match(m.string, end)
            end = tail.end() if tail is not None else end
            value = m.string[start:end]
        if type_ == "ADDRESS" and not quoted:
            tail = _ADDRESS_TAIL.match(m.string, end)
            end = tail.end() if tail is not None else end
        keep, norm = "", None
        if type_ == "ZIP":
            keep = zip3(value)
        elif type_ == "DATE":
            norm, keep = self.date_of(value)
        return [Span(start, end, type_, "key-in-text", norm, keep)], end

    def _h_ctx(self, m: re.Match[str]) -> list[Span] | None:
        type_ = CONTEXT_TYPES.get(" ".join(m["cw"].lower().split()))
        value = m["cv"].rstrip(".-/_")
        if type_ is None or ("." in value and _VERSION.fullmatch(value)):  # versions have dots
            return None
        digits = v.digits_of(value)
        if len(digits) < _MIN_DIGITS.get(type_, 4):
            return None
        if m.string[m.start("cv") - 1] == "-" and len(digits) < _MIN_HYPHENATED_DIGITS:
            return None  # `visit-2024`, `claim-12`: a word with a number, not `MRN-99812345`
        if type_ in ("PHONE", "FAX") and len(digits) > 15:
            return None
        keep = zip3(value) if type_ == "ZIP" else ""
        if type_ == "ZIP" and len(digits) not in (5, 9):
            return None
        start = m.start("cv")
        end = start + len(value)
        if m.string.startswith("://", end):
            return None  # `photo https://…`: a URL's scheme, the URL detector's to take
        if m.string[end : end + 1].isalnum():  # `4389807187ad12e3…`: the digits began a token
            tail = _TOKEN_TAIL.match(m.string, end)
            end = tail.end() if tail is not None else end
        return [Span(start, end, type_, "context", keep=keep)]

    def _h_iban(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "ACCOUNT", "iban")] if v.iban_ok(m.group()) else None

    def _h_card(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "ACCOUNT", "luhn")] if v.card_ok(m.group()) else None

    def _h_dea(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "LICENSE", "dea")] if v.dea_ok(m.group()) else None

    def _h_vin(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "VEHICLE", "vin")] if v.vin_ok(m.group()) else None

    def _h_ipv4(self, m: re.Match[str]) -> list[Span] | None:
        ok = v.ipv4_ok(m.group().split("/", 1)[0])
        return [Span(m.start(), m.end(), "IP", "ipv4")] if ok else None

    def _h_ipv6(self, m: re.Match[str]) -> list[Span] | None:
        try:
            ipaddress.IPv6Address(m.group())
        except ValueError:
            return None
        return [Span(m.start(), m.end(), "IP", "ipv6")]

    def _h_phone(self, m: re.Match[str]) -> list[Span] | None:
        count = len(v.digits_of(m.group()))
        return [Span(m.start(), m.end(), "PHONE", "phone")] if 10 <= count <= 15 else None

    def _h_phonep(self, m: re.Match[str]) -> list[Span] | None:
        # A method, not a class-level alias, so `getattr` finds it in a mypyc-compiled class too.
        return self._h_phone(m)

    def _h_pobox(self, m: re.Match[str]) -> list[Span] | None:
        return [Span(m.start(), m.end(), "ADDRESS", "address")]

    def _h_street(self, m: re.Match[str]) -> list[Span] | None:
        if m["scity"] is None or m["sst"] not in US_STATES:
            end = m.start("scity") if m["scity"] else m.end()
            # Trailing separators off, reading back from `end` only: `len(string[:end].rstrip())`
            # copied the text before every address (quadratic on a text of addresses).
            while end > m.start() and m.string[end - 1] in ", \t\n":
                end -= 1
            return [Span(m.start(), end, "ADDRESS", "address")]
        return [
            Span(m.start(), m.end("scity"), "ADDRESS", "address"),
            Span(m.start("szip"), m.end("szip"), "ZIP", "address", keep=zip3(m["szip"])),
        ]

    def _h_csz(self, m: re.Match[str]) -> list[Span] | None:
        if m["st"] not in US_STATES:
            return None
        return [
            Span(m.start("city"), m.end("city"), "ADDRESS", "address"),
            Span(m.start("zip"), m.end("zip"), "ZIP", "address", keep=zip3(m["zip"])),
        ]
