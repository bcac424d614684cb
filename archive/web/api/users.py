"""Account endpoints of the API."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from archive import accounts, audit, policy
from archive.accounts.outputs import AccountView
from archive.accounts.schemas import NewUser
from archive.transcripts import redaction
from archive.web.api.base import bp, json_body
from archive.web.audit import filters_from_request


@bp.get("/me")
def me():
    return AccountView.of(current_user, current_user).as_json()


@bp.get("/users")
def users():
    policy.require(current_user, "manage_users")
    return {"users": [AccountView.of(current_user, u).as_json() for u in accounts.list_users()]}


@bp.post("/users")
def create_user():
    policy.require(current_user, "manage_users")
    body = NewUser.parse(json_body())
    user = accounts.create_user(current_user, body.email, body.role, body.password, body.name)
    return AccountView.of(current_user, user).as_json(), 201


@bp.get("/audit")
def audit_log():
    policy.require(current_user, "view_audit")
    page = audit.recent_events(
        request.args.get("page", 1, type=int), filters=filters_from_request()
    )
    hide = redaction.hider(current_user, None)  # details carry reasons typed by staff
    return {
        "events": [audit.AuditEventView.of(event, hide).as_json() for event in page.items],
        "page": page.page,
        "pages": page.pages,
    }
