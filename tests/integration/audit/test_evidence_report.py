"""The evidence report: a seeded fortnight of history gives exactly the figures an auditor checks.

History (all times UTC, demo policy): on 2 Nov, A1 approved after 4 min, A2 denied after 30
min with a reason, A3 (a prod export needing two approvers) approved after 60 min, A4 expired;
on 3 Nov, A5 blocked (DROP TABLE in prod), A6 auto-approved (dev), A7 approved after 2 min by
carol once bob's self-approval was refused. A8 on 5 Nov falls outside [2 Nov, 4 Nov).
"""

from __future__ import annotations

import csv
import io
import logging
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from freezegun import freeze_time

from approvals.actions import decisions
from approvals.audit.api import render_report
from approvals.audit.render import Format
from approvals.audit.schemas import EvidenceReport
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.integration.audit.conftest import sql
from tests.system_tools import require_tool

PERIOD = {"from": "2026-11-02", "to": "2026-11-04"}


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


async def _create(api: ApiClient, when: datetime, **body) -> str:
    with freeze_time(when):
        created = (await api.create(**body))["id"]
        await settle(api.runtime)  # release jobs record their events at this moment too
        return created


async def _decide(
    api: ApiClient, when: datetime, who: str, action_id: str, verdict: str, reason=None
) -> int:
    with freeze_time(when):
        status = (await api.decide(who, action_id, verdict, reason)).status_code
        await settle(api.runtime)
        return status


@pytest.fixture
async def history(api: ApiClient, runtime: Runtime) -> dict[str, str]:
    ids = {}
    ids["A1"] = await _create(api, _at(2, 9, 0))
    assert await _decide(api, _at(2, 9, 4), "bob", ids["A1"], "approve") == 200
    ids["A2"] = await _create(api, _at(2, 9, 10))
    assert (
        await _decide(api, _at(2, 9, 40), "carol", ids["A2"], "deny", "use the read replica") == 200
    )
    ids["A3"] = await _create(
        api, _at(2, 10, 0), action="s3.export", environment="prod", resource="s3://exports/2026-11"
    )
    assert await _decide(api, _at(2, 10, 20), "dana", ids["A3"], "approve") == 200
    assert await _decide(api, _at(2, 11, 0), "bob", ids["A3"], "approve") == 200
    ids["A4"] = await _create(api, _at(2, 12, 0))
    with freeze_time(_at(2, 13, 30)):
        assert await decisions.expire_due(runtime) == [ids["A4"]]
        await settle(runtime)
    ids["A5"] = await _create(
        api, _at(3, 9, 0), environment="prod", params={"sql": "DROP TABLE encounters"}
    )
    ids["A6"] = await _create(api, _at(3, 9, 5), environment="dev")
    ids["A7"] = await _create(api, _at(3, 10, 0), on_behalf_of="bob@example.org")
    assert await _decide(api, _at(3, 10, 1), "bob", ids["A7"], "approve") == 403
    assert await _decide(api, _at(3, 10, 2), "carol", ids["A7"], "approve") == 200
    ids["A8"] = await _create(api, _at(5, 9, 0))
    return ids


async def _report(api: ApiClient, fmt: str, who: str = "auditor"):
    return await api.http.get(
        "/v1/reports/evidence", params={**PERIOD, "format": fmt}, headers=api.auth(who)
    )


