"""What a backup folder holds and how its parts are named; the reports of a backup and
of a restore. Shared by ``writing`` and ``restoring``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from archive.errors import ArchiveError
from archive.extensions import db

FORMAT = 1
MANIFEST = "manifest-sha256.txt"
METADATA = "backup.json"
NOTICE = "README.txt"
SQLITE_DUMP = "database/archive.sqlite3"
PG_DUMP = "database/archive.pgdump"
ROOTS = ("recordings", "transcripts")
# Stored in the clear on the archive's disk, but they name the narrator: in a
# backup, which travels, they are encrypted under the identity key.
ENCRYPTED_FOLDERS = ("recordings/agreements/",)
ENCRYPTED_SUFFIX = ".enc"
KEY_CHECK = b"testimony-archive backup key check"
# Tables whose rows make an archive "not empty" (audit_head always has its row).
IGNORED_TABLES = {"audit_head", "alembic_version"}


class BackupError(ArchiveError):
    """A backup or restore that cannot be made; the message says why."""


@dataclass
class Snapshot:
    """What the database snapshot says: the files it names and a few counts."""

    revision: str | None
    named: dict[str, str] = field(default_factory=dict)  # key -> sha256 recorded
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class BackupReport:
    target: Path
    database: str
    files: int = 0
    bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    database: str
    files: int = 0
    bytes: int = 0
    revision: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    copies_queued: int = 0


def dialect() -> str:
    name = db.engine.url.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {name}.")
    return name


def _libpq(url) -> tuple[str, dict[str, str]]:
    """A libpq URL for pg_dump and pg_restore; the password travels in the environment."""
    plain = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed (Debian: postgresql-client).")
    # The arguments are ours; the database URL comes from the operator's configuration.
    result = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


def dump_name(kind: str) -> str:
    return SQLITE_DUMP if kind == "sqlite" else PG_DUMP


def read_manifest(source: Path) -> dict[str, str]:
    """name -> sha256 from the manifest; names are checked to stay inside the backup."""
    manifest = source / MANIFEST
    if not manifest.is_file():
        raise BackupError(f"{source} is not a backup of this archive: {MANIFEST} is missing.")
    entries: dict[str, str] = {}
    for number, line in enumerate(manifest.read_text().splitlines(), start=1):
        sha, sep, name = line.partition("  ")
        parts = name.split("/")
        if (
            not sep
            or len(sha) != 64
            or not name
            or name.startswith("/")
            or any(part in ("", ".", "..") for part in parts)
            or not (name in (NOTICE, METADATA) or parts[0] in ("database", *ROOTS))
        ):
            raise BackupError(f"{MANIFEST} line {number} is not a file of a backup.")
        entries[name] = sha
    return entries
