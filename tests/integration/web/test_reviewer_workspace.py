"""The reviewer page beyond the queue: pending-for-me, history filters, audit status, reports,
and the headers that keep a browser from running anything we did not write."""

from __future__ import annotations

import re

from sqlalchemy import text

from approvals.runtime import Runtime
from tests.builders import ApiClient, settle


async def _sign_in(api: ApiClient, who: str) -> None:
    response = await api.http.post("/ui/login", data={"api_key": api.keys[who]})
    assert response.status_code == 303, response.text


def _section(html: str, section_id: str) -> str:
    found = re.search(rf'id="{section_id}">(.*?)</section>', html, re.S)
    assert found, section_id
    return found.group(1)


class TestHeaders:
    async def test_every_ui_page_forbids_scripts_and_inline_styles(self, api: ApiClient) -> None:
        for path in ("/ui", "/ui/history", "/ui/audit"):
            response = await api.http.get(path)
            csp = response.headers["content-security-policy"]
            assert "default-src 'none'" in csp
            assert "style-src 'self'" in csp
            assert "script-src" not in csp  # falls back to default-src 'none'
            assert response.headers["x-frame-options"] == "DENY"
            assert "<style" not in response.text and "style=" not in response.text

    async def test_stylesheet_is_served_by_the_app(self, api: ApiClient) -> None:
        response = await api.http.get("/ui/static/app.css")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")
        assert ".approve" in response.text

    async def test_session_cookie_is_httponly_and_lax(self, api: ApiClient) -> None:
        response = await api.http.post("/ui/login", data={"api_key": api.keys["bob"]})
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


class TestPendingForMe:
    async def test_queue_splits_what_needs_my_vote_from_the_rest(self, api: ApiClient) -> None:
        mine = await api.create(resource="db.staging.visits")
        on_my_behalf = await api.create(on_behalf_of="bob@example.org", resource="db.staging.mine")
        export = await api.create(action="s3.export", environment="prod", resource="s3://x")
        await _sign_in(api, "dana")  # privacy-office: only the prod export is hers
        page = (await api.http.get("/ui")).text
        assert export["id"] in _section(page, "for-me")
        assert mine["id"] not in _section(page, "for-me")
        await _sign_in(api, "bob")  # dba-oncall: both sql requests, but not his own
        page = (await api.http.get("/ui")).text
        assert mine["id"] in _section(page, "for-me")
        assert export["id"] in _section(page, "for-me")
        assert on_my_behalf["id"] in _section(page, "all-pending")
        assert on_my_behalf["id"] not in _section(page, "for-me")


class TestHistory:
    async def test_filters_by_status_and_action_prefix(self, api: ApiClient) -> None:
        approved = await api.create()
        denied = await api.create()
        export = await api.create(action="s3.export", environment="prod", resource="s3://x")
        assert (await api.decide("bob", approved["id"], "approve")).status_code == 200
        assert (await api.decide("bob", denied["id"], "deny", "no")).status_code == 200
        await _sign_in(api, "carol")
        page = (await api.http.get("/ui/history", params={"status": "denied"})).text
        assert denied["id"] in page and approved["id"] not in page
        page = (await api.http.get("/ui/history", params={"action": "s3.*"})).text
        assert export["id"] in page and approved["id"] not in page
        page = (await api.http.get("/ui/history")).text
        assert all(x["id"] in page for x in (approved, denied, export))


async def _executed(api: ApiClient, outcome: str) -> str:
    created = await api.create()
    assert (await api.decide("bob", created["id"], "approve")).status_code == 200
    await settle(api.runtime)
    token = (await api.get("etl", created["id"])).json()["release_token"]
    reported = await api.http.post(
        f"/v1/actions/{created['id']}/executed",
        json={"token": token, "outcome": outcome},
        headers=api.auth("etl"),
    )
    assert reported.status_code == 200, reported.text
    return str(created["id"])


