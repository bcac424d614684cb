"""What the name matcher catch-up costs, with nothing behind and after an upgrade.

    .venv/bin/python -m bench.name_catch_up [--segments 2500] [--interviews 200]

Builds the editor bench's scratch archive (``bench.editor_load.build``: one
interview of ``--segments`` segments over three hours, the narrator's real name in
one segment of twenty, SQLite) and ``--interviews`` empty ones (indexed, nothing
transcribed yet), then times:

- the hourly catch-up with nothing behind (``search.catch_up``: one query);
- the catch-up after ``MATCHER_VERSION`` is bumped (every segment looked at by a
  fresh matcher, one transaction per interview), with how long SQLite's write
  lock was held by the long interview's transaction;
- the first corrected segment saved in an interview still behind (the edit
  reindexes it whole), against the next save (its segment alone).
"""

from __future__ import annotations

import argparse
import time

from bench.common import ScratchArchive
from bench.editor_load import build
from bench.segment_save import LockClock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=2500)
    parser.add_argument("--interviews", type=int, default=200)
    args = parser.parse_args()

    from sqlalchemy import select

    from archive import interviews, unit_of_work
    from archive.extensions import db
    from archive.models import Segment, User
    from archive.search import catch_up, indexing
    from archive.transcripts import transcript_edits
    from archive.transcripts.names import matching as name_matching

    scratch = ScratchArchive("tiny.en")
    try:
        app = scratch.app()
        interview_id = build(app, args.segments)
        with app.app_context():
            staff = db.session.scalar(select(User))
            for n in range(args.interviews):
                small = interviews.create_interview(staff, {"title": f"Short {n}"})
                indexing.reindex(db.session, small)
            db.session.commit()
            clock = LockClock(db.engine)

            began = time.perf_counter()
            result = catch_up.catch_up()
            idle = time.perf_counter() - began
            print(
                f"nothing behind ({args.interviews + 1} interviews): {idle * 1000:.1f} ms {result}"
            )

            name_matching.MATCHER_VERSION += 1
            clock.take()
            held: list[float] = []
            began = time.perf_counter()
            result = catch_up.catch_up(progress=lambda _step: held.append(clock.take()))
            total = time.perf_counter() - began
            print(
                f"after an upgrade: {total:.1f} s for {result.reindexed} interviews "
                f"({args.segments} segments); the long interview's "
                f"transaction held the write lock {held[0]:.2f} s, an empty one's "
                f"{sorted(held[1:])[len(held[1:]) // 2] * 1000:.0f} ms (median)"
            )

            name_matching.MATCHER_VERSION += 1
            ids = list(db.session.scalars(Segment.in_reading_order(interview_id, Segment.id)))
            saves = []
            for index in (100, 101):
                segment = db.session.get(Segment, ids[index])
                words = segment.text.split()
                words[0] = f"corrected{index}"
                began = time.perf_counter()
                transcript_edits.edit_segment(staff, segment, {"text": " ".join(words)})
                unit_of_work.commit()
                saves.append(time.perf_counter() - began)
            print(
                f"first save in an interview behind: {saves[0]:.2f} s (whole reindex); "
                f"the next: {saves[1] * 1000:.0f} ms"
            )
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
