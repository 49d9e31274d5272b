"""Name recall measured on real people's names, not on the lists the detector was built from.

The corpus test plants names from Faker's lists, which the detector also reads, so its 1.000 is
an upper bound. Here the names are 4 000 (first, last) pairs drawn by population count from the
U.S. Census 2010 surname file (all 162 253 surnames, the rare tail included) and a 2020
first-name frequency file that the detector does not read (census_name_sample.tsv, made by
scripts/build_name_lists.py). A pair counts as caught when no part of it survives redaction in
any form. Recall is printed per context; the floors sit just under the measured figures, so a
change that loses names fails here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from redaction_corpus import survives

from approvals.redaction import Redactor

SAMPLE = Path(__file__).with_name("census_name_sample.tsv")
# (template, floor): free text without a cue is the hard case; cues and keys must catch anyone.
# Measured 2026-12-02, Faker lists only → with the Census/SSA lists and the one-unknown-part
# rules: 0.775→0.960, 0.784→0.962, 0.512→0.762, 0.496→0.742, 0.405→0.843, 0.441→0.715,
# 0.768→0.862, 0.996→0.996, 1.000→1.000. A lone surname or a lower-case pair is found only when
# listed.
CONTEXTS = {
    "{F} {L} called about the refill": 0.95,
    "spoke with {F} {L} today": 0.95,
    "{L} called back at noon": 0.74,
    "ok per {L}": 0.72,
    "{LU}, {FU} rescheduled": 0.83,
    "callback requested by {f} {l}": 0.70,
    "{F} asked for a copy": 0.85,
    "Patient: {F} {L}, seen today": 0.99,
    "Dr. {L} signed the order": 0.99,
}
# Ordinary operations prose: words here are also someone's surname (Block, Lock, Reading, Keys,
# Guard, Host, Auth, Cron...), and none of them may turn into a NAME placeholder.
PROSE = [
    "Deploy blocked: waiting for the lock on the reading replica.",
    "Rotate keys in the vault before the cron job runs; auth tokens expire at noon.",
    "Block Kit card posted to the channel; the client retried twice.",
    "Register the host with the guard service, then restart the worker.",
    "Reading from the archive bucket is slow after the index rebuild.",
    "Lint failed on the perl wrapper; see the ord() call in the parser.",
    "Price tier changed for the warehouse; billing export scheduled for Friday.",
    "The nightly job copies encounters to the staging schema for the audit.",
]


def _pairs() -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in SAMPLE.read_text().splitlines()]
    return [(r[0], r[1]) for r in rows if not r[0].startswith("#")]


def _uses(template: str, key: str) -> bool:
    return any(f"{{{k}}}" in template for k in (key, key + "U", key.lower()))


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:]


def _recall() -> dict[str, float]:
    redactor = Redactor()
    pairs = _pairs()
    assert len(pairs) == 4000
    found: dict[str, float] = {}
    for index, template in enumerate(CONTEXTS):
        sample = pairs[index::3][:1000]
        caught = 0
        for first, last in sample:
            text = template.format(F=_cap(first), L=_cap(last), FU=first.upper(),
                                   LU=last.upper(), f=first, l=last)  # fmt: skip
            output = str(redactor.redact({"note": text}).value["note"])
            named = [part for part, key in ((first, "F"), (last, "L")) if _uses(template, key)]
            caught += not any(survives(part, output) for part in named)
        found[template] = caught / len(sample)
    return found


def test_names_of_real_people_are_found_in_context(capsys: pytest.CaptureFixture[str]) -> None:
    recall = _recall()
    lines = ["", "name recall on U.S. population samples (1 000 pairs per context):"]
    lines += [f"  {value:.3f}  (floor {CONTEXTS[t]:.2f})  {t}" for t, value in recall.items()]
    with capsys.disabled():  # the figures are the point of this test: always show them
        sys.stdout.write("\n".join(lines) + "\n")
    below = {t: round(value, 3) for t, value in recall.items() if value < CONTEXTS[t]}
    assert below == {}


def test_ordinary_operations_prose_keeps_its_words():
    redactor = Redactor()
    for line in PROSE:
        result = redactor.redact({"note": line})
        assert result.value["note"] == line, result.value["note"]