def _labels(page: str) -> dict[str, str]:
    """Request id → the status label its history row shows."""
    found = {}
    for row in page.split("<tr>")[1:]:
        link = re.search(r'href="/ui/actions/([^"]+)"', row)
        shown = re.search(r'<span class="status[^"]*">([^<]+)</span>', row)
        if link and shown:
            found[link.group(1)] = shown.group(1)
    return found


class TestExecutionOutcome:
    async def test_api_shows_the_reported_outcome(self, api: ApiClient) -> None:
        failed = await _executed(api, "failed")
        read = (await api.get("carol", failed)).json()
        assert (read["status"], read["verdict"], read["execution"]) == (
            "executed",
            "approved",
            "failed",
        )
        listed = await api.http.get(
            "/v1/actions", params={"status": "executed"}, headers=api.auth("carol")
        )
        assert [(a["id"], a["execution"]) for a in listed.json()["items"]] == [(failed, "failed")]

    async def test_history_labels_and_filters_agree(self, api: ApiClient) -> None:
        succeeded = await _executed(api, "succeeded")
        failed = await _executed(api, "failed")
        approved = await api.create()
        assert (await api.decide("bob", approved["id"], "approve")).status_code == 200
        await settle(api.runtime)  # released, not yet reported
        await _sign_in(api, "carol")
        everything = _labels((await api.http.get("/ui/history")).text)
        assert everything == {
            succeeded: "executed: succeeded",
            failed: "executed: failed",
            approved["id"]: "released",
        }
        for chosen, expected in [
            ("executed", {succeeded, failed}),
            ("failed", {failed}),
            ("succeeded", {succeeded}),
            ("released", {approved["id"]}),
            ("approved", set()),
        ]:
            page = (await api.http.get("/ui/history", params={"status": chosen})).text
            assert set(_labels(page)) == expected, chosen


class TestAuditPage:
    async def test_shows_intact_then_broken_chain(self, api: ApiClient, runtime: Runtime) -> None:
        await api.create()
        await _sign_in(api, "bob")
        page = (await api.http.get("/ui/audit")).text
        assert "waiting to be sealed" in page  # the submit's events, before the sequencer ran
        await settle(runtime)
        page = (await api.http.get("/ui/audit")).text
        assert "Intact" in page
        assert "waiting to be sealed" not in page
        assert re.search(r"\d+ hash-chained events verified", page)
        assert "need a key with the <code>audit</code> scope" in page
        async with runtime.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # a superuser, past the trigger
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text("UPDATE audit_events SET actor = 'x' WHERE seq = 2"))
        page = (await api.http.get("/ui/audit")).text
        assert "Broken at event 2 (edited)" in page

    async def test_auditor_downloads_reports_but_cannot_decide(self, api: ApiClient) -> None:
        created = await api.create()
        await _sign_in(api, "auditor")
        audit = (await api.http.get("/ui/audit")).text
        assert "/ui/reports/evidence?from=" in audit
        html = await api.http.get("/ui/reports/evidence", params={"from": "2000-01-01"})
        assert html.status_code == 200
        assert "Privileged access evidence report" in html.text
        assert "style-src 'sha256-" in html.headers["content-security-policy"]
        csv = await api.http.get("/ui/reports/evidence", params={"format": "csv"})
        assert csv.headers["content-disposition"].startswith("attachment")
        assert created["id"] in csv.text
        detail = (await api.http.get(f"/ui/actions/{created['id']}")).text
        assert 'id="decide"' not in detail

    async def test_reviewer_without_audit_scope_gets_no_report(self, api: ApiClient) -> None:
        await _sign_in(api, "bob")
        response = await api.http.get("/ui/reports/evidence")
        assert response.status_code == 403
        assert "audit scope" in response.text


class TestCsrf:
    async def test_decision_without_a_token_is_refused(self, api: ApiClient) -> None:
        created = await api.create()
        await _sign_in(api, "bob")
        response = await api.http.post(
            f"/ui/actions/{created['id']}/decide", data={"verdict": "approve"}
        )
        assert response.status_code == 403
        assert "came from another site" in response.text
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"
