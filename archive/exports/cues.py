"""Subtitle cues shared by SRT and WebVTT.

A segment longer than ``MAX_SECONDS`` or ``MAX_LINES`` lines of ``MAX_LINE_CHARS``
characters is split at word boundaries into several cues; the segment's time is
shared out in proportion to the characters of each part. A single word longer than
a line stays whole (it cannot be split at a word boundary), as does a single word
that lasts longer than ``MAX_SECONDS``. Times are the interview's: offset + start.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive.exports.model import ExportDocument

MAX_SECONDS = 7.0
MAX_LINE_CHARS = 42
MAX_LINES = 2


@dataclass(frozen=True)
class Cue:
    start: float  # seconds from the start of the interview
    end: float
    speaker: str
    lines: tuple[str, ...]
    speaker_changed: bool  # the first cue of a new speaker (SRT labels it)
    language: str | None = None  # the language its segment was transcribed in


def _fits(lines: list[list[str]], word: str, first_line_extra: int) -> bool:
    last = lines[-1]
    extra = first_line_extra if len(lines) == 1 else 0
    width = extra + sum(len(w) for w in last) + len(last) + len(word)  # spaces between
    if not last or width <= MAX_LINE_CHARS:
        return True
    return len(lines) < MAX_LINES


def _add(lines: list[list[str]], word: str, first_line_extra: int) -> None:
    last = lines[-1]
    extra = first_line_extra if len(lines) == 1 else 0
    width = extra + sum(len(w) for w in last) + len(last) + len(word)
    if last and width > MAX_LINE_CHARS:
        lines.append([word])
    else:
        last.append(word)


def cues(doc: ExportDocument, label_width=None) -> list[Cue]:
    """The document's cues in order. ``label_width(speaker)`` is how many characters a
    speaker label takes on the first line of a speaker's first cue (0 for WebVTT)."""
    result: list[Cue] = []
    previous_speaker: str | None = None
    for segment in doc.segments:
        words = segment.text.split()
        if not words:
            continue
        start, end = segment.abs_start, segment.abs_end
        changed = segment.speaker != previous_speaker
        previous_speaker = segment.speaker
        # cumulative character weight before each word (a word and the space after it)
        cumulative = [0]
        for word in words:
            cumulative.append(cumulative[-1] + len(word) + 1)
        total = cumulative[-1]

        def at(index: int, start=start, end=end, cumulative=cumulative, total=total) -> float:
            return start + (end - start) * cumulative[index] / total

        first = 0
        extra = label_width(segment.speaker) if (changed and label_width) else 0
        lines: list[list[str]] = [[]]
        for i, word in enumerate(words):
            too_long = i > first and at(i + 1) - at(first) > MAX_SECONDS
            if too_long or not _fits(lines, word, extra):
                result.append(
                    _cue(
                        at(first),
                        at(i),
                        segment.speaker,
                        lines,
                        changed and first == 0,
                        segment.language,
                    )
                )
                first, extra, lines = i, 0, [[]]
            _add(lines, word, extra)
        result.append(
            _cue(at(first), end, segment.speaker, lines, changed and first == 0, segment.language)
        )
    return result


def _cue(
    start: float,
    end: float,
    speaker: str,
    lines: list[list[str]],
    changed: bool,
    language: str | None = None,
) -> Cue:
    return Cue(start, end, speaker, tuple(" ".join(line) for line in lines), changed, language)
