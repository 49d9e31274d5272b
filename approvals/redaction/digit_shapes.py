"""Shapes that hold a number: loose phones, ZIP and postal codes after a state, a country or
their own name, address lines (`street, postal code town`), units, postal-code and house-number
lines, ages after a cue. Pure; used by `shapes.ShapeScanner` on text with a digit.
"""

from __future__ import annotations

import re

from approvals.redaction import validators as v
from approvals.redaction.addresses import (
    ADDRESS_LINE,
    ADDRESS_LINE_WIDE,
    PLACE_PART,
    PLACE_PARTICLE,
    POSTAL,
    RESIDENCE_WORDS,
    cue_matches,
    residence,
    street_start,
)
from approvals.redaction.detectors import Span
from approvals.redaction.patterns import US_STATES
from approvals.redaction.placeholders import zip3
from approvals.redaction.vocabulary import w as _words

_STATE_NAMES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia"
    "|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland"
    "|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada"
    "|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma"
    "|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah"
    "|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
)
# Read backwards from a ZIP code: `[City[,]] State[,] ` just before it.
_STATE_BEFORE = re.compile(
    r"(?:(?P<city>\b[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2}),?[ \t]+)?"
    r"(?P<st>\b[A-Z]{2}|" + _STATE_NAMES + r"),?[ \t]+$"
)
# `_ZIP_AT` and `_CLUSTER` begin with a digit (or `(`) and check what precedes it afterwards
# (`(?<![\d-])\d` written `\d(?<![\d-]\d)`, `\(?\d` as `[\d(]` then a digit if it was `(`):
# the same matches, but `re` skips to the next digit in C instead of trying every position. On
# ASCII text they run compiled with re.ASCII, where `\d` is `[0-9]`, as it is on that text
# anyway, and is checked faster.
_ZIP_AT_SOURCE = r"\d(?<![\d-]\d)\d{4}(?:-\d{4})?(?![\d-])"
_ZIP_AT = re.compile(_ZIP_AT_SOURCE)
_ZIP_AT_ASCII = re.compile(_ZIP_AT_SOURCE, re.ASCII)
_STATE_WINDOW = 48
_CLUSTER_SOURCE = r"[\d(](?:(?<=\()\d|(?<!\())[\d ()./-]{5,}\d"
_CLUSTER = re.compile(_CLUSTER_SOURCE)
_CLUSTER_ASCII = re.compile(_CLUSTER_SOURCE, re.ASCII)
_TWO_DIGITS = re.compile(r"\d\d")
_PHONE_CUES = frozenset(_words("tel phone call fax mobile cell desk office ph"))
_UNIT_WORDS = frozenset(_words("apt apartment suite ste unit flat"))
_AGE_WORDS = frozenset(_words("turn turned turns turning age aged"))
# What both address lines hold after the street: a comma, a postal code and a blank. Led by a
# literal (`re` jumps from comma to comma), it rules the lines out on most text, whose own
# scans try every position (a comma then a digit, the old gate, is in most dates).
_LINE_TAIL = re.compile(r",[ \t]*(?:" + POSTAL + r")[ \t]")
_ZIP4 = re.compile(r"(?<![\w.-])\d{5}-\d{4}(?![\w-])")
# Each shape ends where the number ends (`(?![ .-]\d)`): `020 7946 0958` is one number, not
# `020 7946` (NANP-like) and a stray `0958`.
_LOOSE_PHONE = re.compile(
    r"(?<![\w.+-])(?:\(?\d{3}\)?[ .-]?)?\d{3}[ .-]\d{4}(?![\w-]|\.\d|[ .]\d)"
    r"|(?<![\w.+-])\d{2,4}(?:[ .-]\d{2,4}){2,4}(?![\w-]|\.\d)"
    # national shapes (ITU-T E.164 national significant numbers after a trunk prefix):
    # `(21) 6323-7224`, `(02) 5550 1234`, `0372-6705730`, `07700 900123`, `030/90182033`,
    # `098765 43210`, `23 577413`
    r"|(?<![\w.+-])(?:\(\d{2,4}\)[ -]?|0\d{2,5}[ /-]|\d{2,4}[ -])\d{3,8}(?:[ -]\d{3,4})?"
    r"(?![\w-]|\.\d|[ .]\d)"
)
# Secondary address units, a line holding only a postal code, a house-number line, age cues.
_UNIT = re.compile(r"\b(?:Apt|Apartment|Suite|Ste|Unit|Flat)\b\.?[ \t]*#?[ \t]*\d{1,5}[A-Za-z]?\b")
_POSTAL_LINE = re.compile(
    r"(?m)^[ \t>?]*(?P<z>\d{4,5}|\d{3,4}[ -]\d{2,4}|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2})[ \t]*$"
)
_HOUSE_LINE = re.compile(
    r"(?m)^[ \t>?]*(?P<a>\d{1,5}[A-Za-z]?[ \t]+[A-ZÀ-Þ][\w'’.-]{0,40}(?:[ \t]+[\w'’.-]{1,40}){0,5})"
    r"[ \t]*$"
)
# A postal code after a country (`Portugal 2890-219`, `New Zealand 3200`, `Cyprus (Greek) 8520`,
# `Poland 03-930`; three digits only where the line ends: `Iceland 680`). Its leading `\b` is
# checked after the capital (`(?<=\b.)`: `\b` where the capital starts), so `re` skips to
# capitals instead of trying every position; the same holds for the patterns of shapes.py.
_AFTER_COUNTRY = re.compile(
    r"(?P<c>[A-Z](?<=\b.)[a-z]+(?:[ \t][A-Z][a-z]+)?)(?:[ \t]++\([A-Z][a-z]+\))?[ \t]++"
    r"(?P<z>\d{4,5}|\d{3,4}-\d{3}|\d{2}-\d{3}|\d{3}(?=[ \t]*(?:$|[|\n]))"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]\d[A-Z]\d)(?![\w-])",
    re.MULTILINE,
)
# A postal code after its own name: `my zip code is 2040`, `postcode: DL11 4HB`.
_ZIP_CUE = re.compile(
    r"(?i:\b(?:zip|postal|post)[ \t]*+code|\bpostcode|\bzip)(?:[ \t]++is)?[ \t]*+[:#=]?[ \t]*+"
    r"(?P<z>\d{3,5}(?:-\d{3,4})?|\d{2}-\d{3}|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}"
    r"|[A-Z]\d[A-Z][ \t]\d[A-Z]\d)(?![\w-])"
)
_ZIP_WORDS = frozenset(_words("zip postal post postcode"))
_AGE_CUE = re.compile(r"(?i:\b(?:turn(?:ed|s|ing)?|age[ \t]+of|aged?)[ \t]+)(?P<n>\d{2,3})\b(?!\+)")
_CUE_PHONE = re.compile(
    r"(?i:\b(?:tel|phone|call|fax|mobile|cell|desk|office|ph)\b\.?:?[ \t]*(?:me[ \t]+)?"
    r"(?:at|on)?[ \t]*)(?P<num>\+?\(?\d[\d ().-]{4,18}\d)"
)
_NOT_CITY = frozenset(_words("The In At On From To Near Of Dear Hi Mail"))


