"""Find every mention of a protected name in transcript text, however it is spelt.

Principle 2 of DESIGN.md: a leaked real name is the worst defect this archive can
have, so redaction must find a narrator's name not only as the interviewer typed it
but as people say it and as a speech model writes it down. ``Mention.how`` says how:

- ``exact``: the name or one of its parts, ignoring case ("gulnara", "BEKOVA");
- ``inflected``: Russian and Kazakh endings in the same script ("Гульнарой",
  "Бековым", "Айгеримнің", "Gulnara's");
- ``transliterated``: another script or romanisation, endings allowed ("Gul'nara",
  "Gülnara", "Swetlana", "Gulnara'nyń", "Aigerim-ge" for "Айгерим");
- ``joined``: a name split into tokens ("Gul Nara") or two names run together
  ("GulnaraBekova");
- ``fuzzy``: a near spelling: few edits, each counted whole ("Golnara", "Bekhova");
- ``phonetic``: a near sound: close only once vowel drift, voicing (k/g, s/z), nasals
  (m/n) and an "h" count half ("I Gareem" for "Aigerim", tiny.en's "Galara" for
  "Gulnara"). Also a garbled word right beside a found part of the same name, where
  the name has another part (tiny.en's "Dolara Bicova" for "Gulnara Bekova").

Everything is compared through a *spelling key*: lower case, transliterated to ASCII
(``anyascii``, ISC; not ``unidecode``, which is GPL), with the spellings different
romanisations use for one sound folded together (y/i, w/v, kh/h, q/k, ts, zh/j, ch,
sh, ou/u, doubled letters). Keys make Cyrillic, Kazakh Latin, English and German
spellings of a name equal, so one dictionary lookup covers them all.

Exact, inflected, transliterated and joined matches always count, even when the name
is also an ordinary word (an alias "Вера" also hides "вера", faith): hiding a word too
many is a nuisance, showing a name is a danger. Only the guesses (fuzzy, phonetic) are
held back by thresholds, and they skip ordinary English and Russian words
(``wordfreq``), so "general", "bakery", "светлая" are not taken for "Gulnara",
"Bekova", "Светлана". "тимуровцы" (Gaidar's young pioneers) is derived from "Тимур"
but names nobody, and is left alone; so is the patronymic "Тимуровна" (her father).

The thresholds were tuned on ``bench/name_false_positives.py``, which also measures
what each part of the matcher is worth. Decisions are cached per distinct token and
per run of tokens, so a three-hour interview costs a few thousand decisions, not
thirty thousand. Nothing here logs, and no ``repr`` shows a name.
"""

# Cyrillic letters that look like Latin ones are the subject here, not typos.
# ruff: noqa: RUF002

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from anyascii import anyascii

__all__ = [
    "HOW",
    "MATCHER_VERSION",
    "Mention",
    "NameMatcher",
    "ProtectedName",
    "is_common_word",
    "sound_distance",
    "spelling_key",
    "word_zipf",
]

#: The version of what this module finds. The name spans kept on each segment
#: (``Segment.name_spans``) are keyed on it (``redaction.Redactor.remember``): bump it
#: whenever a change here can find a different set of names in the same text (a
#: threshold, a folding rule, a new way of matching), so every stored span is looked for
#: again. A change that finds the same names (a comment, a rename, a faster cache) keeps
#: it, and the stored spans stay valid.
MATCHER_VERSION = 1

# -- thresholds ---------------------------------------------------------------------------

