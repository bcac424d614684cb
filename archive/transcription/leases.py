"""Leased jobs on a recording: one worker at a time, and a dead worker replaced.

The transcription and the translation of a recording are each a job with its own
status, worker and heartbeat columns on ``Recording`` (a ``Lease`` names them). A
worker claims the job with one conditional UPDATE (waiting, or running but with a
heartbeat older than the lease, or already its own), keeps the heartbeat fresh while
it works, and clears its name when it ends. Recovery puts the jobs whose heartbeat
stopped back to waiting, and queues them again.

The claim and the release commit at once (``unit_of_work.commit()``): another
worker must see a claim before it tries its own, and a release before it queues the
job again; they are the job's own boundaries, not a web request's.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true, update
from sqlalchemy.orm import InstrumentedAttribute

from archive import unit_of_work
from archive.extensions import db
from archive.models import Recording, utcnow
from archive.recordings import storage

log = logging.getLogger(__name__)

#: A job whose heartbeat is older than this is taken to have lost its worker.
LEASE_SECONDS = 90
#: How often a running job's heartbeat is written (the lease is 9 beats long).
HEARTBEAT_SECONDS = 10


@dataclass(frozen=True)
class Lease:
    """The columns of ``Recording`` that hold one kind of job's lease."""

    status: InstrumentedAttribute
    worker: InstrumentedAttribute
    heartbeat: InstrumentedAttribute
    running: str  # the status while a worker has it ("queued" is waiting, for both)
    #: What else must hold for the job to be claimed (the transcription is done).
    ready: Callable[[], ColumnElement[bool]] = true

    def stale(self) -> ColumnElement[bool]:
        cutoff = utcnow() - timedelta(seconds=LEASE_SECONDS)
        return or_(self.heartbeat.is_(None), self.heartbeat < cutoff)

    def claim(self, recording_id: int, worker: str, **values: Any) -> Recording | None:
        """Take the job for ``worker``, atomically, setting ``values`` too; None when
        it is not waiting, or another live worker has it. Commits."""
        result = db.session.execute(
            update(Recording)
            .where(
                Recording.id == recording_id,
                self.ready(),
                or_(
                    self.status == "queued",
                    and_(
                        self.status == self.running,
                        or_(self.stale(), self.worker == worker),
                    ),
                ),
            )
            .values(
                {
                    self.status: self.running,
                    self.worker: worker,
                    self.heartbeat: utcnow(),
                    **{getattr(Recording, name): value for name, value in values.items()},
                }
            )
            .execution_options(synchronize_session=False)
        )
        unit_of_work.commit()
        if result.rowcount != 1:
            return None
        return db.session.get(Recording, recording_id)

    def beat(self, recording_id: int, worker: str):
        """The UPDATE that shows the job is alive (only while ``worker`` holds it)."""
        return (
            update(Recording)
            .where(Recording.id == recording_id, self.worker == worker)
            .values({self.heartbeat: utcnow()})
        )

    def release_abandoned(self, dead_here: bool = False) -> list[int]:
        """Put back to waiting each running job whose heartbeat stopped (with
        ``dead_here``, also one held by a process of this host that is gone); the
        ids, once committed."""
        cutoff = utcnow() - timedelta(seconds=LEASE_SECONDS)
        host = socket.gethostname()
        released = []
        for recording in db.session.scalars(select(Recording).where(self.status == self.running)):
            owner = getattr(recording, self.worker.key) or ""
            owner_host, _, pid = owner.partition(":")
            gone = (
                dead_here
                and owner_host == host
                and pid.isdigit()
                and not storage.process_alive(int(pid))
            )
            heartbeat = getattr(recording, self.heartbeat.key)
            if gone or heartbeat is None or heartbeat < cutoff:
                setattr(recording, self.status.key, "queued")
                setattr(recording, self.worker.key, None)
                released.append(recording.id)
        unit_of_work.commit()
        return released

    def waiting(self) -> list[int]:
        """Every job waiting for a worker."""
        return list(db.session.scalars(select(Recording.id).where(self.status == "queued")))


TRANSCRIPTION = Lease(
    status=Recording.status,
    worker=Recording.worker,
    heartbeat=Recording.heartbeat_at,
    running="processing",
)
TRANSLATION = Lease(
    status=Recording.translation_status,
    worker=Recording.translation_worker,
    heartbeat=Recording.translation_heartbeat_at,
    running="running",
    ready=lambda: Recording.status == "done",
)


def recover(
    lease: Lease, enqueue: Callable[[int], None], requeue_waiting: bool, dead_here: bool = False
) -> int:
    """Queue again the jobs whose worker died, and, with ``requeue_waiting``, every
    waiting one (a job stored while the queue was down). A job queued twice is
    harmless: ``claim`` gives it to one worker only. Returns how many were queued."""
    requeue = lease.release_abandoned(dead_here)
    if requeue_waiting:
        requeue += lease.waiting()
    for recording_id in dict.fromkeys(requeue):
        enqueue(recording_id)
    return len(set(requeue))


class Heartbeat:
    """Keeps a job's lease alive from a side thread, however long the model is
    silent (a long pause or a slow window must not look like a dead worker)."""

    def __init__(self, lease: Lease, recording_id: int, worker: str) -> None:
        self.lease, self.recording_id, self.worker = lease, recording_id, worker
        self.stop = threading.Event()
        self.engine = db.engine
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def _beat(self) -> None:
        while not self.stop.wait(HEARTBEAT_SECONDS):
            try:
                with self.engine.begin() as connection:
                    connection.execute(self.lease.beat(self.recording_id, self.worker))
            except Exception:  # a missed beat is retried; the lease is 9 beats long
                log.warning("heartbeat for recording %s failed", self.recording_id)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()
