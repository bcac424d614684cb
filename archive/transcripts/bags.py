"""BagIt bags, built by the worker for one reader's view, kept a while, then removed.

A bag is what one reader may see: the export document rendered for them (names,
redactions) and the audio variant the policy gives them. So a bag is kept under a
*view key*, a keyed digest of that document, that audio and the bag's layout: two
readers share a bag only when what they would get is byte for byte the same, and
any change to the interview (an edit, a redaction, a new agreement) makes a new key,
so an older bag is never served again.

The state of a view's build is a small JSON file beside the bag
(``storage.bag_marker``): ``queued`` (a task is waiting), ``building``, ``ready``
(the sealed zip is there) or ``failed``. It is claimed under an exclusive lock on
the interview's export folder, so two requests at once queue one build, on one
machine or on several sharing the storage. Nothing of it is in the database: a lost
folder is only a bag to build again.

Access is decided again at every step: when the bag is asked for, in the worker
before and after building (the reader may have lost access meanwhile), and at every
download. Ready bags expire after ``BAG_HOURS``; withdrawal and purge remove the
interview's folder at once (``consent``), and ``sweep`` removes what expired, what
nobody may read any longer and what a dead build left.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from archive import exports, interviews, policy, queue
from archive.errors import NotFoundError
from archive.exports import sealed, to_json
from archive.extensions import db
from archive.models import Interview, User
from archive.models.types import file_key, keyed_digest
from archive.recordings import listening_copies, storage
from archive.transcripts import documents

log = logging.getLogger(__name__)

#: A ready bag is served this long after it was built, then removed.
BAG_HOURS = 24
#: A build queued or running this long without an answer was lost (a worker killed,
#: a queue emptied): the next request queues it again.
ABANDONED_MINUTES = 60
#: Changes whenever what a bag holds for the same document changes, so that bags
#: made by an older version are never served.
LAYOUT = b"bagit-1"
#: How long a client is told to wait before asking again.
RETRY_AFTER_SECONDS = 5

READY, QUEUED, BUILDING, FAILED = "ready", "queued", "building", "failed"


@dataclass(frozen=True)
class View:
    """What one reader's bag is made of, and its key."""

    key: str
    document: exports.ExportDocument
    audio: tuple[Path, ...]


@dataclass(frozen=True)
class BagState:
    """Where the bag of a reader's view stands: ``status`` one of READY, QUEUED,
    BUILDING, FAILED; ``path`` the sealed zip when READY."""

    status: str
    path: Path | None = None


def view_of(user: Any, interview: Interview) -> View:
    """The document and audio ``user`` would get in a bag now, and their key."""
    document = documents.export_document(user, interview)
    variant = policy.audio_variant(user, interview)
    audio = tuple(
        path
        for recording in interview.recordings
        if variant and (path := listening_copies.path_for(recording, variant))
    )
    parts = [LAYOUT, to_json.render(document), (variant or "").encode()]
    for path in audio:
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return View(keyed_digest(*parts)[:32], document, audio)


def request_bag(user: Any, interview: Interview, base_url: str, retry: bool = False) -> BagState:
    """The reader's bag if it is ready; otherwise its build is queued (once, however
    many ask at the same time) and its state is returned. A failed build stays failed
    until ``retry``. ``base_url`` is the archive's address as the reader reached it
    (the links in the bag). The caller has checked that ``user`` may export."""
    view = view_of(user, interview)
    with _locked(interview.id):
        state = _state(interview.id, view.key)
        if state.status in (READY, QUEUED, BUILDING) or (state.status == FAILED and not retry):
            return state
        _write_marker(interview.id, view.key, QUEUED, user, base_url)
    # Nothing in the database changed: the task reads what the reader read, so it
    # is queued now, not after a commit (a GET that only reads commits nothing).
    try:
        queue.enqueue_bag(interview.id, _id_of(user), view.key, base_url)
    except Exception:
        storage.bag_marker(interview.id, view.key).unlink(missing_ok=True)
        raise
    log.info("bag of interview %s queued (view %s)", interview.id, view.key[:8])
    return BagState(QUEUED)


def state_of(user: Any, interview: Interview) -> BagState | None:
    """Where the reader's bag stands, queuing nothing; None when never asked for."""
    view = view_of(user, interview)
    with _locked(interview.id):
        state = _state(interview.id, view.key)
    return None if state.status == "" else state


def open_bag(state: BagState) -> Iterator[bytes]:
    """The plain zip of a ready bag, streamed (opened now: a bag removed during the
    download is still sent whole)."""
    assert state.path is not None
    return sealed.open_sealed(state.path, file_key("bags"))


def size_of(state: BagState) -> int:
    assert state.path is not None
    return sealed.plain_size(state.path)


# -- the worker's side -------------------------------------------------------------


def build(interview_id: int, user_id: int | None, view_key: str, base_url: str) -> None:
    """Build the bag ``user_id`` (None: a visitor) asked for, as they may see the
    interview now: the task body. Access is checked again here, and the view too: a
    reader who lost access gets nothing built, and a view that changed since is left
    for the reader's next request. Safe to run twice."""
    marker = storage.bag_marker(interview_id, view_key)
    with current_app.test_request_context(base_url=base_url):
        user = _reader(user_id)
        interview = _visible(user, interview_id)
        if interview is None:
            log.info("bag of interview %s not built: no longer visible", interview_id)
            marker.unlink(missing_ok=True)
            return
        view = view_of(user, interview)
        if view.key != view_key:
            log.info("bag of interview %s not built: the view changed", interview_id)
            marker.unlink(missing_ok=True)
            return
        with _locked(interview_id):
            if _state(interview_id, view_key).status not in (QUEUED, FAILED, ""):
                return  # built, or being built, by another run of this task
            _write_marker(interview_id, view_key, BUILDING, user, base_url)
        try:
            _make(interview_id, view)
        except Exception:
            log.exception("bag of interview %s failed", interview_id)
            with _locked(interview_id):
                _write_marker(interview_id, view_key, FAILED, user, base_url)
            return
    # The reader may have lost access while it was being built: check once more,
    # from the database as it is now.
    db.session.rollback()
    db.session.expire_all()
    with current_app.test_request_context(base_url=base_url):
        user = _reader(user_id)
        still = _visible(user, interview_id)
        with _locked(interview_id):
            if still is None:
                storage.bag_path(interview_id, view_key).unlink(missing_ok=True)
                marker.unlink(missing_ok=True)
                log.info("bag of interview %s removed: no longer visible", interview_id)
                return
            _write_marker(interview_id, view_key, READY, user, base_url)
    log.info("bag of interview %s ready (view %s)", interview_id, view_key[:8])