#: Keys shorter than this are never guessed at: "Ким", "Ali" match exactly (inflected,
#: transliterated) or not at all. Four-letter keys get one vowel change ("Kati" for
#: "Kate"): one consonant away from "Kate" lie "crate", "kale", "cafes".
FUZZY_MIN_LENGTH = 4
#: A word at least this frequent (Zipf scale: 3 = once per million words) in English or
#: Russian is an ordinary word, not a misheard name, for the guesses. At 3.5, "tumour",
#: "walkway", "catheter", "светлым", "осел" (Zipf 3.1-3.5) were still taken for Timur,
#: Volkov, Kate, Светлана and Asel; at 3.0 none are, and wordfreq's small lists (every
#: word from 3.0 up) are all that must be loaded.
COMMON_ZIPF = 3.0
#: A capitalised word is ordinary only from this frequency up; below it, it gets a
#: close guess (one vowel or voicing change). Speech models capitalise the names they do
#: not know: tiny.en wrote "Timor" (Zipf 3.3) for "Timur".
CAPITALISED_COMMON_ZIPF = 4.0
#: A capitalised word beside a found part of a name is taken as another part of it
#: below this frequency ("Demetri Malcolm", "Daniel Locker"; not "Daniel Street").
COMPLETION_MAX_ZIPF = 4.5
COMMON_WORD_LANGUAGES = ("en", "ru")
#: Whether guesses that only *sound* alike count (``phonetic``); off, only near
#: spellings do. Measured worth: see the ablations of the bench.
PHONETIC = True
#: Name parts this short (or shorter) match only as typed, case included ("Ли", not
#: the Russian particle "ли").
SHORT_PART_LENGTH = 2
#: A name split in tokens must join to at least this many letters, so that two tiny
#: words ("a li") are not read as "Ali".
JOINED_MIN_LENGTH = 5

#: How a mention was found, from most to least certain. A span merged from several
#: tokens reports the least certain, which is what a reviewer needs to check.
HOW = ("exact", "inflected", "transliterated", "joined", "fuzzy", "phonetic")
_RANK = {how: rank for rank, how in enumerate(HOW)}

#: Words that join name parts but are no name themselves ("Ludwig van Beethoven",
#: "Нурлан ұлы"); typed in lower case, they are not matched alone ("Ben" still is).
PARTICLES = frozenset(
    "al bin bint da de del den der di du el ibn la le ter van von "
    "uly ulu kyzy qyzy ұлы қызы улы кызы оглы ибн".split()
)

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
_STRICT_MIN_LENGTH = 8  # names a run of ordinary words may match ("Whitfield")
_RUN_SIZES = (2, 3)
_CACHE_LIMIT = 200_000

# -- public types -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProtectedName:
    """One speaker's names: the real name and every alias, as the interviewer typed them."""

    key: int
    names: tuple[str, ...]

    def __repr__(self) -> str:  # never show the names themselves
        return f"ProtectedName(key={self.key}, names=<{len(self.names)} hidden>)"


@dataclass(frozen=True)
class Mention:
    """Characters ``start``..``end`` of the text (Python offsets) name person ``key``."""

    start: int
    end: int
    key: int
    how: str


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


