"""General behaviour of the JSON API: errors as JSON, bad bodies, CSRF for sessions."""

from __future__ import annotations

from sqlalchemy import select

from archive import unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import User


def _admin_token(make_user) -> dict:
    admin = make_user("admin")
    _row, plaintext = tokens.issue_token(admin, admin)
    unit_of_work.commit()
    return {"Authorization": f"Bearer {plaintext}"}


def test_malformed_json_gets_400_with_a_message(client, make_user):
    headers = _admin_token(make_user)
    response = client.post(
        "/api/v1/users", data="{not json", headers=headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json == {"error": "The request body is not a valid JSON object."}


def test_json_that_is_not_an_object_gets_400(client, make_user):
    response = client.post("/api/v1/users", json=[1, 2], headers=_admin_token(make_user))
    assert response.status_code == 400
    assert "JSON object" in response.json["error"]


def test_invalid_values_get_422_and_store_nothing(client, make_user):
    headers = _admin_token(make_user)
    before = db.session.query(User).count()
    response = client.post(
        "/api/v1/users",
        json={"email": "new@example.org", "role": "overlord", "password": "long enough pw"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "Unknown role" in response.json["error"]
    assert db.session.query(User).count() == before


def test_admin_creates_a_user_through_the_api(client, make_user):
    response = client.post(
        "/api/v1/users",
        json={"email": "new@example.org", "role": "custodian", "password": "long enough pw"},
        headers=_admin_token(make_user),
    )
    assert response.status_code == 201
    assert (
        db.session.scalar(select(User.role).where(User.email == "new@example.org")) == "custodian"
    )


def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json == {"error": "Not found."}


def test_api_without_credentials_answers_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json == {"error": "Sign in, or send a valid API token."}


def test_refused_api_route_looks_like_a_missing_one(client, make_user):
    researcher = make_user("researcher")
    _row, plaintext = tokens.issue_token(researcher, researcher)
    unit_of_work.commit()
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 404
    assert response.json == client.get("/api/v1/nothing-here").json


def test_browser_session_needs_csrf_token_to_change_things(client, make_user):
    admin = make_user("admin")
    client.login_as(admin)
    body = {"email": "new@example.org", "role": "custodian", "password": "long enough pw"}
    response = client.post("/api/v1/users", json=body)
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "new@example.org")) is None
    token = client.csrf_token("/")
    response = client.post("/api/v1/users", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_page_errors_are_friendly_pages(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert "Back to the start page" in response.get_data(as_text=True)
