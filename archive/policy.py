"""The one place that decides who may do what.

Every view, API route, export and generated file asks ``can`` or ``require``;
nothing else compares roles. A refusal raises ``NotFoundError`` so that nobody
learns from the answer that a record exists.
"""

from __future__ import annotations

from typing import Any, TypeVar

from archive.errors import NotFoundError
from archive.models import ROLES

T = TypeVar("T")

# Actions that concern the archive as a whole rather than one interview.
GLOBAL_RULES: dict[str, frozenset[str]] = {
    "manage_users": frozenset({"admin"}),
    "view_audit": frozenset({"admin", "custodian"}),
    "create_interview": frozenset({"admin", "custodian", "archivist", "interviewer"}),
    "manage_own_tokens": frozenset(ROLES),
}


def role_of(user: Any) -> str | None:
    """The role of a signed-in, active user; None for visitors and deactivated accounts."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not getattr(user, "is_active", False):
        return None
    return getattr(user, "role", None)


def can(user: Any, action: str, target: Any = None) -> bool:
    """Whether ``user`` may perform ``action`` (on ``target``, when the action needs one)."""
    if action in GLOBAL_RULES:
        return role_of(user) in GLOBAL_RULES[action]
    raise ValueError(f"unknown policy action {action!r}")


def require(user: Any, action: str, target: T = None) -> T:
    """Return ``target`` when allowed; raise the same 404 as a missing record otherwise."""
    if target is None and action not in GLOBAL_RULES:
        raise NotFoundError()
    if not can(user, action, target):
        raise NotFoundError()
    return target
