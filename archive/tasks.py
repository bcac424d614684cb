"""The task queue: Huey on SQLite by default, on Redis when ARCHIVE_REDIS_URL is set.

Tasks take ids and call services that reload the row and check its state, so a
task run twice, or after a worker died, does no harm.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from flask import Flask
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

log = logging.getLogger(__name__)

QUEUE_NAME = "archive"

# The real storage is bound by ``init_app`` from the configuration.
huey = Huey(QUEUE_NAME, results=False, storage_class=MemoryStorage)
_app: Flask | None = None


def init_app(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        # Huey's keys are huey.redis.<name> and the like; the name is the archive's
        # Redis prefix (letters, digits and underscores: Huey drops anything else).
        name = app.config.get("REDIS_PREFIX") or QUEUE_NAME
        huey.storage = RedisStorage(name, url=app.config["REDIS_URL"])
    else:
        path = Path(app.config.get("QUEUE_FILE") or Path(app.instance_path) / "queue.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        huey.storage = SqliteStorage(QUEUE_NAME, filename=str(path), timeout=30)


def bind(app: Flask) -> None:
    """Tell the tasks which app they run in (the worker command calls this)."""
    global _app
    _app = app


def _app_context():
    global _app
    if _app is None:
        from archive import create_app

        _app = create_app()
    return _app.app_context()


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@huey.task()
def transcribe_recording(recording_id: int) -> None:
    from archive.transcription import pipeline

    with _app_context():
        pipeline.run(recording_id, worker_id())


@huey.task()
def translate_recording(recording_id: int) -> None:
    from archive.transcription import translation

    with _app_context():
        translation.run(recording_id, worker_id())


@huey.periodic_task(crontab(minute="*"))
def recover_abandoned_jobs() -> None:
    from archive.transcription import pipeline, translation

    with _app_context():
        pipeline.recover_abandoned(worker_id())
        translation.recover_abandoned(worker_id())


@huey.task()
def build_access_copies(recording_id: int) -> None:
    from archive.recordings import listening_copies

    with _app_context():
        listening_copies.build(recording_id)


# Removed search entries still held by a running transaction (see
# ``search.forget_deleted``): tried again every minute, for half an hour.
FORGET_RETRY_SECONDS = 60
FORGET_ATTEMPTS = 30


@huey.task()
def forget_deleted_entries(attempt: int) -> None:
    from archive import search
    from archive.extensions import db

    with _app_context():
        if search.backend_for(db.engine).forget_deleted(db.engine):
            log.info("removed search entries forgotten (attempt %d)", attempt)
            return
    if attempt >= FORGET_ATTEMPTS:
        log.error("removed search entries still held after %d attempts", attempt)
        return
    enqueue_forget_deleted(attempt + 1)


def enqueue_forget_deleted(attempt: int = 1) -> None:
    forget_deleted_entries.schedule(args=(attempt,), delay=FORGET_RETRY_SECONDS)


# Long work out of requests (issue 17): the first try of forgetting removed search
# text, queued at once by the request that removed it (``speakers.forget_removed_text``).
def enqueue_forget_now() -> None:
    forget_deleted_entries(1)


# E-mail notifications (archive/notifications.py): a failed send is tried again,
# every five minutes for half an hour, then logged and given up.
NOTIFY_RETRIES = 6
NOTIFY_RETRY_SECONDS = 300


@huey.task(retries=NOTIFY_RETRIES, retry_delay=NOTIFY_RETRY_SECONDS)
def send_notification(kind: str, object_id: int, attempt: int = 0) -> None:
    from archive import notifications

    with _app_context():
        notifications.deliver(kind, object_id, attempt)


@huey.periodic_task(crontab(minute="17"))
def remind_expiring_grants() -> None:
    """Hourly, so a reminder due while the worker was down still goes (once)."""
    from archive import notifications

    with _app_context():
        notifications.remind_expiring_grants()


def enqueue_access_copies(recording_id: int) -> None:
    build_access_copies(recording_id)


def enqueue_transcription(recording_id: int) -> None:
    transcribe_recording(recording_id)


def enqueue_translation(recording_id: int) -> None:
    translate_recording(recording_id)
