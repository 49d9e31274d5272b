"""Ed25519 signatures over audit checkpoints: the key file, signing, and offline checking.

The private key lives in one PEM file (created 0600 on first use); the public key and its
key id travel inside every signed checkpoint so anyone can check an export without us.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from approvals.kit.canonical import canonical_json
from approvals.kit.private_files import private_dir

KEY_FILE_NAME = "audit-signing-key.pem"
ALGORITHM = "Ed25519"


def kid_of(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Signer:
    private_key: Ed25519PrivateKey
    public_raw: bytes

    @property
    def kid(self) -> str:
        return kid_of(self.public_raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.public_raw).decode("ascii")

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """{"checkpoint": document + key id and public key, "signature": base64}."""
        signed = {**document, "alg": ALGORITHM, "kid": self.kid, "public_key": self.public_b64}
        signature = self.private_key.sign(canonical_json(signed))
        return {"checkpoint": signed, "signature": base64.b64encode(signature).decode("ascii")}


def load_or_create(path: Path) -> Signer:
    """The signing key at `path`, generated (and written owner-only) if absent."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
    else:
        key = Ed25519PrivateKey.generate()
        private_dir(path.parent)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: two processes starting at once must not overwrite each other's key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(key, raw)


def parse_public_key(text: str) -> bytes:
    """A PEM public key or base64 of the raw 32 bytes → the raw 32 bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode("ascii"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not a PEM or base64 Ed25519 public key") from None
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return raw


def check(signed: Mapping[str, Any], pinned: bytes | None = None) -> str | None:
    """Why `signed` ({"checkpoint", "signature"}) is not valid; None when it is.

    Without `pinned`, the embedded key is trusted: that proves integrity, not origin.
    """
    document = signed.get("checkpoint")
    if not isinstance(document, Mapping) or not isinstance(signed.get("signature"), str):
        return "no signed checkpoint"
    try:
        public_raw = base64.b64decode(str(document.get("public_key", "")), validate=True)
        signature = base64.b64decode(str(signed["signature"]), validate=True)
        key = Ed25519PublicKey.from_public_bytes(public_raw)
    except (binascii.Error, ValueError):
        return "the checkpoint's key or signature is malformed"
    if pinned is not None and public_raw != pinned:
        return f"signed by {document.get('kid')}, not by the expected key {kid_of(pinned)}"
    if document.get("kid") != kid_of(public_raw):
        return "the key id does not match the public key"
    try:
        key.verify(signature, canonical_json(dict(document)))
    except InvalidSignature:
        return "the signature does not match the checkpoint: it was altered"
    return None
