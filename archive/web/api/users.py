"""Account endpoints of the API."""

from __future__ import annotations

import json

from flask import request
from flask_login import current_user

from archive import accounts, audit, policy
from archive.accounts.schemas import NewUser
from archive.transcripts import redaction
from archive.web.api.base import bp, json_body
from archive.web.audit import filters_from_request


def user_json(user) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.display_name,
        "role": user.role,
        "active": user.active,
    }


@bp.get("/me")
def me():
    return user_json(current_user)


@bp.get("/users")
def users():
    policy.require(current_user, "manage_users")
    return {"users": [user_json(user) for user in accounts.list_users()]}


@bp.post("/users")
def create_user():
    policy.require(current_user, "manage_users")
    body = NewUser.parse(json_body())
    user = accounts.create_user(current_user, body.email, body.role, body.password, body.name)
    return user_json(user), 201


@bp.get("/audit")
def audit_log():
    policy.require(current_user, "view_audit")
    page = audit.recent_events(
        request.args.get("page", 1, type=int), filters=filters_from_request()
    )
    hide = redaction.hider(current_user, None)  # details carry reasons typed by staff
    return {
        "events": [
            {
                "seq": event.seq,
                "at": event.created_at.isoformat() + "Z",
                "actor_id": event.actor_id,
                "actor": event.actor_email,
                "action": event.action,
                "interview_id": event.interview_id,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "details": json.loads(hide(event.details)),
            }
            for event in page.items
        ],
        "page": page.page,
        "pages": page.pages,
    }
