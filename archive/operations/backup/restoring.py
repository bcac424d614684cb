"""Restoring a backup into an empty archive: every file checked against the manifest
first, the key and schema revision checked, then the database and the files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import inspect, literal, select, text
from sqlalchemy.engine import Connection

from archive import audit, queue
from archive.extensions import MIGRATIONS_DIR, db
from archive.models import Base, Recording
from archive.models.types import CipherKeyError, decrypt_bytes
from archive.operations.backup.layout import (
    ENCRYPTED_FOLDERS,
    ENCRYPTED_SUFFIX,
    FORMAT,
    IGNORED_TABLES,
    KEY_CHECK,
    METADATA,
    PG_DUMP,
    ROOTS,
    SQLITE_DUMP,
    BackupError,
    RestoreReport,
    _libpq,
    _run,
    dialect,
    dump_name,
    read_manifest,
)
from archive.recordings import storage

log = logging.getLogger(__name__)

# -- restoring ---------------------------------------------------------------------


def verify_backup(source: Path) -> tuple[dict[str, str], list[str]]:
    """Re-hash every file the manifest lists; returns the entries and the problems."""
    entries = read_manifest(source)
    problems = []
    for name, sha in entries.items():
        path = source / name
        if path.is_symlink() or not path.is_file():
            problems.append(f"{name}: missing")
        elif storage.sha256_file(path) != sha:
            problems.append(f"{name}: checksum mismatch")
    return entries, problems


def _metadata(source: Path) -> dict:
    try:
        metadata = json.loads((source / METADATA).read_text())
    except (OSError, ValueError):
        raise BackupError(f"{METADATA} is missing or unreadable.") from None
    if metadata.get("format") != FORMAT or metadata.get("application") != "testimony-archive":
        raise BackupError(f"{METADATA} is not that of a backup this version can restore.")
    return metadata


def _check_key(metadata: dict) -> None:
    try:
        ok = decrypt_bytes(str(metadata.get("key_check", "")).encode()) == KEY_CHECK
    except CipherKeyError:
        ok = False
    if not ok:
        raise BackupError(
            "This backup was made under another identity key. Configure the archive with "
            "the ARCHIVE_IDENTITY_KEY (or instance/identity_key) it was made with, kept "
            "apart from the backup; without it nothing encrypted can be read."
        )


def _check_revision(revision: str | None) -> None:
    if revision is None:
        return
    try:
        ScriptDirectory(MIGRATIONS_DIR).get_revision(revision)
    except Exception:
        raise BackupError(
            f"The backup's database is at schema revision {revision}, which this version of "
            "the archive does not know: restore it with the version that made it, or newer."
        ) from None


def _occupied_tables(connection: Connection) -> list[str]:
    present = set(inspect(connection).get_table_names())
    occupied = []
    for table in Base.metadata.sorted_tables:
        if table.name not in present or table.name in IGNORED_TABLES:
            continue
        # Only whether a row exists: its (encrypted) columns are never read.
        if connection.execute(select(literal(1)).select_from(table).limit(1)).first():
            occupied.append(table.name)
    return occupied


def _stored_anything(root: Path) -> bool:
    return next(storage.kept_files(root), None) is not None


def check_empty() -> None:
    """Refuse to restore over an archive that holds anything."""
    with db.engine.connect() as connection:
        occupied = _occupied_tables(connection)
    reasons = []
    if occupied:
        reasons.append(f"its database has rows ({', '.join(occupied[:5])})")
    for root_name in ROOTS:
        root = storage.named_root(root_name)
        if _stored_anything(root):
            reasons.append(f"its {root_name} folder {root} holds files")
    if reasons:
        raise BackupError(
            "A backup is restored only into an empty archive, and this one is not empty: "
            + "; ".join(reasons)
            + ". Nothing was changed. Point ARCHIVE_DATABASE_URL, ARCHIVE_RECORDINGS_DIR "
            "and ARCHIVE_TRANSCRIPTS_DIR at an empty archive."
        )


def _check_target_revision(revision: str | None) -> None:
    """pg_restore replaces the tables the dump has; tables of a newer schema would stay."""
    with db.engine.connect() as connection:
        if "alembic_version" not in inspect(connection).get_table_names():
            return
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    if current is not None and current != revision:
        raise BackupError(
            f"The empty database is already at schema revision {current}, the backup at "
            f"{revision}. Restore into a database without tables (before `flask db upgrade`); "
            "the restore brings the schema up to date itself. Nothing was changed."
        )


def restore_backup(source: Path) -> RestoreReport:
    """Bring a backup back into this archive, which must be empty; refuse on any doubt."""
    source = Path(source)
    entries, problems = verify_backup(source)
    if problems:
        raise BackupError(
            f"The backup does not match its manifest ({len(problems)} problem(s): "
            + "; ".join(problems[:5])
            + "). Nothing was restored."
        )
    metadata = _metadata(source)
    kind = dialect()
    if metadata.get("database") != kind:
        raise BackupError(
            f"The backup holds a {metadata.get('database')} database; this archive is "
            f"configured for {kind}. Restore it into an archive of the same kind."
        )
    dump = dump_name(kind)
    if dump not in entries:
        raise BackupError(f"The backup has no database ({dump}).")
    _check_key(metadata)
    _check_revision(metadata.get("schema_revision"))
    check_empty()
    if kind == "postgresql":
        _check_target_revision(metadata.get("schema_revision"))

    report = RestoreReport(database=kind, revision=metadata.get("schema_revision"))
    written: list[Path] = []
    try:
        for name, sha in entries.items():
            root_name, _, rest = name.partition("/")
            if root_name not in ROOTS:
                continue
            size = _copy_in(source / name, root_name, rest, sha, written)
            report.files += 1
            report.bytes += size
        if kind == "sqlite":
            _load_sqlite(source / SQLITE_DUMP)
        else:
            _load_postgresql(source / PG_DUMP)
    except BaseException:
        for path in reversed(written):
            path.chmod(0o600)
            path.unlink(missing_ok=True)
        raise
    report.counts = metadata.get("counts", {})
    report.copies_queued = _queue_missing_copies()
    audit.record(
        db.session,
        "backup_restored",
        None,
        backup_made=metadata.get("created_at"),
        files=report.files,
        bytes=report.bytes,
    )
    db.session.commit()
    log.info("backup restored: %d files, %d bytes", report.files, report.bytes)
    return report


def _queue_missing_copies() -> int:
    """Listening copies are derived: one replaced while the backup ran is made again."""
    missing = []
    for recording in db.session.scalars(select(Recording).where(Recording.status == "done")):
        keys = [k for k in (recording.full_copy_key, recording.access_copy_key) if k]
        if any(not storage.recordings_path(key).exists() for key in keys):
            missing.append(recording.id)
    for recording_id in missing:
        queue.enqueue_access_copies(recording_id)
    return len(missing)


def _copy_in(path: Path, root_name: str, key: str, sha: str, written: list[Path]) -> int:
    """Put one file back in its place, read-only where the archive keeps it so."""
    encrypted = f"{root_name}/{key}".startswith(ENCRYPTED_FOLDERS)
    if encrypted:
        if not key.endswith(ENCRYPTED_SUFFIX):
            raise BackupError(f"{root_name}/{key}: expected an encrypted file.")
        key = key.removesuffix(ENCRYPTED_SUFFIX)
    final = storage.path_in(root_name, key)
    final.parent.mkdir(parents=True, exist_ok=True)
    data_sha = hashlib.sha256()
    if encrypted:
        blob = path.read_bytes()
        data_sha.update(blob)
        chunks: Iterator[bytes] = iter([decrypt_bytes(blob)])
    else:
        chunks = _chunks(path, data_sha)
    fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written.append(final)
    size = 0
    with os.fdopen(fd, "wb") as sink:
        for chunk in chunks:
            sink.write(chunk)
            size += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    if data_sha.hexdigest() != sha:
        raise BackupError(f"{root_name}/{key} changed while it was restored; nothing was kept.")
    os.chmod(final, storage.write_once_mode(key))
    return size


def _chunks(path: Path, digest) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(storage.CHUNK):
            digest.update(chunk)
            yield chunk


def _load_sqlite(dump: Path) -> None:
    """Replace the (empty) database file with the snapshot, atomically."""
    target = Path(db.engine.url.database)
    db.session.remove()
    db.engine.dispose()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".restore-", delete=False) as temp:
        temp_path = Path(temp.name)
    try:
        source = sqlite3.connect(f"file:{dump}?mode=ro", uri=True)
        copy = sqlite3.connect(temp_path)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=WAL")
        finally:
            copy.close()
            source.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temp_path, target)
    finally:
        temp_path.unlink(missing_ok=True)
    _upgrade()


def _load_postgresql(dump: Path) -> None:
    """pg_restore into the (empty) database, in one transaction."""
    url, env = _libpq(db.engine.url)
    db.session.remove()
    db.engine.dispose()
    _run(
        [
            "pg_restore",
            # Drop the empty tables `flask db upgrade` may have made, then load.
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(dump),
        ],
        env,
    )
    _upgrade()


def _upgrade() -> None:
    """A backup from an older version is brought to this version's schema."""
    upgrade(directory=current_app.extensions["migrate"].directory)
