"""Column types that encrypt what they hold: transcript text and identities.

A transcript holds whatever was said, real names included, so its text is
encrypted at rest like the identities themselves (Fernet: AES-CBC with an HMAC,
from ``cryptography``). The key comes from configuration (``IDENTITY_KEY``) and is
registered once per process by the app factory; the database never holds it, and
a dump of the database shows no name.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

_cipher: Fernet | None = None
_digest_key: bytes | None = None


class CipherKeyError(RuntimeError):
    """No key is configured, or the configured key cannot open stored data."""


def configure_cipher(key: str) -> None:
    global _cipher, _digest_key
    raw = key.encode() if isinstance(key, str) else key
    _cipher = Fernet(raw)
    _digest_key = hashlib.sha256(b"archive keyed digest\0" + raw).digest()


def keyed_digest(*parts: bytes) -> str:
    """A MAC of ``parts`` under a key derived from the identity key: a fingerprint
    of secret text that is no easier to guess from the database than the text."""
    if _digest_key is None:
        raise CipherKeyError("No identity key is configured (ARCHIVE_IDENTITY_KEY).")
    mac = hashlib.blake2b(key=_digest_key, digest_size=16)  # keyed: a MAC, and quick
    for part in parts:
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.hexdigest()


def file_key(purpose: str) -> bytes:
    """A 32-byte key for files sealed at rest (``purpose`` names their kind, so two
    kinds never share a key), derived from the identity key like ``keyed_digest``."""
    if _digest_key is None:
        raise CipherKeyError("No identity key is configured (ARCHIVE_IDENTITY_KEY).")
    return hashlib.sha256(b"archive file key\0" + purpose.encode() + b"\0" + _digest_key).digest()


def cipher() -> Fernet:
    if _cipher is None:
        raise CipherKeyError("No identity key is configured (ARCHIVE_IDENTITY_KEY).")
    return _cipher


def encrypt_bytes(data: bytes) -> bytes:
    return cipher().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return cipher().decrypt(token)
    except InvalidToken:
        raise CipherKeyError(
            "Stored text cannot be opened with the configured ARCHIVE_IDENTITY_KEY."
        ) from None


class EncryptedText(TypeDecorator):
    """A ``str`` in Python, Fernet ciphertext in the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> bytes | None:
        if value is None:
            return None
        return encrypt_bytes(value.encode())

    def process_result_value(self, value: bytes | None, dialect) -> str | None:
        if value is None:
            return None
        return decrypt_bytes(bytes(value)).decode()


class EncryptedJSON(TypeDecorator):
    """Any JSON value in Python, Fernet ciphertext of its JSON in the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> bytes | None:
        if value is None:
            return None
        return encrypt_bytes(json.dumps(value, ensure_ascii=False).encode())

    def process_result_value(self, value: bytes | None, dialect) -> Any:
        if value is None:
            return None
        return json.loads(decrypt_bytes(bytes(value)))
