"""Every mutating service asks the policy itself, not only the view in front of it.

A forbidden actor calling a service directly (a command, a job, a future view that
forgets to ask) gets the policy's refusal, the same 404 as a missing record, and
nothing is stored: not even when the caller commits whatever happened afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive import accounts, consent, interviews, recordings, unit_of_work
from archive.accounts import tokens
from archive.errors import NotFoundError
from archive.extensions import db
from archive.interviews import speakers
from archive.models import (
    ApiToken,
    AuditEvent,
    IndexPoint,
    Interview,
    Recording,
    Redaction,
    Revision,
    Segment,
    Speaker,
    User,
)
from archive.recordings import storage
from archive.transcripts import contents, editor, redaction_edits, revisions
from archive.transcripts import transcript_edits as edits
from tests.helpers import PASSWORD, tone_file


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _segment(interview: Interview) -> Segment:
    return db.session.scalar(
        select(Segment).join(Recording).where(Recording.interview_id == interview.id)
    )


def _masters(app) -> int:
    folder = Path(app.config["RECORDINGS_DIR"]) / "masters"
    return sum(1 for path in folder.rglob("*") if path.is_file())


def _upload(app, people, interview, tmp_path):
    with storage.copy_to_incoming(tone_file(tmp_path / "tone.wav")) as temp:
        recordings.add_recording(people["researcher"], interview, temp, "tone.wav")


# name: (the forbidden call, what must be as it was afterwards)
CASES = {
    "accounts.create_user": (
        lambda p, i, s, **_: accounts.create_user(
            p["archivist"], "made.by.archivist@example.org", "admin", PASSWORD
        ),
        lambda p, **_: accounts.find_user("made.by.archivist@example.org") is None,
    ),
    "accounts.set_password": (
        lambda p, **_: accounts.set_password(p["custodian"], p["researcher"], "a new password!"),
        lambda p, hashes, **_: (
            db.session.get(User, p["researcher"].id).password_hash == hashes["researcher"]
        ),
    ),
    "accounts.change_role": (
        lambda p, **_: accounts.change_role(p["custodian"], p["researcher"], "admin"),
        lambda p, **_: db.session.get(User, p["researcher"].id).role == "researcher",
    ),
    "tokens.issue_token (for someone else, by an admin)": (
        lambda p, **_: tokens.issue_token(p["admin"], p["researcher"]),
        lambda **_: _count(ApiToken) == 0,
    ),
    "consent.record_agreement": (
        lambda p, i, **_: consent.record_agreement(
            p["researcher"], i, {"access_level": "open", "audio": "full"}
        ),
        lambda i, **_: db.session.get(Interview, i.id).access_level == "on_request",
    ),
    "consent.withdraw": (
        lambda p, i, **_: consent.withdraw(p["archivist"], i, "asked to"),
        lambda i, **_: db.session.get(Interview, i.id).withdrawn_at is None,
    ),
    "interviews.create_interview": (
        lambda p, **_: interviews.create_interview(p["researcher"], {"title": "Mine now"}),
        lambda **_: _count(Interview) == 1,
    ),
    "interviews.update_languages": (
        lambda p, i, **_: interviews.update_languages(p["researcher"], i, "kk"),
        lambda i, **_: db.session.get(Interview, i.id).languages is None,
    ),
    "recordings.add_recording": (
        lambda p, i, app, tmp_path, **_: _upload(app, p, i, tmp_path),
        lambda app, **_: _count(Recording) == 1 and _masters(app) == 1,
    ),
    "recordings.retry": (
        lambda p, i, **_: recordings.retry(p["researcher"], i.recordings[0]),
        lambda i, **_: db.session.get(Recording, i.recordings[0].id).status == "done",
    ),
    "speakers.update_speaker": (
        lambda p, s, **_: speakers.update_speaker(p["researcher"], s, {"pseudonym": "Aigerim"}),
        lambda s, **_: db.session.get(Speaker, s.id).pseudonym == "Svetlana",
    ),
    "transcript_edits.edit_segment": (
        lambda p, i, **_: edits.edit_segment(p["researcher"], _segment(i), {"text": "Changed."}),
        lambda i, **_: (
            _segment(i).text == "The square was full of people." and not _count(Revision)
        ),
    ),
    "editor.save (before it takes the segment)": (
        lambda p, i, **_: editor.save(p["researcher"], _segment(i), {"text": "x", "version": 1}),
        lambda i, **_: _segment(i).version == 1,
    ),
    "redaction_edits.add_redaction": (
        lambda p, i, **_: redaction_edits.add_redaction(p["researcher"], _segment(i), 0, 3, "name"),
        lambda **_: _count(Redaction) == 0,
    ),
    "revisions.set_workflow": (
        lambda p, i, **_: revisions.set_workflow(p["researcher"], i, "approved"),
        lambda i, **_: db.session.get(Interview, i.id).workflow_status != "approved",
    ),
    "contents.add_index_point": (
        lambda p, i, **_: contents.add_index_point(p["researcher"], i, {"at": 0, "title": "Q"}),
        lambda **_: _count(IndexPoint) == 0,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_forbidden_actor_calling_the_service_directly_is_refused_and_nothing_stored(
    name, app, people, interview, tmp_path
):
    speaker = interviews.add_speaker(interview, pseudonym="Svetlana", role="narrator")
    unit_of_work.commit()
    hashes = {role: user.password_hash for role, user in people.items()}
    events = _count(AuditEvent)
    call, unchanged = CASES[name]
    context = {"p": people, "i": interview, "s": speaker, "app": app, "tmp_path": tmp_path}

    with pytest.raises(NotFoundError):
        call(**context)
    unit_of_work.commit()  # a careless caller commits whatever happened
    db.session.expire_all()

    assert unchanged(hashes=hashes, **context)
    assert _count(AuditEvent) == events
