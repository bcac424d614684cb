"""Deny by default: every endpoint needs a signed-in user unless marked ``@public``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, g, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, same_origin, validate_csrf
from wtforms.validators import ValidationError as CSRFTokenError

from archive import accounts
from archive.accounts import tokens
from archive.extensions import csrf, login_manager
from archive.web.errors import api_error
from archive.web.uploads import is_upload

F = TypeVar("F", bound=Callable)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def public(view: F) -> F:
    """Mark a view that visitors may reach; the view itself still asks the policy."""
    view.public = True  # type: ignore[attr-defined]
    return view


def is_public(endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static":
        return True
    return getattr(current_app.view_functions.get(endpoint), "public", False)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def kept_args(args, names: tuple[str, ...]) -> dict[str, str]:
    """The filters of a list page to carry into its links: only the named ones, so
    nothing from the query string reaches ``url_for`` as one of its own keywords
    (``_external``, ``_anchor``, ``endpoint``...)."""
    return {name: args[name] for name in names if args.get(name)}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _load_from_session(session_id: str):
    # A request that sends a token is judged by the token alone, never by a cookie.
    if request.headers.get("Authorization"):
        return None
    return accounts.load_session_user(session_id)


def _load_from_token(_request):
    token = bearer_token()
    return tokens.user_for_token(token) if token else None


def _require_sign_in():
    if current_user.is_authenticated or is_public(request.endpoint):
        return None
    if request.blueprint == "api":
        return api_error(401, gettext("Sign in, or send a valid API token."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _before_reading():
    """Everything decided from the headers alone, before anything reads the body.

    Runs first of all the request hooks: a request whose token is bad, that is not
    signed in where it must be, or that lacks the CSRF token is refused here, so
    nobody can make the server write a large body to disk without the right to
    send one. Only the upload routes take a body larger than ``MAX_FORM_BYTES``.

    Every change made through a page carries the CSRF token, whatever signs it in
    (a session, or an API token sent to a page); only the API takes a token alone.
    So no view checks it again.
    """
    if not is_upload():
        request.max_content_length = min(
            current_app.config["MAX_FORM_BYTES"], current_app.config["MAX_CONTENT_LENGTH"]
        )
    if request.headers.get("Authorization") and not current_user.is_authenticated:
        return api_error(401, gettext("Sign in, or send a valid API token."))
    refusal = _require_sign_in()
    if refusal is not None:
        return refusal
    api = request.path.startswith("/api/")
    if request.method in UNSAFE_METHODS and not (bearer_token() and api):
        _check_csrf()
    return None


def _check_csrf() -> None:
    """CSRF for browser requests: on the upload routes from the ``X-CSRFToken``
    header (the page's script) or the form's address (``?csrf_token=``, the form
    without script), never from the body; elsewhere as Flask-WTF does it."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    if not is_upload():
        if request.blueprint != "api":  # the API checks its own (api.__init__)
            csrf.protect(apply_exemptions=True)
        return
    token = request.headers.get("X-CSRFToken") or request.args.get("csrf_token")
    try:
        validate_csrf(token)
    except CSRFTokenError as exc:
        raise CSRFError(exc.args[0]) from None
    strict = request.is_secure and current_app.config["WTF_CSRF_SSL_STRICT"]
    if strict and not same_origin(request.referrer or "", f"https://{request.host}/"):
        raise CSRFError("The referrer does not match the host.")
    g.csrf_valid = True


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_token)
    # Flask-WTF's own hook would read the form (and spool its files) first.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request_funcs.setdefault(None, []).insert(0, _before_reading)
