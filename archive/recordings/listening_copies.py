"""Listening copies of a recording: a full one and one with redactions toned out.

Both are made in one streaming pass over the master (decode, resample, encode as
MP3 with PyAV), so a two-hour recording needs no more memory than a few seconds
of audio. The master is only read. In the redacted copy the samples of every
redacted word, with a small margin, are replaced by a soft tone, so a listener
hears that something was removed and nothing of what it was.

Whatever changes what is hidden (an edit, a redaction, a speaker's names, an
agreement) calls ``outdate`` in its transaction and ``rebuild`` after its commit
(``rebuild_after_commit``).
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from sqlalchemy import select, update

from archive import queue, unit_of_work
from archive.extensions import db
from archive.models import Interview, Recording
from archive.recordings import storage
from archive.transcripts import redaction

log = logging.getLogger(__name__)

RATE = 24_000
BITRATE = {1: 64_000, 2: 96_000}
MARGIN_SECONDS = 0.12
TONE_HZ = 1000.0
TONE_LEVEL = 0.05  # about -26 dBFS: audible, not startling
MIME_TYPE = "audio/mpeg"


@dataclass(frozen=True)
class Span:
    start: float
    end: float


def merged_spans(times: list[tuple[float, float]], margin: float = MARGIN_SECONDS) -> list[Span]:
    """Widen each word span by the margin and merge the ones that touch."""
    spans: list[Span] = []
    for start, end in sorted(times):
        start, end = max(0.0, start - margin), end + margin
        if spans and start <= spans[-1].end:
            spans[-1] = Span(spans[-1].start, max(end, spans[-1].end))
        else:
            spans.append(Span(start, end))
    return spans


def outdate(target: Interview | Recording) -> None:
    """What is hidden in ``target`` (one recording, or all of an interview's) may have
    changed: from this transaction on, no redacted copy made before is served
    (``path_for`` compares its version with the recording's)."""
    if isinstance(target, Recording):
        where, recordings = Recording.id == target.id, [target]
    else:
        where, recordings = Recording.interview_id == target.id, list(target.recordings)
    db.session.execute(
        update(Recording)
        .where(where)
        .values(redaction_version=Recording.redaction_version + 1)
        .execution_options(synchronize_session=False)
    )
    for recording in recordings:
        db.session.expire(recording, ["redaction_version"])


def rebuild(target: Interview | Recording) -> None:
    """After the commit that outdated them: queue new copies of ``target``'s finished
    recordings; a withdrawn interview has no listening copy, and gets none again."""
    if isinstance(target, Recording):
        interview, recordings = target.interview, [target]
    else:
        interview, recordings = target, list(target.recordings)
    if interview.withdrawn_at is not None:
        return
    for recording in recordings:
        if recording.status == "done":
            queue.enqueue_access_copies(recording.id)


def rebuild_after_commit(target: Interview | Recording) -> None:
    """``rebuild`` once the change that outdated the copies is committed (never if it
    is rolled back): what services that leave the commit to the unit of work call."""
    unit_of_work.after_commit(lambda: rebuild(target))


def build(recording_id: int) -> bool:
    """Make both copies for the recording's current redactions; False if superseded,
    and never for a withdrawn interview (a withdrawal during the build removes what
    it made).

    The body of a worker task (``jobs.build_access_copies``), never of a request: it
    commits its compare-and-set itself (``unit_of_work.commit()``), because what
    follows must read the committed state, a withdrawal or a newer version that
    won the race, to remove the files it made for nothing."""
    recording = db.session.get(Recording, recording_id)
    if recording is None or recording.status != "done":
        return False
    if recording.interview.withdrawn_at is not None:
        return False
    version = recording.redaction_version
    previous = recording.access_copy_key
    if path_for(recording, "redacted") and path_for(recording, "full"):
        return True  # made already, by an earlier of several requests for this version
    spans = merged_spans(redaction.audio_spans(recording))
    channels = min(recording.channels or 1, 2)
    full_key = f"access/{recording.id}/full.mp3"
    redacted_key = f"access/{recording.id}/redacted-{version}.mp3"
    _encode(
        storage.recordings_path(recording.master_key),
        channels,
        spans,
        storage.recordings_path(full_key),
        storage.recordings_path(redacted_key),
    )
    standing = select(Interview.id).where(Interview.withdrawn_at.is_(None))
    result = db.session.execute(
        update(Recording)
        .where(
            Recording.id == recording.id,
            Recording.redaction_version == version,
            Recording.interview_id.in_(standing),
        )
        .values(full_copy_key=full_key, access_copy_key=redacted_key, access_copy_version=version)
        .execution_options(synchronize_session=False)
    )
    unit_of_work.commit()
    db.session.refresh(recording)
    db.session.refresh(recording.interview)
    if recording.interview.withdrawn_at is not None:
        discard_all(recording)
        log.info("access copies of recording %s removed: withdrawn while made", recording.id)
        return False
    if result.rowcount != 1:
        storage.discard(redacted_key)
        log.info("access copy of recording %s superseded while it was made", recording.id)
        return False
    if previous and previous != redacted_key:
        storage.discard(previous)
    log.info("access copies of recording %s made (%d spans toned out)", recording.id, len(spans))
    return True


def discard_all(recording: Recording) -> int:
    """Remove every listening copy of the recording ever made (the current ones,
    superseded ones and any half-written file); returns how many files went."""
    folder = storage.recordings_path(f"access/{recording.id}")
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.chmod(0o644)
                path.unlink()
                removed += 1
        folder.rmdir()
    return removed


def _encode(master: Path, channels: int, spans: list[Span], full: Path, redacted: Path) -> None:
    full.parent.mkdir(parents=True, exist_ok=True)
    layout = "mono" if channels == 1 else "stereo"
    # Each build writes its own half-files: two workers making the same copy at once
    # (a rebuild queued twice) would otherwise interleave their bytes in one file.
    unique = f".{os.getpid()}-{uuid.uuid4().hex[:8]}.part"
    full_tmp, redacted_tmp = full.with_suffix(unique), redacted.with_suffix(unique)
    with (
        av.open(str(master)) as source,
        av.open(str(full_tmp), "w", format="mp3") as out_full,
        av.open(str(redacted_tmp), "w", format="mp3") as out_redacted,
    ):
        streams = [
            _add_stream(out_full, layout, channels),
            _add_stream(out_redacted, layout, channels),
        ]
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
        position = 0
        for frame in source.decode(source.streams.audio[0]):
            frame.pts = None
            for chunk in resampler.resample(frame):
                samples = chunk.to_ndarray()
                _write(out_full, streams[0], samples, layout)
                _write(out_redacted, streams[1], _tone_out(samples, position, spans), layout)
                position += samples.shape[1]
        for chunk in resampler.resample(None):
            samples = chunk.to_ndarray()
            _write(out_full, streams[0], samples, layout)
            _write(out_redacted, streams[1], _tone_out(samples, position, spans), layout)
        for container, stream in ((out_full, streams[0]), (out_redacted, streams[1])):
            for packet in stream.encode(None):
                container.mux(packet)
    full_tmp.replace(full)
    redacted_tmp.replace(redacted)


def _add_stream(container, layout: str, channels: int):
    stream = container.add_stream("libmp3lame", rate=RATE)
    stream.layout = layout
    stream.bit_rate = BITRATE[channels]
    return stream


def _write(container, stream, samples: np.ndarray, layout: str) -> None:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=layout)
    frame.sample_rate = RATE
    for packet in stream.encode(frame):
        container.mux(packet)


def _tone_out(samples: np.ndarray, position: int, spans: list[Span]) -> np.ndarray:
    """Replace the samples inside redacted spans by the soft tone."""
    length = samples.shape[1]
    first, last = position / RATE, (position + length) / RATE
    hits = [s for s in spans if s.start < last and s.end > first]
    if not hits:
        return samples
    out = samples.copy()
    for span in hits:
        lo = max(0, int(span.start * RATE) - position)
        hi = min(length, int(np.ceil(span.end * RATE)) - position)
        index = np.arange(position + lo, position + hi)
        out[:, lo:hi] = TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * index / RATE)
    return out


def path_for(recording: Recording, variant: str) -> Path | None:
    """The file to serve for ``variant`` ("full" or "redacted"), or None if not ready.

    A redacted copy made before the latest change of redactions is never served:
    it could hold a word redacted since.
    """
    if variant == "full":
        key = recording.full_copy_key
    elif variant == "redacted":
        fresh = recording.access_copy_version == recording.redaction_version
        key = recording.access_copy_key if fresh else None
    else:
        raise ValueError(f"unknown audio variant {variant!r}")
    if not key:
        return None
    path = storage.recordings_path(key)
    return path if path.exists() else None