def phones_and_zips(text: str, words: frozenset[str], places: frozenset[str]) -> list[Span]:
    """Loose phones, ZIP and postal codes, address lines, units and ages: the shapes of
    `ShapeScanner` that hold a digit (`places`: countries and their words, see `vocabulary`)."""
    out: list[Span] = []
    phone: dict[str, bool] = {}  # a shape's verdict, for the copies of it (`12 12 12 12 12`)
    ascii_text = text.isascii()
    for cluster in (_CLUSTER_ASCII if ascii_text else _CLUSTER).finditer(text):
        # Phones need seven digits: only runs of digits and separators that long are read,
        # and only those with two digits in a row, which every shape has (`1 1 1 …` none).
        start, end = max(0, cluster.start() - 1), cluster.end() + 1
        if _TWO_DIGITS.search(text, start, end) is None:
            continue
        for m in _LOOSE_PHONE.finditer(text, start, end):
            shape = m.group()
            ok = phone.get(shape)
            if ok is None:
                count = len(v.digits_of(shape))
                ok = phone[shape] = 7 <= count <= 15 and not _date_like(shape)
            if ok:
                out.append(Span(m.start(), m.end(), "PHONE", "phone-shape"))
    cued = not words.isdisjoint(_PHONE_CUES)
    for m in cue_matches(_CUE_PHONE, text, _PHONE_CUES) if cued else ():
        count = len(v.digits_of(m["num"]))
        if 5 <= count <= 15 and not _date_like(m["num"]):
            out.append(Span(m.start("num"), m.end("num"), "PHONE", "phone-shape"))
    zip4 = False  # every ZIP+4 (`_ZIP4`) is also a 10-character `_ZIP_AT` match
    for z in (_ZIP_AT_ASCII if ascii_text else _ZIP_AT).finditer(text):
        zip4 = zip4 or len(z.group()) == 10
        head = text[max(0, z.start() - 5) : z.start()]
        if head[-1:] == " " and head[-3:-1].isupper() and head[:2] in (", ", ","):
            continue  # `…, MA 02108`: the `csz` detector's own shape, found there
        window = max(0, z.start() - _STATE_WINDOW)
        st = _STATE_BEFORE.search(text, window, z.start())
        if st is None or (len(st["st"]) == 2 and st["st"] not in US_STATES and not st["city"]):
            continue  # `Vila Real VR 50000`: a region code after a town counts too
        if st["city"] and st["st"] in US_STATES and "," in text[st.end("city") : st.start("st")]:
            continue  # `Boston, MA 02108`: the `csz` detector's own shape
        if st["city"] is not None and st["city"] not in _NOT_CITY:
            out.append(Span(st.start("city"), st.end("city"), "ADDRESS", "address-shape"))
        out.append(Span(z.start(), z.end(), "ZIP", "address-shape", keep=zip3(z.group())))
    lines = _LINE_TAIL.search(text) is not None
    for m in ADDRESS_LINE_WIDE.finditer(text) if lines else ():
        city_end = _place_end(m["city"], places)
        if not city_end:
            continue
        start = street_start(text, m.start("street"), m.end("street"))
        if any(c.isdigit() for c in text[start : m.end("street")]):
            out.append(Span(start, m.end("street"), "ADDRESS", "address-shape"))
        out.append(Span(m.start("zip"), m.end("zip"), "ZIP", "address-shape"))
        city = m.start("city")
        out.append(Span(city, city + city_end, "ADDRESS", "address-shape"))
    for m in ADDRESS_LINE.finditer(text) if lines else ():
        start = street_start(text, m.start("street"), m.end("street"))
        if any(c.isdigit() for c in text[start : m.end("street")]):
            out.append(Span(start, m.end("street"), "ADDRESS", "address-shape"))
        out.append(Span(m.start("zip"), m.end("zip"), "ZIP", "address-shape"))
        out.append(Span(m.start("city"), m.end("city"), "ADDRESS", "address-shape"))
    if not words.isdisjoint(RESIDENCE_WORDS):
        out += residence(text, places)
    for m in _UNIT.finditer(text) if not words.isdisjoint(_UNIT_WORDS) else ():
        out.append(Span(m.start(), m.end(), "ADDRESS", "address-shape"))
    if "\n" in text:
        for m in _POSTAL_LINE.finditer(text):
            out.append(Span(m.start("z"), m.end("z"), "ZIP", "address-shape"))
        for m in _HOUSE_LINE.finditer(text):
            out.append(Span(m.start("a"), m.end("a"), "ADDRESS", "address-shape"))
    for m in _AFTER_COUNTRY.finditer(text) if not words.isdisjoint(places) else ():
        if m["c"].lower() in places or m["c"].split()[-1].lower() in places:
            out.append(Span(m.start("z"), m.end("z"), "ZIP", "address-shape"))
    for m in _ZIP_CUE.finditer(text) if not words.isdisjoint(_ZIP_WORDS) else ():
        us = len(m["z"]) in (5, 10) and m["z"][:5].isdigit()  # Safe Harbor keeps 3 of 5
        keep = zip3(m["z"]) if us else ""
        out.append(Span(m.start("z"), m.end("z"), "ZIP", "address-shape", keep=keep))
    for m in _AGE_CUE.finditer(text) if not words.isdisjoint(_AGE_WORDS) else ():
        if 89 < int(m["n"]) <= 125:
            out.append(Span(m.start("n"), m.end("n"), "AGE", "age-shape", literal="90+"))
    for m in _ZIP4.finditer(text) if zip4 else ():
        out.append(Span(m.start(), m.end(), "ZIP", "address-shape", keep=zip3(m.group())))
    return out


def _place_end(city: str, places: frozenset[str]) -> int:
    """Where a town read after a postal code ends: its words start with a capital (or are of
    a script without case), a country after it is not part of it (`Tallinn Estonia`)."""
    end = 0
    for m in PLACE_PART.finditer(city):
        word = m.group()
        if m.start() and word.lower() in places:
            break
        if not (word[0].isupper() or _caseless(word)):
            if m.start() == 0 or not PLACE_PARTICLE.fullmatch(city, end, m.start()):
                break
            continue  # a particle: part of the town only when a capitalised word follows
        end = m.end()
    return end


def _caseless(word: str) -> bool:
    first = word[:1]
    return first.isalpha() and first.lower() == first.upper()


_DATE_SEPARATOR = re.compile(r"[ .-]")


def _date_like(value: str) -> bool:
    parts = _DATE_SEPARATOR.split(value.strip("()"))
    return len(parts) == 3 and len(parts[0]) == 4 and parts[0][:2] in ("19", "20")
