"""Policy texts the step-up and chat tests share: dba-oncall (bob, carol) approves everything."""

from __future__ import annotations

from collections.abc import Sequence


def dba_oncall_policy(
    channels: str,
    *,
    step_up: str | None = None,
    rules: Sequence[tuple[str, str, str]] = (),
) -> str:
    """One approval from dba-oncall on `channels` (e.g. "slack, web"); `step_up` on the
    defaults; `rules`: (rule id, action pattern, step_up) rules that demand step-up."""

    def require(method: str | None) -> str:
        extra = f", step_up: {method}" if method else ""
        return f"{{approvals: 1, from: [dba-oncall], channels: [{channels}]{extra}}}"

    text = (
        "version: 1\n"
        "groups:\n"
        "  dba-oncall: {members: [bob@example.org, carol@example.org]}\n"
        "defaults:\n"
        "  ttl: 1h\n"
        "  decision:\n"
        f"    require: {require(step_up)}\n"
    )
    if rules:
        text += "rules:\n" + "".join(
            f'  - id: {rule}\n    match: {{action: "{pattern}"}}\n    decision:\n'
            f"      require: {require(method)}\n"
            for rule, pattern, method in rules
        )
    return text
