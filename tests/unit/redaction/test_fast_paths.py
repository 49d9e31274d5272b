"""Each fast path of the engine against the slow code it replaced, on corpus and fuzzed strings.

The golden digests (test_equivalence.py) prove whole documents unchanged; these pin each
replacement on its own, including inputs the corpus never produces (odd separators, words cut
by the 48-character window, non-ASCII letters, digits of other scripts).
"""

from __future__ import annotations

import random
import re

import pytest
from redaction_corpus import corpus, strings_of

from approvals.redaction import names, placeholders, validators
from approvals.redaction.names import _PREV_REVERSED, _WORD, name_tables
from approvals.redaction.search import LETTERS, features

# The forward pattern the names scanner searched with before (`names._PREV`).
_PREV = re.compile(r"(?P<tok>" + _WORD + r")(?P<sep>[ \t]*,[ \t]*|[ \t]+|_)$")
_ODD = [
    "O'Brien-Smith, Mary", "smith_john", "  ,  john", "a’b c", "x-", "Zoë Ñúñez", "İstanbul Ali",
    "SMITH ,JOHN", "van der Berg", "Dr.Smith", "J. R. R. Tolkien", "١٢٣ Ann", "ſam Lee", "K9 Ann",
]  # fmt: skip


@pytest.fixture(scope="module")
def texts():
    base = [s for sample in corpus(seed=5, count=30) for s in strings_of(sample.document)]
    base += _ODD
    rng = random.Random(5)
    mixed = []
    for _ in range(1500):
        parts = [rng.choice(base) for _ in range(rng.randint(1, 3))]
        cut = [p[rng.randint(0, len(p)) :] if rng.random() < 0.3 else p for p in parts]
        text = rng.choice([" ", "", ", ", "_", " , ", "\t", "-"]).join(cut)
        mixed.append(text.upper() if rng.random() < 0.1 else text)
    return base + mixed


def test_letter_runs_by_translation_match_findall(texts):
    for text in texts:
        assert features(text).words == frozenset(LETTERS.findall(text.lower())), text


def test_name_hits_by_find_match_the_letter_run_loop(texts):
    vocabulary = name_tables().vocabulary
    for text in texts:
        found = features(text)
        present = vocabulary.intersection(found.words)
        reference = [m.span() for m in LETTERS.finditer(text) if m.group().lower() in present]
        assert list(names.NameScanner._hits(text, present, found.lower)) == reference, text


def test_previous_word_read_backwards_matches_the_forward_search(texts):
    for text in texts:
        backwards, size = text[::-1], len(text)
        for start in range(1, size + 1):
            old = _PREV.search(text, max(0, start - 48), start)
            new = _PREV_REVERSED.match(backwards, size - start, size - max(0, start - 48))
            if old is None:
                assert new is None, (text, start)
                continue
            assert new is not None, (text, start)
            assert (size - new.end("tok"), size - new.start("tok")) == old.span("tok"), text
            assert ("," in new["sep"]) == ("," in old["sep"]), (text, start)


@pytest.mark.parametrize("type_", ["NAME", "PHONE", "FAX", "SSN", "ACCOUNT", "ZIP", "MRN", "URL"])
def test_ascii_normalisation_matches_the_character_loop(texts, type_):
    def reference(text: str) -> str:
        if type_ in ("PHONE", "FAX"):
            digits = "".join(ch for ch in text if ch.isdigit())
            return digits[1:] if len(digits) == 11 and digits[0] == "1" else digits
        if type_ in ("SSN", "ACCOUNT", "ZIP"):
            return "".join(ch for ch in text if ch.isalnum()).upper()
        if type_ == "NAME":
            return placeholders.normalise("NAME", text)  # unchanged path
        return "".join(ch for ch in text.casefold() if ch.isalnum()) or text.casefold()

    for text in texts:
        assert placeholders.normalise(type_, text) == reference(text), text


def test_digits_and_zip3_match_the_character_loop(texts):
    for text in [*texts, "١٢٣45", "²³4567"]:
        digits = "".join(ch for ch in text if ch.isdigit())
        assert validators.digits_of(text) == digits, text
        first = digits[:3]
        expected = "000" if len(first) < 3 or first in placeholders.RESTRICTED_ZIP3 else first
        assert placeholders.zip3(text) == expected, text


def test_key_normalisation_matches_the_regex_version(texts):
    from approvals.redaction.keys import _CAMEL, _SPLIT, normalise

    def reference(key: str) -> tuple[tuple[str, ...], str]:
        spaced = _CAMEL.sub("_", key).lower()
        tokens = tuple(t for t in _SPLIT.split(spaced) if t)
        stripped = tuple(re.sub(r"\d+$", "", t) or t for t in tokens)
        return stripped, "".join(stripped)

    keys = ["patientName", "PATIENT_NAME", "dob2", "mrn_1", "x9y", "ÄrztName", "ǅemal", "a.b-c"]
    for key in [*keys, *(t[:40] for t in texts)]:
        assert normalise(key) == reference(key), key
