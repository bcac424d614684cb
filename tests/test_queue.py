"""The task queue and the rate limits live where the configuration says: a SQLite
file in the instance folder by default, Redis when ``ARCHIVE_REDIS_URL`` is set
(the suite runs both ways; see ``tests/backends.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from huey.storage import RedisStorage, SqliteStorage

from archive import tasks
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
    assert isinstance(tasks.huey.storage, SqliteStorage)
    tasks.enqueue_transcription(12345)
    assert tasks.huey.pending_count() == 1
    assert (Path(app.instance_path) / "queue.sqlite3").exists()


@needs_redis
def test_jobs_wait_in_redis_under_the_archives_prefix(app, redis_prefix):
    assert isinstance(tasks.huey.storage, RedisStorage)
    tasks.enqueue_transcription(12345)
    assert tasks.huey.pending_count() == 1
    assert QUEUES.keys(redis_prefix) == [f"huey.redis.{redis_prefix}"]


@needs_redis
def test_rate_limits_are_counted_in_redis(app, client, redis_prefix):
    assert type(limiter.storage).__name__ == "RedisStorage"
    client.post_form("/login", {"email": "nobody@example.org", "password": "wrong password"})
    limits = [key for key in QUEUES.keys(redis_prefix) if key.startswith(f"{redis_prefix}:limits")]
    assert limits, QUEUES.keys(redis_prefix)
