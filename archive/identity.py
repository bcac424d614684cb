"""Speakers' real identities: encrypted at rest, shown only where the policy allows.

Real names and aliases are sealed with Fernet (AES-CBC with an HMAC: authenticated
encryption from ``cryptography``) under ``IDENTITY_KEY``, which lives in the
configuration and never in the database. Nothing in this module logs a name.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from archive import policy
from archive.models import Speaker


class IdentityKeyError(Exception):
    """The identity key cannot open a stored name: wrong or rotated key."""


def _fernet() -> Fernet:
    return Fernet(current_app.config["IDENTITY_KEY"].encode())


def seal(value: str | list[str] | None) -> bytes | None:
    if value in (None, "", []):
        return None
    return _fernet().encrypt(json.dumps(value, ensure_ascii=False).encode())


def unseal(blob: bytes | None) -> Any:
    if not blob:
        return None
    try:
        return json.loads(_fernet().decrypt(blob))
    except InvalidToken:
        raise IdentityKeyError(
            "A stored identity cannot be opened with the configured ARCHIVE_IDENTITY_KEY."
        ) from None


def real_name(speaker: Speaker) -> str | None:
    return unseal(speaker.real_name_enc)


def aliases(speaker: Speaker) -> list[str]:
    return unseal(speaker.aliases_enc) or []


def set_identity(speaker: Speaker, name: str | None, alias_list: list[str] | None) -> None:
    if name is not None:
        speaker.real_name_enc = seal(name.strip() or None)
    if alias_list is not None:
        cleaned = [alias.strip() for alias in alias_list if alias and alias.strip()]
        speaker.aliases_enc = seal(cleaned)


def protected_names(speaker: Speaker) -> list[str]:
    """The real name and every alias: the strings redaction must never let through."""
    names = [real_name(speaker), *aliases(speaker)]
    return [name for name in names if name]


def public_name(speaker: Speaker) -> str:
    """What everyone who may not see the real name calls this speaker."""
    return speaker.pseudonym or speaker.label


def display_name(user: Any, speaker: Speaker) -> str:
    """The one helper pages and exports use to name a speaker for ``user``."""
    if policy.sees_real_names(user, speaker.interview):
        return real_name(speaker) or public_name(speaker)
    return public_name(speaker)
