"""Shared fixtures: a migrated SQLite file per test, users, a client that signs in.

The schema comes from the Alembic migrations, run once into a template file that
each test copies. A real file (rather than a rolled-back transaction) lets services
commit for real and lets worker processes and CLI commands see the same data.
"""

from __future__ import annotations

import re
import shutil
from itertools import count
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from archive import create_app
from archive.extensions import db
from archive.models import User

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


@pytest.fixture
def app_config(tmp_path, template_db) -> dict:
    database = tmp_path / "archive.sqlite3"
    shutil.copy(template_db, database)
    return _config(tmp_path, database)


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
