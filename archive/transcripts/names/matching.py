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
import re
from collections.abc import Iterable
from dataclasses import dataclass

from archive.transcripts.names.sounds import _first_sound, _resemblance, sound_distance
from archive.transcripts.names.spelling import (
    _FOLDS,
    _GLUED,
    _GLUED_MIN_LENGTH,
    _LONGEST_ENDING,
    _PREFIX,
    _collapse,
    _guess_readings,
    _head,
    _raw_key,
    _stems,
    spelling_key,
)
from archive.transcripts.names.thresholds import (
    COMMON_ZIPF,
    FUZZY_MIN_LENGTH,
    JOINED_MIN_LENGTH,
    SHORT_PART_LENGTH,
)
from archive.transcripts.names.tokens import (
    _AFTER,
    _BEFORE,
    _SPLIT_RE,
    Hit,
    _is_space,
    _name_parts,
    _patronymic_forms,
    _sides,
    _stem_forms,
    _Target,
    _tokens,
)
from archive.transcripts.names.words import (
    _CYRILLIC_RE,
    _could_be_name,
    _may_be_glued,
    _run_cue,
    _RunCue,
    _script,
    is_common_word,
    word_zipf,
)

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

#: The version of what the names package (archive/transcripts/names/) finds. The name
#: spans kept on each segment (``Segment.name_spans``) are keyed on it
#: (``redaction.Redactor.remember``): bump it whenever a change in any module of the
#: package can find a different set of names in the same text (a threshold, a folding
#: rule, a new way of matching), so every stored span is looked for again. A change that
#: finds the same names (a comment, a rename, a faster cache) keeps it, and the stored
#: spans stay valid.
MATCHER_VERSION = 1

# -- thresholds ---------------------------------------------------------------------------

# The tuned ones are in ``thresholds.py``, which every part of the matcher reads.

#: How a mention was found, from most to least certain. A span merged from several
#: tokens reports the least certain, which is what a reviewer needs to check.
HOW = ("exact", "inflected", "transliterated", "joined", "fuzzy", "phonetic")
_RANK = {how: rank for rank, how in enumerate(HOW)}

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
