"""Canonical JSON digests and the audit hash chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from approvals.audit.chain import GENESIS_HASH, ChainedEvent, event_body, link, verify
from approvals.kit.canonical import canonical_json, digest


def test_canonical_json_ignores_key_order_and_whitespace() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": 2, "c": 3}]}) == canonical_json(
        {"a": [1, {"c": 3, "d": 2}], "b": 1}
    )
    assert digest({"x": 1}) != digest({"x": 2})
    assert digest({"x": 1}).startswith("sha256:")


def _chain(n: int) -> list[ChainedEvent]:
    events, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        at = datetime(2026, 11, 23, 12, 0, seq, tzinfo=UTC)
        body = event_body(seq, "vote", at, f"user{seq}@example.org", "a1", {"n": seq})
        digest_ = link(prev, body)
        events.append(
            ChainedEvent(seq, "vote", at, f"user{seq}@example.org", "a1", {"n": seq}, prev, digest_)
        )
        prev = digest_
    return events


def test_intact_chain_verifies() -> None:
    assert verify(_chain(5)) is None


def test_edited_event_is_found() -> None:
    events = _chain(5)
    events[2] = replace(events[2], actor="mallory@example.org")
    found = verify(events)
    assert found is not None and found.seq == 3


def test_deleted_event_is_found() -> None:
    events = _chain(5)
    del events[1]
    found = verify(events)
    assert found is not None and found.seq == 2


def test_reordered_events_are_found() -> None:
    events = _chain(5)
    events[1], events[2] = events[2], events[1]
    assert verify(events) is not None
