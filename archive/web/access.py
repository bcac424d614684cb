"""Deny by default: every endpoint needs a signed-in user unless marked ``@public``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user

from archive import accounts, tokens
from archive.extensions import login_manager
from archive.web.errors import api_error

F = TypeVar("F", bound=Callable)


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
        return api_error(401, "Sign in, or send a valid API token.")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_token)
    app.before_request(_require_sign_in)
