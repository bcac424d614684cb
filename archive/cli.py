"""``flask --app wsgi ...`` commands for operators."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from archive import accounts, audit, tokens
from archive.errors import ArchiveError
from archive.extensions import db
from archive.models import ROLES

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Inspect the audit log.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password", help="Prompted for when not given.")
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user with ROLE."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(None, email, role, password, name)
    except ArchiveError as exc:
        _fail(exc.message)
    click.echo(f"Created {user.email} ({user.role}).")


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default="command line", help="What the token is for.")
def create_token(email: str, label: str) -> None:
    """Print a new API token for EMAIL (only its hash is stored)."""
    user = accounts.find_user(email)
    if user is None or not user.active:
        _fail("No active account with that email address.")
    _token, plaintext = tokens.issue_token(None, user, label)
    click.echo(plaintext)


@users_cli.command("ensure-admin")
def ensure_admin() -> None:
    """Create the first admin when there is none (ARCHIVE_ADMIN_EMAIL, ARCHIVE_ADMIN_PASSWORD)."""
    try:
        created = accounts.ensure_first_admin(
            os.environ.get("ARCHIVE_ADMIN_EMAIL"), os.environ.get("ARCHIVE_ADMIN_PASSWORD")
        )
    except ArchiveError as exc:
        _fail(exc.message)
    if created is None:
        return
    user, generated = created
    click.echo(f"First admin created: {user.email}")
    if generated:
        click.echo(f"Its password, shown only this once: {generated}")


@audit_cli.command("verify")
def verify() -> None:
    """Check the audit log's hash chain; exit 1 when it is broken."""
    problems = audit.verify(db.session)
    if problems:
        for problem in problems:
            click.echo(f"event {problem.seq}: {problem.problem}", err=True)
        click.echo(f"The audit log is BROKEN: {len(problems)} problem(s).", err=True)
        sys.exit(1)
    count = audit.event_count(db.session)
    click.echo(f"The audit log is intact: {count} events, chain verified.")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
