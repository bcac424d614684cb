"""Plain helpers the tests share (fixtures live in the conftest.py files).

What a test module may import: the test configuration of an app, the signed-in
test client, the environment of a process sharing the test's archive (a worker,
gunicorn), an API token header, a tone file. No test module imports another.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient

from archive import unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import Recording, User
from tests.backends import make_queues

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
# Redis key prefixes when the queue is on Redis (None: SQLite queue files).
QUEUES = make_queues()


def archive_config(base: Path, database_url: str, redis_prefix: str | None = None) -> dict:
    """The configuration of a test's app: its files under ``base``, its database,
    fixed keys, and its own Redis prefix when the queue is on Redis."""
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
        unit_of_work.commit()
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
        page = self.get(token_from).get_data(as_text=True)
        match = re.search(r'action="(' + re.escape(path) + r'\?csrf_token=[^"]+)"', page)
        assert match, f"no upload form posting to {path} on {token_from}"
        return self.post_form(html.unescape(match.group(1)), data, token_from=token_from, **kwargs)

    def post_form(self, path: str, data: dict, token_from: str | None = None, **kwargs):
        data = {"csrf_token": self.csrf_token(token_from or path), **data}
        return self.post(path, data=data, **kwargs)


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


def bearer(user: User) -> dict[str, str]:
    """The header of an API call by ``user``: a fresh token, issued by themselves."""
    _row, plaintext = tokens.issue_token(user, user)
    unit_of_work.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def tone_file(path: Path) -> Path:
    """1.5 s of a 220 Hz tone, 16 kHz mono WAV: a recording nothing is said in."""
    rate = 16_000
    t = np.arange(int(1.5 * rate)) / rate
    signal_ = (0.2 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(signal_.tobytes())
    return path
