"""The task queue: Huey on SQLite by default, on Redis when ARCHIVE_REDIS_URL is set.

This module imports nothing of the archive, so every layer may queue work without
an import cycle: services call the ``enqueue_*`` functions here, and the task
bodies live apart, in ``archive.jobs``, which imports the services. The bodies are
registered with ``task``/``periodic_task`` below when ``archive.jobs`` is imported
(``create_app`` does it, in the web app and in the worker alike); ``enqueue_*``
finds them by name.

Tasks take ids and call services that reload the row and check its state, so a
task run twice, or after a worker died, does no harm.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey
from huey.api import TaskWrapper
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

QUEUE_NAME = "archive"
#: The module part of the task names stored in the queue ("archive.tasks.<name>"):
#: where the tasks were first declared. Jobs already waiting in a queue carry these
#: names, so they stay the same wherever the bodies live.
WIRE_MODULE = "archive.tasks"

# The real storage is bound by ``init_app`` from the configuration.
huey = Huey(QUEUE_NAME, results=False, storage_class=MemoryStorage)

_TASKS: dict[str, TaskWrapper] = {}


def init_app(app: Flask) -> None:
    """Bind the queue's storage from the configuration (Redis, else a SQLite file)."""
    if app.config.get("REDIS_URL"):
        # Huey's keys are huey.redis.<name> and the like; the name is the archive's
        # Redis prefix (letters, digits and underscores: Huey drops anything else).
        name = app.config.get("REDIS_PREFIX") or QUEUE_NAME
        huey.storage = RedisStorage(name, url=app.config["REDIS_URL"])
    else:
        path = Path(app.config.get("QUEUE_FILE") or Path(app.instance_path) / "queue.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        huey.storage = SqliteStorage(QUEUE_NAME, filename=str(path), timeout=30)


def worker_id() -> str:
    """This process, as leases name it: host and pid (a dead pid here is a dead worker)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _register(func: Callable[..., Any], wrap: Callable[[Callable[..., Any]], TaskWrapper]):
    if func.__name__ in _TASKS:  # imported twice (a test reloading the module)
        return _TASKS[func.__name__]
    func.__module__ = WIRE_MODULE
    wrapper = wrap(func)
    _TASKS[func.__name__] = wrapper
    return wrapper


def task(**settings: Any) -> Callable[[Callable[..., Any]], TaskWrapper]:
    """Declare a task body (``archive.jobs``): ``huey.task`` under its stored name.
    ``settings`` are Huey's own (``retries``, ``retry_delay``, ``context``)."""
    return lambda func: _register(func, huey.task(**settings))


def periodic_task(validate_datetime: Callable, **settings: Any):
    """Declare a periodic task body (``archive.jobs``): run by the worker's clock."""
    return lambda func: _register(func, huey.periodic_task(validate_datetime, **settings))


def _task(name: str) -> TaskWrapper:
    try:
        return _TASKS[name]
    except KeyError:
        raise LookupError(f"no task {name!r}: archive.jobs is not imported") from None


def is_empty() -> bool:
    """Nothing waiting; False as well when the queue cannot be read (it is down, so
    nothing can be queued now)."""
    try:
        return huey.pending_count() == 0
    except Exception:  # whatever the storage's client raises
        return False


# -- what services queue -------------------------------------------------------------


def enqueue_transcription(recording_id: int) -> None:
    _task("transcribe_recording")(recording_id)


def enqueue_translation(recording_id: int) -> None:
    _task("translate_recording")(recording_id)


def enqueue_access_copies(recording_id: int) -> None:
    _task("build_access_copies")(recording_id)


#: Removed search entries still held by a running transaction (see
#: ``search.forget_deleted``) are tried again after this delay.
FORGET_RETRY_SECONDS = 60


def enqueue_forget_deleted() -> None:
    _task("forget_deleted_entries").schedule(delay=FORGET_RETRY_SECONDS)


def enqueue_forget_now() -> None:
    """The first try of forgetting removed search text, queued by the request that
    removed it (``speakers.forget_removed_text``); Huey retries it while held."""
    _task("forget_deleted_entries")()


def enqueue_bag(interview_id: int, user_id: int | None, view_key: str, base_url: str) -> None:
    """Build the BagIt bag of one reader's view (``transcripts.bags``; None: a visitor)."""
    _task("build_bag")(interview_id, user_id, view_key, base_url)


def enqueue_name_catch_up() -> None:
    """Reindex the interviews an older name matcher indexed (``search.catch_up``):
    queued by each worker as it starts, and run hourly by the worker's clock."""
    _task("catch_up_names")()


def enqueue_notification(kind: str, object_id: int, attempt: int = 0) -> None:
    _task("send_notification")(kind, object_id, attempt)
