"""What the API shows of a segment's history, as output models.

A revision's text is shown as the reader may read it: custodians as it was typed,
everyone else (archivists correcting the transcript) with the names hidden then
hidden now, through the segment's redactor (``Redactor.earlier``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Self

from archive import accounts
from archive.models import Revision, Segment
from archive.schemas import View
from archive.transcripts import redaction

#: Who wrote a revision nobody signed: the machine transcript.
MACHINE_AUTHOR = "the transcription"


class RevisionView(View):
    """One version of a segment: what it said, when, who wrote it."""

    version: int
    kind: str
    text: str
    speaker_id: int | None
    start: float
    end: float
    author_id: int | None
    author: str
    at: str

    @classmethod
    def of(cls, revision: Revision, text: str, authors: Mapping[int, str]) -> Self:
        """``text``: the revision's text as the reader may read it."""
        return cls(
            version=revision.version,
            kind=revision.kind,
            text=text,
            speaker_id=revision.speaker_id,
            start=revision.start,
            end=revision.end,
            author_id=revision.author_id,
            author=authors.get(revision.author_id, MACHINE_AUTHOR),
            at=revision.created_at.isoformat() + "Z",
        )


class RevisionHistoryView(View):
    """A segment's versions, newest first, as one reader (``edit_transcript``) sees them."""

    revisions: list[RevisionView]

    @classmethod
    def of(cls, reader: Any, segment: Segment, history: Iterable[Revision]) -> Self:
        history = list(history)
        redactor = redaction.redactor_for(reader, segment.recording.interview)
        authors = accounts.names_of({r.author_id for r in history if r.author_id})
        return cls(
            revisions=[
                RevisionView.of(
                    r, redactor.earlier(segment, r.text) if redactor else r.text, authors
                )
                for r in history
            ]
        )
