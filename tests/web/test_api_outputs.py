"""The JSON each API endpoint answers, key by key, for each kind of reader.

Pinned before the answers were built from output views (issue 17), so that moving
them into ``archive/*/outputs.py`` changed nothing a client reads; and the insider's
side: fields kept for custodians (an uploaded file name, a user's e-mail, another
researcher's purpose, an agreement's notes) reach no one else.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from archive import interviews
from archive.extensions import db
from archive.models import AccessRequest, Agreement, AuditEvent, Recording, Revision, User, utcnow
from archive.search import indexing
from tests.helpers import bearer

#: A real name typed where it should not be: an uploaded file name, a purpose.
NAME = "Aigerim Bekova"


def _z(moment) -> str:
    return moment.isoformat() + "Z"


def _account(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.display_name,
        "role": user.role,
        "active": user.active,
    }


def _status(recording: Recording, file_name) -> dict:
    return {
        "id": recording.id,
        "interview": recording.interview_id,
        "position": recording.position,
        "file_name": file_name,
        "status": recording.status,
        "progress": round(recording.progress or 0.0, 4),
        "duration": recording.duration,
        "channels": recording.channels,
        "sample_rate": recording.sample_rate,
        "language": recording.language,
        "language_probability": (
            None
            if recording.language_probability is None
            else round(recording.language_probability, 3)
        ),
        "error": recording.error,
        "eta_seconds": None,
        "sha256": recording.sha256,
        "size": recording.size_bytes,
    }


@pytest.fixture
def named(interview):
    """The fixture's interview with a narrator whose real name is on record, and
    whose name the interviewer put in the uploaded file's name."""
    interviews.add_speaker(interview, pseudonym="Svetlana", role="narrator", real_name=NAME)
    recording = interview.recordings[0]
    recording.original_filename = f"{NAME} part 1.wav"
    db.session.commit()
    return interview


# --- accounts ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "custodian", "archivist", "interviewer", "researcher"])
def test_me_is_the_callers_own_account(client, people, role):
    user = people[role]
    assert client.get("/api/v1/me", headers=bearer(user)).json == _account(user)


def test_users_list_and_new_user_as_the_admin_sees_them(client, people):
    headers = bearer(people["admin"])
    listed = client.get("/api/v1/users", headers=headers).json
    users = db.session.scalars(select(User).order_by(User.id)).all()
    assert sorted(listed["users"], key=lambda u: u["id"]) == [_account(u) for u in users]
    made = client.post(
        "/api/v1/users",
        json={"email": "new@example.org", "role": "archivist", "password": "a long password"},
        headers=headers,
    )
    assert made.status_code == 201
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert made.json == _account(user)


@pytest.mark.parametrize("role", ["custodian", "archivist", "interviewer", "researcher"])
def test_no_one_but_the_admin_reads_other_accounts_or_their_email(client, people, role):
    headers = bearer(people[role])
    assert client.get("/api/v1/users", headers=headers).status_code == 404
    others = {u.email for u in people.values()} - {people[role].email}
    assert not others & set(json.dumps(client.get("/api/v1/me", headers=headers).json))
    for email in others:
        assert email not in client.get("/api/v1/me", headers=headers).get_data(as_text=True)


# --- agreements ---------------------------------------------------------------


def test_agreements_as_the_custodian_sees_them(client, people, interview):
    headers = bearer(people["custodian"])
    made = client.post(
        f"/api/v1/interviews/{interview.id}/agreements",
        json={
            "access_level": "open",
            "audio": "full",
            "identity": "pseudonym",
            "embargo_until": "2051-01-01",
            "notes": "narrator called",
        },
        headers=headers,
    )
    rows = db.session.scalars(select(Agreement).order_by(Agreement.version.desc())).all()
    expected = [
        {
            "version": row.version,
            "access_level": row.access_level,
            "audio": row.audio_permission,
            "identity": row.identity,
            "named_speakers": row.named_speakers or [],
            "embargo_until": row.embargo_until.isoformat() if row.embargo_until else None,
            "notes": row.notes,
            "withdrawn": row.withdrawn,
            "document": bool(row.document_key),
            "recorded_at": _z(row.created_at),
            "recorded_by": row.recorded_by_id,
        }
        for row in rows
    ]
    assert made.status_code == 201
    assert made.json == expected[0]
    assert expected[0]["notes"] == "narrator called"
    assert expected[0]["embargo_until"] == "2051-01-01"
    listed = client.get(f"/api/v1/interviews/{interview.id}/agreements", headers=headers)
    assert listed.json == {"agreements": expected}


