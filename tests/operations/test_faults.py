"""Faults with real processes: a web process killed mid-upload, Redis stopped while
uploads arrive, a database locked longer than the timeout, a full disk. In each,
nothing is half-made and nothing accepted is lost."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import create_app, interviews, unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import AuditEvent, Interview, Recording
from tests.fixtures import FIXTURES
from tests.helpers import REPO, Worker, archive_env, wait_for

# Real gunicorn and worker processes, a Redis server stopped, a mounted disk.
pytestmark = pytest.mark.slow

JFK = FIXTURES / "jfk.flac"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _multipart(data: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="jfk.flac"\r\n'
            "Content-Type: audio/flac\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


@pytest.fixture
def owner(make_user):
    return make_user("interviewer")


@pytest.fixture
def bearer(owner) -> dict:
    _row, plaintext = tokens.issue_token(owner, owner)
    unit_of_work.commit()
    return {"Authorization": f"Bearer {plaintext}"}


@pytest.fixture
def interview_id(owner):
    interview = interviews.create_interview(owner, {"title": "Faults"})
    unit_of_work.commit()
    return interview.id


# -- a web process killed in the middle of an upload ------------------------------


def _gunicorn(app_config, port: int, log: Path) -> subprocess.Popen:
    env = archive_env(
        app_config,
        ARCHIVE_BIND=f"127.0.0.1:{port}",
        ARCHIVE_WEB_WORKERS="1",
        ARCHIVE_WEB_THREADS="2",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:  # answered by a worker, so the app (and its start-up cleaning) is loaded
            with socket.create_connection(("127.0.0.1", port), timeout=5) as probe:
                probe.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if probe.recv(16).startswith(b"HTTP/"):
                    return process
        except OSError:
            assert process.poll() is None, log.read_text()
            time.sleep(0.2)
    pytest.fail("gunicorn did not start")


def test_web_process_killed_mid_upload_leaves_nothing_and_the_next_start_cleans_up(
    app, app_config, bearer, interview_id, tmp_path
):
    db.session.remove()
    port, log = _free_port(), tmp_path / "gunicorn.log"
    server = _gunicorn(app_config, port, log)
    incoming = Path(app_config["RECORDINGS_DIR"]) / "incoming"
    content_type, body = _multipart(JFK.read_bytes())
    head = (
        f"POST /api/v1/interviews/{interview_id}/recordings HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{next(iter(bearer))}: {bearer['Authorization']}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + body[: len(body) // 2])
            deadline = time.monotonic() + 20
            while not [p for p in _files(incoming) if p.stat().st_size > 0]:
                assert time.monotonic() < deadline, "the upload never reached the disk"
                time.sleep(0.1)
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    left = _files(incoming)
    assert len(left) == 1 and left[0].suffix == ".part", left
    assert _files(Path(app_config["RECORDINGS_DIR"]) / "masters") == []
    assert db.session.scalar(select(func.count()).select_from(Recording)) == 0

    server = _gunicorn(app_config, port, log)  # the next start
    try:
        assert _files(incoming) == [], "the killed upload's partial file is removed"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert db.session.scalar(select(func.count()).select_from(Recording)) == 0


# -- Redis stopped while uploads arrive -----------------------------------------


class _Redis:
    def __init__(self, folder: Path) -> None:
        self.port, self.folder, self.process = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        self.process = subprocess.Popen(
            [
                server,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server on this machine")
    redis = _Redis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def test_uploads_while_redis_is_stopped_are_kept_and_transcribed_once_it_is_back(
    app_config, own_redis, tmp_path
):
    config = {
        **app_config,
        "REDIS_URL": own_redis.url,
        "REDIS_PREFIX": "faults",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_STORAGE_OPTIONS": {},
    }
    app = create_app(config)
    with app.app_context():
        from archive import accounts

        owner = accounts.create_user(None, "owner@example.org", "interviewer", "long enough pw")
        interview_id = interviews.create_interview(owner, {"title": "Redis down"}).id
        headers = {"Authorization": f"Bearer {tokens.issue_token(owner, owner)[1]}"}
        unit_of_work.commit()
        client = app.test_client()
        own_redis.stop()
        ids = []
        for _ in range(2):
            response = client.post(
                f"/api/v1/interviews/{interview_id}/recordings",
                data={"file": (JFK.open("rb"), "jfk.flac")},
                content_type="multipart/form-data",
                headers=headers,
            )
            assert response.status_code == 202, response.get_data(as_text=True)
            assert response.json["status"] == "queued"
            ids.append(response.json["id"])
        from archive import accounts as _accounts

        _accounts.start_session(owner)
        unit_of_work.commit()
        with client.session_transaction() as session:
            session["_user_id"] = owner.get_id()
        page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
        assert page.count("waiting for a worker") == 2
        assert len(_files(Path(config["RECORDINGS_DIR"]) / "masters")) == 2

        own_redis.start()  # back, empty: what was queued in it is gone
        logs = tmp_path / "worker-logs"
        logs.mkdir()
        worker = Worker(config, logs)
        worker.start()
        try:
            for recording_id in ids:
                done = wait_for(recording_id, {"done", "failed"}, 240, worker)
                assert done.status == "done", done.error
                assert done.attempts == 1
        finally:
            worker.stop_all()
        db.session.remove()
        db.engine.dispose()


# -- the database locked longer than the timeout --------------------------------


class _Lock:
    """Another process's writer holding the database: SQLite's write lock, or a
    PostgreSQL lock on the audit head every change writes."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self):
        if self.url.startswith("sqlite"):
            self.connection = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=5)
            self.connection.isolation_level = None
            self.connection.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.connection = psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql"))
            self.connection.execute("LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE")
        return self

    def __exit__(self, *exc) -> None:
        self.connection.rollback() if not self.url.startswith(
            "sqlite"
        ) else self.connection.execute("ROLLBACK")
        self.connection.close()


