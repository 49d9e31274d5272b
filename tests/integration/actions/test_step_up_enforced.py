"""A rule with `step_up` is enforced: no plain path approves such a request, deny still works.

Until a reviewer confirms with a passkey or a fresh sign-in, the decision service refuses the
approval with 403 `step_up_required`; requests under other rules keep their one-click approval.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from approvals.audit.models import AuditEvent
from approvals.config import Settings
from approvals.runtime import Runtime
from tests.builders import ApiClient, settle
from tests.conftest import make_settings
from tests.policies import dba_oncall_policy

POLICY = dba_oncall_policy(
    "web",
    rules=[("exports-step-up", "*.export", "true"), ("grants-passkey", "sql.grant", "passkey")],
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    return make_settings(database_url, tmp_path, policy_file=policy)


class TestStepUpEnforced:
    @pytest.mark.parametrize(
        ("action", "step_up"), [("s3.export", "any"), ("sql.grant", "passkey")]
    )
    async def test_api_approval_is_refused_with_how_to_approve(
        self, api: ApiClient, runtime: Runtime, action: str, step_up: str
    ) -> None:
        created = await api.create(action=action)
        assert created["step_up"] == step_up

        response = await api.decide("bob", created["id"], "approve")

        assert response.status_code == 403
        body = response.json()
        assert body["error"] == "step_up_required"
        assert f"/ui/actions/{created['id']}" in body["detail"]
        assert "can only deny" in body["detail"]
        state = (await api.get("bob", created["id"])).json()
        assert (state["status"], state["votes"]) == ("pending", [])
        await settle(runtime)
        async with runtime.db() as session:
            refused = (
                await session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.action_id == created["id"],
                        AuditEvent.event_type == "refused_vote",
                    )
                )
            ).one()
        assert refused.payload["refusal"] == "step_up_required"

    async def test_deny_stays_one_call(self, api: ApiClient) -> None:
        created = await api.create(action="s3.export")
        response = await api.decide("bob", created["id"], "deny", "not this month")
        assert response.status_code == 200
        assert response.json()["status"] == "denied"

    async def test_eligibility_is_still_checked_first(self, api: ApiClient) -> None:
        created = await api.create(action="s3.export")
        response = await api.decide("mallory", created["id"], "approve")
        assert response.json()["error"] == "not_eligible"

    async def test_requests_under_other_rules_keep_one_click_approval(self, api: ApiClient) -> None:
        created = await api.create()
        assert created["step_up"] is None
        response = await api.decide("bob", created["id"], "approve")
        assert response.status_code == 200
        assert response.json()["status"] == "approved"

    async def test_the_web_pages_one_click_approve_is_refused_too(self, api: ApiClient) -> None:
        created = await api.create(action="s3.export")
        assert (await api.http.post("/ui/login", data={"api_key": api.keys["bob"]})).is_redirect
        page = await api.http.get(f"/ui/actions/{created['id']}")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf

        response = await api.http.post(
            f"/ui/actions/{created['id']}/decide",
            data={"verdict": "approve", "csrf": csrf.group(1)},
        )

        after = await api.http.get(response.headers["location"])
        assert "Not recorded: approving this request needs step-up confirmation" in after.text
        assert (await api.get("bob", created["id"])).json()["status"] == "pending"
