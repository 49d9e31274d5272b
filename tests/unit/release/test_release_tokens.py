"""Release tokens: round trips, every refusal reason, algorithm confusion, rotation, tampering."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from approvals.release.keys import Keyring, b64url, b64url_decode
from approvals.release.tokens import (
    TOKEN_TYPE,
    InvalidReleaseToken,
    MintedToken,
    Reason,
    mint_release_token,
    verify_release_token,
)

ISSUER = "https://approvals.example.org"
CLIENT = "client-ci-deployer"
DIGEST = "sha256:" + hashlib.sha256(b'{"sql":"DROP TABLE staging_tmp"}').hexdigest()
OTHER_DIGEST = "sha256:" + hashlib.sha256(b'{"sql":"DROP TABLE patients"}').hexdigest()
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
TTL = 300
RING = Keyring.generate()
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def mint(ring: Keyring = RING, **overrides: Any) -> MintedToken:
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "action_id": "act_01",
        "audience_client_id": CLIENT,
        "action": "db.drop_table",
        "resource": "postgres://prod/staging_tmp",
        "payload_digest": DIGEST,
        "approvers": ["ana@example.org", "bo@example.org"],
        "ttl_seconds": TTL,
        "now": NOW,
    } | overrides
    return mint_release_token(ring, **arguments)


def verify(token: str, keys: Any = RING, **overrides: Any):
    arguments: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": CLIENT,
        "expected_digest": DIGEST,
        "now": NOW + timedelta(seconds=10),
    } | overrides
    return verify_release_token(token, keys, **arguments)


def refusal(token: str, keys: Any = RING, **overrides: Any) -> Reason:
    with pytest.raises(InvalidReleaseToken) as caught:
        verify(token, keys, **overrides)
    return caught.value.reason


def encode_segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return b64url(json.dumps(obj, separators=(",", ":")).encode())

    return f"{part(header)}.{part(claims)}"


def decoded_claims(token: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(token.split(".")[1]))
    return result


class TestRoundTrip:
    def test_claims_survive_mint_and_verify(self):
        minted = mint()
        claims = verify(minted.token)
        assert claims.action_id == "act_01"
        assert claims.audience == CLIENT
        assert claims.issuer == ISSUER
        assert claims.action == "db.drop_table"
        assert claims.resource == "postgres://prod/staging_tmp"
        assert claims.payload_digest == DIGEST
        assert claims.approvers == ("ana@example.org", "bo@example.org")
        assert claims.jti == minted.jti
        assert claims.kid == RING.active.kid == minted.kid
        assert claims.issued_at == claims.not_before == NOW
        assert claims.expires_at == minted.expires_at == NOW + timedelta(seconds=TTL)

    def test_wire_format_uses_the_documented_claim_names_and_header(self):
        token = mint(jti="fixed-jti").token
        header = jwt.get_unverified_header(token)
        assert header == {"alg": "EdDSA", "typ": TOKEN_TYPE, "kid": RING.active.kid}
        assert set(decoded_claims(token)) == {
            "iss", "sub", "aud", "jti", "iat", "nbf", "exp", "act", "res", "dig", "apr"
        }  # fmt: skip

    def test_verifies_offline_from_a_json_round_tripped_jwks(self):
        jwks = json.loads(json.dumps(RING.jwks(NOW)))
        assert verify(mint().token, jwks).action_id == "act_01"

    def test_digest_check_is_optional(self):
        assert verify(mint().token, expected_digest=None).payload_digest == DIGEST

    def test_each_mint_has_a_fresh_jti(self):
        assert mint().jti != mint().jti

    @pytest.mark.parametrize(
        ("field", "value"),
        [("ttl_seconds", 0), ("payload_digest", "md5:abc"), ("now", datetime(2026, 1, 1))],  # noqa: DTZ001
    )
    def test_mint_refuses_bad_input(self, field: str, value: Any):
        with pytest.raises(ValueError):  # noqa: PT011 - the three messages differ
            mint(**{field: value})


class TestRefusals:
    def test_wrong_audience(self):
        assert refusal(mint().token, audience="someone-else") is Reason.WRONG_AUDIENCE

    def test_wrong_issuer(self):
        assert refusal(mint().token, issuer="https://evil.example") is Reason.WRONG_ISSUER

    def test_expired_exactly_at_exp(self):
        token = mint().token
        assert refusal(token, now=NOW + timedelta(seconds=TTL)) is Reason.EXPIRED
        assert verify(token, now=NOW + timedelta(seconds=TTL - 1)).jti

    def test_leeway_extends_the_window_both_ways(self):
        token = mint().token
        assert verify(token, now=NOW + timedelta(seconds=TTL), leeway_seconds=5).jti
        assert verify(token, now=NOW - timedelta(seconds=5), leeway_seconds=5).jti

    def test_not_yet_valid(self):
        assert refusal(mint().token, now=NOW - timedelta(seconds=1)) is Reason.NOT_YET_VALID

    def test_digest_mismatch(self):
        assert refusal(mint().token, expected_digest=OTHER_DIGEST) is Reason.DIGEST_MISMATCH

    def test_unknown_key(self):
        assert refusal(mint(Keyring.generate()).token) is Reason.UNKNOWN_KEY

    def test_empty_jwks(self):
        assert refusal(mint().token, {"keys": []}) is Reason.UNKNOWN_KEY

    def test_jwks_entry_of_another_key_type_is_ignored(self):
        jwks = {"keys": [{**RING.active.public_jwk(), "kty": "RSA"}]}
        assert refusal(mint().token, jwks) is Reason.UNKNOWN_KEY

    def test_signature_by_another_key_under_our_kid(self):
        impostor = Keyring.generate()
        claims = decoded_claims(mint().token)
        forged = jwt.encode(
            claims,
            impostor.active.private_key,
            algorithm="EdDSA",
            headers={"kid": RING.active.kid, "typ": TOKEN_TYPE},
        )
        assert refusal(forged) is Reason.BAD_SIGNATURE

    def test_claims_edited_after_signing(self):
        header, _, signature = mint().token.split(".")
        claims = decoded_claims(mint().token) | {"dig": OTHER_DIGEST}
        edited = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
        assert refusal(edited, expected_digest=OTHER_DIGEST) is Reason.BAD_SIGNATURE

    def test_signed_token_with_a_missing_claim(self):
        claims = decoded_claims(mint().token)
        del claims["act"]
        token = jwt.encode(
            claims,
            RING.active.private_key,
            algorithm="EdDSA",
            headers={"kid": RING.active.kid, "typ": TOKEN_TYPE},
        )
        assert refusal(token) is Reason.INVALID_CLAIMS

    def test_other_jwt_from_the_same_key_is_not_a_release_token(self):
        token = jwt.encode(
            decoded_claims(mint().token),
            RING.active.private_key,
            algorithm="EdDSA",
            headers={"kid": RING.active.kid},
        )
        assert refusal(token) is Reason.WRONG_TYPE

    def test_critical_header_extension(self):
        token = jwt.encode(
            decoded_claims(mint().token),
            RING.active.private_key,
            algorithm="EdDSA",
            headers={"kid": RING.active.kid, "typ": TOKEN_TYPE, "crit": ["exp"]},
        )
        assert refusal(token) is Reason.MALFORMED

    @pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c.d", "!!.??.**"])
    def test_garbage(self, garbage: str):
        assert refusal(garbage) is Reason.MALFORMED

    def test_deeply_nested_header_is_malformed_not_a_crash(self):
        header = b64url(b"[" * 5000 + b"]" * 5000)
        assert refusal(f"{header}.e30.") is Reason.MALFORMED

    def test_oversized_token(self):
        assert refusal(mint().token + "A" * 10_000) is Reason.MALFORMED

    def test_messages_never_echo_the_token(self):
        token = mint().token
        with pytest.raises(InvalidReleaseToken) as caught:
            verify(token, audience="x")
        assert token not in str(caught.value)
        assert caught.value.code == "invalid_release_token"


class TestAlgorithmConfusion:
    def forge_hs256(self, secret: bytes) -> str:
        header = {"alg": "HS256", "typ": TOKEN_TYPE, "kid": RING.active.kid}
        signing_input = encode_segments(header, decoded_claims(mint().token))
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64url(mac)}"

    @pytest.mark.parametrize("form", ["pem", "raw", "x"])
    def test_hs256_signed_with_the_public_key_is_refused(self, form: str):
        public = RING.active.public_key
        secret = {
            "pem": public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
            "x": RING.active.public_jwk()["x"].encode(),
        }[form]
        forged = self.forge_hs256(secret)
        assert refusal(forged) is Reason.UNSUPPORTED_ALGORITHM
        assert refusal(forged, RING.jwks(NOW)) is Reason.UNSUPPORTED_ALGORITHM

    @pytest.mark.parametrize("alg", ["none", "None", "NONE"])
    def test_unsigned_token_is_refused(self, alg: str):
        header = {"alg": alg, "typ": TOKEN_TYPE, "kid": RING.active.kid}
        unsigned = encode_segments(header, decoded_claims(mint().token)) + "."
        assert refusal(unsigned) is Reason.UNSUPPORTED_ALGORITHM

    def test_unsigned_token_with_empty_signature_never_verifies(self):
        header = {"alg": "none", "typ": TOKEN_TYPE, "kid": RING.active.kid}
        unsigned = encode_segments(header, decoded_claims(mint().token)) + "."
        with pytest.raises(InvalidReleaseToken):
            verify(unsigned, RING.jwks(NOW))


class TestRotation:
    def test_token_from_previous_key_verifies_until_retirement(self):
        old = Keyring.generate()
        token = mint(old).token
        rotated = old.rotate(retire_previous_at=NOW + timedelta(seconds=TTL))
        assert verify(token, rotated).kid == old.active.kid
        assert verify(token, rotated.jwks(NOW)).kid == old.active.kid
        later = NOW + timedelta(seconds=TTL)
        assert refusal(token, rotated, now=later, leeway_seconds=60) is Reason.UNKNOWN_KEY
        assert len(rotated.jwks(NOW)["keys"]) == 2

    def test_new_tokens_are_signed_by_the_new_key(self):
        rotated = RING.rotate(retire_previous_at=NOW + timedelta(minutes=5))
        assert jwt.get_unverified_header(mint(rotated).token)["kid"] == rotated.active.kid


def _flip(segment: str, index: int, mask: int) -> str:
    raw = bytearray(b64url_decode(segment))
    raw[index % len(raw)] ^= mask
    return b64url(bytes(raw))


class TestTampering:
    @settings(max_examples=150, deadline=None)
    @given(part=st.integers(0, 2), index=st.integers(0, 10_000), mask=st.integers(1, 255))
    def test_any_changed_byte_is_refused(self, part: int, index: int, mask: int):
        segments = TOKEN.split(".")
        segments[part] = _flip(segments[part], index, mask)
        with pytest.raises(InvalidReleaseToken):
            verify(".".join(segments))

    @settings(max_examples=150, deadline=None)
    @given(index=st.integers(0, 10_000), char=st.sampled_from(list(ALPHABET + ".")))
    def test_any_changed_character_is_refused(self, index: int, char: str):
        position = index % len(TOKEN)
        if TOKEN[position] == char:
            return
        tampered = TOKEN[:position] + char + TOKEN[position + 1 :]
        with pytest.raises(InvalidReleaseToken):
            verify(tampered)

    def test_non_canonical_base64_padding_bits_are_refused(self):
        header, payload, signature = TOKEN.split(".")
        # 64 signature bytes leave 4 spare bits in the last character; set one of them.
        spare = ALPHABET[ALPHABET.index(signature[-1]) ^ 1]
        assert b64url_decode(signature[:-1] + spare) == b64url_decode(signature)
        assert refusal(f"{header}.{payload}.{signature[:-1]}{spare}") is Reason.MALFORMED


TOKEN = mint(jti="tamper-target").token
