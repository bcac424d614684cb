"""Transcript exports and BagIt bags, always rendered for the caller."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from archive import audit, exports, interviews
from archive.errors import NotFoundError
from archive.transcripts import bags, documents
from archive.web.access import public
from archive.web.api.base import bp


@bp.get("/interviews/<int:interview_id>/transcript.<path:fmt>")
@public
def export(interview_id: int, fmt: str):
    if fmt not in exports.FORMATS:
        raise NotFoundError()
    track = request.args.get("track", "original")
    if track not in ("original", "translation"):
        raise NotFoundError()
    interview = interviews.get_visible(current_user, interview_id, "export")
    document = documents.export_document(current_user, interview, track=track)
    if request.args.get("recording") is not None:
        document = _one_part(interview, document, request.args.get("recording", type=int))
    timestamps = request.args.get("timestamps", "1") != "0"
    body = exports.render(fmt, document, timestamps=timestamps)
    action = f"export_{fmt.replace('.', '_')}" + ("_translation" if track == "translation" else "")
    audit.record_read(current_user, interview, action)
    name = exports.filename(document, fmt)
    if track == "translation":
        name = name.replace(f".{fmt}", f"-machine-translation-en.{fmt}")
    return Response(
        body,
        mimetype=exports.MIME_TYPES[fmt],
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Cache-Control": "no-store",
        },
    )


def _one_part(interview, document, recording_id: int | None):
    """``?recording=``: one part, timed from its own start (a IIIF canvas's WebVTT)."""
    start = 0.0
    for recording in interview.recordings:
        if recording.id == recording_id:
            return exports.one_part(document, recording.id, start, recording.duration or 0.0)
        start += recording.duration or 0.0
    raise NotFoundError()


@bp.get("/interviews/<int:interview_id>/bag.zip")
@public
def bag(interview_id: int):
    """The BagIt bag of the caller's view: sent when it is ready, else built by a
    worker (``transcripts.bags``) while the caller is told to come back: 202 with
    ``Retry-After`` and, for an API client, ``{"status", "status_url"}``; a browser
    gets the page that follows the build. Access is checked at every call."""
    interview = interviews.get_visible(current_user, interview_id, "export")
    state = bags.request_bag(
        current_user, interview, request.url_root, retry=request.args.get("retry") == "1"
    )
    if state.status == bags.READY:
        audit.record_read(current_user, interview, "export_bag")
        return Response(
            bags.open_bag(state),
            mimetype="application/zip",
            headers={
                "Content-Disposition": f"attachment; filename=interview-{interview.id}-bag.zip",
                "Content-Length": str(bags.size_of(state)),
                "Cache-Control": "no-store",
            },
        )
    if _wants_page():
        page = render_template("interviews/bag.html", interview=interview, state=state.status)
        return page, 500 if state.status == bags.FAILED else 202, _waiting_headers(state)
    return _state_answer(interview, state)


@bp.get("/interviews/<int:interview_id>/bag")
@public
def bag_status(interview_id: int):
    """Where the caller's bag stands, queuing nothing: ``none`` (never asked for, or
    expired), ``queued``, ``building``, ``ready`` or ``failed``."""
    interview = interviews.get_visible(current_user, interview_id, "export")
    state = bags.state_of(current_user, interview)
    return _state_answer(interview, state, status_code=200)


def _state_answer(interview, state, status_code: int | None = None):
    status = state.status if state else "none"
    body = {
        "status": status,
        "status_url": url_for("api.bag_status", interview_id=interview.id),
        "download_url": url_for("api.bag", interview_id=interview.id),
    }
    if status == bags.FAILED:
        body["error"] = gettext("The bag could not be built. Ask for it again to retry.")
        body["retry_url"] = url_for("api.bag", interview_id=interview.id, retry=1)
    if status_code is None:
        status_code = 500 if status == bags.FAILED else 202
    return jsonify(body), status_code, _waiting_headers(state)


def _waiting_headers(state) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    if state and state.status in (bags.QUEUED, bags.BUILDING):
        headers["Retry-After"] = str(bags.RETRY_AFTER_SECONDS)
    return headers


def _wants_page() -> bool:
    """A browser following a link (it asks for HTML first), not an API client."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html" and not request.headers.get("Authorization")
