"""The `notify.requester` job: tell the requester and on_behalf_of what became of their request.

The core wrote one notice per (request, event); this job finds each person on the first
enabled platform that knows them (`NotifiesPeople`) and records who was told. A run claims
the notice for a lease before sending (`notices.claim`), with no transaction open while it
talks to the platform, so a second run of the job — a redelivery, a retry after a partial
failure — tells nobody twice. The policy's `defaults.notify_requester: false` turns
the messages off (the notice is closed as skipped, with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from approvals.actions import notices
from approvals.actions import service as actions_service
from approvals.actions.ports import ActionsDeps, PolicySource
from approvals.channels.base import Channel, Notice, NotifiesPeople
from approvals.channels.notices import build_notice
from approvals.config import Settings
from approvals.kit.db import transaction
from approvals.outbox.service import RetryLater

log = structlog.get_logger(__name__)


def messages_people(channels: Mapping[str, Channel]) -> bool:
    """Whether an enabled platform sends direct messages. A Runtime asks once: an isinstance
    check against a Protocol walks the protocol's attributes each time (tens of µs), and a
    submit asks on every state change."""
    return any(isinstance(channel, NotifiesPeople) for channel in channels.values())


def why_nobody_is_told(policies: PolicySource, can_message: bool) -> str | None:
    """Why no requester can be told anything right now, or None when they can: the rule this
    job applies, and the one a state change applies to settle a notice at once
    (`notices.Reach`). `can_message` is `messages_people` of the enabled platforms."""
    if not policies.current().document.defaults.notify_requester:
        return "policy: off"
    if not can_message:
        return "no platform sends direct messages"
    return None


async def notify_requester(
    deps: ActionsDeps, settings: Settings, channels: Mapping[str, Channel], notice_id: str
) -> None:
    why_not = why_nobody_is_told(deps.policies, messages_people(channels))
    if why_not is not None:
        # Nothing to send: one transaction, no read first (finish() leaves an ended row be).
        async with transaction(deps.db) as session:
            await notices.finish(session, notice_id, state="skipped", sent_to=[], detail=why_not)
        return
    async with deps.db() as session:
        row = await notices.get(session, notice_id)
        if row is None or row.state != "pending":
            return
        action_id, event = row.action_id, row.event
    action = await actions_service.get(deps, action_id)
    notice = build_notice(action, event, settings.base_url)
    people = notices.people(action.requester, action.on_behalf_of)
    # Claimed for a lease, then sent with no transaction open: a second run of the job waits
    # for the lease instead of sending too, and no lock is held across the platform calls.
    async with transaction(deps.db) as session:
        told = await notices.claim(session, notice_id, lease_seconds=settings.job_lease_seconds)
    if told is None:
        async with deps.db() as session:
            row = await notices.get(session, notice_id)
        if row is not None and row.state == "pending":
            raise RetryLater(settings.job_lease_seconds, "another run is sending this notice")
        return
    failure: Exception | None = None
    for email in people:
        if email in told:
            continue
        try:
            if await _tell(channels, email, notice):
                told.append(email)
        except Exception as exc:  # recorded below; the job runner retries with backoff
            failure = exc
            break
    async with transaction(deps.db) as session:
        if failure is not None:
            await notices.finish(session, notice_id, state="pending", sent_to=told)
        else:
            await notices.finish(
                session,
                notice_id,
                state="sent" if told else "skipped",
                sent_to=told,
                detail=None if told else "nobody known to a platform",
            )
    if failure is not None:
        raise failure
    log.info("notice.finished", action_id=action_id, notice_event=event, people=len(told))


async def _tell(channels: Mapping[str, Channel], email: str, notice: Notice) -> bool:
    """One message per person: the first platform that knows them (in settings order)."""
    for channel in channels.values():
        if isinstance(channel, NotifiesPeople) and await channel.notify(email, notice):
            return True
    return False