class NameMatcher:
    """Finds the mentions of a set of protected names; build once per interview.

    Not thread-safe (its caches grow as it reads): one matcher per interview and
    worker.
    """

    def __init__(self, protected: Iterable[ProtectedName]) -> None:
        self._exact: dict[str, list[tuple[int, int]]] = {}  # casefolded: (person, sides)
        self._exact_short: dict[str, list[tuple[int, int]]] = {}  # as typed
        self._bases: dict[str, list[_Target]] = {}
        self._stem_targets: dict[str, list[_Target]] = {}
        self._guessable: dict[tuple[str, int], list[_Target]] = {}  # (first sound, length)
        self._long_guessable: dict[tuple[str, int], list[_Target]] = {}  # for strict guesses
        self._sounds: set[str] = set()  # first sounds of guessable keys
        self._long_ends: set[tuple[str, str]] = set()  # first and last letters, long keys
        self._prefixes: set[str] = set()  # how every key begins: a cheap first test
        self._initials: dict[int, set[str]] = {}
        self._token_cache: dict[str, tuple[Hit, ...]] = {}
        self._run_cache: dict[tuple[str, ...], tuple[Hit, ...]] = {}
        for person in protected:
            for name in person.names:
                self._add_name(person.key, name)
        lengths = [len(key) for key in self._bases] or [0]
        self._joined_window = (max(JOINED_MIN_LENGTH, min(lengths) - 1), max(lengths) + 6)

    def __repr__(self) -> str:
        return f"NameMatcher(<{len(self._initials)} people>)"

    # building -----------------------------------------------------------------------

    def _add_name(self, person: int, name: str) -> None:
        parts = _name_parts(name)
        keys: list[tuple[str, int]] = []
        for index, part in enumerate(parts):
            sides = _sides(index, len(parts))
            if len(spelling_key(part)) <= SHORT_PART_LENGTH:
                self._exact_short.setdefault(part, []).append((person, sides))
                continue
            keys.append((spelling_key(part), index))
            self._add_part(person, part, sides)
            if _SPLIT_RE.search(part):  # "Анна-Мария": each half names her too
                for piece in filter(None, _SPLIT_RE.split(part)):
                    self._add_part(person, piece, sides)
        for (first, i), (second, j) in itertools.pairwise(keys):
            sides = _sides(i, len(parts)) & _BEFORE | _sides(j, len(parts)) & _AFTER
            for joined in (first + second, second + first):  # "GulnaraBekova"
                self._add_target(person, joined, _script(name), sides, joined=True)

    def _add_part(self, person: int, part: str, sides: int) -> None:
        key = spelling_key(part)
        if len(key) <= SHORT_PART_LENGTH:
            return
        self._exact.setdefault(part.casefold(), []).append((person, sides))
        for form in (key, *_patronymic_forms(key)):
            self._add_target(person, form, _script(part), sides)
            for stem in _stem_forms(form):
                self._add_target(person, stem, _script(part), sides, needs_ending=True)
        self._initials.setdefault(person, set()).add(key[0])

    def _add_target(
        self,
        person: int,
        key: str,
        script: str,
        sides: int,
        *,
        needs_ending: bool = False,
        joined: bool = False,
    ) -> None:
        target = _Target(person, key, script, needs_ending, joined, sides, _first_sound(key))
        index = self._stem_targets if needs_ending else self._bases
        index.setdefault(key, []).append(target)
        self._prefixes.add(key[:_PREFIX])
        if len(key) < FUZZY_MIN_LENGTH:
            return
        self._sounds.add(target.sound)
        for length in range(len(key) - 1, len(key) + 2):  # a guess differs by a letter
            self._guessable.setdefault((target.sound, length), []).append(target)
            if len(key) >= _STRICT_MIN_LENGTH:
                self._long_guessable.setdefault((target.sound, length), []).append(target)
                self._long_ends.add((key[0], key[-1]))

    # what one token names -----------------------------------------------------------

    def _token_hits(self, word: str) -> tuple[Hit, ...]:
        """What one token names, best first; cached per spelling (case included)."""
        cached = self._token_cache.get(word)
        if cached is None:
            cached = self._decide_token(word)
            if len(self._token_cache) > _CACHE_LIMIT:
                self._token_cache.clear()
            self._token_cache[word] = cached
        return cached

    def _decide_token(self, word: str) -> tuple[Hit, ...]:
        hits: dict[int, Hit] = {}
        exact = _RANK["exact"]
        for person, sides in self._exact_short.get(word, ()):
            _add_hit(hits, (exact, person, sides))
        for person, sides in self._exact.get(word.casefold(), ()):
            _add_hit(hits, (exact, person, sides))
        raw_key = _raw_key(word)
        if len(raw_key) > SHORT_PART_LENGTH:
            if not hits:
                hits = self._key_hits(raw_key, _script(word), joined_tokens=False)
            if not hits and not is_common_word(word):
                # a capitalised word as frequent as "Timor" gets a close guess only
                tight = word_zipf(word) >= COMMON_ZIPF
                hits = self._guess(raw_key, glued=_may_be_glued(word, raw_key), tight=tight)
        return _ordered(hits)

    def _key_hits(
        self, raw_key: str, script: str, *, joined_tokens: bool, last_word: int = 0
    ) -> dict[int, Hit]:
        """Matches by spelling key: transliterations, with or without an ending. The
        first reading that names anyone wins, so "Goulnara" is a transliteration of
        "Gulnara", not "Goulnar" with an ending. For a run of tokens, the ending must
        be shorter than the run's ``last_word``: in "Беков на" the "на" is a Russian
        preposition, not the Kazakh suffix -на."""
        hits: dict[int, Hit] = {}
        if _head(raw_key) not in self._prefixes:
            return hits
        for stem, ending in _stems(raw_key):
            if hits:
                break
            if joined_tokens and len(ending) >= last_word:
                continue
            targets = list(self._bases.get(stem, ()))
            if ending:
                targets += self._stem_targets.get(stem, ())
            for target in targets:
                if joined_tokens or target.joined:
                    how = "joined"
                elif ending and script == target.script:
                    how = "inflected"
                else:
                    how = "transliterated"
                _add_hit(hits, (_RANK[how], target.person, target.sides))
        return hits

    def _guess(
        self,
        raw_key: str,
        *,
        glued: bool = False,
        tight: bool = False,
        run: bool = False,
        strict: bool = False,
        longer_than: int = 0,
    ) -> dict[int, Hit]:
        """Fuzzy and phonetic matches of a token (or run) that is no ordinary word.

        ``glued``: also the word less its last one to three letters, as a speech model
        glues the next syllable onto a name it does not know ("Timorak" for "Timur
        Akhmetov", "Yurland" for "Yerlan"); asked for capitalised words only.
        ``tight``: a capitalised word otherwise ordinary ("Timor", "Белова"): one vowel
        or voicing change at most.
        ``run``: the key of several tokens, as it stands, without endings (a name split
        by the speech model is rarely also declined; and runs are many).
        ``strict``: ordinary words with a capital after the first ("with Field" for
        "Whitfield"): long names only, and two vowels' worth of difference at most.
        ``longer_than``: only names longer than this (for a run, each of its words by
        two letters: in "Беков на" the name is all in "Беков", found alone).
        """
        hits: dict[int, Hit] = {}
        index = self._long_guessable if strict else self._guessable
        sound, longest = _first_sound(raw_key), len(raw_key)
        shortest = longest if run else longest - _LONGEST_ENDING
        if not any((sound, length) in index for length in range(shortest, longest + 1)):
            return hits  # no name of a length any reading could have: the usual case
        budget = 1.0 if strict else 0.5 if tight else None
        readings = ((_collapse(raw_key), ""),) if run else _guess_readings(raw_key, glued)
        for stem, ending in readings:
            for target in index.get((_first_sound(stem), len(stem)), ()):
                if (target.needs_ending and not ending) or len(target.key) <= longer_than:
                    continue
                if ending == _GLUED and (
                    target.needs_ending or len(target.key) < _GLUED_MIN_LENGTH
                ):
                    continue
                how = _resemblance(stem, target.key, budget)
                if how:
                    _add_hit(hits, (_RANK[how], target.person, target.sides))
        return hits

    # what a run of tokens names -----------------------------------------------------

    def _run_may_name(self, cues: list[_RunCue]) -> bool:
        """A cheap gate before a run is joined and decided: could it begin as a name's
        key does, has it an unusual word for a guess, or could it be a long name split
        into ordinary words? Most runs are none of these."""
        head = cues[0].head
        if len(head) < _PREFIX:
            head = _head("".join(cue.raw_key for cue in cues))
        if head in self._prefixes or any(cue.unusual for cue in cues):
            return True
        ends = (cues[0].raw_key[:1], cues[-1].raw_key[-1:])
        return ends in self._long_ends and any(cue.capital for cue in cues[1:])

    def _run_hits(self, words: tuple[str, ...]) -> tuple[Hit, ...]:
        """A name the speech model split in two or three: "Gul Nara", "I Gareem",
        "Sagin Bay ever" (Sagynbayeva); cached per run."""
        cached = self._run_cache.get(words)
        if cached is None:
            cached = self._decide_run(words)
            if len(self._run_cache) > _CACHE_LIMIT:
                self._run_cache.clear()
            self._run_cache[words] = cached
        return cached

    def _decide_run(self, words: tuple[str, ...]) -> tuple[Hit, ...]:
        cues = [_run_cue(word) for word in words]
        raw_key = "".join(cue.raw_key for cue in cues)
        if any((a.raw_key[-1:] + b.raw_key[:1]) in _FOLDS for a, b in itertools.pairwise(cues)):
            raw_key = _raw_key("".join(words))  # a spelling across the gap: "Z Haksylykov"
        low, high = self._joined_window
        if not low <= len(raw_key) <= high:
            return ()
        script = _script("".join(words))
        hits = self._key_hits(raw_key, script, joined_tokens=True, last_word=len(cues[-1].raw_key))
        if not hits and _first_sound(raw_key) in self._sounds:
            longest = max(len(cue.raw_key) for cue in cues) + 1
            if any(cue.unusual for cue in cues):
                hits = self._guess(raw_key, run=True, longer_than=longest)
            elif (raw_key[0], raw_key[-1]) in self._long_ends and any(
                cue.capital for cue in cues[1:]
            ):
                hits = self._guess(raw_key, run=True, strict=True, longer_than=longest)
        return _ordered(hits) if hits else ()

    # finding ------------------------------------------------------------------------

    def find(self, text: str) -> list[Mention]:
        """Every mention in ``text``: sorted, non-overlapping, one span per run of a
        person's name parts ("Gulnara Bekova" is one span, not two)."""
        tokens = _tokens(text)
        spans: list[_Span] = []
        firm = [False] * len(tokens)  # tokens found by their spelling, not by a guess
        for index, (start, end, word) in enumerate(tokens):
            found = self._spans_in_token(index, start, end, word)
            spans.extend(found)
            firm[index] = any(span.hits[0][0] <= _RANK["transliterated"] for span in found)
        spans.extend(self._split_name_spans(text, tokens, firm))
        chosen = _choose_people(_drop_overlaps(spans))
        chosen = self._complete_names(text, tokens, chosen)
        return _merge_runs(text, chosen, self._initials)

    def _spans_in_token(self, index: int, start: int, end: int, word: str) -> list[_Span]:
        hits = self._token_hits(word)
        hyphenated = bool(_SPLIT_RE.search(word))
        if hits and (hits[0][0] <= _RANK["joined"] or not hyphenated):
            return [_Span(start, end, hits, index, index)]
        found = []
        if hyphenated:  # "Гульнара-апай": the name part alone
            offset = start
            for piece in _SPLIT_RE.split(word):
                piece_hits = self._token_hits(piece) if piece else ()
                if piece_hits:
                    found.append(_Span(offset, offset + len(piece), piece_hits, index, index))
                offset += len(piece) + 1
        if hits and not found:  # only a guess at the whole hyphenated word
            found.append(_Span(start, end, hits, index, index))
        return found

    def _split_name_spans(
        self, text: str, tokens: list[tuple[int, int, str]], firm: list[bool]
    ) -> list[_Span]:
        """Runs of two or three neighbouring tokens, none found by its spelling, read as
        one word ("Gul Nara"; three only after a capitalised unknown word: "Sagin Bay
        ever")."""
        found = []
        cues = [_run_cue(word) for _start, _end, word in tokens]
        for first in range(len(tokens)):
            for size in _RUN_SIZES:
                last = first + size - 1
                if last >= len(tokens) or firm[first] or firm[last]:
                    break
                if not _is_space(text[tokens[last - 1][1] : tokens[last][0]]):
                    break
                if size == 3 and not _could_be_name(tokens[first][2]):
                    break  # three pieces only of a word the model took for a name
                if not self._run_may_name(cues[first : last + 1]):
                    continue
                hits = self._run_hits(tuple(word for _s, _e, word in tokens[first : last + 1]))
                if hits:
                    found.append(_Span(tokens[first][0], tokens[last][1], hits, first, last))
        return found

    def _complete_names(
        self, text: str, tokens: list[tuple[int, int, str]], spans: list[_Span]
    ) -> list[_Span]:
        """Take in a capitalised, unusual Latin word right beside a found part of a name
        that has another part on that side: tiny.en wrote "Dolara Bicova" for "Gulnara
        Bekova" and "Daniel Lokafarot" for "Daniel Okafor"; "Bicova" and "Daniel" are
        found, and their neighbours are the rest of the name, however garbled. Latin
        only: that is how an English model garbles a foreign name, while in Cyrillic
        text the word beside a name is Russian or Kazakh, which wordfreq cannot always
        tell from a name (it has no Kazakh: "Біз Бекова" is "we, Bekova")."""
        taken = {index for span in spans for index in range(span.first, span.last + 1)}
        extra = []
        for span in spans:
            sides = next(hit[2] for hit in span.hits if hit[1] == span.person)
            for side, neighbour in ((_BEFORE, span.first - 1), (_AFTER, span.last + 1)):
                if not sides & side or not 0 <= neighbour < len(tokens) or neighbour in taken:
                    continue
                start, end, word = tokens[neighbour]
                gap = text[end : span.start] if side == _BEFORE else text[span.end : start]
                if _is_space(gap) and _could_be_name(word) and not _CYRILLIC_RE.search(word):
                    hit = (_RANK["phonetic"], span.person, 0)
                    extra.append(
                        _Span(start, end, (hit,), neighbour, neighbour, span.person, hit[0])
                    )
                    taken.add(neighbour)
        return sorted(spans + extra, key=lambda span: span.start)


