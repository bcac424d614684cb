"""Creating interviews through the API and the pages; who sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from archive.extensions import db
from archive.interviews import identity
from archive.models import Interview, Speaker
from tests.helpers import bearer


@pytest.fixture
def interviewer(make_user):
    return make_user("interviewer")


def test_interviewer_creates_an_interview_and_is_its_interviewer_of_record(client, interviewer):
    response = client.post(
        "/api/v1/interviews",
        json={
            "title": "Almaty, January 2022",
            "summary": "A witness of the January events.",
            "language": "ru",
            "vocabulary": "Almaty, Akimat",
            "speakers": [{"pseudonym": "Svetlana", "role": "narrator"}],
        },
        headers=bearer(interviewer),
    )
    assert response.status_code == 201
    interview = db.session.get(Interview, response.json["id"])
    assert interview.interviewer_id == interviewer.id
    assert interview.language == "ru"
    assert [(s.label, s.pseudonym, s.role) for s in interview.speakers] == [
        ("S1", "Svetlana", "narrator")
    ]


def test_real_name_given_at_creation_is_stored_encrypted(app, client, interviewer):
    response = client.post(
        "/api/v1/interviews",
        json={
            "title": "Witness",
            "speakers": [
                {"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara Bekova"}
            ],
        },
        headers=bearer(interviewer),
    )
    speaker = db.session.scalar(select(Speaker).where(Speaker.interview_id == response.json["id"]))
    stored = db.session.execute(text("SELECT real_name FROM speakers")).scalar()
    assert b"Gulnara" not in stored
    assert identity.real_name(speaker) == "Gulnara Bekova"
    detail = client.get(
        f"/api/v1/interviews/{response.json['id']}", headers=bearer(interviewer)
    ).get_data(as_text=True)
    assert "Gulnara" not in detail
    assert "Svetlana" in detail


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "title is required."),
        ({"title": "  "}, "title is required."),
        ({"title": "x", "language": "klingon"}, "Unknown language code"),
        ({"title": "x", "expected_speakers": 0}, "expected_speakers must be between 1 and 20."),
        ({"title": "x", "speakers": [{"role": "hero"}]}, "role must be one of"),
        ({"title": "x", "speakers": "Svetlana"}, "speakers must be a list"),
        ({"title": "x", "recorded_on": "January"}, "The date must look like 2022-01-05."),
        ({"title": "x", "collection": 99}, "There is no such collection."),
        ({"title": ["x"]}, "title must be text."),
    ],
)
def test_bad_interview_fields_get_422_and_store_nothing(client, interviewer, body, message):
    response = client.post("/api/v1/interviews", json=body, headers=bearer(interviewer))
    assert response.status_code == 422
    assert message in response.json["error"]
    assert db.session.scalars(select(Interview)).all() == []
    assert db.session.scalars(select(Speaker)).all() == []


def test_researcher_cannot_create_an_interview(client, make_user):
    researcher = make_user("researcher")
    response = client.post("/api/v1/interviews", json={"title": "x"}, headers=bearer(researcher))
    assert response.status_code == 404
    assert db.session.scalars(select(Interview)).all() == []


def test_new_interview_is_sealed_until_an_agreement_opens_it(client, interviewer, make_user):
    interview_id = client.post(
        "/api/v1/interviews", json={"title": "Sealed by default"}, headers=bearer(interviewer)
    ).json["id"]
    for who in (make_user("researcher"), make_user("interviewer")):
        assert (
            client.get(f"/api/v1/interviews/{interview_id}", headers=bearer(who)).status_code == 404
        )
    anonymous = client.get(f"/api/v1/interviews/{interview_id}")
    assert anonymous.status_code == 404
    assert client.get("/api/v1/interviews").json["interviews"] == []
    archivist = make_user("archivist")
    assert (
        client.get(f"/api/v1/interviews/{interview_id}", headers=bearer(archivist)).status_code
        == 200
    )


def test_interview_form_creates_the_interview_with_its_narrator(client, interviewer):
    client.login_as(interviewer)
    response = client.post_form(
        "/interviews/new",
        {
            "title": "Almaty witness",
            "summary": "",
            "place": "Almaty",
            "language": "ru",
            "expected_speakers": "2",
            "vocabulary": "",
            "narrator_pseudonym": "Svetlana",
        },
    )
    assert response.status_code == 302
    interview = db.session.scalar(select(Interview))
    assert response.headers["Location"] == f"/interviews/{interview.id}"
    assert interview.speakers[0].pseudonym == "Svetlana"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Add recordings" in page
    assert "Svetlana" in page


def test_speakers_page_refuses_a_change_says_why_and_shows_what_is_stored(client, interviewer):
    """A refused form is shown again with the service's message and its status, and
    nothing of the refused change: not even on the page that refused it."""
    from archive import interviews, unit_of_work

    interview = interviews.create_interview(
        interviewer,
        {
            "title": "Almaty witness",
            "speakers": [
                {"pseudonym": "Svetlana", "role": "narrator", "real_name": "Gulnara Bekova"}
            ],
        },
    )
    unit_of_work.commit()
    speaker = interview.speakers[0]
    client.login_as(interviewer)
    response = client.post_form(
        f"/interviews/{interview.id}/speakers/{speaker.id}",
        {"pseudonym": "Gulnara", "role": "narrator"},
        token_from=f"/interviews/{interview.id}/speakers",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The pseudonym must not be the speaker" in page
    assert 'name="pseudonym" value="Svetlana"' in page
    assert "Gulnara" not in page
    db.session.expire_all()
    assert db.session.get(Speaker, speaker.id).pseudonym == "Svetlana"


def test_interview_list_page_shows_only_what_the_user_may_see(client, interviewer, make_user):
    from archive import interviews, unit_of_work

    mine = interviews.create_interview(interviewer, {"title": "Mine"})
    unit_of_work.commit()
    other = make_user("interviewer")
    interviews.create_interview(other, {"title": "Theirs"})
    unit_of_work.commit()
    page = client.login_as(interviewer).get("/interviews/").get_data(as_text=True)
    assert "Mine" in page and "Theirs" not in page
    assert client.get(f"/interviews/{mine.id}").status_code == 200
    client.login_as(make_user("researcher"))
    assert client.get(f"/interviews/{mine.id}").status_code == 404
    assert "No interviews to show yet." in client.get("/interviews/").get_data(as_text=True)
