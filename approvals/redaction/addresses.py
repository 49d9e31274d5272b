"""Address shapes written as countries write them: postal codes, towns, residence cues,
streets named by their kind. Pure.

Used by `shapes.ShapeScanner` (docs/redaction.md, "Names and places beyond the lists"): a
`street number, postal code town` line (two readings: `ADDRESS_LINE`, capitalised streets and
towns with their joiners; `ADDRESS_LINE_WIDE`, any script, the town checked by the scanner), the
street and town after a residence cue (`Lives at Síp utca 36., Kistarcsa`), and streets named
by their kind (`45 rue …`, `… Road`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from approvals.redaction.detectors import Span
from approvals.redaction.names import ascii_hits
from approvals.redaction.patterns import US_STATES
from approvals.redaction.search import LETTERS
from approvals.redaction.vocabulary import english_words
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
# The words a `_RESIDENCE` match starts with (`cue_matches`).
_RESIDENCE_STARTS = RESIDENCE_WORDS | frozenset(_words("home street mailing postal residential"))
_HOUSE_NUMBER = re.compile(r"(?<![\w.:/-])\d{1,5}[A-Za-z]?(?![\w:/]|[.,]\d)")
_SENTENCE_END = re.compile(r"\.[ \t]+(?=[A-Z])|\.$")
_STREET_MAX = 80
_TOWN_AFTER = re.compile(
    r",[ \t]*(?:(?P<zip>" + POSTAL + r")[ \t]+)?(?P<city>" + _TOWN + r")(?![\w'’-])"
)


def residence(text: str, places: frozenset[str]) -> list[Span]:
    """The address after a residence cue: a street with a house number, then a town."""
    out: list[Span] = []
    for cue in cue_matches(_RESIDENCE, text, _RESIDENCE_STARTS):
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


# A word of a place name: capitalised or all capitals, in any script (`Walshausen`, `ΠΑΦΟΣ`).
_PLACE_WORD = r"[^\W\d_][\w'’.]{0,40}"
# Between the words of a place: a blank, a dash, or a short lower-case particle (`Rio de
# Janeiro`, `Rečica ob Savinji`, `Pinares - Las Delicias`); `_place_end` checks the case.
_PLACE_GAP = r"(?:[ \t]*[-–][ \t]*|[ \t]+(?:[^\W\d_A-Z]{1,3}[ \t]+)?)"
# An address line as most countries write it: street and number, postal code, town. The street
# starts with a capital or a word of another script (`χλμ`); `street_start` moves its start
# past the prose before it.
ADDRESS_LINE_WIDE = re.compile(
    r"(?P<street>\b(?:\d{1,5}[a-zA-Z]?[ \t]+)?(?![a-zß-ÿ])[^\W\d_][\w'’.-]{0,40}"
    r"(?:[ \t]+[\w'’.-]{1,40}){0,4}?"
    r"(?:[ \t]+\d{1,5}[a-zA-Z]?\.?)?),[ \t]*(?P<zip>" + POSTAL + r")[ \t]+"
    r"(?P<city>" + _PLACE_WORD + r"(?:" + _PLACE_GAP + _PLACE_WORD + r"){0,3})"
)
_STREET_TOKEN = re.compile(r"[^\s]+")
# English closed-class words (articles, pronouns, prepositions, auxiliaries, conjunctions): no
# street name holds one, so an address line's street starts after the last of them (`I'll meet
# you at Turjaška 115, …`, `The letter arrived at …`).
FUNCTION_WORDS = frozenset(
    _words(
        "a an the this that these those my your his her its our their me you he she it we they "
        "i i'll i'm i've i'd it's he's she's we're we'll they're you're there here who which what "
        "is are was were be been being am has have had does did will would shall should can "
        "could may might must at in on to of for from by with into onto upon near about above "
        "below under over after before behind beside between through toward towards within "
        "without and or but nor so yet if then than as also just now once still not no"
    )
)


# Kinds of street written before the name (French, Italian, Spanish, Portuguese, Polish, Czech,
# Romanian, Greek, Turkish, Indonesian… and their abbreviations), and after it.
_STREET_BEFORE_KINDS = (
    "rue|avenue|av|avenida|avda|boulevard|bd|blvd|chemin|route|allée|allee|impasse|quai|place"
    "|via|viale|piazza|piazzale|corso|largo|vicolo|strada|calle|carrera|paseo|plaza|camino"
    "|ronda|travesía|rua|r|travessa|tv|praça|praca|estrada|alameda|rodovia|ulica|ul|aleja|al"
    "|plac|pl|ulice|nábřeží|náměstí|nám|trg|calea|bulevardul|str|strada|odos|leoforos|λεωφ"
    "|λεωφόρος|οδός|οδ|sokak|sk|cadde|caddesi|cd|jalan|jl|ulitsa|prospekt|pr|prosp"
)
_STREET_AFTER_KINDS = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Boulevard|Blvd|Terrace|Crescent|Parkway|Pkwy|Highway"
    "|Hwy|Strasse|Straße|Str|Gasse|Platz|Allee|Straat|Laan|Gatan|Vej|Veien|Katu|Utca|Út"
)
_TITLE_WORD = r"[A-ZÀ-Þ\u0386-\u03ab\u0400-\u042f][^\W\d_]*"
_NAME_GAP = (
    r"[ \t]+(?:(?:de|da|do|dos|das|del|della|di|du|des|la|las|le|les|los|el|al|van|von|der|den)"
    r"[ \t]+)?"
)


@functools.lru_cache(maxsize=64)
def _street_before(kinds: str) -> re.Pattern[str]:
    return re.compile(
        r"(?P<n>(?<![\w.,-])\d{1,5}[a-zA-Z]?,?[ \t]+)?\b(?P<t>(?i:" + kinds + r"))\.?"
        r"(?P<rest>" + _NAME_GAP + _TITLE_WORD + r"(?:" + _NAME_GAP + _TITLE_WORD + r"){0,3})"
        r"(?:[ \t]+\d{1,5}[a-zA-Z]?\b)?"
    )


@functools.lru_cache(maxsize=64)
def _street_after(kinds: str) -> re.Pattern[str]:
    return re.compile(
        rf"\b(?P<rest>{_TITLE_WORD}(?:[ \t]+{_TITLE_WORD}){{0,3}})[ \t]+(?:{kinds})\b\.?"
    )


_BEFORE_KINDS = _STREET_BEFORE_KINDS.split("|")
_AFTER_KINDS = _STREET_AFTER_KINDS.split("|")
STREET_TYPES = frozenset(
    (
        *re.findall(r"[^\W\d_]+", _STREET_BEFORE_KINDS),
        *re.findall(r"[a-zß-ÿ]+", _STREET_AFTER_KINDS.lower()),
    )
)
PLACE_PART = re.compile(r"[^\W\d_][\w'’.]*")
PLACE_PARTICLE = re.compile(r"[ \t]+[^\W\d_A-Z]{1,3}[ \t]+|[ \t]*[-–][ \t]*|[ \t]+")


def street_start(text: str, start: int, end: int) -> int:
    """Past the last English function word or lower-case English word of a street read by
    `ADDRESS_LINE_WIDE`: prose before a street is not part of it."""
    english = english_words()
    new_start = start
    for m in _STREET_TOKEN.finditer(text, start, end):
        token = m.group().strip("'’.,").lower()
        if token in FUNCTION_WORDS or (
            m.group().islower() and len(token) >= 4 and token in english
        ):
            new_start = m.end()
    while new_start < end and text[new_start] in " \t":
        new_start += 1
    return new_start


def streets(text: str, safe: frozenset[str], words: frozenset[str]) -> list[Span]:
    """A street named by its kind (`Rue …`, `45 rue …`, `2762 ul. …`, `… Road`), in any of
    the languages `STREET_TYPES` covers: with a house number before it, or, without one,
    when one of its words is in no dictionary (`McPherson Road`, not `Main Street`).

    Both patterns are tried only where they can start (`_starts_before`, `_starts_after`):
    searched over the whole text they tried every word, and a text of names (100 KB) took
    35–50 ms. A street met again is not read again."""
    out: list[Span] = []
    english = english_words()
    unnamed: dict[str, bool] = {}
    before = _before_kinds(text, words)
    for m in _matches(_street_before(before), text, _starts_before(text, before)):
        kind = m["t"]
        if m["n"] is None and (len(kind) < 3 or not kind[0].isupper()):
            continue
        if m["n"] is None:
            rest = m["rest"]
            named = unnamed.get(rest)
            if named is None:
                named = unnamed[rest] = _unnamed(safe, rest, english)
            if not named:
                continue
        out.append(Span(m.start(), m.end(), "ADDRESS", "street-kind"))
    after = "|".join(kind for kind in _AFTER_KINDS if kind in text)  # written as listed
    starts: dict[str, int | None] = {}  # a street's name → where it starts in it (None: no street)
    for m in _matches(_street_after(after), text, _starts_after(text, after)):
        rest = m["rest"]
        if rest in starts:
            offset = starts[rest]
        else:
            offset = street_start(rest, 0, len(rest))
            if offset >= len(rest) or not _unnamed(safe, rest[offset:], english):
                offset = None
            starts[rest] = offset
        if offset is not None:
            out.append(Span(m.start() + offset, m.end(), "ADDRESS", "street-kind"))
    return out


# Characters that match an ASCII letter of a pattern under re.IGNORECASE (search.py has why).
_FOLDS = ("\u0130", "\u0131", "\u017f", "\u212a")
_TITLE_FIRST = re.compile(_TITLE_WORD[: _TITLE_WORD.index("]") + 1])  # its first character
# Below one kind per this many characters, trying the kinds' streets beats one search.
_SPARSE = 64
_GREEK = re.compile("[\u0370-\u03ff]")


def _before_kinds(text: str, words: frozenset[str]) -> str:
    """The kinds written before a name that `text` may hold, as one alternation, in their
    order (a kind the text lacks is a branch that always fails, so leaving it out changes no
    match): those among its words (`words`: the letter runs of its lower case). A kind matches
    as a whole word (a non-word character before it, which lower-casing never turns into a
    word character, a dot or blank after it), and its letters only as themselves or their
    capitals, whose lower case they are; except where one of `_FOLDS` makes an ASCII kind
    match more (every kind stays) and for the Greek kinds (`ς` matches `σ`: they stay when the
    text has Greek letters)."""
    if text.isascii():
        return "|".join(kind for kind in _BEFORE_KINDS if kind in words)
    if any(map(text.__contains__, _FOLDS)):
        return _STREET_BEFORE_KINDS
    greek = _GREEK.search(text) is not None
    return "|".join(
        kind for kind in _BEFORE_KINDS if (greek if _GREEK.match(kind) else kind in words)
    )


def _starts_before(text: str, kinds: str) -> list[int] | None:
    """Where `_street_before(kinds)` can start: at a kind (a whole word) or at
    the house number before it (`12a, rue`: digits, a letter, a comma, blanks). None: any
    position (other text, or kinds so frequent that one search of the text is faster)."""
    if not kinds:
        return []
    lower = text.lower()
    if not text.isascii() and (
        len(lower) != len(text) or any(map(text.__contains__, _FOLDS)) or _GREEK.search(text)
    ):
        # Where lower case moved a character (`İ`), or a kind may match more than its lower
        # case (`ſ` as `s`, `ς` as `σ`): search the whole text. Elsewhere (`é`, `李`) a kind
        # written in any case is its lower case, found whole as on ASCII text.
        return None
    found = ascii_hits(lower, frozenset(kinds.split("|")))
    if len(found) * _SPARSE > len(text):
        return None
    starts: list[int] = []
    for kind_start, _ in found:
        starts.append(kind_start)
        i = kind_start
        while i > 0 and text[i - 1] in " \t":
            i -= 1
        if i == kind_start:
            continue
        if text[i - 1 : i] == ",":
            i -= 1
        if i > 0 and text[i - 1].isalpha():
            i -= 1
        j = i
        while j > 0 and text[j - 1].isdigit():
            j -= 1
        if j < i:
            starts.append(j)
    return sorted(set(starts))


def _starts_after(text: str, kinds: str) -> list[int] | None:
    """Where `_street_after(kinds)` can start: the street's one to four Title Case words
    before its kind, blanks between them. A word is its first character (a capital, or `×`,
    which the class holds too) and the letters after it, and the first word of the match
    starts after a non-word character (`\\b`), the others after a blank. None: search the
    whole text, as fast where kinds are frequent (`1 Main St 1 Main St …`)."""
    if not kinds:
        return []
    found = [m.start() for m in re.finditer(r"(?<=[ \t])(?:" + kinds + r")\b", text)]
    if len(found) * _SPARSE > len(text):
        return None
    starts: set[int] = set()
    for i in found:
        for _ in range(4):
            while i > 0 and text[i - 1] in " \t":
                i -= 1
            j = i  # the letters of the word, `[^\\W\\d_]*`
            while j > 0 and text[j - 1].isalnum() and not text[j - 1].isdecimal():
                j -= 1
            word = [x for x in (j, j - 1) if x < i and x >= 0 and _TITLE_FIRST.match(text, x)]
            if not word:
                break  # no word of a street, nor any before it
            starts.update(word)
            i = word[-1]
            if not text[i - 1 : i] or text[i - 1] not in " \t":
                break
    return sorted(starts)


def cue_matches(
    pattern: re.Pattern[str], text: str, cues: frozenset[str]
) -> Iterator[re.Match[str]]:
    """What `pattern.finditer(text)` yields, for a pattern (case-blind) whose every match
    starts with a whole word of `cues`: on ASCII text it is tried only where one of them is
    (`names.ascii_hits`, a `str.find` per word). Led by `\\b` under IGNORECASE, the pattern gives
    `re` no prefix to skip to, and its scan tried every position of the text."""
    if not text.isascii():
        return pattern.finditer(text)
    return _matches(pattern, text, [start for start, _ in ascii_hits(text.lower(), cues)])


def _matches(
    pattern: re.Pattern[str], text: str, starts: list[int] | None
) -> Iterator[re.Match[str]]:
    """What `pattern.finditer(text)` yields, trying only `starts` (every position where a
    match can start, None: all of them): the leftmost match, then the next one after it."""
    if starts is None:
        yield from pattern.finditer(text)
        return
    end = 0
    for start in starts:
        if start >= end:
            m = pattern.match(text, start)
            if m is not None:
                yield m
                end = m.end()


def _unnamed(safe: frozenset[str], words: str, english: frozenset[str]) -> bool:
    """Does a street's name hold a word no dictionary has (a person's or a place's name)?"""
    return any(w.lower() not in english and w.lower() not in safe for w in LETTERS.findall(words))
