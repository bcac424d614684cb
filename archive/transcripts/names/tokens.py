"""Tokens of text and the parts and forms of a protected name."""

# Cyrillic letters that look like Latin ones are the subject here, not typos.
# ruff: noqa: RUF002

from __future__ import annotations

import re
from dataclasses import dataclass

from archive.transcripts.names.spelling import _MIN_STEM, _PATRONYMIC_ENDINGS
from archive.transcripts.names.words import PARTICLES

# -- names --------------------------------------------------------------------------------

_BEFORE, _AFTER = 1, 2  # a name part with another part before it / after it


@dataclass(frozen=True, slots=True)
class _Target:
    """One spelling key a person can be found by."""

    person: int
    key: str
    script: str
    needs_ending: bool  # a stem such as "gulnar" is a name only with an ending after it
    joined: bool  # two name parts run together
    sides: int  # _BEFORE | _AFTER: where the entered name has more parts
    sound: str


#: One person a span may name: (rank in HOW, person, sides of the matched part).
Hit = tuple[int, int, int]

_TOKEN_RE = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+(?:['’ʼ\-‐](?:[^\W\d_]|[\u0300-\u036f])+)*")
_SPLIT_RE = re.compile(r"[\-‐]")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    """Words with their offsets; apostrophes and hyphens inside a word keep it whole
    ("Gul'nara", "Aigerim-ge"); hyphenated words are also tried part by part."""
    return [(match.start(), match.end(), match.group()) for match in _TOKEN_RE.finditer(text)]


def _is_space(gap: str) -> bool:
    """One or two spaces: what lies between the parts of one name (never a line break,
    which redaction must keep)."""
    return 0 < len(gap) <= 2 and not gap.strip(" \t\u00a0")


def _name_parts(name: str) -> list[str]:
    """The parts of a name as typed, particles left out ("Ludwig van Beethoven")."""
    return [word for _start, _end, word in _tokens(name) if word not in PARTICLES]


def _stem_forms(key: str) -> list[str]:
    """Stems a name declines from, each a name only with an ending after it:
    Гульнара → гульнар(-ы, -е, -ой, -у); Бекова → беков(-ой, -у, -ым)."""
    if key.endswith("a") and len(key) > _MIN_STEM:
        return [key[:-1]]
    return []


def _patronymic_forms(key: str) -> list[str]:
    """A patronymic said the other way: Нурлановна and Нұрланқызы (and -ович, -ұлы)
    name the same father; never the bare "Нурлан", who is someone else."""
    for ending in _PATRONYMIC_ENDINGS:
        if key.endswith(ending) and len(key) - len(ending) >= _MIN_STEM:
            root = key[: -len(ending)]
            return [root + other for other in _PATRONYMIC_ENDINGS if other != ending]
    return []


def _sides(index: int, count: int) -> int:
    return (_BEFORE if index > 0 else 0) | (_AFTER if index < count - 1 else 0)
