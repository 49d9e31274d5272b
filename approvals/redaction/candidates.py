"""Where the word-led detectors can start, found without trying every position. Pure.

The context-word (`MRN 123…`) and `key=value` detectors begin with a word, and a regex engine
without a prefilter tries them at every character. These finders list, in order, a superset of
the positions where each can match; `search.MultiSearch` then confirms each with the detector's
own pattern (`match` at that position), so the result is exactly what `search` would find.
Only used on ASCII text (see `search.features`); other text goes through plain `search`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from approvals.redaction.search import Features, Finder


def word_starts(words: Iterable[str]) -> Finder:
    """Positions where one of `words` (lower case) is a whole letter run of the text.

    A detector that starts with one of these words at a word boundary can only start there.
    """
    # One literal-prefixed pattern per word: `re` finds literals with a fast substring search.
    patterns = {w: re.compile(re.escape(w) + "(?![a-z])") for w in words}
    vocabulary = frozenset(patterns)

    def find(_text: str, found: Features) -> list[int]:
        lower, starts = found.lower, []
        for word in vocabulary.intersection(found.words):
            for m in patterns[word].finditer(lower):
                i = m.start()
                if i == 0 or not lower[i - 1].isalpha():
                    starts.append(i)
        starts.sort()
        return starts

    return find


_OPERATOR = re.compile(r"[=:!]")
_LIKE = re.compile(r"[ \t](?:i?like|in)[ \t]")
_LIKE_WORDS = frozenset(("like", "ilike", "in"))
# Read backwards from an operator: the blanks before it, then the key's characters, the
# first of which (the last read) is a letter; no match, no key (`::`, `1=`, ` :`).
_KEY_BACKWARDS = re.compile(r"[ \t]*+[A-Za-z0-9_.-]*+(?<=[A-Za-z])")


def key_starts(text: str, found: Features) -> list[int]:
    """Where a `key = value` / `key: value` / `key LIKE …` / `key IN (…)` pair can start.

    The key is a run of key characters ending just before the operator (its blanks aside), so
    each operator names the one position where its key can begin: the start of that run, if
    that is a letter (the pattern's `[A-Za-z]`).
    """
    ops = [m.start() for m in _OPERATOR.finditer(text)]
    if not _LIKE_WORDS.isdisjoint(found.words):
        ops += [m.start() + 1 for m in _LIKE.finditer(found.lower)]
    if not ops:
        return []
    size, backwards = len(text), text[::-1]
    keys = map(_KEY_BACKWARDS.match, itertools.repeat(backwards), (size - op for op in ops))
    return sorted({size - key.end() for key in keys if key is not None})


# A digit not preceded by a digit, or "(" / "+" before a digit (phone numbers).
_NUMERIC = re.compile(r"[0-9(+](?<![0-9][0-9])(?:(?<=[0-9])|(?=[0-9]))")


def numeric_starts(text: str, _found: Features) -> list[int]:
    """Where a digit-led detector can start: a run of digits, "(" or "+" before one, and two
    letters before a run (the `AB1234567` shape of DEA numbers and IBANs)."""
    starts = []
    for m in _NUMERIC.finditer(text):
        i = m.start()
        if i >= 2 and text[i - 1].isalpha() and text[i - 2].isalpha():
            starts.append(i - 2)
        starts.append(i)
    return starts
