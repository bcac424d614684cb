"""How long the server takes to save one corrected segment of a long interview.

    .venv/bin/python -m bench.segment_save [--segments 2500] [--saves 30]

Builds the editor bench's scratch archive (``bench.editor_load.build``: one
interview of ``--segments`` segments over three hours, the narrator's real name in
one segment of twenty, SQLite) and sends the request the editor sends when a
corrected segment is saved (``PATCH /api/v1/segments/ID`` with the text as
``parts``), ``--saves`` times, each to another segment, through Flask's test
client: no network, no browser, so the time is the server's own. Reports the
median and p95 of:

- server: the request, from the WSGI call to the response's last byte;
- lock: how long SQLite's write lock was held (the transaction's first write to
  its commit): every other writer of the archive (the worker storing segments,
  another editor) waits that long.

Then the same for a split and the merge that undoes it, and a redaction.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import ScratchArchive
from bench.editor_load import build

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class LockClock:
    """The time from a transaction's first write to its commit (SQLite takes its
    write lock at the first write and keeps it until the commit)."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.held: list[float] = []
        self._since: float | None = None
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def _statement(self, _conn, _cursor, statement, *_args) -> None:
        if self._since is None and statement.lstrip().upper().startswith(WRITES):
            self._since = time.perf_counter()

    def _commit(self, _conn) -> None:
        if self._since is not None:
            self.held.append(time.perf_counter() - self._since)
        self._since = None

    def _rollback(self, _conn) -> None:
        self._since = None

    def take(self) -> float:
        """The lock time of the requests since the last call (their sum)."""
        total, self.held = sum(self.held), []
        return total


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=2500)
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()

    from sqlalchemy import select

    from archive.accounts import tokens
    from archive.extensions import db
    from archive.models import Segment, User

    scratch = ScratchArchive("tiny.en")
    try:
        app = scratch.app()
        began = time.perf_counter()
        interview_id = build(app, args.segments)
        print(f"built {args.segments} segments in {time.perf_counter() - began:.1f} s")
        with app.app_context():
            user = db.session.scalar(select(User))
            _row, token = tokens.issue_token(user, user)
            db.session.commit()
            ids = list(db.session.scalars(Segment.in_reading_order(interview_id, Segment.id)))
            clock = LockClock(db.engine)
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        # Segments without the narrator's name (build puts it in one of twenty,
        # at index 5 modulo 20): their text is the editor's one part.
        chosen = [i for i in range(100, len(ids), len(ids) // (args.saves + 1)) if i % 20 != 5]
        server, lock = [], []
        for n, index in enumerate(chosen[: args.saves]):
            segment_id = ids[index]
            text = client.get(f"/api/v1/segments/{segment_id}", headers=headers).json
            words = text["segment"]["t"].split()
            words[1] = f"corrected{n}"
            clock.take()
            began = time.perf_counter()
            answer = client.patch(
                f"/api/v1/segments/{segment_id}", json={"parts": [" ".join(words)]}, headers=headers
            )
            server.append(time.perf_counter() - began)
            lock.append(clock.take())
            assert answer.status_code == 200, answer.json
        print(f"save one segment ({len(server)} saves)")
        print(f"  server {_stats(server)}")
        print(f"  lock   {_stats(lock)}")

        structure: dict[str, list[float]] = {"split": [], "merge": [], "redact": []}
        for index in chosen[:10]:
            segment_id = ids[index]
            shown = client.get(f"/api/v1/segments/{segment_id}", headers=headers).json["segment"]
            at = shown["t"].index(" ", 5)
            for kind, url, body in (
                ("split", f"/api/v1/segments/{segment_id}/split", {"at": at}),
                ("merge", f"/api/v1/segments/{segment_id}/merge", {}),
                (
                    "redact",
                    f"/api/v1/segments/{segment_id}/redactions",
                    {"start": 0, "end": 3, "reason": "bench"},
                ),
            ):
                clock.take()
                began = time.perf_counter()
                answer = client.post(url, json=body, headers=headers)
                structure[kind].append(time.perf_counter() - began)
                assert answer.status_code < 300, (kind, answer.status_code, answer.json)
        for kind, values in structure.items():
            print(f"{kind:6s} server {_stats(values)}  ({len(values)} requests)")
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
