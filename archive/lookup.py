"""Loading one row by its id, or the archive's 404.

Every "no such thing" answers the same ``NotFoundError`` as a thing the policy hides
(``policy.require``), so an id never tells whether a row exists. Services and views
load through here rather than each writing the check again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archive.errors import NotFoundError
from archive.extensions import db

M = TypeVar("M")


def get_or_404(model: type[M], row_id: Any, belongs: Callable[[M], bool] | None = None) -> M:
    """The ``model`` row with id ``row_id``; ``NotFoundError`` if there is none, or if
    ``belongs`` says it is not one the caller may name here (a speaker of another
    interview, another person's token)."""
    row = db.session.get(model, row_id)
    if row is None or (belongs is not None and not belongs(row)):
        raise NotFoundError()
    return row
