"""Free-text redaction of one string: value detectors + names, overlap merging, rendering. Pure.

Overlapping hits are merged into their union (fail closed: `John` from `name: John` and
`John Smith` from the name scanner become one `[NAME-1]`); our own placeholders are protected.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from operator import itemgetter

from approvals.redaction.addresses import RESIDENCE_WORDS
from approvals.redaction.detectors import Span, ValueDetectors
from approvals.redaction.names import NameScanner
from approvals.redaction.placeholders import Placeholders
from approvals.redaction.search import features
from approvals.redaction.shapes import ShapeScanner

# Characters any value detector needs; a string with none of them only goes to the name scanner.
_TRIGGERS = frozenset("0123456789@:=/")
_START, _END = itemgetter(0), itemgetter(1)  # of a Span


@dataclass(slots=True)
class DocumentState:
    """Everything one `redact` call accumulates; dropped when the call returns."""

    placeholders: Placeholders = field(default_factory=Placeholders)
    key_memo: dict[str, str | None] = field(default_factory=dict)


class TextRedactor:
    __slots__ = ("_detectors", "_names", "_shapes")

    def __init__(self, detectors: ValueDetectors, names: NameScanner, shapes: ShapeScanner) -> None:
        self._detectors = detectors
        self._names = names
        self._shapes = shapes

    @property
    def detectors(self) -> ValueDetectors:
        return self._detectors

    def redact(self, text: str, state: DocumentState) -> tuple[str, list[tuple[str, str]]]:
        """The redacted text and one (type, detector) per replacement made."""
        found = features(text)
        if _TRIGGERS.isdisjoint(text) and "www." not in text:
            spans: list[Span] = []
        else:
            spans = self._detectors.spans(text, state.key_memo, found)
        names = self._names.spans(text, found.words, found.lower)
        if names:
            spans.extend(Span(s, e, "NAME", "names") for s, e in names)
        # Shapes read digits with `\d` on non-ASCII text, the digit gate does not: they run on
        # any non-ASCII text with a digit of any script, as they always have. Without one
        # (`gated`, no `[0-9]`) only a UUID of letters or a residence shape of theirs can match.
        digit = found.digit or (
            not text.isascii()
            and (
                not found.gated
                or text.count("-") >= 4
                or not found.words.isdisjoint(RESIDENCE_WORDS)
            )
        )
        shapes = self._shapes.spans(text, found.words, digit, spans)
        hashes = [s for s in shapes if s.detector == "hash"]
        if hashes:
            # A hash is kept whole: no hit may cut a piece out of it (`…dafb[ACCOUNT-1]`), but a
            # cue may still take all of it (`fingerprint hash 9f86d0…`).
            spans = [s for s in spans if not any(_cuts(s, h) for h in hashes)]
            shapes = [s for s in shapes if s.detector != "hash"]
        spans.extend(shapes)
        if not spans:
            return text, []
        spans.extend(self._shapes.repeats(text, spans))
        return self._render(text, _merge(spans), state)

    @staticmethod
    def _render(
        text: str, spans: list[Span], state: DocumentState
    ) -> tuple[str, list[tuple[str, str]]]:
        out: list[str] = []
        hits: list[tuple[str, str]] = []
        # A placeholder, once given, is what the same value gets again: a text repeating one
        # name asks once, not once per occurrence (`Placeholders.get` normalises each time).
        given: dict[tuple[str, str, str | None, str], str] = {}
        pos = 0
        for span in spans:
            if not span.type:
                continue
            out.append(text[pos : span.start])
            if span.literal is not None:
                out.append(span.literal)
            else:
                key = (span.type, text[span.start : span.end], span.norm, span.keep)
                placeholder = given.get(key)
                if placeholder is None:
                    placeholder = given[key] = state.placeholders.get(*key)
                out.append(placeholder)
            hits.append((span.type, span.detector))
            pos = span.end
        out.append(text[pos:])
        return "".join(out), hits


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted, non-overlapping spans; protected placeholders win over what overlaps them."""
    # By start, then longest first, then as found: two stable C-keyed sorts, not a Python key
    # function per span (a text of names has tens of thousands of spans).
    spans.sort(key=_END, reverse=True)
    spans.sort(key=_START)
    protected = [s for s in spans if not s.type]
    if protected:
        protected = _coalesced(protected)
        starts = [p.start for p in protected]
        spans = [s for s in spans if not s.type or not _inside_any(s, starts, protected)]
    merged: list[Span] = []
    for span in spans:
        if not merged or span.start >= merged[-1].end:
            merged.append(span)
            continue
        last = merged[-1]
        if (span.start, span.end, span.type, last.type) == (
            last.start,
            last.end,
            "ADDRESS",
            "NAME",
        ):
            merged[-1] = span  # a town the name lists know (`Austin TX 78701`) is a place here
            continue
        if span.end <= last.end and last.type:
            continue
        if not last.type or not span.type:
            # A placeholder next to a hit that spills over it: keep the placeholder, trim the hit.
            if span.end > last.end and span.type:
                merged.append(Span(last.end, span.end, span.type, span.detector))
            continue
        longer = span if span.end - span.start > last.end - last.start else last
        start, end = last.start, max(last.end, span.end)
        norm = longer.norm if (longer.start, longer.end) == (start, end) else None
        merged[-1] = Span(start, end, longer.type, longer.detector, norm, longer.keep,
                          longer.literal)  # fmt: skip
    return merged


def _coalesced(protected: list[Span]) -> list[Span]:
    """Protected spans as a sorted list that never overlaps (what `_inside_any` bisects): kept
    shapes (eponyms, companies, request ids) may overlap each other, placeholders never do."""
    out: list[Span] = []
    for span in protected:  # sorted by start already
        if out and span.start < out[-1].end:
            if span.end > out[-1].end:
                out[-1] = Span(out[-1].start, span.end, "", out[-1].detector)
            continue
        out.append(span)
    return out


def _cuts(span: Span, whole: Span) -> bool:
    return whole.start < span.start < whole.end or whole.start < span.end < whole.end


def _inside_any(span: Span, starts: list[int], protected: list[Span]) -> bool:
    """Inside one of the protected spans (sorted, never overlapping: the placeholder detector
    resumes after each), so only the last one starting at or before `span` can hold it. (A
    scan of all of them made a text of placeholders and names quadratic: 100 KB, 3.9 s.)"""
    i = bisect.bisect_right(starts, span.start) - 1
    return i >= 0 and span.end <= protected[i].end
