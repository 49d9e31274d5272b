"""Recall per Safe Harbor type, precision and decoys kept on the two outside suites.

Run: `.venv/bin/python bench/eval_outside.py [--misses N] [--suite presidio|formats]`.
Suite (a) fills presidio-evaluator's public templates with its FakeNameGenerator identities;
suite (b) is written from the formats' specifications (who wrote what: the modules' docstrings
and tests/unit/redaction/outside_data/README.md). Both are generated with a fixed seed, so the
figures move only when the redactor does. `--misses N` prints N missed values and lost decoys
per suite, to see what fails (they are fake identities, not PHI).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests" / "unit" / "redaction")]
sys.path.append(str(ROOT))

from outside_formats import formats_suite  # noqa: E402
from outside_presidio import presidio_suite  # noqa: E402
from outside_score import score  # noqa: E402

from approvals.redaction import Redactor  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", type=int, default=0)
    parser.add_argument("--suite", choices=["presidio", "formats"], default=None)
    args = parser.parse_args()
    redactor = Redactor()
    suites = {"presidio": presidio_suite, "formats": formats_suite}
    for name, make in suites.items():
        if args.suite and name != args.suite:
            continue
        samples = make()
        report = score(samples, lambda doc: redactor.redact(doc).value)
        print("\n".join(report.lines(f"{name} ({len(samples)} documents)")))
        if args.misses:
            print(
                "  misses:",
                *[f"    {t} [{k}] {v!r}" for t, k, v in report.misses[: args.misses]],
                sep="\n",
            )
            print(
                "  lost decoys:",
                *[f"    [{k}] {v!r}" for k, v in report.lost_decoys[: args.misses]],
                sep="\n",
            )
            print(
                "  removed non-PHI words:",
                *[f"    [{k}] {v!r}" for k, v in report.false_positives[: args.misses]],
                sep="\n",
            )


if __name__ == "__main__":
    main()
