"""Exports verify offline with nothing but the file (and our public key), and fail once tampered."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path

from approvals.app import create_app
from approvals.audit import checkpoints
from approvals.audit import service as audit_service
from approvals.audit.chain import event_body, link
from approvals.runtime import Runtime
from tests.builders import ApiClient
from tests.integration.audit.conftest import json_out, make_history, rewrite_history, sql


async def _export(cli, tmp_path: Path) -> Path:
    out = tmp_path / "audit.jsonl"
    result = await cli("audit", "export", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    return out


async def _public_key(cli, tmp_path: Path) -> Path:
    result = await cli("audit", "public-key")
    assert result.exit_code == 0, result.output
    path = tmp_path / "signer.pem"
    path.write_text(result.stdout)
    return path


class TestExport:
    async def test_export_verifies_offline_against_the_pinned_key(
        self, api: ApiClient, runtime: Runtime, cli, tmp_path: Path
    ) -> None:
        await make_history(api)
        out = await _export(cli, tmp_path)
        lines = out.read_text().splitlines()
        head = await audit_service_head(runtime)
        assert len(lines) == head + 1  # every event, then the checkpoint
        closing = json.loads(lines[-1])
        assert closing["checkpoint"]["last_seq"] == head
        assert closing["checkpoint"]["kid"].startswith("ed25519:")
        assert closing["checkpoint"]["public_key"]
        result = await cli(
            "audit",
            "verify-export",
            str(out),
            "--public-key",
            str(await _public_key(cli, tmp_path)),
            "--json",
        )
        assert result.exit_code == 0, result.output
        assert json_out(result) | {"kid": None} == {
            "valid": True,
            "events": head,
            "first_seq": 1,
            "last_seq": head,
            "kid": None,
            "key_pinned": True,
            "problem": None,
            "seq": None,
        }

    async def test_edited_line_fails_at_its_seq(self, api: ApiClient, cli, tmp_path: Path) -> None:
        await make_history(api)
        out = await _export(cli, tmp_path)
        lines = out.read_text().splitlines()
        event = json.loads(lines[3])
        event["actor"] = "someone-else@example.org"
        lines[3] = json.dumps(event)
        out.write_text("\n".join(lines) + "\n")
        result = await cli("audit", "verify-export", str(out), "--json")
        assert result.exit_code == 1
        assert json_out(result)["seq"] == 4
        assert json_out(result)["valid"] is False

    async def test_removed_last_event_fails_against_the_signed_checkpoint(
        self, api: ApiClient, cli, tmp_path: Path
    ) -> None:
        await make_history(api)
        out = await _export(cli, tmp_path)
        lines = out.read_text().splitlines()
        out.write_text("\n".join([*lines[:-2], lines[-1]]) + "\n")
        result = await cli("audit", "verify-export", str(out))
        assert result.exit_code == 1
        assert "events were removed or added" in result.output

    async def test_rehashed_export_fails_the_signature(
        self, api: ApiClient, cli, tmp_path: Path
    ) -> None:
        """A forger who recomputes every hash must also forge the Ed25519 signature."""
        await make_history(api)
        out = await _export(cli, tmp_path)
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        events, closing = lines[:-1], lines[-1]
        events[0]["actor"] = "forger@example.org"
        prev = events[0]["prev_hash"]
        for event in events:
            body = {k: event[k] for k in ("seq", "type", "actor", "action_id", "payload")}
            event["prev_hash"] = prev
            event["hash"] = prev = link(
                prev,
                event_body(
                    body["seq"],
                    body["type"],
                    datetime.fromisoformat(event["at"]),
                    body["actor"],
                    body["action_id"],
                    body["payload"],
                ),
            )
        closing["checkpoint"]["last_hash"] = prev
        out.write_text("".join(json.dumps(line) + "\n" for line in [*events, closing]))
        result = await cli("audit", "verify-export", str(out))
        assert result.exit_code == 1
        assert "signature does not match" in result.output

    async def test_another_signer_is_refused_when_the_key_is_pinned(
        self, api: ApiClient, runtime: Runtime, cli, tmp_path: Path
    ) -> None:
        await make_history(api)
        out = await _export(cli, tmp_path)
        other = checkpoints.signer_for(tmp_path / "elsewhere")
        pem = tmp_path / "other.pem"
        pem.write_text(other.public_pem())
        result = await cli("audit", "verify-export", str(out), "--public-key", str(pem))
        assert result.exit_code == 1
        assert "not by the expected key" in result.output

    async def test_export_of_a_broken_chain_is_refused(
        self, api: ApiClient, runtime: Runtime, cli, tmp_path: Path
    ) -> None:
        await make_history(api)
        await sql(runtime, "DELETE FROM audit_events WHERE seq = 3")
        result = await cli("audit", "export", "-o", str(tmp_path / "x.jsonl"))
        assert result.exit_code == 1
        assert "broken at event 3" in result.output
        assert not (tmp_path / "x.jsonl").exists()


class TestCheckpointSink:
    async def test_consistent_rewrite_is_caught_by_an_earlier_checkpoint(
        self, api: ApiClient, runtime: Runtime, cli, tmp_path: Path
    ) -> None:
        """An administrator rewrites event 2 and re-hashes everything after it, head included."""
        await make_history(api)
        sink = tmp_path / "sink" / "checkpoints.jsonl"
        result = await cli("audit", "checkpoint", "-o", str(sink))
        assert result.exit_code == 0, result.output
        last = await rewrite_history(runtime)
        assert (await cli("audit", "verify")).exit_code == 0  # the chain alone looks fine
        runtime.settings.audit_checkpoint_path = sink
        status = (await api.http.get("/v1/audit/verify", headers=api.auth("auditor"))).json()
        assert status["intact"] is False
        assert status["broken"]["kind"] == "rewritten"
        assert status["broken"]["seq"] == last

    async def test_checkpoints_agree_with_an_honest_chain(
        self, api: ApiClient, runtime: Runtime, cli, tmp_path: Path
    ) -> None:
        sink = tmp_path / "checkpoints.jsonl"
        await make_history(api)
        assert (await cli("audit", "checkpoint", "-o", str(sink))).exit_code == 0
        await make_history(api)
        assert (await cli("audit", "checkpoint", "-o", str(sink))).exit_code == 0
        runtime.settings.audit_checkpoint_path = sink
        status = (await api.http.get("/v1/audit/verify", headers=api.auth("auditor"))).json()
        assert status["intact"] is True
        assert status["checkpoints_matched"] == 2


async def test_server_writes_checkpoints_while_it_runs(
    api: ApiClient, runtime: Runtime, tmp_path: Path
) -> None:
    sink = tmp_path / "sink.jsonl"
    runtime.settings.audit_checkpoint_path = sink
    runtime.settings.audit_checkpoint_interval_seconds = 0.05
    app = create_app(runtime.settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        await make_history(api)
        for _ in range(100):
            await asyncio.sleep(0.05)
            pins = (
                checkpoints.read(sink, checkpoints.signer_for(runtime.settings.data_dir).public_raw)
                if sink.exists()
                else {}
            )
            if await audit_service_head(runtime) in pins:
                break
    assert await audit_service_head(runtime) in pins
    status = (await api.http.get("/v1/audit/verify", headers=api.auth("auditor"))).json()
    assert status["intact"] is True
    assert status["checkpoints_matched"] >= 1


async def audit_service_head(runtime: Runtime) -> int:
    async with runtime.db() as session:
        return (await audit_service.head(session)).last_seq
