"""Speakers' real identities: encrypted at rest, shown only where the policy allows.

Real names and aliases live in encrypted columns (``models.types``) under
``IDENTITY_KEY``, which lives in the configuration and never in the database.
Nothing in this module logs a name.
"""

from __future__ import annotations

from typing import Any

from archive import policy
from archive.errors import N_, ValidationError
from archive.models import Speaker
from archive.transcripts.names.matching import NameMatcher, ProtectedName


def real_name(speaker: Speaker) -> str | None:
    return speaker.real_name or None


def aliases(speaker: Speaker) -> list[str]:
    return list(speaker.aliases or [])


def set_identity(speaker: Speaker, name: str | None, alias_list: list[str] | None) -> None:
    """Set the real name and/or aliases; None leaves that field as it is."""
    if name is not None:
        speaker.real_name = name.strip() or None
    if alias_list is not None:
        cleaned = [alias.strip() for alias in alias_list if alias and alias.strip()]
        speaker.aliases = cleaned or None


def protected_names(speaker: Speaker) -> list[str]:
    """The real name and every alias: the strings redaction must never let through."""
    names = [real_name(speaker), *aliases(speaker)]
    return [name for name in names if name]


def is_named(speaker: Speaker) -> bool:
    """Whether the agreement in force lets this speaker be known by name."""
    return bool(speaker.named) and speaker.interview.identity == "named"


def public_name(speaker: Speaker) -> str:
    """What everyone who may not see the real name calls this speaker."""
    return speaker.pseudonym or speaker.label


def display_name(user: Any, speaker: Speaker) -> str:
    """The one helper pages and exports use to name a speaker for ``user``.

    Only a speaker whom the agreement in force names (a custodian's decision,
    recorded per speaker) is shown by name; every other speaker, whatever their
    role, to everyone by pseudonym (custodians see real names through the reveal).
    """
    if is_named(speaker) and policy.sees_real_names(user, speaker.interview):
        return real_name(speaker) or public_name(speaker)
    return public_name(speaker)


def names_itself(text: str, names: list[str]) -> bool:
    """Whether ``text`` (a pseudonym) is one of ``names`` in any form the matcher
    knows (spelling, transliteration, ending)."""
    if not text.strip() or not names:
        return False
    return bool(NameMatcher([ProtectedName(0, tuple(names))]).find(text))


def check_pseudonym(speaker: Speaker) -> None:
    """Refuse a pseudonym that is the speaker's own name: it would be shown to all."""
    if names_itself(speaker.pseudonym or "", protected_names(speaker)):
        raise ValidationError(
            N_(
                "The pseudonym must not be the speaker's real name or one of their aliases "
                "(nor a spelling of them): readers see the pseudonym. Choose another."
            )
        )
