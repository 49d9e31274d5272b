"""The contract between the core and every reviewer platform.

Adapters post and update cards (outbound) and turn a reviewer's click into one
`ReviewPort.decide` call (inbound). The core never imports a platform SDK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from approvals.channels.cards import Card

VerdictName = Literal["approve", "deny"]


@dataclass(frozen=True, slots=True)
class MessageRef:
    """Where one copy of a card lives, so it can be updated in place later."""

    platform: str  # "slack" | "teams" | "web"
    channel_id: str  # Slack channel id; Teams conversation id
    message_id: str  # Slack ts; Teams activity id
    service_url: str | None = None  # Teams only


@dataclass(frozen=True, slots=True)
class DecisionAttempt:
    action_id: str
    approver_email: str
    verdict: VerdictName
    reason: str | None
    platform: str


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """`accepted` False means refused; `message` always says why in one sentence."""

    accepted: bool
    message: str
    card: Card | None
    repeated: bool = False  # the same vote was already counted (double click, retry)


class ReviewPort(Protocol):
    """What inbound handlers may ask of the core (implemented over actions.service)."""

    async def decide(self, attempt: DecisionAttempt) -> DecisionResult: ...

    async def card(self, action_id: str) -> Card | None: ...

    def approvers_of(self, card: Card) -> list[str]:
        """Emails that may still vote on `card` by policy: members of its approver groups,
        minus its requester, its on-behalf-of and whoever voted. Platforms use it to show the
        buttons to those people only; the decision itself checks again."""
        ...

    async def waiting_for(self, email: str, *, limit: int) -> list[Card]:
        """Pending requests `email` may still vote on, the soonest to expire first."""
        ...

    async def card_for(self, action_id: str, email: str) -> Card | None:
        """The card if `email` has a part in the request (approver group member, requester
        or on-behalf-of), else None: a chat command must not reveal other teams' requests."""
        ...


class PostIncomplete(Exception):
    """Some copies of a card were not posted; raised after every target was tried.

    `posted`: the copies that were (the job stores them, so a retry does not post them twice).
    `retry`: target → error code of failures that may pass later (rate limit, outage).
    `gone`: target → error code of failures no retry can fix (unknown or archived channel,
    the app not in it); the job dead-letters and audits those at once.
    """

    def __init__(
        self, posted: list[MessageRef], retry: dict[str, str], gone: dict[str, str]
    ) -> None:
        super().__init__(f"{len(retry)} copies to retry, {len(gone)} undeliverable")
        self.posted, self.retry, self.gone = posted, retry, gone


class Channel(Protocol):
    name: str

    @property
    def default_target(self) -> str:
        """The configured default channel (Slack channel id, Teams conversation id); "" if none."""
        ...

    async def post(self, card: Card, targets: Sequence[str]) -> list[MessageRef]:
        """Post one copy per target (channel id); targets empty → the configured default.

        Raises `PostIncomplete` when any target failed, carrying the copies that were posted.
        """
        ...

    async def update(self, refs: Sequence[MessageRef], card: Card) -> None:
        """Idempotent: re-rendering the same card onto the same message is harmless."""
        ...


@dataclass(frozen=True, slots=True)
class Notice:
    """A direct message to a person a request is for (requester or on_behalf_of).

    Deliberately narrow: no params, no context, no justification — only what the person needs
    to know and act on, each field already redacted by the core (resource, reason).
    """

    action_id: str
    event: str  # posted | approved | denied | expired | released
    action: str
    environment: str
    resource: str
    requester: str
    on_behalf_of: str | None
    approver_groups: tuple[str, ...]
    decided_by: str | None
    reason: str | None
    at: datetime | None  # when it was decided (or when a pending request expires)
    url: str  # the request's web page


@runtime_checkable
class NotifiesPeople(Protocol):
    """Optional capability: platforms that can message a person directly implement it."""

    async def notify(self, email: str, notice: Notice) -> bool:
        """Message the person with this email. False: the platform does not know them (no
        account, a bot, deactivated). Raises on transient failures so the job retries."""
        ...
