"""Policy file models (YAML → pydantic): the shape of a policy and its local validation. Pure.

Cross-references (unknown groups, shadowed rules) are checked in `check.py`, which knows positions.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from approvals.kit.identity import normalise
from approvals.policy.decision import Risk

_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# "web", "slack" (its default channel), "slack:C0123", "teams:19:abc@thread.tacv2".
_CHANNEL = re.compile(r"^(web|slack|teams)(:\S+)?$")
REGEX_PREFIX = "re:"


def parse_duration(value: str | int) -> int:
    """'90m' → 5400 seconds; plain integers are seconds."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number with s, m, h or d, e.g. 30m")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("a duration must be positive")
        return value
    match = _DURATION.match(str(value).strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"invalid duration {value!r}: use a number with s, m, h or d, e.g. 30m")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _optional_duration(value: str | int | None) -> int | None:
    return None if value is None else parse_duration(value)


def _as_tuple(value: object) -> object:
    """A single string where a list is expected means a list of one."""
    return (value,) if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Group(_Strict):
    members: tuple[str, ...] = ()
    slack_usergroup: str | None = None
    teams_group: str | None = None

    @field_validator("members")
    @classmethod
    def _normalise(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise(member) for member in members)


def _check_channels(channels: tuple[str, ...]) -> tuple[str, ...]:
    for channel in channels:
        if not _CHANNEL.match(channel):
            raise ValueError(
                f"unknown channel {channel!r}: use web, slack, slack:<channel id>, "
                "teams or teams:<conversation id>"
            )
    return channels


class Require(_Strict):
    approvals: int = Field(1, ge=1, le=10)
    from_groups: tuple[str, ...] = Field(alias="from", min_length=1)
    channels: tuple[str, ...] | None = None
    ttl: int | None = None
    remind_after: int | None = None
    escalate_after: int | None = None
    escalate_to: tuple[str, ...] = ()
    deny_ends: bool = True
    # true (passkey or fresh sign-in), passkey, or oidc (a fresh single sign-on).
    step_up: StrictBool | Literal["passkey", "oidc"] = False

    _list = field_validator("from_groups", "channels", "escalate_to", mode="before")(_as_tuple)
    _durations = field_validator("ttl", "remind_after", "escalate_after", mode="before")(
        _optional_duration
    )

    @field_validator("channels", "escalate_to")
    @classmethod
    def _channels(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _check_channels(value)

    @model_validator(mode="after")
    def _escalation_pairs(self) -> Require:
        if (self.escalate_after is None) != (not self.escalate_to):
            raise ValueError("escalate_after and escalate_to go together: set both or neither")
        return self


class Verdict(_Strict):
    """Exactly one of `block` (a message), `auto_approve: true` or `require`."""

    block: str | None = None
    auto_approve: bool = False
    require: Require | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Verdict:
        chosen = [self.block is not None, self.auto_approve, self.require is not None]
        if sum(chosen) != 1:
            raise ValueError("a decision is exactly one of: block, auto_approve: true, require")
        if self.block is not None and not self.block.strip():
            raise ValueError("block needs a message saying what to do instead")
        return self


class Match(_Strict):
    """All given fields must hold; a list means any of its patterns. Globs, or `re:` regexes."""

    action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    environment: tuple[str, ...] | None = None
    requester: tuple[str, ...] | None = None
    on_behalf_of: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    risk_at_least: Risk | None = None
    risk_at_most: Risk | None = None
    guardrails: tuple[str, ...] | None = None

    _list = field_validator(
        "action",
        "resource",
        "environment",
        "requester",
        "on_behalf_of",
        "tags",
        "guardrails",
        mode="before",
    )(_as_tuple)

    @field_validator("action", "resource", "requester", "on_behalf_of", "guardrails")
    @classmethod
    def _patterns(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for pattern in value or ():
            if pattern.startswith(REGEX_PREFIX):
                try:
                    re.compile(pattern[len(REGEX_PREFIX) :])
                except re.error as exc:
                    raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
        return value

    @field_validator("environment", "tags")
    @classmethod
    def _lower(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else tuple(v.strip().lower() for v in value)


class Rule(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    description: str | None = None
    match: Match = Match()
    decision: Verdict


class Defaults(_Strict):
    ttl: int = 3600
    max_ttl: int = 86400
    channels: tuple[str, ...] = ("web",)
    decision: Verdict
    # Direct messages to the requester/on_behalf_of on posted, decided, expired and released.
    # Strict: a typo such as `notify_requester: off-ish` must fail the check, not mean True.
    notify_requester: StrictBool = True

    _durations = field_validator("ttl", "max_ttl", mode="before")(parse_duration)
    _list = field_validator("channels", mode="before")(_as_tuple)
    _channels = field_validator("channels")(_check_channels)

    @model_validator(mode="after")
    def _ttl_within_cap(self) -> Defaults:
        if self.ttl > self.max_ttl:
            raise ValueError("defaults.ttl is longer than defaults.max_ttl")
        return self


class CustomPattern(_Strict):
    type: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    pattern: str

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return pattern


class RedactionSection(_Strict):
    extra_keys: tuple[str, ...] = ()
    custom_patterns: tuple[CustomPattern, ...] = ()
    keep_keys: tuple[str, ...] = ()


class GuardrailSection(_Strict):
    """Policy-supplied knowledge the analysers cannot guess."""

    phi_tables: tuple[str, ...] = ()
    allowed_destinations: tuple[str, ...] = ()


class PolicyDocument(_Strict):
    version: Literal[1] = 1
    groups: dict[str, Group] = Field(default_factory=dict)
    defaults: Defaults
    rules: tuple[Rule, ...] = ()
    redaction: RedactionSection = RedactionSection()
    guardrails: GuardrailSection = GuardrailSection()
    card_fields: tuple[str, ...] = ()
