"""What an archivist should check first: each interview's segments ranked by how
likely they are to be wrong, so an hour of review goes where it matters.

Owns the ranking and the counts shown to staff. Reads segments through
``rendering.segments_of`` (doubted ones included) and imports nothing that writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from archive.extensions import db
from archive.models import Interview, Recording, Segment
from archive.transcripts import rendering

#: Words the model gave less than this probability are uncertain (marked in the editor).
UNSURE_BELOW = 0.5
#: A segment with at least this share of uncertain words is worth a second listen.
UNSURE_SHARE = 0.2
#: Whisper's own threshold for a window it did not trust (average log-probability).
LOW_CONFIDENCE = -1.0
#: A turn this short between two other speakers is often a speaker change heard wrong.
SHORT_TURN_SECONDS = 1.5

#: How much each reason weighs: a doubted segment (a possible hallucination) comes
#: before anything else; then the share of uncertain words; then the rest.
WEIGHTS = {"doubted": 10.0, "unsure_words": 5.0, "low_confidence": 1.0, "short_turn": 0.5}
#: The words shown for each reason (the editor's list and the interview page).
REASONS = {
    "doubted": "possible hallucination",
    "unsure_words": "many uncertain words",
    "low_confidence": "low confidence",
    "short_turn": "short turn between speakers",
}


@dataclass(frozen=True)
class Risk:
    """One segment to check: where it is, how risky, and why."""

    segment_id: int
    recording_id: int
    start: float
    score: float
    reasons: tuple[str, ...]


#: The columns ``rank`` reads, beyond those ``rendering.segments_of`` always gives.
COLUMNS = (Segment.words, Segment.avg_logprob, Segment.suspect)


def risks(interview: Interview) -> list[Risk]:
    """The interview's segments worth checking, riskiest first (then in order)."""
    return rank(rendering.segments_of(interview, *COLUMNS, doubted=True))


def rank(rows: list) -> list[Risk]:
    """Rows of ``segments_of`` with ``COLUMNS``, in reading order, ranked by risk."""
    found = []
    for index, row in enumerate(rows):
        previous = rows[index - 1] if index else None
        following = rows[index + 1] if index + 1 < len(rows) else None
        scored = _score(row, previous, following)
        if scored is not None:
            found.append(scored)
    return sorted(found, key=lambda risk: (-risk.score, risk.recording_id, risk.start))


def _score(row, previous, following) -> Risk | None:
    weights: dict[str, float] = {}
    if row.suspect:
        weights["doubted"] = WEIGHTS["doubted"]
    words = row.words or []
    if words:
        unsure = sum(w.get("probability", 1.0) < UNSURE_BELOW for w in words) / len(words)
        if unsure >= UNSURE_SHARE:
            weights["unsure_words"] = WEIGHTS["unsure_words"] * unsure
    if row.avg_logprob is not None and row.avg_logprob < LOW_CONFIDENCE:
        weights["low_confidence"] = WEIGHTS["low_confidence"]
    if _short_turn(row, previous, following):
        weights["short_turn"] = WEIGHTS["short_turn"]
    if not weights:
        return None
    return Risk(row.id, row.recording_id, row.start, sum(weights.values()), tuple(weights))


def _short_turn(row, previous, following) -> bool:
    if previous is None or following is None or row.end - row.start >= SHORT_TURN_SECONDS:
        return False
    return previous.speaker_id != row.speaker_id != following.speaker_id


def doubted_counts(interview_ids: Iterable[int]) -> dict[int, int]:
    """How many doubted segments each interview has (one query, for a list page)."""
    ids = list(interview_ids)
    if not ids:
        return {}
    query = (
        select(Recording.interview_id, func.count(Segment.id))
        .join(Segment, Segment.recording_id == Recording.id)
        .where(Recording.interview_id.in_(ids), Segment.suspect.is_not(None))
        .group_by(Recording.interview_id)
    )
    return {interview_id: int(count) for interview_id, count in db.session.execute(query)}
