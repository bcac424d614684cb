"""The transcription job: decode, transcribe, separate speakers, keep the result.

Segments are committed as the model produces them, so progress and a partial
transcript show while the job runs, and a worker that dies loses nothing: the next
claim resumes after the last stored segment. A lease (worker id and heartbeat) on
the recording keeps two workers from transcribing the same recording at once
(``leases.TRANSCRIPTION``).

Unlike the services, the job commits itself, at its own boundaries (the claim, each
stored segment, the speakers, the end or the failure): a job is its own unit of work,
and those commits are what make progress visible and a dead worker's work resumable.
It commits through ``unit_of_work.commit()``, so what waited for a commit (the
translation track's job, queued by the final reindex) runs after it.
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
from flask import current_app
from sqlalchemy import delete, select
from threadpoolctl import threadpool_limits

from archive import audit, interviews, notifications, queue, unit_of_work
from archive.extensions import db
from archive.models import Interview, Recording, Revision, Segment, Speaker, utcnow
from archive.models.types import decrypt_bytes, encrypt_bytes
from archive.recordings import audio, storage
from archive.search import indexing
from archive.transcription import diarization, engine, leases, translation_track

log = logging.getLogger(__name__)

CHANNEL_SAMPLE_SECONDS = 600
# Cosine similarity above which a voice is taken to be a speaker already known.
SAME_VOICE = 0.75


def load_configured_model():
    config = current_app.config
    return engine.cached_model(
        config["WHISPER_MODEL"],
        str(config["MODEL_CACHE_DIR"]),
        config["WHISPER_DEVICE"],
        config["WORKER_THREADS"],
    )


def cpu_threads() -> int:
    """The CPU threads a job may use: ``WORKER_THREADS`` (``flask worker --threads``),
    else every core this process may run on. The model decodes with them and the
    voice encoder's matrix products run on as many (``_separate_voices``)."""
    return current_app.config["WORKER_THREADS"] or engine.default_threads()


def batch_size() -> int:
    """Chunks decoded at once (``ARCHIVE_WHISPER_BATCH``; 1 is the sequential path)."""
    return max(1, current_app.config.get("WHISPER_BATCH") or engine.DEFAULT_BATCH)


def claim(recording_id: int, worker: str) -> Recording | None:
    """Take the recording for this worker, atomically; None if someone else has it."""
    return leases.TRANSCRIPTION.claim(
        recording_id, worker, started_at=utcnow(), attempts=Recording.attempts + 1, error=None
    )


def run(recording_id: int, worker: str) -> None:
    """The task body: claim, transcribe, and record success or a readable failure."""
    recording = claim(recording_id, worker)
    if recording is None:
        log.info("recording %s is not waiting for a worker; skipped", recording_id)
        return
    started = time.monotonic()
    try:
        Job(recording, worker).execute()
    except Exception as exc:
        db.session.rollback()
        log.exception("transcription of recording %s failed", recording_id)
        _fail(recording_id, exc)
        _announce("transcription_failed", recording_id)
        return
    log.info("recording %s transcribed in %.1f s", recording_id, time.monotonic() - started)
    _announce("transcription_done", recording_id)


def _announce(kind: str, recording_id: int) -> None:
    """Tell the interviewer (by e-mail, when configured): once per attempt, so a job
    tried again after a failure reports its new outcome."""
    recording = db.session.get(Recording, recording_id)
    if recording is not None and recording.status in ("done", "failed"):
        notifications.announce(kind, recording_id, recording.attempts or 1)


def _fail(recording_id: int, exc: Exception) -> None:
    recording = db.session.get(Recording, recording_id)
    recording.status = "failed"
    recording.error = f"Transcription failed ({type(exc).__name__}): {str(exc)[:300]}"
    recording.worker = None
    audit.record(
        db.session,
        "transcription_failed",
        None,
        interview_id=recording.interview_id,
        object_type="recording",
        object_id=recording.id,
        error=type(exc).__name__,
    )
    unit_of_work.commit()


