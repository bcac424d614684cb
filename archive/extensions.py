"""The Flask extensions, created once here and bound to the app in ``create_app``."""

from __future__ import annotations

from pathlib import Path

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from archive.models import Base

MIGRATIONS_DIR = str(Path(__file__).resolve().parent / "migrations")

db = SQLAlchemy(model_class=Base)
babel = Babel()
migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# How long a statement waits for a lock held by another writer before giving up
# (``ARCHIVE_DATABASE_TIMEOUT``); the web answers 503 then, with nothing half-made.
busy_timeout_ms = 30_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL and a busy timeout let the web app and workers share one SQLite file."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows are overwritten with zeros, so text removed from the search index
    # (a name heard before it was known to be a name) does not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
