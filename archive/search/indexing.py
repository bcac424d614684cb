"""Keeps the search index in step with what readers may see of an interview.

The index holds the redacted rendering (pseudonyms, names and marked spans hidden),
rebuilt in the same transaction as every change to the transcript, its speakers,
its redactions or its agreement, and emptied when the interview is withdrawn.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from archive import search
from archive.interviews import identity
from archive.models import Interview, Segment, SegmentTranslation
from archive.transcription import translation_track
from archive.transcripts.redaction import Redactor


def reindex(session: Session, interview: Interview) -> bool:
    """Replace the interview's index rows by its current redacted rendering, from
    the caller's pending changes (flushed first) and inside its transaction.
    True when the names found in its text moved (its listening copy is stale)."""
    session.flush()
    if interview.withdrawn_at is not None:
        search.remove_interview(session, interview.id)
        return False
    redactor = Redactor(interview)
    speakers = {s.id: s for s in interview.speakers}
    rows = []
    moved = False
    for segment in session.scalars(_segments(interview)):
        before = segment.name_spans
        redactor.remember(segment)
        moved = moved or (segment.name_spans or None) != (before or None)
        rows.append(_row(segment, speakers, redactor.text(segment)))
    rows += _translation_rows(session, interview, redactor, speakers)
    search.index_interview(session, interview.id, rows)
    translation_track.refresh(session, interview)
    return moved


def _row(segment, speakers: dict, text: str, track: str = "original") -> search.IndexRow:
    """One index row: the segment's place and public speaker, with ``text`` as shown."""
    speaker = speakers.get(segment.speaker_id)
    return search.IndexRow(
        segment_id=segment.id,
        recording_id=segment.recording_id,
        start=segment.start,
        speaker=identity.public_name(speaker) if speaker else "",
        speaker_role=speaker.role if speaker else "",
        text=text,
        track=track,
    )


def _translation_rows(session: Session, interview: Interview, redactor, speakers) -> list:
    """The machine translation of each segment, hidden as its original is (see
    ``Redactor.translation``), indexed as a row of its own marked ``translation``:
    a hit on it says it matched the translation."""
    rows = []
    for segment, translated in session.execute(_translated(interview)):
        shown = redactor.translation(segment, translated.text)
        if not shown:
            continue
        rows.append(_row(segment, speakers, shown, track="translation"))
    return rows


def _translated(interview: Interview) -> Select:
    """Readable segments with a translation made from them as they are now."""
    return (
        Segment.in_reading_order(interview.id, Segment, SegmentTranslation)
        .join(SegmentTranslation, SegmentTranslation.segment_id == Segment.id)
        .where(
            Segment.readable(),
            SegmentTranslation.source_version == Segment.version,
            SegmentTranslation.suspect.is_(None),
        )
    )


def reindex_others(session: Session, interview: Interview) -> list[Interview]:
    """After a protected name changed in ``interview``: every other interview hides
    it too (as "[name withheld]"), so each is reindexed; returns those whose text
    mentions a name differently now (their listening copies are remade)."""
    others = session.scalars(
        select(Interview).where(Interview.id != interview.id, Interview.withdrawn_at.is_(None))
    )
    return [other for other in others if reindex(session, other)]


def _segments(interview: Interview) -> Select:
    """Whole segments (not the rows pages read): indexing keeps on each the names
    it found."""
    return Segment.in_reading_order(interview.id).where(Segment.readable())