class Job:
    """One run of the pipeline over one recording (possibly resuming an earlier run)."""

    def __init__(self, recording: Recording, worker: str) -> None:
        self.recording = recording
        self.interview: Interview = recording.interview
        self.worker = worker
        self.duration = max(recording.duration or 0.0, 0.001)
        self.last_beat = time.monotonic()

    def execute(self) -> None:
        path = storage.recordings_path(self.recording.master_key)
        model = load_configured_model()
        language = self.interview.language_codes
        hotwords = (
            interviews.hotwords(self.interview) if engine.hotwords_help(model, language) else []
        )
        with leases.Heartbeat(leases.TRANSCRIPTION, self.recording.id, self.worker):
            if self._separate_channels(path):
                info = self._by_channel(model, path, language, hotwords)
            else:
                info = self._mono(model, audio.decode(path), language, hotwords)
            self._finish(info)

    def _separate_channels(self, path) -> bool:
        """Judge the channels on the first minutes: enough to hear two microphones."""
        if (self.recording.channels or 1) < 2:
            return False
        sample = audio.decode(path, channels=2, max_seconds=CHANNEL_SAMPLE_SECONDS)
        return diarization.channels_are_separate(sample)

    # -- transcription -------------------------------------------------------

    def _mono(self, model, mono: np.ndarray, language, hotwords):
        resume_at = self._resume_point()
        offset_samples = int(resume_at * audio.SAMPLE_RATE)
        if resume_at:
            log.info("recording %s resumes at %.1f s", self.recording.id, resume_at)
        info = engine.transcribe(
            model,
            mono[offset_samples:],
            language,
            hotwords,
            lambda segment: self._save(segment, resume_at, None, 0.0, 1.0),
            batch_size=batch_size(),
        )
        self._separate_voices(mono)
        return info

    def _by_channel(self, model, path, language, hotwords):
        """One microphone per person: each channel is one speaker, transcribed alone."""
        translation_track.forget(db.session, recording_id=self.recording.id)
        db.session.execute(delete(Segment).where(Segment.recording_id == self.recording.id))
        unit_of_work.commit()
        speakers = self._speakers_for(2)
        info = None
        for channel in range(2):
            info = engine.transcribe(
                model,
                audio.decode(path, channels=2, pick=channel),
                language,
                hotwords,
                lambda segment, c=channel: self._save(segment, 0.0, speakers[c], c / 2, 0.5),
                batch_size=batch_size(),
            )
        return info

    def _resume_point(self) -> float:
        last = db.session.scalar(
            select(Segment.end)
            .where(Segment.recording_id == self.recording.id)
            .order_by(Segment.end.desc())
            .limit(1)
        )
        return float(last or 0.0)

    def _save(self, segment, offset: float, speaker: Speaker | None, base: float, share: float):
        """Store one segment as produced and move the progress bar."""
        words = [
            {
                "start": round(word.start + offset, 3),
                "end": round(word.end + offset, 3),
                "word": word.word,
                "probability": round(word.probability, 4),
            }
            for word in segment.words
        ]
        db.session.add(
            Segment(
                recording_id=self.recording.id,
                speaker_id=speaker.id if speaker else None,
                start=round(segment.start + offset, 3),
                end=round(segment.end + offset, 3),
                text=segment.text,
                words=words,
                avg_logprob=segment.avg_logprob,
                no_speech_prob=segment.no_speech_prob,
                suspect=segment.suspect,
                language=segment.language,
            )
        )
        progress = base + share * min(1.0, (segment.end + offset) / self.duration)
        self.recording.progress = max(self.recording.progress or 0.0, min(progress, 0.99))
        self.recording.heartbeat_at = utcnow()
        unit_of_work.commit()

    # -- speakers -----------------------------------------------------------

    def _speakers_for(self, count: int) -> list[Speaker]:
        """The interview's speakers S1..Sn, created when there are not enough yet."""
        speakers = list(self.interview.speakers)
        while len(speakers) < count:
            speakers.append(interviews.add_speaker(self.interview))
        unit_of_work.commit()
        return speakers[:count]

    def _separate_voices(self, mono: np.ndarray) -> None:
        segments = list(
            db.session.scalars(
                select(Segment)
                .where(Segment.recording_id == self.recording.id)
                .order_by(Segment.start)
            )
        )
        spans = [(w["start"], w["end"]) for seg in segments for w in (seg.words or [])]
        if not spans:
            return
        expected = self.interview.expected_speakers
        # numpy's BLAS would otherwise take every core whatever the worker was given:
        # two one-thread workers on two cores then fight over both (2-4x slower, see
        # voice_encoder), and a worker given two threads would embed on one.
        with threadpool_limits(limits=cpu_threads(), user_api="blas"):
            result = diarization.diarize(mono, spans, expected)
        self.recording.voices_heard = result.speaker_count
        if expected and result.speaker_count < expected:
            log.warning(
                "recording %s: %d voice(s) heard where %d were expected",
                self.recording.id,
                result.speaker_count,
                expected,
            )
        speakers = self._match_speakers(result.centroids)
        labels = iter(result.labels)
        for segment in segments:
            words = segment.words or []
            segment_labels = [next(labels) for _ in words]
            self._assign(segment, [speakers[label] for label in segment_labels])
        unit_of_work.commit()

    def _match_speakers(self, centroids: np.ndarray) -> list[Speaker]:
        """Map each voice cluster to a known speaker of the interview, or a new one."""
        known = list(self.interview.speakers)
        stored = [
            np.frombuffer(s.voice_embedding, dtype=np.float32) if s.voice_embedding else None
            for s in known
        ]
        matches = diarization.assign_to_known(centroids, stored, SAME_VOICE)
        unused = [s for s, vec in zip(known, stored, strict=True) if vec is None]
        result = []
        for centroid, match in zip(centroids, matches, strict=True):
            if match is not None:
                speaker = known[match]
            elif unused:
                speaker = unused.pop(0)
            else:
                speaker = interviews.add_speaker(self.interview)
            if speaker.voice_embedding is None:
                speaker.voice_embedding = np.asarray(centroid, dtype=np.float32).tobytes()
            result.append(speaker)
        return result

    def _assign(self, segment: Segment, word_speakers: list[Speaker]) -> None:
        """Give the segment its speaker; split it where the speaker changes."""
        if not word_speakers:
            segment.speaker_id = segment.speaker_id or self._speakers_for(1)[0].id
            return
        runs = diarization.split_runs([s.id for s in word_speakers])
        words = segment.words
        first, *rest = runs
        pieces = [(segment, first)] + [(None, run) for run in rest]
        for target, (start_index, stop_index, speaker_id) in pieces:
            chunk = words[start_index:stop_index]
            text = "".join(w["word"] for w in chunk).strip()
            if target is None:
                target = Segment(
                    recording_id=segment.recording_id,
                    avg_logprob=segment.avg_logprob,
                    no_speech_prob=segment.no_speech_prob,
                    # A doubted segment's pieces stay doubted; all keep its language.
                    suspect=segment.suspect,
                    language=segment.language,
                )
                db.session.add(target)
            target.speaker_id = speaker_id
            target.words = chunk
            target.text = text if rest else segment.text
            target.start = chunk[0]["start"] if rest else segment.start
            target.end = chunk[-1]["end"] if rest else segment.end

    # -- the end ------------------------------------------------------------

    def _finish(self, info) -> None:
        recording = self.recording
        segments = list(
            db.session.scalars(
                select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.start)
            )
        )
        for segment in segments:
            if not _has_revision(segment.id):
                db.session.add(Revision.of(segment, "machine"))
        db.session.flush()
        self._write_machine_transcript(segments, info)
        recording.status = "done"
        recording.progress = 1.0
        recording.language = getattr(info, "language", None) or self.interview.language
        recording.language_probability = getattr(info, "language_probability", None)
        recording.finished_at = utcnow()
        recording.worker = None
        all_done = all(r.status == "done" for r in self.interview.recordings)
        if all_done and self.interview.workflow_status in ("new", "transcribing"):
            self.interview.workflow_status = "machine_transcript"
        audit.record(
            db.session,
            "transcription_done",
            None,
            interview_id=self.interview.id,
            object_type="recording",
            object_id=recording.id,
            segments=len(segments),
        )
        indexing.reindex(db.session, self.interview)
        unit_of_work.commit()
        queue.enqueue_access_copies(recording.id)

    def _write_machine_transcript(self, segments: list[Segment], info) -> None:
        document = {
            "recording": self.recording.id,
            "interview": self.interview.id,
            "master_sha256": self.recording.sha256,
            "model": current_app.config["WHISPER_MODEL"],
            "language": getattr(info, "language", None),
            "language_probability": getattr(info, "language_probability", None),
            "languages_given": list(getattr(info, "languages_given", None) or []),
            "produced_at": utcnow().isoformat() + "Z",
            "segments": [
                {
                    "start": s.start,
                    "end": s.end,
                    "speaker": s.speaker.label if s.speaker else None,
                    "text": s.text,
                    "avg_logprob": s.avg_logprob,
                    "no_speech_prob": s.no_speech_prob,
                    "language": s.language,
                    "suspect": s.suspect,
                    "words": s.words,
                }
                for s in segments
            ],
        }
        data = json.dumps(document, ensure_ascii=False, indent=1).encode()
        storage.write_once(storage.machine_transcript_path(self.recording.id), encrypt_bytes(data))


def read_machine_transcript(recording_id: int) -> dict:
    """The machine transcript of a recording, as produced (for custodians and tools)."""
    path = storage.machine_transcript_path(recording_id)
    return json.loads(decrypt_bytes(path.read_bytes()))


def _has_revision(segment_id: int) -> bool:
    query = select(Revision.id).where(Revision.segment_id == segment_id).limit(1)
    return db.session.scalar(query) is not None


def recover_abandoned(worker: str, at_start: bool = False) -> int:
    """Queue again the jobs whose worker died; at start also any queued job.

    A job is abandoned when its heartbeat is older than the lease, or when it was
    held by a process on this host that no longer exists. At start, and whenever
    the queue is empty, every queued job is queued again: a job stored while the
    queue was down (Redis stopped) is taken up once it is back.
    """
    requeued = leases.recover(
        leases.TRANSCRIPTION,
        queue.enqueue_transcription,
        requeue_waiting=at_start or queue.is_empty(),
        dead_here=True,
    )
    if requeued:
        log.info("requeued %d recording(s)", requeued)
    return requeued
