"""The Testimony Archive: an oral-history archive that protects its narrators.

This package root is imported before any module of the archive is (a bench that
imports ``archive.transcripts.names``, the model store run in a
subprocess), so it imports only the configuration at the top: ``create_app`` and
its helpers import the app's layers (web, extensions, cli, task bodies) when an app
is built. These are the archive's only function-local imports of its own modules.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask

from archive.config import PROJECT_ROOT, load_config


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory; ``overrides`` win over the environment (tests use it)."""
    # Models are loaded from installed packages only; nothing is fetched at run time.
    os.environ["HF_HUB_OFFLINE"] = "1"
    overrides = dict(overrides or {})
    instance_dir = Path(
        overrides.pop("INSTANCE_DIR", None)
        or os.environ.get("ARCHIVE_INSTANCE_DIR")
        or PROJECT_ROOT / "instance"
    )
    from archive.web.uploads import ArchiveRequest

    # Everything this process creates (database, WAL, queue, secrets, uploads,
    # masters, exports) is the service user's alone: files 0600, folders 0700.
    os.umask(0o077)
    app = Flask(__name__, instance_path=str(instance_dir))
    app.request_class = ArchiveRequest
    app.config.update(load_config(instance_dir))
    app.config.update(overrides)
    from archive.recordings.storage import protect_private_files

    protect_private_files(
        instance_dir,
        app.config["SQLALCHEMY_DATABASE_URI"],
        (Path(app.config["RECORDINGS_DIR"]), Path(app.config["TRANSCRIPTS_DIR"])),
    )
    from archive.recordings.storage import clean_incoming

    clean_incoming(Path(app.config["RECORDINGS_DIR"]))
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    _database_timeout(app)

    from archive.models.types import configure_cipher

    configure_cipher(app.config["IDENTITY_KEY"])
    from archive import audit

    audit.configure_key(app.config["AUDIT_KEY"])

    _configure_logging(app)
    _init_extensions(app)

    from archive import cli, jobs, queue  # jobs: registers the task bodies with the queue
    from archive.web import register_web

    queue.init_app(app)
    jobs.init_factory(create_app)
    register_web(app)
    cli.init_app(app)
    return app


def _database_timeout(app: Flask) -> None:
    """Waits for another writer's lock end after ``DATABASE_TIMEOUT`` seconds: SQLite's
    busy timeout, PostgreSQL's ``lock_timeout`` (which otherwise waits for ever)."""
    from archive import extensions

    milliseconds = int(app.config["DATABASE_TIMEOUT"] * 1000)
    extensions.busy_timeout_ms = milliseconds
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("options", f"-c lock_timeout={milliseconds}")
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_logging(app: Flask) -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    # Alembic announces each of its plugins at INFO on every command: noise for operators.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def _init_extensions(app: Flask) -> None:
    from archive.extensions import csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see that page.")
    login_manager.session_protection = "basic"
    from archive import i18n

    i18n.init_app(app)
