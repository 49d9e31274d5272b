"""The gated multi-pattern search finds exactly what the one combined regex finds."""

from __future__ import annotations

import random

import pytest
from redaction_corpus import corpus, strings_of

from approvals.redaction import Redactor
from approvals.redaction.candidates import key_starts, numeric_split
from approvals.redaction.detectors import _Runs
from approvals.redaction.search import features


def _reference(detectors, text):
    """The combined alternation scanned with `search`, as the engine did before gating."""
    found, pos, memo, runs = [], 0, {}, _Runs()
    while (m := detectors._pattern.search(text, pos)) is not None:
        name, consumed = m.lastgroup, 0
        if name == "kv":
            result, consumed = detectors._kv(m, memo, runs)
        else:
            result = detectors._handlers[name](m)
        if result is None:
            pos = m.start() + 1
            continue
        found.extend(result)
        pos = max(m.end(), consumed, result[-1].end if result else 0, m.start() + 1)
    return found


@pytest.mark.parametrize("seed", [3, 19])
def test_same_spans_as_the_combined_regex(seed):
    detectors = Redactor()._text.detectors
    texts = [s for sample in corpus(seed=seed, count=40) for s in strings_of(sample.document)]
    rng = random.Random(seed)
    extra = [
        "ſſn 123-45-6789", "MRN:", "a=", "x IN ('1', '2')", "WWW.EXAMPLE.COM/x", "١٢٣٤٥",
        "Mar 3", "(555) 123-4567", "+44 20 7851 7717", "AB1234563", "ab:cd:ef:01:23:45",
        "é ١٢٣-٤٥-٦٧٨٩", "Zoë SSN ١٢٣-٤٥-٦٧٨٩", "é 12٣-45-6789", "é \u212aEY=12345",
        # a pair under a key that names no PHI is never tried, yet still hides what a later
        # detector finds at its start (`group` is a context word too, `Boston` a city)
        "group=12345678", "visit: 12345678", "Boston In Town, MA 02108", "AB12=x", "a=b=c",
        "ssn=ssn=ssn=1", "name=name=John", "name=john", "mrn: mrn: 12345678", "dob=dob=x",
        "ssn='x' ssn=[SSN-1] ssn==x ssn== ,5 ssn!x mrn IN (mrn, 12345678)", "group=x1234567",
        # letters a case-blind pattern reads as ASCII ones: the gates read them folded
        "vısıt: 12345678", "VİSİT 12345678", "ſſn: 123-45-6789", "x İN ('1', '2')", "aıb=1",
        "Auguſt 3, 2024", "İİ Box 12", "ACCOUNT 1234567 ı", "ı 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    ]  # fmt: skip
    mixed = []
    for _ in range(1500):
        parts = [rng.choice(texts + extra) for _ in range(rng.randint(1, 3))]
        cut = [p[rng.randint(0, len(p)) :] if rng.random() < 0.3 else p for p in parts]
        mixed.append(rng.choice([" ", "", "; ", "=", ": ", "\n"]).join(cut))
    # Non-ASCII text is gated too unless one of its characters can stand for an ASCII one
    # (`ſ` ~ `s`, `İ`/`ı` ~ `i`, Kelvin `K` ~ `k`, digits of other scripts): both kinds here.
    foreign = ["é", "Zoë ", "李伟 ", "Иван ", "\u0301", "²", "ſ", "İ", "ı", "\u212a", "١", "é١"]
    for text in mixed[:500]:
        at = rng.randint(0, len(text))
        mixed.append(text[:at] + rng.choice(foreign) + text[at:])
    for text in texts + extra + mixed:
        assert detectors.spans(text, {}, features(text)) == _reference(detectors, text), text


def _numeric_reference(detectors, text):
    """Every start where the numeric alternation matches, with its hit, tried at each position."""
    numeric = detectors._search._detectors[0][0]
    return {s: m for s in range(len(text)) if (m := numeric.match(text, s)) is not None}


@pytest.mark.parametrize("seed", [5, 23])
def test_numeric_starts_cover_every_hit_and_dooms_only_rejected_cards(seed):
    """The numeric alternation is tried only where `numeric_split` lists a start; where it
    marks a start doomed instead, the alternation matches a card number `_h_card` rejects."""
    detectors = Redactor()._text.detectors
    rng = random.Random(seed)
    pieces = ["1", "4", "7", "0", "12", "555", "2024", " ", "-", ".", "/", "(", ")", "+", ":",
              "A", "AB", "Main", " St", "yrs", "\n", "x", "é", "ı", "-", "  ", "4111", "y", "Y",
              "o", "\t", "19", "20", "3", "9", "617", "0142", "GB", "_", ","]  # fmt: skip
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))) for _ in range(3000)]
    # chains of digits one blank or hyphen apart, long and short, with valid card numbers
    for _ in range(400):
        digits = [rng.choice("0123456789") for _ in range(rng.randint(10, 45))]
        texts.append("".join(d + rng.choice(["", " ", " ", "-"]) for d in digits).strip())
    texts += ["4111 1111 1111 1111", "4111-1111-1111-1111 x", "-4111 1111 1111 1111",
              "1 " * 40, "12 " * 30, "1-" * 30 + "-", "59 " * 20 + "-"]  # fmt: skip
    for text in texts:
        found = features(text)
        if not found.gated or not found.digit:
            continue
        starts, dead, name = numeric_split(text, found)
        assert name == "card"
        assert starts == sorted(set(starts)) and not dead.intersection(starts)
        for start, m in _numeric_reference(detectors, text).items():
            if start in dead:
                assert m.lastgroup == "card" and detectors._h_card(m) is None, (text, start)
            else:
                assert start in starts, (text, start, m.lastgroup)


def test_key_starts_read_forwards_or_backwards_alike():
    """Dense operators are read by one forward search, sparse ones backwards from each: padding
    a text (with a character that is neither key, blank nor letter) switches the method and
    must not move a key."""
    rng = random.Random(7)
    pieces = ["a", "ab", "ssn", "1", "_", ".", "-", " ", "\t", "=", ":", "!", "==", "é", "ı",
              " in ", " LIKE ", " like ", "x1", "'", ","]  # fmt: skip
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        padded = text + "#" * (100 * len(text) + 1)
        assert key_starts(text, features(text)) == key_starts(padded, features(padded)), text
