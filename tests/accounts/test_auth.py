"""Signing in and out, registration, rate limits, CSRF, cookies and headers."""

from __future__ import annotations

import re

from sqlalchemy import select

from archive import unit_of_work
from archive.extensions import db
from archive.models import AuditEvent, User
from tests.helpers import PASSWORD


def _signed_in_as(client) -> str | None:
    body = client.get("/").get_data(as_text=True)
    if "Sign out" not in body:
        return None
    return body


def _actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_sign_in_with_right_password_opens_a_session(client, make_user):
    user = make_user("archivist", email="ana@example.org")
    response = client.post_form("/login", {"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _signed_in_as(client) and user.email in _signed_in_as(client)
    assert _actions()[-1] == "sign_in"


def test_sign_in_accepts_email_in_other_case(client, make_user):
    make_user("archivist", email="ana@example.org")
    response = client.post_form("/login", {"email": " Ana@Example.org ", "password": PASSWORD})
    assert response.status_code == 302


def test_wrong_password_leaves_no_session_and_says_so(client, make_user):
    make_user("archivist", email="ana@example.org")
    response = client.post_form("/login", {"email": "ana@example.org", "password": "wrong one!!"})
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert _signed_in_as(client) is None
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert _actions()[-1] == "sign_in_failed"


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client):
    response = client.post_form("/login", {"email": "nobody@example.org", "password": "whatever12"})
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(client, make_user, admin):
    from archive import accounts

    user = make_user("interviewer", email="ivan@example.org")
    accounts.set_active(admin, user, False)
    unit_of_work.commit()
    response = client.post_form("/login", {"email": "ivan@example.org", "password": PASSWORD})
    assert response.status_code == 401
    assert "Wrong email or password." in response.get_data(as_text=True)
    assert _signed_in_as(client) is None


def test_sign_in_is_rate_limited_with_a_clear_message(app, client, make_user):
    make_user("archivist", email="ana@example.org")
    token = client.csrf_token()
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    for _ in range(limit):
        form = {"csrf_token": token, "email": "ana@example.org", "password": "nope nope!"}
        response = client.post("/login", data=form)
        assert response.status_code == 401
    response = client.post(
        "/login", data={"csrf_token": token, "email": "ana@example.org", "password": PASSWORD}
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert _signed_in_as(client) is None


def test_sign_in_without_csrf_token_is_refused(client, make_user):
    make_user("archivist", email="ana@example.org")
    response = client.post("/login", data={"email": "ana@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert _signed_in_as(client) is None


def test_sign_out_needs_a_post_with_csrf_token(client, make_user):
    user = make_user("archivist")
    client.login_as(user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert _signed_in_as(client)
    response = client.post_form("/logout", {}, token_from="/")
    assert response.status_code == 302
    assert _signed_in_as(client) is None
    assert _actions()[-1] == "sign_out"


def test_sign_in_follows_next_only_within_the_site(client, make_user):
    make_user("archivist", email="ana@example.org")
    form = {"email": "ana@example.org", "password": PASSWORD}
    response = client.post_form("/login?next=//evil.example/steal", form, token_from="/login")
    assert response.headers["Location"] == "/"
    client.post_form("/logout", {}, token_from="/")
    response = client.post_form("/login?next=/account/tokens", form, token_from="/login")
    assert response.headers["Location"] == "/account/tokens"


def test_protected_page_sends_visitor_to_sign_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account/tokens")


def test_researcher_can_register_and_gets_the_researcher_role(client):
    response = client.post_form(
        "/register",
        {
            "display_name": "Dr. Reader",
            "email": "reader@example.org",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "reader@example.org"))
    assert user.role == "researcher"
    client.post_form("/login", {"email": "reader@example.org", "password": "long enough pw"})
    assert _signed_in_as(client)


def _register(client, email: str):
    response = client.post_form(
        "/register",
        {
            "display_name": "Someone",
            "email": email,
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    return response, client.get(response.headers.get("Location", "/login"))


def test_registration_answers_the_same_whether_or_not_the_email_has_an_account(app, make_user):
    make_user("custodian", email="taken@example.org")
    before = db.session.query(User).count()
    taken, taken_page = _register(app.test_client(), "taken@example.org")
    fresh, fresh_page = _register(app.test_client(), "fresh@example.org")
    assert (taken.status_code, taken.headers["Location"]) == (
        fresh.status_code,
        fresh.headers["Location"],
    )
    assert "sign in with it" in taken_page.get_data(as_text=True)
    assert _without_csrf(taken_page) == _without_csrf(fresh_page)
    assert db.session.query(User).count() == before + 1
    taken_user = db.session.scalar(select(User).where(User.email == "taken@example.org"))
    assert taken_user.role == "custodian"


def _without_csrf(page) -> str:
    return re.sub(r'name="csrf_token"[^>]*>', "", page.get_data(as_text=True))


def test_registration_with_taken_email_leaves_the_owner_able_to_sign_in(app, client, make_user):
    owner = make_user("custodian", email="taken@example.org")
    owner_client = app.test_client()
    owner_client.post_form("/login", {"email": "taken@example.org", "password": PASSWORD})
    assert _signed_in_as(owner_client)
    _register(client, "taken@example.org")
    assert _signed_in_as(client) is None
    assert _signed_in_as(owner_client), "the owner's session goes on"
    again = app.test_client()
    again.post_form("/login", {"email": "taken@example.org", "password": PASSWORD})
    assert _signed_in_as(again), "the owner's password still works"
    db.session.refresh(owner)
    assert owner.role == "custodian" and owner.active


def test_registration_with_short_password_is_refused(client):
    response = client.post_form(
        "/register",
        {"display_name": "S", "email": "s@example.org", "password": "short", "confirm": "short"},
    )
    assert response.status_code == 200
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "s@example.org")) is None


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    make_user("archivist", email="ana@example.org")
    response = client.post_form("/login", {"email": "ana@example.org", "password": PASSWORD})
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_carry_a_strict_csp_and_refuse_framing(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_password_is_stored_as_argon2_hash(make_user):
    user = make_user("archivist")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_changing_password_signs_out_other_sessions(app, make_user):
    user = make_user("archivist", email="ana@example.org")
    first, second = app.test_client(), app.test_client()
    first.login_as(user)
    second.login_as(user)
    response = first.post_form(
        "/account/password",
        {"current": PASSWORD, "password": "a brand new one", "confirm": "a brand new one"},
    )
    assert response.status_code == 302
    assert _signed_in_as(first)
    assert _signed_in_as(second) is None


def test_changing_password_with_wrong_current_one_changes_nothing(client, make_user):
    user = make_user("archivist")
    old_hash = user.password_hash
    client.login_as(user)
    response = client.post_form(
        "/account/password",
        {"current": "not my pw!!", "password": "a brand new one", "confirm": "a brand new one"},
    )
    assert "That is not your current password." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == old_hash


def test_a_cookie_copied_before_sign_out_no_longer_works(app, client, make_user):
    make_user("archivist", email="ana@example.org")
    client.post_form("/login", {"email": "ana@example.org", "password": PASSWORD})
    assert _signed_in_as(client)
    copied = client.get_cookie("archive_session").value
    thief = app.test_client()
    thief.set_cookie("archive_session", copied)
    assert _signed_in_as(thief), "the copy works while the session lasts"
    client.post_form("/logout", {}, token_from="/")
    assert _signed_in_as(client) is None
    assert _signed_in_as(thief) is None
    assert thief.get("/api/v1/me").status_code == 401


def test_changing_password_revokes_api_tokens_and_says_so(app, client, make_user):
    from archive.accounts import tokens

    user = make_user("archivist")
    _row, plaintext = tokens.issue_token(user, user)
    unit_of_work.commit()
    bearer = {"Authorization": f"Bearer {plaintext}"}
    assert client.get("/api/v1/me", headers=bearer).status_code == 200
    browser = app.test_client()
    browser.login_as(user)
    response = browser.post_form(
        "/account/password",
        {"current": PASSWORD, "password": "a brand new one", "confirm": "a brand new one"},
        follow_redirects=True,
    )
    assert "API tokens are revoked" in response.get_data(as_text=True)
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
