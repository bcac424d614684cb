"""Turns domain errors and HTTP errors into a friendly page, or JSON under /api."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from archive.errors import ArchiveError

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "This action is not allowed.",
    404: "Not found.",
    405: "That method is not allowed here.",
    413: "The file is larger than this archive accepts.",
    429: "Too many attempts. Please wait a minute, then try again.",
    500: "Something went wrong on our side. Nothing you sent was half-stored; please try again.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


def _respond(status: int, message: str):
    if wants_json():
        return api_error(status, message)
    return render_template("errors/error.html", status=status, message=message), status


def _archive_error(exc: ArchiveError):
    return _respond(exc.status, exc.message)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = MESSAGES.get(status, exc.description or "")
    if status == 413:
        from flask import current_app

        message = (
            f"The file is larger than the {current_app.config['MAX_UPLOAD_MB']} MB "
            "this archive accepts."
        )
    return _respond(status, message)


def _csrf_error(exc: CSRFError):
    return _respond(
        400, "The form had expired or did not come from this site. Please reload and try again."
    )


def _rate_limited(exc: HTTPException):
    return _respond(429, MESSAGES[429])


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.endpoint)
    from archive.extensions import db

    db.session.rollback()
    return _respond(500, MESSAGES[500])


def init_app(app: Flask) -> None:
    app.register_error_handler(ArchiveError, _archive_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(429, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, _unexpected)
