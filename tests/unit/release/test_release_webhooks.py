"""Webhook signatures: a fixed vector (checked with openssl), every refusal, rotation, tampering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.release.webhooks import (
    InvalidWebhookSignature,
    SignatureFailure,
    build_headers,
    generate_secret,
    sign,
    sign_all,
    verify,
)

BODY = b'{"event":"action.approved","action_id":"act_01"}'
SECRET = "whsec_test_secret"
T = 1_700_000_000
# printf '%s' '1700000000.{"event":"action.approved","action_id":"act_01"}' \
#   | openssl dgst -sha256 -hmac 'whsec_test_secret' -hex
VECTOR = "t=1700000000,v1=92014a1dbb5fd9c4b1596a31c099fee7479e6fcf190ceebf24a2123dca71c88d"


def failure(header: str | None, body: bytes = BODY, secret: str | list[str] = SECRET, now=T):
    with pytest.raises(InvalidWebhookSignature) as caught:
        verify(body, header, secret, now)
    return caught.value.reason


class TestSign:
    def test_matches_the_openssl_vector(self):
        assert sign(BODY, SECRET, T) == VECTOR

    def test_sign_all_emits_one_v1_per_secret(self):
        header = sign_all(BODY, ["old", "new"], T)
        assert header.startswith(f"t={T},v1=")
        assert header.count("v1=") == 2

    def test_generated_secrets_are_unique_and_prefixed(self):
        first, second = generate_secret(), generate_secret()
        assert first != second
        assert first.startswith("whsec_")
        assert len(first) > 40


class TestVerify:
    def test_accepts_the_vector_and_returns_its_timestamp(self):
        assert verify(BODY, VECTOR, SECRET, T + 10) == T

    def test_accepts_an_aware_datetime_as_now(self):
        assert verify(BODY, VECTOR, SECRET, datetime.fromtimestamp(T, UTC)) == T

    @pytest.mark.parametrize("header", [None, ""])
    def test_missing(self, header):
        assert failure(header) is SignatureFailure.MISSING

    @pytest.mark.parametrize(
        "header",
        [
            "garbage",
            "v1=" + "0" * 64,
            f"t={T}",
            f"t=abc,v1={'0' * 64}",
            f"t=-5,v1={'0' * 64}",
            f"t={T},t={T},v1={'0' * 64}",
            f"t=١٧,v1={'0' * 64}",  # non-ASCII digits must not parse as a time
        ],
    )
    def test_malformed(self, header):
        assert failure(header) is SignatureFailure.MALFORMED

    @pytest.mark.parametrize("now", [T + 301, T - 301])
    def test_expired_or_from_the_future(self, now):
        assert failure(VECTOR, now=now) is SignatureFailure.EXPIRED

    def test_tolerance_boundary_is_inclusive(self):
        assert verify(BODY, VECTOR, SECRET, T + 300) == T

    def test_custom_tolerance(self):
        with pytest.raises(InvalidWebhookSignature):
            verify(BODY, VECTOR, SECRET, T + 61, tolerance=60)

    def test_wrong_secret_is_forged(self):
        assert failure(VECTOR, secret="whsec_other") is SignatureFailure.FORGED

    def test_changed_body_is_forged(self):
        assert failure(VECTOR, body=BODY.replace(b"approved", b"rejected")) is (
            SignatureFailure.FORGED
        )

    def test_replayed_signature_with_a_new_timestamp_is_forged(self):
        replayed = VECTOR.replace(f"t={T}", f"t={T + 100}")
        assert failure(replayed, now=T + 100) is SignatureFailure.FORGED

    def test_uppercase_hex_is_not_a_match(self):
        assert failure(VECTOR.upper().replace("T=", "t=").replace("V1=", "v1=")) is (
            SignatureFailure.FORGED
        )

    def test_any_of_several_v1_values_may_match(self):
        header = sign_all(BODY, ["whsec_retired", SECRET], T)
        assert verify(BODY, header, SECRET, T) == T

    def test_receiver_may_hold_old_and_new_secrets(self):
        assert verify(BODY, VECTOR, ["whsec_new", SECRET], T) == T

    def test_unknown_schemes_are_ignored_beside_v1(self):
        assert verify(BODY, VECTOR + ",v2=whatever", SECRET, T) == T


class TestTampering:
    @settings(max_examples=200, deadline=None)
    @given(index=st.integers(0, 10_000), mask=st.integers(1, 255))
    def test_any_changed_body_byte_is_refused(self, index, mask):
        body = bytearray(BODY)
        body[index % len(body)] ^= mask
        assert failure(VECTOR, body=bytes(body)) is SignatureFailure.FORGED

    @settings(max_examples=200, deadline=None)
    @given(body=st.binary(max_size=512), secret=st.text(min_size=1, max_size=40))
    def test_every_signature_verifies_with_its_own_secret(self, body, secret):
        assert verify(body, sign(body, secret, T), secret, T) == T


class TestBuildHeaders:
    def test_carries_signature_delivery_timestamp_and_type(self):
        now = datetime.fromtimestamp(T, UTC)
        headers = build_headers("dlv_01", BODY, SECRET, now, event="action.approved")
        assert headers == {
            "Content-Type": "application/json",
            "X-Approvals-Signature": VECTOR,
            "X-Approvals-Delivery": "dlv_01",
            "X-Approvals-Timestamp": str(T),
            "X-Approvals-Event": "action.approved",
        }
        assert verify(BODY, headers["X-Approvals-Signature"], SECRET, now) == T

    def test_without_event_has_no_event_header(self):
        assert "X-Approvals-Event" not in build_headers("dlv_01", BODY, SECRET, T)

    def test_naive_datetime_is_refused(self):
        with pytest.raises(ValueError, match="timezone"):
            build_headers("dlv_01", BODY, SECRET, datetime(2026, 1, 1))  # noqa: DTZ001
