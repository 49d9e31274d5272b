"""Scoring for the outside suites: recall per Safe Harbor type, token precision, decoys kept.

Independent of the detectors on purpose: it sees only the input document, what was planted in
it, and the redacted output. Every string of the document (keys and values, in walk order) is
joined into one text; the redactor keeps the document's shape, so the output's strings line up.
Input and output are compared word by word (`difflib`, placeholders as one opaque word):
- a planted value is caught when none of its words survive (the year of a date and three digits
  of a ZIP code are allowed to survive inside their placeholder, which is opaque here);
- precision is the share of removed input words that were planted PHI;
- a decoy is kept when it appears verbatim in the output.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*-\d+(?::[0-9A-Za-z+]{1,8})?\]|90\+")
# Words an address may keep without identifying anyone (street kinds, unit words).
_GENERIC = frozenset(
    [
        "st",
        "street",
        "ave",
        "avenue",
        "rd",
        "road",
        "blvd",
        "dr",
        "drive",
        "ln",
        "lane",
        "ct",
        "court",
        "pl",
        "place",
        "way",
        "apt",
        "apartment",
        "suite",
        "ste",
        "unit",
        "box",
        "po",
        "p",
        "o",
        "no",
    ]
)


@dataclass
class Sample:
    suite: str
    kind: str  # what the sample stands for: "hl7", "fhir", a template's number…
    document: Any
    planted: list[tuple[str, str]] = field(default_factory=list)  # (TYPE, surface string)
    decoys: list[str] = field(default_factory=list)  # non-PHI that must be kept verbatim


@dataclass
class Report:
    planted: dict[str, list[int]] = field(default_factory=dict)  # TYPE → [caught, planted]
    removed_phi: int = 0
    removed: int = 0
    decoys: list[int] = field(default_factory=lambda: [0, 0])  # kept, planted
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (type, kind, value)
    lost_decoys: list[tuple[str, str]] = field(default_factory=list)
    false_positives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        caught = sum(c for c, _ in self.planted.values())
        total = sum(n for _, n in self.planted.values())
        return caught / total if total else 1.0

    @property
    def precision(self) -> float:
        return self.removed_phi / self.removed if self.removed else 1.0

    @property
    def decoys_kept(self) -> float:
        return self.decoys[0] / self.decoys[1] if self.decoys[1] else 1.0

    def per_type(self) -> dict[str, float]:
        return {t: c / n for t, (c, n) in sorted(self.planted.items()) if n}

    def lines(self, title: str) -> list[str]:
        out = [
            f"{title}: recall {self.recall:.3f}, precision {self.precision:.3f}, "
            f"decoys kept {self.decoys_kept:.3f} ({self.decoys[0]}/{self.decoys[1]})"
        ]
        out += [f"  {t:<11} {c / n:6.3f}  ({c}/{n})" for t, (c, n) in sorted(self.planted.items())]
        return out


def strings_of(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        out: list[str] = []
        for key, value in node.items():
            out.append(str(key))
            out.extend(strings_of(value))
        return out
    if isinstance(node, list):
        return [s for item in node for s in strings_of(item)]
    if isinstance(node, bool) or node is None:
        return []
    return [str(node)]


def _words(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group().casefold()) for m in _WORD.finditer(text)]


def _kept_words(source: str, output: str) -> list[bool]:
    """For each word of `source`: does it survive in `output` (as aligned by difflib)?"""
    words = _words(source)
    out_words = [w for _, _, w in _words(_PLACEHOLDER.sub(" \x00 ", output))]
    kept = [False] * len(words)
    matcher = difflib.SequenceMatcher(None, [w for _, _, w in words], out_words, autojunk=False)
    for block in matcher.get_matching_blocks():
        for i in range(block.a, block.a + block.size):
            kept[i] = True
    return kept


def _exempt(type_: str, word: str) -> bool:
    if type_ == "DATE":
        return len(word) == 4 and word.isdigit() and word[:2] in ("18", "19", "20")
    if type_ == "ADDRESS":
        return word in _GENERIC
    return type_ == "MRN" and word == "mrn"  # `MRN-99812345`: the label is not the identifier


def score(samples: list[Sample], redact: Callable[[Any], Any]) -> Report:
    report = Report()
    for sample in samples:
        source = "\n".join(strings_of(sample.document))
        output_doc = redact(sample.document)
        output = "\n".join(strings_of(output_doc))
        words = _words(source)
        kept = _kept_words(source, output)
        phi = [False] * len(words)
        for type_, surface in sample.planted:
            counts = report.planted.setdefault(type_, [0, 0])
            counts[1] += 1
            leaked = False
            for m in re.finditer(re.escape(surface), source):
                for i, (start, end, word) in enumerate(words):
                    if start >= m.start() and end <= m.end():
                        phi[i] = True
                        leaked |= kept[i] and not _exempt(type_, word)
            if not leaked and surface in source:
                counts[0] += 1
            else:
                report.misses.append((type_, sample.kind, surface))
        for i, (_, _, word) in enumerate(words):
            if not kept[i]:
                report.removed += 1
                report.removed_phi += phi[i]
                if not phi[i]:
                    report.false_positives.append((sample.kind, word))
        for decoy in sample.decoys:
            report.decoys[1] += 1
            if decoy in output:
                report.decoys[0] += 1
            else:
                report.lost_decoys.append((sample.kind, decoy))
    return report
