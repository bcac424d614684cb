"""How well diarize() attributes transcribed words to the right speaker.

Run from the repository root::

    .venv/bin/python bench/speaker_attribution.py            # tiny.en and base
    .venv/bin/python bench/speaker_attribution.py --models tiny.en --long-minutes 0

The recordings are built from real voices: the two channels of
``stereo_diarization.wav`` (one speaker each, recorded apart) and, for a
third voice, ``jfk.flac``. Each voice's sentence (or a piece of it) is one
turn; turns alternate with pauses of 0.3-1.0 s and vary in level by up to
+-4 dB over a faint noise floor, so the ground truth (which source each
turn came from) is exact. The audio is transcribed by the real engine
(faster-whisper with VAD and word timestamps), ``diarize`` runs on the
words, and the score is the share of speech time (word time spans) given
to the right speaker, with the clusters mapped to the voices in the way
that scores best (the usual diarization scoring). The same short sentences
recur, which makes this easier than a real interview: read the numbers as
"nothing is broken" and as a comparison of settings, not as a field error rate.

The ``base`` model is joined once into ./cache (ignored by git). Timings
depend on OpenBLAS's threads (OPENBLAS_NUM_THREADS, printed): on an idle
2-core machine two threads were faster, on a busy one a single thread.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.recordings.audio import decode  # noqa: E402
from archive.transcription.diarization import diarize  # noqa: E402
from archive.transcription.engine import load_model, transcribe  # noqa: E402
from archive.transcription.voice_encoder import VoiceEncoder  # noqa: E402
from tests.fixtures import FIXTURES  # noqa: E402

SR = 16_000

Turn = tuple[float, float, str]  # start, end (seconds), voice


def voiced(x: np.ndarray, drop_db: float = 35.0, margin: float = 0.05) -> np.ndarray:
    """``x`` without its leading and trailing silence (10 ms frames quieter
    than the loudest by ``drop_db``), keeping ``margin`` seconds of edge."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    level = 10 * np.log10((frames.astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    loud = np.nonzero(level > level.max() - drop_db)[0]
    pad = int(margin * SR)
    return x[max(0, loud[0] * 160 - pad) : min(len(x), (loud[-1] + 1) * 160 + pad)]


def sources() -> dict[str, np.ndarray]:
    """Voiced pieces of real speech, named by voice and piece."""
    stereo = decode(FIXTURES / "stereo_diarization.wav", channels=2)
    jfk = decode(FIXTURES / "jfk.flac")
    left, right = stereo[0], stereo[1]
    cut = int(2.6 * SR)  # the pause after "...against the wizard,"
    return {
        "A": voiced(left),
        "A1": voiced(left[:cut]),
        "A2": voiced(left[cut:]),
        "B": voiced(right),
        "B1": voiced(right[: int(1.42 * SR)]),  # "The horizon seems"
        "B2": voiced(right[int(1.42 * SR) :]),  # "extremely distant."
        "C1": voiced(jfk[: int(2.45 * SR)]),  # "And so my fellow Americans"
        "C2": voiced(jfk[int(2.45 * SR) : int(8.0 * SR)]),  # "ask not what ..."
        "C3": voiced(jfk[int(8.0 * SR) :]),  # "ask what you can do ..."
    }


GAINS = [1.0, 0.7, 1.4, 0.8, 1.2, 0.65, 1.1, 0.9, 1.3, 0.75]
GAPS = [0.5, 0.8, 0.3, 1.0, 0.6, 0.4, 0.7, 0.5, 0.9, 0.5]


def build(
    plan: list[str], pieces: dict[str, np.ndarray], gaps: list[float] | None = None, seed: int = 0
) -> tuple[np.ndarray, list[Turn]]:
    """Join the pieces of ``plan`` with pauses; returns audio and true turns."""
    gaps = gaps or GAPS
    rng = np.random.default_rng(seed)
    parts, turns, t = [np.zeros(int(0.3 * SR), np.float32)], [], 0.3
    for i, name in enumerate(plan):
        piece = pieces[name] * GAINS[i % len(GAINS)]
        parts.append(piece)
        turns.append((t, t + len(piece) / SR, name[0]))
        t += len(piece) / SR
        gap = gaps[i % len(gaps)]
        parts.append(np.zeros(int(gap * SR), np.float32))
        t += int(gap * SR) / SR
    audio = np.concatenate(parts).astype(np.float32)
    audio += rng.normal(0, 10 ** (-60 / 20), len(audio)).astype(np.float32)  # -60 dBFS hiss
    return audio, turns


