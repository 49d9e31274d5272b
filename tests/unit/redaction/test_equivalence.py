"""Speed work must not change a single output byte: golden digests of the redactor's output.

`golden_outputs.json` was written by the engine *before* the fast paths of branch
`redaction-perf2` (commit 3beb078): one digest of `(value, findings)` per document, for the
seeded corpus (the bench's seed 11, the corpus test's seed 7, and two more) and for documents
built from spliced, cut and case-flipped corpus strings (names in odd cases, lone cue words,
non-ASCII, strings past the name scanner's long-text threshold). Any fast path that changes a
placeholder, a finding or a kept byte anywhere fails here, with the group and index to look at.

Regenerate only for an intended behaviour change: `python tests/unit/redaction/test_equivalence.py`.
When only the corpus changes (as on 2026-12-02, when its birth dates stopped depending on the
day the tests run), regenerate with the old engine instead, so the digests still come from it:
`git archive 3beb078 approvals/redaction approvals/__init__.py | tar -x -C /tmp/old`, then run
`compute()` with `/tmp/old` first on `sys.path` and write it to `golden_outputs.json`.
The one intended change so far: on 2026-12-02 the name scanner gained the Census name lists and
the `LAST, FIRST` / `First Last` rules for one unknown part (test_names_population.py); the
corpus digests did not move, the "spliced" and "long" ones were rewritten by that engine.
The second, on 2026-12-03 (issue 13, the identifiers the Slack and Teams cards kept): nine digits
alone are an SSN, ten alone a phone, `MRN-99812345` a context word and its value; one
"spliced" document moved (`573231761 …` → `[SSN-1] …`), regenerated with that engine.
The third, on 2026-12-03 (issue 13, the presidio-evaluator suite: address lines, streets named
by their kind, towns of several words, names that are words, trading names): the corpus
digests did not move; 2 "spliced" documents and the 6 "long" ones did (an address line no
longer takes the prose before its street; `Dea Mk873…` is one placeholder, not two), regenerated
with that engine.
The fourth, on 2026-12-03 (issue 13, addresses on the real-formats suite): after a residence cue
(`lives at`, `address:`) a street with a house number and the town after its comma are an
address (`LIVES AT [ADDRESS-1], [ADDRESS-2], TN 89752`, where the street number and an
all-capitals town were kept); 10 "spliced" and 6 "long" documents moved, the corpus ones did
not; regenerated with that engine. With it, a span that is both a listed name and a town
before a state and ZIP is an `ADDRESS` (`PO Box 1234, [ADDRESS-2] TX …`, was `[NAME-1]`), and
a loose phone ends where its digit groups end (`020 7946 0958` whole; one "long" document
moved: `16, 1959 …` keeps the year). Then a bare `name` key takes a value of two to five words
with a capital (`Eros Beneventi`; its pattern, written as a negated class, took one word only):
four "spliced" documents moved.
The fifth, on 2026-12-03, merging the two: both changes together, regenerated with that engine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from redaction_corpus import corpus, strings_of

from approvals.redaction import Redactor

GOLDEN = Path(__file__).with_name("golden_outputs.json")
_EXTRA = [
    "ſſn 123-45-6789", "MRN:", "a=", "x IN ('1', '2')", "WWW.EXAMPLE.COM/x", "١٢٣٤٥",
    "Mar 3", "(555) 123-4567", "+44 20 7851 7717", "AB1234563", "ab:cd:ef:01:23:45",
    "dr. smith", "Dr smith", "PATIENT: JOHN SMITH", "pt: maria garcia", "john smith called",
    "Smith, John", "SMITH, JOHN", "O'Brien-Smith", "José Álvarez", "Zoë Ñúñez 12",
    "Jenkins job for Parkinson", "May 3, 2024", "3 May 2024", "age 93", "aged: 101",
    "nightly-etl", "warehouse.clinical.notes", "fe80::1ff:fe23:4567:890a", "1HGCM82633A004352",
    "Springfield, IL 62704", "PO Box 123", "12 Main St, Boston, MA 02139", "user_name=jsmith",
    "attending physician Dr. Alvarez", "name: Ana", "the patient", "Kelvin K 12", "İstanbul",
]  # fmt: skip
_KEYS = ["note", "name", "patient_name", "text", "comment", "dob", "zip", "age", "x"]


def _flip(rng: random.Random, text: str) -> str:
    choice = rng.random()
    if choice < 0.15:
        return text.upper()
    if choice < 0.3:
        return text.lower()
    if choice < 0.4:
        return text.title()
    return text


@functools.cache
def documents() -> dict[str, list[Any]]:
    """Every document the golden digests cover, by group; deterministic."""
    groups: dict[str, list[Any]] = {}
    for seed, count in ((7, 120), (11, 200), (3, 40), (19, 40)):
        groups[f"corpus-{seed}"] = [s.document for s in corpus(seed=seed, count=count)]
    texts = [s for doc in groups["corpus-3"] for s in strings_of(doc)] + _EXTRA
    rng = random.Random(2026)
    mixed: list[Any] = []
    for _ in range(1200):
        parts = [_flip(rng, rng.choice(texts)) for _ in range(rng.randint(1, 4))]
        cut = [p[rng.randint(0, len(p)) :] if rng.random() < 0.3 else p for p in parts]
        text = rng.choice([" ", "", "; ", "=", ": ", "\n", ", "]).join(cut)
        key = rng.choice(_KEYS)
        mixed.append({key: text, text[:40]: rng.choice([1, "x", text])})
    groups["spliced"] = mixed
    long_docs = []
    for i in range(6):
        parts = [_flip(rng, rng.choice(texts)) for _ in range(400 + 300 * i)]
        long_docs.append({"note": " ".join(parts), "items": parts[:50]})
    groups["long"] = long_docs
    return groups


def digest(redactor: Redactor, document: Any) -> str:
    result = redactor.redact(document)
    findings = sorted((f.path, f.type, f.detector, f.count) for f in result.findings)
    blob = json.dumps([result.value, findings], ensure_ascii=False, sort_keys=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def compute() -> dict[str, list[str]]:
    redactor = Redactor()
    return {g: [digest(redactor, d) for d in docs] for g, docs in documents().items()}


def load_golden() -> dict[str, list[str]]:
    loaded: dict[str, list[str]] = json.loads(GOLDEN.read_text())
    return loaded


def differing(got: list[str], expected: list[str]) -> list[int]:
    """Indices of the documents whose digest is not the golden one."""
    return [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]


@pytest.fixture(scope="module")
def golden() -> dict[str, list[str]]:
    return load_golden()


@pytest.mark.parametrize("group", ["corpus-7", "corpus-11", "corpus-3", "corpus-19", "spliced",
                                   "long"])  # fmt: skip
def test_output_identical_to_the_engine_before_the_fast_paths(group, golden):
    redactor = Redactor()
    docs = documents()[group]
    changed = differing([digest(redactor, d) for d in docs], golden[group])
    assert changed == [], f"{group}: documents {changed[:10]} differ from the golden output"


def test_one_redactor_reused_gives_the_same_output_as_a_fresh_one(golden):
    # Caches that outlive a call (keys, gates, clean strings) must not change any later output.
    redactor = Redactor()
    docs = documents()
    for group in ("spliced", "corpus-11", "spliced"):
        got = [digest(redactor, d) for d in docs[group]]
        assert got == golden[group], group


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps(compute(), indent=0) + "\n")
    sys.stdout.write(f"wrote {GOLDEN}\n")
