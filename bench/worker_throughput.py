"""Transcription throughput: hours of audio per hour, one worker against two.

    .venv/bin/python -m bench.worker_throughput [--model base] [--jobs 6] [--minutes 2]
        [--layouts 1x2,2x1]

For each layout WxT (W ``flask --app wsgi worker`` processes with ``--threads T``
each), a fresh scratch archive gets ``--jobs`` recordings of ``--minutes`` of real
two-voice speech from the fixtures (``bench.common.interview_audio``), imported as
an upload would be, and the workers are started and left to drain the queue.

Reports, per layout: the makespan (first job started to last job done, from the
recordings' own ``started_at`` and ``finished_at``, so each worker's model load is
inside it once), hours of audio per hour, each job's real-time factor, and the CPU
seconds the workers used per second of audio (from /proc), which is what scales
with cores. The load average before and after shows how busy the machine was.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from bench.common import RATE, REPO, ScratchArchive, interview_audio, write_wav

TICKS = os.sysconf("SC_CLK_TCK")
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def cpu_seconds(pid: int) -> float:
    """User and system time of a process and its finished children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat (11-14 after the name).
    return sum(int(value) for value in fields[11:15]) / TICKS


def seed(scratch: ScratchArchive, jobs: int, minutes: float) -> float:
    """Import the recordings; returns the seconds of audio queued."""
    from archive import accounts, interviews, recordings, unit_of_work
    from archive.recordings import storage

    app = scratch.app()
    speech = interview_audio(minutes * jobs + 1)
    length = int(minutes * 60 * RATE)
    total = 0.0
    with app.app_context():
        from archive.extensions import db

        user = accounts.create_user(None, "bench@example.org", "interviewer", "bench password 1")
        unit_of_work.commit()
        for number in range(jobs):
            # Each job its own stretch of the speech, so no two files are the same.
            piece = speech[number * length : (number + 1) * length]
            path = write_wav(scratch.root / f"job-{number}.wav", piece)
            interview = interviews.create_interview(
                user, {"title": f"bench {number}", "language": "en", "expected_speakers": 2}
            )
            unit_of_work.commit()
            with storage.copy_to_incoming(path) as temp:
                recordings.add_recording(user, interview, temp, path.name)
                unit_of_work.commit()
            total += len(piece) / RATE
            path.unlink()
        db.session.remove()
        db.engine.dispose()
    return total


def run_layout(model: str, workers: int, threads: int, jobs: int, minutes: float) -> dict:
    scratch = ScratchArchive(model, threads)
    try:
        audio_seconds = seed(scratch, jobs, minutes)
        database = scratch.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        env = {
            **scratch.env(),
            "ARCHIVE_WORKER_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
        }
        load_before = os.getloadavg()
        started = time.monotonic()
        processes = [
            subprocess.Popen(
                [*FLASK, "worker", "--threads", str(threads)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(scratch.root / f"worker-{n}.log", "wb"),  # noqa: SIM115
            )
            for n in range(workers)
        ]
        cpu = dict.fromkeys((p.pid for p in processes), 0.0)
        try:
            while True:
                time.sleep(1)
                for process in processes:
                    cpu[process.pid] = max(cpu[process.pid], cpu_seconds(process.pid))
                with sqlite3.connect(database) as connection:
                    states = dict(
                        connection.execute(
                            "SELECT status, count(*) FROM recordings GROUP BY status"
                        ).fetchall()
                    )
                if states.get("failed"):
                    logs = "".join(p.read_text() for p in scratch.root.glob("worker-*.log"))
                    sys.exit(f"a job failed:\n{logs[-3000:]}")
                if states.get("done", 0) == jobs:
                    break
                if time.monotonic() - started > 1800:
                    sys.exit(f"not done after 30 minutes: {states}")
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
        wall = time.monotonic() - started
        load_after = os.getloadavg()
        with sqlite3.connect(database) as connection:
            rows = connection.execute(
                "SELECT started_at, finished_at, duration FROM recordings"
            ).fetchall()
        spans = [
            (datetime.fromisoformat(start), datetime.fromisoformat(end), duration)
            for start, end, duration in rows
        ]
        makespan = (max(s[1] for s in spans) - min(s[0] for s in spans)).total_seconds()
        rtfs = [(end - start).total_seconds() / duration for start, end, duration in spans]
        return {
            "layout": f"{workers}x{threads}",
            "audio_s": audio_seconds,
            "makespan_s": makespan,
            "wall_s": wall,
            "audio_h_per_h": audio_seconds / makespan,
            "rtf_median": statistics.median(rtfs),
            "cpu_s": sum(cpu.values()),
            "load": (load_before[0], load_after[0]),
        }
    finally:
        scratch.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--layouts", default="1x2,2x1", help="WORKERSxTHREADS, comma separated")
    args = parser.parse_args()

    # The base model's halves are joined into cache/ once, before any timing.
    warm = ScratchArchive(args.model)
    try:
        with warm.app().app_context():
            from archive.transcription import pipeline

            pipeline.load_configured_model()
    finally:
        warm.cleanup()

    print(
        f"model {args.model}; {args.jobs} jobs of {args.minutes:g} min each; {os.cpu_count()} cores"
    )
    for layout in args.layouts.split(","):
        workers, threads = (int(v) for v in layout.split("x"))
        result = run_layout(args.model, workers, threads, args.jobs, args.minutes)
        print(
            f"{result['layout']:>4} (workers x threads): "
            f"{result['audio_s'] / 60:.1f} min of audio in {result['makespan_s']:.1f} s "
            f"-> {result['audio_h_per_h']:.1f} h of audio per hour; "
            f"job RTF median {result['rtf_median']:.3f}; "
            f"{result['cpu_s'] / result['audio_s']:.3f} CPU s per audio s; "
            f"wall {result['wall_s']:.0f} s with model loads; "
            f"load average {result['load'][0]:.1f} -> {result['load'][1]:.1f}"
        )


if __name__ == "__main__":
    main()
