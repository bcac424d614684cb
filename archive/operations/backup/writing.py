"""Making a backup while the archive runs: a database snapshot first, then the stored
files it names, each checked as it is copied, and a SHA-256 manifest of them all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from archive import audit
from archive.extensions import db
from archive.models.types import encrypt_bytes
from archive.operations.backup.layout import (
    ENCRYPTED_FOLDERS,
    ENCRYPTED_SUFFIX,
    FORMAT,
    KEY_CHECK,
    MANIFEST,
    METADATA,
    NOTICE,
    PG_DUMP,
    ROOTS,
    SQLITE_DUMP,
    BackupError,
    BackupReport,
    Snapshot,
    _libpq,
    _run,
    dialect,
    dump_name,
)
from archive.recordings import storage

log = logging.getLogger(__name__)

# -- making a backup ---------------------------------------------------------------


_NAMED_FILES = """
    SELECT 'recordings/' || master_key, sha256 FROM recordings
     WHERE master_purged_at IS NULL
    UNION ALL
    SELECT 'recordings/' || document_key, document_sha256 FROM agreements
     WHERE document_key IS NOT NULL
"""
_COUNTS = {
    "interviews": "SELECT count(*) FROM interviews",
    "recordings": "SELECT count(*) FROM recordings",
    "segments": "SELECT count(*) FROM segments",
    "audit_events": "SELECT count(*) FROM audit_events",
    "jobs_waiting": "SELECT count(*) FROM recordings WHERE status IN ('queued', 'processing')",
}


def _read_snapshot(execute) -> Snapshot:
    """``execute(sql) -> rows``: the same queries on a SQLite file or a PG snapshot."""
    revision = execute("SELECT version_num FROM alembic_version")
    snapshot = Snapshot(revision=revision[0][0] if revision else None)
    snapshot.named = {key: sha for key, sha in execute(_NAMED_FILES)}
    snapshot.counts = {name: execute(sql)[0][0] for name, sql in _COUNTS.items()}
    return snapshot


def make_backup(target: Path) -> BackupReport:
    """Write a backup of the running archive into ``target`` (absent or empty)."""
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty folder; a backup needs a new one.")
    for root_name in ROOTS:
        if target.resolve().is_relative_to(storage.named_root(root_name).resolve()):
            raise BackupError(f"{target} is inside the archive's {root_name} folder.")
    kind = dialect()
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    (target / "database").mkdir(mode=0o700)
    report = BackupReport(target=target, database=kind)
    snapshot = _dump_sqlite(target) if kind == "sqlite" else _dump_postgresql(target)
    report.counts = snapshot.counts

    dump = dump_name(kind)
    manifest = {dump: storage.sha256_file(target / dump)}
    seen: dict[str, str] = {}
    for root_name in ROOTS:
        for key, path in storage.kept_files(storage.named_root(root_name)):
            name = f"{root_name}/{key}"
            try:
                copied = _copy_out(path, target, name)
            except FileNotFoundError:
                # Gone since it was listed: a listening copy replaced by a newer one,
                # or a purged master. A master the snapshot names is reported below.
                (target / name).unlink(missing_ok=True)
                continue
            seen[name] = copied.content_sha
            manifest[copied.name] = copied.stored_sha
            report.files += 1
            report.bytes += copied.size
    for name, recorded in sorted(snapshot.named.items()):
        if name not in seen:
            report.problems.append(f"{name}: named by the database but missing from storage")
        elif recorded and seen[name] != recorded:
            report.problems.append(f"{name}: does not match the SHA-256 the database recorded")

    manifest[NOTICE] = _write_new(target / NOTICE, _notice(kind, snapshot))
    manifest[METADATA] = _write_new(target / METADATA, _metadata_json(kind, snapshot, report))
    _write_new(target / MANIFEST, "".join(f"{manifest[n]}  {n}\n" for n in sorted(manifest)))
    audit.record(
        db.session,
        "backup_made",
        None,
        database=kind,
        files=report.files,
        bytes=report.bytes,
        problems=len(report.problems),
    )
    db.session.commit()
    log.info(
        "backup made: %d files, %d bytes, %d problem(s)",
        report.files,
        report.bytes,
        len(report.problems),
    )
    return report


def _dump_sqlite(target: Path) -> Snapshot:
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("The database is in memory; there is nothing on disk to back up.")
    dump = target / SQLITE_DUMP
    source = sqlite3.connect(source_path, timeout=60)
    copy = sqlite3.connect(dump)
    try:
        # One step: the whole database is read in one read transaction, a consistent
        # snapshot, while the app and workers keep writing (WAL).
        source.backup(copy)
        # A single self-contained file, not a WAL database with side files.
        copy.execute("PRAGMA journal_mode=DELETE")
        status = copy.execute("PRAGMA quick_check").fetchone()[0]
        if status != "ok":
            raise BackupError(f"The database snapshot failed SQLite's check: {status}")
        snapshot = _read_snapshot(lambda sql: copy.execute(sql).fetchall())
    finally:
        copy.close()
        source.close()
    os.chmod(dump, 0o600)
    return snapshot


def _dump_postgresql(target: Path) -> Snapshot:
    """pg_dump inside a snapshot this connection exports, read by both of us."""
    dump = target / PG_DUMP
    url, env = _libpq(db.engine.url)
    connection = db.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with connection, connection.begin():
        name = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        snapshot = _read_snapshot(lambda sql: connection.execute(text(sql)).all())
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={name}",
                f"--file={dump}",
                f"--dbname={url}",
            ],
            env,
        )
    os.chmod(dump, 0o600)
    return snapshot


@dataclass(frozen=True)
class Copied:
    name: str  # its name in the backup
    size: int
    content_sha: str  # of the file as the archive stores it
    stored_sha: str  # of the file as the backup holds it (differs when encrypted)


def _copy_out(path: Path, target: Path, name: str) -> Copied:
    """Copy a stored file into the backup, hashing it on the way."""
    out = target / name
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if name.startswith(ENCRYPTED_FOLDERS):
        data = path.read_bytes()
        stored = _write_new(out.with_name(out.name + ENCRYPTED_SUFFIX), encrypt_bytes(data))
        content = hashlib.sha256(data).hexdigest()
        return Copied(name + ENCRYPTED_SUFFIX, len(data), content, stored)
    digest, size = hashlib.sha256(), 0
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(path, "rb") as source, os.fdopen(fd, "wb") as sink:
        while chunk := source.read(storage.CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    return Copied(name, size, digest.hexdigest(), digest.hexdigest())


def _write_new(path: Path, data: bytes | str) -> str:
    """Write a file of the backup (owner only); returns its SHA-256."""
    data = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return hashlib.sha256(data).hexdigest()


def _metadata_json(kind: str, snapshot: Snapshot, report: BackupReport) -> str:
    metadata = {
        "format": FORMAT,
        "application": "testimony-archive",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": kind,
        "schema_revision": snapshot.revision,
        "counts": snapshot.counts,
        "files": report.files,
        "bytes": report.bytes,
        "problems": report.problems,
        "identity_key": "not included: keep it apart from this backup",
        # Encrypted under the identity key: a restore can tell at once whether it
        # was given the key this backup needs. It reveals nothing about the key.
        "key_check": encrypt_bytes(KEY_CHECK).decode(),
    }
    return json.dumps(metadata, indent=2) + "\n"


def _notice(kind: str, snapshot: Snapshot) -> str:
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    waiting = snapshot.counts.get("jobs_waiting", 0)
    return f"""Testimony Archive backup, made {made} ({kind} database).

THE IDENTITY KEY IS NOT IN THIS BACKUP, and neither is the secret key.

Real names, aliases, transcript text, uploaded file names, the machine
transcripts and the signed agreement documents in this backup are encrypted
under the archive's identity key (ARCHIVE_IDENTITY_KEY, or the file
instance/identity_key). Without that key this backup shows no name in writing;
with it, everything. So:

- keep the identity key apart from this backup: another place, other people;
- keep the identity key safe: without it the transcripts and identities in
  this backup can never be read again;
- the audio (recordings/masters, recordings/access) is NOT encrypted, and a
  narrator may say her name in it: keep this backup on encrypted storage that
  only the archive's custodians can reach.

Check it (from inside this folder):  sha256sum -c {MANIFEST}

Restore it into an empty archive configured with the same identity key:

    flask --app wsgi restore THIS_FOLDER

Jobs queued or being transcribed when it was made: {waiting}. After a restore,
the next worker to start takes them up; a job in progress resumes after its
last stored segment.
"""
