"""Checkpoint sinks: which the settings name, and how an S3 URL maps to bucket, prefix and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from approvals.audit.sinks import FileSink, S3Sink, configured
from approvals.kit.canonical import canonical_json


def test_both_sinks_when_both_are_set() -> None:
    sinks = configured(Path("/var/audit/c.jsonl"), "s3://approvals-audit/prod", "http://minio:9000")
    assert [sink.kind for sink in sinks] == ["file", "s3"]
    s3 = sinks[1]
    assert isinstance(s3, S3Sink)
    assert (s3.bucket, s3.prefix, s3.endpoint_url) == (
        "approvals-audit",
        "prod",
        "http://minio:9000",
    )
    assert isinstance(sinks[0], FileSink)


def test_no_sink_when_none_is_set() -> None:
    assert configured(None, None) == []


def test_object_key_is_the_zero_padded_seq_then_the_utc_time() -> None:
    sink = S3Sink.from_url("s3://approvals-audit/prod/eu/")
    key = sink.key_for(canonical_json({"checkpoint": {"seq": 42}, "signature": "x"}))
    assert key.startswith("prod/eu/000000000042-")
    assert key.endswith("Z.json")


@pytest.mark.parametrize("url", ["https://approvals-audit/prod", "s3:///prod", "approvals-audit"])
def test_anything_but_an_s3_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="s3://"):
        S3Sink.from_url(url)


async def test_file_sink_appends_lines_and_reads_them_back(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "deep" / "c.jsonl")
    assert await sink.lines() == []
    await sink.append(b'{"a":1}')
    await sink.append(b'{"a":2}')
    assert [(line.where, line.text) for line in await sink.lines()] == [
        ("c.jsonl line 1", b'{"a":1}'),
        ("c.jsonl line 2", b'{"a":2}'),
    ]
