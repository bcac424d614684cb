"""The task queue and the rate limits live where the configuration says: a SQLite
file in the instance folder by default, Redis when ``ARCHIVE_REDIS_URL`` is set
(the suite runs both ways; see ``tests/backends.py``)."""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from huey.storage import RedisStorage, SqliteStorage

from archive import jobs, queue, search
from archive.config import load_config
from archive.extensions import limiter
from tests.helpers import QUEUES

needs_redis = pytest.mark.skipif(
    QUEUES is None, reason="runs with a Redis server: set ARCHIVE_TEST_REDIS_URL"
)
embedded_only = pytest.mark.skipif(
    QUEUES is not None, reason="the embedded queue; this run puts it on Redis"
)


def test_redis_url_puts_queue_and_rate_limits_on_redis(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_REDIS_URL", "redis://queue.example:6379/2")
    monkeypatch.setenv("ARCHIVE_REDIS_PREFIX", "archive_two")
    config = load_config(tmp_path)
    assert config["REDIS_URL"] == config["RATELIMIT_STORAGE_URI"]
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {"key_prefix": "archive_two:limits"}


@embedded_only
def test_embedded_queue_is_a_sqlite_file_in_the_instance_folder(app):
    assert isinstance(queue.huey.storage, SqliteStorage)
    queue.enqueue_transcription(12345)
    assert queue.huey.pending_count() == 1
    assert (Path(app.instance_path) / "queue.sqlite3").exists()


@needs_redis
def test_jobs_wait_in_redis_under_the_archives_prefix(app, redis_prefix):
    assert isinstance(queue.huey.storage, RedisStorage)
    queue.enqueue_transcription(12345)
    assert queue.huey.pending_count() == 1
    assert QUEUES.keys(redis_prefix) == [f"huey.redis.{redis_prefix}"]


@needs_redis
def test_rate_limits_are_counted_in_redis(app, client, redis_prefix):
    assert type(limiter.storage).__name__ == "RedisStorage"
    client.post_form("/login", {"email": "nobody@example.org", "password": "wrong password"})
    limits = [key for key in QUEUES.keys(redis_prefix) if key.startswith(f"{redis_prefix}:limits")]
    assert limits, QUEUES.keys(redis_prefix)


def test_the_queue_module_imports_nothing_of_the_archive():
    """Every layer may queue work: the queue itself depends on no layer."""
    tree = ast.parse(Path(queue.__file__).read_text())
    names = [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert not [name for name in names if name.split(".")[0] == "archive"]


def test_tasks_keep_the_names_jobs_already_waiting_carry(app):
    queue.enqueue_transcription(12345)
    assert [task.name for task in queue.huey.pending()] == ["transcribe_recording"]
    (message,) = [queue.huey.serializer.deserialize(m) for m in queue.huey.storage.enqueued_items()]
    assert message.name == "archive.tasks.transcribe_recording"


def test_removed_entries_still_held_are_tried_again_by_hueys_retries(app, monkeypatch, caplog):
    held = SimpleNamespace(forget_deleted=lambda engine: False)
    monkeypatch.setattr(search, "backend_for", lambda engine: held)
    jobs.bind(app)
    try:
        queue.enqueue_forget_deleted()
        runs = 0
        # Each run, as if its delay had passed: waiting on the queue or in the schedule.
        while (task := queue.huey.dequeue()) or (
            task := next(iter(queue.huey.read_schedule(datetime(9999, 1, 1))), None)
        ):
            assert queue.huey.pending_count() + queue.huey.scheduled_count() == 0
            assert task.retries == jobs.FORGET_ATTEMPTS - 1 - runs
            assert task.retry_delay == queue.FORGET_RETRY_SECONDS
            queue.huey.execute(task, datetime(9999, 1, 1))
            runs += 1
    finally:
        jobs._app = None
    assert runs == jobs.FORGET_ATTEMPTS  # then given up, and said so
    assert "still held after 30 attempts" in caplog.text
