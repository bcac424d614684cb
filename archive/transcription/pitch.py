"""The pitch of a voice, as a second cue for telling speakers apart.

The GE2E voice embeddings (``voice_encoder.py``) separate most voices but not all:
two synthetic voices of different sex scored 0.77 noise-corrected similarity where
one voice split in two scores 0.76-0.93, so with the number of speakers unknown
they were joined. Fundamental frequency is what listeners use first, and a man and
a woman usually differ by most of an octave. ``window_pitch`` gives each embedding
window its median F0, and ``diarization`` does not merge two clusters whose median
pitches lie too far apart (PITCH_GAP_OCTAVES).

Autocorrelation on 40 ms frames every 20 ms, in numpy alone; the shortest period
whose peak is nearly as strong as the best is taken, which avoids the usual
octave-down error. Frames that are quiet or not periodic enough count as unvoiced.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000
FRAME = 640  # 40 ms: two periods of the lowest F0 looked for
HOP = 320  # 20 ms
N_FFT = 1024  # >= FRAME + the longest lag, so the autocorrelation does not wrap
F0_MIN, F0_MAX = 60.0, 400.0
#: A frame is voiced when its normalised autocorrelation peak reaches this...
VOICING_THRESHOLD = 0.45
#: ...and its energy is at least this share of the median frame energy of the block.
MIN_RELATIVE_ENERGY = 0.1
#: A peak this close to the strongest one, at a shorter period, is preferred.
OCTAVE_TOLERANCE = 0.85
#: Fewer voiced frames than this in a window: no pitch for that window.
MIN_VOICED_FRAMES = 5
BLOCK_FRAMES = 3000  # 60 s of frames at a time, so memory stays small

_LAG_LO = int(SAMPLE_RATE / F0_MAX)
_LAG_HI = int(SAMPLE_RATE / F0_MIN)


def frame_pitch(audio: NDArray[np.float32]) -> NDArray[np.float64]:
    """F0 in Hz of each 20 ms frame of 16 kHz mono ``audio``; NaN where unvoiced."""
    n_frames = 0 if len(audio) < FRAME else 1 + (len(audio) - FRAME) // HOP
    out = np.full(n_frames, np.nan)
    window = np.hanning(FRAME).astype(np.float32)
    for first in range(0, n_frames, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, n_frames - first)
        index = (first + np.arange(count))[:, None] * HOP + np.arange(FRAME)[None, :]
        frames = audio[index] * window
        out[first : first + count] = _block_pitch(frames)
    return out


def _block_pitch(frames: NDArray[np.float32]) -> NDArray[np.float64]:
    energy = np.einsum("ij,ij->i", frames, frames)
    audible = energy[energy > 0]
    if audible.size == 0:
        return np.full(len(frames), np.nan)
    loud = energy > MIN_RELATIVE_ENERGY * np.median(audible)
    power = np.abs(np.fft.rfft(frames, N_FFT, axis=1)) ** 2
    correlation = np.fft.irfft(power, axis=1)[:, : _LAG_HI + 2]
    correlation /= np.maximum(correlation[:, :1], 1e-12)
    band = correlation[:, _LAG_LO : _LAG_HI + 2]
    best = band.max(axis=1, keepdims=True)
    middle = band[:, 1:-1]
    peaks = (middle >= band[:, :-2]) & (middle >= band[:, 2:]) & (middle >= OCTAVE_TOLERANCE * best)
    first = np.where(peaks.any(axis=1), peaks.argmax(axis=1) + 1, band.argmax(axis=1))
    lag = _LAG_LO + first
    voiced = loud & (correlation[np.arange(len(frames)), lag] >= VOICING_THRESHOLD)
    return np.where(voiced, SAMPLE_RATE / lag, np.nan)


def window_pitch(
    audio: NDArray[np.float32], starts: NDArray[np.float64], ends: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Median F0 (Hz) of the voiced frames inside each [start, end) window (seconds);
    NaN for a window with fewer than MIN_VOICED_FRAMES voiced frames."""
    f0 = frame_pitch(audio)
    centres = (np.arange(len(f0)) * HOP + FRAME / 2) / SAMPLE_RATE
    lo = np.searchsorted(centres, starts)
    hi = np.searchsorted(centres, ends)
    out = np.full(len(starts), np.nan)
    for i, (a, b) in enumerate(zip(lo, hi, strict=True)):
        voiced = f0[a:b][np.isfinite(f0[a:b])]
        if voiced.size >= MIN_VOICED_FRAMES:
            out[i] = float(np.median(voiced))
    return out
