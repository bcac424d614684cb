"""Admin account management, and that other roles cannot reach it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from archive.extensions import db
from archive.models import ROLES, AuditEvent, User


def _last_event() -> AuditEvent:
    return db.session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))


def test_admin_sees_every_account(client, admin, make_user):
    other = make_user("custodian", email="cora@example.org")
    page = client.login_as(admin).get("/admin/users").get_data(as_text=True)
    assert admin.email in page
    assert other.email in page


@pytest.mark.parametrize("role", [role for role in ROLES if role != "admin"])
def test_other_roles_get_404_on_admin_pages(client, make_user, admin, role):
    client.login_as(make_user(role))
    assert client.get("/admin/users").status_code == 404
    assert client.get(f"/admin/users/{admin.id}").status_code == 404
    response = client.post_form(
        "/admin/users",
        {"email": "x@example.org", "role": "admin", "password": "long enough pw"},
        token_from="/",
    )
    assert response.status_code == 404
    assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_visitor_is_sent_to_sign_in_from_admin_pages(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_admin_creates_an_account_and_it_is_audited(client, admin):
    client.login_as(admin)
    response = client.post_form(
        "/admin/users",
        {
            "display_name": "Ivan",
            "email": "ivan@example.org",
            "role": "interviewer",
            "password": "long enough pw",
        },
        token_from="/admin/users",
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "ivan@example.org"))
    assert user.role == "interviewer"
    event = _last_event()
    assert (event.action, event.actor_id, event.object_id) == ("user_created", admin.id, user.id)


def test_creating_an_account_with_a_taken_email_says_so_and_stores_nothing(
    client, admin, make_user
):
    make_user("archivist", email="ana@example.org")
    client.login_as(admin)
    response = client.post_form(
        "/admin/users",
        {"email": "ana@example.org", "role": "admin", "password": "long enough pw"},
        token_from="/admin/users",
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert (
        db.session.scalar(select(User.role).where(User.email == "ana@example.org")) == "archivist"
    )


def test_admin_changes_a_role_and_it_is_audited(client, admin, make_user):
    user = make_user("researcher")
    client.login_as(admin)
    response = client.post_form(f"/admin/users/{user.id}", {"role": "archivist", "active": "y"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "archivist"
    assert _last_event().action == "role_changed"


def test_deactivated_user_is_signed_out_everywhere(app, admin, make_user):
    user = make_user("archivist")
    theirs = app.test_client().login_as(user)
    assert theirs.get("/account/tokens").status_code == 200
    app.test_client().login_as(admin).post_form(f"/admin/users/{user.id}", {"role": "archivist"})
    db.session.refresh(user)
    assert user.active is False
    assert theirs.get("/account/tokens").status_code == 302
    assert _last_event().action == "user_deactivated"


def test_last_admin_cannot_be_deactivated(client, admin):
    client.login_as(admin)
    response = client.post_form(f"/admin/users/{admin.id}", {"role": "admin"})
    assert response.status_code == 422
    assert "last active admin" in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.active is True
