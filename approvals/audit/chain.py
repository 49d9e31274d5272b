"""Hash chaining of audit events: link one event to the previous, verify a run of them,
and name what went wrong (edited, deleted, inserted, reordered, rewritten). Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from approvals.kit.canonical import canonical_json

GENESIS_HASH = "0" * 64

# How far from its position a moved event's original seq is searched for, once, at a break.
_RENUMBER_WINDOW = 64


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    seq: int
    event_type: str
    occurred_at: datetime
    actor: str
    action_id: str | None
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str


def event_body(
    seq: int,
    event_type: str,
    occurred_at: datetime,
    actor: str,
    action_id: str | None,
    payload: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "seq": seq,
        "type": event_type,
        "at": occurred_at.isoformat(timespec="microseconds"),
        "actor": actor,
        "action_id": action_id,
        "payload": dict(payload),
    }


def link(prev_hash: str, body: Mapping[str, Any]) -> str:
    """hash = SHA-256(prev_hash || canonical JSON of the event)."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(body)).hexdigest()


def body_of(event: ChainedEvent) -> dict[str, Any]:
    return event_body(
        event.seq,
        event.event_type,
        event.occurred_at,
        event.actor,
        event.action_id,
        event.payload,
    )


class BreakKind(StrEnum):
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    REWRITTEN = "rewritten"  # consistent by itself, but disagrees with a signed checkpoint


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    problem: str
    kind: BreakKind = BreakKind.EDITED


def _self_consistent(event: ChainedEvent) -> bool:
    return link(event.prev_hash, body_of(event)) == event.hash


def _recorded_seq(event: ChainedEvent) -> int | None:
    """The seq this event was hashed with, if someone renumbered it since."""
    for offset in range(1, _RENUMBER_WINDOW + 1):
        for candidate in (event.seq - offset, event.seq + offset):
            if candidate > 0 and _self_consistent(replace(event, seq=candidate)):
                return candidate
    return None


class Walker:
    """Verifies a chain fed in seq order, one batch at a time (so callers never load it all).

    It keeps the two latest hashes so a break at a batch boundary is diagnosed like any other,
    and compares against `checkpoints` ({seq: hash} from signed external checkpoints), which
    catch a history rewritten consistently from some point on.
    """

    def __init__(
        self,
        *,
        start_hash: str = GENESIS_HASH,
        start_seq: int = 1,
        checkpoints: Mapping[int, str] | None = None,
    ) -> None:
        self.next_seq = start_seq
        self.last_hash = start_hash
        self._before_last: str | None = None
        self._checkpoints = dict(checkpoints or {})
        self.checked = 0
        self.checkpoints_matched = 0

    def feed(self, events: Sequence[ChainedEvent]) -> ChainBreak | None:
        for index, event in enumerate(events):
            found = self._check(event, events[index + 1] if index + 1 < len(events) else None)
            if found is not None:
                return found
            self._before_last, self.last_hash = self.last_hash, event.hash
            self.next_seq = event.seq + 1
            self.checked += 1
        return None

    def _check(self, event: ChainedEvent, following: ChainedEvent | None) -> ChainBreak | None:
        expected = self.next_seq
        if event.seq > expected:
            missing = (
                f"event {expected}"
                if event.seq == expected + 1
                else (f"events {expected}–{event.seq - 1}")
            )
            return ChainBreak(expected, f"{missing} missing: deleted", BreakKind.DELETED)
        if event.seq < expected:
            return ChainBreak(
                expected,
                f"event {event.seq} appears after event {expected - 1}",
                BreakKind.REORDERED,
            )
        prev_ok = event.prev_hash == self.last_hash
        if prev_ok and _self_consistent(event):
            pinned = self._checkpoints.get(event.seq)
            if pinned is not None and pinned != event.hash:
                return ChainBreak(
                    event.seq,
                    "differs from a signed checkpoint: history was rewritten from here or earlier",
                    BreakKind.REWRITTEN,
                )
            self.checkpoints_matched += pinned is not None
            return None
        return self._diagnose(event, following, prev_ok)

    def _diagnose(
        self, event: ChainedEvent, following: ChainedEvent | None, prev_ok: bool
    ) -> ChainBreak:
        seq = event.seq
        recorded = _recorded_seq(event)
        if recorded is not None and recorded < seq and event.prev_hash == self._before_last:
            return ChainBreak(
                seq - 1,
                f"event {seq - 1} is not part of the original chain: inserted, and the "
                "events after it renumbered",
                BreakKind.INSERTED,
            )
        if recorded is not None and recorded > seq:
            after = _recorded_seq(following) if following is not None else None
            if after == recorded + 1:
                return ChainBreak(
                    seq,
                    f"event {seq} was deleted and the events after it renumbered "
                    f"(this one was recorded as {recorded})",
                    BreakKind.DELETED,
                )
            return ChainBreak(
                seq, f"the event at {seq} was recorded as event {recorded}", BreakKind.REORDERED
            )
        if recorded is not None and recorded < seq:
            return ChainBreak(
                seq, f"the event at {seq} was recorded as event {recorded}", BreakKind.REORDERED
            )
        if following is not None and _self_consistent(replace(following, seq=seq)):
            return ChainBreak(
                seq,
                f"event {seq} is not part of the original chain: inserted, and the events "
                "after it renumbered",
                BreakKind.INSERTED,
            )
        if prev_ok:
            return ChainBreak(seq, f"event {seq} content does not match its hash: edited")
        return ChainBreak(seq, f"event {seq} does not link to event {seq - 1}: edited")


def verify(
    events: Iterable[ChainedEvent], *, start_hash: str = GENESIS_HASH, start_seq: int = 1
) -> ChainBreak | None:
    """The first event that was edited, deleted, inserted or reordered; None if intact."""
    return Walker(start_hash=start_hash, start_seq=start_seq).feed(list(events))
