"""Where the word-led and digit-led detectors can start, found without trying every position.

The context-word (`MRN 123…`) and `key=value` detectors begin with a word, and a regex engine
without a prefilter tries them at every character; the numeric detectors (dates, SSNs, cards,
phones…) begin at a digit, and a text of digits offers one at every digit. These finders list,
in order, a superset of the positions where each can match; `search.MultiSearch` then confirms
each with the detector's own pattern (`match` at that position), so the result is exactly what
`search` would find. `numeric_split` also names the starts where only a card number that fails
its check can match, which are never tried. Only used on gated text (see `search.features`);
other text goes through plain `search`. Pure.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Iterable

from approvals.redaction.search import Features, Finder, byte_classes, classes_of


def word_starts(words: Iterable[str]) -> Finder:
    """Positions where one of `words` (lower case) is a whole letter run of the text.

    A detector that starts with one of these words at a word boundary can only start there.
    """
    # One literal-prefixed pattern per word: `re` finds literals with a fast substring search.
    patterns = {w: re.compile(re.escape(w) + "(?![a-z])") for w in words}
    vocabulary = frozenset(patterns)

    def find(_text: str, found: Features) -> list[int]:
        lower, starts = found.lower, []
        for word in vocabulary.intersection(found.gate_words):
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
# The same keys read forwards: a whole run of key characters led by a letter, then blanks,
# then the operator (ahead, not consumed: the next key starts after it).
_KEY_FORWARDS = re.compile(r"[A-Za-z](?<![A-Za-z0-9_.-].)[A-Za-z0-9_.-]*+[ \t]*+(?=[=:!])")
# Above one operator per this many characters, one forward search beats a match per operator.
_DENSE_OPERATORS = 100


def key_starts(text: str, found: Features) -> list[int]:
    """Where a `key = value` / `key: value` / `key LIKE …` / `key IN (…)` pair can start.

    The key is a run of key characters ending just before the operator (its blanks aside), so
    each operator names the one position where its key can begin: the start of that run, if
    that is a letter (the pattern's `[A-Za-z]`). Read backwards from each operator (~1 µs each)
    or, where operators are dense (100 KB of `1:` has 50 000 and no key), by one forward search
    for such runs before `=`, `:` or `!`, which reads every word of the text once.
    """
    if (text.count(":") + text.count("=") + text.count("!")) * _DENSE_OPERATORS < len(text):
        ops = [m.start() for m in _OPERATOR.finditer(text)]
        starts = []
    else:
        ops, starts = [], [m.start() for m in _KEY_FORWARDS.finditer(text)]
    if not _LIKE_WORDS.isdisjoint(found.gate_words):
        ops += [m.start() + 1 for m in _LIKE.finditer(found.lower)]
    if not ops:
        return starts
    size, backwards = len(text), text[::-1]
    keys = map(_KEY_BACKWARDS.match, itertools.repeat(backwards), (size - op for op in ops))
    found_keys = {size - key.end() for key in keys if key is not None}
    return sorted(found_keys.union(starts)) if starts else sorted(found_keys)


# Where a detector of the numeric alternation (detectors._NUMERIC) other than `card` can start:
# the start of each detector's pattern (patterns.py), its look-behinds as they are (moved to
# where the branch reads them), what follows cut down to a necessary condition, in two patterns:
# those led by a digit and the others. Each consumes one character and reads the rest ahead, so
# `finditer` lists every such start, in C; each begins with a class, so `re` skips to the next
# digit (or letter, `(`, `+`) without entering it (a run of blanks costs nothing), and after a
# digit every branch begins with a character or a class, which `re` checks before entering the
# branch: a digit that starts nothing (`1 1 1`, `1:1:1`) costs a few character comparisons.
# `\d` reads [0-9] on gated text.
_DIGIT_LED = re.compile(
    r"""
    [0-9](?<![0-9][0-9])(?=                           # the digit at s; s+1, s+2 next
        [0-9](?:                                      # a second digit
            [0-9](?:                                  # a third
                (?<=1[89].|20.)(?<![\d.]...)\d[-/]                             # iso
              | (?<![\d-]...)[- ]\d\d[- ]\d{4} | (?<![\w.,-]...)\d{6}          # ssn
              | (?<!\w...)(?!\+)\s*+-?\s*+[yY]                                 # agen
              | (?<![\w.]...)\.(?:\d{1,3}\.){2}\d                              # ipv4
              | (?<![\w+]...)(?:(?<=1[2-9].)\d|(?<=[2-9]..))[ .-]?[2-9]\d\d    # phone
              | (?<!\w...)\d{0,3}[ \t]++[A-Z]                                  # street
            )
          | [/.-](?<=[0-3]..)(?<![\d/.:-]...)[0-3]?\d[/.-]\d\d                 # num
          | \.(?<![\w.]...)(?:\d{1,3}\.){2}\d                                  # ipv4
          | [\s-](?<!\w...)\s*+-?\s*+[yY]                                      # agen
          | [yY](?<!\w...)                                                    # agen: 12y
          | [ \t](?<!\w...)[ \t]*+[A-Z]                                        # street
        )
      | [/.-](?<![\d/.:-]..)[0-3]?\d[/.-]\d\d                                  # num
      | \.(?<![\w.]..)\d{1,3}\.\d{1,3}\.\d                                     # ipv4
      | [ .-](?<=1.)(?<![\w+]..)(?:\([2-9]\d\d\)|[2-9]\d\d)[ .-]?[2-9]\d\d     # phone: 1 617
      | \((?<=1.)(?<![\w+]..)[2-9]\d\d\)[ .-]?[2-9]\d\d                        # phone: 1(617)
      | [ \t](?<!\w..)[ \t]*+[A-Z]                                             # street
    )
    """,
    re.VERBOSE,
)
_OTHER_LED = re.compile(
    r"""
    [A-Za-z(+](?:                                     # one class first: `re` skips to it
        (?<=[A-Za-z])(?<!\w.)(?=[A-Za-z]\d\d)                                 # iban, dea
      | (?<=\()(?<![\w+].)(?=[2-9]\d\d\)[ .-]?[2-9]\d\d)                       # phone: (617)
      | (?<=\+)(?<![\w+].)(?=[1-9])                                           # phonep
    )
    """,
    re.VERBOSE,
)
# `_OTHER_LED` without its letter branch: led by `(` or `+` alone, so `re` skips to them in C.
_PAREN_PLUS_LED = re.compile(
    r"""
    [(+](?:
        (?<=\()(?<![\w+].)(?=[2-9]\d\d\)[ .-]?[2-9]\d\d)                       # phone: (617)
      | (?<=\+)(?<![\w+].)(?=[1-9])                                           # phonep
    )
    """,
    re.VERBOSE,
)
# ASCII letters as "a", digits as "d", every other byte as a blank: `_other_led` looks for the
# `iban`/`dea` start (two letters, two digits) in it with `bytes.find`.
_LETTERS_DIGITS = byte_classes({"a": string.ascii_letters, "d": string.digits})


def _other_led(text: str) -> list[int]:
    """`_OTHER_LED`'s starts, in order. Its first class holds every letter, so its scan enters
    the pattern at most characters of prose; on ASCII text (where `\\d` is `[0-9]`) it is
    matched only where its letter branch can start (two letters then two digits), its other
    branches by `_PAREN_PLUS_LED`, which `re` runs from `(` to `+` in C."""
    if not text.isascii():
        return [m.start() for m in _OTHER_LED.finditer(text)]
    starts: list[int] = []
    classes = classes_of(text, _LETTERS_DIGITS)
    i = classes.find(b"aadd")
    while i >= 0:
        if _OTHER_LED.match(text, i) is not None:
            starts.append(i)
        i = classes.find(b"aadd", i + 1)
    if "(" in text or "+" in text:
        starts += [m.start() for m in _PAREN_PLUS_LED.finditer(text)]
        starts.sort()
    return starts


# A chain of digits, each joined to the next by nothing, a blank or a hyphen: where every card
# number lies (`\d(?:[ -]?\d){12,18}`), found whole: at least 13 digits ahead, then read as
# runs of digits (a tight loop in `re`, not one group repeat per digit) joined by one blank or
# hyphen each. A chain starts at a digit after neither a digit nor a digit and one joiner
# (checked behind it): the digits inside a chain, where the look-ahead would fail again, are
# passed over at the cost of a comparison.
_CHAIN = re.compile(
    r"[0-9](?<![0-9][0-9])(?<![0-9][ -][0-9])(?=(?:[ -]?[0-9]){12})[0-9]*+(?:[ -][0-9]++)*+"
)
_DIGITS_TO_D = bytes.maketrans(b"0123456789", b"dddddddddd")
# Every byte but an ASCII digit (other characters are UTF-8 bytes of 0x80 and up): deleted, what
# is left counts the digits, and a text of fewer than 13 has no card chain to look for.
_NOT_DIGIT_BYTES = bytes(b for b in range(256) if not 48 <= b <= 57)
_AFTER_BLANK = re.compile(b"S")
_JOINED = bytes.maketrans(b"dSH", b"\x00\x01\x01")
_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))
_CARD_MIN, _CARD_MAX = 13, 19


def cards(text: str, tried: frozenset[int] = frozenset()) -> tuple[list[int], list[int]]:
    r"""Where the `card` pattern matches, split into the hits `validators.card_ok` accepts and
    those it rejects, computed per chain of digits instead of matched digit by digit.

    Digits one blank apart (`1 1 1 …`) start a card candidate at every digit, each matched and
    Luhn-checked on its own (100 KB: ~200 ms). Here, per chain: what follows each digit (a
    digit, a blank or a hyphen, then a digit; `kinds`), the digits' Luhn weights as prefix sums
    (one for each parity of the last digit), so a candidate costs a few look-ups. The pattern
    `\d(?<![\d-]\d)(?:[ -]?\d){12,18}(?![\d-])` starts at a digit after neither a digit nor a
    hyphen and takes the most digits, up to 19, after which no digit or hyphen follows: the
    last blank-joined digit among the 13th to 19th (or the chain's last digit, unless a hyphen
    follows the chain). Starts in `tried` are left out (the pattern is tried there anyway).
    """
    live: list[int] = []
    dead: list[int] = []
    if len(text.encode("utf-8", "surrogatepass").translate(None, _NOT_DIGIT_BYTES)) < _CARD_MIN:
        return live, dead
    for chain in _CHAIN.finditer(text):
        first, end = chain.span()
        raw = chain.group().encode("ascii")
        # kinds[t]: what follows digit t: "S" a blank (then a digit), "H" a hyphen, "d" a digit;
        # for the last digit, "S" when the card's `(?![\d-])` holds after it, else "H".
        kinds = raw.translate(_DIGITS_TO_D).replace(b"d ", b"S").replace(b"d-", b"H")
        size = len(kinds)
        starts = [m.start() + 1 for m in _AFTER_BLANK.finditer(kinds, 0, size - _CARD_MIN)]
        if first == 0 or text[first - 1] != "-":
            starts.insert(0, 0)
        # Digit t is at text position offsets[t] + t (offsets: the joiners before it).
        joined = kinds[: starts[-1]].translate(_JOINED) if starts else b""
        offsets = list(itertools.accumulate(joined, initial=first))
        if tried:
            starts = [i for i in starts if offsets[i] + i not in tried]
        if not starts:
            continue
        kinds = kinds[:-1] + (b"H" if text.startswith("-", end) else b"S")
        # Only the digits a card from the last start can reach are weighed (in `1111…` a card
        # can only start at the first digit).
        reach = starts[-1] + _CARD_MAX
        kinds, digits = kinds[:reach], raw.translate(None, b" -")[:reach]
        values, doubled = digits.translate(_VALUE), digits.translate(_DOUBLED)
        # Luhn doubles every other digit counted from the last: weights[p] for a last digit of
        # parity p (digits of the other parity doubled), summed from the chain's start.
        even, odd = bytearray(values), bytearray(values)
        even[1::2], odd[0::2] = doubled[1::2], doubled[0::2]
        sums = (list(itertools.accumulate(even, initial=0)),
                list(itertools.accumulate(odd, initial=0)))  # fmt: skip
        rfind, accept, reject = kinds.rfind, live.append, dead.append
        for i in starts:
            last = rfind(b"S", i + 12, i + 19)  # the 13th to the 19th digit (`_CARD_MIN`…)
            if last < 0:
                continue  # no card ends here: the pattern does not match
            luhn = sums[last & 1]
            if 49 <= digits[i] <= 54 and not (luhn[last + 1] - luhn[i]) % 10:  # "1"–"6"
                accept(offsets[i] + i)
            else:
                reject(offsets[i] + i)
    return live, dead


def numeric_split(text: str, _found: Features) -> tuple[list[int], frozenset[int], str]:
    """The numeric alternation's starts to try, and those where it matches only as a card
    number that fails its check (no other of its detectors can start there): never tried, and
    a later detector's hit there is skipped (see `search.Doomed`)."""
    others = [m.start() for m in _DIGIT_LED.finditer(text)]
    if not text.isdigit():
        led = _other_led(text)
        if led:
            others = sorted(others + led)
    live, dead = cards(text, frozenset(others))
    if not live:
        return others, frozenset(dead), "card"
    return sorted(others + live), frozenset(dead), "card"
