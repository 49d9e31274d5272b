"""Keyring: RFC 7638/8037 thumbprints, JWKS shape, PEM loading, rotation and files on disk."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from approvals.release.keys import Keyring, SigningKey, _write_secret_file, b64url_decode

# RFC 8037 Appendix A.1 / A.3: the published Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def rfc_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))


class TestSigningKey:
    def test_kid_is_the_rfc7638_thumbprint_of_the_rfc8037_key(self):
        key = SigningKey(rfc_key())
        assert key.kid == RFC8037_THUMBPRINT

    def test_public_jwk_has_exactly_the_published_members(self):
        jwk = SigningKey(rfc_key()).public_jwk()
        assert jwk == {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": RFC8037_X,
            "kid": RFC8037_THUMBPRINT,
            "use": "sig",
            "alg": "EdDSA",
        }

    def test_private_material_is_not_in_repr(self):
        assert "private_key" not in repr(SigningKey(rfc_key()))

    def test_naive_retirement_is_refused(self):
        with pytest.raises(ValueError, match="timezone"):
            SigningKey(rfc_key(), retires_at=datetime(2027, 1, 1))  # noqa: DTZ001


class TestKeyringFromPem:
    def test_round_trip_keeps_the_kid(self):
        ring = Keyring.generate()
        again = Keyring.from_pem(ring.active.private_pem().decode())
        assert again.active.kid == ring.active.kid

    def test_previous_pems_verify_until_their_retirement(self):
        old, new = Keyring.generate(), Keyring.generate()
        ring = Keyring.from_pem(
            new.active.private_pem(),
            [old.active.private_pem()],
            previous_retire_at=NOW + timedelta(hours=1),
        )
        assert [k.kid for k in ring.verification_keys(NOW)] == [new.active.kid, old.active.kid]
        assert [k.kid for k in ring.verification_keys(NOW + timedelta(hours=1))] == [new.active.kid]

    def test_non_ed25519_key_is_refused(self):
        ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(ValueError, match="Ed25519"):
            Keyring.from_pem(ec_pem)


class TestRotation:
    def test_rotation_publishes_both_keys_until_retirement(self):
        ring = Keyring.generate()
        rotated = ring.rotate(retire_previous_at=NOW + timedelta(minutes=15))
        assert rotated.active.kid != ring.active.kid
        kids = [jwk["kid"] for jwk in rotated.jwks(NOW)["keys"]]
        assert kids == [rotated.active.kid, ring.active.kid]
        after = [jwk["kid"] for jwk in rotated.jwks(NOW + timedelta(minutes=15))["keys"]]
        assert after == [rotated.active.kid]

    def test_second_rotation_keeps_older_keys_with_their_own_retirement(self):
        first = Keyring.generate()
        second = first.rotate(retire_previous_at=NOW + timedelta(minutes=5))
        third = second.rotate(retire_previous_at=NOW + timedelta(minutes=10))
        at_4 = [k.kid for k in third.verification_keys(NOW + timedelta(minutes=4))]
        at_6 = [k.kid for k in third.verification_keys(NOW + timedelta(minutes=6))]
        assert at_4 == [third.active.kid, second.active.kid, first.active.kid]
        assert at_6 == [third.active.kid, second.active.kid]

    def test_rotation_does_not_change_the_original_keyring(self):
        ring = Keyring.generate()
        ring.rotate(retire_previous_at=NOW)
        assert ring.previous == ()

    def test_pruned_drops_retired_keys(self):
        ring = Keyring.generate().rotate(retire_previous_at=NOW)
        assert ring.pruned(NOW).previous == ()

    def test_public_key_lookup_respects_retirement(self):
        ring = Keyring.generate()
        old_kid = ring.active.kid
        rotated = ring.rotate(retire_previous_at=NOW + timedelta(seconds=1))
        assert rotated.public_key(old_kid, NOW) is not None
        assert rotated.public_key(old_kid, NOW + timedelta(seconds=1)) is None


class TestFiles:
    def test_save_writes_owner_only_files_and_loads_back(self, tmp_path: Path):
        ring = Keyring.generate().rotate(retire_previous_at=NOW + timedelta(hours=1))
        ring.save(tmp_path)
        for path in tmp_path.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        loaded = Keyring.from_directory(tmp_path)
        assert loaded.active.kid == ring.active.kid
        assert [(k.kid, k.retires_at) for k in loaded.previous] == [
            (k.kid, k.retires_at) for k in ring.previous
        ]

    def test_save_removes_files_of_pruned_keys(self, tmp_path: Path):
        ring = Keyring.generate().rotate(retire_previous_at=NOW)
        ring.save(tmp_path)
        ring.pruned(NOW).save(tmp_path)
        assert sorted(p.name for p in tmp_path.glob("*.pem")) == ["active.pem"]

    def test_extra_pem_without_manifest_verifies_indefinitely(self, tmp_path: Path):
        active, extra = Keyring.generate(), Keyring.generate()
        (tmp_path / "active.pem").write_bytes(active.active.private_pem())
        (tmp_path / "old-key.pem").write_bytes(extra.active.private_pem())
        loaded = Keyring.from_directory(tmp_path)
        assert [k.kid for k in loaded.previous] == [extra.active.kid]
        assert loaded.previous[0].retires_at is None

    def test_directory_without_active_key_is_an_error(self, tmp_path: Path):
        with pytest.raises(FileNotFoundError):
            Keyring.from_directory(tmp_path)

    def test_load_or_create_generates_once_then_reuses(self, tmp_path: Path):
        directory = tmp_path / "keys"
        first = Keyring.load_or_create(directory)
        second = Keyring.load_or_create(directory)
        assert first.active.kid == second.active.kid
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        assert stat.S_IMODE((directory / "active.pem").stat().st_mode) == 0o600
        assert not [p for p in directory.iterdir() if p.name.startswith(".tmp-")]

    def test_load_or_create_keeps_a_key_another_process_wrote_first(self, tmp_path: Path):
        winner = Keyring.generate()
        winner.save(tmp_path)
        assert Keyring.load_or_create(tmp_path).active.kid == winner.active.kid

    def test_exclusive_write_never_replaces_a_key_written_meanwhile(self, tmp_path: Path):
        # The race load_or_create relies on: two first starts, only one key may land.
        target = tmp_path / "active.pem"
        _write_secret_file(target, b"first", exclusive=True)
        with pytest.raises(FileExistsError):
            _write_secret_file(target, b"second", exclusive=True)
        assert target.read_bytes() == b"first"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["active.pem"]
