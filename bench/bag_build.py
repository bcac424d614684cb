"""What a worker spends building one BagIt bag, and what a download spends opening it.

    .venv/bin/python -m bench.bag_build [--hours 2] [--segments-per-hour 700] [--runs 3]

Makes an export document of ``--hours`` of speech (segments of ordinary words) and
an access copy of the size a 64 kbit/s MP3 of that length has (random bytes: the bag
copies and hashes audio, it never decodes it), then times the steps of
``transcripts.bags._make``: ``write_bag`` (every transcript format, the audio copy,
sha256 and sha512 manifests), ``zip_bag``, ``sealed.seal``; and ``open_sealed`` read
to the end, as a download streams it. Prints the median of ``--runs`` for each step.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from archive.exports import ExportDocument, ExportSegment, sealed, write_bag, zip_bag

WORDS = (
    "the square was full of people and we walked towards the akimat when the shooting "
    "began nobody knew who gave the order my brother stayed at home that night"
).split()


def document(hours: float, per_hour: int) -> ExportDocument:
    rng = random.Random(7)
    count = int(hours * per_hour)
    step = hours * 3600 / max(count, 1)
    segments = tuple(
        ExportSegment(
            id=n + 1,
            recording=1,
            start=n * step,
            end=n * step + step * 0.9,
            offset=0.0,
            speaker="Svetlana" if n % 3 else "Interviewer",
            speaker_role="narrator" if n % 3 else "interviewer",
            text=" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 22))),
            language="en",
        )
        for n in range(count)
    )
    return ExportDocument(
        interview_id=7,
        title="Bench interview",
        summary="A summary.",
        recorded_on="2022-01-05",
        place="Almaty",
        language="en",
        collection=None,
        duration=hours * 3600,
        citation="Svetlana (narrator), oral history interview.",
        url="http://localhost:5000/interviews/7",
        speakers=(("Svetlana", "narrator"), ("Interviewer", "interviewer")),
        segments=segments,
        index_points=(),
        access_level="on_request",
        audio_permission="redacted",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--segments-per-hour", type=int, default=700)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    doc = document(args.hours, args.segments_per_hour)
    key = os.urandom(32)
    timings: dict[str, list[float]] = {"write_bag": [], "zip_bag": [], "seal": [], "open": []}
    with tempfile.TemporaryDirectory(prefix="bag-bench-") as scratch:
        root = Path(scratch)
        audio = root / "copy.mp3"
        audio.write_bytes(os.urandom(int(args.hours * 3600 * 64_000 / 8)))
        for run in range(args.runs):
            work = root / f"run-{run}"
            started = time.perf_counter()
            bag = write_bag(doc, work / "interview-7", [audio])
            timings["write_bag"].append(time.perf_counter() - started)
            started = time.perf_counter()
            archive_zip = zip_bag(bag)
            timings["zip_bag"].append(time.perf_counter() - started)
            started = time.perf_counter()
            kept = sealed.seal(archive_zip, work / "bag.zip.sealed", key)
            timings["seal"].append(time.perf_counter() - started)
            started = time.perf_counter()
            size = sum(len(chunk) for chunk in sealed.open_sealed(kept, key))
            timings["open"].append(time.perf_counter() - started)
            assert size == archive_zip.stat().st_size
        megabytes = archive_zip.stat().st_size / 1e6
    print(f"{args.hours} h, {len(doc.segments)} segments, zipped bag {megabytes:.1f} MB")
    for step, values in timings.items():
        print(f"  {step:10s} median {statistics.median(values):6.2f} s")
    load = os.getloadavg()[0]
    print(f"  (load average {load:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
