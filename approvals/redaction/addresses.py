"""Address shapes written as countries write them: postal codes, towns, residence cues. Pure.

Used by `shapes.ShapeScanner` (docs/redaction.md, "Names and places beyond the lists"): a
`street number, postal code town` line, and the street and town after a residence cue
(`Lives at Síp utca 36., Kistarcsa`).
"""

from __future__ import annotations

import re

from approvals.redaction.detectors import Span
from approvals.redaction.patterns import US_STATES
from approvals.redaction.vocabulary import w as _words

# Postal codes as the UPU lists their shapes: 4–6 digits, two groups (`80-170` PL, `517 41` CZ,
# `44072-410` BR, `2890-219` PT, `100-0001` JP), `5616 BJ` (NL), `H3C 5K4` (CA), UK outward-inward.
POSTAL = (
    r"\d{4,6}|\d{2,5}[ -]\d{2,4}|\d{4}[ \t]?[A-Z]{2}\b|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[A-Z]{2}"
)
POSTAL_BEFORE = re.compile(r"(?<![\w.:/-])(?P<n>" + POSTAL + r")[ \t]+$")
# Capital letters of the Latin (with Latin Extended-A), Greek and Cyrillic alphabets.
_CAP = "A-ZÀ-ÖØ-ÞĀ-ſΆ-ΫЀ-Я"
# Lower-case words inside a town's name: `Vila Franca do Campo`, `Kostelec nad Orlicí`.
_TOWN_JOINERS = (
    "de|do|da|dos|das|del|della|di|du|des|la|le|les|nad|pod|am|an|im|upon|sur|en|y|i|e|van|von"
    "|der|den|bei|op|aan|sul|sur|sous|on"
)
_TOWN = (
    r"[" + _CAP + r"](?:[\w'’-]|\.(?=\w)){0,40}(?:[ \t]+(?:(?:" + _TOWN_JOINERS + r")[ \t]+)?"
    r"[" + _CAP + r"](?:[\w'’-]|\.(?=\w)){0,40}){0,3}"
)
# An address line as most countries write it: street and number, postal code, town. The street
# may open with a lower-case abbreviation (`ul.`, `str.`) or a slashed one (`C/ Mayor 5`).
ADDRESS_LINE = re.compile(
    r"(?P<street>\b(?:\d{1,5}[a-zA-Z]?[ \t]+)?(?:(?<![\w.-])[a-z]{1,4}\.[ \t]*)?["
    + _CAP
    + r"][\w'’./-]{0,40}(?:[ \t]+[\w'’./-]{1,40}){0,4}?(?:[ \t]+\d{1,5}[a-zA-Z]?\.?)?)"
    + r",[ \t]*(?P<zip>"
    + POSTAL
    + r")[ \t]+(?P<city>"
    + _TOWN
    + r")"
)
# Where a person's address is announced (`Lives at Síp utca 36., Kistarcsa`): the words up to
# the next comma are the street when they hold a house number, and a town may follow the comma.
_RESIDENCE = re.compile(
    r"(?i:\b(?:(?:lives|lived|living|resides|resided|residing|staying)[ \t]+at"
    r"|(?:(?:home|street|mailing|postal|residential)[ \t]+)?address(?:[ \t]*:|[ \t]+is\b)))"
    r"[ \t]*"
)
# Between the cue and the house number: a few words, no sentence punctuation (a dot only in
# an abbreviation of up to four characters: `P.G. Otterweg 38`, `ul. Długa 5`).
_STREET_HEAD = re.compile(r"(?:(?:[^\s?!;:.]+|[^\s?!;:]{1,4})[ \t]+){0,5}")
RESIDENCE_WORDS = frozenset(_words("lives lived living resides resided residing staying address"))
_HOUSE_NUMBER = re.compile(r"(?<![\w.:/-])\d{1,5}[A-Za-z]?(?![\w:/]|[.,]\d)")
_SENTENCE_END = re.compile(r"\.[ \t]+(?=[A-Z])|\.$")
_STREET_MAX = 80
_TOWN_AFTER = re.compile(
    r",[ \t]*(?:(?P<zip>" + POSTAL + r")[ \t]+)?(?P<city>" + _TOWN + r")(?![\w'’-])"
)


def residence(text: str, places: frozenset[str]) -> list[Span]:
    """The address after a residence cue: a street with a house number, then a town."""
    out: list[Span] = []
    for cue in _RESIDENCE.finditer(text):
        start = cue.end()
        limit = min(len(text), start + _STREET_MAX)
        end = limit
        for stop in ",;\n":
            found = text.find(stop, start, limit)
            if found >= 0:
                end = min(end, found)
        number = _HOUSE_NUMBER.search(text, start, end)
        head = _STREET_HEAD.match(text, start, end)  # matches always, maybe empty
        if number is None or head is None or head.end() < number.start():
            continue  # `lives at home with his wife`: no street
        sentence = _SENTENCE_END.search(text, number.end(), end)
        if sentence is not None:
            end = sentence.start()
        street_end = len(text[start:end].rstrip(" \t."))
        out.append(Span(start, start + street_end, "ADDRESS", "address-shape"))
        town = _TOWN_AFTER.match(text, end) if text[end : end + 1] == "," else None
        if town is not None:
            if town["zip"] is not None:
                out.append(Span(town.start("zip"), town.end("zip"), "ZIP", "address-shape"))
            if town["city"].lower() not in places and town["city"] not in US_STATES:
                out.append(Span(town.start("city"), town.end("city"), "ADDRESS",
                                "address-shape"))  # fmt: skip
    return out