@pytest.mark.parametrize("role", ["admin", "archivist", "interviewer", "researcher"])
def test_an_agreements_notes_reach_no_one_but_custodians(client, people, interview, role):
    client.post(
        f"/api/v1/interviews/{interview.id}/agreements",
        json={"access_level": "open", "audio": "full", "notes": f"{NAME} called"},
        headers=bearer(people["custodian"]),
    )
    headers = bearer(people[role])
    history = client.get(f"/api/v1/interviews/{interview.id}/agreements", headers=headers)
    assert history.status_code == 404
    detail = client.get(f"/api/v1/interviews/{interview.id}", headers=headers)
    assert "called" not in detail.get_data(as_text=True)


# --- access requests ------------------------------------------------------------


def _ask(client, researcher, interview, purpose: str) -> int:
    asked = client.post(
        "/api/v1/access-requests",
        json={"interview_id": interview.id, "purpose": purpose, "accept_terms": True},
        headers=bearer(researcher),
    )
    assert asked.status_code == 201
    assert set(asked.json) == {"id", "status"}
    return asked.json["id"]


def _request(row: AccessRequest, purpose: str, message: str = "") -> dict:
    return {
        "id": row.id,
        "interview_id": row.interview_id,
        "collection_id": row.collection_id,
        "status": row.status,
        "purpose": purpose,
        "message": message,
        "created_at": _z(row.created_at),
    }


def test_access_requests_as_the_custodian_and_the_researcher_see_them(
    client, people, named, make_user
):
    other = make_user("researcher")
    mine = _ask(client, people["researcher"], named, f"On the account of {NAME}.")
    theirs = _ask(client, other, named, "A thesis on the square.")
    queue = client.get("/api/v1/access-requests", headers=bearer(people["custodian"])).json
    rows = {row.id: row for row in db.session.scalars(select(AccessRequest))}
    assert queue == {
        "access_requests": [
            _request(rows[mine], f"On the account of {NAME}."),
            _request(rows[theirs], "A thesis on the square."),
        ]
    }
    own = client.get("/api/v1/access-requests", headers=bearer(people["researcher"])).json
    assert own == {"access_requests": [_request(rows[mine], "On the account of Svetlana.")]}


@pytest.mark.parametrize("role", ["admin", "archivist", "interviewer", "researcher"])
def test_another_researchers_purpose_reaches_no_one_but_custodians(
    client, people, interview, make_user, role
):
    _ask(client, make_user("researcher"), interview, "Private: my informant's village.")
    answer = client.get("/api/v1/access-requests", headers=bearer(people[role]))
    assert "informant" not in answer.get_data(as_text=True)
    if role == "researcher":
        assert answer.json == {"access_requests": []}
    else:
        assert answer.status_code == 404


# --- recordings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "file_name"),
    [
        ("custodian", f"{NAME} part 1.wav"),
        ("interviewer", "Svetlana part 1.wav"),
        ("admin", None),
        ("archivist", None),
    ],
)
def test_recording_status_by_reader(client, people, named, role, file_name):
    recording = named.recordings[0]
    headers = bearer(people[role])
    status = client.get(f"/api/v1/recordings/{recording.id}", headers=headers).json
    assert status == _status(recording, file_name)
    detail = client.get(f"/api/v1/interviews/{named.id}", headers=headers).json
    assert detail["recordings"] == [_status(recording, file_name)]


