"""The cost of the translation pass: seconds of work per minute of audio.

Builds a Russian "interview" of about ``--minutes`` from the espeak-ng fixtures
(``russian_translation.flac`` and ``russian_narrator.flac`` in turns, with pauses),
transcribes it once with the archive's settings (language given), then times the
translation pass as the worker runs it (``translation.translate_span`` over every
segment: Whisper's ``translate`` task on each segment's audio). The model is loaded
once before either, as a running worker has it.

    .venv/bin/python bench/translation_cost.py --model base --minutes 1 --threads 2

Prints, per minute of audio: the transcription's seconds, the translation's seconds
and the translation's share of the whole job.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from bench.common import FIXTURES, RATE, REPO


def russian_audio(minutes: float) -> np.ndarray:
    from archive import audio

    pieces = [
        audio.decode(FIXTURES / "russian_translation.flac"),
        audio.decode(FIXTURES / "russian_narrator.flac"),
    ]
    pause = np.zeros(int(0.7 * RATE), dtype=np.float32)
    target = int(minutes * 60 * RATE)
    out, total, index = [], 0, 0
    while total < target:
        piece = pieces[index % len(pieces)]
        out += [piece, pause]
        total += len(piece) + len(pause)
        index += 1
    return np.concatenate(out)[:target]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--cache", default=str(REPO / "cache"))
    args = parser.parse_args()

    from archive.transcription import engine
    from archive.translation import translate_span

    model = engine.load_model(args.model, Path(args.cache), args.device, args.threads)
    samples = russian_audio(args.minutes)
    minutes = samples.shape[0] / RATE / 60

    segments: list = []
    started = time.perf_counter()
    engine.transcribe(model, samples, "ru", [], segments.append)
    transcribed = time.perf_counter() - started

    started = time.perf_counter()
    words = 0
    for segment in segments:
        text, _suspect = translate_span(model, samples, segment.start, segment.end, "ru")
        words += len(text.split())
    translated = time.perf_counter() - started

    print(f"model {args.model}, {args.device}, threads {args.threads or 'all'}")
    print(f"audio: {minutes:.2f} min, {len(segments)} segments, {words} English words")
    print(f"transcription: {transcribed / minutes:.1f} s per minute of audio")
    print(f"translation:   {translated / minutes:.1f} s per minute of audio")
    print(f"translation share of the job: {translated / (translated + transcribed):.0%}")


if __name__ == "__main__":
    main()
