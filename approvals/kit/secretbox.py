"""Secrets at rest: values the service must read back (webhook signing secrets) are sealed with
a key derived from APPROVALS_SECRET_KEY (data files are owner-only: `kit.private_files`).

Sealed text is `sealed:v1:<kid>:<base64url(nonce ‖ AES-256-GCM ciphertext+tag)>`:
- the AES key is HKDF-SHA256(APPROVALS_SECRET_KEY, info "approvals secretbox v1 key"), so the
  operator's secret is never used as a key directly and other uses of it stay independent;
- `kid` (8 hex characters, HKDF with another info string) names the key that sealed a value, so
  after a rotation the previous keys (APPROVALS_PREVIOUS_SECRET_KEYS) still open old rows and
  `approvals migrate` re-seals them under the current one;
- the caller's `context` (e.g. `clients.webhook_secret:<client id>`) is the AEAD associated data:
  a sealed value copied into another row does not open there;
- `v1` versions the format. Text without the `sealed:` prefix is a row written before sealing
  existed: it is read as it is, and `approvals migrate` (and `serve` on the embedded database)
  seals it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "sealed:v1:"
_SALT = b"approvals.kit.secretbox"


class SecretBoxError(Exception):
    """A sealed value that cannot be opened with the configured keys."""


def _derive(secret: str, info: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=info)
    return hkdf.derive(secret.encode("utf-8"))


class SecretBox:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        """`secret` seals and opens; each of `previous` only opens (key rotation)."""
        self._keys: dict[str, AESGCM] = {}
        for value in (secret, *previous):
            kid = _derive(value, b"approvals secretbox v1 key id")[:4].hex()
            self._keys.setdefault(kid, AESGCM(_derive(value, b"approvals secretbox v1 key")))
        self.kid = next(iter(self._keys))

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self.kid].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{PREFIX}{self.kid}:{blob}"

    def open(self, stored: str, *, context: str) -> str:
        """The plaintext of a sealed value; unsealed (legacy) text is returned as it is."""
        if not is_sealed(stored):
            return stored
        kid, _, blob = stored[len(PREFIX) :].partition(":")
        key = self._keys.get(kid)
        if key is None:
            raise SecretBoxError(
                f"a stored secret was sealed with another APPROVALS_SECRET_KEY (key id {kid}); "
                "add that key to APPROVALS_PREVIOUS_SECRET_KEYS"
            )
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
            return key.decrypt(raw[:12], raw[12:], context.encode()).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise SecretBoxError(f"a stored secret (key id {kid}) is damaged") from exc

    def is_current(self, stored: str) -> bool:
        """Sealed under the current key (nothing to re-seal)."""
        return stored.startswith(f"{PREFIX}{self.kid}:")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)