@pytest.mark.parametrize("role", ["admin", "archivist", "researcher", None])
def test_an_uploaded_file_name_reaches_no_one_but_those_who_name_speakers(
    client, people, named, role
):
    named.access_level = "open"
    db.session.commit()
    recording = named.recordings[0]
    headers = bearer(people[role]) if role else {}
    for url in (f"/api/v1/recordings/{recording.id}", f"/api/v1/interviews/{named.id}"):
        answer = client.get(url, headers=headers)
        assert "part 1" not in answer.get_data(as_text=True)
    if role == "researcher" or role is None:
        detail = client.get(f"/api/v1/interviews/{named.id}", headers=headers).json
        assert detail["recordings"] == [
            {
                "id": recording.id,
                "position": recording.position,
                "duration": recording.duration,
                "status": recording.status,
            }
        ]


def test_retried_recording_answers_its_status_without_a_file_name(client, people, named):
    recording = named.recordings[0]
    recording.status, recording.error = "failed", "decoder died"
    db.session.commit()
    answer = client.post(
        f"/api/v1/recordings/{recording.id}/retry", headers=bearer(people["custodian"])
    )
    assert answer.status_code == 202
    db.session.refresh(recording)
    assert answer.json == _status(recording, None)
    assert answer.json["status"] == "queued"


# --- search and the audit log ---------------------------------------------------------


def test_search_hits_as_every_reader_sees_them(client, people, named):
    named.access_level = "open"
    segment = named.recordings[0].segments[0]
    segment.speaker_id = named.speakers[0].id
    db.session.commit()
    indexing.reindex(db.session, named)
    db.session.commit()
    found = client.get("/api/v1/search?q=square", headers=bearer(people["researcher"])).json
    assert found == {
        "hits": [
            {
                "interview_id": named.id,
                "segment_id": segment.id,
                "recording_id": segment.recording_id,
                "start": segment.start,
                "speaker": "Svetlana",
                "speaker_role": "narrator",
                "text": "The square was full of people.",
                "snippet": "The <mark>square</mark> was full of people.",
                "track": "original",
            }
        ],
        "total": 1,
        "page": 1,
        "facets": found["facets"],
    }
    assert set(found["facets"]) == {"collection", "language", "speaker_role"}


def test_audit_log_as_custody_sees_it(client, people, named):
    reason = f"{NAME} asked us to check"
    named.access_level = "open"
    db.session.commit()
    revealed = client.post(
        f"/api/v1/interviews/{named.id}/speakers/{named.speakers[0].id}/reveal",
        json={"reason": reason},
        headers=bearer(people["custodian"]),
    )
    assert revealed.status_code == 200
    for role, shown in (("custodian", NAME), ("admin", "[name withheld]")):
        log = client.get("/api/v1/audit", headers=bearer(people[role])).json
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).all()
        assert log["page"] == 1 and log["pages"] == 1
        assert [e["seq"] for e in log["events"]] == [e.seq for e in events]
        newest = next(e for e in events if e.action == "identity_revealed")
        entry = next(e for e in log["events"] if e["seq"] == newest.seq)
        details = json.loads(newest.details)
        assert entry == {
            "seq": newest.seq,
            "at": _z(newest.created_at),
            "actor_id": people["custodian"].id,
            "actor": people["custodian"].email,
            "action": "identity_revealed",
            "interview_id": named.id,
            "object_type": newest.object_type,
            "object_id": newest.object_id,
            "details": {**details, "reason": reason.replace(NAME, shown)},
        }


@pytest.mark.parametrize("role", ["archivist", "interviewer", "researcher"])
def test_the_audit_log_reaches_no_one_outside_custody(client, people, role):
    assert client.get("/api/v1/audit", headers=bearer(people[role])).status_code == 404


# --- interviews -------------------------------------------------------------------


def _summary(interview, title: str, summary: str, place: str) -> dict:
    return {
        "id": interview.id,
        "title": title,
        "summary": summary,
        "recorded_on": "2022-01-06",
        "place": place,
        "language": interview.language,
        "languages": interview.language_codes,
        "collection": interview.collection_id,
        "access_level": "open",
        "access": "open",
        "duration": sum(r.duration or 0 for r in interview.recordings),
        "embargo_until": None,
    }