class TestEvidenceJson:
    async def test_figures(self, api: ApiClient, history: dict[str, str]) -> None:
        response = await _report(api, "json")
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["period"] == {"start": "2026-11-02T00:00:00Z", "end": "2026-11-04T00:00:00Z"}
        assert report["totals"] == {
            "requests": 7,
            "by_outcome": {
                "approved": 3,
                "auto_approved": 1,
                "blocked": 1,
                "denied": 1,
                "expired": 1,
            },
            "by_action": {"s3.export": 1, "sql.execute": 6},
            "by_environment": {"dev": 1, "prod": 2, "staging": 4},
        }
        ttd = report["time_to_decision"]
        assert (ttd["decisions"], ttd["median_seconds"], ttd["p90_seconds"]) == (4, 1020.0, 3600.0)
        assert [b["count"] for b in ttd["histogram"]] == [0, 2, 0, 1, 1, 0]
        assert report["denials"] == [
            {
                "id": history["A2"],
                "action": "sql.execute",
                "environment": "staging",
                "resource": "db.prod.encounters",
                "requester": "svc:etl@example.org",
                "denied_by": "carol@example.org",
                "reason": "use the read replica",
                "decided_at": "2026-11-02T09:40:00Z",
            }
        ]
        [blocked] = report["blocked"]
        assert (blocked["id"], blocked["rule"]) == (history["A5"], "block-critical-in-prod")
        assert "never runs in prod" in blocked["reason"]
        assert [g["code"][:8] for g in blocked["guardrails"]] == ["sql.drop"]  # sql.drop(_table)
        assert [(a["id"], a["rule"]) for a in report["auto_approved"]] == [
            (history["A6"], "dev-auto")
        ]
        assert [e["id"] for e in report["expired"]] == [history["A4"]]
        assert report["self_approval"] == {"passed": True, "violations": [], "refused_attempts": 1}
        assert report["decisions_per_day"] == [
            {"day": "2026-11-02", "counts": {"approved": 2, "denied": 1, "expired": 1}},
            {"day": "2026-11-03", "counts": {"approved": 1, "auto_approved": 1, "blocked": 1}},
        ]
        [policy] = report["policy_versions"]
        assert policy["requests"] == 7
        assert {"block-critical-in-prod", "dev-auto", "phi-export-two-person"} <= set(
            policy["rules"]
        )
        assert report["chain"]["intact"] is True

    async def test_each_action_row(self, api: ApiClient, history: dict[str, str]) -> None:
        rows = {row["id"]: row for row in (await _report(api, "json")).json()["actions"]}
        assert history["A8"] not in rows
        a3 = rows[history["A3"]]
        assert a3["approvers"] == ["dana@example.org", "bob@example.org"]
        assert a3["platforms"] == ["api"]
        assert (a3["requester"], a3["on_behalf_of"]) == ("svc:etl@example.org", "alice@example.org")
        assert (a3["created_at"], a3["decided_at"]) == (
            "2026-11-02T10:00:00Z",
            "2026-11-02T11:00:00Z",
        )
        assert a3["time_to_decision_seconds"] == 3600.0
        assert rows[history["A7"]]["approvers"] == ["carol@example.org"]
        assert rows[history["A5"]]["time_to_decision_seconds"] is None  # not a human decision

    async def test_self_approval_slipped_in_by_sql_is_listed(
        self, api: ApiClient, runtime: Runtime, history: dict[str, str]
    ) -> None:
        """If a vote ever bypassed the service, the report must show it, not the service's word."""
        await sql(
            runtime,
            "UPDATE votes SET approver = 'alice@example.org' WHERE action_id = :a",
            a=history["A1"],
        )
        check = (await _report(api, "json")).json()["self_approval"]
        assert check["passed"] is False
        assert [(v["action_id"], v["approver"], v["role"]) for v in check["violations"]] == [
            (history["A1"], "alice@example.org", "on_behalf_of")
        ]

    async def test_needs_the_audit_scope(self, api: ApiClient, history: dict[str, str]) -> None:
        assert (await _report(api, "json", who="bob")).status_code == 403
        bad = await api.http.get(
            "/v1/reports/evidence?from=2026-11-04&to=2026-11-02", headers=api.auth("auditor")
        )
        assert bad.status_code == 422


async def test_cli_writes_the_report_and_summarises_it(
    history: dict[str, str], cli, tmp_path: Path
) -> None:
    out = tmp_path / "nov.csv"
    result = await cli(
        "report", "--from", "2026-11-02", "--to", "2026-11-04", "--format", "csv", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert "7 requests, self-approval check passed, audit chain intact" in result.output
    assert len(out.read_text().splitlines()) == 8


class TestEvidenceCsv:
    async def test_one_row_per_action_with_outcome_wait_and_reason(
        self, api: ApiClient, history: dict[str, str]
    ) -> None:
        response = await _report(api, "csv")
        assert response.headers["content-type"].startswith("text/csv")
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(response.text))}
        assert len(rows) == 7
        outcomes = sorted(row["outcome"] for row in rows.values())
        assert outcomes == [
            "approved",
            "approved",
            "approved",
            "auto_approved",
            "blocked",
            "denied",
            "expired",
        ]
        waits = sorted(
            float(r["time_to_decision_seconds"])
            for r in rows.values()
            if r["time_to_decision_seconds"]
        )
        assert waits == [120.0, 240.0, 1800.0, 3600.0]
        assert rows[history["A2"]]["reason"] == "use the read replica"
        assert rows[history["A3"]]["approvers"] == "dana@example.org;bob@example.org"
        assert {r["self_approval"] for r in rows.values()} == {"no"}

    async def test_formula_like_reason_is_neutralised(
        self, api: ApiClient, history: dict[str, str], runtime: Runtime
    ) -> None:
        await sql(
            runtime,
            "UPDATE action_requests SET decision_reason = '=HYPERLINK(1)' WHERE id = :a",
            a=history["A2"],
        )
        rows = {
            row["id"]: row for row in csv.DictReader(io.StringIO((await _report(api, "csv")).text))
        }
        assert rows[history["A2"]]["reason"] == "'=HYPERLINK(1)"