# -- assembling mentions ------------------------------------------------------------------


def _add_hit(hits: dict[int, Hit], hit: Hit) -> None:
    """Keep the best rank per person, and every side any matched part allows."""
    rank, person, sides = hit
    old = hits.get(person)
    hits[person] = hit if old is None else (min(rank, old[0]), person, sides | old[2])


def _ordered(hits: dict[int, Hit]) -> tuple[Hit, ...]:
    return tuple(sorted(hits.values()))


@dataclass(slots=True)
class _Span:
    start: int
    end: int
    hits: tuple[Hit, ...]  # best first
    first: int  # token indexes covered
    last: int
    person: int = -1
    rank: int = 0


def _drop_overlaps(spans: list[_Span]) -> list[_Span]:
    """Of overlapping spans keep the surest, then the longest ("Cathe Rine" joined beats
    "Cathe" guessed as "Kate"); the result is in text order."""
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (s.hits[0][0], s.start - s.end, s.start)):
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    return sorted(kept, key=lambda span: span.start)


def _choose_people(spans: list[_Span]) -> list[_Span]:
    """One person per span: the best match; a tie (sisters sharing "Бекова") goes to
    the person a neighbouring span names, so "Гульнара Бекова" stays one person."""
    for span in spans:
        span.rank, span.person = span.hits[0][0], span.hits[0][1]
    for index, span in enumerate(spans):
        tied = [person for rank, person, _sides in span.hits if rank == span.rank]
        if len(tied) < 2:
            continue
        for neighbour in spans[max(0, index - 1) : index] + spans[index + 1 : index + 2]:
            if neighbour.person in tied:
                span.person = neighbour.person
                break
    return spans


_INITIAL_RE = re.compile(r"(?<![^\W\d_])([^\W\d_])\. ?$")


def _merge_runs(text: str, spans: list[_Span], initials: dict[int, set[str]]) -> list[Mention]:
    """Join a person's neighbouring spans separated only by spaces or a hyphen, and take
    in an initial before them ("Г. Бекова")."""
    mentions: list[Mention] = []
    for span in spans:
        last = mentions[-1] if mentions else None
        start = max(_with_initial(text, span, initials), last.end if last else 0)
        gap = text[last.end : start] if last else ""
        if last and last.key == span.person and (_is_space(gap) or gap in ("-", "")):
            weakest = max(_RANK[last.how], span.rank)
            mentions[-1] = Mention(last.start, span.end, last.key, HOW[weakest])
        else:
            mentions.append(Mention(start, span.end, span.person, HOW[span.rank]))
    return mentions


def _with_initial(text: str, span: _Span, initials: dict[int, set[str]]) -> int:
    match = _INITIAL_RE.search(text, max(0, span.start - 3), span.start)
    if match and match.group(1).isupper():
        letter = spelling_key(match.group(1))[:1]
        if letter and letter in initials.get(span.person, ()):
            return match.start()
    return span.start
