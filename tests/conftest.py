"""Shared fixtures: a migrated database per test, users, a client that signs in.

The schema comes from the Alembic migrations, run once into a template that each
test copies: a SQLite file by default, a PostgreSQL database when
``ARCHIVE_TEST_DATABASE_URL`` names a server (see ``tests/backends.py``, which
also puts the queue on Redis when ``ARCHIVE_TEST_REDIS_URL`` is set). A real
database (rather than a rolled-back transaction) lets services commit for real
and lets worker processes and CLI commands see the same data. Plain functions and
classes the tests import are in ``tests/helpers.py``; the narrated archive, which
tests marked ``narrated`` start from, in ``tests/narrated.py``.
"""

from __future__ import annotations

import shutil
import threading
from itertools import count
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from werkzeug.serving import make_server

from archive import accounts, consent, create_app, interviews, recordings, unit_of_work
from archive.extensions import db
from archive.models import Segment, User
from archive.recordings import listening_copies, storage
from archive.search import indexing
from tests.backends import make_databases
from tests.helpers import PASSWORD, QUEUES, ArchiveClient, Worker, archive_config, tone_file

pytest_plugins = ["tests.narrated"]

_emails = count(1)
# The roles of ``people``: one account of each.
ROLES = ("admin", "custodian", "archivist", "interviewer", "researcher")
HERE = Path(__file__).resolve().parent
# A test that asks for one of these touches a database (or the queue): ``make
# test-pg`` runs it again on PostgreSQL and Redis. ``app_config`` is behind ``app``,
# ``client``, ``make_user``...; ``databases`` and ``template_db`` behind the states a
# module builds once.
DATABASE_FIXTURES = frozenset({"app_config", "databases", "template_db", "redis_prefix"})
# A test that asks for one of these runs real worker processes or real model jobs.
SLOW_FIXTURES = frozenset({"worker", "narrated_state"})
# A database test costs a copied database and a new app (0.5 to 3 s each on the
# loaded 2-core machine, measured), so it is slow for ``make test-fast``'s minute,
# except in these modules: the policy table builds one database for its 700 cases
# (26 s loaded), the endpoint list checks routes without data (1 s).
QUICK_DATABASE_MODULES = frozenset({HERE / "test_policy_table.py", HERE / "web/test_endpoints.py"})


def pytest_collection_modifyitems(config, items):
    """Mark the tiers (pyproject.toml) where the test's place or fixtures tell:
    tests/browser and tests/e2e by folder; ``slow`` for a worker process, the
    narrated archive (a real tiny.en job) or a database of its own; ``postgres`` for
    anything that touches a database. Modules mark by hand what this cannot see
    (gunicorn, subprocesses, model jobs of their own, long computations)."""
    for item in items:
        folder = Path(str(item.path)).parent
        if folder == HERE / "browser":
            item.add_marker(pytest.mark.browser)
        elif folder == HERE / "e2e":
            item.add_marker(pytest.mark.e2e)
        names = set(getattr(item, "fixturenames", ()))
        database = bool(names & DATABASE_FIXTURES)
        if database:
            item.add_marker(pytest.mark.postgres)
        if (
            names & SLOW_FIXTURES
            or item.get_closest_marker("narrated")
            or (database and Path(str(item.path)) not in QUICK_DATABASE_MODULES)
        ):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Argon2id at the lowest cost instead of the production one (0.1 to 0.5 s a hash
    on the 2-core machine, and most tests make several accounts). The algorithm and
    the code paths are the same; verifying reads the cost from the hash itself, so an
    account made here signs in anywhere (a worker or gunicorn process included)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not a password"))
        yield


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
    app = create_app(archive_config(base, url))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    databases.copy_ahead(url)
    return url


@pytest.fixture
def source_database(request, template_db) -> str:
    """The database each test starts from a copy of: the migrated template, or the
    narrated archive for a test marked ``narrated``. A module may override it with
    a state it built once (see ``tests/operations/test_backup.py``)."""
    if request.node.get_closest_marker("narrated"):
        return request.getfixturevalue("narrated_state")[1]
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
def app_config(request, tmp_path, databases, source_database, model_cache, redis_prefix):
    url = databases.new(source_database, tmp_path)
    config = archive_config(tmp_path, url, redis_prefix)
    config.update(WHISPER_MODEL="tiny.en", MODEL_CACHE_DIR=model_cache, WORKER_THREADS=2)
    if request.node.get_closest_marker("narrated"):
        # ... and the narrated archive's files with its database.
        base = request.getfixturevalue("narrated_state")[0]
        for folder in ("recordings", "transcripts"):
            if (base / folder).exists():
                shutil.copytree(base / folder, config[f"{folder.upper()}_DIR"], dirs_exist_ok=True)
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

    def make(role: str = "researcher", email: str | None = None, **kwargs) -> User:
        email = email or f"{role}{next(_emails)}@example.org"
        user = accounts.create_user(None, email, role, kwargs.pop("password", PASSWORD), **kwargs)
        unit_of_work.commit()
        return user

    return make


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin")


@pytest.fixture
def people(app, make_user) -> dict[str, User]:
    """One account of each role, ``ROLE@example.org``: found where the test's
    database already holds it (an archive a module built once), made otherwise."""
    return {
        role: accounts.find_user(f"{role}@example.org")
        or make_user(role, email=f"{role}@example.org")
        for role in ROLES
    }


@pytest.fixture
def interview(app, people, tmp_path):
    """An on-request interview with a transcript and listening copies."""
    item = interviews.create_interview(people["interviewer"], {"title": "Almaty witness"})
    with storage.copy_to_incoming(tone_file(tmp_path / "tone.wav")) as temp:
        recording = recordings.add_recording(None, item, temp, "tone.wav")
    db.session.add(
        Segment(
            recording_id=recording.id,
            start=0.1,
            end=1.2,
            text="The square was full of people.",
            words=[{"start": 0.1, "end": 1.2, "word": " The", "probability": 1}],
        )
    )
    recording.status = "done"
    unit_of_work.commit()
    indexing.reindex(db.session, item)
    unit_of_work.commit()

    consent.record_agreement(
        people["interviewer"], item, {"access_level": "on_request", "audio": "redacted"}
    )
    unit_of_work.commit()
    listening_copies.build(recording.id)
    return item


@pytest.fixture
def run_tasks(app):
    """Run what was queued, as the worker would (in this process); returns how many."""
    from archive import jobs, queue

    jobs.bind(app)

    def run(name: str | None = None) -> int:
        """Only the tasks called ``name`` when given; the others stay queued."""
        ran, others = 0, []
        while (task := queue.huey.dequeue()) is not None:
            if name is None or task.name == name:
                queue.huey.execute(task)
                ran += 1
            else:
                others.append(task)
        for task in others:
            queue.huey.enqueue(task)
        return ran

    yield run
    jobs._app = None


@pytest.fixture
def fetch_bag(client, run_tasks):
    """``GET .../bag.zip`` as an API client that waits: asked, built by the queued
    task, asked again. Returns the last answer."""

    def fetch(interview_id: int, headers: dict):
        url = f"/api/v1/interviews/{interview_id}/bag.zip"
        response = client.get(url, headers=headers)
        if response.status_code == 202:
            run_tasks("build_bag")
            response = client.get(url, headers=headers)
        return response

    return fetch


@pytest.fixture
def worker(app_config, tmp_path):
    logs = tmp_path / "worker-logs"
    logs.mkdir()
    control = Worker(app_config, logs)
    yield control
    control.stop_all()
