"""Whether a stereo recording holds one voice per channel (one microphone per person),
so that the channels themselves say who spoke when (see ``diarization``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from archive.transcription.voice_encoder import (
    SAMPLING_RATE,
)

FloatArray = NDArray[np.float32]


#: Analysis frame for channel levels: 50 ms is short enough that a frame
#: mostly holds one talker, long enough for a stable level.
CHANNEL_FRAME_SECONDS = 0.05
#: A frame holds sound when its louder channel is within this many dB of the
#: recording's loud level (95th percentile of frame levels)...
ACTIVITY_RANGE_DB = 35.0
#: ...and above this absolute level, so that hiss in a silent file is no speech.
ACTIVITY_FLOOR_DBFS = -60.0
#: A channel "has its own voice" in a frame when it is this much louder than
#: the other. Microphone bleed between lapel or headset microphones is usually
#: 15-30 dB down; a stereo microphone pair differs by a few dB at most.
DOMINANCE_DB = 10.0
#: Each channel must be the dominant one in at least this share of the frames
#: with sound (and in MIN_OWN_FRAMES of them). Low, because an interviewer may
#: speak for only a few percent of an interview; the fixture's right-hand
#: voice, which mostly overlaps the left, dominates in 8% of its frames.
MIN_OWN_SHARE = 0.03
MIN_OWN_FRAMES = 5
#: Above this waveform correlation over the frames with sound the channels
#: carry the same signal (a duplicated or merely attenuated mono recording).
MAX_CHANNEL_CORRELATION = 0.5
#: Levels are computed a block at a time so a two-hour file needs no copies.
_CHANNEL_BLOCK_FRAMES = 1200  # 60 s


def channels_are_separate(stereo: np.ndarray) -> bool:
    """True when a (2, n) 16 kHz recording has one microphone per person.

    Then each channel can be transcribed or attributed as one speaker, which
    is exact where voice clustering guesses. The test, on 50 ms frames that
    hold sound:

    * each channel must carry a voice of its own: be at least DOMINANCE_DB
      louder than the other in some of the frames (MIN_OWN_SHARE). This rules
      out a silent (or hiss-only) channel and a stereo microphone pair, whose
      channels differ by a few dB only;
    * the waveforms must be weakly correlated (MAX_CHANNEL_CORRELATION): a
      mono recording saved as two identical, inverted or attenuated channels
      correlates near +-1 however the levels compare.
    """
    audio = np.asarray(stereo)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ValueError(f"stereo audio must have shape (2, n), not {audio.shape}")
    frame = round(CHANNEL_FRAME_SECONDS * SAMPLING_RATE)
    n_frames = audio.shape[1] // frame
    if n_frames == 0:
        return False

    cross = np.empty(n_frames, dtype=np.float64)
    energy = np.empty((2, n_frames), dtype=np.float64)
    for first in range(0, n_frames, _CHANNEL_BLOCK_FRAMES):
        last = min(first + _CHANNEL_BLOCK_FRAMES, n_frames)
        block = audio[:, first * frame : last * frame].astype(np.float64)
        block = block.reshape(2, last - first, frame)
        block -= block.mean(axis=2, keepdims=True)  # DC offset is no signal
        energy[:, first:last] = np.einsum("cfs,cfs->cf", block, block)
        cross[first:last] = np.einsum("fs,fs->f", block[0], block[1])
    levels = 10.0 * np.log10(energy / frame + 1e-12)  # dBFS; digital silence is -120

    loudest = levels.max(axis=0)
    loud_level = float(np.percentile(loudest, 95))
    active = loudest > max(ACTIVITY_FLOOR_DBFS, loud_level - ACTIVITY_RANGE_DB)
    n_active = int(active.sum())
    if n_active < MIN_OWN_FRAMES:
        return False

    difference = levels[0, active] - levels[1, active]
    own = (int(np.sum(difference >= DOMINANCE_DB)), int(np.sum(difference <= -DOMINANCE_DB)))
    if min(own) < max(MIN_OWN_FRAMES, MIN_OWN_SHARE * n_active):
        return False

    left, right = energy[0, active].sum(), energy[1, active].sum()
    correlation = abs(cross[active].sum()) / math.sqrt(left * right) if left * right > 0 else 0.0
    return correlation < MAX_CHANNEL_CORRELATION
