"""Keeps the search index in step with what readers may see of an interview.

The index holds the redacted rendering (pseudonyms, names and marked spans hidden),
rebuilt in the same transaction as every change to the transcript, its speakers,
its redactions or its agreement, and emptied when the interview is withdrawn.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from archive import identity, search
from archive.models import Interview, Recording, Segment
from archive.redaction import Redactor


def reindex(session: Session, interview: Interview) -> None:
    """Replace the interview's index rows by its current redacted rendering, from
    the caller's pending changes (flushed first) and inside its transaction."""
    session.flush()
    if interview.withdrawn_at is not None:
        search.remove_interview(session, interview.id)
        return
    redactor = Redactor(interview)
    speakers = {s.id: s for s in interview.speakers}
    rows = []
    for segment in session.scalars(_segments(interview)):
        redactor.remember(segment)
        speaker = speakers.get(segment.speaker_id)
        rows.append(
            search.IndexRow(
                segment_id=segment.id,
                recording_id=segment.recording_id,
                start=segment.start,
                speaker=identity.public_name(speaker) if speaker else "",
                speaker_role=speaker.role if speaker else "",
                text=redactor.text(segment),
            )
        )
    search.index_interview(session, interview.id, rows)


def _segments(interview: Interview) -> Select:
    """Whole segments (not the rows pages read): indexing keeps on each the names
    it found."""
    return (
        select(Segment)
        .join(Recording)
        .where(Recording.interview_id == interview.id)
        .order_by(Recording.position, Segment.start, Segment.id)
    )
