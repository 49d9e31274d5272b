"""Leftmost-first search over the detector patterns, each behind a cheap gate. Pure.

`MultiSearch.matches` yields exactly what one combined alternation `(?P<a>A)|(?P<b>B)|…`
would find with repeated `search` calls: the leftmost position where any detector matches and,
at that position, the first detector in order. It is faster because
- each detector is compiled on its own, so `re` can use the detector's literal or
  character-class prefix to skip ahead in C (one alternation of 24 branches has no prefix, and
  `re` then tries every branch at every position);
- a detector whose gate says it cannot match anywhere in the string is not run at all (no digit
  in the string: no date, phone or card detector; no month word: no month-name date...);
- each detector's next match is remembered until the scan moves past its start, so a string
  costs about one search per detector plus one per hit.
Gates are necessary conditions only (never a guess): a gate that says "maybe" runs the pattern.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, cast

_DIGIT = re.compile(r"[0-9]")
# Letter runs, as the name scanner reads them: the words that word gates look for.
LETTERS = re.compile(r"[^\W\d_]+")
# On ASCII text the letter runs of the lower-cased string are its [a-z] runs: every other byte
# becomes a blank and `split` does the rest, in C, about 4× faster than `findall`.
_ASCII_NON_LETTERS = bytes(c if 97 <= c <= 122 else 32 for c in range(256))
# Past this many different words (or runs) wanted, `runs_lowered_in` reads every run instead of
# trying an alternation of them at every position.
_ALTERNATION_MAX = 64
_SHORT_TEXT = 4096


def runs_lowered_in(text: str, lowered: frozenset[str]) -> list[tuple[int, int]]:
    """The letter runs of `text` whose lower case is in `lowered`, in text order.

    Each different run is lower-cased once, not each occurrence (`str.lower` per run of 100 KB
    of non-ASCII text cost more than the scan); the runs wanted, exactly as written, are then
    found whole (a run has no letter either side). Short text is read once, as before."""
    if len(text) <= _SHORT_TEXT or len(lowered) > _ALTERNATION_MAX:
        return [m.span() for m in LETTERS.finditer(text) if m.group().lower() in lowered]
    wanted = {run for run in set(LETTERS.findall(text)) if run.lower() in lowered}
    if not wanted:
        return []
    if len(wanted) > _ALTERNATION_MAX:
        return [m.span() for m in LETTERS.finditer(text) if m.group() in wanted]
    alternation = "|".join(sorted(map(re.escape, wanted), key=len, reverse=True))
    pattern = re.compile(rf"(?<![^\W\d_])(?:{alternation})(?![^\W\d_])")
    return [m.span() for m in pattern.finditer(text)]


@dataclass(frozen=True, slots=True)
class Gate:
    """When a detector may match: `digit` (a digit somewhere) and, if any are given, one of
    `needles` in the lower-cased string, one of `words` among its lower-cased letter runs, or
    one of `counts`: a character occurring at least n times (`(":", 2)` for IPv6). Then, if
    given, `shape`: a check of the string itself (a run of the characters a VIN needs...), run
    on each string the rest allows, for patterns that `re` cannot skip through quickly."""

    digit: bool = False
    needles: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    counts: tuple[tuple[str, int], ...] = ()
    shape: Callable[[str], bool] | None = None


ALWAYS = Gate()


class Features(NamedTuple):
    """What gates read from one string, computed once and shared with the name scanner.
    (A tuple: one per scanned string, and a frozen dataclass costs more to build.)"""

    lower: str  # lower case, as long as the text: positions in it are positions in the text
    words: frozenset[str]  # its lower-cased letter runs, as the name and shape scanners read them
    gated: bool  # False: gates are off (digits of other scripts, see `features`)
    digit: bool
    # The letter runs as a case-blind pattern reads them (`folded`): the word gates' words.
    # The same set as `words` unless the text holds one of `_ASCII_FOLDS`.
    gate_words: frozenset[str]


# The four letters that match an ASCII one under re.IGNORECASE (`İ` ~ `i`, `ı` ~ `i`, `ſ` ~ `s`,
# Kelvin `K` ~ `k`): the gates and finders read them as that ASCII letter (`_folded`), so a
# case-blind detector's word is found however it is spelled (`vıSıt`, `ſſn`). `İ` is also the
# one letter whose lower case is two characters (`i` and a combining dot), which would shift
# positions in `lower`: folded first, it stays one. Digits of other scripts (`\d` matches
# them, the digit gate and `candidates.numeric_starts` read `[0-9]`) turn the gates off.
_ASCII_FOLDS = ("\u0130", "\u0131", "\u017f", "\u212a")
_ASCII_BYTES = bytes(range(128))
_ANY_DIGIT = re.compile(r"\d")


def byte_classes(groups: dict[str, str]) -> bytes:
    """A `bytes.translate` table: each listed ASCII character to its group's letter, every other
    byte to a blank (a character outside ASCII is UTF-8 bytes of 0x80 and up, none listed), so
    that a shape a pattern needs (seventeen VIN characters in a row) is one substring search in
    C, where the pattern, led by a class or a look-behind, would be tried at every position."""
    table = bytearray(b" " * 256)
    for letter, chars in groups.items():
        for char in chars:
            table[ord(char)] = ord(letter)
    return bytes(table)


def classes_of(text: str, table: bytes) -> bytes:
    """`text`'s UTF-8 bytes through a `byte_classes` table."""
    return text.encode("utf-8", "surrogatepass").translate(table)


