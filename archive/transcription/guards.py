"""Hallucination guards on decoded text: repeated phrases, loops gzip sees, segments
that are mostly the hotwords or faster than speech, and whether hotwords help.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from archive.transcription.decoding_settings import (
    HOTWORD_SHARE,
    MAX_LETTERS_PER_SECOND,
    MAX_LOOP_PHRASE_WORDS,
    MIN_CHARS_FOR_COMPRESSION_CHECK,
    MIN_LOOP_REPEATS,
    MIN_LOOP_REPEATS_ONE_WORD,
    MIN_WORDS_FOR_DUPLICATE,
    MIN_WORDS_FOR_HOTWORD_CHECK,
    SEGMENT_COMPRESSION_RATIO,
)
from archive.transcription.languages import language_list

if TYPE_CHECKING:  # faster_whisper is imported lazily: it pulls onnxruntime and ctranslate2
    from faster_whisper import WhisperModel

    from archive.transcription.engine import Segment


#: Languages in which the interview's names and vocabulary are given to the model as
#: hotwords. Measured by bench/fidelity.py with base: in English they never made the
#: word error rate worse (0.113 with and without on the two-voice interview; names
#: 0.145 against 0.161 on the first draft) and added no word; in Russian they helped
#: one recording (0.38 against 0.59) and wrecked another, where base answered a
#: 14-second turn with "Тимур Ахметов Тимур Ахметов" (0.98 against 0.74, even after
#: the guard re-decoded it). Until the bigger models are measured, other languages are
#: transcribed without them, and their names are found by the matcher.
HOTWORD_LANGUAGES = frozenset({"en"})


def hotwords_help(model: WhisperModel, language: str | Sequence[str] | None) -> bool:
    """Whether the interview's names and vocabulary should prime this model for
    these languages (all of them in HOTWORD_LANGUAGES; see there); an English-only
    model always hears English."""
    if not model.model.is_multilingual:
        return True
    languages = language_list(language)
    return bool(languages) and all(code in HOTWORD_LANGUAGES for code in languages)


def hotword_tokens_of(hotwords: Sequence[str]) -> frozenset[str]:
    """The normalised words of the hotwords, as ``suspect_reason`` compares them."""
    return frozenset(normalise_text(" ".join(hotwords)).split())


def suspect_reason(seg: Segment, hotword_tokens: frozenset[str]) -> str | None:
    """Why a decoded segment is likely not what was said, or None.

    - "loop": a phrase said over and over (``is_phrase_loop``), or text that gzip
      compresses like a loop does (Whisper's compression ratio);
    - "hotwords": mostly the names and vocabulary the model was primed with;
    - "too_fast": more letters per second than anyone speaks.
    A suspect segment is decoded again without hotwords; see ``transcribe``.
    """
    norm = normalise_text(seg.text)
    words = norm.split()
    if not words:
        return None
    if is_phrase_loop(norm) or (
        len(norm) >= MIN_CHARS_FOR_COMPRESSION_CHECK
        and compression_ratio(norm) > SEGMENT_COMPRESSION_RATIO
    ):
        return "loop"
    if hotword_tokens and len(words) >= MIN_WORDS_FOR_HOTWORD_CHECK:
        primed = sum(word in hotword_tokens for word in words)
        if primed >= HOTWORD_SHARE * len(words):
            return "hotwords"
    letters = sum(ch.isalpha() for ch in norm)
    if letters / max(seg.end - seg.start, 1.0) > MAX_LETTERS_PER_SECOND:
        return "too_fast"
    return None


def compression_ratio(text: str) -> float:
    """Bytes of ``text`` over bytes gzip makes of it: about 1.5 for speech, 3+ for loops."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data))


_NON_WORD = re.compile(r"[^\w\s']+")


def normalise_text(text: str) -> str:
    """Lowercase, drop punctuation, collapse spaces: what "the same words" means."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def is_duplicate(norm: str, previous: str | None) -> bool:
    """True when a segment repeats the previous kept one word for word (and is long
    enough that a repeat is more likely a decoding loop than a real echo)."""
    return (
        previous is not None and norm == previous and len(norm.split()) >= MIN_WORDS_FOR_DUPLICATE
    )


def is_phrase_loop(norm: str) -> bool:
    """True when a segment is mostly one short phrase said over and over.

    Looks for the longest stretch in which the words repeat with a period of 1 to
    MAX_LOOP_PHRASE_WORDS words. It is a loop when the phrase repeats at least
    MIN_LOOP_REPEATS times (MIN_LOOP_REPEATS_ONE_WORD for a single word, since
    "no, no, no" is real speech) and the stretch covers at least half the segment:
    "thank you thank you thank you", or tiny.en on German audio: "we had to focus on
    the rest of the rest of the rest of the rest of the rest".
    """
    words = norm.split()
    n = len(words)
    for size in range(1, MAX_LOOP_PHRASE_WORDS + 1):
        needed = MIN_LOOP_REPEATS_ONE_WORD if size == 1 else MIN_LOOP_REPEATS
        if n < needed * size:
            break
        run = best = 0
        for j in range(size, n):
            if words[j] == words[j - size]:
                run += 1
                best = max(best, run + size)
            else:
                run = 0
        if best >= needed * size and 2 * best >= n:
            return True
    return False
