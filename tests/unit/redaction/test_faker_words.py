"""The Faker words the redactor reads from `data/faker_words.txt` are the installed Faker's:
after a Faker upgrade this fails until scripts/build_faker_words.py is run again, so the
committed copy (which spares every start of `approvals redact` importing Faker) never drifts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from approvals.redaction.names import committed_faker_words, faker_words

ROOT = Path(__file__).resolve().parents[3]


def test_committed_faker_words_are_the_installed_fakers() -> None:
    spec = importlib.util.spec_from_file_location(
        "build", ROOT / "scripts" / "build_faker_words.py"
    )
    assert spec is not None and spec.loader is not None
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    committed = (ROOT / "approvals" / "redaction" / "data" / "faker_words.txt").read_text()
    assert committed == build.render(), "run scripts/build_faker_words.py"
    assert committed_faker_words() == {k: frozenset(v) for k, v in faker_words().items()}