def _make(interview_id: int, view: View) -> None:
    """Bag, zip and seal, in a temporary folder removed whatever happens."""
    root = storage.exports_dir(interview_id)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="build-") as work:
        bag_dir = exports.write_bag(
            view.document, Path(work) / f"interview-{interview_id}", list(view.audio)
        )
        archive_zip = exports.zip_bag(bag_dir)
        sealed.seal(archive_zip, storage.bag_path(interview_id, view.key), file_key("bags"))


#: Stands for an account that no longer exists: nobody's view.
_GONE = object()


def _id_of(user: Any) -> int | None:
    """The reader's id; None for a visitor (the policy reads None as one)."""
    return user.id if getattr(user, "is_authenticated", False) else None


def _reader(user_id: int | None) -> Any:
    """The reader again, from the database as it is now; None for a visitor."""
    if user_id is None:
        return None
    return db.session.get(User, user_id) or _GONE


def _visible(user: Any, interview_id: int) -> Interview | None:
    if user is _GONE:
        return None
    try:
        return interviews.get_visible(user, interview_id, "export")
    except NotFoundError:
        return None


# -- state on disk -----------------------------------------------------------------


@contextlib.contextmanager
def _locked(interview_id: int) -> Iterator[None]:
    """An exclusive ``flock`` on the interview's export folder: released when the
    process dies, and no lock file is left behind."""
    folder = storage.exports_dir(interview_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _state(interview_id: int, view_key: str) -> BagState:
    """The build's state; "" for none. Expired bags and lost builds are removed here
    (under the lock), so they read as none."""
    marker = storage.bag_marker(interview_id, view_key)
    bag = storage.bag_path(interview_id, view_key)
    try:
        data = json.loads(marker.read_text())
        age = time.time() - marker.stat().st_mtime
    except (OSError, ValueError):
        data, age = {}, 0.0
    status = data.get("status", "")
    if status == READY and bag.is_file() and age < BAG_HOURS * 3600:
        return BagState(READY, bag)
    if status in (QUEUED, BUILDING) and age < ABANDONED_MINUTES * 60:
        return BagState(status)
    if status == FAILED and age < BAG_HOURS * 3600:
        return BagState(FAILED)
    if status or bag.exists():
        bag.unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    return BagState("")


def _write_marker(interview_id: int, view_key: str, status: str, user: Any, base_url: str) -> None:
    """The state, and whose view at which address (what ``sweep`` checks again)."""
    marker = storage.bag_marker(interview_id, view_key)
    body = json.dumps({"status": status, "user": _id_of(user), "base_url": base_url})
    temporary = marker.with_name(marker.name + ".part")
    temporary.write_text(body)
    os.replace(temporary, marker)


# -- expiry ------------------------------------------------------------------------


def sweep() -> int:
    """Remove what no one may be served any longer: bags past ``BAG_HOURS``, lost
    builds, temporary folders of dead builds, the bags of interviews that are gone,
    and bags whose reader's view changed or who lost access. Returns how many bags
    (or folders) were removed. Run hourly by the worker."""
    root = storage.exports_root()
    if not root.is_dir():
        return 0
    removed = 0
    for folder in sorted(root.glob("interview-*")):
        number = folder.name.removeprefix("interview-")
        if not number.isdigit():
            continue
        interview_id = int(number)
        if db.session.get(Interview, interview_id) is None:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
            continue
        removed += _sweep_interview(interview_id, folder)
    return removed


def _sweep_interview(interview_id: int, folder: Path) -> int:
    removed = 0
    for work in folder.glob("build-*"):
        with contextlib.suppress(OSError):
            if time.time() - work.stat().st_mtime > ABANDONED_MINUTES * 60:
                shutil.rmtree(work, ignore_errors=True)
                removed += 1
    for marker in folder.glob("bag-*.json"):
        view_key = marker.name.removeprefix("bag-").removesuffix(".json")
        with _locked(interview_id):
            state = _state(interview_id, view_key)
            if state.status == "":
                removed += 1
                continue
            if state.status != READY:
                continue
            data = json.loads(marker.read_text())
        user_id, base_url = data.get("user"), str(data.get("base_url") or "")
        user = _reader(user_id if isinstance(user_id, int) else None)
        with current_app.test_request_context(base_url=base_url or "http://localhost/"):
            interview = _visible(user, interview_id)
            current = view_of(user, interview).key if interview is not None else None
        if current != view_key:  # access lost, or the interview changed since
            with _locked(interview_id):
                storage.bag_path(interview_id, view_key).unlink(missing_ok=True)
                marker.unlink(missing_ok=True)
            removed += 1
    for orphan in folder.glob("bag-*.zip.sealed"):
        if not orphan.with_name(orphan.name.removesuffix(".zip.sealed") + ".json").exists():
            orphan.unlink(missing_ok=True)
            removed += 1
    return removed
