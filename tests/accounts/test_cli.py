"""The account commands of ``flask --app wsgi``."""

from __future__ import annotations

from sqlalchemy import select

from archive.extensions import db
from archive.models import User


def test_users_create_makes_an_account(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "cora@example.org",
            "--role",
            "custodian",
            "--password",
            "long enough pw",
        ]
    )
    assert result.exit_code == 0, result.output
    assert (
        db.session.scalar(select(User.role).where(User.email == "cora@example.org")) == "custodian"
    )


def test_users_create_refuses_a_weak_password_and_stores_nothing(runner, app):
    result = runner.invoke(
        args=["users", "create", "cora@example.org", "--role", "custodian", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "at least 10 characters" in result.output
    assert db.session.scalar(select(User).where(User.email == "cora@example.org")) is None


def test_users_create_refuses_an_unknown_role(runner, app):
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "king", "--password", "long enough pw"]
    )
    assert result.exit_code == 2
    assert "king" in result.output


def test_first_admin_is_created_once_with_a_generated_password(runner, app, monkeypatch):
    monkeypatch.delenv("ARCHIVE_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("ARCHIVE_ADMIN_PASSWORD", raising=False)
    first = runner.invoke(args=["users", "ensure-admin"])
    assert first.exit_code == 0
    assert "shown only this once" in first.output
    second = runner.invoke(args=["users", "ensure-admin"])
    assert second.output == ""
    assert db.session.query(User).filter_by(role="admin").count() == 1


def test_first_admin_takes_credentials_from_the_environment(runner, app, client, monkeypatch):
    monkeypatch.setenv("ARCHIVE_ADMIN_EMAIL", "boss@example.org")
    monkeypatch.setenv("ARCHIVE_ADMIN_PASSWORD", "the boss password")
    result = runner.invoke(args=["users", "ensure-admin"])
    assert "boss@example.org" in result.output
    assert "shown only this once" not in result.output
    response = client.post_form(
        "/login", {"email": "boss@example.org", "password": "the boss password"}
    )
    assert response.status_code == 302
