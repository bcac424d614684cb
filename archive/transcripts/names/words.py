"""Ordinary words (``wordfreq``), which the guesses skip, and the particles that join
name parts without being names.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import NamedTuple

from archive.transcripts.names.spelling import _PATRONYMIC_ENDINGS, _head, _raw_key, spelling_key
from archive.transcripts.names.thresholds import (
    CAPITALISED_COMMON_ZIPF,
    COMMON_WORD_LANGUAGES,
    COMMON_ZIPF,
    COMPLETION_MAX_ZIPF,
)

#: Words that join name parts but are no name themselves ("Ludwig van Beethoven",
#: "Нурлан ұлы"); typed in lower case, they are not matched alone ("Ben" still is).
PARTICLES = frozenset(
    "al bin bint da de del den der di du el ibn la le ter van von "
    "uly ulu kyzy qyzy ұлы қызы улы кызы оглы ибн".split()
)


# -- ordinary words -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _word_zipfs() -> dict[str, float]:
    """Zipf frequency of every word at Zipf 3 or more in English or Russian (wordfreq's
    small lists hold exactly those, and load in a fraction of a second)."""
    # Imported on first use: wordfreq takes over 2 s to import, and most requests
    # never need an ordinary word's frequency.
    from wordfreq import get_frequency_dict

    zipfs: dict[str, float] = {}
    for language in COMMON_WORD_LANGUAGES:
        for word, frequency in get_frequency_dict(language, wordlist="small").items():
            folded = word.replace("ё", "е")
            zipfs[folded] = max(zipfs.get(folded, 0.0), math.log10(frequency) + 9)
    return zipfs


def load() -> None:
    """Load the word frequencies now (about 1 s), so a long-running process pays it at
    start rather than in the first job or request that meets a name."""
    _word_zipfs()


@lru_cache(maxsize=65536)
def word_zipf(word: str) -> float:
    """How ordinary a word is: its highest Zipf frequency in English or Russian, 0 below
    3 (a possessive counts as its word: "Ireland's" is as ordinary as "Ireland")."""
    folded = word.casefold().replace("’", "'").replace("ё", "е")
    zipfs = _word_zipfs()
    zipf = zipfs.get(folded, 0.0)
    if folded.endswith("'s"):
        zipf = max(zipf, zipfs.get(folded[:-2], 0.0))
    return zipf


@lru_cache(maxsize=65536)
def is_common_word(word: str) -> bool:
    """True for an ordinary English or Russian word, which the guesses skip. A
    capitalised word is held to a higher bar (``CAPITALISED_COMMON_ZIPF``)."""
    capitalised = word[:1].isupper() and not word.isupper()
    return word_zipf(word) >= (CAPITALISED_COMMON_ZIPF if capitalised else COMMON_ZIPF)


def _may_be_glued(word: str, raw_key: str) -> bool:
    """Whether a syllable may have been glued onto a name in this word: a capitalised
    Latin word, as an English speech model writes a name it does not know ("Timorak").
    Not Cyrillic, where a name with more letters is a derived word ("Тимуровцы",
    Gaidar's young pioneers), nor a patronymic ("Timurovna" is his daughter)."""
    return (
        word[:1].isupper()
        and not _CYRILLIC_RE.search(word)
        and not raw_key.endswith(_PATRONYMIC_ENDINGS)
    )


def _could_be_name(word: str) -> bool:
    """A capitalised word, no particle, and rarer than the words a capital does not
    make a name of ("Locker", "Malcolm", "Malkon" pass; "Then", "Street" do not)."""
    return (
        word[:1].isupper()
        and len(spelling_key(word)) >= 3
        and word not in PARTICLES
        and word_zipf(word) < COMPLETION_MAX_ZIPF
    )


class _RunCue(NamedTuple):
    raw_key: str
    head: str
    unusual: bool  # rarer than an ordinary word (no bonus for a capital)
    capital: bool


@lru_cache(maxsize=65536)
def _run_cue(word: str) -> _RunCue:
    """What the gate for runs of tokens needs of a token, worked out once per spelling."""
    raw_key = _raw_key(word)
    capital = len(word) > 1 and word[0].isupper()
    return _RunCue(raw_key, _head(raw_key), word_zipf(word) < COMMON_ZIPF, capital)


_CYRILLIC_RE = re.compile("[\u0400-\u04ff]")


def _script(text: str) -> str:
    return "cyrillic" if _CYRILLIC_RE.search(text) else "latin"
