"""How alike two spelling keys sound: a weighted edit distance where vowel drift,
voicing, nasals and an "h" count half, and the budgets a guess must stay within.
"""

from __future__ import annotations

import math
from functools import lru_cache

from archive.transcripts.names.spelling import _collapse
from archive.transcripts.names.thresholds import FUZZY_MIN_LENGTH, PHONETIC

# -- sounds -------------------------------------------------------------------------------

_VOWELS = frozenset("aeiou")
_SOUND_CLASS = {
    **dict.fromkeys("aeiou", "V"),
    **dict.fromkeys("kg", "K"),
    **dict.fromkeys("bp", "P"),
    **dict.fromkeys("dt", "T"),
    **dict.fromkeys("fv", "F"),
    **dict.fromkeys("szSZW", "S"),
    **dict.fromkeys("Cc", "C"),
    **dict.fromkeys("mn", "N"),  # nasals: tiny.en's "age-or-in" for "Aigerim"
}


def _first_sound(key: str) -> str:
    """A key's first sound, which guesses must share: a speech model garbles the middle
    of an unknown word far more often than its onset (tiny.en: "Bicova", "Galara",
    "Smatlana", "Demetri", "Timor"). Any vowel stands for any other ("I Gareem" for
    "Aigerim"); a consonant only for itself ("dimmer" is not "Timur")."""
    return ("V" if key[0] in _VOWELS else key[0]) if key else ""


def _change_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    if _SOUND_CLASS.get(a, a) == _SOUND_CLASS.get(b, b) or {a, b} == {"h", "k"}:
        return 0.5  # vowel drift, voicing (k/g, s/z), nasals, aspiration (Bekhova)
    return 1.0


_KEY_LETTERS = "abcdefghijklmnopqrstuvwxyzCSWZ"
_SOUND_CHANGE = {(a, b): _change_cost(a, b) for a in _KEY_LETTERS for b in _KEY_LETTERS}
_SOUND_INDEL = {char: 0.5 if char in _VOWELS or char == "h" else 1.0 for char in _KEY_LETTERS}
_PLAIN_CHANGE = {(a, b): float(a != b) for a in _KEY_LETTERS for b in _KEY_LETTERS}
_PLAIN_INDEL = dict.fromkeys(_KEY_LETTERS, 1.0)


def _distance(
    a: str,
    b: str,
    change: dict[tuple[str, str], float],
    indel: dict[str, float],
    limit: float = math.inf,
) -> float:
    """Damerau edit distance (adjacent swaps cost 1) with the given costs; anything
    over ``limit`` is reported as ``math.inf`` as soon as a whole row exceeds it."""
    previous = [0.0]
    for char in b:
        previous.append(previous[-1] + indel[char])
    before: list[float] = []
    for i, char_a in enumerate(a, 1):
        drop = indel[char_a]
        current = [previous[0] + drop]
        for j, char_b in enumerate(b, 1):
            cost = min(
                previous[j] + drop,
                current[j - 1] + indel[char_b],
                previous[j - 1] + change[char_a, char_b],
            )
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                cost = min(cost, before[j - 2] + 1.0)
            current.append(cost)
        if min(current) > limit:
            return math.inf
        before, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=65536)
def sound_distance(a: str, b: str) -> float:
    """Edit distance between spelling keys in which vowel drift, voicing, nasals and an
    "h" cost half: "golnara"~"gulnara" 0.5, "igarim"~"aigerim" 1.0, "kasino"~"kasimov"
    2.0. A speech model hearing an unknown name drifts its vowels far more than it
    invents consonants."""
    return _distance(a, b, _SOUND_CHANGE, _SOUND_INDEL)


def _sound_within(a: str, b: str, limit: float) -> bool:
    return _distance(a, b, _SOUND_CHANGE, _SOUND_INDEL, limit) <= limit


def _spelling_distance(a: str, b: str) -> float:
    """Plain Damerau-Levenshtein distance: every edit costs one."""
    return _distance(a, b, _PLAIN_CHANGE, _PLAIN_INDEL)


@lru_cache(maxsize=65536)
def _skeleton(key: str) -> str:
    return _collapse("".join(char for char in key if char not in _VOWELS))


def _budget(length: int) -> float:
    """Sound-distance budget: one vowel change for four letters, two (or a consonant)
    up to six, three (or a consonant and a vowel: tiny.en's "Galara" for "Gulnara") up
    to nine, four beyond."""
    if length < FUZZY_MIN_LENGTH:
        return 0.0
    return 0.5 if length <= 4 else 1.0 if length <= 6 else 1.5 if length <= 9 else 2.0


def _consonant_budget(length: int) -> float:
    """Consonant edits allowed: only a voicing, nasal or "h" change up to five letters
    ("tiur" is not "Timur"), one consonant up to nine, one and a half beyond."""
    return 0.5 if length <= 5 else 1.0 if length <= 9 else 1.5


def _resemblance(stem: str, key: str, budget: float | None = None) -> str | None:
    """ "fuzzy", "phonetic" or None for a token's stem against a name's key.

    Lengths within one letter (a speech model substitutes sounds; it rarely drops two),
    consonants within the consonant budget, and the sound distance within ``budget``
    (by default the budget for the name's length). "fuzzy" when the plain spelling
    distance is within it too (or is a single edit), "phonetic" when only the sound is.
    """
    if abs(len(stem) - len(key)) > 1:
        return None
    allowed = _budget(len(key)) if budget is None else budget
    if not _sound_within(stem, key, allowed):
        return None
    if not _sound_within(_skeleton(stem), _skeleton(key), _consonant_budget(len(key))):
        return None
    if _spelling_distance(stem, key) <= max(1.0, allowed):
        return "fuzzy"
    return "phonetic" if PHONETIC else None
