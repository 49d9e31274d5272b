"""Redaction time grows linearly with the input, on inputs built to make it grow faster.

Each family repeats a short unit (separators, URLs, digits, names, emails, `key=value` pairs,
brackets...) up to a length: the shapes that once made one detector re-read the rest of the
string at every candidate (99 KB of `ab:` took 19 s, 80 KB of `http://a…` 7–8 s). Doubling
the length must at most double the work, ±25 %. Work is CPU time of this process (not wall
time: other processes on a shared machine do not count), the minimum of several runs, so a
busy machine slows both sizes alike instead of failing the ratio.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from approvals.redaction import Redactor
from approvals.redaction.names import name_tables

_SIZE = 100_000  # the longest string scanned (RedactionConfig.max_string_length)
_RUNS = 5  # runs of each size at least
_BUDGET_SECONDS = 20.0  # more runs while the ratio fails, up to this long
_UNITS = (
    # separators and key=value shapes
    "ab:", "a=", ":", "=", "-", ".", " ", "[", "(", "/", "_", ",", "'", "a:b ", "ssn=", "dob=",
    "name=", "mrn: ", "kv='", "x IN (",
    # URLs and emails
    "http://a", "http://a/", "www.a", "http://a.b", "https://x.org/a?b=1&c=%20 ", "a@", "a@a",
    "@a.", "a.b@c.d ",
    # digits and identifier shapes
    "1", "1 ", "12 ", "1-", "1.", "1/", "1:", "(1", "+1", "123456789 ", "1A", "AB1", "::",
    # names, cues, placeholders, addresses
    "John ", "John Smith, ", "Dr. ", "patient: ", "[A-1", "[NAME-1] ", "[NAME-1] John ",
    "1 Main St ", "Boston, MA 02108 ",
    # mixed scripts: names in three scripts with a number; digits of another script
    "李伟 Иван Petrov John 12 ", "Zoë Ñúñez, Sömmeringstr. 78 ", "١٢٣ ",
)  # fmt: skip


def _repeat(unit: str, prefix: str = "") -> Callable[[int], str]:
    """Whole units only: a unit cut at the end leaves a word at one size that the other lacks
    (`… [NAME-1] Jo` at 100 KB), a prefix of the repeated word that is then looked for through
    the whole text at that size alone, and the ratio measures the cut, not the scan."""

    def build(size: int) -> str:
        return prefix + unit * ((size - len(prefix)) // len(unit))

    return build


def _distinct_names(prefix: str = "") -> Callable[[int], str]:
    """Names of the tables, each once, in Title Case: a search per distinct word read the whole
    text once per name (100 KB took 0.8 s). Every k-th name of the sorted tables, k chosen for
    the size, so both sizes sample the whole alphabet alike: a prefix of the sorted list would
    give the larger size other kinds of words (the 100 KB prefix holds speech and kinship words
    that the 50 KB one does not), and the ratio would measure the content, not the scan."""

    def build(size: int) -> str:
        names = sorted(w for w in name_tables().vocabulary if w.isascii())
        stride = max(1, len(" ".join(names)) // size)
        return (prefix + " ".join(n.title() for n in names[::stride]))[:size]

    return build


FAMILIES: dict[str, Callable[[int], str]] = {
    **{repr(u): _repeat(u) for u in _UNITS},
    # Non-ASCII text keeps the detector gates when none of its characters stands for an ASCII
    # one (`é`); with one that does (`ı` ~ `i` under IGNORECASE) every detector runs everywhere.
    **{f"é+{u!r}": _repeat(u, "é") for u in ("ab:", "1 ", "a=", "http://a", "John ", "a@a")},
    **{f"ı+{u!r}": _repeat(u, "ı") for u in ("ab:", "1 ")},
    "www.….local": lambda n: ("www." * n)[: n - 7] + "x.local",
    "@ then a long run": lambda n: "x@y " + "a" * (n - 4),
    "@ then dotted": lambda n: "x@" + ("a." * n)[: n - 2],
    # One long run of blanks where a pattern had `\s*-?\s*` or `[ \t]+#?[ \t]*`: every split
    # of the run was tried (20 KB: 1.4 s after a number, 7 s after `ssn`).
    "blanks after a number": lambda n: "12" + " " * (n - 3) + "x",
    "blanks after a key": lambda n: "ssn" + " " * (n - 5) + ":,",
    "blanks after a cue": lambda n: "MRN" + " " * (n - 5) + "x1",
    "blanks after IN": lambda n: "a in" + " " * (n - 6) + ",1",
    "blanks after age": lambda n: "age" + " " * (n - 5) + "x1",
    "distinct names": _distinct_names(),
    "é+distinct names": _distinct_names("é"),
}


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    redactor = Redactor()
    redactor.redact({"warm": "John Smith MRN 12345678 a@b.com http://x.org 1 Main St"})
    return redactor


def _least_cpu_seconds(redactor: Redactor, texts: tuple[str, str], best: list[float]) -> None:
    """One more run of each text, the texts taking turns, lowering `best` (each text's least
    CPU time so far): a burst of load on a shared machine then hits both sizes alike, and a
    run it hit is outweighed by any quiet one."""
    for i, text in enumerate(texts):
        start = time.process_time()
        result = redactor.redact({"note": text})
        best[i] = min(best[i], time.process_time() - start)
        assert "UNSCANNED" not in result.summary(), "the generated text must be scanned"


@pytest.mark.parametrize("family", FAMILIES)
def test_doubling_the_input_at_most_doubles_the_work(redactor: Redactor, family: str) -> None:
    texts = FAMILIES[family](_SIZE // 2), FAMILIES[family](_SIZE)
    best = [float("inf"), float("inf")]
    # The least time of each size, over runs until the ratio holds or the budget is spent: CPU
    # time still grows under load from the other test worker on a shared VM (seen: 38 ms → 82
    # ms for 100 KB through five runs in a row), but the least of many runs converges on the
    # quiet figure. The bound is not widened by more runs: a super-linear scan's least times
    # converge on its true ratio, which is never within it.
    deadline = time.monotonic() + _BUDGET_SECONDS
    for run in itertools.count(1):
        _least_cpu_seconds(redactor, texts, best)
        half, full = best
        # Under 10 ms at half size noise, not the scan, decides the ratio (seen: 5 ms → 13 ms
        # once, 9.4 ms alone); strings stop at 100 KB, so such a family stays far under the
        # budget below whatever its shape, and the scans this test is for cost seconds here.
        within = full <= 2 * 1.25 * max(half, 0.010)
        if run >= _RUNS and (within or time.monotonic() > deadline):
            break
    assert within, (
        f"{family}: {half * 1000:.1f} ms at {_SIZE // 2} chars, {full * 1000:.1f} ms at {_SIZE}"
        f", least of {run} runs each"
    )


# The absolute figure (100 KB in under 100 ms of CPU, issue 13) is a speed target, so it is a
# benchmark, not a timed test: bench/redaction_adversarial.py measures every family above.
