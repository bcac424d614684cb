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

Both also depend on the name matcher's version (``MATCHER_VERSION``): a newer
matcher may find a name an older one missed. ``reindex`` records the version it
ran with on the interview (``Interview.names_matched_with``); an interview
recorded with an older one (or none) is *behind*. Its index may hold a name, and
its listening copies may let one be heard, so:

- the worker's catch-up (``search.catch_up``, at its start and hourly) reindexes
  every interview that is behind;
- ``reindex_segments`` on an interview that is behind reindexes it whole: the
  first edit after an upgrade catches the interview up rather than refresh a few
  segments' names and leave the rest to an index the catch-up would then think
  unchanged;
- ``reindex`` on an interview that is behind, when the names found moved,
  outdates its listening copies itself and queues them after the commit: they
  were toned out with the older matcher's names, and the caller (a finished
  translation, a pseudonym changed) may not be one that looks at the answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from archive import search
from archive.interviews import identity
from archive.models import Interview, Segment, SegmentTranslation
from archive.recordings import listening_copies
from archive.transcription import translation_track
from archive.transcripts.names import matching as name_matching
from archive.transcripts.redaction import Redactor


def reindex(session: Session, interview: Interview) -> bool:
    """Replace the interview's index rows by its current redacted rendering, from
    the caller's pending changes (flushed first) and inside its transaction.
    True when the names found in its text moved (its listening copy is stale)."""
    session.flush()
    if interview.withdrawn_at is not None:
        search.remove_interview(session, interview.id)
        return False
    version = name_matching.MATCHER_VERSION
    behind = is_behind(interview)
    rows, moved = _rendered_rows(session, interview)
    search.index_interview(session, interview.id, rows)
    translation_track.refresh(session, interview)
    if behind:
        _record_version(session, interview, version)
        if moved:
            # Toned out with the names an older matcher found.
            remake_listening_copies(interview)
    return moved


def remake_listening_copies(interview: Interview) -> None:
    """The interview's listening copies, if any were made, were toned out with names
    that have moved: not served from now on, made again once this is committed."""
    if any(r.access_copy_key for r in interview.recordings):
        listening_copies.outdate(interview)
        listening_copies.rebuild_after_commit(interview)


def is_behind(interview: Interview) -> bool:
    """Whether the interview's index and kept names were last wholly computed by an
    older matcher than this one (or it is not known by which)."""
    recorded = interview.names_matched_with
    return recorded is None or recorded < name_matching.MATCHER_VERSION


def _record_version(session: Session, interview: Interview, version: int) -> None:
    """Record the matcher version on the interview without touching ``updated_at``:
    reindexing changes nothing the catalogue shows (OAI-PMH harvesters would fetch
    every record again after an upgrade)."""
    session.execute(
        update(Interview)
        .where(Interview.id == interview.id)
        .values(names_matched_with=version, updated_at=Interview.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.expire(interview, ["names_matched_with"])


def behind_interviews(session: Session) -> list[int]:
    """The ids of the interviews a whole reindex would catch up with this matcher (one
    query): behind, and not withdrawn (a withdrawn interview's index stays empty)."""
    recorded = Interview.names_matched_with
    return list(
        session.scalars(
            select(Interview.id)
            .where(
                Interview.withdrawn_at.is_(None),
                recorded.is_(None) | (recorded < name_matching.MATCHER_VERSION),
            )
            .order_by(Interview.id)
        )
    )


def reindex_segments(session: Session, interview: Interview, segment_ids: Iterable[int]) -> bool:
    """Replace the index rows of ``segment_ids`` (original and translation) by their
    current redacted rendering, from the caller's pending changes (flushed first)
    and inside its transaction; the interview's other rows stay. A segment deleted
    (merged away) or unreadable (doubted) loses its rows. True when the names found
    in these segments moved (the listening copy is stale).

    Only for changes confined to these segments' text, times, speaker or marked
    redactions: anything that changes a name or a pseudonym, or the agreement,
    takes ``reindex``. An interview not indexed yet, or indexed by an older name
    matcher (``is_behind``), is indexed whole."""
    session.flush()
    wanted = set(segment_ids)
    if interview.withdrawn_at is not None:
        search.remove_interview(session, interview.id)
        return False
    if is_behind(interview):
        return reindex(session, interview)
    rows, moved = _rendered_rows(session, interview, wanted)
    if not search.replace_segments(session, interview.id, wanted, rows):
        return reindex(session, interview)
    translation_track.refresh(session, interview, segment_ids=wanted)
    return moved


def _rendered_rows(
    session: Session, interview: Interview, segment_ids: set[int] | None = None
) -> tuple[list[search.IndexRow], bool]:
    """The index rows (original and translation) of the interview's readable
    segments, of ``segment_ids`` only when given, as readers see them; and whether
    the names found in them moved (their kept name spans are updated on the way)."""
    redactor = Redactor(interview)
    speakers = {s.id: s for s in interview.speakers}
    query = _segments(interview)
    if segment_ids is not None:
        query = query.where(Segment.id.in_(segment_ids))
    rows = []
    moved = False
    for segment in session.scalars(query):
        before = segment.name_spans
        redactor.remember(segment)
        moved = moved or (segment.name_spans or None) != (before or None)
        rows.append(_row(segment, speakers, redactor.text(segment)))
    rows += _translation_rows(session, interview, redactor, speakers, segment_ids)
    return rows, moved


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
