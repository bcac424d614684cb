"""Turns domain errors and HTTP errors into a friendly page, or JSON under /api.

A page whose form a service may refuse says once where the refusal goes
(``on_error``): the message is flashed in the reader's language and the page
shown again, or the browser sent back; the views write no ``try`` of their own.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable

import sqlalchemy.exc
from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from archive.errors import N_, ArchiveError
from archive.extensions import db
from archive.web.uploads import is_upload

log = logging.getLogger(__name__)

MESSAGES = {
    400: N_("The request could not be understood."),
    401: N_("Please sign in."),
    403: N_("This action is not allowed."),
    404: N_("Not found."),
    405: N_("That method is not allowed here."),
    413: N_("The file is larger than this archive accepts."),
    429: N_("Too many attempts. Please wait a minute, then try again."),
    500: N_(
        "Something went wrong on our side. Nothing you sent was half-stored; please try again."
    ),
}


def translated(exc: ArchiveError) -> str:
    """A service's error in the reader's language, its values put in after translation
    (a value, such as a title someone typed, is never looked up in the catalogue)."""
    return gettext(exc.template, **exc.params)


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


def on_error(answer: str | Callable[[], ResponseReturnValue]) -> None:
    """From here on in this request, a service's refusal (an ``ArchiveError``) is
    flashed and answered by ``answer``: a local URL to send the browser back to, or
    a function that shows the page again (then with the error's status). Nothing of
    the refused change is kept (the transaction is rolled back first)."""
    g.on_archive_error = answer


def _archive_error(exc: ArchiveError):
    answer = None if wants_json() else g.get("on_archive_error")
    if answer is None:
        return _respond(exc.status, translated(exc))
    db.session.rollback()
    flash(translated(exc), "error")
    if isinstance(answer, str):
        return redirect(answer)
    response = make_response(answer())
    response.status_code = exc.status
    return response


def _http_error(exc: HTTPException):
    status = exc.code or 500
    message = gettext(MESSAGES[status]) if status in MESSAGES else (exc.description or "")
    if status == 413:
        message = (
            gettext(
                "The file is larger than the %(mb)s MB this archive accepts.",
                mb=current_app.config["MAX_UPLOAD_MB"],
            )
            if is_upload()
            else gettext("The request is larger than this address accepts.")
        )
    if status == 415:
        message = exc.description or gettext("This address does not take that kind of body.")
    return _respond(status, message)


def _out_of_range(exc: Exception):
    """A number no column can hold (a huge id, page or year): refused, not a crash."""
    db.session.rollback()
    return _respond(422, gettext("A number in the request is out of range."))


def _database_unavailable(exc: Exception):
    """The database is locked longer than its timeout, or unreachable: nothing of the
    change was kept (the transaction is rolled back); the client may try again."""
    log.warning("database unavailable on %s %s: %s", request.method, request.endpoint, exc.orig)
    db.session.rollback()
    response = make_response(
        _respond(
            503,
            gettext(
                "The archive's database is busy or unreachable; nothing was changed. Try again."
            ),
        )
    )
    response.headers["Retry-After"] = "5"
    return response


def _os_error(exc: OSError):
    """The disk is full (or over quota) while an upload is received or stored: a
    clear 507; the partial file is removed with its request, no row is written."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        raise exc
    db.session.rollback()
    log.error("disk full on %s %s", request.method, request.endpoint)
    return _respond(
        507,
        gettext("The archive's disk is full; nothing was stored. Tell the archive's operators."),
    )


def _conflict(exc: Exception):
    """Two requests made the same row at once and the database refused the second."""
    db.session.rollback()
    return _respond(
        409, gettext("Someone else changed this at the same moment; nothing was changed.")
    )


def _csrf_error(exc: CSRFError):
    return _respond(
        400,
        gettext(
            "The form had expired or did not come from this site. Please reload and try again."
        ),
    )


def _rate_limited(exc: HTTPException):
    return _respond(429, gettext(MESSAGES[429]))


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.endpoint)
    db.session.rollback()
    return _respond(500, gettext(MESSAGES[500]))


def init_app(app: Flask) -> None:
    app.register_error_handler(ArchiveError, _archive_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(429, _rate_limited)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OSError, _os_error)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(sqlalchemy.exc.DataError, _out_of_range)
    app.register_error_handler(sqlalchemy.exc.IntegrityError, _conflict)
    app.register_error_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    if not app.testing and not app.debug:
        app.register_error_handler(Exception, _unexpected)
