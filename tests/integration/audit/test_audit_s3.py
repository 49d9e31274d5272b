"""The S3 checkpoint sink against a real S3 protocol double (moto's server) on loopback.

boto3 talks HTTP to it exactly as to MinIO or AWS; nothing of ours is patched.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from approvals.app import create_app
from approvals.audit import checkpoints
from approvals.audit import service as audit_service
from approvals.kit.canonical import canonical_json
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.fakes.stalling_http import StallingHttp
from tests.integration.audit.conftest import json_out, make_history, rewrite_history

SECRET = "s3-test-secret-never-logged"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region the way operators give them: the standard AWS environment."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "approvals-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


class Bucket:
    def __init__(self, endpoint: str, name: str, prefix: str) -> None:
        self.name, self.prefix, self.endpoint = name, prefix, endpoint
        self.client = boto3.client("s3", endpoint_url=endpoint)
        self.client.create_bucket(Bucket=name)

    @property
    def url(self) -> str:
        return f"s3://{self.name}/{self.prefix}"

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=self.prefix + "/")
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def body(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)


@pytest.fixture
def bucket(
    s3_endpoint: str,
    aws_env: None,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> Bucket:
    """A fresh bucket, configured for the service under test and for the CLI alike."""
    made = Bucket(s3_endpoint, f"audit-{uuid.uuid4().hex[:12]}", "prod")
    runtime.settings.audit_checkpoint_url = made.url
    runtime.settings.audit_s3_endpoint_url = s3_endpoint
    monkeypatch.setenv("APPROVALS_AUDIT_CHECKPOINT_URL", made.url)
    monkeypatch.setenv("APPROVALS_AUDIT_S3_ENDPOINT_URL", s3_endpoint)
    return made


async def _head(runtime: Runtime) -> int:
    async with runtime.db() as session:
        return (await audit_service.head(session)).last_seq


async def _verify(api: ApiClient) -> dict[str, Any]:
    response = await api.http.get("/v1/audit/verify", headers=api.auth("auditor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


class TestS3Checkpoints:
    async def test_cli_checkpoint_lands_as_one_object_per_checkpoint(
        self, api: ApiClient, runtime: Runtime, cli, bucket: Bucket, tmp_path: Path
    ) -> None:
        await make_history(api)
        first = await _head(runtime)
        sink = tmp_path / "checkpoints.jsonl"
        result = await cli("audit", "checkpoint", "-o", str(sink))
        assert result.exit_code == 0, result.output
        assert bucket.url in result.output and str(sink) in result.output
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0  # S3 alone, no file set
        keys = bucket.keys()
        assert len(keys) == 2
        assert keys[0].startswith(f"prod/{first:012d}-") and keys[0].endswith(".json")
        assert keys[1].startswith(f"prod/{await _head(runtime):012d}-")
        # the same signed canonical line as the file sink
        assert bucket.body(keys[0]) == sink.read_bytes()
        signed = json.loads(bucket.body(keys[0]))
        assert signed["checkpoint"]["seq"] == first
        assert signed["signature"]

    async def test_verify_is_intact_with_s3_checkpoints(
        self, api: ApiClient, runtime: Runtime, cli, bucket: Bucket, tmp_path: Path
    ) -> None:
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0
        result = await cli("audit", "verify", "--json")
        assert result.exit_code == 0, result.output
        assert json_out(result)["intact"] is True
        assert json_out(result)["checkpoints_matched"] == 2
        status = await _verify(api)
        assert status["intact"] is True
        assert status["checkpoints_matched"] == 2

    async def test_server_writes_checkpoints_to_s3_while_it_runs(
        self, api: ApiClient, runtime: Runtime, bucket: Bucket
    ) -> None:
        runtime.settings.audit_checkpoint_interval_seconds = 0.05
        app = create_app(runtime.settings, runtime=runtime)
        async with app.router.lifespan_context(app):
            await make_history(api)
            head = await _head(runtime)
            for _ in range(100):
                await asyncio.sleep(0.05)
                keys = await asyncio.to_thread(bucket.keys)
                if any(key.startswith(f"prod/{head:012d}-") for key in keys):
                    break
        assert any(key.startswith(f"prod/{head:012d}-") for key in keys)
        status = await _verify(api)
        assert status["intact"] is True
        assert status["checkpoints_matched"] >= 1


class TestS3Tampering:
    async def test_consistent_rewrite_is_caught_by_an_s3_checkpoint(
        self, api: ApiClient, runtime: Runtime, cli, bucket: Bucket
    ) -> None:
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0
        runtime.settings.audit_checkpoint_url = None
        last = await rewrite_history(runtime)
        assert (await _verify(api))["intact"] is True  # the chain alone looks fine
        runtime.settings.audit_checkpoint_url = bucket.url
        status = await _verify(api)
        assert status["intact"] is False
        assert status["broken"]["kind"] == "rewritten"
        assert status["broken"]["seq"] == last
        result = await cli("audit", "verify")
        assert result.exit_code == 1
        assert "BROKEN" in result.output

    async def test_edited_object_breaks_the_chain_status(
        self, api: ApiClient, cli, bucket: Bucket
    ) -> None:
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0
        (key,) = bucket.keys()
        signed = json.loads(bucket.body(key))
        signed["checkpoint"]["hash"] = "f" * 64
        bucket.put(key, canonical_json(signed) + b"\n")
        status = await _verify(api)
        assert status["intact"] is False
        assert status["broken"]["kind"] == "rewritten"
        assert "signature does not match" in status["broken"]["problem"]
        assert key in status["broken"]["problem"]

    async def test_object_that_is_not_json_breaks_the_chain_status(
        self, api: ApiClient, cli, bucket: Bucket
    ) -> None:
        await make_history(api)
        assert (await cli("audit", "checkpoint")).exit_code == 0
        (key,) = bucket.keys()
        bucket.put(key, b'{"checkpoint": truncated')
        status = await _verify(api)
        assert status["intact"] is False
        assert "is not JSON" in status["broken"]["problem"]

    async def test_object_signed_by_another_key_breaks_the_chain_status(
        self, api: ApiClient, runtime: Runtime, cli, bucket: Bucket, tmp_path: Path
    ) -> None:
        """A forger without our key writes a plausible checkpoint of the forged head."""
        await make_history(api)
        async with runtime.db() as session:
            tip = await audit_service.head(session)
        other = checkpoints.signer_for(tmp_path / "elsewhere")
        forged = other.sign(
            {"format": checkpoints.FORMAT, "seq": tip.last_seq, "hash": tip.last_hash}
        )
        bucket.put(f"prod/{tip.last_seq:012d}-forged.json", canonical_json(forged) + b"\n")
        status = await _verify(api)
        assert status["intact"] is False
        assert "not by the expected key" in status["broken"]["problem"]
        result = await cli("audit", "verify")
        assert result.exit_code == 1

    async def test_file_and_s3_pinning_one_seq_to_different_hashes_break_the_chain(
        self, api: ApiClient, runtime: Runtime, cli, bucket: Bucket, tmp_path: Path
    ) -> None:
        await make_history(api)
        sink = tmp_path / "checkpoints.jsonl"
        assert (await cli("audit", "checkpoint", "-o", str(sink))).exit_code == 0
        runtime.settings.audit_checkpoint_path = sink
        assert (await _verify(api))["intact"] is True
        (key,) = bucket.keys()
        ours = checkpoints.signer_for(runtime.settings.data_dir)
        signed = json.loads(bucket.body(key))["checkpoint"]
        other = ours.sign(
            {k: signed[k] for k in ("format", "seq", "created_at")} | {"hash": "e" * 64}
        )
        bucket.put(key, canonical_json(other) + b"\n")  # validly signed, but disagrees
        status = await _verify(api)
        assert status["intact"] is False
        assert f"pins event {signed['seq']} to a different hash" in status["broken"]["problem"]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_s3_is_logged_and_the_service_keeps_running(
    api: ApiClient,
    runtime: Runtime,
    aws_env: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink = tmp_path / "checkpoints.jsonl"
    runtime.settings.audit_checkpoint_path = sink
    runtime.settings.audit_checkpoint_url = "s3://approvals-audit/prod"
    runtime.settings.audit_s3_endpoint_url = f"http://127.0.0.1:{_closed_port()}"
    runtime.settings.audit_checkpoint_interval_seconds = 0.05
    app = create_app(runtime.settings, runtime=runtime)
    signer = checkpoints.signer_for(runtime.settings.data_dir)
    async with app.router.lifespan_context(app):
        await make_history(api)
        head = await _head(runtime)
        for _ in range(200):
            await asyncio.sleep(0.05)
            if sink.exists() and head in checkpoints.read(sink, signer.public_raw):
                break
        writer = next(t for t in asyncio.all_tasks() if t.get_name() == "audit-checkpoints")
        await asyncio.sleep(0.2)
        assert not writer.done()  # it never raises
        assert (await api.create())["id"]  # the service still takes requests
    assert head in checkpoints.read(sink, signer.public_raw)  # the other sink still got it
    logs = "".join(capsys.readouterr())
    assert "audit.checkpoint_failed" in logs
    assert "audit.checkpoint_sink_failed" in logs and "s3" in logs
    assert SECRET not in logs
    status = await _verify(api)  # fail closed: checkpoints that cannot be read prove nothing
    assert status["intact"] is False
    assert "cannot read" in status["broken"]["problem"]


async def test_cli_checkpoint_exits_1_when_s3_is_unreachable_but_writes_the_file(
    api: ApiClient,
    runtime: Runtime,
    cli,
    aws_env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPROVALS_AUDIT_CHECKPOINT_URL", "s3://approvals-audit/prod")
    monkeypatch.setenv("APPROVALS_AUDIT_S3_ENDPOINT_URL", f"http://127.0.0.1:{_closed_port()}")
    await make_history(api)
    sink = tmp_path / "checkpoints.jsonl"
    result = await cli("audit", "checkpoint", "-o", str(sink))
    assert result.exit_code == 1
    assert "checkpoint not written to s3://approvals-audit/prod" in result.output
    assert SECRET not in result.output
    signer = checkpoints.signer_for(runtime.settings.data_dir)
    assert await _head(runtime) in checkpoints.read(sink, signer.public_raw)


async def test_a_stalled_s3_write_holds_no_database_lock(
    api: ApiClient, runtime: Runtime, aws_env: None, tmp_path: Path
) -> None:
    """While the checkpoint writer waits on S3, requests still commit (no `database is locked`).

    On SQLite a transaction held across the S3 call would hold the write lock: the submit
    below would wait out busy_timeout (10 s) and fail with a 500.
    """
    await make_history(api)
    with StallingHttp() as s3:
        runtime.settings.audit_checkpoint_url = "s3://approvals-audit/prod"
        runtime.settings.audit_s3_endpoint_url = s3.url
        runtime.settings.audit_checkpoint_interval_seconds = 0.05
        app = create_app(runtime.settings, runtime=runtime)
        async with app.router.lifespan_context(app):
            assert await asyncio.to_thread(s3.arrived.wait, 20), "the writer never reached S3"
            started = asyncio.get_running_loop().time()
            created = await api.create()  # asserts 201
            decided = await api.decide("bob", created["id"], "approve")
            assert decided.status_code == 200, decided.text
            assert asyncio.get_running_loop().time() - started < 5
            assert not s3.released.is_set()  # the writer was still waiting on S3 throughout
