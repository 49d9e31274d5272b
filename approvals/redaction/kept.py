"""What looks like a name but is kept: eponyms before a medical head noun (`Nissen
fundoplication`), companies with a legal suffix (`Williams LLC`), trading names (`Wickes
Furniture`) and firms joined by `&` (`Smith & Nephew`). Pure; used by `shapes.ShapeScanner`,
whose spans of type "" protect their text from the name rules.
"""

from __future__ import annotations

import re
from itertools import pairwise

from approvals.redaction.detectors import Span
from approvals.redaction.search import LETTERS
from approvals.redaction.vocabulary import w as _words

_EPONYM_HEADS = (
    "syndrome|disease|fundoplication|procedure|operation|repair|sign|test|palsy|reflex"
    "|anastomosis|catheter|tube|score|scale|classification|criteria|maneuver|manoeuvre"
    "|fracture|node|nodes|nodule|cyst|hernia|ulcer|phenomenon|tumou?r|lymphoma|sarcoma"
    "|anemia|anaemia|thyroiditis|encephalopathy|dystrophy|ataxia|chorea|bypass|incision"
    "|position|method|technique|stain|equation|formula|law|effect|triad|test"
)
_EPONYM = re.compile(
    r"\b[A-Z][^\W\d_]+(?:['’]s)?(?:[ -](?:en|and|&)?[ -]?[A-Z][^\W\d_]*){0,3}[ \t]+(?i:"
    + _EPONYM_HEADS
    + r")\b|\bRoux-en-Y\b"
)
_SUFFIXES = (
    r"LLC|L\.L\.C\.|Inc\b\.?|Incorporated|Corp\b\.?|Corporation|Ltd\b\.?|Limited|GmbH|AG|SA|"
    r"S\.A\.|PLC|plc|LLP|LP|Co\b\.|Company|Group|Holdings|Partners|Associates|Pharmaceuticals"
    r"|Laboratories|Labs|Bank|Insurance|Foundation|Clinic|Hospital|Healthcare|Sons|Brothers"
    r"|Bros\b\.?|International|Worldwide|Technologies|Pharma|Therapeutics|Diagnostics"
    r"|Biosciences"
)
_COMPANY = re.compile(
    r"\b(?:[A-Z][\w'’.&-]{0,40}[ \t]+(?:&[ \t]+|and[ \t]+)?){1,3}(?:" + _SUFFIXES + r")\b"
)
# Head nouns of trading names without a legal suffix (`Olympic Sports`, `Wickes Furniture`,
# `X-Tech`): what kind of shop, trade or firm it is. Kept unless the words before the noun are
# a listed first name and surname (`John Smith Services` stays a person's name).
_TRADES = (
    "Service|Services|Store|Stores|Shop|Shops|Market|Markets|Supermarket|Mart|Outlet|Outlets"
    "|Warehouse|Factory|Furniture|Electronics|Motors|Automotive|Garage|Cafe|Café|Cafeteria"
    "|Restaurant|Diner|Drive-In|Bakery|Grill|Pizzeria|Hotel|Motel|Salon|Studio|Studios|Gallery"
    "|Bookstore|Books|Pharmacy|Drugstore|Supply|Supplies|Systems|Solutions|Technologies|Tech"
    "|Industries|Enterprises|Consulting|Consultants|Management|Realty|Properties|Construction"
    "|Builders|Designs|Media|Publishing|Records|Sports|Foods|Farms|Nursery|Florist|Florists"
    "|Lumber|Hardware|Megastore|Megastores|Care|Logistics|Transport|Airlines|Travel|Tours"
    "|Entertainment|Productions|Networks|Software|Apparel|Fashions|Jewelers|Cleaners|Plumbing"
    "|Roofing|Landscaping|Catering|Fitness|Imports|Distributors|Wholesale|Trading|Ventures"
)
_TRADE = re.compile(
    r"\b(?P<head>(?:[A-Z][\w'’.&]{0,40}(?:[ \t]+(?:&[ \t]+|and[ \t]+)?|-)){1,3})(?:"
    + _TRADES
    + r")\b"
)
# `Johnson & Johnson`, `Smith & Nephew`, `Procter & Gamble`: two capitalised words joined by an
# ampersand, neither a listed first name (`John & Mary` is a couple) nor after an honorific.
_AMPERSAND = re.compile(
    r"(?<![\w&])(?P<h>\b[A-Za-z]+\.?[ \t]+)?(?P<a>[A-Z][a-z]+)[ \t]*&[ \t]*(?P<b>[A-Z][a-z]+)\b"
    r"(?![ \t]+[A-Z][a-z])"
)
_HONORIFIC_BEFORE = frozenset(_words("dr dr. drs drs. mr mr. mrs mrs. ms ms. messrs messrs."))
# Words each protected shape needs: eponyms' head nouns and `Roux-en-Y`, company suffixes, the
# trades' head nouns (each pattern runs only when one of its words is in the text).
_EPONYM_WORDS = frozenset((*re.findall(r"[a-z]+", _EPONYM_HEADS.lower()), "roux"))
_COMPANY_WORDS = frozenset(
    (
        *_words("llc l c inc incorporated corp corporation ltd limited gmbh ag sa s a plc"),
        *_words("llp lp co company group holdings partners associates pharmaceuticals"),
        *_words("laboratories labs bank insurance foundation clinic hospital healthcare"),
        *_words("sons brothers bros"),
        *_words("international worldwide technologies pharma therapeutics diagnostics"),
        *_words("biosciences"),
    )
)
_TRADE_WORDS = frozenset(re.findall(r"[a-zé]+", _TRADES.lower())) - {"in"}  # `Drive-In`: drive
PROTECT_WORDS = _EPONYM_WORDS | _COMPANY_WORDS | _TRADE_WORDS


