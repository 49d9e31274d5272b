"""Recall, precision and decoys kept on the two outside suites (see outside_data/README.md).

The floors are the figures this build reaches, rounded down: a change that loses recall on data
the detectors were not written for fails here. The issue's targets (recall ≥ 0.97 overall and
≥ 0.95 per type, precision ≥ 0.90, decoys kept ≥ 0.90) are met on the presidio-evaluator suite
and held here type by type; the formats suite is short of them on ADDRESS. docs/redaction.md
gives the honest figures and `bench/eval_outside.py --misses 40` shows what is missed.
"""

from __future__ import annotations

import sys

import pytest
from outside_formats import formats_suite
from outside_presidio import presidio_suite
from outside_score import Report, Sample, score, strings_of

from approvals.redaction import Redactor

# suite → (recall, precision, decoys kept) floors
FLOORS = {"presidio": (0.97, 0.95, 0.91), "formats": (0.99, 0.94, 0.99)}
# suite → recall floor for every Safe Harbor type it plants (the 0.95, where reached)
TYPE_FLOORS = {"presidio": 0.95, "formats": 0.95}
SUITES = {"presidio": presidio_suite, "formats": formats_suite}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def _measure(name: str, redactor: Redactor) -> tuple[list[Sample], Report]:
    samples = SUITES[name]()
    return samples, score(samples, lambda doc: redactor.redact(doc).value)


@pytest.mark.parametrize("name", sorted(SUITES))
def test_outside_suite(name: str, redactor: Redactor, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = _measure(name, redactor)
    with capsys.disabled():  # the figures are the point: always show them
        sys.stdout.write("\n" + "\n".join(report.lines(f"outside suite {name}")) + "\n")
    recall, precision, decoys = FLOORS[name]
    assert report.recall >= recall
    assert report.precision >= precision
    assert report.decoys_kept >= decoys
    floor = TYPE_FLOORS.get(name)
    if floor is not None:
        assert {t: r for t, r in report.per_type().items() if r < floor} == {}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_suite_plants_what_it_says(name: str) -> None:
    """Every planted value and decoy is in its document, and the seed fixes the suite."""
    first, again = SUITES[name](), SUITES[name]()
    assert [s.document for s in first] == [s.document for s in again]
    for sample in first:
        text = "\n".join(strings_of(sample.document))
        assert [v for _, v in sample.planted if v not in text] == []
        assert [d for d in sample.decoys if d not in text] == []
