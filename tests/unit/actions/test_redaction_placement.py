"""Which documents are redacted on the event loop and which in a worker thread."""

from __future__ import annotations

from approvals.actions.decisions import INLINE_REDACTION_CHARS, redaction_fits_on_loop


def test_a_typical_request_is_redacted_on_the_loop() -> None:
    document = {
        "resource": "db.prod.encounters",
        "justification": "remove a duplicated encounter (ticket CHG-1042)",
        "params": {"sql": "DELETE FROM encounters WHERE id = %(id)s", "args": {"id": 7}},
        "context": {"sample_rows": [{"patient": "John Smith", "mrn": "12345678"}]},
        "tags": ["etl", "dedupe"],
    }
    assert redaction_fits_on_loop(document)


def test_text_over_the_budget_goes_to_a_thread_wherever_it_sits() -> None:
    over = "x" * (INLINE_REDACTION_CHARS + 1)
    assert not redaction_fits_on_loop({"context": {"note": over}})
    assert not redaction_fits_on_loop({"context": [[over]]})
    assert not redaction_fits_on_loop({"context": {over: 1}}), "keys are text too"
    assert redaction_fits_on_loop({"context": {"note": "x" * (INLINE_REDACTION_CHARS - 20)}})


def test_many_small_values_add_up() -> None:
    assert not redaction_fits_on_loop({"rows": ["ab"] * INLINE_REDACTION_CHARS})
    assert not redaction_fits_on_loop({"n": list(range(INLINE_REDACTION_CHARS))})
