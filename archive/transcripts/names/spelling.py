"""Spelling keys: one spelling for every way a name is written (scripts,
romanisations, endings), so that one dictionary lookup covers them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from anyascii import anyascii

from archive.transcripts.names.thresholds import FUZZY_MIN_LENGTH

# -- endings ---------------------------------------------------------------------------

# Endings, as spelling keys. Russian declension of names and surnames (Гульнар-ы/-е/-у/
# -ой/-ою; Беков-а/-у/-ым/-ых; Игор-я/-ю/-ем) and English possessive/plural "s".
_RUSSIAN_ENDINGS = "a i e u oi oiu om em ei eiu iu ia im ih ami am ah s".split()
# Kazakh case and number suffixes in all their vowel-harmony and voicing variants,
# Cyrillic and Latin (-ның -нің -дың -дің -тың -тің, -ға -ге -қа -ке -на -не, -ны -ні
# -ды -ді -ты -ті, -да -де -та -те, -дан -ден -тан -тен -нан -нен, -мен -бен -пен,
# -лар -лер -дар -дер -тар -тер, -дікі, -дағы), which all fold to these keys.
_KAZAKH_SUFFIXES = (
    "nin din tin ga ge ka ke na ne ni di ti da de ta te nda nde "
    "dan den tan ten nan nen ndan nden men ben pen lar ler dar der tar ter "
    "niki diki tiki dagi degi tagi tegi".split()
)
# A patronymic may be said the Russian way or the Kazakh way (Нурлановна, Нурланович,
# Нұрланқызы, Нұрланұлы): the father's name and one of these.
_PATRONYMIC_ENDINGS = ("ovna", "evna", "oviC", "eviC", "kizi", "uli")
_ENDINGS = tuple(sorted(set(_RUSSIAN_ENDINGS + _KAZAKH_SUFFIXES), key=len, reverse=True))
_ENDING_SET = frozenset(_ENDINGS)
_KAZAKH_SET = frozenset(_KAZAKH_SUFFIXES)
_LONGEST_ENDING = max(map(len, _ENDINGS))
_MIN_STEM = 3
_PREFIX = 3  # every key and stem has at least this many letters

_GLUED = "+"  # the "ending" of a reading whose last letters were cut blindly
_GLUED_MIN_LENGTH = 5  # names a glued reading may match ("Timur", not "Asel")


# -- spelling keys ------------------------------------------------------------------------

# Kazakh letters anyascii spells in ways no English or Russian romanisation uses.
_CYRILLIC_FOLD = str.maketrans({"ң": "н", "ғ": "г", "қ": "к", "һ": "х", "ё": "е"})
# One left-to-right pass, longest spelling first; the output is not re-read, so the
# placeholders C (ch), S (sh), W (shch), Z (zh, j) and c (ts) cannot be rewritten.
_FOLDS = {
    "shch": "W",
    "tsch": "C",
    "dzh": "Z",
    "sch": "S",
    "tch": "C",
    "ch": "C",
    "sh": "S",
    "zh": "Z",
    "dj": "Z",
    "j": "Z",
    "kh": "h",
    "gh": "g",
    "ts": "c",
    "tz": "c",
    "ph": "f",
    "ck": "k",
    "ou": "u",
    "ee": "i",
    "oo": "u",
    "q": "k",
    "w": "v",
    "x": "ks",
    "y": "i",
}
_FOLD_RE = re.compile("|".join([*sorted(_FOLDS, key=len, reverse=True), "c"]))
_NOT_LETTER = re.compile("[^a-z]+")
_IE_RE = re.compile("(^|[aeiou])ie")  # Yerlan/Ерлан, Sergeyev/Sergeev
_DOUBLE_RE = re.compile(r"(.)\1+")


def _fold(match: re.Match[str]) -> str:
    text = match.group()
    if text == "c":  # a plain Latin c: soft before e/i/y, hard elsewhere
        following = match.string[match.end() : match.end() + 1]
        return "s" if following in ("e", "i", "y") else "k"
    return _FOLDS[text]


@lru_cache(maxsize=65536)
def _raw_key(word: str) -> str:
    """The spelling key before doubled letters collapse (endings are cut from this)."""
    folded = word.casefold()
    if not folded.isascii():
        folded = anyascii(folded.translate(_CYRILLIC_FOLD)).lower()
    key = _FOLD_RE.sub(_fold, _NOT_LETTER.sub("", folded))
    return _IE_RE.sub(r"\1e", key)


def _collapse(key: str) -> str:
    return _DOUBLE_RE.sub(r"\1", key)


def _head(raw_key: str) -> str:
    """The first letters of a key once doubles collapse (a loop: this runs per run)."""
    head = ""
    for char in raw_key:
        if not head or head[-1] != char:
            head += char
            if len(head) == _PREFIX:
                break
    return head


def spelling_key(word: str) -> str:
    """Fold a word to the key all its spellings share: Гульнара, Gul'nara, Gülnara and
    Goulnara all give "gulnara"; Светлана and Swetlana give "svetlana"."""
    return _collapse(_raw_key(word))


def _endings_of(key: str, endings: frozenset[str]) -> Iterator[str]:
    """The endings in ``endings`` that ``key`` ends with, leaving a stem of 3 or more."""
    for size in range(1, min(_LONGEST_ENDING, len(key) - _MIN_STEM) + 1):
        if key[-size:] in endings:
            yield key[-size:]


@lru_cache(maxsize=65536)
def _stems(raw_key: str) -> tuple[tuple[str, str], ...]:
    """(stem, ending) readings of a key: the key itself, then with one or two endings
    cut (Kazakh stacks number and case: Бек-ов-тар-дың). Cut before doubles collapse,
    so "Айгерим-мен" keeps its m."""
    readings = [(_collapse(raw_key), "")]
    for ending in sorted(_endings_of(raw_key, _ENDING_SET), key=len, reverse=True):
        stem = raw_key[: -len(ending)]
        readings.append((_collapse(stem), ending))
        for inner in _endings_of(stem, _KAZAKH_SET):
            readings.append((_collapse(stem[: -len(inner)]), inner + ending))
    return tuple(dict.fromkeys(readings))


@lru_cache(maxsize=65536)
def _guess_readings(raw_key: str, glued: bool) -> tuple[tuple[str, str], ...]:
    """The readings worth a guess: none on a short stem, nor on two cut endings, which
    would be no evidence at all; and, for ``glued``, the key less its last one to three
    letters ("Timorak": "Timor" + "ak")."""
    readings = [
        (stem, ending)
        for stem, ending in _stems(raw_key)
        if len(stem) >= FUZZY_MIN_LENGTH
        and (not ending or (ending in _ENDING_SET and len(stem) > FUZZY_MIN_LENGTH))
    ]
    if glued:
        for cut in range(1, 4):
            stem = _collapse(raw_key[:-cut])
            if len(stem) >= _GLUED_MIN_LENGTH:
                readings.append((stem, _GLUED))
    return tuple(dict.fromkeys(readings))
