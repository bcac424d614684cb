"""Numbers that count up within a parent: agreement versions, part and speaker order.

Two requests adding a part to the same interview at once must not both read the same
highest number. ``lock`` takes the parent row's write lock first (an ``UPDATE`` of
that row: the database's write lock on SQLite, the row's lock on PostgreSQL, both
held to commit), so whoever counts next sees the other's row. A unique constraint on
each (parent, number) pair stands behind it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from archive.extensions import db


def lock(model: Any, row_id: int) -> None:
    """Hold ``model`` row ``row_id``'s write lock until the transaction ends.

    SQLite (pysqlite opens the transaction at the first write, so nothing read
    before it is stale) waits up to its busy timeout for the write lock; PostgreSQL
    waits for the row, then reads what the previous holder committed (READ
    COMMITTED: each statement sees the latest commits).
    """
    db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    )


def next_number(column: Any, *where: Any) -> int:
    """One more than the highest ``column`` among the rows matching ``where``;
    call it after ``lock`` on the parent."""
    return (db.session.scalar(select(func.max(column)).where(*where)) or 0) + 1