@pytest.mark.parametrize(
    ("role", "shown", "restricted"),
    [
        (None, "Svetlana", False),
        ("researcher", "Svetlana", False),
        ("archivist", "Svetlana", True),
        ("interviewer", "Svetlana", True),
        ("custodian", NAME, True),
    ],
)
def test_interview_as_each_reader_sees_it(client, people, named, role, shown, restricted):
    named.access_level, named.language = "open", "ru"
    named.summary, named.place = f"{NAME} on the square.", f"the flat of {NAME}"
    named.vocabulary, named.expected_speakers = f"{NAME}, Almaty", 2
    named.recorded_on = date(2022, 1, 6)
    db.session.commit()
    headers = bearer(people[role]) if role else {}
    listed = client.get("/api/v1/interviews", headers=headers).json
    summary = _summary(named, "Almaty witness", f"{shown} on the square.", f"the flat of {shown}")
    assert listed == {"interviews": [summary], "page": 1, "pages": 1, "total": 1}
    detail = client.get(f"/api/v1/interviews/{named.id}", headers=headers).json
    speaker = named.speakers[0]
    recording = named.recordings[0]
    expected = {
        **summary,
        "workflow_status": named.workflow_status,
        "speakers": [{"id": speaker.id, "label": "S1", "name": "Svetlana", "role": "narrator"}],
    }
    if restricted:
        file_name = {"custodian": f"{NAME} part 1.wav", "interviewer": "Svetlana part 1.wav"}
        expected["recordings"] = [_status(recording, file_name.get(role))]
        expected["vocabulary"] = f"{shown}, Almaty"
        expected["expected_speakers"] = 2
    else:
        expected["recordings"] = [
            {
                "id": recording.id,
                "position": 1,
                "duration": recording.duration,
                "status": recording.status,
            }
        ]
    assert detail == expected


# --- revisions ----------------------------------------------------------------------


def test_revisions_as_the_custodian_and_the_archivist_see_them(client, people, named):
    segment = named.recordings[0].segments[0]
    for text in (f"{NAME} stood on the square.", f"{NAME} stood there at noon."):
        edited = client.patch(
            f"/api/v1/segments/{segment.id}",
            json={"text": text},
            headers=bearer(people["custodian"]),
        )
        assert edited.status_code == 200
    rows = db.session.scalars(
        select(Revision).where(Revision.segment_id == segment.id).order_by(Revision.version)
    ).all()
    assert [row.version for row in rows] == [2, 3]

    def expected(texts: list[str]) -> dict:
        authors = {people["custodian"].id: people["custodian"].name}
        return {
            "revisions": [
                {
                    "version": row.version,
                    "kind": row.kind,
                    "text": text,
                    "speaker_id": row.speaker_id,
                    "start": row.start,
                    "end": row.end,
                    "author_id": row.author_id,
                    "author": authors.get(row.author_id, "the transcription"),
                    "at": _z(row.created_at),
                }
                for row, text in reversed(list(zip(rows, texts, strict=True)))
            ]
        }

    url = f"/api/v1/segments/{segment.id}/revisions"
    as_custodian = client.get(url, headers=bearer(people["custodian"])).json
    assert as_custodian == expected(
        [f"{NAME} stood on the square.", f"{NAME} stood there at noon."]
    )
    as_archivist = client.get(url, headers=bearer(people["archivist"])).json
    assert as_archivist == expected(
        ["Svetlana stood on the square.", "Svetlana stood there at noon."]
    )


def test_a_running_job_says_how_long_it_has_left_in_the_api_and_on_the_page(client, people, named):
    recording = named.recordings[0]
    recording.status, recording.progress = "processing", 0.5
    recording.started_at = utcnow() - timedelta(seconds=20)
    db.session.commit()
    client.login_as(people["archivist"])
    status = client.get(f"/api/v1/recordings/{recording.id}").json
    assert 20 <= status["eta_seconds"] < 120  # half done in 20 s: as long again
    page = client.get(f"/interviews/{named.id}").get_data(as_text=True)
    assert "left</span>" in page
