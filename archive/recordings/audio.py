"""Reading audio with PyAV (FFmpeg's libraries): probing uploads and decoding.

Nothing here shells out to an ffmpeg binary: PyAV's wheel carries the libraries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from archive.errors import N_

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000

# Container names FFmpeg reports, mapped to the extension the master is stored with.
EXTENSIONS = {
    "wav": "wav",
    "flac": "flac",
    "mp3": "mp3",
    "ogg": "ogg",
    "matroska,webm": "webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "m4a",
    "aiff": "aiff",
    "aac": "aac",
    "w64": "w64",
    "amr": "amr",
    "wv": "wv",
    "caf": "caf",
    "au": "au",
}


class NotAudioError(Exception):
    """The file is not audio we can use; the message is meant for the uploader."""


@dataclass(frozen=True)
class AudioInfo:
    duration: float
    channels: int
    sample_rate: int
    codec: str
    container: str
    extension: str


def probe(path: Path) -> AudioInfo:
    """Check that ``path`` is complete, decodable audio, and describe it."""
    if path.stat().st_size == 0:
        raise NotAudioError(N_("The file is empty."))
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream = _audio_stream(container)
            info = AudioInfo(
                duration=_duration(container, stream),
                channels=stream.codec_context.channels,
                sample_rate=stream.codec_context.sample_rate,
                codec=stream.codec_context.name,
                container=container.format.name,
                extension=EXTENSIONS.get(container.format.name, "bin"),
            )
    except NotAudioError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        log.info("probe refused a file: %s", type(exc).__name__)
        raise NotAudioError(
            N_(
                "This file is not audio the archive can read. Upload a recording such as "
                "WAV, FLAC, MP3, M4A or Ogg."
            )
        ) from None
    _check_riff_length(path)
    _check_decodes_to_the_end(path, info)
    return info


def _check_riff_length(path: Path) -> None:
    """WAV and AIFF state their length up front; FFmpeg trusts the file size instead."""
    with open(path, "rb") as handle:
        header = handle.read(12)
    if len(header) < 12 or header[:4] not in (b"RIFF", b"FORM"):
        return
    order = "little" if header[:4] == b"RIFF" else "big"
    declared = int.from_bytes(header[4:8], order) + 8
    if declared != 0xFFFFFFFF + 8 and declared > path.stat().st_size:
        raise NotAudioError(
            N_(
                "This recording is incomplete: it ends before its stated length. "
                "The upload may have been cut off; try it again."
            )
        )


def _audio_stream(container):
    if not container.streams.audio:
        raise NotAudioError(N_("This file has no audio in it."))
    stream = container.streams.audio[0]
    if not stream.codec_context.sample_rate or not stream.codec_context.channels:
        raise NotAudioError(N_("This file has no audio in it."))
    return stream


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _check_decodes_to_the_end(path: Path, info: AudioInfo) -> None:
    """Decode the start and the last seconds: a cut-off upload fails here."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            if _decoded_seconds(container, stream, limit=1.0) <= 0:
                raise NotAudioError(N_("This file holds no sound that can be decoded."))
            if info.duration > 4:
                container.seek(int((info.duration - 2.0) * av.time_base), any_frame=False)
                if _decoded_seconds(container, stream, limit=0.5) <= 0:
                    raise NotAudioError(
                        N_(
                            "This recording is incomplete: it ends before its stated length. "
                            "The upload may have been cut off; try it again."
                        )
                    )
    except av.FFmpegError:
        raise NotAudioError(
            N_("This recording is damaged or incomplete and cannot be decoded to the end.")
        ) from None


def _decoded_seconds(container, stream, limit: float) -> float:
    seconds = 0.0
    try:
        for frame in container.decode(stream):
            seconds += frame.samples / (frame.sample_rate or 1)
            if seconds >= limit:
                break
    except av.EOFError:
        pass
    return seconds


def decode(
    path: Path,
    sample_rate: int = SAMPLE_RATE,
    channels: int = 1,
    *,
    pick: int | None = None,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Decode to float32 at ``sample_rate``: shape (n,) for mono, (channels, n) otherwise.

    Mono is the average of the channels, as Whisper's own loader does (FFmpeg's
    float downmix is not normalised and peaks above 1.0 on loud stereo). ``pick``
    keeps one channel, so a 2-hour channel costs the memory of mono; ``max_seconds``
    stops early (enough to judge the channels). Frames are resampled as they are
    read, so memory holds only the result.
    """
    rows_wanted = 1 if (channels == 1 or pick is not None) else channels
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        layout = "stereo" if channels == 2 and stream.codec_context.channels == 1 else None
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sample_rate)
        seconds = _duration(container, stream)
        if max_seconds:
            seconds = min(seconds or max_seconds, max_seconds)
        buffer = _Buffer(rows_wanted, int((seconds + 1) * sample_rate))
        limit = int(max_seconds * sample_rate) if max_seconds else None
        for frame in container.decode(stream):
            frame.pts = None
            for out in resampler.resample(frame):
                buffer.add(_shape(out.to_ndarray(), channels, pick))
            if limit is not None and buffer.length >= limit:
                break
        else:
            for out in resampler.resample(None):
                buffer.add(_shape(out.to_ndarray(), channels, pick))
    audio = buffer.result(limit)
    return audio[0] if rows_wanted == 1 else audio


class _Buffer:
    """Decoded samples written into one array sized from the stated duration, so a
    2-hour recording never exists twice in memory (as list plus concatenation)."""

    def __init__(self, rows: int, capacity: int) -> None:
        self.data = np.zeros((rows, max(capacity, 1)), dtype=np.float32)
        self.length = 0

    def add(self, chunk: np.ndarray) -> None:
        end = self.length + chunk.shape[1]
        if end > self.data.shape[1]:
            grown = np.zeros(
                (self.data.shape[0], max(end, int(self.data.shape[1] * 1.25))), dtype=np.float32
            )
            grown[:, : self.length] = self.data[:, : self.length]
            self.data = grown
        self.data[:, self.length : end] = chunk
        self.length = end

    def result(self, limit: int | None) -> np.ndarray:
        end = self.length if limit is None else min(self.length, limit)
        return self.data[:, :end]


def _shape(planes: np.ndarray, channels: int, pick: int | None) -> np.ndarray:
    """One decoded chunk (source channels, n) as the rows the caller asked for."""
    if pick is not None:
        return planes[pick : pick + 1]
    if channels == 1:
        return planes.mean(axis=0, keepdims=True)
    return planes[:channels]


def decode_range(
    path: Path, start: float, end: float, sample_rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Mono float32 samples from about ``start`` to ``end`` seconds, seeking rather
    than decoding from the beginning, so a voice sample from the end of a long
    recording is cheap. Accurate to a codec frame (tens of ms): for listening only."""
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        container.seek(int(max(0.0, start - 1.0) * av.time_base), any_frame=False)
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)
        first_time: float | None = None
        buffer = _Buffer(1, int((end - start + 2) * sample_rate))
        for frame in container.decode(stream):
            if first_time is None:
                first_time = frame.time if frame.time is not None else 0.0
            frame.pts = None
            for out in resampler.resample(frame):
                buffer.add(_shape(out.to_ndarray(), 1, None))
            if first_time + buffer.length / sample_rate >= end:
                break
    if first_time is None:
        return np.zeros(0, dtype=np.float32)
    data = buffer.result(None)[0]
    lo = max(0, int((start - first_time) * sample_rate))
    hi = max(lo, int((end - first_time) * sample_rate))
    return data[lo:hi]
