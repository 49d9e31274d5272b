"""Ed25519 signing keys for release tokens: the keyring, its rotation and the public JWKS.

Owns key material in memory and its PEM form. Pure except the file functions at the bottom
(`_read_directory`, `_write_secret_file`), which are the only places that touch the disk.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ACTIVE_FILE = "active.pem"
PREVIOUS_PREFIX = "previous-"
MANIFEST_FILE = "keyring.json"

PublicJwk = dict[str, str]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint: SHA-256 over the required members, sorted, without whitespace."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(_raw_public(public_key))}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("ascii")
    return b64url(hashlib.sha256(canonical).digest())


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key; `retires_at` is None for the active key and for keys kept indefinitely."""

    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    retires_at: datetime | None = None
    kid: str = field(init=False)

    def __post_init__(self) -> None:
        if self.retires_at is not None and self.retires_at.tzinfo is None:
            raise ValueError("retires_at must be timezone-aware")
        object.__setattr__(self, "kid", jwk_thumbprint(self.private_key.public_key()))

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> PublicJwk:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(_raw_public(self.public_key)),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def usable_at(self, now: datetime) -> bool:
        return self.retires_at is None or now < self.retires_at


def private_key_from_pem(pem: str | bytes) -> Ed25519PrivateKey:
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"release signing keys must be Ed25519, got {type(key).__name__}")
    return key


class Keyring:
    """The active signing key plus previous keys that still verify until their retirement.

    Immutable: `rotate()` returns a new keyring, so a Runtime can swap it atomically.
    """

    def __init__(self, active: SigningKey, previous: Iterable[SigningKey] = ()) -> None:
        if active.retires_at is not None:
            raise ValueError("the active key cannot have a retirement time")
        self._active = active
        kept: dict[str, SigningKey] = {}
        for key in previous:
            if key.kid != active.kid:
                kept.setdefault(key.kid, key)
        self._previous = tuple(kept.values())

    @classmethod
    def generate(cls) -> Keyring:
        return cls(SigningKey(Ed25519PrivateKey.generate()))

    @classmethod
    def from_pem(
        cls,
        active_pem: str | bytes,
        previous_pems: Iterable[str | bytes] = (),
        *,
        previous_retire_at: datetime | None = None,
    ) -> Keyring:
        """Build from PEM text (settings); previous keys verify until `previous_retire_at`."""
        previous = [
            SigningKey(private_key_from_pem(pem), previous_retire_at) for pem in previous_pems
        ]
        return cls(SigningKey(private_key_from_pem(active_pem)), previous)

    @classmethod
    def from_directory(cls, directory: str | Path) -> Keyring:
        """`active.pem` signs; every other `*.pem` verifies, until `keyring.json` retires it."""
        pems, manifest = _read_directory(Path(directory))
        if ACTIVE_FILE not in pems:
            raise FileNotFoundError(f"no {ACTIVE_FILE} in {directory}")
        retirements = _parse_retirements(manifest)
        active = SigningKey(private_key_from_pem(pems.pop(ACTIVE_FILE)))
        previous = []
        for name in sorted(pems):
            key = private_key_from_pem(pems[name])
            previous.append(SigningKey(key, retirements.get(jwk_thumbprint(key.public_key()))))
        return cls(active, previous)

    @classmethod
    def load_or_create(cls, directory: str | Path) -> Keyring:
        """The embedded default: load the keyring, or generate and save one on first start.

        Web and worker may start together on an empty directory; the exclusive create of
        `active.pem` lets exactly one key win and the loser loads the winner's key.
        """
        path = Path(directory)
        if (path / ACTIVE_FILE).exists():
            return cls.from_directory(path)
        fresh = cls.generate()
        with contextlib.suppress(FileExistsError):
            _write_secret_file(path / ACTIVE_FILE, fresh.active.private_pem(), exclusive=True)
        return cls.from_directory(path)

    @property
    def active(self) -> SigningKey:
        return self._active

    @property
    def previous(self) -> tuple[SigningKey, ...]:
        return self._previous

    def rotate(
        self, *, retire_previous_at: datetime, new_key: Ed25519PrivateKey | None = None
    ) -> Keyring:
        """A new active key; the current one verifies until `retire_previous_at`.

        Choose `retire_previous_at` no earlier than the expiry of the last token it signed.
        """
        if retire_previous_at.tzinfo is None:
            raise ValueError("retire_previous_at must be timezone-aware")
        demoted = SigningKey(self._active.private_key, retire_previous_at)
        fresh = SigningKey(new_key if new_key is not None else Ed25519PrivateKey.generate())
        return Keyring(fresh, (demoted, *self._previous))

    def pruned(self, now: datetime) -> Keyring:
        """The same keyring without keys retired at `now` (save() then deletes their files)."""
        return Keyring(self._active, (k for k in self._previous if k.usable_at(now)))

    def verification_keys(self, now: datetime | None = None) -> tuple[SigningKey, ...]:
        at = now if now is not None else datetime.now(UTC)
        return (self._active, *(k for k in self._previous if k.usable_at(at)))

    def public_key(self, kid: str, now: datetime | None = None) -> Ed25519PublicKey | None:
        for key in self.verification_keys(now):
            if key.kid == kid:
                return key.public_key
        return None

    def jwks(self, now: datetime | None = None) -> dict[str, list[PublicJwk]]:
        """Public keys that verify at `now` (default: the current time), active first."""
        return {"keys": [key.public_jwk() for key in self.verification_keys(now)]}

    def manifest(self) -> dict[str, object]:
        return {
            "active": self._active.kid,
            "retires_at": {
                key.kid: key.retires_at.isoformat()
                for key in self._previous
                if key.retires_at is not None
            },
        }

    def save(self, directory: str | Path) -> None:
        """Write PEMs (0600) and the retirement manifest; drop files of keys no longer held."""
        path = Path(directory)
        for key in self._previous:
            _write_secret_file(path / f"{PREVIOUS_PREFIX}{key.kid}.pem", key.private_pem())
        # The manifest goes before active.pem so a reader never sees the new active key
        # while the old one lacks its retirement time.
        manifest = json.dumps(self.manifest(), indent=2, sort_keys=True).encode("utf-8")
        _write_secret_file(path / MANIFEST_FILE, manifest)
        _write_secret_file(path / ACTIVE_FILE, self._active.private_pem())
        held = {f"{PREVIOUS_PREFIX}{key.kid}.pem" for key in self._previous}
        _remove_stale_previous(path, held)


