"""Agreements, access requests and grants, withdrawal and the audit of reads."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import Agreement, AuditEvent, Grant, Interview, Recording
from archive.recordings import listening_copies, storage
from tests.helpers import bearer


@pytest.fixture
def people(people, make_user):
    """One account of each role, and another researcher, who asks for nothing."""
    return {**people, "other": make_user("researcher")}


def _routes(interview_id: int) -> list[str]:
    return [
        f"/api/v1/interviews/{interview_id}/transcript",
        f"/api/v1/interviews/{interview_id}/audio",
        f"/interviews/{interview_id}",
    ]


def test_interviewer_records_only_the_first_agreement(client, people, interview):
    response = client.post(
        f"/api/v1/interviews/{interview.id}/agreements",
        json={"access_level": "open", "audio": "full", "identity": "pseudonym"},
        headers=bearer(people["interviewer"]),
    )
    assert response.status_code == 404
    db.session.refresh(interview)
    assert interview.access_level == "on_request"


def test_custodian_records_a_new_version_and_the_history_is_kept(client, people, interview):
    headers = bearer(people["custodian"])
    response = client.post(
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
    assert response.status_code == 201
    assert response.json["version"] == 2
    history = client.get(f"/api/v1/interviews/{interview.id}/agreements", headers=headers).json
    assert [a["version"] for a in history["agreements"]] == [2, 1]
    db.session.refresh(interview)
    assert (interview.access_level, interview.embargo_until) == ("open", date(2051, 1, 1))
    listed = client.get("/api/v1/interviews").json["interviews"]
    assert [i["embargo_until"] for i in listed] == ["2051-01-01"]
    assert client.get(f"/api/v1/interviews/{interview.id}/transcript").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"access_level": "secret"}, "access_level must be one of"),
        ({"access_level": "open", "audio": "loud"}, "audio must be one of"),
        ({"access_level": "open", "identity": "famous"}, "identity must be one of"),
        ({"access_level": "open", "embargo_until": "soon"}, "embargo_until must be a date"),
    ],
)
def test_bad_agreement_is_refused_and_nothing_changes(client, people, interview, body, message):
    response = client.post(
        f"/api/v1/interviews/{interview.id}/agreements",
        json=body,
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 422
    assert message in response.json["error"]
    assert len(db.session.scalars(select(Agreement)).all()) == 1


def test_signed_document_is_kept_for_custodians_only(client, people, interview):
    client.login_as(people["custodian"])
    pdf = b"%PDF-1.4\n%signed by the narrator\n%%EOF\n"
    response = client.post_upload_form(
        f"/interviews/{interview.id}/agreement",
        {
            "access_level": "on_request",
            "audio": "redacted",
            "identity": "pseudonym",
            "document": (io.BytesIO(pdf), "agreement.pdf", "application/pdf"),
        },
        token_from=f"/interviews/{interview.id}/agreement",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    row = db.session.scalars(select(Agreement).order_by(Agreement.version.desc())).first()
    assert row.document_sha256
    url = f"/interviews/{interview.id}/agreements/{row.version}/document"
    assert client.get(url).data == pdf
    client.login_as(people["archivist"])
    assert client.get(url).status_code == 404


def test_access_request_approved_then_read_then_revoked(client, people, interview):
    reader = bearer(people["researcher"])
    for route in _routes(interview.id)[:2]:
        assert client.get(route, headers=reader).status_code == 404
    asked = client.post(
        "/api/v1/access-requests",
        json={
            "interview_id": interview.id,
            "purpose": "A dissertation on January 2022 in Almaty.",
            "accept_terms": True,
        },
        headers=reader,
    )
    assert asked.status_code == 201
    queue = client.get("/api/v1/access-requests", headers=bearer(people["custodian"])).json
    assert [r["id"] for r in queue["access_requests"]] == [asked.json["id"]]
    decided = client.post(
        f"/api/v1/access-requests/{asked.json['id']}/decision",
        json={"approve": True},
        headers=bearer(people["custodian"]),
    )
    assert decided.json["expires_on"] == (date.today() + timedelta(days=365)).isoformat()
    for route in _routes(interview.id):
        assert client.get(route, headers=reader).status_code == 200, route
    _refused_everywhere(client, people["other"], interview)
    client.delete(f"/api/v1/grants/{decided.json['grant_id']}", headers=bearer(people["custodian"]))
    assert client.get(_routes(interview.id)[0], headers=reader).status_code == 404


def test_expired_grant_stops_working_by_itself(client, people, interview):
    db.session.add(
        Grant(
            researcher_id=people["researcher"].id,
            interview_id=interview.id,
            expires_on=date.today(),
        )
    )
    db.session.commit()
    reader = bearer(people["researcher"])
    assert client.get(_routes(interview.id)[0], headers=reader).status_code == 200
    grant = db.session.scalars(select(Grant)).one()
    grant.expires_on = date.today() - timedelta(days=1)
    db.session.commit()
    assert client.get(_routes(interview.id)[0], headers=reader).status_code == 404


def test_collection_grant_opens_every_interview_in_it(client, people, interview):
    from archive.models import Collection

    collection = Collection(title="Almaty 2022")
    db.session.add(collection)
    db.session.flush()
    interview.collection_id = collection.id
    db.session.add(
        Grant(
            researcher_id=people["researcher"].id,
            collection_id=collection.id,
            expires_on=date.today() + timedelta(days=3),
        )
    )
    db.session.commit()
    assert (
        client.get(_routes(interview.id)[0], headers=bearer(people["researcher"])).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"purpose": "short", "accept_terms": True}, "at least 20 characters"),
        ({"purpose": "A long enough purpose for sure.", "accept_terms": False}, "accept the terms"),
    ],
)
def test_bad_access_request_is_refused(client, people, interview, body, message):
    response = client.post(
        "/api/v1/access-requests",
        json={"interview_id": interview.id, **body},
        headers=bearer(people["researcher"]),
    )
    assert response.status_code == 422
    assert message in response.json["error"]


def test_refused_request_leaves_the_researcher_without_access(client, people, interview):
    reader = bearer(people["researcher"])
    asked = client.post(
        "/api/v1/access-requests",
        json={
            "interview_id": interview.id,
            "purpose": "A long enough purpose for sure.",
            "accept_terms": True,
        },
        headers=reader,
    ).json
    client.post(
        f"/api/v1/access-requests/{asked['id']}/decision",
        json={"approve": False, "message": "Not for this purpose."},
        headers=bearer(people["custodian"]),
    )
    mine = client.get("/api/v1/access-requests", headers=reader).json["access_requests"]
    assert mine[0]["status"] == "refused" and mine[0]["message"] == "Not for this purpose."
    assert client.get(_routes(interview.id)[0], headers=reader).status_code == 404


def test_withdrawal_seals_removes_copies_and_ends_grants_at_once(app, client, people, interview):
    db.session.add(
        Grant(
            researcher_id=people["researcher"].id,
            interview_id=interview.id,
            expires_on=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    reader = bearer(people["researcher"])
    assert client.get("/api/v1/search?q=square", headers=reader).json["hits"]
    recording = db.session.scalars(select(Recording)).one()
    copies = [listening_copies.path_for(recording, v) for v in ("full", "redacted")]
    assert all(p and p.exists() for p in copies)
    response = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "the narrator asked"},
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200
    assert not any(p.exists() for p in copies)
    assert client.get("/api/v1/search?q=square", headers=reader).json["hits"] == []
    custodian = bearer(people["custodian"])
    assert client.get("/api/v1/search?q=square", headers=custodian).json["hits"] == []
    for who in ("researcher", "archivist", "interviewer"):
        for route in _routes(interview.id):
            assert client.get(route, headers=bearer(people[who])).status_code == 404, (who, route)
    assert (
        client.get(
            f"/api/v1/interviews/{interview.id}", headers=bearer(people["custodian"])
        ).status_code
        == 200
    )
    client.login_as(people["researcher"])
    assert "was withdrawn" in client.get("/access/mine").get_data(as_text=True)
    master = storage.recordings_path(recording.master_key)
    assert master.exists()
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "interview_withdrawn" in actions


def test_purging_masters_needs_the_exact_title(client, people, interview):
    headers = bearer(people["custodian"])
    client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "the narrator asked"},
        headers=headers,
    )
    recording = db.session.scalars(select(Recording)).one()
    master = storage.recordings_path(recording.master_key)
    wrong = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "again", "purge_master": True, "confirm_title": "almaty"},
        headers=headers,
    )
    assert wrong.status_code == 422
    assert master.exists()
    client.login_as(people["custodian"])
    client.post_form(
        f"/interviews/{interview.id}/purge",
        {"confirm_title": "Almaty witness"},
        token_from=f"/interviews/{interview.id}/agreement",
    )
    assert not master.exists()
    assert "masters_purged" in db.session.scalars(select(AuditEvent.action)).all()


def _state() -> tuple:
    """Everything a withdrawal writes: agreements, audit events, grants, recordings."""
    db.session.expire_all()
    return (
        [(a.version, a.withdrawn) for a in db.session.scalars(select(Agreement))],
        db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all(),
        [(g.id, g.ended_at) for g in db.session.scalars(select(Grant))],
        [
            (r.master_purged_at, r.access_copy_key, r.full_copy_key)
            for r in db.session.scalars(select(Recording))
        ],
    )


def test_withdrawal_with_a_wrong_title_for_the_purge_changes_nothing(client, people, interview):
    recording = db.session.scalars(select(Recording)).one()
    master = storage.recordings_path(recording.master_key)
    copies = [listening_copies.path_for(recording, v) for v in ("full", "redacted")]
    before = _state()
    wrong = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "the narrator asked", "purge_master": True, "confirm_title": "almaty"},
        headers=bearer(people["custodian"]),
    )
    assert wrong.status_code == 422
    assert "title" in wrong.json["error"]
    after = _state()
    # The token issued for the request is the only new audit event.
    assert after[1] == [*before[1], "token_created"]
    assert (after[0], after[2], after[3]) == (before[0], before[2], before[3])
    db.session.expire_all()
    assert db.session.get(Interview, interview.id).withdrawn_at is None
    assert master.exists() and all(p.exists() for p in copies)
    reader = bearer(people["archivist"])
    assert (
        client.get(f"/api/v1/interviews/{interview.id}/transcript", headers=reader).status_code
        == 200
    )


def test_withdrawal_and_purge_with_the_right_title_happen_together(client, people, interview):
    recording = db.session.scalars(select(Recording)).one()
    master = storage.recordings_path(recording.master_key)
    response = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={
            "reason": "the narrator asked",
            "purge_master": True,
            "confirm_title": "Almaty witness",
        },
        headers=bearer(people["custodian"]),
    )
    assert response.status_code == 200
    assert response.json["masters_purged"] == 1
    assert not master.exists()
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("interview_withdrawn") == 1 and actions.count("masters_purged") == 1


def test_a_second_withdrawal_is_409_and_writes_nothing(client, people, interview):
    headers = bearer(people["custodian"])
    first = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "the narrator asked"},
        headers=headers,
    )
    assert first.status_code == 200
    before = _state()
    again = client.post(
        f"/api/v1/interviews/{interview.id}/withdraw",
        json={"reason": "the narrator asked again"},
        headers=headers,
    )
    assert again.status_code == 409
    assert _state() == before
    versions = [a.version for a in db.session.scalars(select(Agreement))]
    assert versions == [1, 2]


def test_reads_of_closed_content_are_audited(client, people, interview):
    client.get(_routes(interview.id)[0], headers=bearer(people["archivist"]))
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "read_transcript")
    ).one()
    assert (event.actor_id, event.interview_id) == (people["archivist"].id, interview.id)


def test_audit_page_filters_and_exports_csv(client, people, interview):
    client.login_as(people["custodian"])
    page = client.get("/audit/?action=agreement_recorded").get_data(as_text=True)
    assert "<td>agreement_recorded</td>" in page and "<td>user_created</td>" not in page
    response = client.get(f"/audit/events.csv?interview={interview.id}")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and {r["interview_id"] for r in rows} == {str(interview.id)}
    client.login_as(people["researcher"])
    assert client.get("/audit/events.csv").status_code == 404


def test_two_researchers_one_with_a_grant(client, people, interview):
    db.session.add(
        Grant(
            researcher_id=people["researcher"].id,
            interview_id=interview.id,
            expires_on=date.today() + timedelta(days=30),
        )
    )
    db.session.commit()
    for route in _routes(interview.id):
        assert client.get(route, headers=bearer(people["researcher"])).status_code == 200, route
    page = client.get(f"/interviews/{interview.id}", headers=bearer(people["researcher"]))
    assert "The square was full of people." in page.get_data(as_text=True)
    _refused_everywhere(client, people["other"], interview)


def _refused_everywhere(client, researcher, interview) -> None:
    """Content routes answer 404; the catalogue page shows no content and offers a request."""
    headers = bearer(researcher)
    for route in _routes(interview.id)[:2]:
        assert client.get(route, headers=headers).status_code == 404, route
    page = client.get(f"/interviews/{interview.id}", headers=headers).get_data(as_text=True)
    assert "The square was full of people." not in page
    assert "Ask for access" in page
