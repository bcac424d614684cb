"""How fast the home page answers each role on an archive of thousands of interviews.

    .venv/bin/python -m bench.home_page [--interviews 5000] [--requests 20]
        [--database-url postgresql+psycopg://...]

Builds a scratch archive (SQLite in a temporary folder, or the empty PostgreSQL
database named) through the migrations, with ``--interviews`` interviews (mixed
access levels, embargoes, workflow states, agreements or none), four recordings
each in every job state, two speakers each (one in ten without a pseudonym), a
few hundred access requests and grants, and audited reads. Then times ``GET /``
(the whole request: policy, counts, short lists, names hidden in each title) for
each role and a visitor, and prints p50 and p95 in milliseconds, with the number
of SQL statements one page runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event

LEVELS = ("open", "on_request", "catalogue", "sealed")
STATES = ("new", "transcribing", "machine_transcript", "in_review", "approved")
JOBS = ("done", "done", "done", "failed", "queued", "processing")


def build(app, interviews: int) -> dict:
    from archive import accounts, unit_of_work
    from archive.extensions import db
    from archive.models import (
        AccessRequest,
        AuditEvent,
        Collection,
        Grant,
        Interview,
        Recording,
        Speaker,
    )

    rng = random.Random(7)
    people = {
        role: accounts.create_user(None, f"{role}@example.org", role, "long enough password")
        for role in ("admin", "custodian", "archivist", "interviewer", "researcher")
    }
    unit_of_work.commit()
    collections = [Collection(title=f"Collection {n}") for n in range(12)]
    db.session.add_all(collections)
    db.session.flush()
    today = date.today()
    for n in range(interviews):
        signed = rng.random() > 0.1
        interview = Interview(
            title=f"Interview {n} with Narrator {n}",
            collection_id=rng.choice(collections).id,
            interviewer_id=people["interviewer"].id if n % 10 == 0 else None,
            workflow_status=rng.choice(STATES),
            agreement_version=1 if signed else 0,
            access_level=rng.choice(LEVELS) if signed else "sealed",
            embargo_until=today + timedelta(days=rng.randint(1, 400)) if n % 15 == 0 else None,
        )
        db.session.add(interview)
        db.session.flush()
        for position in range(1, 5):
            db.session.add(
                Recording(
                    interview_id=interview.id,
                    position=position,
                    master_key=f"bench/{interview.id}-{position}",
                    sha256="0" * 64,
                    size_bytes=1,
                    status=rng.choice(JOBS),
                    duration=600.0,
                )
            )
        for position in (1, 2):
            db.session.add(
                Speaker(
                    interview_id=interview.id,
                    position=position,
                    label=f"S{position}",
                    pseudonym="" if rng.random() < 0.1 else f"P{n}-{position}",
                )
            )
        if n % 10 == 0:
            request = AccessRequest(
                researcher_id=people["researcher"].id,
                interview_id=interview.id,
                purpose="A study.",
                accepted_terms=True,
                status=rng.choice(("pending", "approved", "refused")),
            )
            db.session.add(request)
            db.session.flush()
            if request.status == "approved":
                db.session.add(
                    Grant(
                        researcher_id=people["researcher"].id,
                        interview_id=interview.id,
                        request_id=request.id,
                        expires_on=today + timedelta(days=rng.randint(1, 365)),
                    )
                )
        if n % 500 == 0:
            db.session.commit()
    db.session.commit()
    # Audited reads for the researcher's "recent reading" (outside the hash chain:
    # the page only reads them).
    for n in range(1, 200):
        db.session.add(
            AuditEvent(
                seq=10_000_000 + n,
                actor_id=people["researcher"].id,
                action="read_transcript_page",
                interview_id=n,
                details="{}",
                prev_hash="0" * 64,
                hash=f"{n:064d}",
            )
        )
    db.session.commit()
    return people


def measure(app, user_id: int | None, requests: int) -> tuple[float, float, int]:
    from archive import accounts, unit_of_work
    from archive.extensions import db
    from archive.models import User

    client = app.test_client()
    if user_id is not None:
        with app.app_context():
            user = db.session.get(User, user_id)
            accounts.start_session(user)
            unit_of_work.commit()
            with client.session_transaction() as session:
                session["_user_id"] = user.get_id()
                session["_fresh"] = True
    statements = []
    with app.app_context():
        engine = db.engine

    def count_it(*_args):
        statements.append(1)

    times = []
    for index in range(requests + 1):
        if index == 1:
            event.listen(engine, "before_cursor_execute", count_it)
        started = time.perf_counter()
        response = client.get("/")
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        if index == 1:
            event.remove(engine, "before_cursor_execute", count_it)
        if index:  # the first request warms the caches
            times.append(elapsed * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    from flask_migrate import upgrade

    from archive import create_app
    from archive.extensions import db

    base = Path(tempfile.mkdtemp(prefix="home-bench-"))
    app = create_app(
        {
            "INSTANCE_DIR": base / "instance",
            "SQLALCHEMY_DATABASE_URI": args.database_url or f"sqlite:///{base / 'a.sqlite3'}",
            "RECORDINGS_DIR": base / "recordings",
            "TRANSCRIPTS_DIR": base / "transcripts",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        people = {role: user.id for role, user in build(app, args.interviews).items()}
        print(f"built {args.interviews} interviews in {time.perf_counter() - started:.0f} s")
        db.session.expunge_all()
    print(f"{'who':<12} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5}")
    for role, user_id in [*people.items(), ("visitor", None)]:
        p50, p95, statements = measure(app, user_id, args.requests)
        print(f"{role:<12} {p50:>8.1f} {p95:>8.1f} {statements:>5}")


if __name__ == "__main__":
    main()
