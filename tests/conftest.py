"""Shared fixtures: a migrated SQLite file per test, users, a client that signs in.

The schema comes from the Alembic migrations, run once into a template file that
each test copies. A real file (rather than a rolled-back transaction) lets services
commit for real and lets worker processes and CLI commands see the same data.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from archive import create_app
from archive.extensions import db
from archive.models import Recording, User

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
_emails = count(1)


def _config(base: Path, database: Path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_DIR": base / "instance",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "RECORDINGS_DIR": base / "recordings",
        "TRANSCRIPTS_DIR": base / "transcripts",
        "SECRET_KEY": "test-secret-key",
        "IDENTITY_KEY": "bRqzIAF1NFXF7e-m6b0U9QpV0SeuZ4vvh0FjpOl4lPw=",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    """Run the migrations once (``flask db upgrade``) into a file the tests copy."""
    from flask_migrate import upgrade

    base = tmp_path_factory.mktemp("template")
    database = base / "template.sqlite3"
    app = create_app(_config(base, database))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def app_config(tmp_path, template_db, model_cache) -> dict:
    database = tmp_path / "archive.sqlite3"
    shutil.copy(template_db, database)
    config = _config(tmp_path, database)
    config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    return config


class ArchiveClient(FlaskClient):
    """A test client that can sign in as a user and fetch CSRF tokens like a browser."""

    def open(self, *args, **kwargs):
        # Each request gets its own app context, as in production, so ``g`` and the
        # database session do not carry over from the test's own context.
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def login_as(self, user: User) -> ArchiveClient:
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


class Worker:
    """Starts, stops and kills worker processes sharing the test's database and queue."""

    def __init__(self, config: dict, log_dir: Path) -> None:
        self.env = {
            **os.environ,
            "ARCHIVE_INSTANCE_DIR": str(config["INSTANCE_DIR"]),
            "ARCHIVE_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "ARCHIVE_RECORDINGS_DIR": str(config["RECORDINGS_DIR"]),
            "ARCHIVE_TRANSCRIPTS_DIR": str(config["TRANSCRIPTS_DIR"]),
            "ARCHIVE_SECRET_KEY": config["SECRET_KEY"],
            "ARCHIVE_IDENTITY_KEY": config["IDENTITY_KEY"],
            "ARCHIVE_WHISPER_MODEL": "tiny.en",
            "ARCHIVE_MODEL_CACHE_DIR": str(config["MODEL_CACHE_DIR"]),
            "ARCHIVE_WORKER_THREADS": "2",
            "OPENBLAS_NUM_THREADS": "1",
        }
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
