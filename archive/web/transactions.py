"""A web request is one unit of work: its view's changes are committed once, here.

Every view function is wrapped (``init_app``, after all blueprints are registered):
when the view returns an answer below 400 and wrote something, the session is
committed and what waited for the commit runs (``unit_of_work.after_commit``); a
view that raised, or answered 400 or more, has its changes rolled back. A view
that only read ends as before, without a commit (the teardown closes the session).
The commit happens inside the dispatch, so a database that refuses it (locked past
the timeout, a unique index) reaches the same error handlers as a refusal inside
the view: 503, 409, nothing half-stored.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Flask

from archive import unit_of_work
from archive.extensions import db


def one_unit_of_work(view: Callable) -> Callable:
    """The view, committed when it succeeds and rolled back when it does not."""

    @wraps(view)
    def run(*args, **kwargs):
        try:
            answer = view(*args, **kwargs)
            response = answer if hasattr(answer, "status_code") else None
            status = response.status_code if response is not None else _status_of(answer)
            if status >= 400:
                _roll_back()
            elif unit_of_work.has_changes():
                unit_of_work.commit()
            else:
                unit_of_work.run_ready()  # a service that committed itself asked for them
        except BaseException:
            _roll_back()
            raise
        return answer

    return run


def _roll_back() -> None:
    if unit_of_work.has_changes():
        db.session.rollback()


def _status_of(answer) -> int:
    """The status of a view's return value that is not a response yet: a body
    (200) or a tuple whose second item may be a status."""
    if isinstance(answer, tuple) and len(answer) > 1 and isinstance(answer[1], int):
        return answer[1]
    return 200


def init_app(app: Flask) -> None:
    for endpoint, view in list(app.view_functions.items()):
        if endpoint != "static":
            app.view_functions[endpoint] = one_unit_of_work(view)
