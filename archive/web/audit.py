"""The audit log page for custodians and admins."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from archive import audit, policy

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
def events():
    policy.require(current_user, "view_audit")
    page = audit.recent_events(request.args.get("page", 1, type=int))
    return render_template("audit/events.html", page=page)
