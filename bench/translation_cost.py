"""The cost of the translation pass: seconds of work per minute of audio.

Builds a Russian "interview" of about ``--minutes`` from the espeak-ng fixtures
(``russian_translation.flac`` and ``russian_narrator.flac`` in turns, with pauses),
transcribes it once with the archive's settings (language given), then times the
translation pass as the worker runs it (``translation.translate_spans``, BATCH segments
at a time: Whisper's ``translate`` task on each segment's audio); ``--one-by-one``
also times the same segments decoded one at a time. The model is loaded
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

from bench.common import FIXTURES, RATE, REPO, interleave


def russian_audio(minutes: float) -> np.ndarray:
    from archive.recordings import audio

    pieces = [
        audio.decode(FIXTURES / "russian_translation.flac"),
        audio.decode(FIXTURES / "russian_narrator.flac"),
    ]
    return interleave(pieces, minutes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--one-by-one", action="store_true", help="also time unbatched")
    parser.add_argument("--cache", default=str(REPO / "cache"))
    args = parser.parse_args()

    from archive.transcription import engine
    from archive.transcription.translation import BATCH, translate_span, translate_spans

    model = engine.load_model(args.model, Path(args.cache), args.device, args.threads)
    samples = russian_audio(args.minutes)
    minutes = samples.shape[0] / RATE / 60

    segments: list = []
    started = time.perf_counter()
    engine.transcribe(model, samples, "ru", [], segments.append)
    transcribed = time.perf_counter() - started

    spans = [(segment.start, segment.end) for segment in segments]
    started = time.perf_counter()
    words = 0
    for first in range(0, len(spans), BATCH):  # as the worker does
        for text, _suspect in translate_spans(model, samples, spans[first : first + BATCH], "ru"):
            words += len(text.split())
    translated = time.perf_counter() - started

    started = time.perf_counter()
    for start, end in spans if args.one_by_one else []:
        translate_span(model, samples, start, end, "ru")
    one_by_one = time.perf_counter() - started

    print(f"model {args.model}, {args.device}, threads {args.threads or 'all'}")
    print(f"audio: {minutes:.2f} min, {len(segments)} segments, {words} English words")
    print(f"transcription: {transcribed / minutes:.1f} s per minute of audio")
    print(f"translation:   {translated / minutes:.1f} s per minute of audio")
    print(f"translation share of the job: {translated / (translated + transcribed):.0%}")
    if args.one_by_one:
        print(f"translation one segment at a time: {one_by_one / minutes:.1f} s per minute")


if __name__ == "__main__":
    main()
