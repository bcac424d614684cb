"""Settings read from ``ARCHIVE_*`` environment variables, with embedded defaults.

Everything an operator may change lives here so that the rest of the code reads
``app.config`` and never the environment. Secrets that are not given are generated
once into ``instance/`` with owner-only permissions, so a fresh checkout runs with
no setup yet never ships a shared key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"ARCHIVE_{name}")
    return value if value not in (None, "") else default


def instance_secret(instance_dir: Path, filename: str, make: callable) -> str:
    """Read a secret from ``instance/filename``, creating it (mode 0600) when absent.

    ``O_EXCL`` makes two processes starting at once agree on one value: the loser
    of the race reads the winner's file.
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / filename
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    return path.read_text().strip()


def _hops(name: str) -> int:
    """A count from the environment (0 when unset), refused when it is not one."""
    value = _env(name, "0")
    if not value.isdigit():
        raise ValueError(f"ARCHIVE_{name} must be a whole number (0 or more), not {value!r}.")
    return int(value)


def load_config(instance_dir: Path) -> dict:
    """Build the Flask configuration mapping from the environment."""
    database_url = _env("DATABASE_URL", f"sqlite:///{instance_dir / 'archive.sqlite3'}")
    secret_key = _env("SECRET_KEY") or instance_secret(
        instance_dir, "secret_key", lambda: secrets.token_urlsafe(48)
    )
    identity_key = _env("IDENTITY_KEY") or instance_secret(
        instance_dir, "identity_key", lambda: Fernet.generate_key().decode()
    )
    # Keys the audit log's hash chain (HMAC): outside the database, like the identity key.
    audit_key = _env("AUDIT_KEY") or instance_secret(
        instance_dir, "audit_key", lambda: secrets.token_urlsafe(48)
    )
    redis_url = _env("REDIS_URL")
    # Every key the archive makes in Redis (queue and rate limits) starts with
    # this, so several archives, or test runs, can share one Redis.
    redis_prefix = _env("REDIS_PREFIX", "archive")
    return {
        "SECRET_KEY": secret_key,
        "IDENTITY_KEY": identity_key,
        "AUDIT_KEY": audit_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": redis_prefix,
        "RECORDINGS_DIR": Path(_env("RECORDINGS_DIR", str(PROJECT_ROOT / "recordings"))),
        "TRANSCRIPTS_DIR": Path(_env("TRANSCRIPTS_DIR", str(PROJECT_ROOT / "transcripts"))),
        "WHISPER_MODEL": _env("WHISPER_MODEL", "base"),
        "WHISPER_DEVICE": _env("WHISPER_DEVICE", "auto"),
        # The multilingual model whose ``translate`` task makes the English track.
        "TRANSLATION_MODEL": _env("TRANSLATION_MODEL", "base"),
        "WORKER_THREADS": int(_env("WORKER_THREADS", "0")) or None,
        # 30 s chunks of speech decoded at once; 1 decodes one after another, None
        # takes the measured default (transcription.decoding_settings.DEFAULT_BATCH).
        "WHISPER_BATCH": int(_env("WHISPER_BATCH", "0")) or None,
        "MODEL_CACHE_DIR": Path(_env("MODEL_CACHE_DIR", str(PROJECT_ROOT / "cache"))),
        "MAX_UPLOAD_MB": int(_env("MAX_UPLOAD_MB", "4096")),
        # Every request body but an upload's: forms and JSON are never larger.
        "MAX_FORM_BYTES": 2 * 1024 * 1024,
        # /healthz fails below this much free space under recordings/.
        "HEALTH_MIN_FREE_MB": int(_env("HEALTH_MIN_FREE_MB", "1024")),
        # Seconds a statement waits for another writer's lock before a clear 503.
        "DATABASE_TIMEOUT": float(_env("DATABASE_TIMEOUT", "30")),
        # Limits counted in Redis hold across gunicorn workers and machines;
        # in memory, each process counts on its own.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"{redis_prefix}:limits"} if redis_url else {},
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": _env("LOGIN_RATE_LIMIT", "10 per minute"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_SECURE": _env("SECURE_COOKIES", "0") == "1",
        # Reverse proxies in front of the app (0: none, X-Forwarded-* are ignored).
        "TRUSTED_PROXIES": _hops("TRUSTED_PROXIES"),
        "SESSION_COOKIE_NAME": "archive_session",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "PER_PAGE": 25,
        # OAI-PMH (archive/publishing/oai.py): records per page, the contact, the identifier's
        # domain (default: the host the harvester asked)
        "OAI_PAGE_SIZE": int(_env("OAI_PAGE_SIZE", "100")),
        "OAI_ADMIN_EMAIL": _env("OAI_ADMIN_EMAIL", "archive@example.org"),
        "OAI_REPOSITORY_ID": _env("OAI_REPOSITORY_ID"),
        # E-mail notifications (archive/notifications.py): none is sent without a host.
        **smtp_config(),
    }


def _flag(name: str, default: str = "0") -> bool:
    return (_env(name, default) or "0").lower() in ("1", "true", "yes", "on")


def smtp_config() -> dict:
    """The SMTP server notifications go through, from ``ARCHIVE_SMTP_*``. With
    ``_SSL`` the connection is TLS from the start (port 465), otherwise STARTTLS is
    asked for unless ``_STARTTLS=0`` (a local relay on port 25)."""
    ssl = _flag("SMTP_SSL")
    port = _env("SMTP_PORT", "465" if ssl else "587")
    if not port.isdigit():
        raise ValueError(f"ARCHIVE_SMTP_PORT must be a port number, not {port!r}.")
    return {
        "SMTP_HOST": _env("SMTP_HOST"),
        "SMTP_PORT": int(port),
        "SMTP_USERNAME": _env("SMTP_USERNAME"),
        "SMTP_PASSWORD": _env("SMTP_PASSWORD"),
        "SMTP_FROM": _env("SMTP_FROM", "archive@localhost"),
        "SMTP_STARTTLS": not ssl and _flag("SMTP_STARTTLS", "1"),
        "SMTP_SSL": ssl,
        "SMTP_TIMEOUT": float(_env("SMTP_TIMEOUT", "30")),
        # The archive's address as its readers reach it: the links in the mail.
        "BASE_URL": (_env("BASE_URL", "http://localhost:5000") or "").rstrip("/"),
    }
