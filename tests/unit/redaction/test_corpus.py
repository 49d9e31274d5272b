"""Recall per Safe Harbor type and precision on hard decoys, over the seeded labelled corpus."""

from __future__ import annotations

import json
import sys

import pytest
from redaction_corpus import TYPES, corpus, survives

from approvals.redaction import Redactor

MIN_RECALL = 0.98
MIN_DECOY_PRECISION = 0.95


@pytest.fixture(scope="module")
def measured() -> tuple[dict[str, list[int]], list[int], list[str]]:
    redactor = Redactor()
    per_type: dict[str, list[int]] = {t: [0, 0] for t in TYPES}  # caught, planted
    decoys = [0, 0]  # survived, planted
    leaks: list[str] = []
    for sample in corpus(seed=7, count=120):
        output = json.dumps(redactor.redact(sample.document).value, ensure_ascii=False)
        for type_, value in sample.planted:
            per_type[type_][1] += 1
            if survives(value, output):
                leaks.append(type_)
            else:
                per_type[type_][0] += 1
        for decoy in sample.decoys:
            decoys[1] += 1
            decoys[0] += decoy in output
    return per_type, decoys, leaks


class TestCorpus:
    def test_every_type_is_planted(self, measured):
        per_type, _, _ = measured
        assert [t for t, (_, planted) in per_type.items() if planted == 0] == []

    def test_recall_per_type(self, measured, capsys):
        per_type, decoys, _ = measured
        lines = ["", "redaction recall per type (caught/planted):"]
        lines += [f"  {t:<11} {c / n:6.3f}  ({c}/{n})" for t, (c, n) in per_type.items()]
        lines.append(f"  decoy precision {decoys[0] / decoys[1]:.3f} ({decoys[0]}/{decoys[1]})")
        lines.append("  (NAME plants Faker-listed names, an upper bound; recall on real people's")
        lines.append("  names: tests/unit/redaction/test_names_population.py)")
        with capsys.disabled():  # the figures are the point of this test: always show them
            sys.stdout.write("\n".join(lines) + "\n")
        low = {t: c / n for t, (c, n) in per_type.items() if c / n < MIN_RECALL}
        assert low == {}

    def test_decoy_precision(self, measured):
        _, (survived, planted), _ = measured
        assert survived / planted >= MIN_DECOY_PRECISION
