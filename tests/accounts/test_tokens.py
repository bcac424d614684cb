"""API tokens: issued once, stored hashed, refused once revoked or deactivated."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from archive import accounts, unit_of_work
from archive.accounts import tokens
from archive.extensions import db
from archive.models import ApiToken


def _token_header(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_cli_prints_a_token_that_works_on_the_api(client, runner, make_user):
    user = make_user("archivist", email="ana@example.org")
    result = runner.invoke(args=["users", "token", "ana@example.org"])
    assert result.exit_code == 0
    token = result.output.strip()
    response = client.get("/api/v1/me", headers=_token_header(token))
    assert response.status_code == 200
    assert response.json["email"] == user.email


def test_only_the_hash_of_a_token_is_stored(app, make_user, stored_bytes):
    user = make_user("archivist")
    _row, plaintext = tokens.issue_token(user, user, "laptop")
    unit_of_work.commit()
    stored = db.session.scalar(select(ApiToken))
    assert stored.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    raw = stored_bytes()
    assert stored.token_hash.encode() in raw  # the reader does see the table
    assert plaintext.encode() not in raw


def test_revoked_token_is_refused(client, make_user):
    user = make_user("archivist")
    row, plaintext = tokens.issue_token(user, user)
    tokens.revoke_token(user, user, row.id)
    unit_of_work.commit()
    response = client.get("/api/v1/me", headers=_token_header(plaintext))
    assert response.status_code == 401
    assert response.json == {"error": "Sign in, or send a valid API token."}


def test_deactivated_users_token_is_refused(client, make_user, admin):
    user = make_user("archivist")
    _row, plaintext = tokens.issue_token(user, user)
    unit_of_work.commit()
    assert client.get("/api/v1/me", headers=_token_header(plaintext)).status_code == 200
    accounts.set_active(admin, user, False)
    unit_of_work.commit()
    response = client.get("/api/v1/me", headers=_token_header(plaintext))
    assert response.status_code == 401
    assert response.json == {"error": "Sign in, or send a valid API token."}


def test_made_up_token_gets_the_same_answer(client):
    response = client.get("/api/v1/me", headers=_token_header("arc_not-a-real-token"))
    assert response.status_code == 401
    assert response.json == {"error": "Sign in, or send a valid API token."}


def test_token_page_shows_a_new_token_once_and_lists_it(client, make_user):
    user = make_user("researcher")
    client.login_as(user)
    page = client.post_form("/account/tokens", {"label": "notebook"}).get_data(as_text=True)
    assert "shown only once" in page
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.label == "notebook"
    again = client.get("/account/tokens").get_data(as_text=True)
    assert "notebook" in again
    assert "shown only once" not in again


def test_token_page_revokes_a_token(client, make_user):
    user = make_user("researcher")
    row, plaintext = tokens.issue_token(user, user, "old script")
    unit_of_work.commit()
    client.login_as(user)
    response = client.post_form(
        f"/account/tokens/{row.id}/revoke", {}, token_from="/account/tokens"
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=_token_header(plaintext)).status_code == 401


def test_nobody_revokes_another_persons_token(client, make_user):
    owner, other = make_user("researcher"), make_user("researcher")
    row, plaintext = tokens.issue_token(owner, owner)
    unit_of_work.commit()
    client.login_as(other)
    response = client.post_form(
        f"/account/tokens/{row.id}/revoke", {}, token_from="/account/tokens"
    )
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=_token_header(plaintext)).status_code == 200


def test_a_token_does_not_let_a_pages_form_skip_its_csrf_token(client, make_user):
    """Only the API takes a token alone: a page's form sent with a token but without
    its CSRF token is refused before the view runs, and changes nothing."""
    user = make_user("researcher")
    row, plaintext = tokens.issue_token(user, user, "old script")
    unit_of_work.commit()
    response = client.post(f"/account/tokens/{row.id}/revoke", headers=_token_header(plaintext))
    assert response.status_code == 400
    assert client.get("/api/v1/me", headers=_token_header(plaintext)).status_code == 200
