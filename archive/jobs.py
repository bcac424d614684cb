"""The task bodies: what a worker runs for each task ``archive.queue`` can queue.

Each body enters the app's context and calls one service, which reloads its rows
and checks their state (a task run twice, or after a worker died, does no harm).
Importing this module registers the bodies with the queue (``create_app`` does);
services never import it: they queue through ``archive.queue``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import Flask
from huey import crontab
from huey.api import Task

from archive import notifications, queue, search, unit_of_work
from archive.extensions import db
from archive.recordings import listening_copies
from archive.search import catch_up as search_catch_up
from archive.transcription import pipeline, translation
from archive.transcripts import bags

log = logging.getLogger(__name__)

_app: Flask | None = None
_factory: Callable[[], Flask] | None = None


def bind(app: Flask) -> None:
    """Tell the tasks which app they run in (the worker command calls this)."""
    global _app
    _app = app


def init_factory(factory: Callable[[], Flask]) -> None:
    """How to build an app when none is bound (``create_app`` hands itself over, so
    this module needs no import of the package root)."""
    global _factory
    _factory = factory


@contextmanager
def _app_context() -> Iterator[None]:
    """The app's context for one task body. Jobs that commit themselves (the
    transcription and translation jobs) may have asked for work after a commit
    (``unit_of_work.after_commit``: a reindex that outdated listening copies queues
    them again); it runs before the context, and its session, end."""
    global _app
    if _app is None:  # a consumer started without the worker command
        if _factory is None:
            raise RuntimeError("no app for the tasks: start workers with `flask worker`")
        _app = _factory()
    with _app.app_context():
        yield
        unit_of_work.run_ready()


@queue.task()
def transcribe_recording(recording_id: int) -> None:
    with _app_context():
        pipeline.run(recording_id, queue.worker_id())


@queue.task()
def translate_recording(recording_id: int) -> None:
    with _app_context():
        translation.run(recording_id, queue.worker_id())


@queue.periodic_task(crontab(minute="*"))
def recover_abandoned_jobs() -> None:
    with _app_context():
        pipeline.recover_abandoned(queue.worker_id())
        translation.recover_abandoned(queue.worker_id())


@queue.task()
def build_access_copies(recording_id: int) -> None:
    with _app_context():
        listening_copies.build(recording_id)


@queue.periodic_task(crontab(minute="29"))
def catch_up_names() -> None:
    """Hourly, and once at each worker's start (``flask worker`` queues it): the
    interviews an older name matcher indexed are reindexed, their listening copies
    made again where the names moved. With none behind, one query."""
    with _app_context():
        search_catch_up.catch_up()


#: Removed search entries still held by a running transaction are tried every
#: ``queue.FORGET_RETRY_SECONDS``, this many times (half an hour), by Huey's retries.
FORGET_ATTEMPTS = 30


class EntriesStillHeldError(RuntimeError):
    """Raised to have Huey try ``forget_deleted_entries`` again later."""


@queue.task(retries=FORGET_ATTEMPTS - 1, retry_delay=queue.FORGET_RETRY_SECONDS, context=True)
def forget_deleted_entries(task: Task) -> None:
    attempt = FORGET_ATTEMPTS - task.retries
    with _app_context():
        if search.backend_for(db.engine).forget_deleted(db.engine):
            log.info("removed search entries forgotten (attempt %d)", attempt)
            return
    if task.retries <= 0:
        log.error("removed search entries still held after %d attempts", attempt)
        return
    raise EntriesStillHeldError(f"removed search entries still held (attempt {attempt})")


# E-mail notifications (archive/notifications.py): a failed send is tried again,
# every five minutes for half an hour, then logged and given up.
NOTIFY_RETRIES = 6
NOTIFY_RETRY_SECONDS = 300


@queue.task(retries=NOTIFY_RETRIES, retry_delay=NOTIFY_RETRY_SECONDS)
def send_notification(kind: str, object_id: int, attempt: int = 0) -> None:
    with _app_context():
        notifications.deliver(kind, object_id, attempt)


@queue.periodic_task(crontab(minute="17"))
def remind_expiring_grants() -> None:
    """Hourly, so a reminder due while the worker was down still goes (once)."""
    with _app_context():
        notifications.remind_expiring_grants()


@queue.task()
def build_bag(interview_id: int, user_id: int | None, view_key: str, base_url: str) -> None:
    """A failure is recorded as the bag's state, which the reader sees and may retry."""
    with _app_context():
        bags.build(interview_id, user_id, view_key, base_url)


@queue.periodic_task(crontab(minute="41"))
def sweep_bags() -> None:
    """Hourly: bags expired, orphaned, or no longer their reader's view."""
    with _app_context():
        removed = bags.sweep()
        if removed:
            log.info("%d expired bag(s) removed", removed)
