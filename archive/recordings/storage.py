"""Where files live under recordings/ and transcripts/, and how they are written.

Every path is made here from ids and generated names, never from anything a user
sent. Masters are written once (hard-linked into place, so an existing file can
never be overwritten) and made read-only; machine transcripts are written once.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from flask import current_app

from archive.models import utcnow

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# What fsync answers on a folder where the file system cannot sync one.
_FSYNC_UNSUPPORTED = frozenset({errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF})

# Folders of the two roots whose files are only passing through: uploads being
# received (``recordings/incoming``) and exports being built (``transcripts/exports``).
TRANSIENT_FOLDERS = ("incoming", "exports")
# Folders whose files are written once and kept read-only.
WRITE_ONCE_FOLDERS = ("masters", "agreements", "machine")


class StorageError(Exception):
    """A path that would leave the storage root, or a file that should not exist."""


def protect_private_files(
    instance_dir: Path, database_url: str, roots: tuple[Path, ...] = ()
) -> None:
    """Make ``instance/`` (0700) and what it holds (0600) the service user's alone,
    with the SQLite database and its WAL and shared-memory files wherever they are.

    New files are made so by the process umask (see ``create_app``); this puts right
    what an earlier version created 0644. SQLite gives its WAL and SHM the mode of
    the database file, so the database file is made first, 0600, when absent.
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    for folder, _dirs, files in os.walk(instance_dir):
        os.chmod(folder, 0o700)
        for name in files:
            _chmod_own(Path(folder) / name, 0o600)
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        database = Path(database_url.removeprefix("sqlite:///").split("?", 1)[0])
        database.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # made 0600 when absent only
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        for path in database.parent.glob(database.name + "*"):
            _chmod_own(path, 0o600)
    for root in roots:  # recordings/ and transcripts/: nobody else may list them
        try:
            if root.is_dir():
                os.chmod(root, 0o700)
        except PermissionError:
            log.warning("cannot make the storage root %s private", root.name)


def _chmod_own(path: Path, mode: int) -> None:
    try:
        if path.is_file() and not path.is_symlink():
            os.chmod(path, mode)
    except PermissionError:  # another user's file: reported by the health check
        log.warning("cannot make %s private", path.name)


def recordings_root() -> Path:
    return Path(current_app.config["RECORDINGS_DIR"])


def transcripts_root() -> Path:
    return Path(current_app.config["TRANSCRIPTS_DIR"])


def named_root(name: str) -> Path:
    """A storage root by name: ``recordings`` or ``transcripts``."""
    roots = {"recordings": recordings_root, "transcripts": transcripts_root}
    if name not in roots:
        raise StorageError(f"no storage root {name!r}")
    return roots[name]()


def path_in(root_name: str, key: str) -> Path:
    """The path of ``key`` under a named root, never outside it."""
    return _inside(named_root(root_name), key)


def _inside(root: Path, key: str) -> Path:
    path = (root / key).resolve()
    if not path.is_relative_to(root.resolve()):
        raise StorageError("storage key leaves its root")
    return path


def recordings_path(key: str) -> Path:
    return _inside(recordings_root(), key)


def incoming_dir() -> Path:
    """Uploads land here first: same file system as the masters, so linking is atomic."""
    path = recordings_root() / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def incoming_file() -> tempfile._TemporaryFileWrapper:
    """A temporary file for an upload; it disappears by itself unless stored. Its
    name says which process receives it, so that what a killed process leaves is
    removed at the next start (``clean_incoming``)."""
    prefix = f"upload-{socket.gethostname()}-{os.getpid()}-"
    return tempfile.NamedTemporaryFile(dir=incoming_dir(), prefix=prefix, suffix=".part")


# An upload from another machine sharing recordings/ is left alone this long.
FOREIGN_UPLOAD_HOURS = 24


