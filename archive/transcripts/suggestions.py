"""Spans worth a look before a transcript is opened, and the marked redactions to review.

Nothing here hides anything: it points an archivist at words that may need a
redaction (``redaction`` decides what is hidden).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Recording, Redaction, Segment
from archive.transcripts.positions import chips, rendered_offset
from archive.transcripts.redaction import Redactor, redactor_for


@dataclass(frozen=True)
class Suggestion:
    """A span worth a look before the transcript is opened: nothing is hidden by it."""

    segment_id: int
    start: int
    end: int
    text: str
    kind: str  # "name", "place", "number"


_TOKEN = re.compile(r"\b[^\W\d_][\w'’-]*\b")
_NUMBER = re.compile(r"(?<!\w)(?:\+?\d[\d ()-]{4,}\d)(?!\w)")
_PLACE_WORDS = frozenset(
    "in from at near to into through outside inside в во из на под около возле до от у".split()
)
_SENTENCE_END = re.compile(r"[.!?…:]\s*$")


def _common(word: str) -> bool:
    """An ordinary word in English or Russian (wordfreq), not worth suggesting."""
    # Imported on first use: wordfreq takes over 2 s to import, and most requests
    # never need an ordinary word's frequency.
    from wordfreq import zipf_frequency

    lowered = word.casefold()
    return max(zipf_frequency(lowered, "en"), zipf_frequency(lowered, "ru")) >= 4.0


def suggestions(interview: Interview, limit: int = 200, user: Any = None) -> list[Suggestion]:
    """Capitalised words nobody named, places after "in"/"from"/"в"/"из", and
    numbers that look like phones or ids, outside what is already hidden; with
    ``user``, placed in the text as that user reads it (what a redaction takes)."""
    redactor = Redactor(interview)
    rendered = user is not None and redactor_for(user, interview) is not None
    known = {identity.public_name(s).casefold() for s in interview.all_speakers}
    found: list[Suggestion] = []
    for segment in _segments(interview):
        hidden = redactor.hidden(segment)
        placed = chips(hidden)
        for suggestion in _candidates(segment, known):
            if not any(h.start < suggestion.end and suggestion.start < h.end for h in hidden):
                if rendered:
                    start = rendered_offset(placed, suggestion.start)
                    suggestion = Suggestion(
                        suggestion.segment_id,
                        start,
                        start + suggestion.end - suggestion.start,
                        suggestion.text,
                        suggestion.kind,
                    )
                found.append(suggestion)
                if len(found) >= limit:
                    return found
    return found


def _segments(interview: Interview) -> list[Segment]:
    return list(db.session.scalars(Segment.in_reading_order(interview.id)))


def _candidates(segment: Segment, known: set[str]) -> list[Suggestion]:
    text, out = segment.text, []
    for match in _NUMBER.finditer(text):
        if sum(ch.isdigit() for ch in match.group()) >= 5:
            out.append(Suggestion(segment.id, match.start(), match.end(), match.group(), "number"))
    previous = ""
    for match in _TOKEN.finditer(text):
        word = match.group()
        starts_sentence = match.start() == 0 or _SENTENCE_END.search(text[: match.start()])
        capitalised = word[0].isupper() and word.casefold() not in known
        if capitalised and previous.casefold() in _PLACE_WORDS and not _common(word):
            out.append(Suggestion(segment.id, match.start(), match.end(), word, "place"))
        elif capitalised and not starts_sentence and len(word) > 2 and not _common(word):
            out.append(Suggestion(segment.id, match.start(), match.end(), word, "name"))
        previous = word
    return sorted(out, key=lambda s: s.start)


def marked_spans(interview: Interview) -> list[Redaction]:
    """The archivists' redactions of an interview, active ones first, for review."""
    query = (
        select(Redaction)
        .join(Segment)
        .join(Recording)
        .where(Recording.interview_id == interview.id)
        .order_by(Redaction.removed_at.is_not(None), Segment.start, Redaction.start_char)
    )
    return list(db.session.scalars(query))
