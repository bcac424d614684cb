"""Shared fixtures: a migrated database per test, users, a client that signs in.

The schema comes from the Alembic migrations, run once into a template that each
test copies: a SQLite file by default, a PostgreSQL database when
``ARCHIVE_TEST_DATABASE_URL`` names a server (see ``tests/backends.py``, which
also puts the queue on Redis when ``ARCHIVE_TEST_REDIS_URL`` is set). A real
database (rather than a rolled-back transaction) lets services commit for real
and lets worker processes and CLI commands see the same data.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from itertools import count
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from archive import create_app
from archive.extensions import db
from archive.models import Recording, User
from tests.backends import make_databases, make_queues

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
_emails = count(1)
# Redis key prefixes when the queue is on Redis (None: SQLite queue files).
QUEUES = make_queues()


def _config(base: Path, database_url: str, redis_prefix: str | None = None) -> dict:
    config = {
        "TESTING": True,
        "INSTANCE_DIR": base / "instance",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RECORDINGS_DIR": base / "recordings",
        "TRANSCRIPTS_DIR": base / "transcripts",
        "SECRET_KEY": "test-secret-key",
        "IDENTITY_KEY": "bRqzIAF1NFXF7e-m6b0U9QpV0SeuZ4vvh0FjpOl4lPw=",
        "AUDIT_KEY": "test-audit-key",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    if redis_prefix is not None:
        redis_url = QUEUES.url
        config.update(
            REDIS_URL=redis_url,
            REDIS_PREFIX=redis_prefix,
            RATELIMIT_STORAGE_URI=redis_url,
            RATELIMIT_STORAGE_OPTIONS={"key_prefix": f"{redis_prefix}:limits"},
        )
    return config


@pytest.fixture(scope="session")
def databases():
    """Where test databases are made: SQLite files, or PostgreSQL databases."""
    made = make_databases()
    yield made
    made.close()


@pytest.fixture(scope="session")
def template_db(databases, tmp_path_factory) -> str:
    """Run the migrations once (``flask db upgrade``) into a database the tests copy."""
    from flask_migrate import upgrade

    base = tmp_path_factory.mktemp("template")
    url = databases.new(None, base)
    app = create_app(_config(base, url))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    databases.copy_ahead(url)
    return url


@pytest.fixture
def source_database(template_db) -> str:
    """The database each test starts from a copy of; a module may override it
    with a state it built once (see ``tests/test_redaction.py``)."""
    return template_db


@pytest.fixture
def redis_prefix():
    """The test's own key prefix on Redis (None with the SQLite queue)."""
    if QUEUES is None:
        yield None
        return
    prefix = QUEUES.new()
    yield prefix
    QUEUES.flush(prefix)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def app_config(tmp_path, databases, source_database, model_cache, redis_prefix):
    url = databases.new(source_database, tmp_path)
    config = _config(tmp_path, url, redis_prefix)
    config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    yield config
    databases.drop(url)


@pytest.fixture
def stored_bytes(databases, app_config):
    """Everything the test's database keeps on disk, as bytes (after closing the
    app's connections): for tests that prove something is never stored in clear."""
    if databases.dialect == "postgresql" and not databases.can_read_files():
        pytest.skip("reading PostgreSQL's files needs a superuser test role")

    def read() -> bytes:
        db.session.remove()
        db.engine.dispose()
        return databases.stored_bytes(app_config["SQLALCHEMY_DATABASE_URI"])

    return read


class ArchiveClient(FlaskClient):
    """A test client that can sign in as a user and fetch CSRF tokens like a browser."""

    def open(self, *args, **kwargs):
        # Each request gets its own app context, as in production, so ``g`` and the
        # database session do not carry over from the test's own context.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def login_as(self, user: User) -> ArchiveClient:
        from archive import accounts

        accounts.start_session(user)
        with self.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return self

    def csrf_token(self, path: str = "/login") -> str:
        page = self.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
            r'name="csrf_token" value="([^"]+)"', page
        )
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_upload_form(self, path: str, data: dict, token_from: str, **kwargs):
        """Submit a page's file form as a browser does: to the form's own address,
        which carries the CSRF token so it is checked before the files are read."""
        import html

        page = self.get(token_from).get_data(as_text=True)
        match = re.search(r'action="(' + re.escape(path) + r'\?csrf_token=[^"]+)"', page)
        assert match, f"no upload form posting to {path} on {token_from}"
        return self.post_form(html.unescape(match.group(1)), data, token_from=token_from, **kwargs)

    def post_form(self, path: str, data: dict, token_from: str | None = None, **kwargs):
        data = {"csrf_token": self.csrf_token(token_from or path), **data}
        return self.post(path, data=data, **kwargs)


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = ArchiveClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def live_server(app):
    """The app served by Werkzeug in a thread, a thread per request, as a browser or
    twenty clients at once would reach it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def client(app) -> ArchiveClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user of a role straight through the accounts service."""
    from archive import accounts

    def make(role: str = "researcher", email: str | None = None, **kwargs) -> User:
        email = email or f"{role}{next(_emails)}@example.org"
        return accounts.create_user(None, email, role, kwargs.pop("password", PASSWORD), **kwargs)

    return make


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin")


def archive_env(config: dict, **more: str) -> dict[str, str]:
    """The environment of a process (a worker, gunicorn) that shares the test's
    archive: its database, files, keys and, when the test has one, its Redis queue."""
    env = {
        **os.environ,
        "ARCHIVE_INSTANCE_DIR": str(config["INSTANCE_DIR"]),
        "ARCHIVE_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "ARCHIVE_RECORDINGS_DIR": str(config["RECORDINGS_DIR"]),
        "ARCHIVE_TRANSCRIPTS_DIR": str(config["TRANSCRIPTS_DIR"]),
        "ARCHIVE_SECRET_KEY": config["SECRET_KEY"],
        "ARCHIVE_IDENTITY_KEY": config["IDENTITY_KEY"],
        "ARCHIVE_AUDIT_KEY": config["AUDIT_KEY"],
        **more,
    }
    env.pop("ARCHIVE_REDIS_URL", None)
    if config.get("REDIS_URL"):
        env["ARCHIVE_REDIS_URL"] = config["REDIS_URL"]
        env["ARCHIVE_REDIS_PREFIX"] = config["REDIS_PREFIX"]
    return env


class Worker:
    """Starts, stops and kills worker processes sharing the test's database and queue."""

    def __init__(self, config: dict, log_dir: Path) -> None:
        self.env = archive_env(
            config,
            ARCHIVE_WHISPER_MODEL="tiny.en",
            ARCHIVE_MODEL_CACHE_DIR=str(config["MODEL_CACHE_DIR"]),
            ARCHIVE_WORKER_THREADS="2",
            OPENBLAS_NUM_THREADS="1",
        )
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def kill(self, process: subprocess.Popen) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def worker(app_config, tmp_path):
    logs = tmp_path / "worker-logs"
    logs.mkdir()
    control = Worker(app_config, logs)
    yield control
    control.stop_all()


def wait_for(recording_id: int, statuses: set[str], timeout: float, worker: Worker) -> Recording:
    """Poll the database until the recording reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        recording = db.session.get(Recording, recording_id)
        if recording.status in statuses:
            return recording
        time.sleep(0.25)
    pytest.fail(f"recording {recording_id} stayed {recording.status}\n{worker.logs()[-4000:]}")
