"""GET /v1/audit/events: filters an auditor needs, keyset pages that neither skip nor repeat."""

from __future__ import annotations

from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.integration.audit.conftest import make_history


async def _get(api: ApiClient, **params) -> dict:
    response = await api.http.get("/v1/audit/events", params=params, headers=api.auth("auditor"))
    assert response.status_code == 200, response.text
    return response.json()


class TestAuditEvents:
    async def test_one_request_s_trail_in_order(self, api: ApiClient, runtime: Runtime) -> None:
        approved, _, _ = await make_history(api)
        await settle(runtime)
        page = await _get(api, request_id=approved)
        assert [e["event_type"] for e in page["items"]] == [
            "requested",
            "redacted",
            "policy_evaluated",
            "vote",
            "approved",
            "released",
        ]
        assert all(e["action_id"] == approved for e in page["items"])
        seqs = [e["seq"] for e in page["items"]]
        assert seqs == sorted(seqs)
        assert page["next_cursor"] is None

    async def test_filters_by_actor_and_type(self, api: ApiClient) -> None:
        await make_history(api)
        votes = await _get(api, actor="bob@example.org", type="vote")
        assert len(votes["items"]) == 2
        assert {e["payload"]["verdict"] for e in votes["items"]} == {"approve", "deny"}
        assert (await _get(api, type="denied"))["items"][0]["payload"]["approvers"] == []

    async def test_time_window_is_half_open(self, api: ApiClient) -> None:
        await make_history(api)
        every = (await _get(api, limit=500))["items"]
        middle = every[5]["occurred_at"]
        before = (await _get(api, to=middle, limit=500))["items"]
        after = (await _get(api, **{"from": middle}, limit=500))["items"]
        assert len(before) + len(after) == len(every)
        assert all(e["occurred_at"] < middle for e in before)

    async def test_pages_walk_everything_once(self, api: ApiClient) -> None:
        await make_history(api)
        every = [e["seq"] for e in (await _get(api, limit=500))["items"]]
        seen, cursor = [], None
        while True:
            page = await _get(api, limit=4, **({"cursor": cursor} if cursor else {}))
            seen += [e["seq"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == every
        assert len(every) > 8

    async def test_needs_the_audit_scope_and_a_real_cursor(self, api: ApiClient) -> None:
        assert (await api.http.get("/v1/audit/events", headers=api.auth("etl"))).status_code == 403
        admin = await api.http.get("/v1/audit/events", headers=api.auth("admin"))
        assert admin.status_code == 200
        bad = await api.http.get("/v1/audit/events?cursor=abc", headers=api.auth("auditor"))
        assert bad.status_code == 422
        assert bad.json()["error"] == "invalid_request"
