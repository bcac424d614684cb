"""After a name matcher upgrade: reindex the interviews an older matcher indexed.

Pages render with the current matcher, but the search index and the listening
copies are made ahead, and edits refresh only the segments they touch: text
indexed by an older matcher could keep a name the new one would hide, audio a
name it would tone out. ``catch_up`` reindexes, whole, each interview whose
``names_matched_with`` is older than ``MATCHER_VERSION`` (or not known); where
the names found moved, ``indexing.reindex`` outdates its listening copies and
queues them again after the commit.

It is the loop of a worker task (at the worker's start and hourly,
``jobs.catch_up_names``) and of ``flask search reindex``: one interview per
transaction, committed as it is done, so a long catch-up holds no lock for long,
a crash loses one interview's work, and readers see each interview hidden anew
as soon as it is. With nothing behind it costs one query. Withdrawn interviews
are left alone: their index stays empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from archive import unit_of_work
from archive.extensions import db
from archive.models import Interview
from archive.search import indexing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One interview done: its place in the run, and whether its names moved (its
    listening copies are made again)."""

    done: int
    total: int
    interview_id: int
    reindexed: bool
    moved: bool
    failed: bool = False


@dataclass(frozen=True)
class CatchUp:
    reindexed: int = 0
    moved: int = 0
    failed: int = 0


def catch_up(*, stale_only: bool = True, progress: Callable[[Step], None] | None = None) -> CatchUp:
    """Reindex the interviews behind this matcher (all that are not withdrawn when
    ``stale_only`` is False), one transaction each; ``progress`` hears of each."""
    session = db.session
    if stale_only:
        todo = indexing.behind_interviews(session)
    else:
        todo = list(
            session.scalars(
                select(Interview.id).where(Interview.withdrawn_at.is_(None)).order_by(Interview.id)
            )
        )
    session.rollback()  # the list was read; each interview gets a transaction of its own
    reindexed = moved = failed = 0
    for done, interview_id in enumerate(todo, start=1):
        try:
            result = _one(interview_id, stale_only)
            unit_of_work.commit()
        except Exception as exc:  # a deadlock with an edit, a lost connection: the next run
            session.rollback()
            log.warning(
                "name catch-up of interview %s failed (%s)", interview_id, type(exc).__name__
            )
            failed += 1
            if progress is not None:
                progress(Step(done, len(todo), interview_id, False, False, failed=True))
            continue
        if result is not None:
            reindexed += 1
            moved += result
        if progress is not None:
            progress(Step(done, len(todo), interview_id, result is not None, bool(result)))
    if todo:
        log.info(
            "name catch-up: %d interview(s) reindexed, %d with names moved, %d failed",
            reindexed,
            moved,
            failed,
        )
    return CatchUp(reindexed, moved, failed)


def _one(interview_id: int, stale_only: bool) -> bool | None:
    """Reindex one interview under its row's lock; None when there is nothing to do
    any more (withdrawn, gone, or caught up meanwhile by another worker or an edit)."""
    session = db.session
    # The row's write lock, held to the commit (``updated_at`` kept: nothing the
    # catalogue shows changes): a second worker running the catch-up waits here,
    # then finds the interview caught up.
    locked = session.execute(
        update(Interview)
        .where(Interview.id == interview_id)
        .values(updated_at=Interview.updated_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not locked:
        return None
    interview = session.scalars(
        select(Interview)
        .where(Interview.id == interview_id)
        .execution_options(populate_existing=True)
    ).one()
    if interview.withdrawn_at is not None:
        return None
    behind = indexing.is_behind(interview)
    if stale_only and not behind:
        return None
    moved = indexing.reindex(session, interview)
    if moved and not behind:
        # Asked for by hand (``--stale-only`` not given) and the names moved all the
        # same: the copies are made again as for an interview behind.
        indexing.remake_listening_copies(interview)
    return moved
