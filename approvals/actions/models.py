"""Tables of the actions domain: requests, votes and where their cards were posted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from approvals.kit.db import Base, JSONType, UTCDateTime


class ActionRequest(Base):
    __tablename__ = "action_requests"
    __table_args__ = (
        UniqueConstraint("client_id", "idempotency_key"),
        Index("ix_action_requests_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # indexed with expires_at
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))  # leads a unique key
    submitted_by: Mapped[str] = mapped_column(String(320))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_digest: Mapped[str] = mapped_column(String(80))

    action: Mapped[str] = mapped_column(String(200), index=True)
    resource: Mapped[str] = mapped_column(Text)
    environment: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(320))
    on_behalf_of: Mapped[str | None] = mapped_column(String(320))
    justification: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType)
    context: Mapped[dict[str, Any]] = mapped_column(JSONType)
    tags: Mapped[list[str]] = mapped_column(JSONType)
    redaction_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    payload_digest: Mapped[str] = mapped_column(String(80))
    callback_url: Mapped[str | None] = mapped_column(Text)

    risk: Mapped[str] = mapped_column(String(10))
    guardrails: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    policy_rule: Mapped[str] = mapped_column(String(200))
    policy_version: Mapped[str] = mapped_column(String(80))
    policy_message: Mapped[str | None] = mapped_column(Text)
    required_approvals: Mapped[int]
    approver_groups: Mapped[list[str]] = mapped_column(JSONType)
    channels: Mapped[list[str]] = mapped_column(JSONType)
    deny_ends: Mapped[bool]
    # The step-up (any | passkey | oidc) the rule demands before an approval counts; None: none.
    step_up: Mapped[str | None] = mapped_column(String(10))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The decision itself (approved, denied, expired, ...): stays when status moves on to
    # released / rejected / executed, so a requester always learns why.
    verdict: Mapped[str | None] = mapped_column(String(20))
    # What the requester reported after running it (succeeded | failed), set with `executed`.
    execution: Mapped[str | None] = mapped_column(String(20))
    # Reminders and escalation (from the policy rule); *_done_at set once, by compare-and-set.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalate_to: Mapped[list[str]] = mapped_column(
        JSONType, default=list, server_default=text("'[]'")
    )
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    votes: Mapped[list[Vote]] = relationship(
        lazy="raise", order_by="Vote.created_at", back_populates="action_request"
    )


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("action_id", "approver"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("action_requests.id"))  # leads a unique key
    approver: Mapped[str] = mapped_column(String(320))
    verdict: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str] = mapped_column(String(20))
    # How the voter was authenticated: api_key, sso, slack or teams (null before it was kept).
    auth: Mapped[str | None] = mapped_column(String(20))
    # The step-up confirmed for this vote (oidc, or passkey:<credential id>); null: none.
    step_up: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    action_request: Mapped[ActionRequest] = relationship(lazy="raise", back_populates="votes")


class CardMessage(Base):
    """One posted copy of a request's card, so every copy can be updated in place."""

    __tablename__ = "card_messages"
    __table_args__ = (UniqueConstraint("action_id", "platform", "channel_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("action_requests.id"))  # leads a unique key
    platform: Mapped[str] = mapped_column(String(20))
    channel_id: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(200))
    service_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RequesterNotice(Base):
    """One state change owed to the requester (and on_behalf_of) as a direct message.

    Unique per (request, event), like the outbox row that carries it; `sent_to` lists who has
    been told already, so a job run twice (or retried after a partial failure) tells nobody
    twice.
    """

    __tablename__ = "requester_notices"
    __table_args__ = (UniqueConstraint("action_id", "event"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    action_id: Mapped[str] = mapped_column(ForeignKey("action_requests.id"))  # leads a unique key
    event: Mapped[str] = mapped_column(String(20))  # posted | approved | denied | ...
    state: Mapped[str] = mapped_column(String(20))  # pending | sent | skipped
    sent_to: Mapped[list[str]] = mapped_column(JSONType)
    detail: Mapped[str | None] = mapped_column(Text)  # why skipped; never message text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # While set and in the future, one run of the job holds the notice and is sending it.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