def _ascii_digits_only(text: str) -> bool:
    """No digit of another script in `text` (non-ASCII text). The digits are looked for among
    the non-ASCII characters only, cut out in C (UTF-8 without its ASCII bytes): a character
    class searched over the whole text cost 5 ms per 100 KB."""
    rest = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    return _ANY_DIGIT.search(rest.decode("utf-8", "surrogatepass")) is None


def features(text: str) -> Features:
    # Word and digit gates compare ASCII spellings, so they apply to ASCII text and to text
    # whose other characters are either letters no pattern reads as ASCII (`é`, `李`, `И`:
    # their letter runs are whole words to `\b` as to `LETTERS`) or one of the four that are
    # (`_ASCII_FOLDS`, read as their ASCII letter). Text with a digit of another script runs
    # every detector on every position.
    if text.isascii():
        lower = text.lower()
        words = frozenset(lower.encode("ascii").translate(_ASCII_NON_LETTERS).decode().split())
        return Features(lower, words, True, _DIGIT.search(text) is not None, words)
    gated = _ascii_digits_only(text)
    digit = gated and _DIGIT.search(text) is not None
    lower = text.lower()
    words = frozenset(LETTERS.findall(lower))
    if any(map(text.__contains__, _ASCII_FOLDS)):
        # The scanners' words are the letter runs of `text.lower()` (`İ` → `i` + a dot): theirs
        # stay as they are; the gates get the folded ones. `str.replace` runs in C; `K` is
        # lower-cased to `k` already.
        if "\u0130" in text:
            folded = _folded(text.replace("\u0130", "i").lower())
            return Features(folded, words, gated, digit, frozenset(LETTERS.findall(folded)))
        return Features(_folded(lower), words, gated, digit, frozenset(map(_folded, words)))
    return Features(lower, words, gated, digit, words)


def _folded(lower: str) -> str:
    return lower.replace("\u0131", "i").replace("\u017f", "s")


Finder = Callable[[str, Features], list[int]]
# Splits a single-detector entry's candidate starts into those to try and those where a hit,
# if the detector matched there, would be rejected whatever follows (`key=` under a key that
# names no PHI): the latter are never tried. Gets the document's memo of such verdicts.
Split = Callable[[str, list[int], dict[str, str | None]], tuple[list[int], frozenset[int]]]
# Lists an entry's starts to try on its own, and apart those where its pattern matches only for
# the hit to be rejected whatever follows (a card number failing its check), with the detector
# whose hit that is: a splitter stands for both the finder and the split.
Splitter = Callable[[str, Features], tuple[list[int], frozenset[int], str]]
_Entry = tuple[
    re.Pattern[str], "Finder | None", "Split | None", int, "Splitter | None", "Shape | None"
]
# int: the entry's first priority; Shape: `Gate.shape`
Shape = Callable[[str], bool]
# Per split entry: its priority, its doomed starts and its pattern (see `MultiSearch.next`).
Doomed = list[tuple[int, frozenset[int], re.Pattern[str]]]
# A detector's next match (its start and priority first, the sort key), its pattern, and its
# remaining candidate starts (None: use search).
Pending = list[tuple[int, int, re.Match[str], re.Pattern[str], list[int] | None]]
_MAX_SIGNATURES = 4096
_Signature = tuple[bool, tuple[bool, ...], tuple[bool, ...], tuple[int, ...]]


