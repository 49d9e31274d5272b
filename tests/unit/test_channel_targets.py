"""Which copies of a card a rule's `channels` ask of each platform ("" is its default)."""

from __future__ import annotations

import pytest

from approvals.jobs.tasks import platform_targets


@pytest.mark.parametrize(
    ("channels", "platform", "expected"),
    [
        ([], "slack", [""]),  # no channels named: every platform's default
        (["slack"], "slack", [""]),
        (["slack:C1"], "slack", ["C1"]),
        (["slack", "slack:C1"], "slack", ["C1", ""]),  # the bare one is the default, too
        (["teams", "teams:19:abc@thread.tacv2"], "teams", ["19:abc@thread.tacv2", ""]),
        (["slack:C1", "web"], "teams", None),  # a platform not named gets no copy
    ],
)
def test_named_and_bare_channels(
    channels: list[str], platform: str, expected: list[str] | None
) -> None:
    assert platform_targets(channels, platform) == expected