def test_database_locked_longer_than_the_timeout_is_a_clear_503_with_nothing_made(
    app_config, make_user
):
    app = create_app({**app_config, "DATABASE_TIMEOUT": 1})
    with app.app_context():
        from archive import accounts

        owner = accounts.create_user(None, "locked@example.org", "interviewer", "long enough pw")
        headers = {"Authorization": f"Bearer {tokens.issue_token(owner, owner)[1]}"}
        unit_of_work.commit()
        client = app.test_client()
        assert client.get("/api/v1/me", headers=headers).status_code == 200  # token used once
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
        with _Lock(app_config["SQLALCHEMY_DATABASE_URI"]):
            started = time.monotonic()
            response = client.post("/api/v1/interviews", json={"title": "Never"}, headers=headers)
            waited = time.monotonic() - started
        assert response.status_code == 503
        assert "busy" in response.json["error"] and "nothing was changed" in response.json["error"]
        assert response.headers["Retry-After"]
        assert waited < 10
        assert db.session.scalar(select(func.count()).select_from(Interview)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
        again = client.post("/api/v1/interviews", json={"title": "Now"}, headers=headers)
        assert again.status_code == 201
        db.session.remove()
        db.engine.dispose()


# -- the disk full while a master is stored -------------------------------------


@pytest.fixture
def small_disk(app_config):
    """recordings/ on a 4 MB tmpfs (needs root; skipped, saying so, otherwise)."""
    root = Path(app_config["RECORDINGS_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(root)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    yield root
    subprocess.run(["umount", "-l", str(root)], check=False)


def test_disk_full_while_storing_a_master_is_a_clear_error_with_nothing_stored(
    app, client, small_disk, bearer, interview_id
):
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 512 * 1024))  # half a megabyte left: jfk is 1.1 MB
    response = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (JFK.open("rb"), "jfk.flac")},
        content_type="multipart/form-data",
        headers=bearer,
    )
    assert response.status_code == 507
    assert "disk is full" in response.json["error"]
    assert [p for p in _files(small_disk) if p != filler] == []
    assert db.session.scalar(select(func.count()).select_from(Recording)) == 0
    filler.unlink()
    again = client.post(
        f"/api/v1/interviews/{interview_id}/recordings",
        data={"file": (JFK.open("rb"), "jfk.flac")},
        content_type="multipart/form-data",
        headers=bearer,
    )
    assert again.status_code == 202
