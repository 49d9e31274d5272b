"""Signed action references: bound to one action and one tenant, unforgeable without the key."""

from __future__ import annotations

import pytest

from approvals.channels.teams.signing import ActionRefError, sign_action_ref, verify_action_ref

KEY = b"s" * 32


def test_round_trip():
    ref = sign_action_ref("act_1", "tenant-a", KEY)
    assert verify_action_ref(ref, "tenant-a", KEY) == "act_1"
    assert ref.startswith("v1.")
    assert len(ref) < 120


def test_other_tenant_is_refused():
    ref = sign_action_ref("act_1", "tenant-a", KEY)
    with pytest.raises(ActionRefError, match="another tenant"):
        verify_action_ref(ref, "tenant-b", KEY)


def test_tampered_action_id_is_refused():
    ref = sign_action_ref("act_1", "tenant-a", KEY)
    other = sign_action_ref("act_2", "tenant-a", KEY)
    forged = ".".join([*other.split(".")[:2], *ref.split(".")[2:]])
    with pytest.raises(ActionRefError, match="signature"):
        verify_action_ref(forged, "tenant-a", KEY)


@pytest.mark.parametrize("token", ["", "v1", "v2.a.b.c", "v1.a.b", "v1.!!.b.c", "v1." + "a" * 2000])
def test_malformed_is_refused(token):
    with pytest.raises(ActionRefError):
        verify_action_ref(token, "tenant-a", KEY)


def test_wrong_key_is_refused():
    ref = sign_action_ref("act_1", "tenant-a", KEY)
    with pytest.raises(ActionRefError):
        verify_action_ref(ref, "tenant-a", b"t" * 32)
