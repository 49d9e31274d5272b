"""Where signed checkpoints go: an append-only file, or one object per checkpoint in S3.

A sink only stores and returns opaque lines; signing and checking stay in `checkpoints`.
boto3 is imported lazily (the CLI must start without it) and called off the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

import orjson

from approvals.kit.clock import utc_now

if TYPE_CHECKING:
    from types_boto3_s3 import S3Client


class SinkUnavailable(RuntimeError):
    """A sink could not be written or read (no access, unreachable, bad configuration)."""


@dataclass(frozen=True, slots=True)
class Line:
    where: str  # "checkpoints.jsonl line 3", "s3://bucket/prefix/…json": for messages only
    text: bytes


class Sink(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    async def append(self, line: bytes) -> None:
        """Store one signed checkpoint line (canonical JSON, no newline) durably."""
        ...

    async def lines(self) -> list[Line]:
        """Every stored line, oldest first."""
        ...


@dataclass(frozen=True, slots=True)
class FileSink:
    path: Path
    kind: str = "file"

    @property
    def label(self) -> str:
        return str(self.path)

    async def append(self, line: bytes) -> None:
        await asyncio.to_thread(self._append, line)

    def _append(self, line: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as handle:
            handle.write(line + b"\n")
            handle.flush()
            os.fsync(handle.fileno())

    async def lines(self) -> list[Line]:
        return await asyncio.to_thread(self.read_lines)

    def read_lines(self) -> list[Line]:
        if not self.path.exists():
            return []
        return [
            Line(f"{self.path.name} line {number}", text)
            for number, text in enumerate(self.path.read_bytes().splitlines(), start=1)
            if text.strip()
        ]


@dataclass(slots=True)
class S3Sink:
    """`s3://bucket/prefix`: one object `<prefix>/<seq, 12 digits>-<UTC time>.json` per line.

    Credentials and region come from the standard AWS chain (environment, shared config,
    instance role); `endpoint_url` points at MinIO, Ceph or another S3-compatible store.
    """

    bucket: str
    prefix: str
    endpoint_url: str | None = None
    kind: str = "s3"
    _client: S3Client | None = field(default=None, repr=False)

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Sink:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an s3://bucket/prefix URL: {url}")
        return cls(parts.netloc, parts.path.strip("/"), endpoint_url or None)

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def key_for(self, line: bytes) -> str:
        seq = int(orjson.loads(line)["checkpoint"]["seq"])
        name = f"{seq:012d}-{utc_now():%Y%m%dT%H%M%S%fZ}.json"
        return f"{self.prefix}/{name}" if self.prefix else name

    def client(self) -> S3Client:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Short timeouts and few retries: a checkpoint can wait for the next interval.
            config = Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            )
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url, config=config
            )
        return self._client

    async def append(self, line: bytes) -> None:
        await asyncio.to_thread(self._put, line)

    def _put(self, line: bytes) -> None:
        key = self.key_for(line)
        try:
            self.client().put_object(
                Bucket=self.bucket,
                Key=key,
                Body=line + b"\n",
                ContentType="application/json",
            )
        except Exception as exc:
            raise SinkUnavailable(f"{self.label}: cannot write ({type(exc).__name__})") from exc

    async def lines(self) -> list[Line]:
        return await asyncio.to_thread(self._lines)

    def _lines(self) -> list[Line]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            client = self.client()
            keys = [
                item["Key"]
                for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=prefix
                )
                for item in page.get("Contents", [])
            ]
            found: list[Line] = []
            for key in sorted(keys):  # zero-padded seq first: sorted is oldest first
                body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                found.extend(
                    Line(f"s3://{self.bucket}/{key}", text)
                    for text in body.splitlines()
                    if text.strip()
                )
        except Exception as exc:
            raise SinkUnavailable(f"{self.label}: cannot read ({type(exc).__name__})") from exc
        return found


def configured(
    path: Path | None, url: str | None, endpoint_url: str | None = None
) -> Sequence[Sink]:
    """The sinks the settings name: the file, the S3 URL, both, or none."""
    sinks: list[Sink] = []
    if path is not None:
        sinks.append(FileSink(path))
    if url:
        sinks.append(S3Sink.from_url(url, endpoint_url))
    return sinks
