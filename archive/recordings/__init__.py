"""Recordings: taking in a master, following its transcription job, checking fixity.

Services flush and write their audit event in the same transaction; whoever started
the work commits (``archive/unit_of_work.py``), and the transcription job is queued
only once that commit has made the recording durable.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import delete, select

from archive import audit, policy, queue, unit_of_work
from archive.errors import N_, ConflictError, ValidationError
from archive.extensions import db
from archive.interviews.sequences import lock, next_number
from archive.models import Interview, Recording, Segment, User
from archive.recordings import audio, storage
from archive.transcription import translation_track

log = logging.getLogger(__name__)


class UploadRejectedError(ValidationError):
    """An upload that is not usable audio; nothing of it is kept."""


def get_visible(user: Any, recording_id: int, action: str) -> Recording:
    """A recording whose interview ``user`` may ``action``; otherwise the same 404."""
    recording = db.session.get(Recording, recording_id)
    policy.require(user, action, recording.interview if recording else None)
    return recording


def add_recording(
    actor: User | None, interview: Interview, upload: IO[bytes], original_filename: str
) -> Recording:
    """Store an uploaded (or imported) file as a master and queue its transcription.

    ``upload`` is a temporary file in ``recordings/incoming`` (see storage); it is
    probed, hashed and linked into place. On any failure, here or when the caller's
    transaction is rolled back, the master is removed and no row is written: a
    refused or failed upload leaves nothing behind. The job is queued after the
    commit. ``actor`` None: the operator's command line (``flask recordings import``).
    """
    if actor is not None:
        policy.require(actor, "upload", interview)
    if interview.withdrawn_at is not None:
        raise ConflictError(N_("This interview has been withdrawn; nothing can be added to it."))
    temp_path = Path(upload.name)
    try:
        info = audio.probe(temp_path)
    except audio.NotAudioError as exc:
        raise UploadRejectedError(str(exc)) from None
    sha256 = storage.sha256_file(temp_path)
    size = temp_path.stat().st_size
    key = storage.store_master(temp_path, info.extension)
    try:
        lock(Interview, interview.id)  # parts are numbered one upload at a time
        recording = Recording(
            interview_id=interview.id,
            position=next_number(Recording.position, Recording.interview_id == interview.id),
            original_filename=(original_filename or "")[:500],
            master_key=key,
            sha256=sha256,
            size_bytes=size,
            duration=info.duration,
            channels=info.channels,
            sample_rate=info.sample_rate,
            audio_format=f"{info.container}/{info.codec}"[:40],
            status="queued",
            uploaded_by_id=getattr(actor, "id", None),
        )
        db.session.add(recording)
        db.session.flush()
        if interview.workflow_status in ("new", "machine_transcript"):
            interview.workflow_status = "transcribing"
        audit.record(
            db.session,
            "recording_added",
            actor,
            interview_id=interview.id,
            object_type="recording",
            object_id=recording.id,
            sha256=sha256,
            size=size,
        )
    except BaseException:
        storage.discard(key)  # the caller rolls back the rows
        raise
    unit_of_work.after_rollback(lambda: storage.discard(key))
    recording_id, duration = recording.id, info.duration
    unit_of_work.after_commit(
        lambda: log.info("recording %s stored (%d bytes, %.1f s)", recording_id, size, duration)
    )
    unit_of_work.after_commit(lambda: _enqueue(recording_id))
    return recording


def _enqueue(recording_id: int) -> None:
    """Queue the job; the recording is stored and committed already, so a queue that
    is down (Redis stopped) loses nothing: the job waits, "queued", and is queued
    again when a worker starts or finds the queue empty (``recover_abandoned``)."""
    try:
        queue.enqueue_transcription(recording_id)
    except Exception as exc:  # whatever the queue client raises
        log.warning(
            "recording %s stored but not queued (%s); it waits for recovery",
            recording_id,
            type(exc).__name__,
        )


def retry(actor: User, recording: Recording) -> Recording:
    """Queue a failed job again (after the commit); its partial segments are
    cleared first."""
    policy.require(actor, "retry_job", recording.interview)
    if recording.status != "failed":
        raise ConflictError(N_("Only a failed transcription can be retried."))
    translation_track.forget(db.session, recording_id=recording.id)
    db.session.execute(delete(Segment).where(Segment.recording_id == recording.id))
    recording.status, recording.progress, recording.error = "queued", 0.0, None
    recording.translation_status = recording.translation_error = None
    recording.worker = recording.heartbeat_at = None
    audit.record(
        db.session,
        "transcription_retried",
        actor,
        interview_id=recording.interview_id,
        object_type="recording",
        object_id=recording.id,
    )
    recording_id = recording.id
    unit_of_work.after_commit(lambda: _enqueue(recording_id))
    return recording


@dataclass(frozen=True)
class FixityProblem:
    recording_id: int
    key: str
    problem: str


def check_fixity() -> tuple[int, list[FixityProblem]]:
    """Re-hash every master; returns how many were checked and what was wrong."""
    problems: list[FixityProblem] = []
    checked = 0
    for recording in db.session.scalars(select(Recording).order_by(Recording.id)):
        if recording.master_purged_at is not None:
            continue
        checked += 1
        path = storage.recordings_path(recording.master_key)
        if not path.exists():
            problems.append(FixityProblem(recording.id, recording.master_key, "missing"))
        elif storage.sha256_file(path) != recording.sha256:
            problems.append(FixityProblem(recording.id, recording.master_key, "checksum mismatch"))
    audit.record(db.session, "fixity_checked", None, checked=checked, problems=len(problems))
    return checked, problems
