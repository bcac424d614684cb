"""Does resuming a killed job lose speech? Finding 8 of issue 14.

Transcribes jfk said six times with 1 s pauses (the kill-and-resume test's file)
once straight through, then, for every segment of that run, as a worker killed just
after storing it would resume: the stored segments, then a transcription of the
audio from the last stored segment's end (``pipeline.Job._resume_point``). For each
run it prints the repetitions (12 s each) that no segment covers by time, and the
count of the word "country" (said twice a repetition): a window with no segment
but the full count is Whisper's timestamps (the words are there, stamped elsewhere);
a count below 12 would be speech lost by the resume.

    .venv/bin/python bench/resume_points.py [--model tiny.en] [--threads 2]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from archive.recordings import audio  # noqa: E402
from archive.transcription import engine  # noqa: E402

FIXTURE = REPO / "tests" / "fixtures" / "jfk.flac"
PERIOD, REPEATS = 12.0, 6


def _signal() -> np.ndarray:
    speech = audio.decode(FIXTURE)
    pause = np.zeros(audio.SAMPLE_RATE, dtype=np.float32)
    return np.concatenate([np.concatenate([speech, pause]) for _ in range(REPEATS)])


def _run(model, signal: np.ndarray, offset: float) -> list[tuple[float, float, str]]:
    found: list[tuple[float, float, str]] = []
    engine.transcribe(
        model,
        signal[int(offset * audio.SAMPLE_RATE) :],
        "en",
        [],
        lambda s: found.append((round(s.start + offset, 2), round(s.end + offset, 2), s.text)),
    )
    return found


def _judge(segments: list[tuple[float, float, str]]) -> tuple[list[int], int]:
    empty = []
    for index in range(REPEATS):
        speech = (index * PERIOD + 1.0, (index + 1) * PERIOD - 2.0)
        if not [s for s in segments if s[0] < speech[1] and s[1] > speech[0]]:
            empty.append(index)
    said = " ".join(s[2] for s in segments).lower()
    return empty, len(re.findall(r"country", said))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--straight-only", action="store_true", help="no simulated kills")
    args = parser.parse_args()
    model = engine.load_model(args.model, REPO / "cache", device="cpu", threads=args.threads)
    signal = _signal()
    straight = _run(model, signal, 0.0)
    empty, count = _judge(straight)
    print(f"straight through: {len(straight)} segments, empty windows {empty}, country x{count}")
    for start, end, text in straight:
        print(f"  {start:6.2f}-{end:6.2f} {text[:90]}")
    if args.straight_only:
        return
    lost = 0
    for kept in range(1, len(straight)):
        stored = straight[:kept]
        resume_at = max(s[1] for s in stored)
        resumed = _run(model, signal, resume_at)
        empty, count = _judge(stored + resumed)
        lost += count < 2 * REPEATS
        print(
            f"killed after {kept} segments, resumed at {resume_at:6.2f}: "
            f"empty windows {empty}, country x{count}"
        )
    print(f"resumes that lost words: {lost} of {len(straight) - 1}")


if __name__ == "__main__":
    main()