def accuracy(
    words: list[tuple[float, float]], labels: list[int], turns: list[Turn]
) -> tuple[float, float]:
    """(share of word time, share of words) on the right voice, under the
    cluster-to-voice map that scores best. A word's voice, for the second, is
    that of the turn it overlaps most; word times from Whisper can run into a
    pause and the next turn, which costs the first number a little even when
    every word is right."""
    voices = sorted({v for _, _, v in turns})
    k = max(labels) + 1 if labels else 0
    time_on = np.zeros((k, len(voices)))
    words_on = np.zeros((k, len(voices)))
    for (start, end), label in zip(words, labels, strict=True):
        overlaps = [(min(end, t1) - max(start, t0), voice) for t0, t1, voice in turns]
        for overlap, voice in overlaps:
            if overlap > 0:
                time_on[label, voices.index(voice)] += overlap
        overlap, voice = max(overlaps)
        if overlap > 0:
            words_on[label, voices.index(voice)] += 1
    if time_on.sum() == 0:
        return float("nan"), float("nan")
    best = max(
        itertools.permutations(range(max(k, len(voices))), k),
        key=lambda perm: sum(time_on[c, v] for c, v in enumerate(perm) if v < len(voices)),
    )
    matched = [(c, v) for c, v in enumerate(best) if v < len(voices)]
    return (
        sum(time_on[c, v] for c, v in matched) / time_on.sum(),
        sum(words_on[c, v] for c, v in matched) / max(1.0, words_on.sum()),
    )


QUICK = [0.15, 0.25, 0.2, 0.3]

SCENARIOS: dict[str, tuple[list[str], list[float] | None, list[int | None]]] = {
    # name: (turn plan, pauses after turns (None: GAPS), expected speakers to try)
    "two voices, 8 turns": (["A", "B", "A1", "B", "A2", "B", "A", "B"], None, [2, None]),
    "two voices, 4 turns (test)": (["A", "B", "A", "B"], None, [2, None]),
    "two voices, quick turns": (["A1", "B", "A2", "B1", "A", "B2", "A1", "B"], QUICK, [2, None]),
    "long answers, short questions": (
        ["B1", "A", "A2", "A1", "B2", "A1", "A", "A2", "B", "A2", "A", "A1"],
        None,
        [2, None],
    ),
    "three voices, 9 turns": (["A", "B", "C1", "A1", "C2", "B", "A2", "C3", "B"], None, [3, None]),
    "one voice (jfk)": (["C1", "C2", "C3"], None, [2, None]),
}


def transcribe_words(model, audio: np.ndarray) -> list[tuple[float, float]]:
    segments = []
    transcribe(model, audio, "en", [], segments.append)
    return [(w.start, w.end) for s in segments for w in s.words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--cache", type=Path, default=Path("cache"))
    parser.add_argument(
        "--long-minutes",
        type=float,
        default=10.0,
        help="also time diarize on the 8-turn recording tiled to this length (0: skip)",
    )
    args = parser.parse_args()

    pieces = sources()
    encoder = VoiceEncoder()
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    built = {name: build(plan, pieces, gaps) for name, (plan, gaps, _) in SCENARIOS.items()}
    for name, (audio, turns) in built.items():
        print(f"{name}: {len(audio) / SR:.1f} s, {len(turns)} turns")

    timing: list[float] = []
    for model_name in args.models:
        started = time.perf_counter()
        model = load_model(model_name, args.cache, device="cpu")
        print(f"\n== {model_name} (loaded in {time.perf_counter() - started:.1f} s)")
        for name, (_plan, _gaps, expectations) in SCENARIOS.items():
            audio, turns = built[name]
            words = transcribe_words(model, audio)
            for expected in expectations:
                started = time.perf_counter()
                result = diarize(audio, words, expected, encoder)
                spent = time.perf_counter() - started
                timing.append(spent / (len(audio) / SR / 60))
                right_time, right_words = accuracy(words, result.labels, turns)
                print(
                    f"{name:30s} expected={expected!s:4s} words={len(words):3d} "
                    f"speakers={result.speaker_count} right speaker: time {right_time:6.1%} "
                    f"words {right_words:6.1%}   diarize {spent:.2f} s"
                )
    if timing:
        median = float(np.median(timing))
        print(f"\ndiarize on the short recordings: {median:.2f} s per minute of audio (median)")

    if args.long_minutes > 0:
        audio, turns = built["two voices, 8 turns"]
        model = load_model(args.models[0], args.cache, device="cpu")
        words = transcribe_words(model, audio)
        copies = max(1, int(args.long_minutes * 60 / (len(audio) / SR)))
        duration = len(audio) / SR
        long_audio = np.tile(audio, copies)
        long_words = [(s + i * duration, e + i * duration) for i in range(copies) for s, e in words]
        long_turns = [
            (s + i * duration, e + i * duration, v) for i in range(copies) for s, e, v in turns
        ]
        for expected in (2, None):
            started = time.perf_counter()
            result = diarize(long_audio, long_words, expected, encoder)
            spent = time.perf_counter() - started
            minutes = len(long_audio) / SR / 60
            right_time, right_words = accuracy(long_words, result.labels, long_turns)
            print(
                f"tiled to {minutes:.1f} min ({len(long_words)} words), expected={expected}: "
                f"speakers={result.speaker_count} right speaker: time {right_time:.1%} "
                f"words {right_words:.1%}; diarize {spent:.1f} s = "
                f"{spent / minutes:.2f} s per minute of audio"
            )


if __name__ == "__main__":
    main()
