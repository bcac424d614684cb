"""Is the archive working? The parts a load balancer or a monitor asks about, and the
figures Prometheus reads. Ids, counts and timings only: no names, no titles.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from archive import queue
from archive.extensions import db
from archive.models import Recording, utcnow

log = logging.getLogger(__name__)

# A worker beats every 10 s; a lease this old has no living worker behind it.
STALE_SECONDS = 90


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


def check(recordings_root: Path, min_free_bytes: int) -> dict[str, Check]:
    """Each part of the archive: database, queue, workers, free disk."""
    return {
        "database": _database(),
        "queue": _queue(),
        "workers": _workers(),
        "disk": _disk(recordings_root, min_free_bytes),
    }


def _database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        log.warning("health: database unavailable: %s", type(exc).__name__)
        return Check(False, f"unavailable ({type(exc).__name__})")
    return Check(True, "reachable")


def _queue() -> Check:
    try:
        pending = queue.huey.pending_count()
    except Exception as exc:
        log.warning("health: queue unavailable: %s", type(exc).__name__)
        return Check(False, f"unavailable ({type(exc).__name__})")
    return Check(True, f"{pending} task(s) waiting")


def _workers() -> Check:
    """A job being transcribed whose worker stopped beating is a dead worker (it is
    taken up again by the next recovery check; until then it is reported here)."""
    try:
        stale = db.session.scalar(
            select(func.count())
            .select_from(Recording)
            .where(
                Recording.status == "processing",
                Recording.heartbeat_at < utcnow() - timedelta(seconds=STALE_SECONDS),
            )
        )
        running = job_counts().get("processing", 0)
    except Exception as exc:
        db.session.rollback()
        return Check(False, f"unknown ({type(exc).__name__})")
    if stale:
        return Check(False, f"{stale} job(s) with no heartbeat for {STALE_SECONDS} s")
    return Check(True, f"{running} job(s) running, every worker beating")


def _disk(root: Path, min_free_bytes: int) -> Check:
    try:
        free = shutil.disk_usage(root if root.exists() else root.parent).free
    except OSError as exc:
        return Check(False, f"unreadable ({type(exc).__name__})")
    mb = free // (1024 * 1024)
    if free < min_free_bytes:
        return Check(False, f"{mb} MB free under recordings/, below {min_free_bytes >> 20} MB")
    return Check(True, f"{mb} MB free under recordings/")


def job_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Recording.status, func.count()).group_by(Recording.status)
    ).all()
    return {status: count for status, count in rows}


def real_time_factors(hours: int = 24) -> list[float]:
    """Time taken over audio duration of the jobs finished in the last ``hours``."""
    since = utcnow() - timedelta(hours=hours)
    rows = db.session.execute(
        select(Recording.started_at, Recording.finished_at, Recording.duration).where(
            Recording.status == "done",
            Recording.finished_at >= since,
            Recording.started_at.is_not(None),
            Recording.duration > 0,
        )
    ).all()
    return [(end - start).total_seconds() / duration for start, end, duration in rows]