class TestEvidenceHtmlAndPdf:
    async def test_html_is_static_printable_and_escaped(
        self, api: ApiClient, runtime: Runtime, history: dict[str, str]
    ) -> None:
        await sql(
            runtime,
            "UPDATE action_requests SET decision_reason = :r WHERE id = :a",
            r="<script>alert(1)</script>",
            a=history["A2"],
        )
        response = await _report(api, "html")
        html = response.text
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert "<script>" not in html and "&lt;script&gt;" in html
        assert html.count("<svg") == 2
        for text in (
            "Self-approval check",
            "passed",
            "Denied (1)",
            "Blocked by policy (1)",
            "sql.drop",
            "Approved automatically by policy (1)",
            "dev-auto",
            "Expired without a decision (1)",
            "17.0 min",
            "1.0 h",
            "intact",
        ):
            assert text in html, text

    async def test_pdf_renders_a_page_with_ink(
        self, api: ApiClient, history: dict[str, str], tmp_path: Path
    ) -> None:
        require_tool("pdftoppm", "poppler-utils")
        response = await _report(api, "pdf")
        assert response.status_code == 200
        assert response.content.startswith(b"%PDF")
        pdf = tmp_path / "report.pdf"
        pdf.write_bytes(response.content)
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "40",
                "-f",
                "1",
                "-l",
                "1",
                str(pdf),
                str(tmp_path / "page"),
            ],
            check=True,
        )
        [png] = list(tmp_path.glob("page*.png"))
        from PIL import Image

        with Image.open(png) as image:
            darkest, lightest = image.convert("L").getextrema()
        assert png.stat().st_size > 1000
        assert darkest < 100 < lightest  # dark text on a light page, not a blank sheet


async def _report_execution(api: ApiClient, action_id: str, outcome: str, when: datetime) -> None:
    with freeze_time(when):
        token = (await api.get("etl", action_id)).json()["release_token"]
        assert token, "the request was released to etl"
        reported = await api.http.post(
            f"/v1/actions/{action_id}/executed",
            json={"token": token, "outcome": outcome},
            headers=api.auth("etl"),
        )
        assert reported.status_code == 200, reported.text


class TestEvidenceReportNamesEachRequest:
    async def test_every_request_is_shown_by_its_whole_id_with_its_resource(
        self, api: ApiClient, history: dict[str, str]
    ) -> None:
        html = (await _report(api, "html")).text
        in_period = [v for k, v in history.items() if k != "A8"]
        # UUIDv7 ids made within a few ms share their first 8 characters: only whole ids are
        # unique, and each appears in the full list and in its outcome's section.
        for action_id in in_period:
            assert html.count(action_id) >= 1, action_id
        assert html.count(history["A4"]) == 2  # "Expired" and "Every privileged action"
        assert "s3://exports/2026-11" in html
        assert "<th>Resource</th>" in html

    async def test_csv_has_resource_and_the_reported_execution(
        self, api: ApiClient, history: dict[str, str]
    ) -> None:
        await _report_execution(api, history["A1"], "failed", _at(2, 9, 6))
        await _report_execution(api, history["A6"], "succeeded", _at(3, 9, 6))
        rows = {
            row["id"]: row for row in csv.DictReader(io.StringIO((await _report(api, "csv")).text))
        }
        assert rows[history["A3"]]["resource"] == "s3://exports/2026-11"
        assert rows[history["A1"]]["execution"] == "failed"
        assert rows[history["A6"]]["execution"] == "succeeded"
        assert rows[history["A2"]]["execution"] == ""
        report = (await _report(api, "json")).json()
        by_id = {row["id"]: row for row in report["actions"]}
        assert by_id[history["A1"]]["execution"] == "failed"
        html = (await _report(api, "html")).text
        assert "<th>Execution</th>" in html and ">failed</td>" in html

    async def test_the_embedded_default_says_no_checkpoint_store_is_configured(
        self, api: ApiClient, history: dict[str, str]
    ) -> None:
        html = (await _report(api, "html")).text
        assert "no external checkpoint store is configured" in html
        assert "0 signed" not in html


class TestEvidencePdfPages:
    async def test_pages_are_numbered_and_weasyprint_stays_quiet(
        self, api: ApiClient, history: dict[str, str], tmp_path: Path, caplog
    ) -> None:
        require_tool("pdftotext", "poppler-utils")
        caplog.set_level(logging.DEBUG)
        response = await _report(api, "pdf")
        assert response.status_code == 200
        pdf = tmp_path / "report.pdf"
        pdf.write_bytes(response.content)
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
        ).stdout
        pages = text.count("\f")
        assert pages >= 2
        for page in range(1, pages + 1):
            assert f"Page {page} of {pages}" in text
        chatty = [r for r in caplog.records if r.name.split(".")[0] in ("weasyprint", "fontTools")]
        assert [r for r in chatty if r.levelno < logging.WARNING] == []

    async def test_a_warm_render_costs_under_two_seconds_of_cpu(
        self, api: ApiClient, history: dict[str, str]
    ) -> None:
        report = EvidenceReport.model_validate((await _report(api, "json")).json())
        render_report(report, Format.PDF)  # the first render in a process imports WeasyPrint
        started = time.process_time()
        body, _ = render_report(report, Format.PDF)
        assert body.startswith(b"%PDF")
        assert time.process_time() - started < 2.0
