"""Transcription job vs bare faster-whisper, batched and sequential, in one run.

For one recording and one model, times side by side:

(a) the archive's whole job from "upload done" to "transcript done": claim, decode,
    transcribe (batched, ``ARCHIVE_WHISPER_BATCH`` or ``--batch``) while saving each
    segment, separate the speakers, write the machine transcript;
(b) bare faster-whisper batched: decode the file and run its own
    ``BatchedInferencePipeline`` with the archive's settings and batch size;
(c) bare faster-whisper sequential: ``WhisperModel.transcribe``, the same settings.

The recording is ``tests/fixtures/two_synthetic_voices.flac`` (an interviewer and a
narrator, espeak-ng, six turns in 47.5 s) said over and over for about ``--minutes``,
so what was said and who said it are known: each run is scored by its word error
rate against the texts of ``bench/fidelity.py`` (jiwer, after lowercasing and
dropping punctuation) and by speaker attribution (share of word time given to the
right voice: the job's stored speakers; for the bare runs, ``diarize`` on their
words, two speakers given). All three get the interview's vocabulary and names as
hotwords, as the job does in English. The model is loaded and warmed on a minute
of the recording before any run, and the word frequencies of the name matcher
loaded, as a running worker has them; numpy's threads are the job's own (the
worker's, ``--threads``), as in ``flask worker``. The load average is
printed with every figure: the machine may be shared.

    .venv/bin/python bench/pipeline_speed.py --model base --minutes 7

Targets (issue 18): job at most 1.15x bare batched; job real-time factor at most
0.06 with ``base`` on 2 cores; WER within 0.01 of sequential.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.common import FIXTURES, ScratchArchive, write_wav  # noqa: E402

#: Seconds of each turn of two_synthetic_voices.flac: interviewer, narrator, ...
TURNS = [6.434563, 9.112937, 3.207187, 12.45, 3.138625, 13.131813]
HOTWORDS = ["Almaty", "Gulnara Bekova", "Timur Akhmetov"]


def recording(minutes: float) -> tuple[np.ndarray, int]:
    """The fixture said ``repeats`` times (whole times, so the reference is exact)."""
    from archive.recordings import audio

    once = audio.decode(FIXTURES / "two_synthetic_voices.flac")
    repeats = max(1, math.ceil(minutes * 60 * audio.SAMPLE_RATE / len(once)))
    return np.concatenate([once] * repeats).astype(np.float32), repeats


def voice_of(moment: float) -> int:
    """The true voice (0 interviewer, 1 narrator) at ``moment``: the nearest turn."""
    moment %= sum(TURNS)
    bounds = np.cumsum([0.0, *TURNS])
    distances = [max(a - moment, 0.0, moment - b) for a, b in itertools.pairwise(bounds)]
    return int(np.argmin(distances)) % 2


def attribution(words: list[tuple[float, float]], labels: list[int]) -> float:
    """Share of word time on the right voice, speaker labels mapped to voices at best."""
    if not words:
        return 0.0
    time_on: dict[tuple[int, int], float] = {}
    for (start, end), label in zip(words, labels, strict=True):
        key = (label, voice_of((start + end) / 2))
        time_on[key] = time_on.get(key, 0.0) + (end - start)
    speakers = sorted({label for label, _ in time_on})
    best = 0.0
    for voices in itertools.product((0, 1), repeat=len(speakers)):
        right = sum(time_on.get((s, v), 0.0) for s, v in zip(speakers, voices, strict=True))
        best = max(best, right)
    return best / sum(time_on.values())


def wer(texts: list[str], repeats: int) -> float:
    import jiwer

    from archive.transcription.guards import normalise_text
    from bench.fidelity import ENGLISH

    reference = normalise_text(" ".join(ENGLISH.turns * repeats))
    return jiwer.wer(reference, normalise_text(" ".join(texts)))


def bare(model, path: Path, language: str, batch: int) -> tuple[float, list]:
    """faster-whisper alone, with the archive's settings; returns time and segments."""
    from faster_whisper import BatchedInferencePipeline

    from archive.recordings import audio
    from archive.transcription import engine

    started = time.perf_counter()
    samples = audio.decode(path)
    decoder = BatchedInferencePipeline(model) if batch > 1 else model
    segments, _info = decoder.transcribe(
        samples, **engine._decoding(language, 5, batch), hotwords=" ".join(HOTWORDS)
    )
    segments = list(segments)
    return time.perf_counter() - started, segments


def bare_scores(segments, samples: np.ndarray, repeats: int) -> tuple[float, float]:
    from archive.transcription import diarization

    words = [(w.start, w.end) for s in segments for w in (s.words or [])]
    labels = diarization.diarize(samples, words, 2).labels if words else []
    return wer([s.text for s in segments], repeats), attribution(words, list(labels))


def job(app, path: Path, language: str, repeats: int) -> tuple[float, float, float]:
    """The whole job; returns its time, WER and speaker attribution."""
    from sqlalchemy import select

    from archive import interviews, recordings, unit_of_work
    from archive.extensions import db
    from archive.models import Segment, User
    from archive.recordings import storage
    from archive.transcription import pipeline

    with app.app_context():
        user = db.session.query(User).first() or _interviewer()
        interview = interviews.create_interview(
            user,
            {
                "title": "bench",
                "language": language,
                "expected_speakers": 2,
                "vocabulary": ", ".join(HOTWORDS),
            },
        )
        unit_of_work.commit()
        with storage.copy_to_incoming(path) as temp:
            recording = recordings.add_recording(user, interview, temp, path.name)
            unit_of_work.commit()
        started = time.perf_counter()
        pipeline.run(recording.id, "bench:1")
        elapsed = time.perf_counter() - started
        db.session.refresh(recording)
        assert recording.status == "done", recording.error
        segments = db.session.scalars(
            select(Segment).where(Segment.recording_id == recording.id).order_by(Segment.start)
        ).all()
        words = [(w["start"], w["end"]) for s in segments for w in (s.words or [])]
        labels = [s.speaker_id for s in segments for _ in (s.words or [])]
        return elapsed, wer([s.text for s in segments], repeats), attribution(words, labels)


def _interviewer():
    from archive import accounts, unit_of_work

    user = accounts.create_user(None, "bench@example.org", "interviewer", "bench password 1")
    unit_of_work.commit()
    return user


def load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def main() -> None:
    from archive.transcription import decoding_settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=7.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--language", default="en")
    parser.add_argument("--batch", type=int, default=decoding_settings.DEFAULT_BATCH)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    scratch = ScratchArchive(args.model, args.threads)
    scratch.config["WHISPER_BATCH"] = args.batch
    try:
        app = scratch.app()
        samples, repeats = recording(args.minutes)
        path = write_wav(scratch.root / "interview.wav", samples)
        seconds = len(samples) / 16_000
        with app.app_context():
            from archive.transcription import pipeline

            model = pipeline.load_configured_model()
        # Warm, as a running worker is: the first decoding also loads the VAD model
        # and sizes the buffers, which no later job pays again.
        warm = write_wav(scratch.root / "warm.wav", samples[: 60 * 16_000])
        bare(model, warm, args.language, args.batch)
        from archive.transcripts.names import words

        words.load()  # as ``flask worker`` does at start
        print(
            f"model {args.model}, {seconds / 60:.1f} min of audio ({repeats} x 47.5 s), "
            f"threads {args.threads or 'all'}, batch {args.batch}, {os.cpu_count()} CPUs",
            flush=True,
        )
        rows: dict[str, list] = {"job": [], "batched": [], "sequential": []}
        for _ in range(args.rounds):
            took, words_wrong, right = job(app, path, args.language, repeats)
            rows["job"].append((took, words_wrong, right, load()))
            _show("archive job", rows["job"][-1], seconds)
            for name, batch in (("batched", args.batch), ("sequential", 1)):
                took, segments = bare(model, path, args.language, batch)
                row = (took, *bare_scores(segments, samples, repeats), load())
                rows[name].append(row)
                _show(f"bare {name}", row, seconds)
        best = {name: min(rows[name]) for name in rows}
        j, b, s = best["job"], best["batched"], best["sequential"]
        print(
            f"\nbest of {args.rounds}: job/bare batched {j[0] / b[0]:.2f}x (target <= 1.15), "
            f"job RTF {j[0] / seconds:.3f} (target <= 0.06 with base on 2 cores), "
            f"bare batched/sequential {b[0] / s[0]:.2f}x; WER job {j[1]:.3f}, batched "
            f"{b[1]:.3f}, sequential {s[1]:.3f} (target: job within 0.01 of sequential); "
            f"attribution job {j[2]:.3f}, batched {b[2]:.3f}, sequential {s[2]:.3f}"
        )
    finally:
        scratch.cleanup()


def _show(name: str, row: tuple, seconds: float) -> None:
    took, words_wrong, right, machine = row
    print(
        f"{name:16s} {took:6.1f} s  RTF {took / seconds:.3f}  WER {words_wrong:.3f}  "
        f"attribution {right:.3f}  ({machine})",
        flush=True,
    )


if __name__ == "__main__":
    main()