Member = tuple[str, str]  # (detector name, regex source)


class MultiSearch:
    """Entries `(members, gate, finder)`, compiled once; `order` is the detectors' priority.

    An entry with several members is one alternation of them (in priority order), searched as
    one; a finder (candidates.py) lists where the entry can start, on gated (ASCII) text.
    """

    __slots__ = ("_active", "_caps", "_counted", "_detectors", "_gates", "_needles", "_priority",
                 "_word_sets")  # fmt: skip

    def __init__(
        self,
        entries: Iterable[tuple[tuple[Member, ...], Gate, Finder | None]],
        order: list[str],
        splits: dict[str, Split] | None = None,
        splitters: dict[str, Splitter] | None = None,
    ) -> None:
        entries = list(entries)
        table = [
            (re.compile("|".join(f"(?P<{name}>{src})" for name, src in members)), gate, finder)
            for members, gate, finder in entries
        ]
        self._priority = {name: index for index, name in enumerate(order)}
        splits, splitters = splits or {}, splitters or {}
        split_of = [
            splits.get(members[0][0]) if len(members) == 1 else None for members, _, _ in entries
        ]
        self._detectors: tuple[_Entry, ...] = tuple(
            (p, f, split, self._priority[members[0][0]], splitters.get(members[0][0]), g.shape)
            for (p, g, f), split, (members, _, _) in zip(table, split_of, entries, strict=True)
        )
        self._gates = tuple(g for _, g, _ in table)
        self._needles = tuple(sorted({n for _, g, _ in table for n in g.needles}))
        self._word_sets = tuple({g.words for _, g, _ in table if g.words})
        # Characters some gate counts, and the highest count any gate asks for (the cap).
        caps: dict[str, int] = {}
        for _, g, _ in table:
            for char, least in g.counts:
                caps[char] = max(caps.get(char, 0), least)
        self._counted, self._caps = tuple(caps), tuple(caps.values())
        # Gate outcome (booleans and capped counts, never text) → the detectors it allows.
        self._active: dict[_Signature, tuple[_Entry, ...]] = {}

    def _allowed(self, found: Features) -> tuple[_Entry, ...]:
        if not found.gated:
            return self._detectors
        # `map` over bound C methods: no Python frame per needle or word set.
        needle_hits = tuple(map(found.lower.__contains__, self._needles))
        word_misses = tuple(map(found.gate_words.isdisjoint, self._word_sets))
        counts = tuple(map(min, map(found.lower.count, self._counted), self._caps))
        signature = (found.digit, needle_hits, word_misses, counts)
        active = self._active.get(signature)
        if active is None:
            needles = {n for n, hit in zip(self._needles, needle_hits, strict=True) if hit}
            present = {w for w, miss in zip(self._word_sets, word_misses, strict=True) if not miss}
            counted = dict(zip(self._counted, counts, strict=True))
            active = tuple(
                entry
                for entry, gate in zip(self._detectors, self._gates, strict=True)
                if (found.digit or not gate.digit)
                and (
                    not (gate.needles or gate.words or gate.counts)
                    or not needles.isdisjoint(gate.needles)
                    or gate.words in present
                    or any(counted[char] >= least for char, least in gate.counts)
                )
            )
            if len(self._active) >= _MAX_SIGNATURES:
                self._active.clear()
            self._active[signature] = active
        return active

    def start(
        self, text: str, found: Features, memo: dict[str, str | None]
    ) -> tuple[Pending, Doomed]:
        """The first match of every detector the gates allow, sorted by (start, priority), and
        the starts where a split entry's hit would be rejected (`memo`: see `Split`)."""
        pending: Pending = []
        doomed: Doomed = []
        priority = self._priority
        for pattern, finder, split, rank, splitter, shape in self._allowed(found):
            if shape is not None and not shape(text):
                continue  # its pattern cannot match here: as if it were not in the table
            if not found.gated or (finder is None and splitter is None):
                m = pattern.search(text)
                starts = None
            else:
                dead: frozenset[int] = frozenset()
                if splitter is not None:
                    starts, dead, name = splitter(text, found)
                    rejected = priority[name]  # the rank of the hits it rejects
                else:  # a finder: the condition above
                    starts, rejected = cast(Finder, finder)(text, found), rank
                for first, dead_before, shadow in doomed:
                    if first < rank:  # its rejected hit would come first: never try these
                        starts = [s for s in starts
                                  if s not in dead_before or not shadow.match(text, s)]  # fmt: skip
                if split is not None:
                    starts, dead = split(text, starts, memo)
                if dead:
                    doomed.append((rejected, dead, pattern))
                m = _first(pattern, text, starts, 0)
            if m is not None:
                pending.append((m.start(), priority[m.lastgroup or ""], m, pattern, starts))
        pending.sort()  # (start, priority) pairs are unique: no two entries share a detector
        return pending, doomed

    def next(
        self, text: str, pending: Pending, pos: int, doomed: Doomed
    ) -> tuple[re.Match[str] | None, Pending]:
        """The combined pattern's `search(text, pos)`, and the detectors still able to match.

        `pending` stays sorted by (start, priority), so its head is the answer: the leftmost
        match and, on a tie, the detector listed first, as in `a|b`. Only the entries the scan
        moved past are searched again (from `pos`) and put back in order.

        A split entry's doomed start is never tried, but where its detector matches, its hit
        would have come first and been rejected: a hit of a later detector there is skipped,
        as the combined pattern's caller would have skipped the whole position (a later entry
        with a finder does not even list such a start, see `start`; split entries come before
        them in the table).
        """
        while True:
            self._advance(text, pending, pos)
            if not pending:
                return None, pending
            head = pending[0]
            if doomed and _shadowed(text, head[0], head[1], doomed):
                pos = head[0] + 1
                continue
            return head[2], pending

    def _advance(self, text: str, pending: Pending, pos: int) -> None:
        """Search again, from `pos`, the entries whose next match starts before it."""
        if not pending or pending[0][0] >= pos:
            return
        if len(pending) == 1 or pending[1][0] >= pos:
            # Only the head is behind `pos` (a rejected hit, the common case on adversarial
            # text): search it again and put it back without slicing or a second search.
            _, _, _, pattern, starts = pending[0]
            again = (
                pattern.search(text, pos) if starts is None else _first(pattern, text, starts, pos)
            )
            if again is None:
                del pending[0]
            else:
                start, rank = again.start(), self._priority[again.lastgroup or ""]
                entry = (start, rank, again, pattern, starts)
                after = pending[1] if len(pending) > 1 else None
                if after is None or start < after[0] or (start == after[0] and rank < after[1]):
                    pending[0] = entry
                else:
                    del pending[0]
                    bisect.insort(pending, entry)
        else:
            stale = 1
            while stale < len(pending) and pending[stale][0] < pos:
                stale += 1
            moved, priority = pending[:stale], self._priority
            del pending[:stale]
            for _, _, _, pattern, starts in moved:
                again = (
                    pattern.search(text, pos)
                    if starts is None
                    else _first(pattern, text, starts, pos)
                )
                if again is not None:
                    entry = (again.start(), priority[again.lastgroup or ""], again, pattern, starts)
                    bisect.insort(pending, entry)


def _shadowed(text: str, start: int, rank: int, doomed: Doomed) -> bool:
    """A split entry listed first would have matched at `start`, to be rejected."""
    for first, dead, pattern in doomed:
        if first < rank and start in dead and pattern.match(text, start) is not None:
            return True
    return False


def _first(
    pattern: re.Pattern[str], text: str, starts: list[int], pos: int
) -> re.Match[str] | None:
    """The pattern's first match at a candidate start at or after `pos`."""
    for i in range(bisect.bisect_left(starts, pos), len(starts)):
        if (m := pattern.match(text, starts[i])) is not None:
            return m
    return None