def _by_first_word(alternatives: str) -> dict[str, tuple[str, ...]]:
    """Each alternative of a pattern's suffix as the text must hold it, verbatim (`Inc\\b\\.?`:
    `Inc`), by its first letter run in lower case: a whole run of the text where it matches."""
    found: dict[str, list[str]] = {}
    for source in alternatives.split("|"):
        literal = source.replace(r"\b", "").replace(r"\.?", "").replace("\\", "")
        found.setdefault(LETTERS.findall(literal)[0].lower(), []).append(literal)
    return {word: tuple(literals) for word, literals in found.items()}


_COMPANY_LITERALS = _by_first_word(_SUFFIXES)
_TRADE_LITERALS = _by_first_word(_TRADES)
_COMPANY_FIRST = frozenset(_COMPANY_LITERALS)
_TRADE_FIRST = frozenset(_TRADE_LITERALS)


def _written(
    text: str, words: frozenset[str], first: frozenset[str], literals: dict[str, tuple[str, ...]]
) -> bool:
    """Whether `text` holds one of a pattern's suffixes as written (those whose first word is
    among `words`, its lower-cased letter runs), without which the pattern cannot match. The
    words alone pass on any `a`, `s` or `Care`; the patterns, led by `\\b`, give `re` no prefix
    to skip to and are tried at every position."""
    return any(literal in text for word in words & first for literal in literals[word])


def protected(
    text: str, words: frozenset[str], first: frozenset[str], last: frozenset[str]
) -> list[Span]:
    """Eponyms, company names with a legal suffix and trading names: kept, never a person."""
    out: list[Span] = []
    if not words.isdisjoint(_EPONYM_WORDS):
        out += [Span(m.start(), m.end(), "", "eponym") for m in _EPONYM.finditer(text)]
    if not words.isdisjoint(_COMPANY_WORDS) and _written(
        text, words, _COMPANY_FIRST, _COMPANY_LITERALS
    ):
        out += [Span(m.start(), m.end(), "", "company") for m in _COMPANY.finditer(text)]
    trades = not words.isdisjoint(_TRADE_WORDS) and _written(
        text, words, _TRADE_FIRST, _TRADE_LITERALS
    )
    for m in _TRADE.finditer(text) if trades else ():
        head = [w.lower() for w in LETTERS.findall(m["head"])]
        person = any(a in first and b in last for a, b in pairwise(head))
        if not person:
            out.append(Span(m.start(), m.end(), "", "company"))
    return out


def companies_joined(text: str, first: frozenset[str]) -> list[Span]:
    """`Johnson & Johnson`: kept, unless a first name or an honorific shows a couple."""
    out: list[Span] = []
    for m in _AMPERSAND.finditer(text):
        if m["h"] is not None and m["h"].strip().lower() in _HONORIFIC_BEFORE:
            continue
        if m["a"].lower() in first or m["b"].lower() in first:
            continue
        out.append(Span(m.start("a"), m.end("b"), "", "company"))
    return out