def _parse_retirements(manifest: Mapping[str, object] | None) -> dict[str, datetime]:
    if manifest is None:
        return {}
    raw = manifest.get("retires_at", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{MANIFEST_FILE}: retires_at must be an object")
    retirements = {}
    for kid, value in raw.items():
        moment = datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError(f"{MANIFEST_FILE}: retirement of {kid} lacks a timezone")
        retirements[str(kid)] = moment
    return retirements


# --- file I/O: the only functions in this module that touch the disk ---------------------


def _read_directory(directory: Path) -> tuple[dict[str, bytes], dict[str, object] | None]:
    pems = {p.name: p.read_bytes() for p in directory.glob("*.pem") if p.is_file()}
    manifest_path = directory / MANIFEST_FILE
    manifest = None
    if manifest_path.exists():
        loaded = json.loads(manifest_path.read_text("utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{manifest_path} must hold a JSON object")
        manifest = loaded
    return pems, manifest


def _write_secret_file(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write owner-only (0600) via a temporary file, so readers never see a partial key.

    `exclusive` publishes with link(), which fails if the target exists (first writer wins).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".tmp")
    try:
        # mkstemp already creates 0600; fchmod guards against an unusual umask or platform.
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(tmp, path)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _remove_stale_previous(directory: Path, held: set[str]) -> None:
    for stale in directory.glob(f"{PREVIOUS_PREFIX}*.pem"):
        if stale.name not in held:
            stale.unlink()
