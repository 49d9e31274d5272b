"""The SDK verifies release tokens offline (JWKS, issuer, audience, payload digest) against a
live service, follows a key rotation, and reports the outcome with the token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from approvals.client import (
    Action,
    ApprovalsAPIError,
    ApprovalsClient,
    AsyncApprovalsClient,
    ReleaseNotVerified,
)
from approvals.release.keys import Keyring
from approvals.release.tokens import mint_release_token

if TYPE_CHECKING:
    from tests.integration.client.conftest import Live

SQL = {"sql": "UPDATE encounters SET ward = 'B' WHERE id = 7"}
RESOURCE = "db.staging.encounters"


def _approved(live: Live, client: ApprovalsClient, params: dict[str, object] = SQL) -> Action:
    submitted = client.submit(
        action="sql.execute", resource=RESOURCE, environment="staging", params=params
    )
    live.decide_when_pending("approve", action="sql.execute")
    released = client.wait(submitted.id, timeout=10)
    assert released.status == "released", released
    assert released.release_token
    return released


def test_a_released_token_verifies_and_reports_the_outcome_once(live: Live) -> None:
    with live.agent() as agent:
        action = _approved(live, agent)
        claims = agent.verify_release(
            action, action_name="sql.execute", resource=RESOURCE, params=dict(SQL)
        )
        assert claims.action_id == action.id
        assert claims.approvers == ("bob@example.org",)
        assert claims.kid in {key["kid"] for key in agent.keys()["keys"]}
        done = agent.executed(action.id, action.release_token or "", "succeeded", "1 row")
        assert done.status == "executed"
        assert live.status(action.id) == "executed"
        with pytest.raises(ApprovalsAPIError) as again:
            agent.executed(action.id, action.release_token or "", "succeeded")
        assert again.value.status in (403, 409)


def test_a_token_for_other_params_or_resource_is_refused(live: Live) -> None:
    with live.agent() as agent:
        action = _approved(live, agent)
        for resource, params in [
            (RESOURCE, {"sql": "UPDATE encounters SET ward = 'B'"}),
            ("db.staging.patients", SQL),
        ]:
            with pytest.raises(ReleaseNotVerified) as refused:
                agent.verify_release(
                    action, action_name="sql.execute", resource=resource, params=params
                )
            assert refused.value.reason == "digest_mismatch"
        with pytest.raises(ReleaseNotVerified) as other_action:
            agent.verify_release(action, action_name="sql.query", resource=RESOURCE, params=SQL)
        assert other_action.value.reason == "digest_mismatch"


def test_a_tampered_token_is_refused(live: Live) -> None:
    with live.agent() as agent:
        action = _approved(live, agent)
        token = action.release_token or ""
        header, payload, signature = token.split(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        for forged in (f"{header}.{payload}.{flipped}", f"{header}.{payload[:-2]}xx.{signature}"):
            with pytest.raises(ReleaseNotVerified) as refused:
                agent.verify_release(
                    action.model_copy(update={"release_token": forged}),
                    action_name="sql.execute",
                    resource=RESOURCE,
                    params=SQL,
                )
            assert refused.value.reason in ("bad_signature", "malformed")
            assert forged not in str(refused.value)


def test_issuer_and_audience_are_checked(live: Live) -> None:
    with live.agent() as agent:
        action = _approved(live, agent)
    for options, reason in [
        ({"issuer": "https://approvals.elsewhere.example"}, "wrong_issuer"),
        ({"client_id": "someone-else"}, "wrong_audience"),
    ]:
        with (
            ApprovalsClient(live.url, live.keys["agent"], **options) as client,  # type: ignore[arg-type]
            pytest.raises(ReleaseNotVerified) as refused,
        ):
            client.verify_release(action, action_name="sql.execute", resource=RESOURCE, params=SQL)
        assert refused.value.reason == reason


def test_a_rotated_key_is_fetched_once_and_an_unknown_key_is_refused(live: Live) -> None:
    with live.agent() as agent:
        before = {key["kid"] for key in agent.keys()["keys"]}  # cached from here on
        runtime = live.app.state.runtime
        runtime.keyring = runtime.keyring.rotate(
            retire_previous_at=datetime.now(UTC) + timedelta(hours=1)
        )
        action = _approved(live, agent)
        claims = agent.verify_release(
            action, action_name="sql.execute", resource=RESOURCE, params=SQL
        )
        assert claims.kid not in before
        assert claims.kid in {key["kid"] for key in agent.keys()["keys"]}

        stranger = mint_release_token(
            Keyring.generate(),
            issuer=live.url,
            action_id=action.id,
            audience_client_id=live.client_ids["agent"],
            action="sql.execute",
            resource=RESOURCE,
            payload_digest=claims.payload_digest,
            approvers=["mallory@example.org"],
            ttl_seconds=300,
            now=datetime.now(UTC),
        )
        with pytest.raises(ReleaseNotVerified) as refused:
            agent.verify_release(
                action.model_copy(update={"release_token": stranger.token}),
                action_name="sql.execute",
                resource=RESOURCE,
                params=SQL,
            )
        assert refused.value.reason == "unknown_key"


def test_a_request_without_a_token_is_not_released(live: Live) -> None:
    with live.agent() as agent:
        pending = agent.submit(
            action="sql.execute", resource=RESOURCE, environment="staging", params=SQL
        )
        with pytest.raises(ReleaseNotVerified) as refused:
            agent.verify_release(pending, action_name="sql.execute", resource=RESOURCE, params=SQL)
        assert refused.value.reason == "no_token"
        agent.cancel(pending.id)


async def test_the_async_client_mirrors_release_support(live: Live) -> None:
    async with AsyncApprovalsClient(
        live.url, live.keys["agent"], client_id=live.client_ids["agent"]
    ) as agent:
        submitted = await agent.submit(
            action="sql.execute", resource=RESOURCE, environment="staging", params=SQL
        )
        live.decide_when_pending("approve", action="sql.execute")
        action = await agent.wait(submitted.id, timeout=10)
        assert (await agent.keys())["keys"]
        claims = await agent.verify_release(
            action, action_name="sql.execute", resource=RESOURCE, params=SQL
        )
        assert claims.action_id == action.id
        with pytest.raises(ReleaseNotVerified):
            await agent.verify_release(
                action, action_name="sql.execute", resource=RESOURCE, params={"sql": "x"}
            )
        done = await agent.executed(action.id, action.release_token or "", "failed", "Timeout")
        assert done.status == "executed"
