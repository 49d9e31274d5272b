"""Signed checkpoints of the chain head written to an external file sink, and reading them back.

A checkpoint pins (seq, hash) outside the database: an administrator who rewrites history
and recomputes every hash still cannot match a checkpoint signed earlier. Each line is one
`{"checkpoint": {...}, "signature": ...}`; the file is only ever appended to.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from approvals.audit import chain, signing
from approvals.audit import service as audit_service
from approvals.kit.canonical import canonical_json
from approvals.kit.clock import utc_now

FORMAT = "approvals.audit.head/1"

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Written:
    seq: int
    hash: str


async def write(session: AsyncSession, path: Path, signer: signing.Signer) -> Written:
    """Append a signed checkpoint of the current head to `path` (fsynced)."""
    tip = await audit_service.head(session)
    line = signer.sign(
        {
            "format": FORMAT,
            "seq": tip.last_seq,
            "hash": tip.last_hash,
            "created_at": utc_now().isoformat(),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        handle.write(canonical_json(line) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return Written(tip.last_seq, tip.last_hash)


class BadCheckpoints(ValueError):
    """The checkpoint file was altered or is not ours."""


def read(path: Path, pinned: bytes) -> dict[int, str]:
    """{seq: hash} from every checkpoint in `path`; raises BadCheckpoints on any bad line."""
    pins: dict[int, str] = {}
    if not path.exists():
        return pins
    for number, text in enumerate(path.read_bytes().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            signed = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise BadCheckpoints(f"{path.name} line {number} is not JSON") from None
        why = signing.check(signed, pinned)
        if why:
            raise BadCheckpoints(f"{path.name} line {number}: {why}")
        doc = signed["checkpoint"]
        seq, digest = int(doc["seq"]), str(doc["hash"])
        if pins.get(seq, digest) != digest:
            raise BadCheckpoints(f"{path.name} pins event {seq} to two different hashes")
        if seq > 0:
            pins[seq] = digest
    return pins


async def run_periodically(
    db: async_sessionmaker[AsyncSession], path: Path, signer: signing.Signer, interval: float
) -> None:
    """Write a checkpoint every `interval` seconds when the head moved; never raises."""
    last: Written | None = None
    while True:
        try:
            async with db() as session:
                tip = await audit_service.head(session)
                if last is None or tip.last_seq != last.seq:
                    last = await write(session, path, signer)
                    log.info("audit.checkpoint_written", seq=last.seq)
        except Exception as exc:  # a full disk or a database blip must not stop the service
            log.warning("audit.checkpoint_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)


def signer_for(data_dir: Path) -> signing.Signer:
    return signing.load_or_create(data_dir / signing.KEY_FILE_NAME)


async def verify(
    session: AsyncSession, *, sink: Path | None, signer: signing.Signer
) -> audit_service.ChainStatus:
    """The chain's status, also checked against the checkpoint sink when there is one."""
    try:
        pins = read(sink, signer.public_raw) if sink else {}
    except BadCheckpoints as exc:
        tip = await audit_service.head(session)
        return audit_service.ChainStatus(
            intact=False,
            events_checked=0,
            head_seq=tip.last_seq,
            head_hash=tip.last_hash,
            checkpoints_matched=0,
            broken=chain.ChainBreak(0, f"checkpoint file: {exc}", chain.BreakKind.REWRITTEN),
        )
    return await audit_service.verify(session, checkpoints=pins)
