"""Where the tests keep their data: the embedded defaults, or PostgreSQL and Redis.

By default each test gets a copy of a migrated SQLite file and a SQLite task
queue in its own instance folder. With ``ARCHIVE_TEST_DATABASE_URL`` (a
PostgreSQL server, e.g. ``postgresql+psycopg://archive:archive@127.0.0.1/postgres``;
its database is only used to create and drop others) the migrations run once
into a template database and each test gets ``CREATE DATABASE ... TEMPLATE``,
dropped after it. A copy is 20 to 300 ms of the server's disk work (fsync off;
the range is this machine's disk, idle or busy), made ahead in a thread, so the
tests hardly wait for it (0.6 s in all over 53 tests, measured); running the
migrations for each test would cost 0.3 s of the test's own CPU, and the states
some modules build once (a transcribed interview) could not be copied at all.
With ``ARCHIVE_TEST_REDIS_URL``
the queue and the rate limits live in Redis under a key prefix of the test's
own, deleted after it, so two tests (or two runs sharing a server) never see
each other's jobs.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import threading
from itertools import count
from pathlib import Path

from sqlalchemy.engine import make_url

DATABASE_SERVER = os.environ.get("ARCHIVE_TEST_DATABASE_URL") or None
REDIS_SERVER = os.environ.get("ARCHIVE_TEST_REDIS_URL") or None


class SQLiteDatabases:
    """Test databases as SQLite files: a copy is a file copy."""

    dialect = "sqlite"

    def new(self, source: str | None, directory: Path) -> str:
        """A database in ``directory``: a copy of ``source`` (a URL made here), or
        empty when None (for the migrations to fill)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "archive.sqlite3"
        if source is not None:
            shutil.copy(self._path(source), path)
        return f"sqlite:///{path}"

    def copy_ahead(self, template: str) -> None:
        """A file copy is quick: nothing to prepare."""

    def drop(self, url: str) -> None:
        """The file lives in the test's own temporary folder; pytest removes it."""

    def stored_bytes(self, url: str) -> bytes:
        """Every byte the database keeps on disk: the file and its WAL."""
        path = self._path(url)
        return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))

    def close(self) -> None:
        pass

    @staticmethod
    def _path(url: str) -> Path:
        return Path(url.removeprefix("sqlite:///"))