def clean_incoming(root: Path) -> int:
    """Remove the partial uploads of processes that died receiving them (a web
    process killed mid-upload); run at every start. Returns how many were removed."""
    folder = root / "incoming"
    if not folder.is_dir():
        return 0
    host, removed = socket.gethostname(), 0
    for path in folder.glob("upload-*.part"):
        owner, _, _random = path.name.removeprefix("upload-").rpartition("-")
        owner_host, _, pid = owner.rpartition("-")
        if owner_host == host and pid.isdigit():
            gone = not process_alive(int(pid))
        else:
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue
            gone = age > FOREIGN_UPLOAD_HOURS * 3600
        if gone:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d partial upload(s) left by stopped processes", removed)
    return removed


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: a killed one whose parent died too may
    linger as a zombie until something reaps it, and counts as gone."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def store_file(temp_path: Path, folder: str, extension: str) -> str:
    """Link a complete file (a signed agreement) into ``folder``, once, read-only."""
    with open(temp_path, "rb") as handle:
        os.fsync(handle.fileno())
    now = utcnow()
    key = f"{folder}/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{extension}"
    final = recordings_path(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.link(temp_path, final)
    os.chmod(final, 0o400)  # read-only, and for the service user only
    fsync_dir(final.parent)
    return key


def exports_dir(interview_id: int) -> Path:
    return transcripts_root() / "exports" / f"interview-{interview_id}"


def exports_root() -> Path:
    return transcripts_root() / "exports"


def bag_path(interview_id: int, view_key: str) -> Path:
    """A ready bag of one reader's view (``transcripts.bags``), sealed: it may hold
    what only its reader sees, so it is encrypted at rest."""
    return exports_dir(interview_id) / f"{_view_name(view_key)}.zip.sealed"


def bag_marker(interview_id: int, view_key: str) -> Path:
    """The state of that bag's build (queued, building, ready, failed), as JSON."""
    return exports_dir(interview_id) / f"{_view_name(view_key)}.json"


def _view_name(view_key: str) -> str:
    if not (view_key.isalnum() and view_key.isascii() and 0 < len(view_key) <= 64):
        raise StorageError("a bag's view key is a hex digest")
    return f"bag-{view_key}"


def discard_exports(interview_id: int) -> None:
    """Generated exports are derived copies: a withdrawal, a purge or an expiry
    removes them all."""
    shutil.rmtree(exports_dir(interview_id), ignore_errors=True)


def store_master(temp_path: Path, extension: str) -> str:
    """Link a complete, probed upload into its permanent place; returns its key.

    The data is flushed to disk first; the link fails rather than overwrite.
    """
    return store_file(temp_path, "masters", extension)


def discard(key: str | None) -> None:
    """Remove a stored file (a master whose row could not be saved, or a derived copy)."""
    if not key:
        return
    path = recordings_path(key)
    if path.exists():
        path.chmod(0o600)
        path.unlink()


def fsync_dir(folder: Path) -> None:
    """Make a link or rename into ``folder`` durable (POSIX: the folder's entry is
    data too). A file system that cannot sync a folder says so (EINVAL, ENOTSUP,
    EBADF) and is passed over; any other error is raised, as the file may not
    survive a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def machine_transcript_path(recording_id: int) -> Path:
    """The machine transcript as produced: JSON, encrypted like the database's text
    because it holds every name that was spoken."""
    return transcripts_root() / "machine" / f"recording-{recording_id}.json.enc"


def write_once(path: Path, data: bytes) -> Path:
    """Write a file that must never change: a later attempt gets a numbered sibling."""
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate, number = path, 1
    while True:
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            break
        except FileExistsError:
            number += 1
            candidate = path.with_name(f"{path.stem}.{number}{path.suffix}")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return candidate


def kept_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every file kept under a storage root, as (key, path), sorted by key.

    Leaves out what is only passing through: the transient folders, partial
    files (``*.part``, a listening copy being encoded) and anything that is not a
    plain file. Used by backups; symbolic links are never followed.
    """
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if here == root:
            dirs[:] = [d for d in dirs if d not in TRANSIENT_FOLDERS]
        dirs.sort()
        for name in sorted(files):
            path = here / name
            if name.endswith(".part") or name.startswith(".") or not path.is_file():
                continue
            if path.is_symlink():
                continue
            yield path.relative_to(root).as_posix(), path


def write_once_mode(key: str) -> int:
    """The permissions a kept file has: read-only in the write-once folders."""
    return 0o400 if key.split("/", 1)[0] in WRITE_ONCE_FOLDERS else 0o600


def copy_to_incoming(source: Path) -> tempfile._TemporaryFileWrapper:
    """For the import command: the file on disk is copied, as an upload would be."""
    temp = incoming_file()
    with open(source, "rb") as handle:
        shutil.copyfileobj(handle, temp, CHUNK)
    temp.flush()
    return temp
