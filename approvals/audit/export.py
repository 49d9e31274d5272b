"""JSON Lines exports of the audit trail with a signed closing checkpoint, and their offline check.

An export is one event per line (the hashed body plus prev_hash and hash), then one line
`{"checkpoint": {...}, "signature": ...}` that signs the range's first and last hash. The
check needs no database: only the file and, to prove origin, our public key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.audit import chain, signing
from approvals.audit import service as audit_service
from approvals.errors import Conflict
from approvals.kit.canonical import canonical_json
from approvals.kit.clock import utc_now

FORMAT = "approvals.audit.export/1"
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ExportSummary:
    events: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    kid: str
    pending_events: int = 0  # in the period, appended but not sealed yet: not exported


def _line(event: chain.ChainedEvent) -> str:
    return canonical_json(
        {**chain.body_of(event), "prev_hash": event.prev_hash, "hash": event.hash}
    ).decode()


async def export(
    session: AsyncSession,
    out: TextIO,
    signer: signing.Signer,
    *,
    start: datetime | None,
    end: datetime | None,
) -> ExportSummary:
    """Write sealed events of [start, end) — as one contiguous seq range — then the signed
    checkpoint, which also states how many events of the period still wait to be sealed.

    Refuses (Conflict) when the range itself does not verify: signing it would certify
    tampered history.
    """
    found = await audit_service.seq_range(session, start, end)
    waiting = await audit_service.pending(session, start, end)
    walker: chain.Walker | None = None
    first_prev: str | None = None
    if found is not None:
        async for rows in audit_service.batches(
            session, first_seq=found[0], last_seq=found[1], size=_BATCH
        ):
            events = [audit_service.as_chained(row) for row in rows]
            if walker is None:
                first_prev = events[0].prev_hash
                walker = chain.Walker(start_hash=first_prev, start_seq=found[0])
            broken = walker.feed(events)
            if broken:
                raise Conflict(
                    f"the audit chain is broken at event {broken.seq} ({broken.kind}); "
                    "run `approvals audit verify`"
                )
            out.write("".join(_line(event) + "\n" for event in events))
    count = walker.checked if walker else 0
    last_seq = walker.next_seq - 1 if walker else None
    last_hash = walker.last_hash if walker else None
    document = {
        "format": FORMAT,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "first_seq": found[0] if found else None,
        "last_seq": last_seq,
        "count": count,
        "first_prev_hash": first_prev,
        "last_hash": last_hash,
        "pending_events": waiting,
        "created_at": utc_now().isoformat(),
    }
    out.write(canonical_json(signer.sign(document)).decode() + "\n")
    return ExportSummary(
        count, found[0] if found else None, last_seq, last_hash, signer.kid, waiting
    )


@dataclass(frozen=True, slots=True)
class ExportCheck:
    valid: bool
    events: int
    first_seq: int | None
    last_seq: int | None
    kid: str | None
    key_pinned: bool
    problem: str | None = None
    seq: int | None = None


def _event(line: dict[str, Any]) -> chain.ChainedEvent:
    return chain.ChainedEvent(
        int(line["seq"]),
        str(line["type"]),
        datetime.fromisoformat(str(line["at"])),
        str(line["actor"]),
        None if line["action_id"] is None else str(line["action_id"]),
        dict(line["payload"]),
        str(line["prev_hash"]),
        str(line["hash"]),
    )


def verify_export(lines: Iterable[str], pinned: bytes | None = None) -> ExportCheck:
    """Check an export offline: every link, the signature, and that nothing was cut or added."""
    walker: chain.Walker | None = None
    first_prev: str | None = None
    first_seq: int | None = None
    signed: dict[str, Any] | None = None

    def result(problem: str | None, seq: int | None = None) -> ExportCheck:
        doc = (signed or {}).get("checkpoint") or {}
        return ExportCheck(
            valid=problem is None,
            events=walker.checked if walker else 0,
            first_seq=first_seq,
            last_seq=walker.next_seq - 1 if walker else None,
            kid=doc.get("kid"),
            key_pinned=pinned is not None,
            problem=problem,
            seq=seq,
        )

    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if signed is not None:
            return result(f"line {number} follows the checkpoint: lines were appended")
        try:
            parsed = orjson.loads(text)
            if "checkpoint" in parsed:
                signed = parsed
                continue
            event = _event(parsed)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return result(f"line {number} is not an audit event or checkpoint")
        if walker is None:
            first_prev, first_seq = event.prev_hash, event.seq
            walker = chain.Walker(start_hash=event.prev_hash, start_seq=event.seq)
        broken = walker.feed([event])
        if broken:
            return result(f"{broken.problem} ({broken.kind})", broken.seq)
    if signed is None:
        return result("no signed checkpoint at the end: the file was cut short")
    why = signing.check(signed, pinned)
    if why:
        return result(why)
    doc = signed["checkpoint"]
    expected = (doc.get("count"), doc.get("first_seq"), doc.get("first_prev_hash"))
    got = (walker.checked if walker else 0, first_seq, first_prev)
    if expected != got or doc.get("last_hash") != (walker.last_hash if walker else None):
        return result("the events do not match the signed checkpoint: events were removed or added")
    return result(None)
