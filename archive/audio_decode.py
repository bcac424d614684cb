"""Decode any audio file to what Whisper wants: 16 kHz mono float32 samples.

PyAV (the ``av`` package, already a faster-whisper dependency) links FFmpeg's
libraries from its own wheel, so no ``ffmpeg`` binary or subprocess is needed, and
frames are resampled as they are decoded rather than the whole file being converted
first.
"""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


def decode_16k_mono(path: str | Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Return the first audio stream of ``path`` as mono float32 at ``sample_rate``.

    Channels are averaged, (L+R)/2 for stereo, as Whisper's own ffmpeg/s16 path
    does. FFmpeg's float downmix is not used because it is not normalised
    ((L+R)*0.707, peaks above 1.0 on loud stereo). Corrupt packets are skipped and
    counted, as a damaged recording should still yield what can be read. Raises
    ValueError when the file has no audio stream, and av.error.FFmpegError when it
    cannot be opened at all.
    """
    # Planar float at the target rate, channel layout kept: shape (channels, samples).
    resampler = av.AudioResampler(format="fltp", rate=sample_rate)
    chunks: list[np.ndarray] = []
    skipped = 0
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise ValueError(f"{Path(path).name} has no audio stream")
        stream = container.streams.audio[0]
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.InvalidDataError:
                skipped += 1
                continue
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                skipped += 1
                continue
            for frame in frames:
                frame.pts = None  # some containers carry non-monotonic pts; let FFmpeg retime
                for out in resampler.resample(frame):
                    chunks.append(_to_mono(out))
        for out in resampler.resample(None):  # flush the resampler's buffered tail
            chunks.append(_to_mono(out))
    if skipped:
        log.warning("Skipped %d undecodable packets in %s", skipped, path)
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def _to_mono(frame: av.AudioFrame) -> np.ndarray:
    planes = frame.to_ndarray()  # (channels, samples) for a planar format
    if planes.ndim == 1 or planes.shape[0] == 1:
        return planes.reshape(-1)
    return planes.mean(axis=0, dtype=np.float32)
