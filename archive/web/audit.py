"""The audit log page for custodians and admins: filters and CSV export."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from archive import audit, policy
from archive.extensions import db
from archive.transcripts import redaction
from archive.web.access import kept_args

bp = Blueprint("audit", __name__, url_prefix="/audit")

FILTER_ARGS = ("action", "actor", "interview", "since", "until")


def filters_from_request() -> audit.EventFilter:
    return audit.EventFilter(
        action=request.args.get("action", ""),
        actor=request.args.get("actor", ""),
        interview_id=request.args.get("interview", type=int),
        since=request.args.get("since", ""),
        until=request.args.get("until", ""),
    )


@bp.get("/")
def events():
    policy.require(current_user, "view_audit")
    filters = filters_from_request()
    page = audit.recent_events(request.args.get("page", 1, type=int), filters=filters)
    return render_template(
        "audit/events.html",
        page=page,
        filters=filters,
        actions=audit.actions(db.session),
        args=kept_args(request.args, FILTER_ARGS),
    )


@bp.get("/events.csv")
def export_csv():
    policy.require(current_user, "view_audit")
    # Details carry reasons typed by staff: names in them are hidden from admins.
    hide = redaction.hider(current_user, None)
    rows = audit.csv_rows(db.session, filters_from_request(), hide)
    return Response(
        rows,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )
