"""Transcription job vs bare faster-whisper, side by side in one run.

For one recording and one model, times (a) bare faster-whisper: decode the file
and run ``WhisperModel.transcribe`` with the archive's settings, and (b) the
archive's whole job from "upload done" to "transcript done": claim, decode,
transcribe while saving each segment, separate the speakers, write the machine
transcript. The model is loaded once before either, as a running worker has it.

    .venv/bin/python bench/pipeline_speed.py --model base --minutes 5

Prints the times, the ratio job/bare, and the job's real-time factor.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench.common import ScratchArchive, interview_audio, write_wav


def bare(model, path: Path, language: str | None) -> float:
    from archive.recordings import audio
    from archive.transcription import engine

    started = time.perf_counter()
    samples = audio.decode(path)
    engine.transcribe(model, samples, language, [], lambda segment: None)
    return time.perf_counter() - started


def job(app, path: Path, language: str | None) -> float:
    from archive import interviews, recordings, unit_of_work
    from archive.models import User
    from archive.recordings import storage
    from archive.transcription import pipeline

    with app.app_context():
        from archive.extensions import db

        user = db.session.query(User).first() or _interviewer()
        interview = interviews.create_interview(
            user, {"title": "bench", "language": language or "", "expected_speakers": 2}
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
        return elapsed


def _interviewer():
    from archive import accounts, unit_of_work

    user = accounts.create_user(None, "bench@example.org", "interviewer", "bench password 1")
    unit_of_work.commit()
    return user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--language", default="en")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    scratch = ScratchArchive(args.model, args.threads)
    try:
        app = scratch.app()
        path = write_wav(scratch.root / "interview.wav", interview_audio(args.minutes))
        seconds = args.minutes * 60
        with app.app_context():
            from archive.transcription import pipeline

            model = pipeline.load_configured_model()
        bare_times, job_times = [], []
        for _ in range(args.rounds):
            bare_times.append(bare(model, path, args.language))
            job_times.append(job(app, path, args.language))
        b, j = min(bare_times), min(job_times)
        print(f"model {args.model}, {args.minutes:g} min of audio, threads {args.threads or 'all'}")
        print(f"bare faster-whisper: {b:.1f} s (runs: {', '.join(f'{t:.1f}' for t in bare_times)})")
        print(f"archive job:         {j:.1f} s (runs: {', '.join(f'{t:.1f}' for t in job_times)})")
        print(f"ratio job/bare: {j / b:.2f}   job real-time factor: {j / seconds:.3f}")
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