class PostgresDatabases:
    """Test databases on a PostgreSQL server: a copy is ``CREATE DATABASE ... TEMPLATE``.

    Making a database is disk work (a few megabytes of files: 20 to 300 ms here,
    with the machine's disk more or less busy) while a test is mostly Python, so a
    thread of its own makes the next copies of the template ahead and drops used
    databases behind the tests' back; a test waits only when it outruns it.
    Names carry this process's id, so runs sharing a server stay apart, and the
    databases of a run that was killed are dropped by the next one.
    """

    dialect = "postgresql"
    AHEAD = 2

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url)
        if self.server.get_backend_name() != "postgresql":
            raise ValueError("ARCHIVE_TEST_DATABASE_URL must be a postgresql+psycopg:// URL")
        self.prefix = f"archive_test_{os.getpid()}_"
        self._numbers = count(1)
        self.admin = self._connect()
        version = self.admin.info.server_version
        # FILE_COPY copies the template's files as they are: with the template
        # this small, faster than logging every page (15's default, WAL_LOG).
        self.strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        self._drop_leftovers()
        self._template: str | None = None
        self._ready: queue.Queue[str] = queue.Queue()
        self._chores: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._helper: threading.Thread | None = None

    def new(self, source: str | None, directory: Path) -> str:
        if source is not None and source == self._template:
            name = self._ready.get()
            self._chores.put(("copy", source))
        else:
            name = self._create(self.admin, source)
        return self._url(name)

    def copy_ahead(self, template: str) -> None:
        """``template`` is migrated and will not change: keep ``AHEAD`` copies of
        it ready from now on."""
        self._template = template
        for _ in range(self.AHEAD):
            self._chores.put(("copy", template))
        self._helper = threading.Thread(target=self._work, daemon=True, name="test-databases")
        self._helper.start()

    def drop(self, url: str) -> None:
        # Behind the tests' back; FORCE: a killed worker may have left a connection.
        self._chores.put(("drop", self._database(url)))

    def stored_bytes(self, url: str) -> bytes:
        """Every byte of the database's own files (tables, indexes, TOAST, dead
        rows included) after a checkpoint has written them out: what a copy of
        the data directory holds. Reading server files needs a superuser."""
        import psycopg

        with psycopg.connect(self._conninfo(self._database(url)), autocommit=True) as connection:
            connection.execute("CHECKPOINT")
            files = connection.execute(
                "SELECT pg_read_binary_file(path) FROM ("
                " SELECT pg_relation_filepath(oid) AS path FROM pg_class"
                " WHERE NOT relisshared AND relpersistence = 'p') AS relations"
                " WHERE path IS NOT NULL"
            ).fetchall()
        return b"".join(data for (data,) in files if data)

    def can_read_files(self) -> bool:
        row = self.admin.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        return bool(row.fetchone()[0])

    def close(self) -> None:
        if self._helper is not None:
            self._chores.put(None)
            self._helper.join(timeout=60)
        for name in self._names(self.prefix):
            self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.close()

    # -- the helper thread

    def _work(self) -> None:
        with self._connect() as connection:
            while (chore := self._chores.get()) is not None:
                what, target = chore  # ("copy", a source's URL) or ("drop", a name)
                if what == "copy":
                    self._ready.put(self._create(connection, target))
                else:
                    connection.execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")

    def _create(self, connection, source: str | None) -> str:
        name = f"{self.prefix}{next(self._numbers)}"
        template = f" TEMPLATE {self._database(source)}{self.strategy}" if source else ""
        connection.execute(f"CREATE DATABASE {name}{template}")
        return name

    # -- names

    def _drop_leftovers(self) -> None:
        for name in self._names("archive_test_"):
            pid = name.removeprefix("archive_test_").partition("_")[0]
            if pid.isdigit() and not _alive(int(pid)):
                self.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _names(self, prefix: str) -> list[str]:
        rows = self.admin.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (prefix,)
        )
        return [name for (name,) in rows]

    def _database(self, url: str) -> str:
        name = make_url(url).database or ""
        if not name.startswith(self.prefix):
            raise ValueError(f"not a test database of this run: {name!r}")
        return name

    def _url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def _connect(self):
        import psycopg

        return psycopg.connect(self._conninfo(self.server.database), autocommit=True)

    def _conninfo(self, database: str | None) -> str:
        url = self.server.set(drivername="postgresql", database=database or "postgres")
        return url.render_as_string(hide_password=False)


class RedisQueues:
    """Key prefixes on a Redis server, one per test, removed after it."""

    def __init__(self, server_url: str) -> None:
        import redis

        self.url = server_url
        self.client = redis.Redis.from_url(server_url)
        self._numbers = count(1)
        self._drop_leftovers()

    def new(self) -> str:
        # Letters, digits and underscores only (Huey drops anything else from a
        # queue name), and of one width, so no prefix is a part of another.
        return f"archive_test_{os.getpid()}_{next(self._numbers):05d}"

    def flush(self, prefix: str) -> None:
        keys = list(self.client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            self.client.delete(*keys)

    def _drop_leftovers(self) -> None:
        """Keys of runs that were killed before they could delete them."""
        for key in self.client.scan_iter(match="*archive_test_*", count=1000):
            found = re.search(rb"archive_test_(\d+)_\d{5}", key)
            if found and not _alive(int(found.group(1))):
                self.client.delete(key)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k.decode() for k in self.client.scan_iter(match=f"*{prefix}*"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_databases() -> SQLiteDatabases | PostgresDatabases:
    return PostgresDatabases(DATABASE_SERVER) if DATABASE_SERVER else SQLiteDatabases()


def make_queues() -> RedisQueues | None:
    return RedisQueues(REDIS_SERVER) if REDIS_SERVER else None
