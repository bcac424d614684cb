"""The translation track: a machine English translation of every segment.

For a recording not in English, once it is transcribed, a worker decodes each
stored segment's audio span again with Whisper's ``translate`` task (the
multilingual model ``TRANSLATION_MODEL``, ``base`` by default, told the
recording's language) and keeps the English text beside the segment, with the same
times (``SegmentTranslation``, encrypted at rest like the original).

- Status per recording (``Recording.translation_status``): None when none is
  wanted (English), else queued, running, done or failed; a lease (worker and
  heartbeat) as the transcription has, so a worker that dies is replaced.
- Resumable and idempotent: one row per segment (unique), written as each segment
  is translated; a run translates only segments with no translation, or with one
  made from an older version of the segment (a corrected text, new times: stale).
  A stale translation is never shown: ``rendering`` shows a translation only while
  it was made from the segment as it is.
- Every change to a transcript reindexes it (``indexing.reindex``), which calls
  ``refresh`` here: a recording with a missing or stale translation is queued
  again, after the commit (a failed one too: the change may be its cure);
  ``flask --app wsgi translate [--retry-failed]`` queues an archive's backlog.
- Readers see it only through ``rendering`` (``translation=True``), hidden by
  ``redaction.Redactor.translation`` exactly as strictly as the original.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, event, or_, select, update
from sqlalchemy.orm import Session

from archive.extensions import db
from archive.models import Interview, Recording, Segment, SegmentTranslation, utcnow
from archive.recordings import audio, storage
from archive.transcription import engine

log = logging.getLogger(__name__)

LANGUAGE = "en"
#: How the track is named wherever it is shown (pages, exports, OHMS, VTT NOTE).
LABEL = "Machine translation"
LEASE_SECONDS = 90
#: Audio around the segment's times given to the model: a word cut at its edge is
#: still heard whole.
MARGIN_SECONDS = 0.2
#: A segment shorter than this is not worth a decoding (nothing to translate).
MIN_SECONDS = 0.1
#: Segments decoded together: their clips go through the encoder as one batch
#: (faster-whisper's ``BatchedInferencePipeline`` with ``clip_timestamps``), 3.8x
#: faster on the CPU than one by one (on the test recording, 23.7 s against 90.3 s
#: for four segments, the machine busy; 3 of the 4 texts the same word for word).
BATCH = 8
#: Longer segments (a merge can make one) are translated alone, by the model's
#: own sliding 30 s windows: a batched clip is one window.
MAX_BATCHED_SECONDS = 28.0
#: The most tokens a clip's English may take: speech runs at about 4 tokens a
#: second, so twice that, and a few more, bounds a decoding that loops (without it
#: one looping clip keeps its whole batch decoding up to Whisper's 448 tokens).
TOKENS_PER_SECOND = 8
EXTRA_TOKENS = 16
#: Passes over the recording in one run: an edit made while the job runs leaves a
#: stale translation, which the next pass makes again.
MAX_PASSES = 3


def wanted(recording: Recording) -> bool:
    """A translation is made of a recording in a language other than English."""
    language = recording.language or recording.interview.language
    return bool(language) and language != LANGUAGE


def _language(recording: Recording) -> str | None:
    return recording.language or recording.interview.language


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


def refresh(session: Session, interview: Interview, retry_failed: bool = True) -> list[int]:
    """Queue (after the commit) the translation of each transcribed recording of
    the interview with a segment whose translation is missing or stale. Called by
    ``indexing.reindex``, so every change to a transcript keeps its track in step."""
    queued = []
    for recording in interview.recordings:
        if recording.status != "done" or not wanted(recording):
            continue
        if recording.translation_status in ("queued", "running"):
            continue  # the running job looks again before it ends
        if recording.translation_status == "failed" and not retry_failed:
            continue
        if session.scalar(_outdated_query(recording.id).limit(1)) is None:
            if recording.translation_status is None:
                recording.translation_status = "done"  # nothing readable to translate
            continue
        recording.translation_status = "queued"
        recording.translation_error = None
        queued.append(recording.id)
    if queued:
        session.info.setdefault(_PENDING, set()).update(queued)
    return queued


_PENDING = "archive.translation.pending"


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from archive import tasks

    for recording_id in sorted(pending):
        try:
            tasks.enqueue_translation(recording_id)
        except Exception as exc:  # the queue is down: recovery queues it again
            log.warning(
                "translation of recording %s not queued (%s)", recording_id, type(exc).__name__
            )


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


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


# -- the job -----------------------------------------------------------------


def claim(recording_id: int, worker: str) -> Recording | None:
    """Take the recording's translation for this worker; None if it is not waiting
    (or another live worker has it)."""
    stale = utcnow() - timedelta(seconds=LEASE_SECONDS)
    result = db.session.execute(
        update(Recording)
        .where(
            Recording.id == recording_id,
            Recording.status == "done",
            or_(
                Recording.translation_status == "queued",
                and_(
                    Recording.translation_status == "running",
                    or_(
                        Recording.translation_heartbeat_at.is_(None),
                        Recording.translation_heartbeat_at < stale,
                        Recording.translation_worker == worker,
                    ),
                ),
            ),
        )
        .values(
            translation_status="running",
            translation_worker=worker,
            translation_heartbeat_at=utcnow(),
            translation_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        return None
    return db.session.get(Recording, recording_id)


def run(recording_id: int, worker: str) -> None:
    """The task body: claim, translate what is missing or stale, record the end."""
    recording = claim(recording_id, worker)
    if recording is None:
        log.info("translation of recording %s is not waiting; skipped", recording_id)
        return
    started = time.monotonic()
    try:
        count = translate_recording(recording, worker)
    except Exception as exc:
        db.session.rollback()
        log.exception("translation of recording %s failed", recording_id)
        recording = db.session.get(Recording, recording_id)
        recording.translation_status = "failed"
        recording.translation_error = f"Translation failed ({type(exc).__name__}): {str(exc)[:300]}"
        recording.translation_worker = None
        db.session.commit()
        return
    log.info(
        "recording %s: %d segment(s) translated in %.1f s",
        recording_id,
        count,
        time.monotonic() - started,
    )


def load_translation_model():
    from archive.transcription.pipeline import _model

    config = current_app.config
    return _model(
        config["TRANSLATION_MODEL"],
        str(config["MODEL_CACHE_DIR"]),
        config["WHISPER_DEVICE"],
        config["WORKER_THREADS"],
    )


def translate_recording(recording: Recording, worker: str) -> int:
    """Translate every readable segment without an up-to-date translation, BATCH
    segments at a time, committed together (a killed worker loses one batch)."""
    from archive.search import indexing

    model = load_translation_model()
    if not model.model.is_multilingual:
        raise RuntimeError(
            f"the translation model {current_app.config['TRANSLATION_MODEL']!r} is "
            "English-only; ARCHIVE_TRANSLATION_MODEL must name a multilingual model"
        )
    language = _language(recording)
    samples = audio.decode(storage.recordings_path(recording.master_key))
    name = current_app.config["TRANSLATION_MODEL"]
    _beat(recording.id, worker)  # loading the model may have taken a while
    count = 0
    for _ in range(MAX_PASSES):
        todo = outdated(recording.id)
        if not todo:
            break
        for start in range(0, len(todo), BATCH):
            segments = [db.session.get(Segment, i) for i in todo[start : start + BATCH]]
            segments = [s for s in segments if s is not None and s.suspect is None]
            spans = [(s.start, s.end) for s in segments]
            results = translate_spans(model, samples, spans, language)
            for segment, (text, suspect) in zip(segments, results, strict=True):
                _store(segment.id, segment.version, text, suspect, name)
            _beat(recording.id, worker)  # one commit per batch: a killed job loses one
            count += len(segments)
    recording = db.session.get(Recording, recording.id)
    db.session.refresh(recording)
    recording.translation_status = "done"
    recording.translation_worker = None
    indexing.reindex(db.session, recording.interview)  # the translation is searchable
    db.session.commit()
    return count


def _beat(recording_id: int, worker: str) -> None:
    """Show the lease is alive, and commit what was done."""
    db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id, Recording.translation_worker == worker)
        .values(translation_heartbeat_at=utcnow())
    )
    db.session.commit()


def translate_spans(
    model: Any, samples, spans: list[tuple[float, float]], language: str | None
) -> list[tuple[str, str | None]]:
    """``translate_span`` for each of ``spans``, the short ones in one batch."""
    from faster_whisper import BatchedInferencePipeline

    rate = engine.SAMPLE_RATE
    results: list[tuple[str, str | None] | None] = [None] * len(spans)
    clips, where = [], []
    for index, (start, end) in enumerate(spans):
        lo = max(0.0, start - MARGIN_SECONDS)
        hi = min(samples.shape[0] / rate, end + MARGIN_SECONDS)
        if hi - lo < MIN_SECONDS:
            results[index] = ("", None)
        elif hi - lo > MAX_BATCHED_SECONDS:
            results[index] = translate_span(model, samples, start, end, language)
        else:
            clips.append({"start": lo, "end": hi})
            where.append(index)
    if clips:
        texts: dict[int, list[str]] = {index: [] for index in where}
        pieces, _info = BatchedInferencePipeline(model).transcribe(
            samples,
            task="translate",
            language=language,
            clip_timestamps=clips,
            vad_filter=False,
            without_timestamps=True,
            batch_size=len(clips),
            max_new_tokens=_token_limit(max(c["end"] - c["start"] for c in clips)),
            beam_size=5,
            condition_on_previous_text=False,
            no_speech_threshold=engine.NO_SPEECH_THRESHOLD,
            log_prob_threshold=engine.LOG_PROB_THRESHOLD,
            compression_ratio_threshold=engine.COMPRESSION_RATIO_THRESHOLD,
        )
        for piece in pieces:  # each clip's text, found by where it lies
            middle = (piece.start + piece.end) / 2
            nearest = min(
                range(len(clips)),
                key=lambda k: abs((clips[k]["start"] + clips[k]["end"]) / 2 - middle),
            )
            texts[where[nearest]].append(piece.text.strip())
        for index, parts in texts.items():
            text = " ".join(p for p in parts if p).strip()
            start, end = spans[index]
            results[index] = (text, _doubt(text, start, end))
    return [r if r is not None else ("", None) for r in results]


def _token_limit(seconds: float) -> int:
    return int(seconds * TOKENS_PER_SECOND) + EXTRA_TOKENS


def _doubt(text: str, start: float, end: float) -> str | None:
    probe = engine.Segment(start=start, end=end, text=text, avg_logprob=0.0, no_speech_prob=0.0)
    return engine.suspect_reason(probe, frozenset())


def translate_span(
    model: Any, samples, start: float, end: float, language: str | None
) -> tuple[str, str | None]:
    """The English of the audio from ``start`` to ``end`` (seconds), and why it is
    doubted (the engine's own checks: a loop, faster than speech), or None."""
    rate = engine.SAMPLE_RATE
    lo = max(0, int((start - MARGIN_SECONDS) * rate))
    hi = min(samples.shape[0], int((end + MARGIN_SECONDS) * rate))
    if hi - lo < MIN_SECONDS * rate:
        return "", None
    pieces, _info = model.transcribe(
        samples[lo:hi],
        task="translate",
        max_new_tokens=_token_limit(min(hi - lo, 30 * rate) / rate),
        language=language,
        beam_size=5,
        vad_filter=False,
        without_timestamps=True,
        condition_on_previous_text=False,
        no_speech_threshold=engine.NO_SPEECH_THRESHOLD,
        log_prob_threshold=engine.LOG_PROB_THRESHOLD,
        compression_ratio_threshold=engine.COMPRESSION_RATIO_THRESHOLD,
    )
    text = " ".join(piece.text.strip() for piece in pieces).strip()
    return text, _doubt(text, start, end)


def _store(segment_id: int, version: int, text: str, suspect: str | None, model: str) -> None:
    """Write the segment's translation: update its row, or add the one row it may have."""
    row = db.session.scalar(
        select(SegmentTranslation).where(SegmentTranslation.segment_id == segment_id)
    )
    if row is None:
        row = SegmentTranslation(segment_id=segment_id)
        db.session.add(row)
    row.text, row.source_version, row.suspect, row.model = text, version, suspect, model
    row.created_at = utcnow()


def store(segment: Segment, text: str, model: str = "") -> None:
    """Keep ``text`` as the segment's current translation (tools and tests)."""
    _store(segment.id, segment.version, text, None, model)


def recover_abandoned(worker: str) -> int:
    """Queue again translations whose worker stopped beating, and, when the queue
    is empty, every queued one (as ``pipeline.recover_abandoned`` does)."""
    from archive import tasks
    from archive.transcription.pipeline import _queue_is_empty

    stale = utcnow() - timedelta(seconds=LEASE_SECONDS)
    requeue = []
    for recording in db.session.scalars(
        select(Recording).where(Recording.translation_status == "running")
    ):
        if recording.translation_heartbeat_at is None or recording.translation_heartbeat_at < stale:
            recording.translation_status = "queued"
            recording.translation_worker = None
            requeue.append(recording.id)
    db.session.commit()
    if _queue_is_empty():
        requeue += list(
            db.session.scalars(select(Recording.id).where(Recording.translation_status == "queued"))
        )
    for recording_id in dict.fromkeys(requeue):
        tasks.enqueue_translation(recording_id)
    return len(set(requeue))


def queue_all(retry_failed: bool = False) -> list[int]:
    """Queue every transcribed recording whose translation is missing or stale (an
    archive transcribed before the track existed); with ``retry_failed``, failed
    translations too. Returns the recordings queued."""
    queued: list[int] = []
    for interview in db.session.scalars(select(Interview).where(Interview.withdrawn_at.is_(None))):
        queued += refresh(db.session, interview, retry_failed)
    db.session.commit()
    return queued


def status_of(interview: Interview) -> str | None:
    """The interview's translation, as one status: None (none wanted), or the least
    advanced of its recordings' (failed first, then running, queued, done)."""
    statuses = {r.translation_status for r in interview.recordings if r.translation_status}
    for status in ("failed", "running", "queued", "done"):
        if status in statuses:
            return status
    return None
