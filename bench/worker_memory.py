"""Peak memory of a real worker transcribing a long recording.

Builds a mono recording of ``--hours`` from the fixtures' real speech, imports it
into a scratch archive, runs ``flask --app wsgi worker`` until the job is done,
and reads the worker's peak resident memory (VmHWM) from /proc.

    .venv/bin/python bench/worker_memory.py --hours 2 --model base
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO, ScratchArchive, interview_audio, write_wav


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--model", default="base")
    args = parser.parse_args()

    scratch = ScratchArchive(args.model)
    try:
        scratch.app()
        path = write_wav(scratch.root / "long.wav", interview_audio(args.hours * 60))
        env = scratch.env()
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        run = dict(cwd=REPO, env=env, check=True, capture_output=True, text=True)
        subprocess.run(
            [
                *flask,
                "users",
                "create",
                "b@example.org",
                "--role",
                "interviewer",
                "--password",
                "bench password 1",
            ],
            **run,
        )
        database = scratch.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        with sqlite3.connect(database) as connection:
            connection.execute(
                "INSERT INTO interviews (title, summary, place, vocabulary, workflow_status, "
                "agreement_version, access_level, audio_permission, identity, created_at, "
                "updated_at) VALUES ('bench', '', '', '', 'new', 0, 'sealed', 'none', "
                "'pseudonym', datetime('now'), datetime('now'))"
            )
        subprocess.run([*flask, "import", str(path), "--interview", "1"], **run)
        started = time.monotonic()
        worker = subprocess.Popen(
            [*flask, "worker"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak, status = 0.0, "queued"
        while status not in ("done", "failed"):
            time.sleep(2)
            peak = max(peak, peak_rss_mb(worker.pid))
            with sqlite3.connect(database) as connection:
                status, progress = connection.execute(
                    "SELECT status, progress FROM recordings WHERE id = 1"
                ).fetchone()
            print(f"\r{status} {progress:.0%} peak {peak:.0f} MB", end="", flush=True)
        elapsed = time.monotonic() - started
        worker.terminate()
        worker.wait(timeout=30)
        print()
        print(
            f"{args.hours:g} h with {args.model}: {status} in {elapsed / 60:.1f} min "
            f"(real-time factor {elapsed / (args.hours * 3600):.3f}); "
            f"worker peak memory {peak:.0f} MB"
        )
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
