"""The rows one commit writes for one queue travel as one RQ job, and each still ends on its
own: real Redis, a real `approvals worker --burst`, the loopback Slack Web API double."""

from __future__ import annotations

from pathlib import Path

import redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from approvals.actions import notices
from approvals.clients.schemas import Scope
from approvals.outbox.models import OutboxMessage
from approvals.runtime import Runtime
from tests.e2e.service_world import SUBMITTER, running_service
from tests.fakes.slack_api import FakeSlackApi
from tests.integration.jobs.worker_processes import private_redis, start_worker
from tests.integration.slack.slack_harness import BOT_TOKEN, CHANNEL_ID, SIGNING_SECRET, TEAM_ID

POLICY = """
version: 1
groups:
  dba-oncall: {members: [bob@example.org]}
defaults:
  ttl: 1h
  decision:
    require: {approvals: 1, from: [dba-oncall], channels: [slack]}
"""


async def _rows(runtime: Runtime, action_id: str) -> dict[str, OutboxMessage]:
    async with runtime.db() as session:
        found = (await session.execute(select(OutboxMessage))).scalars()
        rows = {row.kind: row for row in found}
    # The notice's row targets the notice, not the request.
    assert rows["cards.post"].target_id == action_id
    return rows


async def test_a_pending_submits_card_and_notice_are_one_job_and_end_separately(
    postgres_url: str, tmp_path: Path
) -> None:
    with FakeSlackApi(team_id=TEAM_ID) as slack, private_redis() as redis_url:
        slack.add_user("U0ALICE", "alice@example.org")
        slack.fail_posts_to(CHANNEL_ID, times=100)  # the card cannot be posted for now
        # The service's and the worker's Slack and Redis settings, from one place.
        settings = {
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_channel": CHANNEL_ID,
            "slack_api_url": slack.base_url,
            "redis_url": redis_url,
        }
        async with running_service(
            postgres_url,
            tmp_path,
            policy=POLICY,
            people=[SUBMITTER, ("bob", [Scope.REVIEW], "bob@example.org")],
            **settings,
        ) as (runtime, api):
            created = await api.create()
            assert created["status"] == "pending"
            rows = await _rows(runtime, created["id"])
            connection = redis.Redis.from_url(redis_url)
            (job_id,) = [i.decode() for i in connection.lrange("rq:queue:cards", 0, -1)]
            job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            assert job.args == [rows["cards.post"].id, rows["notify.requester"].id]
            assert job.description == "cards.post, notify.requester"

            env = {f"APPROVALS_{k.upper()}": str(v) for k, v in settings.items()}
            env |= {
                "APPROVALS_DATABASE_URL": postgres_url,
                "APPROVALS_DATA_DIR": str(runtime.settings.data_dir),
                "APPROVALS_POLICY_FILE": str(runtime.settings.policy_file),
            }
            log = tmp_path / "worker.log"
            worker = start_worker(env, cwd=tmp_path, log=log, burst=True)
            assert worker.wait(120) == 0, log.read_text(errors="replace")[-3000:]

            after = await _rows(runtime, created["id"])
            async with runtime.db() as session:
                (notice,) = await notices.for_action(session, created["id"])
    # The card failed and waits for its retry; the notice after it in the same job was sent.
    assert after["cards.post"].done_at is None
    assert after["cards.post"].last_error
    assert after["notify.requester"].done_at is not None
    assert (notice.state, notice.sent_to) == ("sent", ["alice@example.org"])
    assert [c.body["channel"] for c in slack.calls("chat.postMessage")].count("U0ALICE") == 1
