"""Keeps the search index in step with what readers may see of an interview.

The index holds the redacted rendering (pseudonyms, names and marked spans hidden),
rebuilt in the same transaction as every change to the transcript, its speakers,
its redactions or its agreement, and emptied when the interview is withdrawn.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from archive import identity, search
from archive.models import Interview
from archive.redaction import Redactor
from archive.rendering import segments_of


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
    for segment in segments_of(interview):
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
