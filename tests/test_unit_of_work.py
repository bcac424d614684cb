"""A request is one unit of work: what a refused request leaves behind (nothing), and
what waits for the commit (the jobs, and the wiping of removed search text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import interviews, queue, recordings, search, unit_of_work
from archive.errors import N_, ConflictError
from archive.extensions import db
from archive.interviews import speakers
from archive.interviews.sequences import lock
from archive.models import AuditEvent, Interview, Recording, Segment, Speaker
from archive.recordings import storage
from archive.search import indexing
from archive.web import transactions
from tests.helpers import tone_file


def _route(app, name: str, view) -> str:
    """A page of the test's own, wrapped as every view of the app is."""
    view.public = True
    app.add_url_rule(f"/_test/{name}", name, transactions.one_unit_of_work(view))
    return f"/_test/{name}"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _masters(app) -> list[Path]:
    folder = Path(app.config["RECORDINGS_DIR"]) / "masters"
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def _pending() -> list[tuple[str, tuple]]:
    return [(task.name, task.args) for task in queue.huey.pending()]


@pytest.fixture
def upload_page(app, people, tmp_path):
    """A page that stores an upload through the real service, then answers as told."""
    interview = interviews.create_interview(people["interviewer"], {"title": "Upload"})
    unit_of_work.commit()
    interview_id, tone = interview.id, tone_file(tmp_path / "tone.wav")

    def make(status: int) -> str:
        def view():
            item = db.session.get(Interview, interview_id)
            with storage.copy_to_incoming(tone) as temp:
                recordings.add_recording(people["interviewer"], item, temp, "tone.wav")
            return "stored", status

        return _route(app, f"upload_{status}", view)

    return make


def test_a_refused_request_keeps_no_recording_no_master_and_queues_no_job(app, client, upload_page):
    response = client.get(upload_page(409))
    assert response.status_code == 409
    assert _count(Recording) == 0
    assert _masters(app) == []  # no file left that no row governs (withdrawal could not purge it)
    assert _pending() == []
    assert not db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recording_added")
    ).all()


def test_an_accepted_request_queues_the_job_once_the_recording_is_committed(
    app, client, upload_page
):
    response = client.get(upload_page(200))
    assert response.status_code == 200
    (recording,) = db.session.scalars(select(Recording)).all()
    assert len(_masters(app)) == 1
    assert _pending() == [("transcribe_recording", (recording.id,))]


def test_a_service_that_raises_after_flushing_leaves_nothing_stored(app, client, people):
    def view():
        interviews.create_interview(
            people["interviewer"],
            {
                "title": "Half made",
                "speakers": [{"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara"}],
            },
        )
        db.session.flush()  # the interview, its speaker and the audit event are written
        raise ConflictError(N_("Not found."))

    events = _count(AuditEvent)
    response = client.get(_route(app, "half_made", view))
    assert response.status_code == 409
    assert _count(Interview) == 0 and _count(Speaker) == 0
    assert _count(AuditEvent) == events


def test_the_translation_job_is_queued_after_the_commit_never_after_a_rollback(app, people):
    interview = interviews.create_interview(
        people["interviewer"], {"title": "Kazakh", "languages": "kk"}
    )
    recording = Recording(
        interview_id=interview.id, master_key="k", sha256="0" * 64, size_bytes=1, status="done"
    )
    db.session.add(recording)
    db.session.flush()
    db.session.add(Segment(recording_id=recording.id, start=0.0, end=2.0, text="Көл жақта."))
    unit_of_work.commit()
    interview_id, recording_id = interview.id, recording.id
    assert _pending() == []

    indexing.reindex(db.session, interview)  # the track asks for a translation...
    assert _pending() == []  # ...not before the commit
    db.session.rollback()
    unit_of_work.commit()
    assert _pending() == []  # a rolled-back change queues nothing, even at a later commit
    assert db.session.get(Recording, recording_id).translation_status is None

    indexing.reindex(db.session, db.session.get(Interview, interview_id))
    unit_of_work.commit()
    assert _pending() == [("translate_recording", (recording_id,))]
    assert db.session.get(Recording, recording_id).translation_status == "queued"


def test_inline_wiping_of_removed_text_is_not_held_up_by_work_done_after_the_commit(
    app, people, monkeypatch
):
    """The queue is down, so the naming wipes removed search text itself, after the
    commit; an earlier after-commit step has taken a row (a transaction is open
    again). PostgreSQL's VACUUM FULL waits for older transactions: it must not give up."""
    backend = type(search.backend_for(db.engine))
    monkeypatch.setattr(backend, "FORGET_WAIT", 1.0, raising=False)

    def queue_down():
        raise ConnectionError("queue down")

    monkeypatch.setattr(queue, "enqueue_forget_now", queue_down)
    outcomes = []
    forget = search.forget_deleted
    monkeypatch.setattr(search, "forget_deleted", lambda engine: outcomes.append(forget(engine)))

    interview = interviews.create_interview(
        people["custodian"],
        {
            "title": "Naming",
            "speakers": [{"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara"}],
        },
    )
    unit_of_work.commit()
    speaker = interview.speakers[0]
    unit_of_work.after_commit(lambda: lock(Interview, interview.id))
    speakers.update_speaker(people["custodian"], speaker, {"aliases": ["Gulya"]})
    unit_of_work.commit()
    assert outcomes == [True]
