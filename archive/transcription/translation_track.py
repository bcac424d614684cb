"""The translation track's bookkeeping: which recordings need a translation, and
queuing them after the commit.

A recording not in English gets a machine English translation of each segment
(``translation`` is the job that makes it). Status per recording
(``Recording.translation_status``): None when none is wanted (English), else queued,
running, done or failed.

- Every change to a transcript reindexes it (``indexing.reindex``), which calls
  ``refresh`` here: a recording with a missing or stale translation is queued
  again, after the commit (a failed one too: the change may be its cure);
  ``flask --app wsgi translate [--retry-failed]`` queues an archive's backlog
  (``queue_all``).
- A stale translation is never shown: ``rendering`` shows a translation only while
  it was made from the segment as it is.

Apart from the job, so that indexing (which the job calls when it ends) can refresh
the track without importing the job.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from archive import queue, unit_of_work
from archive.extensions import db
from archive.models import Interview, Recording, Segment, SegmentTranslation

log = logging.getLogger(__name__)

LANGUAGE = "en"
#: How the track is named wherever it is shown (pages, exports, OHMS, VTT NOTE).
LABEL = "Machine translation"


def wanted(recording: Recording) -> bool:
    """A translation is made of a recording in a language other than English."""
    language = recording.language or recording.interview.language
    return bool(language) and language != LANGUAGE


# -- which segments need one ----------------------------------------------------


def _outdated_query(recording_id: int):
    """Ids of the recording's readable segments without an up-to-date translation."""
    return (
        select(Segment.id)
        .outerjoin(SegmentTranslation, SegmentTranslation.segment_id == Segment.id)
        .where(
            Segment.recording_id == recording_id,
            Segment.readable(),
            or_(
                SegmentTranslation.id.is_(None),
                SegmentTranslation.source_version != Segment.version,
            ),
        )
        .order_by(Segment.start, Segment.id)
    )


def outdated(recording_id: int) -> list[int]:
    return list(db.session.scalars(_outdated_query(recording_id)))


def refresh(
    session: Session,
    interview: Interview,
    retry_failed: bool = True,
    segment_ids: Collection[int] | None = None,
) -> list[int]:
    """Queue (after the commit) the translation of each transcribed recording of
    the interview with a segment whose translation is missing or stale. Called by
    ``indexing.reindex``, so every change to a transcript keeps its track in step.

    ``segment_ids``: the change touched only these segments (``indexing.
    reindex_segments``), so only their recordings are looked at, each answered
    first by those segments (an edited text is stale at once: one lookup by id,
    where the recording's whole track costs 12-17 ms for 2,500 segments), and by
    the whole recording only when they are all up to date (a redaction): the
    same answer as a whole refresh, for the recordings the change can alter."""
    queued = []
    touched = None
    if segment_ids is not None:
        touched = set(
            session.scalars(select(Segment.recording_id).where(Segment.id.in_(segment_ids)))
        )
    for recording in interview.recordings:
        if touched is not None and recording.id not in touched:
            continue  # nothing of it changed: its track stands as the last refresh left it
        if recording.status != "done" or not wanted(recording):
            continue
        if recording.translation_status in ("queued", "running"):
            continue  # the running job looks again before it ends
        if recording.translation_status == "failed" and not retry_failed:
            continue
        if not _any_outdated(session, recording.id, segment_ids):
            if recording.translation_status is None:
                recording.translation_status = "done"  # nothing readable to translate
            continue
        recording.translation_status = "queued"
        recording.translation_error = None
        queued.append(recording.id)
    if queued:
        # Each recording once per transaction: a second refresh finds it "queued".
        unit_of_work.after_commit(lambda: _enqueue(queued))
    return queued


def _any_outdated(session: Session, recording_id: int, segment_ids=None) -> bool:
    """Whether a readable segment of the recording lacks an up-to-date translation:
    asked of ``segment_ids`` first when given (cheap), then of the whole recording."""
    query = _outdated_query(recording_id).limit(1)
    if segment_ids is not None:
        touched = query.where(Segment.id.in_(segment_ids))
        if session.scalar(touched) is not None:
            return True
    return session.scalar(query) is not None


def _enqueue(recording_ids: list[int]) -> None:
    """Queue the jobs once their "queued" status is committed (never after a rollback)."""
    for recording_id in recording_ids:
        try:
            queue.enqueue_translation(recording_id)
        except Exception as exc:  # the queue is down: recovery queues it again
            log.warning(
                "translation of recording %s not queued (%s)", recording_id, type(exc).__name__
            )


def forget(session: Session, *, recording_id: int | None = None, segment_id: int | None = None):
    """Delete the translations of a recording's segments, or of one segment, before
    the segments themselves are deleted (a retried job, a merge)."""
    if segment_id is not None:
        session.execute(
            delete(SegmentTranslation).where(SegmentTranslation.segment_id == segment_id)
        )
    if recording_id is not None:
        ids = select(Segment.id).where(Segment.recording_id == recording_id)
        session.execute(delete(SegmentTranslation).where(SegmentTranslation.segment_id.in_(ids)))


def queue_all(retry_failed: bool = False) -> list[int]:
    """Queue every transcribed recording whose translation is missing or stale (an
    archive transcribed before the track existed); with ``retry_failed``, failed
    translations too. Returns the recordings queued."""
    queued: list[int] = []
    for interview in db.session.scalars(select(Interview).where(Interview.withdrawn_at.is_(None))):
        queued += refresh(db.session, interview, retry_failed)
    unit_of_work.commit()  # the command's unit of work: the jobs are queued after it
    return queued


def status_of(interview: Interview) -> str | None:
    """The interview's translation, as one status: None (none wanted), or the least
    advanced of its recordings' (failed first, then running, queued, done)."""
    statuses = {r.translation_status for r in interview.recordings if r.translation_status}
    for status in ("failed", "running", "queued", "done"):
        if status in statuses:
            return status
    return None
