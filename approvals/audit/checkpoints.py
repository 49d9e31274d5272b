"""Signed checkpoints of the chain head written to external sinks, and reading them back.

A checkpoint pins (seq, hash) outside the database: an administrator who rewrites history
and recomputes every hash still cannot match a checkpoint signed earlier. Each line is one
`{"checkpoint": {...}, "signature": ...}`, stored in every configured sink (`sinks`: an
append-only file, S3 objects); verification reads all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.audit import chain, signing
from approvals.audit import service as audit_service
from approvals.audit.sinks import FileSink, Line, Sink, SinkUnavailable
from approvals.kit.canonical import canonical_json
from approvals.kit.clock import utc_now
from approvals.kit.loops import pause

FORMAT = "approvals.audit.head/1"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Written:
    seq: int
    hash: str
    pending_events: int = 0  # appended after the sealed head: a later checkpoint covers them


class SinkFailed(RuntimeError):
    """At least one sink did not take the checkpoint (the others did)."""

    def __init__(self, failed: Sequence[Sink]) -> None:
        super().__init__("checkpoint not written to " + ", ".join(s.label for s in failed))
        self.failed = list(failed)


async def write(
    db: async_sessionmaker[AsyncSession], sinks: Sequence[Sink], signer: signing.Signer
) -> Written:
    """Store a signed checkpoint of the current head in every sink.

    The head is read in a transaction of its own that ends before any sink is touched: a
    transaction held across S3 or a slow disk would hold SQLite's write lock (BEGIN
    IMMEDIATE) and make every request wait, then fail with `database is locked`.
    Every sink is tried; raises SinkFailed afterwards if any of them failed.
    """
    async with db() as session:
        tip = await audit_service.head(session)
        seq, digest = tip.last_seq, tip.last_hash
        waiting = await audit_service.pending(session)
    line = canonical_json(
        signer.sign(
            {
                "format": FORMAT,
                "seq": seq,
                "hash": digest,
                "pending_events": waiting,
                "created_at": utc_now().isoformat(),
            }
        )
    )
    failed: list[Sink] = []
    for sink in sinks:
        try:
            await sink.append(line)
        except Exception as exc:  # one sink down must not keep the checkpoint from the others
            log.warning("audit.checkpoint_sink_failed", sink=sink.kind, error=_reason(exc))
            failed.append(sink)
    if failed:
        raise SinkFailed(failed)
    return Written(seq, digest, waiting)


def _reason(exc: BaseException) -> str:
    """The exception's type name (of its cause when wrapped): never its text, which may hold
    a URL with credentials or a server's error body."""
    cause = exc.__cause__ if isinstance(exc, SinkUnavailable) and exc.__cause__ else exc
    return type(cause).__name__


class BadCheckpoints(ValueError):
    """A checkpoint sink was altered, holds lines that are not ours, or cannot be read."""


def pins_of(lines: Sequence[Line], pinned: bytes) -> dict[int, str]:
    """{seq: hash} from checkpoint lines; raises BadCheckpoints on any bad line or conflict."""
    pins: dict[int, str] = {}
    for line in lines:
        try:
            signed = orjson.loads(line.text)
        except orjson.JSONDecodeError:
            raise BadCheckpoints(f"{line.where} is not JSON") from None
        why = signing.check(signed, pinned)
        if why:
            raise BadCheckpoints(f"{line.where}: {why}")
        doc = signed["checkpoint"]
        seq, digest = int(doc["seq"]), str(doc["hash"])
        if pins.get(seq, digest) != digest:
            raise BadCheckpoints(f"{line.where} pins event {seq} to a different hash")
        if seq > 0:
            pins[seq] = digest
    return pins


async def read_all(sinks: Sequence[Sink], pinned: bytes) -> dict[int, str]:
    """{seq: hash} agreed by every sink; raises BadCheckpoints if any is bad or unreadable."""
    lines: list[Line] = []
    for sink in sinks:
        try:
            lines.extend(await sink.lines())
        except SinkUnavailable as exc:
            # Fail closed: a chain we could not compare with its checkpoints is not proven.
            raise BadCheckpoints(str(exc)) from exc
    return pins_of(lines, pinned)


def read(path: Path, pinned: bytes) -> dict[int, str]:
    """{seq: hash} from every checkpoint in the file at `path`; raises BadCheckpoints."""
    return pins_of(FileSink(path).read_lines(), pinned)


async def run_periodically(
    db: async_sessionmaker[AsyncSession],
    sinks: Sequence[Sink],
    signer: signing.Signer,
    interval: float,
    stop: asyncio.Event | None = None,
) -> None:
    """Write a checkpoint every `interval` seconds when the head moved, until `stop` is set
    (checked between checkpoints, never inside one); never raises.

    A sink that failed is written again at the next interval (all sinks then get it).
    """
    last: Written | None = None
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            async with db() as session:
                moved = last is None or (await audit_service.head(session)).last_seq != last.seq
            if moved:
                last = await write(db, sinks, signer)
                log.info("audit.checkpoint_written", seq=last.seq, pending=last.pending_events)
        except Exception as exc:  # a full disk, S3 or a database blip must not stop the service
            log.warning("audit.checkpoint_failed", error=type(exc).__name__)
        await pause(stop, interval)


def signer_for(data_dir: Path) -> signing.Signer:
    return signing.load_or_create(data_dir / signing.KEY_FILE_NAME)


async def verify(
    db: async_sessionmaker[AsyncSession], *, sinks: Sequence[Sink], signer: signing.Signer
) -> audit_service.ChainStatus:
    """The chain's status, also checked against every checkpoint sink.

    The sinks are read before the database session opens, so no transaction waits on them.
    """
    try:
        pins = await read_all(sinks, signer.public_raw)
    except BadCheckpoints as exc:
        async with db() as session:
            tip = await audit_service.head(session)
        return audit_service.ChainStatus(
            intact=False,
            events_checked=0,
            head_seq=tip.last_seq,
            head_hash=tip.last_hash,
            checkpoints_matched=0,
            broken=chain.ChainBreak(0, f"checkpoint sink: {exc}", chain.BreakKind.REWRITTEN),
        )
    async with db() as session:
        return await audit_service.verify(session, checkpoints=pins)
