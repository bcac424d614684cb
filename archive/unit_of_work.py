"""Where a change becomes durable: one commit per unit of work, never inside a service.

Services change rows, flush when they need an id or a constraint checked, and add
their audit events to the same transaction; they do not commit. Whoever started the
work commits once, at the end:

- a web request: ``archive/web/transactions.py`` commits after the view returned
  an answer below 400 and rolls back otherwise (or when anything raised);
- the worker's tasks and the ``flask`` commands: ``commit()`` where their work is done.

What must wait until the change is durable (enqueueing a task that reads the new
rows, deleting files the old rows pointed at) is handed to ``after_commit``; it runs
after the next commit and is dropped by a rollback, so a refused change never
deletes a file nor starts a job.

Every service works this way: accounts and tokens, consent, interviews and
speakers, recordings, the transcript services. Two commits stay in a service, each
commented where it is: a failed sign-in (``accounts.authenticate``; its 401 rolls the
request back, and the attempt must stay on record) and a token's use
(``tokens.user_for_token``, before the view runs). The jobs commit at their own
boundaries (the transcription pipeline stores segments as they come, leases,
translated batches, a notification's claim, a listening copy's compare-and-set),
through ``commit()`` here, so what waited for the commit runs.

A file written before the rows that name it (an uploaded master) is handed to
``after_rollback``: removed if the change is rolled back, kept once it is committed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from archive.extensions import db

_PENDING = "after_commit_pending"
_UNDO = "after_rollback_pending"
_READY = "after_commit_ready"
_WROTE = "wrote"


def after_commit(callback: Callable[[], object]) -> None:
    """Run ``callback`` once the current transaction is committed; never if it is
    rolled back."""
    db.session.info.setdefault(_PENDING, []).append(callback)


def after_rollback(callback: Callable[[], object]) -> None:
    """Run ``callback`` if the current transaction is rolled back; never once it is
    committed. For files written before the rows that name them (a master, a signed
    agreement): a refused change must not leave one behind that no row governs.
    The callback runs inside the rollback, so it must not touch the database."""
    db.session.info.setdefault(_UNDO, []).append(callback)


def has_changes() -> bool:
    """Whether the current transaction wrote, or holds a change not yet flushed: a
    request that only read ends without a commit (nothing it loaded is expired)."""
    session = db.session
    return bool(session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def commit() -> None:
    """Commit the session, then run what waited for it (in the order it was asked)."""
    db.session.commit()
    run_ready()


def run_ready() -> None:
    """What ``after_commit`` asked for, once a commit (anyone's) has made it durable."""
    info = db.session.info
    while info.get(_READY):
        info[_READY].pop(0)()


@event.listens_for(Session, "after_commit")
def _made_durable(session: Session) -> None:
    # No SQL may run inside this event: the callbacks run in ``run_ready``.
    session.info.pop(_WROTE, None)
    session.info.pop(_UNDO, None)
    pending = session.info.pop(_PENDING, [])
    if pending:
        session.info.setdefault(_READY, []).extend(pending)


@event.listens_for(Session, "after_soft_rollback")
def _dropped(session: Session, _previous_transaction) -> None:
    session.info.pop(_WROTE, None)
    session.info.pop(_PENDING, None)
    for undo in session.info.pop(_UNDO, []):
        undo()


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state) -> None:
    # An UPDATE, INSERT or DELETE run as a statement (a lock, a claimed version, the
    # audit chain's head) is a write the identity map does not show.
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True
