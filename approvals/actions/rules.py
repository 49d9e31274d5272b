"""Who may vote on a request, and what the votes add up to. Pure: plain data in, verdict out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from approvals.kit.identity import identity_key


class Refusal(StrEnum):
    SELF_APPROVAL = "self_approval"
    NOT_ELIGIBLE = "not_eligible"


@dataclass(frozen=True, slots=True)
class Ballot:
    approver: str
    verdict: str  # "approve" | "deny"


def refusal_for(
    approver: str,
    *,
    verdict: str,
    requester_identities: Iterable[str],
    eligible: frozenset[str],
) -> Refusal | None:
    """Why `approver` may not cast `verdict`, or None.

    Requesters may not approve their own request, whatever groups they are in; a deny
    from them is refused too, since withdrawing is what cancel is for.
    """
    who = identity_key(approver)
    requesters = {identity_key(identity) for identity in requester_identities} - {""}
    if not who:
        return Refusal.NOT_ELIGIBLE
    if who in requesters:
        return Refusal.SELF_APPROVAL
    if who not in eligible:
        return Refusal.NOT_ELIGIBLE
    del verdict  # every eligible non-requester may approve or deny
    return None


class Tally(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    OPEN = "open"


def tally(ballots: Iterable[Ballot], *, required: int, deny_ends: bool) -> Tally:
    """Each distinct approver counts once; one deny ends the request unless the rule says not."""
    approvers: set[str] = set()
    deniers: set[str] = set()
    for ballot in ballots:
        who = identity_key(ballot.approver)
        (approvers if ballot.verdict == "approve" else deniers).add(who)
    if deniers and deny_ends:
        return Tally.DENIED
    if len(approvers - deniers) >= required:
        return Tally.APPROVED
    return Tally.OPEN
