"""The JSON API's blueprint and what every endpoint shares: the sign-in check and
the body parser. Apart from the package, so the endpoint modules import it and the
package imports them, without a cycle."""

from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import gettext
from flask_login import current_user

from archive.errors import N_, ValidationError
from archive.extensions import csrf
from archive.web.access import bearer_token
from archive.web.errors import api_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
def _authenticate():
    """A bad token is refused outright; a browser session must carry the CSRF token."""
    if request.headers.get("Authorization") and not current_user.is_authenticated:
        return api_error(401, gettext("Sign in, or send a valid API token."))
    if request.method not in SAFE_METHODS and not bearer_token() and not g.get("csrf_valid"):
        csrf.protect()
    return None


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    if not request.is_json:
        raise BadRequestBody(N_("Send a JSON object with Content-Type: application/json."))
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequestBody(N_("The request body is not a valid JSON object."))
    return data


class BadRequestBody(ValidationError):
    status = 400
