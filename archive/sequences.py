"""Numbers that count up within a parent: agreement versions, part and speaker order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from archive.extensions import db


def next_number(column: Any, *where: Any) -> int:
    """One more than the highest ``column`` among the rows matching ``where``."""
    return (db.session.scalar(select(func.max(column)).where(*where)) or 0) + 1
