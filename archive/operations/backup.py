"""Backups of the whole archive, and restoring one into an empty archive.

A backup is a folder that ``sha256sum -c`` can check by itself::

    README.txt                  what this is, and that the keys are not in it
    backup.json                 when, the schema revision, counts, a key check
    database/archive.sqlite3    SQLite: a snapshot made with the online backup API
    database/archive.pgdump     PostgreSQL: ``pg_dump --format=custom``
    recordings/masters/...      preservation masters, byte for byte
    recordings/access/...       listening copies
    recordings/agreements/...   signed agreement documents, encrypted (``.enc``)
    transcripts/machine/...     machine transcripts as produced (encrypted already)
    manifest-sha256.txt         the SHA-256 of every other file

Consistency while the archive runs: the database is copied first, as one snapshot
(SQLite's backup API reads one consistent state while writers go on; pg_dump
works in one repeatable-read snapshot, exported so that the files it names are
read from the same one). The stored files are copied next. Masters, agreements
and machine transcripts are written once and never change, and a row names its
file only after the file is complete, so every file the snapshot names is there
to copy; each master and agreement is checked against the SHA-256 the snapshot
recorded as it is copied. A file added after the snapshot is copied too and is
simply not named by any row after a restore. Listening copies are derived and
may be replaced while the backup runs; one that is missing after a restore is
queued to be made again.

Jobs: a recording that was queued or being transcribed is in the snapshot as
such, with the segments stored so far. The task queue is not backed up: after a
restore, the next ``flask worker`` to start queues every waiting job again, and a
job whose worker's lease has lapsed (any job of the backup, after a minute) is
taken up and resumes after its last stored segment, without duplicates.

Keys: neither the identity key (``ARCHIVE_IDENTITY_KEY`` or
``instance/identity_key``) nor the secret key is ever written into a backup.
Everything written that can name a narrator (transcript text, real names and
aliases, file names, signed agreements, machine transcripts) is encrypted under
the identity key, so the backup without the key reveals no name in writing. The
audio is not encrypted: keep backups on access-controlled, encrypted storage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import inspect, literal, select, text
from sqlalchemy.engine import Connection

from archive import audit, queue
from archive.errors import ArchiveError
from archive.extensions import MIGRATIONS_DIR, db
from archive.models import Base, Recording
from archive.models.types import CipherKeyError, decrypt_bytes, encrypt_bytes
from archive.recordings import storage

log = logging.getLogger(__name__)

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


def dialect() -> str:
    name = db.engine.url.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {name}.")
    return name


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


def dump_name(kind: str) -> str:
    return SQLITE_DUMP if kind == "sqlite" else PG_DUMP


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


# -- restoring ---------------------------------------------------------------------


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
