"""The translation job: a machine English translation of every segment.

For a recording not in English, once it is transcribed, a worker decodes each
stored segment's audio span again with Whisper's ``translate`` task (the
multilingual model ``TRANSLATION_MODEL``, ``base`` by default, told the
recording's language) and keeps the English text beside the segment, with the same
times (``SegmentTranslation``, encrypted at rest like the original). Which
recordings need one, and queuing them, is ``translation_track``.

- A lease (worker and heartbeat, ``leases.TRANSLATION``) as the transcription has,
  so a worker that dies is replaced.
- Resumable and idempotent: one row per segment (unique), written as each segment
  is translated; a run translates only segments with no translation, or with one
  made from an older version of the segment (a corrected text, new times: stale).
- Readers see it only through ``rendering`` (``translation=True``), hidden by
  ``redaction.Redactor.translation`` exactly as strictly as the original.

The job commits itself (``unit_of_work.commit()``): the claim, each batch with the
heartbeat, the end or the failure. A job is its own unit of work; a killed worker
loses one batch, and what waited for a commit runs after each.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import select

from archive import queue, unit_of_work
from archive.extensions import db
from archive.models import Recording, Segment, SegmentTranslation, utcnow
from archive.recordings import audio, storage
from archive.search import indexing
from archive.transcription import engine, leases
from archive.transcription.translation_track import outdated

log = logging.getLogger(__name__)

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


def _language(recording: Recording) -> str | None:
    return recording.language or recording.interview.language


# -- the job -----------------------------------------------------------------


def claim(recording_id: int, worker: str) -> Recording | None:
    """Take the recording's translation for this worker; None if it is not waiting
    (or another live worker has it)."""
    return leases.TRANSLATION.claim(recording_id, worker, translation_error=None)


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
        unit_of_work.commit()
        return
    log.info(
        "recording %s: %d segment(s) translated in %.1f s",
        recording_id,
        count,
        time.monotonic() - started,
    )


def load_translation_model():
    config = current_app.config
    return engine.cached_model(
        config["TRANSLATION_MODEL"],
        str(config["MODEL_CACHE_DIR"]),
        config["WHISPER_DEVICE"],
        config["WORKER_THREADS"],
    )


def translate_recording(recording: Recording, worker: str) -> int:
    """Translate every readable segment without an up-to-date translation, BATCH
    segments at a time, committed together (a killed worker loses one batch)."""
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
    unit_of_work.commit()
    return count


def _beat(recording_id: int, worker: str) -> None:
    """Show the lease is alive, and commit what was done."""
    db.session.execute(leases.TRANSLATION.beat(recording_id, worker))
    unit_of_work.commit()


def translate_spans(
    model: Any, samples, spans: list[tuple[float, float]], language: str | None
) -> list[tuple[str, str | None]]:
    """``translate_span`` for each of ``spans``, the short ones in one batch."""
    # Imported at job time: faster_whisper pulls in onnxruntime and ctranslate2,
    # which the web processes that import this module never need.
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
    return leases.recover(
        leases.TRANSLATION, queue.enqueue_translation, requeue_waiting=queue.is_empty()
    )
