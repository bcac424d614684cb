"""Keeps the search index in step with what readers may see of an interview.

The index holds the redacted rendering (pseudonyms, names and marked spans hidden),
rebuilt in the same transaction as every change to the transcript, its speakers,
its redactions or its agreement, and emptied when the interview is withdrawn.

Two ways, one rendering:

- ``reindex``: the whole interview, for every change that can alter what is hidden
  anywhere in it (a speaker's name or pseudonym, the agreement, another
  interview's protected names, a finished transcription, an import).
- ``reindex_segments``: only the segments a change touched (an edit of one
  segment, its split or merge, a redaction in it). What is hidden in a segment
  depends on its own text, its held name spans and its marked redactions, and on
  the interview's protected names (which these changes leave as they are), never
  on another segment's text: so the rows it writes are those ``reindex`` would
  write (tests/search/test_incremental_index.py plays random edits through both).
"""

from __future__ import annotations

from collections.abc import Iterable

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


def reindex_segments(session: Session, interview: Interview, segment_ids: Iterable[int]) -> bool:
    """Replace the index rows of ``segment_ids`` (original and translation) by their
    current redacted rendering, from the caller's pending changes (flushed first)
    and inside its transaction; the interview's other rows stay. A segment deleted
    (merged away) or unreadable (doubted) loses its rows. True when the names found
    in these segments moved (the listening copy is stale).

    Only for changes confined to these segments' text, times, speaker or marked
    redactions: anything that changes a name or a pseudonym, or the agreement,
    takes ``reindex``. An interview not indexed yet is indexed whole."""
    session.flush()
    wanted = set(segment_ids)
    if interview.withdrawn_at is not None:
        search.remove_interview(session, interview.id)
        return False
    redactor = Redactor(interview)
    speakers = {s.id: s for s in interview.speakers}
    rows = []
    moved = False
    for segment in session.scalars(_segments(interview).where(Segment.id.in_(wanted))):
        before = segment.name_spans
        redactor.remember(segment)
        moved = moved or (segment.name_spans or None) != (before or None)
        rows.append(_row(segment, speakers, redactor.text(segment)))
    rows += _translation_rows(session, interview, redactor, speakers, wanted)
    if not search.replace_segments(session, interview.id, wanted, rows):
        return reindex(session, interview)
    translation_track.refresh(session, interview, segment_ids=wanted)
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


def _translation_rows(
    session: Session, interview: Interview, redactor, speakers, segment_ids=None
) -> list:
    """The machine translation of each segment (of ``segment_ids`` only, when
    given), hidden as its original is (see ``Redactor.translation``), indexed as a
    row of its own marked ``translation``: a hit on it says it matched the
    translation."""
    query = _translated(interview)
    if segment_ids is not None:
        query = query.where(Segment.id.in_(segment_ids))
    rows = []
    for segment, translated in session.execute(query):
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
